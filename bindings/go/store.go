package refstore

/*
#cgo pkg-config: refstore
#include <stdlib.h>
#include "refstore/c.h"
*/
import "C"

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Options says how a store is opened (StoreOptions in options.h). The zero
// value is the C++ defaults: create the store when missing, writable, no
// sync per write, metadata only, collect after changes, no lock wait.
type Options struct {
	// ReadOnly opens without writing a byte of the store: every changing
	// call then fails with ErrFailedPrecondition ("the store is open
	// read-only").
	ReadOnly bool
	// DontCreate fails Open (ErrInvalidArgument "no store at <path>...")
	// when there is no store at the path, instead of creating one
	// (create_if_missing false).
	DontCreate bool
	// SyncWrites syncs the write-ahead log before each change returns.
	SyncWrites bool
	// ContentStore, when the store is created, keeps the blobs' bytes too,
	// in an OCI image layout under <path>/content (see WriteBlob).
	ContentStore bool
	// DontCollectAfterChanges stops running the collector after each
	// remove, prune and lease deletion that freed content (content store
	// only; collect_after_changes false). Collect then deletes the files.
	DontCollectAfterChanges bool
	// LockWait is how long Open waits for another process holding the
	// store before failing with ErrUnavailable. Zero: fail at once.
	LockWait time.Duration
}

// Context is the namespace and the time of a call (OpContext in options.h).
// It is not a context.Context: calls are not cancellable.
type Context struct {
	// Namespace of the call; "" means "default".
	Namespace string
	// Now is the time of the call: recorded as creation and last-use times,
	// and the origin of relative filters. The zero Time means time.Now().
	Now time.Time
}

// Store is an open store (refstore_t). Its methods are safe for concurrent
// use; Close it when done.
type Store struct {
	mu sync.RWMutex // held shared by every call, exclusively by Close
	db *C.refstore_t
}

// Open opens the store in directory path, creating it unless
// opts.DontCreate (Store::Open in store.h, with its errors: ErrUnavailable
// "store is in use by another process: <path>" when another process or
// another open Store in this process holds it, ErrInvalidArgument "no store
// at <path>...", ErrFailedPrecondition for a store of a newer format).
func Open(path string, opts Options) (*Store, error) {
	if err := checkNUL(path); err != nil {
		return nil, err
	}
	copts := C.refstore_options_create()
	defer C.refstore_options_destroy(copts)
	C.refstore_options_set_read_only(copts, cbool(opts.ReadOnly))
	C.refstore_options_set_create_if_missing(copts, cbool(!opts.DontCreate))
	C.refstore_options_set_sync_writes(copts, cbool(opts.SyncWrites))
	C.refstore_options_set_content_store(copts, cbool(opts.ContentStore))
	C.refstore_options_set_collect_after_changes(copts, cbool(!opts.DontCollectAfterChanges))
	C.refstore_options_set_lock_wait(copts, C.int64_t(opts.LockWait))
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var cerr *C.refstore_error_t
	db := C.refstore_open(copts, cpath, &cerr)
	if err := takeError(cerr); err != nil {
		C.refstore_close(db) // NULL on error; harmless
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close closes the store and frees it. It waits for the calls in flight;
// later calls return ErrClosed. Closing a closed Store does nothing and
// returns nil. The error is always nil (io.Closer's signature).
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil {
		C.refstore_close(s.db)
		s.db = nil
	}
	return nil
}

// HasContentStore reports whether the store keeps blob content
// (Options.ContentStore when it was created); false once closed.
func (s *Store) HasContentStore() bool {
	var has bool
	_ = s.with(func(db *C.refstore_t, _ *cArena) error {
		has = C.refstore_has_content_store(db) != 0
		return nil
	})
	return has
}

// ---- Calling C --------------------------------------------------------

// with runs f with the open handle, holding the read lock, and an arena
// for the C strings of the call, freed after f.
func (s *Store) with(f func(db *C.refstore_t, a *cArena) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return ErrClosed
	}
	var a cArena
	defer a.free()
	return f(s.db, &a)
}

// run is with for a call taking a Context.
func (s *Store) run(ctx Context, f func(db *C.refstore_t, cctx *C.refstore_ctx_t, a *cArena) error) error {
	return s.with(func(db *C.refstore_t, a *cArena) error {
		cctx, err := a.context(ctx)
		if err != nil {
			return err
		}
		return f(db, &cctx, a)
	})
}

// cArena holds the C memory made for one call's arguments; free releases
// it all. A Go string with a NUL byte cannot cross as a C string: str then
// records ErrInvalidArgument in err, which the call checks before C runs.
type cArena struct {
	ptrs []unsafe.Pointer
	err  error
}

func (a *cArena) str(s string) *C.char {
	if err := checkNUL(s); err != nil && a.err == nil {
		a.err = err
	}
	p := C.CString(s)
	a.ptrs = append(a.ptrs, unsafe.Pointer(p))
	return p
}

// optStr is str, with "" as NULL.
func (a *cArena) optStr(s string) *C.char {
	if s == "" {
		return nil
	}
	return a.str(s)
}

// optPtr is str, with nil as NULL.
func (a *cArena) optPtr(s *string) *C.char {
	if s == nil {
		return nil
	}
	return a.str(*s)
}

func (a *cArena) free() {
	for _, p := range a.ptrs {
		C.free(p)
	}
	a.ptrs = nil
}

func (a *cArena) context(ctx Context) (C.refstore_ctx_t, error) {
	now := ctx.Now
	if now.IsZero() {
		now = time.Now()
	}
	nanos, err := toUnixNano(now, "the operation's time")
	if err != nil {
		return C.refstore_ctx_t{}, err
	}
	return C.refstore_ctx_t{ns: a.optStr(ctx.Namespace), now_unix_nano: C.int64_t(nanos)}, nil
}

func (a *cArena) descriptor(d Descriptor) C.refstore_descriptor_t {
	return C.refstore_descriptor_t{
		media_type: a.str(d.MediaType),
		digest:     a.str(d.Digest),
		size:       C.int64_t(d.Size),
	}
}

func checkNUL(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf("refstore: %q contains a NUL byte", s)}
	}
	return nil
}

// takeError converts and destroys a C error; nil for none.
func takeError(cerr *C.refstore_error_t) error {
	if cerr == nil {
		return nil
	}
	defer C.refstore_error_destroy(cerr)
	return &Error{
		Code:    Code(C.refstore_error_code(cerr)),
		Message: C.GoString(C.refstore_error_message(cerr)),
	}
}

func cbool(b bool) C.uchar {
	if b {
		return 1
	}
	return 0
}

// The int64 nanosecond range; the store keeps whole seconds inside it.
var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// toUnixNano converts t for the C API: a time outside int64 nanoseconds is
// ErrInvalidArgument with the store's message (the store itself rejects the
// times inside that range it does not keep).
func toUnixNano(t time.Time, what string) (int64, error) {
	if t.Before(minNanoTime) || t.After(maxNanoTime) {
		return 0, &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf(
			"%s %s is outside the times a store keeps (1677-09-21T00:12:44Z to 2262-04-11T23:47:16Z)",
			what, t.UTC().Format(time.RFC3339Nano))}
	}
	return t.UnixNano(), nil
}

func fromUnixNano(n C.int64_t) time.Time { return time.Unix(0, int64(n)).UTC() }

// ---- Results ----------------------------------------------------------

func goStrings(p **C.char, n C.size_t) []string {
	out := make([]string, int(n))
	if n == 0 {
		return out
	}
	for i, s := range unsafe.Slice(p, int(n)) {
		out[i] = C.GoString(s)
	}
	return out
}

func goDescriptor(d *C.refstore_descriptor_t) Descriptor {
	return Descriptor{MediaType: C.GoString(d.media_type), Digest: C.GoString(d.digest), Size: int64(d.size)}
}

func goDescriptors(p *C.refstore_descriptor_t, n C.size_t) []Descriptor {
	out := make([]Descriptor, int(n))
	if n == 0 {
		return out
	}
	ds := unsafe.Slice(p, int(n))
	for i := range ds {
		out[i] = goDescriptor(&ds[i])
	}
	return out
}

func goEntries(p *C.refstore_delete_entry_t, n C.size_t) []DeleteEntry {
	out := make([]DeleteEntry, int(n))
	if n == 0 {
		return out
	}
	for i, e := range unsafe.Slice(p, int(n)) {
		out[i] = DeleteEntry{Kind: DeleteKind(e.kind), Ref: C.GoString(e.ref)}
	}
	return out
}

func goCollect(c *C.refstore_collect_result_t) CollectResult {
	return CollectResult{
		FilesDeleted:     int64(c.files_deleted),
		BytesDeleted:     int64(c.bytes_deleted),
		RecordsDropped:   int64(c.records_dropped),
		TempFilesDeleted: int64(c.temp_files_deleted),
		Error:            C.GoString(c.error),
	}
}

func goImage(img *C.refstore_image_t) Image {
	labels := make(map[string]string, int(img.num_labels))
	if img.num_labels > 0 {
		for _, l := range unsafe.Slice(img.labels, int(img.num_labels)) {
			labels[C.GoString(l.key)] = C.GoString(l.value)
		}
	}
	return Image{
		ID:          C.GoString(img.id),
		Names:       goStrings(img.names, img.num_names),
		RepoDigests: goStrings(img.repo_digests, img.num_repo_digests),
		Size:        int64(img.size),
		SharedSize:  int64(img.shared_size),
		UniqueSize:  int64(img.unique_size),
		Containers:  int64(img.containers),
		Created:     fromUnixNano(img.created_unix_nano),
		LastUsed:    fromUnixNano(img.last_used_unix_nano),
		Pinned:      img.pinned != 0,
		Labels:      labels,
	}
}

func goContainer(c *C.refstore_container_t) Container {
	return Container{
		ID:          C.GoString(c.id),
		ImageID:     C.GoString(c.image_id),
		Running:     c.running != 0,
		ImageExists: c.image_exists != 0,
		Created:     fromUnixNano(c.created_unix_nano),
		Name:        C.GoString(c.name),
	}
}

func goContainers(p *C.refstore_container_t, n C.size_t) []Container {
	out := make([]Container, int(n))
	if n == 0 {
		return out
	}
	cs := unsafe.Slice(p, int(n))
	for i := range cs {
		out[i] = goContainer(&cs[i])
	}
	return out
}
