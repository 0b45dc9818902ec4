// Package refstore is the Go interface of refstore, a container engine's
// image-reference store on embedded RocksDB (docker's rmi and image prune
// semantics on the containerd image store, one atomic write per change).
//
// It is a thin cgo layer over refstore's C API (refstore/c.h), which is
// itself a thin layer over the C++ Store (refstore/store.h): each method
// here is one C call and one C++ call, with the same semantics, errors and
// thread-safety. Read store.h for what each call does; this package
// documents what differs in the Go form.
//
// Example:
//
//	store, err := refstore.Open("/var/lib/refstore", refstore.Options{})
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//	ctx := refstore.Context{Namespace: "default"} // Now: time.Now()
//	id, err := store.CreateImage(ctx, refstore.CreateImageRequest{
//		Name: "alpine:3.18", Target: manifest, Content: []refstore.Descriptor{config, layer}})
//	pruned, err := store.Prune(ctx, refstore.PruneOptions{All: true})
//	// pruned.Deleted, pruned.SpaceReclaimed
//
// # Context
//
// Every call that store.h gives an OpContext takes a Context: the namespace
// (empty: "default") and the time of the call (zero: time.Now()). The store
// never reads the clock itself: the time is what it records (creation,
// last use) and what relative filters ("until": "24h") count from.
//
// # Times
//
// Times cross the C API as int64 nanoseconds since the Unix epoch; the store
// keeps whole seconds from 1677-09-21T00:12:44Z to 2262-04-11T23:47:16Z. A
// time outside that range is an error matching ErrInvalidArgument, never
// clamped. Times returned are in UTC.
//
// # Errors
//
// A failed call returns an *Error carrying the store's code and message;
// match it with errors.Is and the sentinels (ErrNotFound, ErrConflict, ...).
// A call that fails has changed nothing. Calls on a closed Store return
// ErrClosed. Strings passed in must not contain NUL bytes (the C API takes
// C strings): such a string is ErrInvalidArgument.
//
// # Thread-safety
//
// A Store is safe for concurrent use by many goroutines, as the C++ Store
// is: changes are serialized inside the store, reads do not block them, and
// only one Prune runs at a time (another fails with ErrAborted). Close may
// be called at any time, also concurrently with other calls: it waits for
// the calls in flight, and every later call returns ErrClosed.
package refstore
