#!/usr/bin/env python3
"""Repair never destroys what it cannot read (issue 15, item 4), with real
permissions and a real missing directory.

Usage: unreadable_content_test.py PATH/TO/refstore

1. A blob file the user cannot read (mode 000, commands run as an
   unprivileged user with setpriv; skipped with the reason where that is not
   possible): `check` reports `unreadable_file` (not `blob_without_file`),
   `check --repair` fails with `cannot read the file of …` and the image and
   its file are still there.
2. The content directory missing (moved away, as a disk not mounted):
   every command fails with `content store missing at <store>/content`,
   read-only ones create nothing; `check --repair` refuses; with the
   directory back everything works. `check --repair --content-gone` makes a
   new empty one and removes the images whose files are gone.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from layout_test_util import Failures, make_layout

REFSTORE = os.path.abspath(sys.argv[1])
CHECK = Failures("unreadable_content_test")
expect = CHECK.expect


def run(store, *args, user=None):
    cmd = [REFSTORE, "--store", store, *args]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, input="")
    return p.returncode, p.stdout, p.stderr


def names(store):
    rc, out, err = run(store, "images", "--format", "json")
    return sorted(f'{json.loads(l)["Repository"]}:{json.loads(l)["Tag"]}' for l in out.splitlines())


def unreadable_file(base):
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        print("unreadable part skipped: needs root and setpriv to run as another user")
        return
    store = os.path.join(base, "u")
    make_layout(os.path.join(base, "ul"), ["one", "two"], lambda tag: (tag * 5000).encode())
    rc, out, err = run(store, "--content", "image", "import", os.path.join(base, "ul"),
                       "--repository", "app")
    expect(rc == 0, f"import ({rc}): {err}")
    subprocess.run(["chown", "-R", "65534:65534", store], check=True)
    os.chmod(base, 0o755)
    blobs = os.path.join(store, "content", "blobs", "sha256")
    layer = max(os.listdir(blobs), key=lambda h: os.path.getsize(os.path.join(blobs, h)))
    os.chmod(os.path.join(blobs, layer), 0)
    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "ls", os.path.join(store, "content")], capture_output=True, text=True)
    if probe.returncode != 0:
        print(f"unreadable part skipped: user 65534 cannot reach {store}: {probe.stderr.strip()}")
        return
    rc, out, err = run(store, "check", "--json", user=65534)
    doc = json.loads(out) if out.strip() else {}
    cats = sorted({p["category"] for p in doc.get("problems", [])})
    expect(rc != 0 and "unreadable_file" in cats and "blob_without_file" not in cats,
           f"check as a user who cannot read one file ({rc}): {cats} {err!r}")
    rc, out, err = run(store, "check", "--repair", user=65534)
    expect(rc != 0 and "cannot read the file of sha256:" + layer in (out + err),
           f"repair refuses what it cannot read ({rc}): {out[-300:]!r} {err!r}")
    expect(os.path.exists(os.path.join(blobs, layer)), "the unreadable file is still there")
    os.chmod(os.path.join(blobs, layer), 0o644)
    expect(names(store) == ["app:one", "app:two"], f"both images are still there: {names(store)}")
    rc, out, err = run(store, "check")
    expect(rc == 0, f"check once readable ({rc}): {out[-300:]!r}")


def missing_content(base):
    store = os.path.join(base, "m")
    make_layout(os.path.join(base, "ml"), ["one", "two"], lambda tag: (tag * 5000).encode())
    rc, out, err = run(store, "--content", "image", "import", os.path.join(base, "ml"),
                       "--repository", "app")
    expect(rc == 0, f"import ({rc}): {err}")
    content = os.path.join(store, "content")
    away = os.path.join(base, "content-away")
    os.rename(content, away)
    want = f"content store missing at {content}"
    for args in (["images"], ["system", "df"], ["check"], ["rmi", "app:one"],
                 ["image", "prune", "-a", "-f"], ["check", "--repair"], ["gc"]):
        rc, out, err = run(store, *args)
        expect(rc != 0 and want in err, f"{args} without content/ ({rc}): {err!r}")
        expect(not os.path.exists(content), f"{args} created no content/")
    os.rename(away, content)
    expect(names(store) == ["app:one", "app:two"], f"with content/ back: {names(store)}")
    rc, out, err = run(store, "check")
    expect(rc == 0, f"check with content/ back ({rc})")
    rc, out, err = run(store, "check", "--content-gone")
    expect(rc == 125, f"--content-gone needs --repair ({rc}): {err!r}")
    shutil.rmtree(content)
    rc, out, err = run(store, "check", "--repair", "--content-gone")
    expect(os.path.isdir(os.path.join(content, "blobs", "sha256")),
           f"--content-gone makes a new content store ({rc}): {err!r}")
    expect(names(store) == [], f"--content-gone: the images whose files are gone go: {names(store)}")
    rc, out, err = run(store, "check")
    expect(rc == 0, f"check after --content-gone ({rc}): {out[-300:]!r}")


def main():
    base = tempfile.mkdtemp(prefix="refstore-unreadable-")
    try:
        unreadable_file(base)
        missing_content(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return CHECK.finish()


if __name__ == "__main__":
    sys.exit(main())
