package refstore

/*
#include <stdlib.h>
#include "refstore/c.h"
*/
import "C"

import (
	"sort"
	"unsafe"
)

// CreateImage records an image, its digest reference, its name (if any)
// and a count on each of its blobs in one atomic write, and returns the
// image ID ("sha256:<hex>"). When the image exists, only the name is added
// or moved. Errors: ErrInvalidArgument (a bad descriptor, name or lease ID;
// a name whose digest is not the target's; a size other than the one
// recorded for that blob), ErrNotFound (the lease is absent; with a content
// store, a blob whose file is not there).
func (s *Store) CreateImage(ctx Context, req CreateImageRequest) (string, error) {
	var id string
	err := s.run(ctx, func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error {
		creq := C.refstore_image_request_create()
		defer C.refstore_image_request_destroy(creq)
		if req.Name != "" {
			C.refstore_image_request_set_name(creq, a.str(req.Name))
		}
		target := a.descriptor(req.Target)
		C.refstore_image_request_set_target(creq, &target)
		for _, d := range req.Content {
			cd := a.descriptor(d)
			C.refstore_image_request_add_content(creq, &cd)
		}
		// In key order, so that a request's errors do not depend on Go's
		// map order.
		keys := make([]string, 0, len(req.Labels))
		for k := range req.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			C.refstore_image_request_add_label(creq, a.str(k), a.str(req.Labels[k]))
		}
		if req.Lease != "" {
			C.refstore_image_request_set_lease(creq, a.str(req.Lease))
		}
		if !req.Created.IsZero() {
			created, err := toUnixNano(req.Created, "created")
			if err != nil {
				return err
			}
			C.refstore_image_request_set_created(creq, C.int64_t(created))
		}
		if a.err != nil {
			return a.err
		}
		var cerr *C.refstore_error_t
		cid := C.refstore_create_image(db, cctx, creq, &cerr)
		defer C.refstore_free(unsafe.Pointer(cid))
		if err := takeError(cerr); err != nil {
			return err
		}
		id = C.GoString(cid)
		return nil
	})
	return id, err
}

// Tag points name target at the image source resolves to. Errors:
// ErrNotFound (source names nothing, or is ambiguous), ErrInvalidArgument
// (a blank source; a bad target name, or one with a digest).
func (s *Store) Tag(ctx Context, source, target string) error {
	return s.run(ctx, func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error {
		csource, ctarget := a.str(source), a.str(target)
		if a.err != nil {
			return a.err
		}
		var cerr *C.refstore_error_t
		C.refstore_tag(db, cctx, csource, ctarget, &cerr)
		return takeError(cerr)
	})
}

// Pin marks the image ref resolves to as pinned: prune never removes it,
// and RemoveImage needs force. Errors: as Inspect.
func (s *Store) Pin(ctx Context, ref string) error { return s.pin(ctx, ref, true) }

// Unpin undoes Pin. Errors: as Inspect.
func (s *Store) Unpin(ctx Context, ref string) error { return s.pin(ctx, ref, false) }

func (s *Store) pin(ctx Context, ref string, pinned bool) error {
	return s.run(ctx, func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error {
		cref := a.str(ref)
		if a.err != nil {
			return a.err
		}
		var cerr *C.refstore_error_t
		C.refstore_pin(db, cctx, cref, cbool(pinned), &cerr)
		return takeError(cerr)
	})
}

// RemoveImage is `docker rmi [-f] ref` (SEMANTICS.md §4). Errors:
// ErrInvalidArgument (a blank reference), ErrNotFound ("No such image:
// <ref>", "ambiguous reference"), ErrConflict "conflict: ..." (a container
// uses it, it is referenced in several repositories, or it is pinned,
// without force; a running container uses it, even with force).
func (s *Store) RemoveImage(ctx Context, ref string, force bool) (RemoveResult, error) {
	var result RemoveResult
	err := s.run(ctx, func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error {
		cref := a.str(ref)
		if a.err != nil {
			return a.err
		}
		var cerr *C.refstore_error_t
		r := C.refstore_remove_image(db, cctx, cref, cbool(force), &cerr)
		defer C.refstore_remove_result_destroy(r)
		if err := takeError(cerr); err != nil {
			return err
		}
		result = RemoveResult{
			Deleted:        goEntries(r.deleted, r.num_deleted),
			SpaceReclaimed: int64(r.space_reclaimed),
			Collected:      goCollect(&r.collected),
		}
		return nil
	})
	return result, err
}

// Prune is `docker image prune [-a] [--filter ...]` (SEMANTICS.md §5): one
// atomic change. Errors: ErrAborted "a prune operation is already running",
// ErrInvalidArgument (a bad filter key or value, a negative UnusedFor or
// Keep).
func (s *Store) Prune(ctx Context, opts PruneOptions) (PruneResult, error) {
	var result PruneResult
	err := s.run(ctx, func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error {
		copts := C.refstore_prune_options_create()
		defer C.refstore_prune_options_destroy(copts)
		C.refstore_prune_options_set_all(copts, cbool(opts.All))
		C.refstore_prune_options_set_dry_run(copts, cbool(opts.DryRun))
		forEachFilter(opts.Filters, func(k string, v *string) {
			C.refstore_prune_options_add_filter(copts, a.str(k), a.optPtr(v))
		})
		for _, glob := range opts.References {
			C.refstore_prune_options_add_reference(copts, a.str(glob))
		}
		if opts.UnusedFor != 0 {
			C.refstore_prune_options_set_unused_for(copts, C.int64_t(opts.UnusedFor))
		}
		C.refstore_prune_options_set_keep(copts, C.int(opts.Keep))
		if opts.HasMaxStorage {
			C.refstore_prune_options_set_max_storage(copts, C.int64_t(opts.MaxStorage))
		}
		if a.err != nil {
			return a.err
		}
		var cerr *C.refstore_error_t
		r := C.refstore_prune(db, cctx, copts, &cerr)
		defer C.refstore_prune_result_destroy(r)
		if err := takeError(cerr); err != nil {
			return err
		}
		result = PruneResult{
			Deleted:        goEntries(r.deleted, r.num_deleted),
			ImagesDeleted:  int64(r.images_deleted),
			SpaceReclaimed: int64(r.space_reclaimed),
			Error:          C.GoString(r.error),
			Collected:      goCollect(&r.collected),
		}
		return nil
	})
	return result, err
}

// forEachFilter calls f for each value of filters, in key order (so that
// the first bad key reported does not depend on Go's map order), and once
// with a nil value for a key without values: the C API's NULL value, which
// is meant to give the key with no value (docker: "invalid filter
// 'dangling'" for {"dangling": []}).
func forEachFilter(filters map[string][]string, f func(key string, value *string)) {
	keys := make([]string, 0, len(filters))
	for k := range filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(filters[k]) == 0 {
			f(k, nil)
		}
		for i := range filters[k] {
			f(k, &filters[k][i])
		}
	}
}

// ListImages lists the namespace's images, newest first (creation time
// descending, then ID). Errors: ErrInvalidArgument (a bad filter),
// ErrNotFound (the image of a before= or since= filter).
func (s *Store) ListImages(ctx Context, opts ListOptions) ([]Image, error) {
	var images []Image
	err := s.run(ctx, func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error {
		copts := C.refstore_list_options_create()
		defer C.refstore_list_options_destroy(copts)
		C.refstore_list_options_set_all(copts, cbool(opts.All))
		forEachFilter(opts.Filters, func(k string, v *string) {
			C.refstore_list_options_add_filter(copts, a.str(k), a.optPtr(v))
		})
		if a.err != nil {
			return a.err
		}
		var cerr *C.refstore_error_t
		l := C.refstore_list_images(db, cctx, copts, &cerr)
		defer C.refstore_image_list_destroy(l)
		if err := takeError(cerr); err != nil {
			return err
		}
		images = make([]Image, int(l.num_images))
		if l.num_images > 0 {
			cimages := unsafe.Slice(l.images, int(l.num_images))
			for i := range cimages {
				images[i] = goImage(&cimages[i])
			}
		}
		return nil
	})
	return images, err
}

// Inspect resolves ref (an exact name wins over an ID prefix) and describes
// the image. Errors: ErrInvalidArgument (a blank reference), ErrNotFound
// ("No such image: <ref>", "ambiguous reference").
func (s *Store) Inspect(ctx Context, ref string) (ImageDetail, error) {
	var detail ImageDetail
	err := s.run(ctx, func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error {
		cref := a.str(ref)
		if a.err != nil {
			return a.err
		}
		var cerr *C.refstore_error_t
		d := C.refstore_inspect(db, cctx, cref, &cerr)
		defer C.refstore_image_detail_destroy(d)
		if err := takeError(cerr); err != nil {
			return err
		}
		detail = ImageDetail{
			Image:        goImage(&d.summary),
			Target:       goDescriptor(&d.target),
			Content:      goDescriptors(d.content, d.num_content),
			ContainerIDs: goStrings(d.container_ids, d.num_container_ids),
		}
		return nil
	})
	return detail, err
}

// DiskUsage is the images' part of `docker system df` for the namespace.
func (s *Store) DiskUsage(ctx Context) (DiskUsage, error) {
	var usage DiskUsage
	err := s.run(ctx, func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error {
		var out C.refstore_disk_usage_t
		var cerr *C.refstore_error_t
		C.refstore_disk_usage(db, cctx, &out, &cerr)
		if err := takeError(cerr); err != nil {
			return err
		}
		usage = DiskUsage{
			TotalCount:  int64(out.total_count),
			Active:      int64(out.active),
			Size:        int64(out.size),
			SharedSize:  int64(out.shared_size),
			UniqueSize:  int64(out.unique_size),
			Reclaimable: int64(out.reclaimable),
		}
		return nil
	})
	return usage, err
}

// Explain says why ref is kept: an image reference (resolved as Inspect
// does) or, when that finds nothing, a blob digest "sha256:<hex>". Errors:
// ErrNotFound "No such image or blob: <ref>", ErrInvalidArgument (a blank
// reference).
func (s *Store) Explain(ctx Context, ref string) (Explanation, error) {
	var e Explanation
	err := s.run(ctx, func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error {
		cref := a.str(ref)
		if a.err != nil {
			return a.err
		}
		var cerr *C.refstore_error_t
		x := C.refstore_explain(db, cctx, cref, &cerr)
		defer C.refstore_explanation_destroy(x)
		if err := takeError(cerr); err != nil {
			return err
		}
		e = Explanation{
			IsBlob:     x.is_blob != 0,
			Digest:     C.GoString(x.digest),
			Size:       int64(x.size),
			Names:      goStrings(x.names, x.num_names),
			Pinned:     x.pinned != 0,
			Dangling:   x.dangling != 0,
			Containers: goContainers(x.containers, x.num_containers),
			Images:     goStrings(x.images, x.num_images),
			Leases:     goStrings(x.leases, x.num_leases),
		}
		return nil
	})
	return e, err
}
