package refstore

// A concurrency test, meant for `go test -race -run Race`: many goroutines
// change and read one Store while prunes and checks run, then Close races
// against late callers, which must get ErrClosed (never crash, never
// another error). The store is then reopened and checked.

import (
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRaceConcurrentUseAndClose(t *testing.T) {
	const workers = 16
	duration := 3 * time.Second
	if testing.Short() {
		duration = time.Second
	}
	path := filepath.Join(t.TempDir(), "db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	var ops, expectedErrors, prunes, checks atomic.Int64
	var errMu sync.Mutex
	var unexpected []error
	report := func(what string, err error) {
		errMu.Lock()
		defer errMu.Unlock()
		if len(unexpected) < 20 {
			unexpected = append(unexpected, fmt.Errorf("%s: %w", what, err))
		}
	}
	// ok counts one operation; errors a concurrent prune or removal can
	// cause (an image gone, a conflict) are expected, others are reported.
	ok := func(what string, err error, expected ...error) {
		ops.Add(1)
		if err == nil {
			return
		}
		for _, e := range expected {
			if errors.Is(err, e) {
				expectedErrors.Add(1)
				return
			}
		}
		report(what, err)
	}

	// Base layers many images share, as pulled images do.
	bases := make([]Descriptor, 8)
	for i := range bases {
		bases[i] = desc(layerType, fmt.Sprintf("base-%d", i), int64(1000000+i))
	}
	start := time.Now()
	deadline := start.Add(duration)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		w := w
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			ctx := Context{Namespace: fmt.Sprintf("ns%d", w%4)}
			for i := 0; time.Now().Before(deadline); i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				name := fmt.Sprintf("app%d:%d", w, i)
				req := testImage(name, id, bases[rng.Intn(len(bases))], desc(layerType, "own-"+id, int64(1000+i)))
				_, err := s.CreateImage(ctx, req)
				ok("CreateImage", err)
				ok("Tag", s.Tag(ctx, name, fmt.Sprintf("app%d:latest", w)), ErrNotFound)
				c := containerID(id)
				_, err = s.CreateContainer(ctx, c, name, rng.Intn(2) == 0, "")
				ok("CreateContainer", err, ErrNotFound)
				ok("StartContainer", s.StartContainer(ctx, c), ErrNotFound)
				_, err = s.ListImages(ctx, ListOptions{All: true})
				ok("ListImages", err)
				_, err = s.Inspect(ctx, req.Target.Digest)
				ok("Inspect", err, ErrNotFound)
				_, err = s.RemoveImage(ctx, name, false)
				ok("RemoveImage in use", err, ErrConflict, ErrNotFound)
				ok("StopContainer", s.StopContainer(ctx, c), ErrNotFound)
				ok("RemoveContainer", s.RemoveContainer(ctx, c), ErrNotFound)
				_, err = s.ListContainers(ctx)
				ok("ListContainers", err)
				if i%3 == 0 {
					_, err = s.RemoveImage(ctx, req.Target.Digest, true)
					ok("RemoveImage -f", err, ErrNotFound)
				}
				if i%5 == 0 {
					lease := "lease-" + id
					ok("CreateLease", s.CreateLease(ctx, lease, time.Now().Add(time.Second)))
					ok("AddLeaseContent", s.AddLeaseContent(ctx, lease, []Descriptor{bases[rng.Intn(len(bases))]}), ErrNotFound)
					_, err = s.DeleteLease(ctx, lease)
					ok("DeleteLease", err, ErrNotFound) // an expired lease may be pruned first
				}
				_, err = s.DiskUsage(ctx)
				ok("DiskUsage", err)
			}
		}()
	}
	wg.Add(2)
	go func() { // prunes, in every namespace in turn
		defer wg.Done()
		for i := 0; time.Now().Before(deadline); i++ {
			_, err := s.Prune(Context{Namespace: fmt.Sprintf("ns%d", i%4)}, PruneOptions{All: i%2 == 0})
			ok("Prune", err, ErrAborted)
			prunes.Add(1)
		}
	}()
	go func() { // checks: a consistent snapshot at every moment
		defer wg.Done()
		for time.Now().Before(deadline) {
			problems, err := s.Check(time.Time{}, false)
			ok("Check", err)
			if faults := Faults(problems); len(faults) > 0 {
				report("Check during the run", fmt.Errorf("%d faults, first %+v", len(faults), faults[0]))
			}
			checks.Add(1)
		}
	}()
	wg.Wait()
	elapsed := time.Since(start)

	// Close against late callers: every call either completes before Close
	// or returns ErrClosed.
	var closedSeen, beforeClose atomic.Int64
	var late sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < workers; w++ {
		w := w
		late.Add(1)
		go func() {
			defer late.Done()
			ctx := Context{Namespace: "late"}
			for i := 0; ; i++ {
				var err error
				switch i % 4 {
				case 0:
					_, err = s.CreateImage(ctx, testImage(fmt.Sprintf("late%d:%d", w, i), fmt.Sprintf("late-%d-%d", w, i)))
				case 1:
					_, err = s.ListImages(ctx, ListOptions{All: true})
				case 2:
					_, err = s.Prune(ctx, PruneOptions{All: true})
					if errors.Is(err, ErrAborted) {
						err = nil
					}
				case 3:
					_, err = s.Check(time.Time{}, false)
				}
				switch {
				case err == nil:
					beforeClose.Add(1)
				case errors.Is(err, ErrClosed):
					closedSeen.Add(1)
					select {
					case <-stop:
						return
					default:
					}
				default:
					report("late caller", err)
					return
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	time.Sleep(10 * time.Millisecond)
	close(stop)
	late.Wait()
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	for _, err := range unexpected {
		t.Error(err)
	}
	if closedSeen.Load() < workers {
		t.Errorf("late callers saw ErrClosed %d times, want at least %d", closedSeen.Load(), workers)
	}

	reopened, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer reopened.Close()
	problems, err := reopened.Check(time.Time{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if faults := Faults(problems); len(faults) > 0 {
		t.Errorf("Check after the run: %d faults: %+v", len(faults), faults)
	}
	images := 0
	for ns := 0; ns < 4; ns++ {
		list, err := reopened.ListImages(Context{Namespace: fmt.Sprintf("ns%d", ns)}, ListOptions{All: true})
		if err != nil {
			t.Fatal(err)
		}
		images += len(list)
	}
	t.Logf("%d goroutines (%d workers, 1 pruner, 1 checker) for %v: %d operations (%.0f ops/s), "+
		"%d expected errors (not found, conflict, aborted), %d prunes, %d checks; %d images left",
		workers+2, workers, elapsed.Round(time.Millisecond), ops.Load(), float64(ops.Load())/elapsed.Seconds(),
		expectedErrors.Load(), prunes.Load(), checks.Load(), images)
	t.Logf("Close raced with %d late goroutines: %d calls completed before it, %d got ErrClosed; "+
		"after reopening, Check found %d findings, none a fault", workers, beforeClose.Load(), closedSeen.Load(), len(problems))
}
