package refstore

// Tests on a real full filesystem (a small tmpfs: needs root to mount) and
// with a real second process writing beside read-only opens. The store's
// own tests do both for the C++ API and the command; these show that what
// a Go caller meets there arrives as the documented errors, and that
// nothing else breaks.

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of sizeMiB under a temporary directory and
// unmounts it when the test ends; it skips the test where it cannot mount.
func mountTmpfs(t *testing.T, sizeMiB int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%dm", sizeMiB)); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bfree) * st.Bsize
}

// fillDisk writes a file beside the store until a write fails; it returns
// the file's path (removing it frees the space).
func fillDisk(t *testing.T, dir string, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 4096, 1} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				break
			}
		}
	}
	if free := freeBytes(t, dir); free != 0 {
		t.Fatalf("the filesystem still has %d bytes free", free)
	}
	return path
}

// pullImage writes an image's blobs (a 2 MiB random layer, a config, a
// manifest) under a lease and creates the image named name.
func pullImage(s *Store, ctx Context, name string, seed int64) (CreateImageRequest, error) {
	rng := rand.New(rand.NewSource(seed))
	layer := make([]byte, 2<<20)
	rng.Read(layer)
	config := []byte(fmt.Sprintf(`{"seed":%d}`, seed))
	manifest := []byte(fmt.Sprintf(`{"schemaVersion":2,"seed":%d}`, seed))
	blobs := []struct {
		d    Descriptor
		data []byte
	}{
		{Descriptor{layerType, digestOf(layer), int64(len(layer))}, layer},
		{Descriptor{configType, digestOf(config), int64(len(config))}, config},
		{Descriptor{manifestType, digestOf(manifest), int64(len(manifest))}, manifest},
	}
	lease := "pull-" + strconv.FormatInt(seed, 10)
	if err := s.CreateLease(ctx, lease, time.Time{}); err != nil {
		return CreateImageRequest{}, err
	}
	defer s.DeleteLease(ctx, lease)
	for _, b := range blobs {
		if err := s.WriteBlob(ctx, lease, b.d, b.data); err != nil {
			return CreateImageRequest{}, err
		}
	}
	req := CreateImageRequest{Name: name, Target: blobs[2].d, Content: []Descriptor{blobs[1].d, blobs[0].d}}
	_, err := s.CreateImage(ctx, req)
	return req, err
}

func expectNoFaults(t *testing.T, s *Store) {
	t.Helper()
	problems, err := s.Check(t0.Add(time.Hour), true)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	for _, p := range Faults(problems) {
		t.Errorf("check: %s %s %s", p.Category, p.Subject, p.Detail)
	}
}

// TestFullTmpfs: in one open store (a long-lived embedder) on a 24 MiB
// tmpfs filled to the last byte by another writer, removes and a tag still
// succeed and the removes give their space back, a write that cannot be
// made is ErrResourceExhausted and changes nothing, and once space is back
// everything works again and a prune frees what it reports.
func TestFullTmpfs(t *testing.T) {
	mnt := mountTmpfs(t, 24)
	s, err := Open(filepath.Join(mnt, "db"), Options{ContentStore: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	ctx := ctxAt(0)
	for i := 0; i < 4; i++ {
		if _, err := pullImage(s, ctx, fmt.Sprintf("app:%d", i), int64(i)); err != nil {
			t.Fatalf("pull %d: %v", i, err)
		}
	}

	// 1. Full: rmi succeeds and the filesystem gets the layer back.
	fill := fillDisk(t, mnt, "fill-1")
	removed, err := s.RemoveImage(ctx, "app:0", false)
	if err != nil {
		t.Fatalf("rmi on a full disk: %v", err)
	}
	if removed.SpaceReclaimed < 2<<20 || removed.Collected.Error != "" {
		t.Errorf("rmi: reclaimed %d, collect error %q", removed.SpaceReclaimed, removed.Collected.Error)
	}
	if free := freeBytes(t, mnt); free < 2<<20 {
		t.Errorf("after rmi the filesystem has %d bytes free, want at least %d", free, 2<<20)
	}

	// 2. Full again: prune -a succeeds (after the names go) and frees what it reports.
	fillDisk(t, mnt, "fill-2")
	for i := 1; i < 3; i++ {
		if _, err := s.RemoveImage(ctx, fmt.Sprintf("app:%d", i), false); err != nil {
			t.Fatalf("rmi app:%d: %v", i, err)
		}
	}
	fillDisk(t, mnt, "fill-3")
	// A small change still fits: the store gives its reserve back first.
	if err := s.Tag(ctx, "app:3", "keep:me"); err != nil {
		t.Fatalf("tag on a full disk: %v", err)
	}

	// 3. A new image cannot be written: ErrResourceExhausted, nothing changes.
	before, err := s.ListImages(ctx, ListOptions{All: true})
	if err != nil {
		t.Fatalf("ListImages on a full disk: %v", err)
	}
	_, err = pullImage(s, ctx, "new:1", 99)
	if !errors.Is(err, ErrResourceExhausted) {
		t.Fatalf("a pull on a full disk: %v, want ErrResourceExhausted", err)
	}
	var e *Error
	if !errors.As(err, &e) || !bytes.Contains([]byte(e.Message), []byte("No space left on device")) {
		t.Errorf("the error does not say the disk is full: %v", err)
	}
	after, err := s.ListImages(ctx, ListOptions{All: true})
	if err != nil || len(after) != len(before) {
		t.Errorf("the failed pull changed the images: %d before, %d after (%v)", len(before), len(after), err)
	}
	expectNoFaults(t, s)

	// 4. Space back: everything works again, and a prune reclaims exactly.
	for _, f := range []string{fill, filepath.Join(mnt, "fill-2"), filepath.Join(mnt, "fill-3")} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pullImage(s, ctx, "new:1", 99); err != nil {
		t.Fatalf("pull after space came back: %v", err)
	}
	usage, err := s.DiskUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveImage(ctx, "new:1", false); err != nil {
		t.Fatal(err)
	}
	freeBefore := freeBytes(t, mnt)
	pruned, err := s.Prune(ctx, PruneOptions{All: true})
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	if pruned.SpaceReclaimed == 0 || pruned.Collected.BytesDeleted != pruned.SpaceReclaimed {
		t.Errorf("prune reclaimed %d, the collector deleted %d bytes", pruned.SpaceReclaimed, pruned.Collected.BytesDeleted)
	}
	if got := freeBytes(t, mnt) - freeBefore; got < pruned.SpaceReclaimed {
		t.Errorf("the filesystem gained %d bytes after a prune that reports %d", got, pruned.SpaceReclaimed)
	}
	t.Logf("24 MiB tmpfs: rmi on a full disk reclaimed %d bytes; df before the last prune: size %d; prune -a reclaimed %d bytes (%d images)",
		removed.SpaceReclaimed, usage.Size, pruned.SpaceReclaimed, pruned.ImagesDeleted)
	expectNoFaults(t, s)
}

// writerEnv names the store a re-executed test binary writes to (the
// writer process of TestReadOnlyBesideWriterProcess).
const writerEnv = "REFSTORE_GO_TEST_WRITER_STORE"

func TestMain(m *testing.M) {
	if dir := os.Getenv(writerEnv); dir != "" {
		os.Exit(runWriter(dir))
	}
	os.Exit(m.Run())
}

// runWriter holds the store open for writing and changes it until its
// standard input closes: images created, tagged, removed, pruned.
func runWriter(dir string) int {
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "writer:", err)
		return 2
	}
	defer s.Close()
	fmt.Println("ready")
	done := make(chan struct{})
	go func() {
		buf := make([]byte, 1)
		os.Stdin.Read(buf) // EOF when the parent closes the pipe
		close(done)
	}()
	for i := 0; ; i++ {
		select {
		case <-done:
			return 0
		default:
		}
		ctx := Context{Now: t0.Add(time.Duration(i) * time.Second)}
		id := strconv.Itoa(i)
		if _, err := s.CreateImage(ctx, testImage("w:"+id, id, desc(layerType, "layer-"+strconv.Itoa(i%7), 4096))); err != nil {
			fmt.Fprintln(os.Stderr, "writer:", err)
			return 1
		}
		if i%3 == 2 {
			if _, err := s.RemoveImage(ctx, "w:"+strconv.Itoa(i-1), false); err != nil {
				fmt.Fprintln(os.Stderr, "writer:", err)
				return 1
			}
		}
		if i%50 == 49 {
			if _, err := s.Prune(ctx, PruneOptions{All: true, Keep: 5}); err != nil {
				fmt.Fprintln(os.Stderr, "writer:", err)
				return 1
			}
		}
	}
}

// TestReadOnlyBesideWriterProcess: another process holds the store and
// writes to it; read-only opens here, for 3 seconds, each read a consistent
// state (Check finds no fault), and a writable open is ErrUnavailable.
func TestReadOnlyBesideWriterProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, ctxAt(0), testImage("base:1", "base"))
	s.Close()

	writer := exec.Command(os.Args[0], "-test.run=^$")
	writer.Env = append(os.Environ(), writerEnv+"="+dir)
	stdin, err := writer.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := writer.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	writer.Stderr = &stderr
	if err := writer.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make([]byte, 6)
	if _, err := stdout.Read(ready); err != nil || string(ready) != "ready\n" {
		t.Fatalf("the writer did not start: %q %v; stderr: %s", ready, err, stderr.String())
	}

	_, err = Open(dir, Options{})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("a writable open beside the writer: %v, want ErrUnavailable", err)
	}
	opens, reads, checks, maxImages := 0, 0, 0, 0
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		ro, err := Open(dir, Options{ReadOnly: true, LockWait: 5 * time.Second})
		if err != nil {
			t.Fatalf("read-only open %d beside the writer: %v", opens, err)
		}
		opens++
		images, err := ro.ListImages(Context{}, ListOptions{All: true})
		if err != nil {
			t.Fatalf("ListImages (read-only): %v", err)
		}
		if len(images) > maxImages {
			maxImages = len(images)
		}
		for _, img := range images[:min(len(images), 5)] {
			if _, err := ro.Inspect(Context{}, img.ID); err != nil {
				t.Fatalf("Inspect %s (read-only): %v", img.ID, err)
			}
			reads++
		}
		if err := ro.Tag(Context{}, "base:1", "x:1"); !errors.Is(err, ErrFailedPrecondition) {
			t.Errorf("Tag on a read-only store: %v, want ErrFailedPrecondition", err)
		}
		if opens%4 == 1 {
			problems, err := ro.Check(time.Now(), false)
			if err != nil {
				t.Fatalf("Check (read-only): %v", err)
			}
			for _, p := range Faults(problems) {
				t.Errorf("read-only check %d: %s %s %s", checks, p.Category, p.Subject, p.Detail)
			}
			checks++
		}
		ro.Close()
	}
	stdin.Close()
	if err := writer.Wait(); err != nil {
		t.Fatalf("the writer: %v; stderr: %s", err, stderr.String())
	}
	t.Logf("beside a writer process: %d read-only opens, %d inspects, %d checks with no fault; up to %d images seen",
		opens, reads, checks, maxImages)
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}
