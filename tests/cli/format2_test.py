#!/usr/bin/env python3
"""A store written by format version 2, read and upgraded by this build.

Usage: format2_test.py PATH/TO/refstore
       format2_test.py PATH/TO/OLD/refstore --record   (rewrites expected.txt)

format2/format2-store.tar.gz is a store written by refstore at commit 0f53845
(format version 2: media types spelled out in image and blob records) from
format1/ops.jsonl. format2/expected.txt is what that build printed for the
steps below (recorded with --record by that build's binary). Format version 3
writes known media types as one-byte codes and reads version 2's records as
they are, so:

1. Read commands on the version 2 store work without upgrading it, print
   what the version 2 build printed, and change no file.
2. `system upgrade` prints "Format version: 3"; a second run too.
3. After the upgrade the store prints the same; then images created, tagged
   and pruned beside the old records (a new image sharing an old blob
   rewrites its record in the new layout; a media type with no code stays a
   string) print what the version 2 build printed for the same operations,
   and `check` finds nothing wrong.
"""
import hashlib
import json
import os
import sys
import tarfile

from clitest import Checker, Refstore, hash_tree, namespace_reads, until_prunes

HERE = os.path.dirname(os.path.abspath(__file__))
AT = "2026-05-01T00:00:00Z"
M = "application/vnd.docker.distribution.manifest.v2+json"
C = "application/vnd.docker.container.image.v1+json"
L = "application/vnd.oci.image.layer.v1.tar+gzip"
ODD = "application/vnd.example.odd+json"  # no code: stored as a string
# The layer every image of format1/ops.jsonl shares.
BASE = "sha256:" + hashlib.sha256(b"base-layer").hexdigest()


def digest(n):
    return "sha256:" + f"{n:064x}"


def later_ops():
    """Operations run after the upgrade (and, for --record, by the old build)."""
    ops = []
    for i, (name, media) in enumerate((("newer:1", L), ("odd:1", ODD))):
        ops.append({"op": "create_image", "ns": "default", "at": "2026-04-20T08:00:00Z",
                    "name": name,
                    "target": {"mediaType": M, "digest": digest(100 + i), "size": 900 + i},
                    "content": [{"mediaType": C, "digest": digest(200 + i), "size": 400},
                                {"mediaType": L, "digest": BASE, "size": 1000000},
                                {"mediaType": media, "digest": digest(300 + i),
                                 "size": 5000 + i}]})
    ops.append({"op": "tag", "ns": "default", "source": "newer:1", "target": "newer:latest",
                "at": "2026-04-20T09:00:00Z"})
    return ops


def reads(rs, store, got, check):
    namespace_reads(rs, store, AT, check, got)
    rc, out, err = rs.run(store, "image", "inspect", "alpine:3.18", at=AT)
    check.equal(rc, 0, f"inspect: {err}")
    got.append(out + err)


def changes(rs, store, got, check):
    results = rs.apply(store, later_ops())
    got.append("".join(json.dumps(r, sort_keys=True) + "\n" for r in results))
    for name in ("newer:1", "odd:1"):
        rc, out, err = rs.run(store, "image", "inspect", name, at=AT)
        check.equal(rc, 0, f"inspect {name}: {err}")
        got.append(out + err)
    until_prunes(rs, store, AT, check, got)
    rc, out, err = rs.run(store, "images", "-a", "--digests", at=AT)
    got.append(out + err)
    rc, out, err = rs.run(store, "system", "df", at=AT)
    got.append(out + err)
    rc, out, err = rs.run(store, "check")
    check.equal(rc, 0, f"check: {out}{err}")
    got.append(out + err)


def main():
    record = "--record" in sys.argv[2:]
    rs = Refstore(sys.argv[1])
    check = Checker("format2")
    try:
        store = rs.path("format2")
        with tarfile.open(os.path.join(HERE, "format2", "format2-store.tar.gz")) as tar:
            tar.extractall(store)

        before = hash_tree(store)
        first = []
        reads(rs, store, first, check)
        check.equal(hash_tree(store), before, "read commands changed no file")
        got = list(first)
        if not record:
            rc, out, err = rs.run(store, "stats")
            check.expect(rc == 0 and "Format version:  2\n" in out,
                         f"a read-only open leaves version 2: {out}{err}")
            for attempt in ("system upgrade", "system upgrade again"):
                rc, out, err = rs.run(store, "system", "upgrade")
                check.equal((rc, out, err), (0, "Format version: 3\n", ""), attempt)
            again = []
            reads(rs, store, again, check)
            check.equal(again, first, "the upgraded store reads as before")
        changes(rs, store, got, check)

        path = os.path.join(HERE, "format2", "expected.txt")
        if record:
            with open(path, "w") as f:
                f.write("".join(got))
        else:
            with open(path) as f:
                want = f.read()
            check.equal("".join(got), want, "what format version 2's build printed")
    finally:
        rs.cleanup()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
