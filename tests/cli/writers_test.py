#!/usr/bin/env python3
"""Two writers, with real processes (issue 15, item 3).

Usage: writers_test.py PATH/TO/refstore

1. While one `refstore apply` holds a store open (fed from a pipe), every
   writing command of a second process (rmi, image prune -a -f, gc, apply,
   tag) fails at once with exit status 3 and
   `refstore: cannot open store S: store is in use by another process: S`,
   and changes nothing.
2. `--wait-lock 10s` waits: it succeeds once the holder exits. A wait that
   runs out (`--wait-lock 300ms`) exits 3 after at least that long.
3. A read-only command on a store whose creator holds the lock before the
   store exists (here: the test process holds an fcntl lock on S/LOCK) exits
   3 with `store is being created by another process: S`, and creates
   nothing.
4. A malformed --wait-lock is a usage error (125).
"""
import fcntl
import json
import os
import subprocess
import sys
import time

from clitest import CONFIG, LAYER, MANIFEST, Checker, Refstore, desc


def create(name, n):
    return {"op": "create_image", "name": name,
            "target": desc(MANIFEST, f"w-m{n}", 500),
            "content": [desc(CONFIG, f"w-c{n}", 100), desc(LAYER, f"w-l{n}", 1000)]}


def main():
    rs = Refstore(sys.argv[1])
    check = Checker("writers")
    try:
        store = rs.path("s")
        rs.apply(store, [create("a:1", 1), create("b:1", 2)])

        holder = subprocess.Popen([rs.binary, "--store", store, "apply"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        holder.stdin.write(json.dumps({"op": "images"}) + "\n")
        holder.stdin.flush()
        first = holder.stdout.readline()  # the store is open once it answers
        check.expect(json.loads(first).get("ok"), f"holder answers: {first!r}")

        busy_err = f"refstore: cannot open store {store}: store is in use by another process: {store}\n"
        for args, stdin in ((["rmi", "a:1"], None), (["image", "prune", "-a", "-f"], None),
                            (["gc"], None), (["tag", "a:1", "c:1"], None),
                            (["apply"], json.dumps({"op": "rmi", "ref": "a:1"}) + "\n")):
            rc, out, err = rs.run(store, *args, stdin=stdin)
            check.equal((rc, out, err), (3, "", busy_err), f"{args} beside a writer")

        start = time.monotonic()
        rc, out, err = rs.run(store, "rmi", "a:1", extra_global=["--wait-lock", "300ms"])
        waited = time.monotonic() - start
        check.equal((rc, err), (3, busy_err), "--wait-lock 300ms runs out")
        check.expect(waited >= 0.3, f"--wait-lock 300ms waited {waited:.3f} s")

        waiter = subprocess.Popen([rs.binary, "--store", store, "--wait-lock", "10s", "rmi", "a:1"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        check.expect(waiter.poll() is None, "the waiter waits while the store is held")
        holder.stdin.close()
        holder.wait(timeout=30)
        out, err = waiter.communicate(timeout=30)
        check.equal((waiter.returncode, out.splitlines()[:1]), (0, ["Untagged: a:1"]),
                    f"--wait-lock 10s succeeds once the holder exits ({err})")
        rc, out, err = rs.run(store, "images", "--format", "json")
        names = sorted(f'{json.loads(l)["Repository"]}:{json.loads(l)["Tag"]}' for l in out.splitlines())
        check.equal(names, ["b:1"], "only the waiter's rmi happened")

        # Refused writers leave no files behind (RocksDB's open would write
        # and rotate its info LOG before taking the lock).
        holder = subprocess.Popen([rs.binary, "--store", store, "apply"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        holder.stdin.write(json.dumps({"op": "images"}) + "\n")
        holder.stdin.flush()
        holder.stdout.readline()
        # (The holder's own compactions change table files meanwhile: only
        # the info logs, which a refused open would write, are compared.)
        def logs():
            return sorted(f for f in os.listdir(store) if f.startswith("LOG"))
        files = logs()
        for _ in range(20):
            rs.run(store, "rmi", "b:1")
        check.equal(logs(), files, "20 refused writers leave no info log files")
        holder.stdin.close()
        holder.wait(timeout=30)
        for _ in range(12):
            rs.run(store, "rmi", "zzz")
        check.expect(set(logs()) <= {"LOG", "LOG.old"}, f"info logs after 12 opens: {logs()}")

        # A store being created: its creator holds LOCK before CURRENT exists.
        creating = rs.path("creating")
        os.makedirs(creating)
        with open(os.path.join(creating, "LOCK"), "w") as lock:
            fcntl.lockf(lock, fcntl.LOCK_EX)
            before = sorted(os.listdir(creating))
            rc, out, err = rs.run(creating, "images")
            check.equal((rc, err), (3, f"refstore: cannot open store {creating}: store is being "
                                       f"created by another process: {creating}\n"),
                        "a reader of a store being created")
            rc, out, err = rs.run(creating, "rmi", "x")
            check.equal(rc, 3, f"a writer of a store being created ({err})")
            check.equal(sorted(os.listdir(creating)), before, "a refused open creates nothing")

        rc, out, err = rs.run(store, "images", extra_global=["--wait-lock", "soon"])
        check.equal(rc, 125, f"a malformed --wait-lock ({err})")
    finally:
        rs.cleanup()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
