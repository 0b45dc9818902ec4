#!/usr/bin/env python3
"""refstore's verbs beyond docker, end to end.

Usage: beyond_docker_test.py PATH/TO/refstore

- `image prune --dry-run` prints exactly the entries and bytes the real run
  then prints (text and --format json), and changes nothing;
- `image prune --keep N`, `--filter reference=<glob>`, `--filter
  unused-for=<duration>`, `--max-storage SIZE`;
- `image ls --last-used`;
- `image pin` / `image unpin`;
- `explain` for an image and a blob;
- `system df -v`: SHARED SIZE + UNIQUE SIZE = SIZE per image and in total,
  and RECLAIMABLE = what `prune -a` then frees, exactly (expired lease
  content included);
- `stats`;
- global `--at`, `--namespace`.
"""
import json
import sys

from clitest import CONFIG, LAYER, MANIFEST, Checker, Refstore, desc, digest

NOW = "2026-03-01T00:00:00Z"


def image(name, key, created, layers=(), labels=None, own_layer=100000):
    """create_image for `name` with a manifest and config of its own, an own
    layer of `own_layer` bytes, and the shared `layers` ((key, size) pairs)."""
    content = [desc(CONFIG, "c-" + key, 1000), desc(LAYER, "l-" + key, own_layer)]
    content += [desc(LAYER, k, s) for k, s in layers]
    op = {"op": "create_image", "target": desc(MANIFEST, "m-" + key, 1000), "content": content,
          "at": created}
    if name:
        op["name"] = name
    if labels:
        op["labels"] = labels
    return op


# app: four versions, lib: two, base layer shared by all of app.
STORE = [
    image("app:v1", "app1", "2026-02-01T00:00:00Z", [("l-base", 2000000)]),
    image("app:v2", "app2", "2026-02-05T00:00:00Z", [("l-base", 2000000)]),
    image("app:v3", "app3", "2026-02-10T00:00:00Z", [("l-base", 2000000)]),
    image("app:v4", "app4", "2026-02-20T00:00:00Z", [("l-base", 2000000)]),
    image("lib:1", "lib1", "2026-01-01T00:00:00Z", own_layer=300000),
    image("lib:2", "lib2", "2026-02-25T00:00:00Z", own_layer=300000),
    image(None, "dangling", "2026-01-15T00:00:00Z", own_layer=50000),
    # app:v1 was run recently: used at 2026-02-28.
    {"op": "container_create", "id": "e" * 64, "image": "app:v1", "at": "2026-02-28T00:00:00Z"},
    {"op": "container_rm", "id": "e" * 64, "at": "2026-02-28T01:00:00Z"},
    # Content in flight: a live lease and an expired one.
    {"op": "lease_create", "id": "live", "at": "2026-02-27T00:00:00Z"},
    {"op": "lease_add", "id": "live", "content": [desc(LAYER, "l-live", 7000)],
     "at": "2026-02-27T00:00:00Z"},
    {"op": "lease_create", "id": "stale", "expires": "2026-02-28T00:00:00Z",
     "at": "2026-02-27T00:00:00Z"},
    {"op": "lease_add", "id": "stale", "content": [desc(LAYER, "l-stale", 40000)],
     "at": "2026-02-27T00:00:00Z"},
]


def entries(json_lines):
    """Entries and summary of `image prune --format json` output."""
    rows = [json.loads(line) for line in json_lines.splitlines() if line.strip()]
    return sorted(json.dumps(r, sort_keys=True) for r in rows[:-1]), rows[-1]


def text_entries(text):
    lines = text.splitlines()
    body = [l for l in lines if l.startswith(("untagged: ", "deleted: "))]
    return sorted(body), [l for l in lines if l.startswith("Total")]


def names(rs, store, *extra):
    rc, out, err = rs.run(store, "image", "ls", "--format", "json", *extra, at=NOW)
    rows = [json.loads(l) for l in out.splitlines()]
    return sorted(f"{r['Repository']}:{r['Tag']}" for r in rows)


def main():
    binary = sys.argv[1]
    check = Checker("beyond_docker_test")
    rs = Refstore(binary)
    try:
        base = rs.path("base")
        rs.apply(base, STORE)
        n = [0]

        def fresh():
            import shutil
            n[0] += 1
            dst = rs.path(f"s{n[0]}")
            shutil.copytree(base, dst)
            return dst

        def run(store, *args, **kw):
            return rs.run(store, *args, at=NOW, **kw)

        # --- dry run == real run -------------------------------------------
        for opts in (["image", "prune"], ["image", "prune", "-a"],
                     ["image", "prune", "-a", "--filter", "until=240h"],
                     ["image", "prune", "-a", "--keep", "1"],
                     ["image", "prune", "-a", "--max-storage", "3MB"],
                     ["image", "prune", "-a", "--filter", "reference=app:*"],
                     ["image", "prune", "-a", "--filter", "unused-for=72h"]):
            store = fresh()
            rc, before_ls, _ = run(store, "image", "ls", "--format", "json")
            rc1, dry, err1 = run(store, *opts, "--dry-run", "--format", "json")
            rc2, dry_text, err2 = run(store, *opts, "--dry-run")
            rc, after_ls, _ = run(store, "image", "ls", "--format", "json")
            check.equal(after_ls, before_ls, f"{opts}: a dry run changes nothing")
            rc3, real, err3 = run(store, *opts, "-f", "--format", "json")
            if not check.expect(rc1 == 0 and rc2 == 0 and rc3 == 0,
                                f"{opts}: exit {rc1} {rc2} {rc3}: {err1} {err3}"):
                continue
            dry_e, dry_sum = entries(dry)
            real_e, real_sum = entries(real)
            check.equal(dry_e, real_e, f"{opts}: dry-run entries = real entries")
            check.equal(dry_sum["SpaceReclaimed"], real_sum["SpaceReclaimed"],
                        f"{opts}: dry-run bytes = real bytes")
            check.equal((dry_sum["DryRun"], real_sum["DryRun"]), (True, False), f"{opts}: DryRun")
            body, total = text_entries(dry_text)
            check.equal(body, sorted(
                ("deleted: " if "Deleted" in json.loads(e) else "untagged: ") +
                list(json.loads(e).values())[0] for e in real_e), f"{opts}: dry-run text entries")
            check.equal(total, [f"Total reclaimable space: {real_sum['TotalReclaimedSpace']} "
                                "(dry run)"], f"{opts}: dry-run text total")
            if real_e:
                check.expect(dry_text.startswith("Would delete Images:\n"),
                             f"{opts}: dry-run header: {dry_text!r}")

        # --- --keep ------------------------------------------------------------
        store = fresh()
        rc, out, err = run(store, "image", "prune", "-a", "-f", "--keep", "2")
        check.equal(rc, 0, f"keep 2: exit ({err})")
        check.equal(names(rs, store), ["app:v3", "app:v4", "lib:1", "lib:2"],
                    "keep 2: two newest of each repository")
        rc, out, err = run(store, "image", "prune", "-a", "-f", "--keep", "-1")
        check.equal(rc, 125, "keep -1: usage error")

        # --- reference=<glob> --------------------------------------------------
        store = fresh()
        rc, out, err = run(store, "image", "prune", "-a", "-f", "--filter", "reference=app:v[12]")
        check.equal(rc, 0, f"reference: exit ({err})")
        check.equal(names(rs, store), ["<none>:<none>", "app:v3", "app:v4", "lib:1", "lib:2"],
                    "reference=app:v[12]: only those")

        # --- --last-used and unused-for -----------------------------------------
        store = fresh()
        rc, out, err = run(store, "image", "ls", "--last-used", "--filter", "reference=app:v1")
        lines = out.splitlines()
        check.expect(len(lines) == 2 and lines[0].split() == [
            "REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "LAST", "USED", "SIZE"],
            f"last used header: {out!r}")
        check.expect(len(lines) == 2 and "4 weeks ago" in lines[1] and "24 hours ago" in lines[1],
                     f"last used: created 4 weeks ago, used 24 hours ago: {out!r}")
        rc, out, err = run(store, "image", "ls", "--format", "json", "--filter", "reference=app:v1")
        row = json.loads(out.splitlines()[0]) if out else {}
        check.equal(row.get("LastUsedAt"), "2026-02-28 00:00:00 +0000 UTC", "LastUsedAt")
        rc, out, err = run(store, "image", "prune", "-a", "-f", "--filter", "unused-for=72h")
        check.equal(rc, 0, f"unused-for: exit ({err})")
        check.equal(names(rs, store), ["app:v1"],
                    "unused-for=72h: only app:v1 (created 4 weeks ago, used 24 hours ago) stays")

        rc, out, err = run(store, "image", "prune", "-a", "-f", "--filter", "unused-for=soon")
        check.equal((rc, err), (1, "Error response from daemon: invalid value for 'unused-for' "
                                   "filter: time: invalid duration \"soon\"\n"),
                    "unused-for=soon")
        rc, out, err = run(store, "image", "prune", "-a", "-f", "--filter", "unused-for=soon",
                           "--filter", "zzz=1")
        check.equal((rc, err), (1, "Error response from daemon: invalid filter 'zzz'\n"),
                    "an unknown key is reported before a bad unused-for value")
        check.equal(names(rs, store), ["app:v1"], "a refused prune changes nothing")

        # --- --max-storage ----------------------------------------------------------
        store = fresh()
        rc, out, err = run(store, "image", "prune", "-a", "-f", "--max-storage", "2.5MB")
        check.equal(rc, 0, f"max-storage: exit ({err})")
        rc, out, err = run(store, "system", "df", "--format", "json")
        df = json.loads(out.splitlines()[0]) if rc == 0 else {}
        check.expect(df.get("SizeBytes", 1 << 62) <= 2500000, f"max-storage: df after {df}")
        kept = names(rs, store)
        check.expect("app:v1" in kept, f"max-storage: the recently used app:v1 stays: {kept}")
        check.expect("lib:1" not in kept, f"max-storage: the least recently used goes: {kept}")
        rc, out, err = run(store, "image", "prune", "-a", "-f", "--max-storage", "lots")
        check.equal(rc, 125, "max-storage lots: usage error")

        # --- pin / unpin ----------------------------------------------------------
        store = fresh()
        rc, out, err = run(store, "image", "pin", "lib:1")
        check.equal((rc, out, err), (0, "", ""), "pin")
        rc, out, err = run(store, "rmi", "lib:1")
        check.equal((rc, err), (1, "Error response from daemon: conflict: unable to remove "
                                   "pinned image lib:1 (must be forced)\n"), "rmi pinned")
        rc, out, err = run(store, "explain", "lib:1")
        check.expect(rc == 0 and "  pin\n" in out, f"explain pinned: {out!r} {err!r}")
        rc, out, err = run(store, "image", "ls", "--format", "json", "--filter",
                           "reference=lib:1")
        check.expect('"Pinned":true' in out, f"ls shows the pin: {out!r}")
        rc, out, err = run(store, "image", "prune", "-a", "-f")
        check.expect("lib:1" in names(rs, store), "prune keeps the pinned image")
        rc, out, err = run(store, "image", "unpin", "lib:1")
        check.equal(rc, 0, f"unpin ({err})")
        rc, out, err = run(store, "image", "prune", "-a", "-f")
        check.expect("lib:1" not in names(rs, store), "prune removes it once unpinned")
        rc, out, err = run(store, "image", "pin", "nope")
        check.equal((rc, err), (1, "Error response from daemon: No such image: nope:latest\n"),
                    "pin missing")

        # --- explain ---------------------------------------------------------------
        store = fresh()
        rc, out, err = run(store, "container", "create", "--id", "f" * 64, "app:v2")
        rc, out, err = run(store, "explain", "app:v2")
        check.equal((rc, err), (0, ""), "explain image")
        check.expect(out.startswith(f"image {digest('m-app2')} (2.102MB) is kept by:\n"),
                     f"explain image header: {out!r}")
        check.expect("  name        app:v2\n" in out and
                     "  container   ffffffffffff (stopped)\n" in out, f"explain image: {out!r}")
        rc, out, err = run(store, "explain", digest("l-base"), "--format", "json")
        doc = json.loads(out) if rc == 0 else {}
        check.equal((doc.get("Kind"), doc.get("SizeBytes")), ("blob", 2000000), "explain blob")
        check.equal(sorted(doc.get("Images", [])),
                    sorted(f"default/{digest('m-app' + str(i))}" for i in range(1, 5)),
                    "explain blob: the images using it")
        rc, out, err = run(store, "explain", digest("l-stale"))
        check.expect(rc == 0 and "lease" in out and "default/stale (expired)" in out,
                     f"explain blob held by an expired lease: {out!r} {err!r}")
        rc, out, err = run(store, "explain", digest("l-nothing"))
        check.expect(rc == 1 and err.startswith("Error response from daemon: "),
                     f"explain unknown: {err!r}")
        rc, out, err = run(store, "explain", "<none>")
        check.expect(rc == 1 and err.startswith("Error response from daemon: "),
                     f"explain bad reference: {err!r}")

        # --- system df -v: exact figures ---------------------------------------------
        store = fresh()
        rc, out, err = run(store, "system", "df", "-v", "--format", "json")
        doc = json.loads(out) if rc == 0 else {}
        check.expect(rc == 0, f"df -v json: {err}")
        for img in doc.get("Images", []):
            check.equal(img["SharedSizeBytes"] + img["UniqueSizeBytes"], img["SizeBytes"],
                        f"df -v: shared + unique = size for {img['ID']}")
        check.equal(doc.get("SharedSizeBytes", 0) + doc.get("UniqueSizeBytes", 0),
                    doc.get("SizeBytes"), "df -v: shared + unique = total")
        rc, out, err = run(store, "system", "df", "--format", "json")
        images_row = json.loads(out.splitlines()[0])
        rc, out, err = run(store, "image", "prune", "-a", "-f", "--format", "json")
        _, summary = entries(out)
        check.equal(images_row["ReclaimableBytes"], summary["SpaceReclaimed"],
                    "df RECLAIMABLE = what prune -a freed (expired lease included)")
        check.equal(doc.get("ReclaimableBytes"), summary["SpaceReclaimed"],
                    "df -v reclaimable = prune -a")
        rc, out, err = run(store, "system", "df", "--format", "json")
        check.equal(json.loads(out.splitlines()[0])["ReclaimableBytes"], 0,
                    "nothing reclaimable after prune -a")

        # --- stats ----------------------------------------------------------------------
        store = fresh()
        rc, out, err = run(store, "stats", "--format", "json")
        doc = json.loads(out) if rc == 0 else {}
        check.expect(rc == 0, f"stats: {err}")
        fams = {f["Name"]: f for f in doc.get("Families", [])}
        check.equal(doc.get("FormatVersion"), "3", "stats format version")
        check.expect({"images", "refs", "blobs", "leases"} <= set(fams), f"stats families {fams}")
        check.equal(fams.get("images", {}).get("Keys"), 7, "stats: 7 image records")
        check.expect(doc.get("DiskBytes", 0) > 0, "stats: size on disk")
        rc, out, err = run(store, "stats")
        check.expect(rc == 0 and "Format version:  3\n" in out and "COLUMN FAMILY" in out,
                     f"stats text: {out!r}")

        # --- --namespace ----------------------------------------------------------------
        store = fresh()
        rc, out, err = run(store, "--namespace", "other", "image", "ls", "-q")
        check.equal((rc, out), (0, ""), "another namespace is empty")
        rc, out, err = run(store, "-n", "other", "tag", "app:v1", "x:1")
        check.equal(rc, 1, "tag across namespaces fails")
    finally:
        rs.cleanup()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
