#!/usr/bin/env python3
"""The prune confirmation prompt and the progress line, with and without a
terminal.

Usage: prompt_test.py PATH/TO/refstore

On a pseudo-terminal (python's pty module): `image prune -a` prints docker's
warning and " [y/N] "; answering "y" prunes; "n", "N", "no" and an empty line
cancel ("image prune has been cancelled", exit 0, nothing removed). Without a
terminal: an empty stdin counts as no, "y" as yes. A progress line ("\\r...
\\x1b[K") appears on stderr for prune, check, gc and import only when stderr is
a terminal; otherwise stderr stays empty.
"""
import os
import select
import subprocess
import sys
import time

from clitest import GOLDEN_NOW, Checker, Refstore

ALL_PROMPT = ("WARNING! This will remove all images without at least one container associated "
              "to them.\r\nAre you sure you want to continue? [y/N] ")


def run_on_pty(cmd, answer=None, timeout=30):
    """Runs `cmd` with stdin, stdout and stderr on one pseudo-terminal. When
    `answer` is given, waits for " [y/N] " and types it. Returns (exit status,
    everything the terminal showed)."""
    master, slave = os.openpty()
    p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    data = b""
    answered = answer is None
    deadline = time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            data += chunk
        if not answered and b" [y/N] " in data:
            os.write(master, answer.encode())
            answered = True
        if not r and p.poll() is not None:
            # Drain what is left, then stop.
            try:
                while select.select([master], [], [], 0.1)[0]:
                    chunk = os.read(master, 4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            break
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    os.close(master)
    return rc, data.decode(errors="replace")


def image_count(rs, store):
    rc, out, err = rs.run(store, "image", "ls", "-q", at=GOLDEN_NOW)
    return len(out.split())


def main():
    binary = sys.argv[1]
    check = Checker("prompt_test")
    rs = Refstore(binary)
    try:
        def cmd(store, *args):
            return [binary, "--store", store, "--at", GOLDEN_NOW] + list(args)

        # On a terminal: "y" prunes.
        store = rs.golden_store("tty-yes")
        before = image_count(rs, store)
        rc, shown = run_on_pty(cmd(store, "image", "prune", "-a"), answer="y\n")
        check.equal(rc, 0, "tty y: exit status")
        check.expect(shown.startswith(ALL_PROMPT), f"tty y: prompt first: {shown!r}")
        check.expect("Deleted Images:\r\n" in shown, f"tty y: pruned: {shown!r}")
        check.expect("Total reclaimed space: 51.3MB\r\n" in shown, f"tty y: total: {shown!r}")
        check.expect("Pruning" in shown and "\r" in shown and "\x1b[K" in shown,
                     f"tty y: progress line: {shown!r}")
        check.expect(image_count(rs, store) < before, "tty y: images removed")

        # On a terminal: "n", "N", "no" and an empty line cancel.
        for answer in ("n\n", "N\n", "no\n", "\n"):
            store = rs.golden_store("tty-no")
            before = image_count(rs, store)
            rc, shown = run_on_pty(cmd(store, "image", "prune", "-a"), answer=answer)
            check.equal(rc, 0, f"tty {answer!r}: exit status")
            check.expect(shown.startswith(ALL_PROMPT), f"tty {answer!r}: prompt: {shown!r}")
            check.expect("image prune has been cancelled" in shown,
                         f"tty {answer!r}: cancelled: {shown!r}")
            check.expect("Deleted Images" not in shown and "Total" not in shown,
                         f"tty {answer!r}: nothing pruned: {shown!r}")
            check.equal(image_count(rs, store), before, f"tty {answer!r}: images kept")

        # On a terminal, the dangling prompt.
        store = rs.golden_store("tty-dangling")
        rc, shown = run_on_pty(cmd(store, "image", "prune"), answer="y\n")
        check.expect(shown.startswith("WARNING! This will remove all dangling images.\r\n"
                                      "Are you sure you want to continue? [y/N] "),
                     f"tty dangling prompt: {shown!r}")
        check.expect("Total reclaimed space: 300kB" in shown, f"tty dangling: {shown!r}")

        # Without a terminal: empty stdin is no, "y" is yes; no progress line.
        store = rs.golden_store("pipe")
        before = image_count(rs, store)
        rc, out, err = rs.run(store, "image", "prune", "-a", stdin="", at=GOLDEN_NOW)
        check.equal((rc, err), (0, "image prune has been cancelled\n"), "pipe empty: cancelled")
        check.equal(image_count(rs, store), before, "pipe empty: images kept")
        rc, out, err = rs.run(store, "image", "prune", "-a", stdin="y\n", at=GOLDEN_NOW)
        check.equal((rc, err), (0, ""), "pipe y: no progress line without a terminal")
        check.expect("Total reclaimed space: 51.3MB\n" in out, f"pipe y: {out!r}")

        # Progress of check, gc and a dry run on a terminal; silent otherwise.
        store = rs.golden_store("progress")
        for args, word in ((["check"], "Checking"), (["gc"], "Collecting"),
                           (["image", "prune", "-a", "--dry-run"], "Pruning (dry run)")):
            rc, shown = run_on_pty(cmd(store, *args))
            check.equal(rc, 0, f"{args} on a terminal: exit status ({shown!r})")
            check.expect(word in shown and "\x1b[K" in shown, f"{args} progress: {shown!r}")
            rc, out, err = rs.run(store, *args, at=GOLDEN_NOW)
            check.equal((rc, err), (0, ""), f"{args} without a terminal: no progress line")
    finally:
        rs.cleanup()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
