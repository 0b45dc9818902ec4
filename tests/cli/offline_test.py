#!/usr/bin/env python3
"""Offline inspection: read commands never write a byte, and work while
another process is writing to the store.

Usage: offline_test.py PATH/TO/refstore

1. Idle store: every file of the store is hashed before and after each read
   command (image ls, images, image inspect, system df [-v], explain, check,
   stats, container ls, lease ls, image prune --dry-run, and any command
   under --read-only); the
   hashes (and the set of files and directories) must not change. A
   changing command under --read-only fails and changes nothing; a read
   command on a missing store fails without creating it.
2. Live store: a second process (`refstore --store S apply`, fed
   create_image lines slowly from a pipe) holds the store open and writes
   to it; every read command must succeed (exit 0) with sane output.
"""
import json
import os
import subprocess
import sys
import threading
import time

from clitest import GOLDEN_NOW, LAYER, MANIFEST, Checker, Refstore, desc, digest, hash_tree

READ_COMMANDS = [
    ["image", "ls"],
    ["images", "--digests", "--format", "json"],
    ["image", "ls", "--filter", "dangling=true", "-q"],
    ["image", "inspect", "alpine:3.18", "myapp:1.0"],
    ["system", "df"],
    ["system", "df", "-v"],
    ["explain", "alpine:3.18"],
    ["explain", digest("l-base")],
    ["check"],
    ["check", "--json"],
    ["stats"],
    ["stats", "--format", "json"],
    ["container", "ls", "-a"],
    ["lease", "ls"],
    ["image", "prune", "-a", "--dry-run"],
]


def sane(args, out):
    """A light check that `out` is what `args` prints."""
    name = " ".join(args)
    if "--format" in args or args == ["check", "--json"]:
        for line in out.splitlines():
            json.loads(line)
        return bool(out.strip())
    if args[:2] == ["image", "ls"] and "-q" not in args:
        return out.startswith("REPOSITORY")
    if args[0] == "system":
        return out.startswith("TYPE") or out.startswith("Images space usage:")
    if args[0] == "image" and args[1] == "inspect":
        return json.loads(out)[0]["Id"].startswith("sha256:")
    if args[0] == "explain":
        return " is kept by" in out
    if args == ["check"]:
        return out.endswith(" notes\n")
    if args == ["stats"]:
        return "COLUMN FAMILY" in out
    if args[:2] == ["image", "prune"]:
        return "Total reclaimable space: " in out and out.endswith(" (dry run)\n")
    if args[0] in ("container", "lease"):
        return out.split("\n")[0].split()[0] in ("CONTAINER", "LEASE")
    return name != ""


def main():
    binary = sys.argv[1]
    check = Checker("offline_test")
    rs = Refstore(binary)
    try:
        # --- 1. idle store ----------------------------------------------------
        store = rs.golden_store("idle")
        for args in READ_COMMANDS + [["--read-only", "image", "ls"],
                                     ["--read-only", "system", "df", "-v"]]:
            before = hash_tree(store)
            rc, out, err = rs.run(store, *args, at=GOLDEN_NOW)
            after = hash_tree(store)
            check.expect(rc == 0, f"idle {args}: exit {rc}: {err}")
            check.expect(sane([a for a in args if a != "--read-only"], out),
                         f"idle {args}: output {out[:300]!r}")
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            check.expect(not changed, f"idle {args}: the store changed: {changed}")

        # Changing commands under --read-only fail and change nothing.
        for args in (["rmi", "edge:999k"], ["image", "prune", "-a", "-f"],
                     ["tag", "alpine:3.18", "x:1"], ["lease", "rm", "pull-1"]):
            before = hash_tree(store)
            rc, out, err = rs.run(store, "--read-only", *args, at=GOLDEN_NOW)
            after = hash_tree(store)
            check.expect(rc == 1 and "read-only" in err,
                         f"--read-only {args}: exit {rc}, stderr {err!r}")
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            check.expect(not changed, f"--read-only {args}: the store changed: {changed}")

        # A read command on a missing store does not create it.
        missing = rs.path("missing")
        rc, out, err = rs.run(missing, "image", "ls")
        check.expect(rc == 1 and not os.path.exists(missing),
                     f"missing store: exit {rc}, created: {os.path.exists(missing)}: {err!r}")

        # --- 2. live store: another process writes ------------------------------
        live = rs.golden_store("live")
        writer = subprocess.Popen([binary, "--store", live, "apply"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        acked = []
        stop = threading.Event()

        def feed():
            i = 0
            while not stop.is_set():
                op = {"op": "create_image", "name": f"live:{i}",
                      "target": desc(MANIFEST, f"m-live-{i}", 1000),
                      "content": [desc(LAYER, f"l-live-{i}", 5000 + i)]}
                writer.stdin.write(json.dumps(op) + "\n")
                writer.stdin.flush()
                acked.append(writer.stdout.readline())
                i += 1
                time.sleep(0.05)
            writer.stdin.close()

        t = threading.Thread(target=feed)
        t.start()
        try:
            time.sleep(0.5)  # the writer has the store open and has written
            for rnd in range(2):
                for args in READ_COMMANDS:
                    rc, out, err = rs.run(live, *args, at=GOLDEN_NOW)
                    check.expect(rc == 0, f"live {args}: exit {rc}: {err}")
                    if rc == 0:
                        try:
                            ok = sane(args, out)
                        except (ValueError, KeyError, IndexError):
                            ok = False
                        check.expect(ok, f"live {args}: output {out[:300]!r}")
            # The reader sees the writer's acknowledged images (a secondary
            # follows the primary's log when it opens).
            n_acked = len(acked)
            rc, out, err = rs.run(live, "image", "ls", "-q", "--filter", "reference=live:*")
            check.expect(rc == 0 and len(out.split()) >= n_acked - 1 and n_acked > 0,
                         f"live: {len(out.split())} live images seen, {n_acked} acknowledged: {err}")
        finally:
            stop.set()
            t.join()
            writer.wait(timeout=60)
        check.equal(writer.returncode, 0, "live writer exit status")
        check.expect(all(json.loads(a).get("ok") for a in acked if a.strip()),
                     "live writer: every operation acknowledged ok")
        rc, out, err = rs.run(live, "check")
        check.expect(rc == 0, f"live store consistent afterwards: {out} {err}")
    finally:
        rs.cleanup()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
