#!/usr/bin/env python3
"""A full disk, for real (issue 15, item 1): a 20 MiB tmpfs and a 30 MiB
loop-mounted ext4, each filled to 100% with a plain file beside the store.

Usage: full_disk_test.py PATH/TO/refstore

Needs root (mount, losetup) and mkfs.ext4; prints why and exits 0 (skipped)
where it cannot mount. On each filesystem, with a content store holding
seven images of 2 MiB layers:

1. disk full: `rmi` succeeds (exit 0, its Untagged/Deleted lines and the
   reclaimed size) and the filesystem has the layer's space back;
2. disk full again: `image prune -a -f` succeeds and reports the bytes it
   freed, which the filesystem then has;
3. disk full again: `image import` of a new image fails with a clear
   `no space left on device` error (exit 1, never a signal), and the store
   stays usable: `check` is clean, `images` works, `apply` answers every
   line (`{"ok":false,...}` for a write that cannot be made);
4. `gc` and `check` on a full disk exit 0;
5. ext4 only: an rmi whose change commits but whose file deletion fails
   (chattr +i) reports the change and warns; `gc` finishes later;
6. the store's fixed overhead on the small filesystem (its directory without
   the blob files) is printed, and stays under 4 MiB.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

from layout_test_util import Failures, make_layout

REFSTORE = os.path.abspath(sys.argv[1])
CHECK = Failures("full_disk_test")
expect = CHECK.expect
MiB = 1 << 20


def run(store, *args, stdin=""):
    p = subprocess.run([REFSTORE, "--store", store, *args], capture_output=True, text=True,
                       input=stdin)
    return p.returncode, p.stdout, p.stderr


def random_layers(layer_bytes, seed):
    """layer_of for make_layout: `layer_bytes` random bytes per layer."""
    rng = random.Random(seed)
    return lambda tag: rng.randbytes(layer_bytes)


def available(mnt):
    st = os.statvfs(mnt)
    return st.f_bfree * st.f_frsize  # root writes ext4's reserved blocks too


def fill(mnt):
    """Fills the filesystem with files beside the store until a write of one
    byte fails with ENOSPC. Returns whether the disk is full."""
    for i, chunk in enumerate((MiB, 64 * 1024, 4096, 1)):
        with open(os.path.join(mnt, f"fill-{i}"), "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError:
                pass
            try:
                os.fsync(f.fileno())
            except OSError:
                pass
    try:
        with open(os.path.join(mnt, "fill-probe"), "wb", buffering=0) as f:
            f.write(b"\0" * 4096)
            os.fsync(f.fileno())
        return False
    except OSError:
        return True


def fits(mnt, size):
    """Whether a file of `size` bytes can be written now (then removed)."""
    path = os.path.join(mnt, "fits-probe")
    try:
        with open(path, "wb", buffering=0) as f:
            f.write(b"\0" * size)
            os.fsync(f.fileno())
        return True
    except OSError:
        return False
    finally:
        if os.path.exists(path):
            os.unlink(path)


def unfill(mnt):
    for name in os.listdir(mnt):
        if name.startswith("fill-"):
            os.unlink(os.path.join(mnt, name))


def signalled(rc):
    return rc < 0 or rc >= 128


def scenario(mnt, kind):
    store = os.path.join(mnt, "store")
    layout = os.path.join(os.path.dirname(mnt), "layout")  # not on the small filesystem
    shutil.rmtree(layout, ignore_errors=True)
    make_layout(layout, [f"v{i}" for i in range(7)], random_layers(2 * MiB, seed=1))
    rc, out, err = run(store, "--content", "image", "import", layout, "--repository", "demo")
    expect(rc == 0, f"{kind}: import ({rc}): {err}")
    shutil.rmtree(layout)
    overhead = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(store)
                   for f in fs if "/content" not in dp)
    print(f"{kind}: store overhead without blob files: {overhead} bytes "
          f"(RESERVE {os.path.getsize(os.path.join(store, 'RESERVE')) if os.path.exists(os.path.join(store, 'RESERVE')) else 0})")
    expect(overhead < 4 * MiB, f"{kind}: fixed overhead {overhead} bytes")

    # 1. rmi on a full disk.
    expect(fill(mnt), f"{kind}: the disk is full (a 4 KiB write fails)")
    rc, out, err = run(store, "rmi", "demo:v0")
    expect(not signalled(rc), f"{kind}: rmi killed by a signal ({rc}): {err}")
    expect(rc == 0 and "Untagged: demo:v0" in out and "Deleted: sha256:" in out,
           f"{kind}: rmi on a full disk ({rc}): {out!r} {err!r}")
    # 2 MiB freed; the reserve (1 MiB here) is made again first.
    expect(fits(mnt, 512 * 1024), f"{kind}: rmi gave space back (512 KiB fit)")

    # 2. prune -a on a full disk.
    expect(fill(mnt), f"{kind}: the disk is full again")
    before = available(mnt)
    rc, out, err = run(store, "image", "prune", "-a", "-f")
    expect(rc == 0 and "Total reclaimed space:" in out,
           f"{kind}: prune -a on a full disk ({rc}): {out[-200:]!r} {err!r}")
    print(f"{kind}: prune -a on a full disk: {out.strip().splitlines()[-1]}; "
          f"the filesystem has {available(mnt) - before} bytes more free")
    expect(available(mnt) - before >= 10 * MiB,
           f"{kind}: prune gave the space back ({before} -> {available(mnt)} bytes free)")
    rc, out, err = run(store, "images", "--format", "json")
    expect(rc == 0 and out == "", f"{kind}: no image left: {out!r} {err!r}")

    # 3. a write that cannot fit.
    make_layout(layout, ["big"], random_layers(2 * MiB, seed=2))
    expect(fill(mnt), f"{kind}: the disk is full for the import")
    rc, out, err = run(store, "image", "import", layout, "--repository", "demo")
    expect(not signalled(rc), f"{kind}: import killed by a signal ({rc}): {err}")
    expect(rc == 1 and "no space left on device" in err.lower(),
           f"{kind}: import on a full disk ({rc}): {err!r}")
    ops = [{"op": "images"},
           {"op": "create_image", "name": "meta:1",
            "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": "sha256:" + "ab" * 32, "size": 100}, "content": []},
           {"op": "df"}]
    rc, out, err = run(store, "apply", stdin="".join(json.dumps(o) + "\n" for o in ops))
    lines = [json.loads(l) for l in out.splitlines()]
    expect(not signalled(rc) and len(lines) == 3 and lines[0].get("ok") and lines[2].get("ok"),
           f"{kind}: apply answers every line on a full disk ({rc}): {out!r} {err!r}")
    for args in (["gc"], ["check"]):
        rc, out, err = run(store, *args)
        expect(rc == 0, f"{kind}: {args} on a full disk ({rc}): {out[-300:]!r} {err!r}")
    unfill(mnt)
    rc, out, err = run(store, "check")
    expect(rc == 0, f"{kind}: check after ({rc}): {out[-300:]!r}")


def collect_failure(mnt, kind):
    """An rmi whose change commits but whose file deletion fails (the blob
    file made immutable with chattr +i, which stops root too): rmi reports
    the change (exit 0, its lines) and warns; the retry is `No such image`;
    `gc` deletes the file once it can."""
    if shutil.which("chattr") is None:
        print(f"{kind}: collection failure part skipped: no chattr")
        return
    store = os.path.join(mnt, "store2")
    layout = os.path.join(os.path.dirname(mnt), "layout2")
    shutil.rmtree(layout, ignore_errors=True)
    make_layout(layout, ["v1"], random_layers(64 * 1024, seed=3))
    rc, out, err = run(store, "--content", "image", "import", layout, "--repository", "imm")
    expect(rc == 0, f"{kind}: import ({rc}): {err}")
    blobs = os.path.join(store, "content", "blobs", "sha256")
    big = max(os.listdir(blobs), key=lambda h: os.path.getsize(os.path.join(blobs, h)))
    path = os.path.join(blobs, big)
    if subprocess.run(["chattr", "+i", path]).returncode:
        print(f"{kind}: collection failure part skipped: chattr +i refused")
        return
    try:
        rc, out, err = run(store, "rmi", "imm:v1")
        expect(rc == 0 and "Untagged: imm:v1" in out and "Deleted: sha256:" in out,
               f"{kind}: rmi reports its committed change ({rc}): {out!r} {err!r}")
        expect("WARNING: the change is made; deleting freed files failed" in err,
               f"{kind}: rmi warns that the collection failed: {err!r}")
        rc, out, err = run(store, "rmi", "imm:v1")
        expect(rc == 1 and "No such image: imm:v1" in err, f"{kind}: the retry ({rc}): {err!r}")
        rc, out, err = run(store, "gc")
        expect(rc != 0 and os.path.exists(path), f"{kind}: gc while the file is immutable ({rc})")
    finally:
        subprocess.run(["chattr", "-i", path])
    rc, out, err = run(store, "gc")
    expect(rc == 0 and not os.path.exists(path), f"{kind}: gc deletes it once it can ({rc}): {err!r}")
    rc, out, err = run(store, "check")
    expect(rc == 0, f"{kind}: check after ({rc}): {out[-300:]!r}")


def lease_collect_failure(mnt, kind):
    """The same for `lease rm`: the lease alone holds a layer whose file is
    immutable; deleting the lease commits (exit 0, the ID printed, the lease
    gone), warns that the collection failed, and `gc` finishes later."""
    if shutil.which("chattr") is None:
        print(f"{kind}: lease collection failure part skipped: no chattr")
        return
    store = os.path.join(mnt, "store3")
    layout = os.path.join(os.path.dirname(mnt), "layout3")
    shutil.rmtree(layout, ignore_errors=True)
    make_layout(layout, ["v1"], random_layers(64 * 1024, seed=5))
    rc, out, err = run(store, "--content", "image", "import", layout, "--repository", "lse")
    expect(rc == 0, f"{kind}: import ({rc}): {err}")
    blobs = os.path.join(store, "content", "blobs", "sha256")
    big = max(os.listdir(blobs), key=lambda h: os.path.getsize(os.path.join(blobs, h)))
    path = os.path.join(blobs, big)
    size = os.path.getsize(path)
    for args in (["lease", "create", "hold"],
                 ["lease", "add", "hold", f"sha256:{big}:{size}"],
                 ["rmi", "lse:v1"]):
        rc, out, err = run(store, *args)
        expect(rc == 0, f"{kind}: {args} ({rc}): {err!r}")
    expect(os.path.exists(path), f"{kind}: the lease keeps the layer's file")
    if subprocess.run(["chattr", "+i", path]).returncode:
        print(f"{kind}: lease collection failure part skipped: chattr +i refused")
        return
    try:
        rc, out, err = run(store, "lease", "rm", "hold")
        expect(rc == 0 and "hold" in out.splitlines(),
               f"{kind}: lease rm reports its committed change ({rc}): {out!r} {err!r}")
        expect("WARNING: the change is made; deleting freed files failed" in err,
               f"{kind}: lease rm warns that the collection failed: {err!r}")
        rc, out, err = run(store, "lease", "ls", "-q")
        expect(rc == 0 and "hold" not in out, f"{kind}: the lease is gone ({rc}): {out!r}")
    finally:
        subprocess.run(["chattr", "-i", path])
    rc, out, err = run(store, "gc")
    expect(rc == 0 and not os.path.exists(path), f"{kind}: gc deletes it once it can ({rc}): {err!r}")
    rc, out, err = run(store, "check")
    expect(rc == 0, f"{kind}: check after ({rc}): {out[-300:]!r}")


def main():
    if os.geteuid() != 0:
        print("full_disk_test: skipped: needs root to mount tmpfs and ext4")
        return 0
    if shutil.which("mkfs.ext4") is None or shutil.which("losetup") is None:
        print("full_disk_test: skipped: needs mkfs.ext4 and losetup")
        return 0
    base = tempfile.mkdtemp(prefix="refstore-fulldisk-")
    try:
        mnt = os.path.join(base, "tmpfs")
        os.makedirs(mnt)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", mnt]).returncode:
            print("full_disk_test: skipped: cannot mount a tmpfs here")
            return 0
        try:
            scenario(mnt, "tmpfs 20 MiB")
        finally:
            subprocess.run(["umount", mnt])
        image = os.path.join(base, "ext4.img")
        with open(image, "wb") as f:
            f.truncate(30 * MiB)
        subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True)
        mnt = os.path.join(base, "ext4")
        os.makedirs(mnt)
        if subprocess.run(["mount", "-o", "loop", image, mnt]).returncode:
            print("full_disk_test: ext4 part skipped: cannot loop-mount here")
        else:
            try:
                scenario(mnt, "ext4 30 MiB")
                collect_failure(mnt, "ext4 30 MiB")
                lease_collect_failure(mnt, "ext4 30 MiB")
            finally:
                subprocess.run(["umount", mnt])
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return CHECK.finish()


if __name__ == "__main__":
    sys.exit(main())
