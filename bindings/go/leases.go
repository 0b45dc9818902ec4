package refstore

/*
#include <stdlib.h>
#include "refstore/c.h"
*/
import "C"

import (
	"time"
	"unsafe"
)

// CreateLease creates lease id. A lease holds content until deleted; with
// an expiry (expires non-zero) it protects nothing once Now >= expires and
// is removed by the next prune. The zero expires means no expiry. Errors:
// ErrAlreadyExists (the ID is taken), ErrInvalidArgument (a bad ID, or an
// expiry outside the times a store keeps).
func (s *Store) CreateLease(ctx Context, id string, expires time.Time) error {
	return s.run(ctx, func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error {
		cid := a.str(id)
		if a.err != nil {
			return a.err
		}
		var nanos int64
		if !expires.IsZero() {
			var err error
			if nanos, err = toUnixNano(expires, "lease "+id+" expiry"); err != nil {
				return err
			}
		}
		var cerr *C.refstore_error_t
		C.refstore_lease_create(db, cctx, cid, cbool(!expires.IsZero()), C.int64_t(nanos), &cerr)
		return takeError(cerr)
	})
}

// AddLeaseContent makes lease id hold content. Errors: ErrNotFound (no
// such lease, looked up first), ErrInvalidArgument (a bad ID or descriptor,
// or a size other than the recorded one).
func (s *Store) AddLeaseContent(ctx Context, id string, content []Descriptor) error {
	return s.run(ctx, func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error {
		cid := a.str(id)
		// Go memory holding only C pointers may be passed to C.
		cds := make([]C.refstore_descriptor_t, len(content))
		for i, d := range content {
			cds[i] = a.descriptor(d)
		}
		if a.err != nil {
			return a.err
		}
		var first *C.refstore_descriptor_t
		if len(cds) > 0 {
			first = &cds[0]
		}
		var cerr *C.refstore_error_t
		C.refstore_lease_add(db, cctx, cid, first, C.size_t(len(cds)), &cerr)
		return takeError(cerr)
	})
}

// DeleteLease deletes lease id; returns the bytes freed (content nothing
// else held) and what the collection after it did. Errors: ErrNotFound
// "lease <id> not found", ErrInvalidArgument (a bad ID).
func (s *Store) DeleteLease(ctx Context, id string) (DeleteLeaseResult, error) {
	var result DeleteLeaseResult
	err := s.run(ctx, func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error {
		cid := a.str(id)
		if a.err != nil {
			return a.err
		}
		var cerr *C.refstore_error_t
		r := C.refstore_lease_delete(db, cctx, cid, &cerr)
		defer C.refstore_lease_delete_result_destroy(r)
		if err := takeError(cerr); err != nil {
			return err
		}
		result = DeleteLeaseResult{SpaceReclaimed: int64(r.space_reclaimed), Collected: goCollect(&r.collected)}
		return nil
	})
	return result, err
}

// ListLeases lists the namespace's leases.
func (s *Store) ListLeases(ctx Context) ([]Lease, error) {
	var leases []Lease
	err := s.run(ctx, func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error {
		var cerr *C.refstore_error_t
		l := C.refstore_list_leases(db, cctx, &cerr)
		defer C.refstore_lease_list_destroy(l)
		if err := takeError(cerr); err != nil {
			return err
		}
		leases = make([]Lease, int(l.num_leases))
		if l.num_leases == 0 {
			return nil
		}
		for i, cl := range unsafe.Slice(l.leases, int(l.num_leases)) {
			leases[i] = Lease{
				ID:      C.GoString(cl.id),
				Created: fromUnixNano(cl.created_unix_nano),
				Content: goDescriptors(cl.content, cl.num_content),
			}
			if cl.has_expiry != 0 {
				leases[i].Expires = fromUnixNano(cl.expires_unix_nano)
			}
		}
		return nil
	})
	return leases, err
}

// WriteBlob (content store only) writes blob d's bytes, data, under lease
// (which must exist in the namespace), verifying size and SHA-256, and
// makes the lease hold it. Errors: ErrFailedPrecondition (no content
// store), ErrInvalidArgument (a bad lease ID or descriptor; bytes whose
// size or SHA-256 is not d's), ErrNotFound "lease <id> not found".
func (s *Store) WriteBlob(ctx Context, lease string, d Descriptor, data []byte) error {
	return s.run(ctx, func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error {
		clease := a.str(lease)
		cd := a.descriptor(d)
		if a.err != nil {
			return a.err
		}
		var p *C.char
		if len(data) > 0 {
			p = (*C.char)(unsafe.Pointer(&data[0]))
		}
		var cerr *C.refstore_error_t
		C.refstore_write_blob(db, cctx, clease, &cd, p, C.size_t(len(data)), &cerr)
		return takeError(cerr)
	})
}
