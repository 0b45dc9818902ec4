#!/usr/bin/env python3
"""A store written by format version 1, upgraded by this build.

Usage: upgrade_test.py PATH/TO/refstore

format1/format1-store.tar.gz is a store written by refstore at commit e386627
(format version 1: each image's names inside its image record) from
format1/ops.jsonl (made by format1/gen.py: names tagged at different times, a
name moved between images, digested names, a dangling image, a running
container, a lease, two namespaces). format1/expected.txt is what that build
printed for it: `images -a --digests --no-trunc` and `system df -v` of both
namespaces, two `image prune -a -f --filter until=…` (which select names by
their creation times), `images -a` afterwards, and `check`.

1. A read command on the old store exits 1 with "has format version 1 …
   open it once for writing to upgrade it" and a hint naming
   `system upgrade`, and changes no file.
2. `system upgrade` upgrades it and prints "Format version: 3"; a second run
   does nothing more.
3. The upgraded store prints exactly what format version 1's build printed.
"""
import os
import sys
import tarfile

from clitest import Checker, Refstore, hash_tree, namespace_reads, until_prunes

HERE = os.path.dirname(os.path.abspath(__file__))
AT = "2026-05-01T00:00:00Z"


def main():
    rs = Refstore(sys.argv[1])
    check = Checker("upgrade")
    try:
        store = rs.path("format1")
        with tarfile.open(os.path.join(HERE, "format1", "format1-store.tar.gz")) as tar:
            tar.extractall(store)

        before = hash_tree(store)
        rc, out, err = rs.run(store, "images", "-a")
        check.equal(rc, 1, f"images on a format 1 store exits 1 ({err!r})")
        check.expect("has format version 1; this build reads version 3: open it once for writing "
                     "to upgrade it" in err, f"the error says why: {err!r}")
        check.expect(f"'refstore --store {store} system upgrade' upgrades it" in err,
                     f"the error names the command: {err!r}")
        check.equal(out, "", "nothing on stdout")
        check.equal(hash_tree(store), before, "a read command changed no file")

        rc, out, err = rs.run(store, "system", "upgrade")
        check.equal((rc, out, err), (0, "Format version: 3\n", ""), "system upgrade")
        rc, out, err = rs.run(store, "system", "upgrade")
        check.equal((rc, out, err), (0, "Format version: 3\n", ""), "system upgrade again")

        got = []
        namespace_reads(rs, store, AT, check, got)
        until_prunes(rs, store, AT, check, got)
        rc, out, err = rs.run(store, "images", "-a", at=AT)
        got.append(out + err)
        rc, out, err = rs.run(store, "check")
        check.equal(rc, 0, f"check after the upgrade: {out}{err}")
        got.append(out + err)

        with open(os.path.join(HERE, "format1", "expected.txt")) as f:
            want = f.read()
        check.equal("".join(got), want, "what format version 1's build printed")
    finally:
        rs.cleanup()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
