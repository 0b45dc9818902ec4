package refstore_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	refstore "github.com/refstore/refstore/bindings/go"
)

// Example opens a store, creates an image under two names, shows docker's
// errors and removals, and prunes.
func Example() {
	dir, err := os.MkdirTemp("", "refstore-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := refstore.Open(filepath.Join(dir, "db"), refstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	// Every call runs in a namespace at a time (zero: "default", now).
	ctx := refstore.Context{Namespace: "default", Now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	manifest := refstore.Descriptor{
		MediaType: "application/vnd.oci.image.manifest.v1+json",
		Digest:    "sha256:aaaa1111aaaad5795d3909718cdd05abd49572e84fe55590eef31a88a08fdffd",
		Size:      1000,
	}
	config := refstore.Descriptor{
		MediaType: "application/vnd.oci.image.config.v1+json",
		Digest:    "sha256:5fdb3cfbbc175b296df6330ff5e4480d67cd291d05d1e1196c941ca8cf72c96b",
		Size:      1500,
	}
	layer := refstore.Descriptor{
		MediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
		Digest:    "sha256:dffe8596427fc50e8f64654a609af134d45552f18bbecef90b31135a9e7acaa0",
		Size:      3000000,
	}
	id, err := store.CreateImage(ctx, refstore.CreateImageRequest{
		Name:    "alpine:3.18",
		Target:  manifest,
		Content: []refstore.Descriptor{config, layer},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created", id)
	if err := store.Tag(ctx, "alpine:3.18", "alpine:latest"); err != nil {
		log.Fatal(err)
	}

	images, err := store.ListImages(ctx, refstore.ListOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, img := range images {
		fmt.Println(img.ID[:19], img.Names, img.Size, img.Created.Format(time.RFC3339))
	}

	_, err = store.RemoveImage(ctx, "nosuch:1", false)
	fmt.Println(errors.Is(err, refstore.ErrNotFound), err)

	removed, err := store.RemoveImage(ctx, "alpine:latest", false)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(removed.Deleted, removed.SpaceReclaimed)

	pruned, err := store.Prune(ctx, refstore.PruneOptions{All: true})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range pruned.Deleted {
		fmt.Println(e.Kind, e.Ref)
	}
	fmt.Println("reclaimed", pruned.SpaceReclaimed)

	// Output:
	// created sha256:aaaa1111aaaad5795d3909718cdd05abd49572e84fe55590eef31a88a08fdffd
	// sha256:aaaa1111aaaa [alpine:3.18 alpine:latest] 3002500 2026-01-01T12:00:00Z
	// true No such image: nosuch:1
	// [{Untagged alpine:latest}] 0
	// Untagged alpine:3.18
	// Deleted sha256:aaaa1111aaaad5795d3909718cdd05abd49572e84fe55590eef31a88a08fdffd
	// reclaimed 3002500
}
