#!/usr/bin/env python3
"""The refstore command's gc, check and image import/adopt verbs, end to end.

Usage: gc_cli_test.py PATH/TO/refstore

Builds an OCI layout with umoci, imports it into a store with a content
store, and checks the commands' output and exit statuses: a clean check exits
0; a deleted blob file makes check exit 1 naming blob_without_file; check
--repair exits 0 and a second check is clean; rmi frees files that gc would
otherwise delete. Exits non-zero on the first failed expectation.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

REFSTORE = sys.argv[1]
failures = 0


def expect(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what, file=sys.stderr)


def run(args, env=None):
    p = subprocess.run(args, capture_output=True, text=True, env=env)
    return p.returncode, p.stdout, p.stderr


def refstore(store, *args, content=True):
    cmd = [REFSTORE, "--store", store] + (["--content"] if content else []) + list(args)
    return run(cmd)


def main():
    tmp = tempfile.mkdtemp(prefix="refstore-cli-")
    env = dict(os.environ, HOME=tmp, TMPDIR=tmp)
    try:
        layout = os.path.join(tmp, "layout")
        hello = os.path.join(tmp, "hello")
        with open(hello, "w") as f:
            f.write("hello\n")
        for cmd in (["umoci", "init", "--layout", layout],
                    ["umoci", "new", "--image", layout + ":base"],
                    ["umoci", "insert"] + (["--rootless"] if os.geteuid() != 0 else []) +
                    ["--image", layout + ":base", "--tag", "v1", hello, "/etc/hello"]):
            rc, out, err = run(cmd, env)
            if rc != 0:
                print("umoci failed (run scripts/setup.sh):", cmd, err, file=sys.stderr)
                return 1
        index = json.load(open(os.path.join(layout, "index.json")))
        digests = {m["annotations"]["org.opencontainers.image.ref.name"]: m["digest"]
                   for m in index["manifests"]}
        store = os.path.join(tmp, "store")

        # import: docker load's lines, exit 0.
        rc, out, err = refstore(store, "image", "import", layout, "--repository", "demo")
        expect(rc == 0, f"import exit {rc}: {err}")
        for tag, digest in digests.items():
            # docker prints the ID only for an image loaded without a name.
            expect(f"Loaded image ID: {digest}\n" not in out, f"import names {digest}: {out!r}")
            expect(f"Loaded image: demo:{tag}\n" in out, f"import names demo:{tag}: {out!r}")
        # The JSON form counts nothing new on a second import.
        rc, out, err = refstore(store, "image", "import", layout, "--repository", "demo", "--json")
        doc = json.loads(out)
        expect(rc == 0 and doc["blobs_written"] == 0, f"second import: {out}")
        expect(sorted(i["id"] for i in doc["images"]) == sorted(digests.values()), out)

        # A clean store: check exits 0, table header, JSON clean.
        rc, out, err = refstore(store, "check")
        expect(rc == 0, f"clean check exit {rc}: {out} {err}")
        expect(out.startswith("SEVERITY   CATEGORY   SUBJECT   DETAIL\n"), f"table: {out!r}")
        expect(out.endswith("0 faults, 0 notes\n"), f"summary: {out!r}")
        rc, out, err = refstore(store, "check", "--json")
        doc = json.loads(out)
        expect(rc == 0 and doc["clean"] is True and doc["problems"] == [], out)

        # Damage: a layer file disappears.
        blobs = os.path.join(store, "content", "blobs", "sha256")
        v1 = json.load(open(os.path.join(blobs, digests["v1"][7:])))
        layer = v1["layers"][0]["digest"][7:]
        os.remove(os.path.join(blobs, layer))
        rc, out, err = refstore(store, "check")
        expect(rc == 1, f"damaged check exit {rc}")
        expect("blob_without_file" in out and layer in out, f"damaged table: {out}")
        rc, out, err = refstore(store, "check", "--json")
        doc = json.loads(out)
        expect(rc == 1 and doc["clean"] is False and doc["faults"] >= 1, out)
        cats = {p["category"] for p in doc["problems"]}
        expect("blob_without_file" in cats, f"categories {cats}")

        # Repair: v1 (whose layer is lost) goes, base stays; a second check is clean.
        rc, out, err = refstore(store, "check", "--repair", "--json")
        doc = json.loads(out)
        expect(rc == 0 and doc["clean"] is True, f"repair: {out} {err}")
        expect(doc["repair"]["images_removed"] == 1, f"repair removed: {out}")
        expect(doc["after_repair"] == [], f"after repair: {out}")
        rc, out, err = refstore(store, "check")
        expect(rc == 0, f"check after repair exit {rc}: {out}")
        files = set(os.listdir(blobs))
        expect(digests["base"][7:] in files, "base's manifest kept")
        expect(digests["v1"][7:] not in files, "v1's manifest collected")

        # gc with nothing to do.
        rc, out, err = refstore(store, "gc", "--json")
        doc = json.loads(out)
        expect(rc == 0 and doc["files_deleted"] == 0, f"gc: {out}")
        rc, out, err = refstore(store, "gc")
        expect(out.startswith("Deleted 0 files, 0 bytes"), f"gc text: {out!r}")

        # Adopt: a foreign image dropped into the content store by copying
        # the layout's blobs (v1's included again).
        for name in os.listdir(os.path.join(layout, "blobs", "sha256")):
            dst = os.path.join(blobs, name)
            if not os.path.exists(dst):
                shutil.copy(os.path.join(layout, "blobs", "sha256", name), dst)
        rc, out, err = refstore(store, "check", "--json")
        expect(rc == 1 and "file_without_record" in out, f"foreign files: {out}")
        rc, out, err = refstore(store, "image", "adopt", "--json")
        doc = json.loads(out)
        ids = [i["id"] for i in doc["images"] if not i["error"]]
        expect(digests["v1"] in ids, f"adopted: {out}")
        rc, out, err = refstore(store, "check")
        expect(rc == 0, f"check after adopt exit {rc}: {out}")

        # A malformed layout: clear error naming the file, exit 1, nothing changes.
        with open(os.path.join(layout, "index.json"), "w") as f:
            f.write("{")
        rc, out, err = refstore(store, "image", "import", layout)
        expect(rc == 1 and "index.json" in err, f"malformed import: {rc} {err!r}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok" if failures == 0 else f"{failures} failures")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
