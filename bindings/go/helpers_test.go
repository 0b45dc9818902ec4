package refstore

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"
)

// Media types of the test images.
const (
	manifestType = "application/vnd.oci.image.manifest.v1+json"
	configType   = "application/vnd.oci.image.config.v1+json"
	layerType    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// t0 is the time of the tests' first operation: tests pass their times in.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// openTestStore opens a fresh store in a temporary directory, closed when
// the test ends.
func openTestStore(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// digestOf returns the sha256 digest of data.
func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// desc returns a descriptor whose digest is derived from seed.
func desc(mediaType, seed string, size int64) Descriptor {
	return Descriptor{MediaType: mediaType, Digest: digestOf([]byte(seed)), Size: size}
}

// testImage returns a request for an image named name (may be "") made of
// a manifest, a config and the given layers, all seeded by id.
func testImage(name, id string, layers ...Descriptor) CreateImageRequest {
	return CreateImageRequest{
		Name:    name,
		Target:  desc(manifestType, "manifest-"+id, 1000),
		Content: append([]Descriptor{desc(configType, "config-"+id, 500)}, layers...),
	}
}

func ctxAt(offset time.Duration) Context { return Context{Namespace: "default", Now: t0.Add(offset)} }

func mustCreate(t testing.TB, s *Store, ctx Context, req CreateImageRequest) string {
	t.Helper()
	id, err := s.CreateImage(ctx, req)
	if err != nil {
		t.Fatalf("CreateImage(%q): %v", req.Name, err)
	}
	return id
}

// containerID returns a 64-hex container ID derived from seed.
func containerID(seed string) string { return digestOf([]byte("container-" + seed))[len("sha256:"):] }
