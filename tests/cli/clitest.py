"""Helpers shared by the refstore command's end-to-end tests (tests/cli).

Each test script is run by ctest as `python3 SCRIPT PATH/TO/refstore`; it
builds stores through `refstore --store S apply` and checks what the
commands print and their exit statuses. `Checker.expect` records a failure
and goes on; `Checker.finish` prints the summary and gives the exit status.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN_DIR = os.path.join(HERE, "golden")
# The time every golden command runs at (--at).
GOLDEN_NOW = "2026-01-10T12:00:00Z"

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest(name):
    """A made-up blob digest: sha256 of `name`."""
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def desc(media_type, name, size):
    return {"mediaType": media_type, "digest": digest(name), "size": size}


class Checker:
    def __init__(self, name):
        self.name = name
        self.failures = 0
        self.checks = 0

    def expect(self, cond, what):
        self.checks += 1
        if not cond:
            self.failures += 1
            print("FAIL:", what, file=sys.stderr)
        return cond

    def equal(self, got, want, what):
        return self.expect(got == want, f"{what}:\n--- want ---\n{want!r}\n--- got ---\n{got!r}")

    def finish(self):
        if self.failures:
            print(f"{self.name}: {self.failures} of {self.checks} checks failed")
            return 1
        print(f"{self.name}: ok ({self.checks} checks)")
        return 0


class Refstore:
    """Runs the refstore binary against stores in a temporary directory."""

    def __init__(self, binary):
        self.binary = binary
        self.tmp = tempfile.mkdtemp(prefix="refstore-cli-")

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def run(self, store, *args, stdin=None, at=None, extra_global=()):
        cmd = [self.binary, "--store", store]
        if at is not None:
            cmd += ["--at", at]
        cmd += list(extra_global) + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True,
                           input=stdin if stdin is not None else "",
                           env=dict(os.environ, TMPDIR=self.tmp))
        return p.returncode, p.stdout, p.stderr

    def apply(self, store, ops):
        """Applies operations (dicts; lines without "op" are skipped)."""
        lines = "".join(json.dumps(o) + "\n" for o in ops if "op" in o)
        rc, out, err = self.run(store, "apply", stdin=lines)
        results = [json.loads(line) for line in out.splitlines() if line.strip()]
        if rc != 0:
            bad = [r for r in results if not r.get("ok")]
            raise RuntimeError(f"apply failed ({rc}): {bad} {err}")
        return results

    def apply_file(self, store, path):
        with open(path) as f:
            ops = [json.loads(line) for line in f if line.strip()]
        return self.apply(store, ops)

    def golden_store(self, name="golden"):
        """A fresh copy of the golden store (built once per Refstore)."""
        base = self.path("golden-base")
        if not os.path.isdir(base):
            self.apply_file(base, os.path.join(GOLDEN_DIR, "store.jsonl"))
        dst = self.path(name)
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(base, dst)
        return dst


def namespace_reads(rs, store, at, check, got):
    """Appends `images -a --digests --no-trunc` and `system df -v` of the
    "default" and "other" namespaces (the stores of format1/ops.jsonl)."""
    for ns in ("default", "other"):
        for args in (("images", "-a", "--digests", "--no-trunc"), ("system", "df", "-v")):
            rc, out, err = rs.run(store, *args, at=at, extra_global=("-n", ns))
            check.equal(rc, 0, f"{ns} {args}: {err}")
            got.append(out + err)


def until_prunes(rs, store, at, check, got):
    """Appends two `image prune -a -f --filter until=…` of those stores, which
    select names by their creation times."""
    for ns, until in (("other", "2026-04-07T08:30:00Z"), ("default", "2026-04-02T08:01:30Z")):
        rc, out, err = rs.run(store, "image", "prune", "-a", "-f", "--filter", f"until={until}",
                              at=at, extra_global=("-n", ns))
        check.equal(rc, 0, f"prune {ns}: {err}")
        got.append(out + err)


def hash_tree(root):
    """{relative path: sha256 of contents} of every file under `root`, plus
    the list of directories (a new empty directory is a change too)."""
    files = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        files["dir:" + rel] = ""
        for name in filenames:
            p = os.path.join(dirpath, name)
            with open(p, "rb") as f:
                files[os.path.join(rel, name)] = hashlib.sha256(f.read()).hexdigest()
    return files
