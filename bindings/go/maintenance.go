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

// Check recomputes every count and relation of the whole store (every
// namespace) from scratch and returns the differences; no finding without
// Info means consistent (see Faults). now dates lease expiry (expired
// leases are reported as information); the zero Time means time.Now().
// verifyDigests hashes every blob file of a content store (otherwise only
// sizes are compared).
func (s *Store) Check(now time.Time, verifyDigests bool) ([]Problem, error) {
	var problems []Problem
	err := s.with(func(db *C.refstore_t, _ *cArena) error {
		if now.IsZero() {
			now = time.Now()
		}
		nanos, err := toUnixNano(now, "the check's time")
		if err != nil {
			return err
		}
		var cerr *C.refstore_error_t
		l := C.refstore_check(db, C.int64_t(nanos), cbool(verifyDigests), &cerr)
		defer C.refstore_problem_list_destroy(l)
		if err := takeError(cerr); err != nil {
			return err
		}
		problems = make([]Problem, int(l.num_problems))
		if l.num_problems == 0 {
			return nil
		}
		for i, p := range unsafe.Slice(l.problems, int(l.num_problems)) {
			problems[i] = Problem{
				Category: C.GoString(p.category),
				Subject:  C.GoString(p.subject),
				Detail:   C.GoString(p.detail),
				Info:     p.info != 0,
			}
		}
		return nil
	})
	return problems, err
}

// Collect (content store) deletes the files of garbage blobs, then their
// records, and the leftovers of interrupted writes. Without a content
// store it does nothing. Errors: ErrFailedPrecondition (read-only); an
// error may come after some batches were committed (run it again).
func (s *Store) Collect() (CollectResult, error) {
	var result CollectResult
	err := s.with(func(db *C.refstore_t, _ *cArena) error {
		var cerr *C.refstore_error_t
		r := C.refstore_collect(db, &cerr)
		defer C.refstore_collect_result_destroy(r)
		if err := takeError(cerr); err != nil {
			return err
		}
		result = goCollect(r)
		return nil
	})
	return result, err
}

// ApplyJSON applies one line of the operation log (OPLOG.md: one JSON
// object) as `refstore apply` does, at now when the line has no "at" (the
// zero Time: time.Now()), and returns its result line without a newline:
// {"ok":true,...} or {"ok":false,"error":{"code":...,"message":...}}. An
// operation's failure is in the result, not the error: the error is only
// ErrClosed, or ErrInvalidArgument for a now outside the times a store
// keeps.
func (s *Store) ApplyJSON(line []byte, now time.Time) (string, error) {
	var result string
	err := s.with(func(db *C.refstore_t, a *cArena) error {
		if now.IsZero() {
			now = time.Now()
		}
		nanos, err := toUnixNano(now, "the operation's time")
		if err != nil {
			return err
		}
		var p *C.char
		if len(line) > 0 {
			// Go memory without pointers, only read during the call.
			p = (*C.char)(unsafe.Pointer(&line[0]))
		} else {
			p = a.str("") // the C API takes NULL as "no line"
		}
		r := C.refstore_apply_json(db, p, C.size_t(len(line)), C.int64_t(nanos))
		if r == nil {
			return &Error{Code: CodeInternal, Message: "refstore: refstore_apply_json returned NULL"}
		}
		defer C.refstore_free(unsafe.Pointer(r))
		result = C.GoString(r)
		return nil
	})
	return result, err
}
