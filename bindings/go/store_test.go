package refstore

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// wantCode fails the test unless err matches sentinel (errors.Is).
func wantCode(t *testing.T, what string, err error, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("%s: got error %v (%#v), want one matching %v", what, err, err, sentinel)
	}
}

func TestErrorMatching(t *testing.T) {
	err := error(&Error{Code: CodeNotFound, Message: "No such image: x:1"})
	if !errors.Is(err, ErrNotFound) {
		t.Error("NotFound does not match ErrNotFound")
	}
	if errors.Is(err, ErrInvalidArgument) || errors.Is(err, ErrClosed) {
		t.Error("NotFound matches another sentinel")
	}
	if !errors.Is(err, &Error{Code: CodeNotFound, Message: "No such image: x:1"}) {
		t.Error("an equal *Error does not match")
	}
	if errors.Is(err, &Error{Code: CodeNotFound, Message: "other"}) {
		t.Error("an *Error with another message matches")
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeNotFound || err.Error() != "No such image: x:1" {
		t.Errorf("errors.As: %#v, Error() %q", e, err.Error())
	}
	if ErrConflict != ErrFailedPrecondition {
		t.Error("ErrConflict is not ErrFailedPrecondition")
	}
	if !errors.Is(&Error{Code: CodeFailedPrecondition, Message: "conflict: x"}, ErrConflict) {
		t.Error("FailedPrecondition does not match ErrConflict")
	}
	sentinels := map[Code]error{
		CodeInvalidArgument: ErrInvalidArgument, CodeNotFound: ErrNotFound, CodeAlreadyExists: ErrAlreadyExists,
		CodeResourceExhausted: ErrResourceExhausted, CodeFailedPrecondition: ErrFailedPrecondition,
		CodeAborted: ErrAborted, CodeUnimplemented: ErrUnimplemented, CodeInternal: ErrInternal,
		CodeUnavailable: ErrUnavailable, CodeDataLoss: ErrDataLoss,
	}
	for code, sentinel := range sentinels {
		if !errors.Is(fmt.Errorf("wrapped: %w", &Error{Code: code, Message: "m"}), sentinel) {
			t.Errorf("%v does not match its sentinel", code)
		}
		for other, s := range sentinels {
			if other != code && errors.Is(&Error{Code: code}, s) {
				t.Errorf("%v matches the sentinel of %v", code, other)
			}
		}
		if sentinel.Error() == "" || strings.HasPrefix(code.String(), "Code(") {
			t.Errorf("%v: no text", code)
		}
	}
	if Code(42).String() != "Code(42)" || Code(42).OplogName() != "internal" {
		t.Errorf("unknown code: %s %s", Code(42), Code(42).OplogName())
	}
	if CodeAborted.OplogName() != "conflict" || CodeInvalidArgument.OplogName() != "invalid_argument" {
		t.Error("OplogName")
	}
}

func TestCloseTwiceAndUseAfterClose(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := ctxAt(0)
	calls := map[string]func() error{
		"CreateImage": func() error { _, err := s.CreateImage(ctx, testImage("a:1", "a")); return err },
		"Tag":         func() error { return s.Tag(ctx, "a:1", "a:2") },
		"Pin":         func() error { return s.Pin(ctx, "a:1") },
		"Unpin":       func() error { return s.Unpin(ctx, "a:1") },
		"RemoveImage": func() error { _, err := s.RemoveImage(ctx, "a:1", false); return err },
		"Prune":       func() error { _, err := s.Prune(ctx, PruneOptions{}); return err },
		"CreateContainer": func() error {
			_, err := s.CreateContainer(ctx, containerID("c"), "a:1", false, "")
			return err
		},
		"StartContainer":  func() error { return s.StartContainer(ctx, containerID("c")) },
		"StopContainer":   func() error { return s.StopContainer(ctx, containerID("c")) },
		"RemoveContainer": func() error { return s.RemoveContainer(ctx, containerID("c")) },
		"ListContainers":  func() error { _, err := s.ListContainers(ctx); return err },
		"CreateLease":     func() error { return s.CreateLease(ctx, "l", time.Time{}) },
		"AddLeaseContent": func() error { return s.AddLeaseContent(ctx, "l", nil) },
		"DeleteLease":     func() error { _, err := s.DeleteLease(ctx, "l"); return err },
		"ListLeases":      func() error { _, err := s.ListLeases(ctx); return err },
		"WriteBlob": func() error {
			return s.WriteBlob(ctx, "l", Descriptor{layerType, digestOf(nil), 0}, nil)
		},
		"ListImages": func() error { _, err := s.ListImages(ctx, ListOptions{}); return err },
		"Inspect":    func() error { _, err := s.Inspect(ctx, "a:1"); return err },
		"DiskUsage":  func() error { _, err := s.DiskUsage(ctx); return err },
		"Explain":    func() error { _, err := s.Explain(ctx, "a:1"); return err },
		"Check":      func() error { _, err := s.Check(t0, true); return err },
		"Collect":    func() error { _, err := s.Collect(); return err },
		"ApplyJSON":  func() error { _, err := s.ApplyJSON([]byte(`{"op":"df"}`), t0); return err },
	}
	for name, call := range calls {
		if err := call(); err != ErrClosed {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if s.HasContentStore() {
		t.Error("HasContentStore after Close: true")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "db")
	_, err := Open(path, Options{DontCreate: true})
	wantCode(t, "Open DontCreate of a missing store", err, ErrInvalidArgument)

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, Options{})
	wantCode(t, "a second Open of an open store", err, ErrUnavailable)
	if !strings.Contains(err.Error(), "in use") {
		t.Errorf("message %q", err)
	}
	mustCreate(t, s, ctxAt(0), testImage("alpine:3.18", "a", desc(layerType, "l1", 3000)))
	s.Close()

	ro, err := Open(path, Options{ReadOnly: true, DontCreate: true})
	if err != nil {
		t.Fatalf("read-only Open: %v", err)
	}
	defer ro.Close()
	if images, err := ro.ListImages(ctxAt(0), ListOptions{All: true}); err != nil || len(images) != 1 {
		t.Fatalf("read-only ListImages: %v %v", images, err)
	}
	_, err = ro.CreateImage(ctxAt(0), testImage("b:1", "b"))
	wantCode(t, "CreateImage on a read-only store", err, ErrFailedPrecondition)
	_, err = ro.RemoveImage(ctxAt(0), "alpine:3.18", true)
	wantCode(t, "RemoveImage on a read-only store", err, ErrConflict)

	_, err = Open(path+"\x00x", Options{})
	wantCode(t, "Open of a path with NUL", err, ErrInvalidArgument)
}

func TestCreateInspectListImages(t *testing.T) {
	s := openTestStore(t, Options{})
	layer := desc(layerType, "layer", 3000000)
	req := testImage("alpine:3.18", "alpine", layer)
	req.Labels = map[string]string{"tier": "base", "org": "x"}
	req.Created = t0.Add(-time.Hour)
	id := mustCreate(t, s, ctxAt(0), req)
	if id != req.Target.Digest {
		t.Fatalf("ID %s, want the target's digest %s", id, req.Target.Digest)
	}
	dangling := mustCreate(t, s, ctxAt(time.Minute), testImage("", "dangling", layer))

	d, err := s.Inspect(ctxAt(time.Hour), "alpine:3.18")
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != id || len(d.Names) != 1 || d.Names[0] != "alpine:3.18" || d.Target != req.Target ||
		len(d.Content) != 2 || d.Size != 1000+500+3000000 || d.Labels["tier"] != "base" ||
		!d.Created.Equal(t0.Add(-time.Hour)) || d.Created.Location() != time.UTC ||
		len(d.ContainerIDs) != 0 || d.Pinned || d.Containers != 0 {
		t.Errorf("Inspect: %+v", d)
	}
	if len(d.RepoDigests) != 1 || d.RepoDigests[0] != "alpine@"+id {
		t.Errorf("RepoDigests %v", d.RepoDigests)
	}
	if d.SharedSize != 3000000 || d.UniqueSize != 1500 {
		t.Errorf("shared %d unique %d", d.SharedSize, d.UniqueSize)
	}
	// Inspect by short ID.
	if d2, err := s.Inspect(ctxAt(0), id[7:19]); err != nil || d2.ID != id {
		t.Errorf("Inspect by short ID: %v %v", d2.ID, err)
	}

	all, err := s.ListImages(ctxAt(0), ListOptions{All: true})
	if err != nil || len(all) != 2 {
		t.Fatalf("ListImages All: %v %v", all, err)
	}
	if all[0].ID != dangling || all[1].ID != id { // newest first
		t.Errorf("order: %s %s", all[0].ID, all[1].ID)
	}
	if len(all[0].Names) != 0 || all[0].Names == nil {
		t.Errorf("dangling names %#v", all[0].Names)
	}
	hidden, err := s.ListImages(ctxAt(0), ListOptions{})
	if err != nil || len(hidden) != 1 || hidden[0].ID != id {
		t.Errorf("ListImages (docker images): %v %v", hidden, err)
	}
	filtered, err := s.ListImages(ctxAt(0), ListOptions{All: true, Filters: map[string][]string{"label": {"tier=base"}}})
	if err != nil || len(filtered) != 1 || filtered[0].ID != id {
		t.Errorf("ListImages label: %v %v", filtered, err)
	}
	_, err = s.ListImages(ctxAt(0), ListOptions{Filters: map[string][]string{"bogus": {"1"}}})
	wantCode(t, "ListImages bogus filter", err, ErrInvalidArgument)
	_, err = s.ListImages(ctxAt(0), ListOptions{Filters: map[string][]string{"since": {"nosuch:1"}}})
	wantCode(t, "ListImages since=nosuch", err, ErrNotFound)

	_, err = s.Inspect(ctxAt(0), "nosuch:1")
	wantCode(t, "Inspect nosuch", err, ErrNotFound)
	if err.Error() != "No such image: nosuch:1" {
		t.Errorf("message %q", err)
	}
	_, err = s.Inspect(ctxAt(0), "")
	wantCode(t, "Inspect blank", err, ErrInvalidArgument)

	bad := testImage("x:1", "x")
	bad.Target.Digest = "sha256:1234"
	_, err = s.CreateImage(ctxAt(0), bad)
	wantCode(t, "CreateImage bad digest", err, ErrInvalidArgument)
	withLease := testImage("y:1", "y")
	withLease.Lease = "nosuch"
	_, err = s.CreateImage(ctxAt(0), withLease)
	wantCode(t, "CreateImage absent lease", err, ErrNotFound)
}

func TestTagPinRemove(t *testing.T) {
	s := openTestStore(t, Options{})
	ctx := ctxAt(0)
	layer := desc(layerType, "layer", 3000000)
	id := mustCreate(t, s, ctx, testImage("alpine:3.18", "alpine", layer))
	if err := s.Tag(ctx, "alpine:3.18", "alpine:latest"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "Tag nosuch", s.Tag(ctx, "nosuch:1", "x:1"), ErrNotFound)
	wantCode(t, "Tag to a digest", s.Tag(ctx, "alpine:3.18", "x@"+id), ErrInvalidArgument)

	r, err := s.RemoveImage(ctx, "alpine:latest", false)
	if err != nil || len(r.Deleted) != 1 || r.Deleted[0] != (DeleteEntry{Untagged, "alpine:latest"}) || r.SpaceReclaimed != 0 {
		t.Fatalf("rmi of one of two names: %+v %v", r, err)
	}

	if err := s.Pin(ctx, "alpine:3.18"); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Inspect(ctx, id); !d.Pinned {
		t.Error("not pinned")
	}
	_, err = s.RemoveImage(ctx, "alpine:3.18", false)
	wantCode(t, "rmi of a pinned image", err, ErrConflict)
	if p, err := s.Prune(ctx, PruneOptions{All: true}); err != nil || len(p.Deleted) != 0 {
		t.Errorf("prune of a pinned image: %+v %v", p, err)
	}
	if err := s.Unpin(ctx, "alpine:3.18"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "Pin nosuch", s.Pin(ctx, "nosuch:1"), ErrNotFound)

	r, err = s.RemoveImage(ctx, "alpine:3.18", false)
	if err != nil {
		t.Fatal(err)
	}
	want := []DeleteEntry{{Untagged, "alpine:3.18"}, {Deleted, id}}
	if len(r.Deleted) != len(want) || r.Deleted[0] != want[0] || r.Deleted[1] != want[1] {
		t.Errorf("rmi: %+v", r.Deleted)
	}
	if r.SpaceReclaimed != 1000+500+3000000 || r.Collected != (CollectResult{}) {
		t.Errorf("rmi: reclaimed %d, collected %+v", r.SpaceReclaimed, r.Collected)
	}
	if Untagged.String() != "Untagged" || Deleted.String() != "Deleted" {
		t.Error("DeleteKind.String")
	}
	_, err = s.RemoveImage(ctx, "alpine:3.18", false)
	wantCode(t, "rmi twice", err, ErrNotFound)
	if err.Error() != "No such image: alpine:3.18" {
		t.Errorf("message %q", err)
	}
	_, err = s.RemoveImage(ctx, "", false)
	wantCode(t, "rmi blank", err, ErrInvalidArgument)
}

func TestContainers(t *testing.T) {
	s := openTestStore(t, Options{})
	ctx := ctxAt(0)
	id := mustCreate(t, s, ctx, testImage("alpine:3.18", "alpine", desc(layerType, "layer", 3000)))
	c1 := containerID("1")
	got, err := s.CreateContainer(ctxAt(time.Minute), c1, "alpine:3.18", false, "web")
	if err != nil || got != id {
		t.Fatalf("CreateContainer: %q %v", got, err)
	}
	_, err = s.CreateContainer(ctx, c1, "alpine:3.18", false, "")
	wantCode(t, "CreateContainer taken ID", err, ErrAlreadyExists)
	_, err = s.CreateContainer(ctx, containerID("2"), "alpine:3.18", false, "web")
	wantCode(t, "CreateContainer taken name", err, ErrAlreadyExists)
	_, err = s.CreateContainer(ctx, containerID("3"), "nosuch:1", false, "")
	wantCode(t, "CreateContainer nosuch image", err, ErrNotFound)
	_, err = s.CreateContainer(ctx, "not-hex", "alpine:3.18", false, "")
	wantCode(t, "CreateContainer bad ID", err, ErrInvalidArgument)

	list, err := s.ListContainers(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListContainers: %v %v", list, err)
	}
	c := list[0]
	if c.ID != c1 || c.ImageID != id || c.Running || !c.ImageExists || c.Name != "web" || !c.Created.Equal(t0.Add(time.Minute)) {
		t.Errorf("container %+v", c)
	}
	if d, _ := s.Inspect(ctx, id); d.Containers != 1 || len(d.ContainerIDs) != 1 || d.ContainerIDs[0] != c1 {
		t.Errorf("Inspect containers: %d %v", d.Containers, d.ContainerIDs)
	}
	_, err = s.RemoveImage(ctx, "alpine:3.18", false)
	wantCode(t, "rmi of an image a container uses", err, ErrConflict)

	if err := s.StartContainer(ctx, c1); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.ListContainers(ctx); !list[0].Running {
		t.Error("not running after start")
	}
	wantCode(t, "RemoveContainer running", s.RemoveContainer(ctx, c1), ErrConflict)
	_, err = s.RemoveImage(ctx, id, true)
	wantCode(t, "rmi -f of an image a running container uses", err, ErrConflict)
	if err := s.StopContainer(ctx, c1); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveContainer(ctx, c1); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "StartContainer nosuch", s.StartContainer(ctx, c1), ErrNotFound)
	wantCode(t, "StopContainer nosuch", s.StopContainer(ctx, c1), ErrNotFound)
	wantCode(t, "RemoveContainer nosuch", s.RemoveContainer(ctx, c1), ErrNotFound)
	if list, err := s.ListContainers(ctx); err != nil || len(list) != 0 || list == nil {
		t.Errorf("ListContainers after remove: %#v %v", list, err)
	}

	// A container whose image was force-removed.
	c2 := containerID("2")
	if _, err := s.CreateContainer(ctx, c2, "alpine:3.18", false, ""); err != nil {
		t.Fatal(err)
	}
	if r, err := s.RemoveImage(ctx, id, true); err != nil || r.Deleted[len(r.Deleted)-1] != (DeleteEntry{Deleted, id}) {
		t.Fatalf("rmi -f of an image a stopped container uses: %+v %v", r, err)
	}
	if list, _ := s.ListContainers(ctx); len(list) != 1 || list[0].ImageExists || list[0].Name != "" {
		t.Errorf("container of a force-removed image: %+v", list)
	}
	problems, err := s.Check(t0, true)
	if err != nil || len(Faults(problems)) != 0 {
		t.Errorf("Check: %+v %v", problems, err)
	}
}

func TestLeases(t *testing.T) {
	s := openTestStore(t, Options{})
	ctx := ctxAt(0)
	layer := desc(layerType, "leased", 700000)
	if err := s.CreateLease(ctx, "pull-1", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateLease(ctx, "pull-2", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "CreateLease taken", s.CreateLease(ctx, "pull-1", time.Time{}), ErrAlreadyExists)
	wantCode(t, "CreateLease bad ID", s.CreateLease(ctx, "bad id", time.Time{}), ErrInvalidArgument)
	wantCode(t, "CreateLease expiry out of range",
		s.CreateLease(ctx, "pull-3", time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)), ErrInvalidArgument)
	if err := s.AddLeaseContent(ctx, "pull-1", []Descriptor{layer}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddLeaseContent(ctx, "pull-1", nil); err != nil {
		t.Fatalf("AddLeaseContent of nothing: %v", err)
	}
	wantCode(t, "AddLeaseContent nosuch", s.AddLeaseContent(ctx, "nosuch", []Descriptor{layer}), ErrNotFound)
	wantCode(t, "AddLeaseContent bad size",
		s.AddLeaseContent(ctx, "pull-2", []Descriptor{{layerType, layer.Digest, 1}}), ErrInvalidArgument)

	leases, err := s.ListLeases(ctx)
	if err != nil || len(leases) != 2 {
		t.Fatalf("ListLeases: %+v %v", leases, err)
	}
	sort.Slice(leases, func(i, j int) bool { return leases[i].ID < leases[j].ID })
	if l := leases[0]; l.ID != "pull-1" || !l.Expires.IsZero() || len(l.Content) != 1 || l.Content[0] != layer || !l.Created.Equal(t0) {
		t.Errorf("lease 1: %+v", l)
	}
	if l := leases[1]; l.ID != "pull-2" || !l.Expires.Equal(t0.Add(time.Hour)) || len(l.Content) != 0 {
		t.Errorf("lease 2: %+v", l)
	}
	if u, _ := s.DiskUsage(ctx); u.Reclaimable != 0 {
		t.Errorf("reclaimable with only leased content: %d", u.Reclaimable)
	}

	r, err := s.DeleteLease(ctx, "pull-1")
	if err != nil || r.SpaceReclaimed != 700000 {
		t.Fatalf("DeleteLease: %+v %v", r, err)
	}
	_, err = s.DeleteLease(ctx, "pull-1")
	wantCode(t, "DeleteLease twice", err, ErrNotFound)
	if err.Error() != "lease pull-1 not found" {
		t.Errorf("message %q", err)
	}

	// An image created under a lease; the expired lease goes with the next
	// prune.
	req := testImage("app:1", "app", layer)
	req.Lease = "pull-2"
	mustCreate(t, s, ctx, req)
	if _, err := s.Prune(ctxAt(2*time.Hour), PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	if leases, _ := s.ListLeases(ctx); len(leases) != 0 {
		t.Errorf("expired lease not dropped by prune: %+v", leases)
	}
}

func TestPrune(t *testing.T) {
	s := openTestStore(t, Options{})
	base := desc(layerType, "base", 1000000)
	old := mustCreate(t, s, ctxAt(0), testImage("", "old", base))
	labelled := testImage("web:1", "web1", base, desc(layerType, "web1", 2000))
	labelled.Labels = map[string]string{"env": "prod"}
	web1 := mustCreate(t, s, ctxAt(time.Hour), labelled)
	web2 := mustCreate(t, s, ctxAt(2*time.Hour), testImage("web:2", "web2", base, desc(layerType, "web2", 3000)))
	db1 := mustCreate(t, s, ctxAt(3*time.Hour), testImage("db:1", "db1", desc(layerType, "db1", 4000)))
	now := ctxAt(24 * time.Hour)

	dry, err := s.Prune(now, PruneOptions{DryRun: true})
	if err != nil || dry.ImagesDeleted != 1 || dry.SpaceReclaimed != 1500 {
		t.Fatalf("dry run dangling: %+v %v", dry, err)
	}
	p, err := s.Prune(now, PruneOptions{})
	if err != nil || p.ImagesDeleted != 1 || p.SpaceReclaimed != 1500 || p.Error != "" {
		t.Fatalf("prune dangling: %+v %v", p, err)
	}
	if p.Deleted[len(p.Deleted)-1] != (DeleteEntry{Deleted, old}) {
		t.Errorf("entries %+v", p.Deleted)
	}

	_, err = s.Prune(now, PruneOptions{All: true, Filters: map[string][]string{"bogus": {"1"}}})
	wantCode(t, "prune bogus filter", err, ErrInvalidArgument)
	if err.Error() != "invalid filter 'bogus'" {
		t.Errorf("message %q", err)
	}
	_, err = s.Prune(now, PruneOptions{All: true, Filters: map[string][]string{"until": {"yesterday"}}})
	wantCode(t, "prune bad until", err, ErrInvalidArgument)
	_, err = s.Prune(now, PruneOptions{All: true, UnusedFor: -time.Hour})
	wantCode(t, "prune negative UnusedFor", err, ErrInvalidArgument)
	_, err = s.Prune(now, PruneOptions{All: true, Keep: -1})
	wantCode(t, "prune negative Keep", err, ErrInvalidArgument)

	deletedIDs := func(p PruneResult) []string {
		var ids []string
		for _, e := range p.Deleted {
			if e.Kind == Deleted {
				ids = append(ids, e.Ref)
			}
		}
		sort.Strings(ids)
		return ids
	}
	sorted := func(ids ...string) []string { sort.Strings(ids); return ids }
	same := func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

	cases := []struct {
		name string
		opts PruneOptions
		want []string
	}{
		{"label", PruneOptions{All: true, Filters: map[string][]string{"label": {"env=prod"}}}, sorted(web1)},
		{"label!", PruneOptions{All: true, Filters: map[string][]string{"label!": {"env"}}}, sorted(web2, db1)},
		{"until", PruneOptions{All: true, Filters: map[string][]string{"until": {"21h30m"}}}, sorted(web1, web2)},
		{"references", PruneOptions{All: true, References: []string{"web:*"}}, sorted(web1, web2)},
		{"keep", PruneOptions{All: true, Keep: 1}, sorted(web1)},
		{"unused for", PruneOptions{All: true, UnusedFor: 21*time.Hour + 30*time.Minute}, sorted(web1, web2)},
		{"max storage 0", PruneOptions{All: true, HasMaxStorage: true, MaxStorage: 0}, sorted(web1, web2, db1)},
		{"max storage ignored", PruneOptions{All: true, MaxStorage: 0}, sorted(web1, web2, db1)},
		{"max storage", PruneOptions{All: true, HasMaxStorage: true, MaxStorage: 1000000 + 3000 + 4000 + 3000}, sorted(web1)},
	}
	for _, c := range cases {
		c.opts.DryRun = true
		p, err := s.Prune(now, c.opts)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := deletedIDs(p); !same(got, c.want) || p.ImagesDeleted != int64(len(c.want)) {
			t.Errorf("%s: deleted %v (%d), want %v", c.name, got, p.ImagesDeleted, c.want)
		}
	}

	u, err := s.DiskUsage(now)
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.Prune(now, PruneOptions{All: true})
	if err != nil || all.ImagesDeleted != 3 || all.SpaceReclaimed != u.Reclaimable {
		t.Fatalf("prune -a: %+v %v (df reclaimable %d)", all, err, u.Reclaimable)
	}
	if images, _ := s.ListImages(now, ListOptions{All: true}); len(images) != 0 {
		t.Errorf("images left: %v", images)
	}
}

func TestDiskUsageExplainCheck(t *testing.T) {
	s := openTestStore(t, Options{})
	ctx := ctxAt(0)
	shared := desc(layerType, "shared", 5000)
	a := mustCreate(t, s, ctx, testImage("a:1", "a", shared))
	mustCreate(t, s, ctx, testImage("b:1", "b", shared))
	if _, err := s.CreateContainer(ctx, containerID("a"), "a:1", true, ""); err != nil {
		t.Fatal(err)
	}
	u, err := s.DiskUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := DiskUsage{TotalCount: 2, Active: 1, Size: 2*1500 + 5000, SharedSize: 5000, UniqueSize: 3000, Reclaimable: 1500}
	if u != want {
		t.Errorf("DiskUsage %+v, want %+v", u, want)
	}

	e, err := s.Explain(ctx, "a:1")
	if err != nil {
		t.Fatal(err)
	}
	if e.IsBlob || e.Digest != a || len(e.Names) != 1 || e.Dangling || len(e.Containers) != 1 || e.Containers[0].ID != containerID("a") || !e.Containers[0].Running {
		t.Errorf("Explain image: %+v", e)
	}
	e, err = s.Explain(ctx, shared.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if !e.IsBlob || e.Size != 5000 || len(e.Images) != 2 || !strings.HasPrefix(e.Images[0], "default/sha256:") {
		t.Errorf("Explain blob: %+v", e)
	}
	_, err = s.Explain(ctx, "nosuch:1")
	wantCode(t, "Explain nosuch", err, ErrNotFound)

	for _, verify := range []bool{false, true} {
		problems, err := s.Check(time.Time{}, verify)
		if err != nil || len(Faults(problems)) != 0 {
			t.Errorf("Check(%v): %+v %v", verify, problems, err)
		}
	}
	_, err = s.Check(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), true)
	wantCode(t, "Check out of range", err, ErrInvalidArgument)
	if c, err := s.Collect(); err != nil || c != (CollectResult{}) {
		t.Errorf("Collect of a metadata store: %+v %v", c, err)
	}
	if s.HasContentStore() {
		t.Error("HasContentStore of a metadata store")
	}
	err = s.WriteBlob(ctx, "l", shared, make([]byte, 5000))
	wantCode(t, "WriteBlob without a content store", err, ErrFailedPrecondition)
}

func TestContentStore(t *testing.T) {
	s := openTestStore(t, Options{ContentStore: true})
	if !s.HasContentStore() {
		t.Fatal("no content store")
	}
	ctx := ctxAt(0)
	blob := func(mediaType, text string) (Descriptor, []byte) {
		data := []byte(text)
		return Descriptor{mediaType, digestOf(data), int64(len(data))}, data
	}
	manifest, manifestBytes := blob(manifestType, `{"schemaVersion":2}`)
	config, configBytes := blob(configType, `{"architecture":"amd64"}`)
	layer, layerBytes := blob(layerType, strings.Repeat("layer bytes ", 1000))
	if err := s.CreateLease(ctx, "pull", time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []struct {
		d    Descriptor
		data []byte
	}{{manifest, manifestBytes}, {config, configBytes}, {layer, layerBytes}} {
		if err := s.WriteBlob(ctx, "pull", b.d, b.data); err != nil {
			t.Fatalf("WriteBlob %s: %v", b.d.MediaType, err)
		}
	}
	wrong := layer
	wrong.Digest = digestOf([]byte("other"))
	wantCode(t, "WriteBlob of bytes with another digest", s.WriteBlob(ctx, "pull", wrong, layerBytes), ErrInvalidArgument)
	wantCode(t, "WriteBlob under no lease", s.WriteBlob(ctx, "nosuch", layer, layerBytes), ErrNotFound)

	missing := testImage("missing:1", "missing")
	_, err := s.CreateImage(ctx, missing)
	wantCode(t, "CreateImage of content not in the store", err, ErrNotFound)

	id := mustCreate(t, s, ctx, CreateImageRequest{Name: "app:1", Target: manifest, Content: []Descriptor{config, layer}, Lease: "pull"})
	if _, err := s.DeleteLease(ctx, "pull"); err != nil {
		t.Fatal(err)
	}
	r, err := s.RemoveImage(ctx, "app:1", false)
	if err != nil {
		t.Fatal(err)
	}
	total := manifest.Size + config.Size + layer.Size
	if r.SpaceReclaimed != total || r.Collected.FilesDeleted != 3 || r.Collected.BytesDeleted != total || r.Collected.Error != "" {
		t.Errorf("rmi %s: %+v", id, r)
	}
	if c, err := s.Collect(); err != nil || c.FilesDeleted != 0 {
		t.Errorf("Collect: %+v %v", c, err)
	}
	if problems, err := s.Check(ctx.Now, true); err != nil || len(Faults(problems)) != 0 {
		t.Errorf("Check: %+v %v", problems, err)
	}
}

func TestContentStoreWithoutCollection(t *testing.T) {
	s := openTestStore(t, Options{ContentStore: true, DontCollectAfterChanges: true})
	ctx := ctxAt(0)
	data := []byte("a layer")
	layer := Descriptor{layerType, digestOf(data), int64(len(data))}
	if err := s.CreateLease(ctx, "pull", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBlob(ctx, "pull", layer, data); err != nil {
		t.Fatal(err)
	}
	r, err := s.DeleteLease(ctx, "pull")
	if err != nil || r.SpaceReclaimed != int64(len(data)) || r.Collected.FilesDeleted != 0 {
		t.Fatalf("DeleteLease: %+v %v", r, err)
	}
	c, err := s.Collect()
	if err != nil || c.FilesDeleted != 1 || c.BytesDeleted != int64(len(data)) {
		t.Errorf("Collect: %+v %v", c, err)
	}
}

func TestNamespacesAndContext(t *testing.T) {
	s := openTestStore(t, Options{})
	teamA := Context{Namespace: "team-a", Now: t0}
	mustCreate(t, s, teamA, testImage("alpine:3.18", "alpine"))
	if images, _ := s.ListImages(ctxAt(0), ListOptions{All: true}); len(images) != 0 {
		t.Errorf("default sees team-a's image: %v", images)
	}
	if images, _ := s.ListImages(teamA, ListOptions{All: true}); len(images) != 1 {
		t.Errorf("team-a: %v", images)
	}
	_, err := s.ListImages(Context{Namespace: "bad ns"}, ListOptions{})
	wantCode(t, "bad namespace", err, ErrInvalidArgument)

	// The zero Context: "default", now.
	before := time.Now().Add(-time.Second)
	mustCreate(t, s, Context{}, testImage("now:1", "now"))
	d, err := s.Inspect(Context{Namespace: "default"}, "now:1")
	if err != nil || d.Created.Before(before.Truncate(time.Second)) || d.Created.After(time.Now()) {
		t.Errorf("zero Context: created %v (%v)", d.Created, err)
	}

	// Times outside int64 nanoseconds, and inside it but outside the times
	// a store keeps.
	for i, when := range []time.Time{
		time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(9223372036, 500000000),
	} {
		_, err := s.ListImages(Context{Now: when}, ListOptions{})
		wantCode(t, "Now "+when.String(), err, ErrInvalidArgument)
		if i == 2 {
			continue // a creation time keeps whole seconds: 2262-04-11T23:47:16Z is kept
		}
		req := testImage("t:1", "t")
		req.Created = when
		_, err = s.CreateImage(ctxAt(0), req)
		wantCode(t, "Created "+when.String(), err, ErrInvalidArgument)
	}
}

func TestNULInStrings(t *testing.T) {
	s := openTestStore(t, Options{})
	ctx := ctxAt(0)
	mustCreate(t, s, ctx, testImage("alpine:3.18", "alpine"))
	// "alpine:3.18\x00x" must not reach C as "alpine:3.18".
	_, err := s.RemoveImage(ctx, "alpine:3.18\x00x", true)
	wantCode(t, "RemoveImage with NUL", err, ErrInvalidArgument)
	wantCode(t, "Tag with NUL", s.Tag(ctx, "alpine:3.18", "x:1\x00"), ErrInvalidArgument)
	_, err = s.ListImages(Context{Namespace: "default\x00x"}, ListOptions{})
	wantCode(t, "namespace with NUL", err, ErrInvalidArgument)
	_, err = s.Prune(ctx, PruneOptions{All: true, Filters: map[string][]string{"label": {"a\x00"}}})
	wantCode(t, "filter with NUL", err, ErrInvalidArgument)
	if images, _ := s.ListImages(ctx, ListOptions{All: true}); len(images) != 1 {
		t.Errorf("images: %v", images)
	}
}

func TestApplyJSON(t *testing.T) {
	s := openTestStore(t, Options{})
	out, err := s.ApplyJSON([]byte(`{"op": "create_image", "name": "alpine:3.18", "target": {"mediaType": "`+manifestType+
		`", "digest": "`+digestOf([]byte("m"))+`", "size": 10}, "content": []}`), t0)
	if err != nil || !strings.HasPrefix(out, `{"ok":true`) || !strings.Contains(out, digestOf([]byte("m"))) {
		t.Fatalf("create_image: %s %v", out, err)
	}
	out, err = s.ApplyJSON([]byte(`{"op": "images"}`), t0)
	if err != nil || !strings.Contains(out, `"created":"2026-01-01T00:00:00Z"`) {
		t.Errorf("images (now = t0): %s %v", out, err)
	}
	for _, line := range []string{``, `not json`, `{"op": "rmi"}`, `{"op": "df", "bogus": 1}`} {
		out, err := s.ApplyJSON([]byte(line), t0)
		if err != nil || !strings.Contains(out, `"code":"invalid_argument"`) || strings.Contains(out, "\n") {
			t.Errorf("ApplyJSON(%q): %s %v", line, out, err)
		}
	}
	out, err = s.ApplyJSON([]byte(`{"op": "rmi", "ref": "nosuch:1"}`), time.Time{})
	if err != nil || out != `{"ok":false,"error":{"code":"not_found","message":"No such image: nosuch:1"}}` {
		t.Errorf("rmi nosuch: %s %v", out, err)
	}
}
