package refstore

import "time"

// Descriptor is an OCI descriptor: Digest is "sha256:" + 64 lowercase hex,
// Size >= 0.
type Descriptor struct {
	MediaType string
	Digest    string
	Size      int64
}

// CollectResult is what a collection did: the garbage blob files it
// deleted (content store only).
type CollectResult struct {
	FilesDeleted     int64
	BytesDeleted     int64 // sizes of the files, as found on disk
	RecordsDropped   int64 // garbage records whose file was gone or revived
	TempFilesDeleted int64 // leftovers of interrupted writes
	// Error, after a change (RemoveImage, Prune, DeleteLease), is non-empty
	// when the collection stopped on this error. The change itself is
	// committed: a failed collection is never the call's error.
	Error string
}

// DeleteKind is the kind of an entry of docker's delete response.
type DeleteKind int

// The kinds of DeleteEntry.
const (
	Untagged DeleteKind = 0 // a name was removed
	Deleted  DeleteKind = 1 // an image was removed
)

// String returns docker's key: "Untagged" or "Deleted".
func (k DeleteKind) String() string {
	if k == Untagged {
		return "Untagged"
	}
	return "Deleted"
}

// DeleteEntry is one entry of docker's delete response.
type DeleteEntry struct {
	Kind DeleteKind
	Ref  string // a familiar name, or "sha256:<hex>"
}

// RemoveResult is what RemoveImage did.
type RemoveResult struct {
	Deleted        []DeleteEntry // every Untagged first, then Deleted
	SpaceReclaimed int64
	// Collected is what the collection run after the change did (content
	// store with collection after changes).
	Collected CollectResult
}

// CreateImageRequest is CreateImageRequest of options.h.
type CreateImageRequest struct {
	// Name is the optional name ("alpine:3.18"; "" none); it may carry a
	// digest, which must then be the target's.
	Name string
	// Target is the image's manifest or index; its digest is the image ID.
	Target Descriptor
	// Content is every other blob of the image: configs, layers, platform
	// manifests.
	Content []Descriptor
	Labels  map[string]string
	// Lease is the optional lease ("" none), in the same namespace, the
	// content was written under: the image's blobs are added to it.
	Lease string
	// Created is the image's creation time as docker shows it; the zero
	// Time means the call's Context.Now.
	Created time.Time
}

// PruneOptions is PruneOptions of options.h. The zero value prunes
// dangling images only, with no filter, for real.
type PruneOptions struct {
	// All makes every unused image a candidate, not only dangling ones.
	All bool
	// DryRun reports exactly what a real prune would, and changes nothing.
	DryRun bool
	// Filters are docker's: "until", "label", "label!", "dangling"; any
	// other key is ErrInvalidArgument "invalid filter '<key>'". A key with
	// no values is passed as a NULL value (see README.md: the C library
	// now takes it as the value "").
	Filters map[string][]string
	// References, beyond docker: shell globs on familiar names; only
	// matching names are removed (an image goes when all its names do),
	// and nameless images are not candidates. Empty: no such rule.
	References []string
	// UnusedFor makes candidates only of images not used (created, or a
	// container created or started from it) for at least this long. Zero:
	// no such rule; negative: ErrInvalidArgument.
	UnusedFor time.Duration
	// Keep keeps the Keep most recently created images of each repository.
	// Zero: no such rule.
	Keep int
	// HasMaxStorage bounds the prune by MaxStorage: candidates are removed
	// least recently used first, and only until the namespace's images use
	// at most MaxStorage bytes (df's SIZE). Without HasMaxStorage, MaxStorage
	// is ignored and there is no bound.
	HasMaxStorage bool
	MaxStorage    int64
}

// PruneResult is what Prune did (or, with DryRun, would do).
type PruneResult struct {
	Deleted        []DeleteEntry
	ImagesDeleted  int64
	SpaceReclaimed int64
	// Error is non-empty when the prune is committed (its figures are above)
	// but its entries could not all be read back after the commit.
	Error     string
	Collected CollectResult
}

// Container is a container record (ContainerInfo in types.h).
type Container struct {
	ID          string // 64 hex
	ImageID     string // "sha256:<hex>" of the image the container holds
	Running     bool
	ImageExists bool // false: the image was force-removed
	Created     time.Time
	Name        string // docker's container name without '/'; "" none
}

// Lease is a lease record (LeaseInfo in types.h).
type Lease struct {
	ID      string
	Created time.Time
	Expires time.Time    // the zero Time: no expiry
	Content []Descriptor // sorted by digest
}

// DeleteLeaseResult is what DeleteLease did.
type DeleteLeaseResult struct {
	// SpaceReclaimed is the bytes of the content nothing else held.
	SpaceReclaimed int64
	Collected      CollectResult
}

// ListOptions is ListOptions of options.h, with one difference: the zero
// value lists as `docker images` does, hiding dangling images; set All for
// every image (the C++ default).
type ListOptions struct {
	// All lists dangling images too. A "dangling" filter overrides it.
	All bool
	// Filters: dangling, label, label!, until, reference (a Go path.Match
	// glob on familiar names; several are ORed), before=<ref>, since=<ref>.
	// A key with no values: as PruneOptions.Filters.
	Filters map[string][]string
}

// Image is an image as `docker images` lists it (ImageSummary in types.h).
type Image struct {
	ID          string   // "sha256:<hex>"
	Names       []string // familiar names, sorted
	RepoDigests []string // "repo@sha256:<target>" per repository, sorted
	Size        int64    // the sum of the image's distinct blobs
	SharedSize  int64    // the part of Size also used by another image
	UniqueSize  int64    // Size - SharedSize
	Containers  int64    // containers of the namespace holding it
	Created     time.Time
	// LastUsed is when a container was last created or started from the
	// image; Created when never.
	LastUsed time.Time
	Pinned   bool
	Labels   map[string]string
}

// ImageDetail is what Inspect returns (ImageDetail in types.h).
type ImageDetail struct {
	Image
	Target       Descriptor
	Content      []Descriptor
	ContainerIDs []string // sorted
}

// DiskUsage is the images' part of `docker system df` for a namespace.
type DiskUsage struct {
	TotalCount  int64
	Active      int64 // images held by a container
	Size        int64 // distinct blobs used by the namespace's images
	SharedSize  int64 // part of Size used by two or more images
	UniqueSize  int64 // Size - SharedSize
	Reclaimable int64 // the SpaceReclaimed of Prune{All: true} now
}

// Explanation says why an image or a blob is kept (Explain).
type Explanation struct {
	IsBlob bool   // false: an image
	Digest string // the image ID or the blob digest
	Size   int64  // the image's size, or the blob's
	// For an image: its names, its pin, whether it is dangling (kept only
	// by its digest reference) and the containers holding it.
	Names      []string
	Pinned     bool
	Dangling   bool
	Containers []Container
	// For a blob: the images using it ("ns/sha256:<id>", every namespace)
	// and the leases holding it ("ns/lease", "(expired)" appended when
	// expired).
	Images []string
	Leases []string
}

// Problem is a finding of Check. Category is a stable word
// ("count_drift", ...), Subject names the key involved. A finding with Info
// is information, not a fault.
type Problem struct {
	Category string
	Subject  string
	Detail   string
	Info     bool
}

// Faults returns the findings of problems that are faults (not Info): none
// means the store is consistent.
func Faults(problems []Problem) []Problem {
	var faults []Problem
	for _, p := range problems {
		if !p.Info {
			faults = append(faults, p)
		}
	}
	return faults
}
