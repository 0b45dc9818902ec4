package refstore

/*
#include <stdlib.h>
#include "refstore/c.h"
*/
import "C"

import "unsafe"

// CreateContainer resolves imageRef as the user typed it and records a
// container id (64 hex) holding that image by ID; returns the image ID.
// name is docker's container name ("" none; a leading '/' is dropped).
// Errors: ErrInvalidArgument (a bad container ID or name, a blank
// reference), ErrAlreadyExists (the ID or the name is taken), ErrNotFound
// (imageRef names nothing, or is ambiguous).
func (s *Store) CreateContainer(ctx Context, id, imageRef string, running bool, name string) (string, error) {
	var imageID string
	err := s.run(ctx, func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error {
		cid, cref, cname := a.str(id), a.str(imageRef), a.optStr(name)
		if a.err != nil {
			return a.err
		}
		var cerr *C.refstore_error_t
		cimage := C.refstore_container_create(db, cctx, cid, cref, cbool(running), cname, &cerr)
		defer C.refstore_free(unsafe.Pointer(cimage))
		if err := takeError(cerr); err != nil {
			return err
		}
		imageID = C.GoString(cimage)
		return nil
	})
	return imageID, err
}

// StartContainer sets the container running (a no-op when it is).
// Errors: ErrNotFound "No such container: <id>", ErrInvalidArgument (a bad
// ID).
func (s *Store) StartContainer(ctx Context, id string) error {
	return s.containerCall(ctx, id, func(db *C.refstore_t, cctx *C.refstore_ctx_t, cid *C.char, cerr **C.refstore_error_t) {
		C.refstore_container_start(db, cctx, cid, cerr)
	})
}

// StopContainer sets the container stopped (a no-op when it is). Errors:
// as StartContainer.
func (s *Store) StopContainer(ctx Context, id string) error {
	return s.containerCall(ctx, id, func(db *C.refstore_t, cctx *C.refstore_ctx_t, cid *C.char, cerr **C.refstore_error_t) {
		C.refstore_container_stop(db, cctx, cid, cerr)
	})
}

// RemoveContainer removes the container record. Errors: as
// StartContainer, and ErrConflict when the container is running.
func (s *Store) RemoveContainer(ctx Context, id string) error {
	return s.containerCall(ctx, id, func(db *C.refstore_t, cctx *C.refstore_ctx_t, cid *C.char, cerr **C.refstore_error_t) {
		C.refstore_container_remove(db, cctx, cid, cerr)
	})
}

func (s *Store) containerCall(ctx Context, id string, f func(*C.refstore_t, *C.refstore_ctx_t, *C.char, **C.refstore_error_t)) error {
	return s.run(ctx, func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error {
		cid := a.str(id)
		if a.err != nil {
			return a.err
		}
		var cerr *C.refstore_error_t
		f(db, cctx, cid, &cerr)
		return takeError(cerr)
	})
}

// ListContainers lists the namespace's containers.
func (s *Store) ListContainers(ctx Context) ([]Container, error) {
	var containers []Container
	err := s.run(ctx, func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error {
		var cerr *C.refstore_error_t
		l := C.refstore_list_containers(db, cctx, &cerr)
		defer C.refstore_container_list_destroy(l)
		if err := takeError(cerr); err != nil {
			return err
		}
		containers = goContainers(l.containers, l.num_containers)
		return nil
	})
	return containers, err
}
