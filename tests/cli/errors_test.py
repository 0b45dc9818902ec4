#!/usr/bin/env python3
"""Clear errors where the command used to say nothing useful (issue 15,
items 5 and 6).

Usage: errors_test.py PATH/TO/refstore

- `apply DIR` (a directory as the input file): exit 2 and `is a directory`;
- a store path that does not exist (read-only command) or is a file:
  `no store at PATH: no such directory` / `not a directory`, nothing created;
- an input line longer than 16 MiB: that line is answered
  `line N is longer than 16777216 bytes` (invalid_argument) and the next
  lines still run; the process stays far below the size of the line times
  ten in memory (its peak RSS is printed);
- `image import` of a layout directory whose name is no repository (`MyApp`)
  says the name came from the directory and that --repository sets it;
- an image of 1,000 layers imports with 128 open files allowed;
- `apply` to a pipe stopped by SIGTERM: each answered operation's line was
  on the pipe before the signal, and the operations are in the store.
"""
import hashlib
import json
import os
import resource
import signal
import subprocess
import sys

from clitest import CONFIG, LAYER, MANIFEST, Checker, Refstore, desc


def main():
    rs = Refstore(sys.argv[1])
    check = Checker("errors")
    try:
        store = rs.path("s")
        rs.apply(store, [{"op": "images"}])

        rc, out, err = rs.run(store, "apply", rs.tmp)
        check.equal(rc, 2, "apply DIR: exit status")
        check.expect("is a directory" in err, f"apply DIR: {err!r}")

        missing = rs.path("nothere")
        rc, out, err = rs.run(missing, "images")
        check.equal((rc, err), (1, f"refstore: cannot open store {missing}: INVALID_ARGUMENT: "
                                   f"no store at {missing}: no such directory\n"), "missing store")
        check.expect(not os.path.exists(missing), "a read-only command creates no store")
        afile = rs.path("afile")
        open(afile, "w").close()
        for args in (["images"], ["rmi", "x"]):
            rc, out, err = rs.run(afile, *args)
            check.expect(rc == 1 and "no store at " + afile + ": not a directory" in err,
                         f"{args} on a file: {rc} {err!r}")

        big = json.dumps({"op": "images", "x": "a" * (17 << 20)})
        lines = "\n".join([big, json.dumps({"op": "images"}), big[: 1 << 20]]) + "\n"
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        p = subprocess.run([rs.binary, "--store", store, "apply"], input=lines,
                           capture_output=True, text=True)
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        results = [json.loads(l) for l in p.stdout.splitlines()]
        check.equal(len(results), 3, "one result per line")
        if len(results) == 3:
            check.equal(results[0], {"ok": False, "error": {
                "code": "invalid_argument",
                "message": "line 1 is longer than 16777216 bytes"}}, "the long line")
            check.equal(results[1], {"ok": True, "images": []}, "the next line runs")
            check.equal(results[2].get("ok"), False, "a cut line is an error")
        check.equal(p.returncode, 1, "exit status 1 when a line failed")
        print(f"apply of a 17 MiB line: peak RSS of the children {peak_kib} KiB (before {before})")
        check.expect(peak_kib < 400 * 1024, f"memory stays bounded: {peak_kib} KiB")

        layout = os.path.join(rs.tmp, "MyApp")
        os.makedirs(os.path.join(layout, "blobs", "sha256"))
        with open(os.path.join(layout, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        manifest = b'{"schemaVersion":2,"config":{"mediaType":"' + CONFIG.encode() + \
            b'","digest":"sha256:' + b"0" * 64 + b'","size":2},"layers":[]}'
        hexd = hashlib.sha256(manifest).hexdigest()
        with open(os.path.join(layout, "blobs", "sha256", hexd), "wb") as f:
            f.write(manifest)
        with open(os.path.join(layout, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": [{
                "mediaType": MANIFEST, "digest": "sha256:" + hexd, "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": "1.0"}}]}, f)
        rc, out, err = rs.run(store, "image", "import", layout)
        check.expect(rc == 1 and "the layout directory's name" in err and "--repository" in err,
                     f"import MyApp: {rc} {err!r}")

        # apply to a pipe, stopped by SIGTERM: every operation it answered
        # before the signal is on the pipe (one flushed line each).
        ops = [{"op": "create_image", "name": f"t{i}:1",
                "target": {"mediaType": MANIFEST, "digest": "sha256:" + f"{i:064x}", "size": 10},
                "content": []} for i in range(1, 4)]
        proc = subprocess.Popen([rs.binary, "--store", rs.path("term"), "apply"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        got = []
        for op in ops:
            proc.stdin.write(json.dumps(op) + "\n")
            proc.stdin.flush()
            got.append(json.loads(proc.stdout.readline()))
        proc.send_signal(signal.SIGTERM)
        rest = proc.stdout.read()
        proc.wait(timeout=30)
        check.equal([r.get("ok") for r in got], [True, True, True],
                    "three answers read before SIGTERM")
        check.equal(rest, "", "nothing after them")
        rc, out, err = rs.run(rs.path("term"), "images", "--format", "json")
        check.equal(len(out.splitlines()), 3, f"the three answered operations are in the store ({err})")

        # An image of 1,000 layers imports with 128 open files allowed.
        many = os.path.join(rs.tmp, "many")
        os.makedirs(os.path.join(many, "blobs", "sha256"))

        def blob(data, media_type):
            h = hashlib.sha256(data).hexdigest()
            with open(os.path.join(many, "blobs", "sha256", h), "wb") as f:
                f.write(data)
            return {"mediaType": media_type, "digest": "sha256:" + h, "size": len(data)}
        layers = [blob(f"layer {i}".encode() * 10, LAYER) for i in range(1000)]
        config = blob(json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
            "type": "layers", "diff_ids": [l["digest"] for l in layers]}}).encode(), CONFIG)
        manifest = blob(json.dumps({"schemaVersion": 2, "mediaType": MANIFEST, "config": config,
                                    "layers": layers}).encode(), MANIFEST)
        manifest["annotations"] = {"org.opencontainers.image.ref.name": "v1"}
        with open(os.path.join(many, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": [manifest]}, f)
        with open(os.path.join(many, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        p = subprocess.run([rs.binary, "--store", rs.path("many-store"), "--content", "image",
                            "import", many, "--repository", "big"], capture_output=True, text=True,
                           preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128)))
        check.expect(p.returncode == 0 and "Loaded image: big:v1" in p.stdout,
                     f"import of 1,000 layers with 128 open files: {p.returncode} {p.stderr[-300:]!r}")
    finally:
        rs.cleanup()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
