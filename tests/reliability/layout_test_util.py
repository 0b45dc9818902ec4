"""Helpers of the real-filesystem tests (full_disk_test.py,
unreadable_content_test.py): OCI image layouts to import, and failures
collected as a test goes."""
import hashlib
import json
import os
import sys


class Failures:
    """Collects failed expectations; finish() prints the verdict."""

    def __init__(self, name):
        self.name = name
        self.failed = []

    def expect(self, cond, what):
        if not cond:
            self.failed.append(what)
            print("FAIL:", what, file=sys.stderr)
        return cond

    def finish(self):
        if self.failed:
            print(f"{self.name}: {len(self.failed)} failures")
            return 1
        print(f"{self.name}: ok")
        return 0


def write_blob(layout, data):
    """Writes `data` as a blob of `layout`; returns its descriptor (no media type)."""
    hexd = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", hexd), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + hexd, "size": len(data)}


def make_layout(path, tags, layer_of):
    """An OCI image layout at `path`: one image per tag, each with one layer
    of bytes `layer_of(tag)` and a config labelled with the tag. Returns the
    manifests' digests, in the order of `tags`."""
    os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(path, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    manifests = []
    for tag in tags:
        layer = write_blob(path, layer_of(tag))
        layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar"
        config = write_blob(path, json.dumps({
            "architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]},
            "config": {"Labels": {"tag": tag}}}).encode())
        config["mediaType"] = "application/vnd.oci.image.config.v1+json"
        manifest = write_blob(path, json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config, "layers": [layer]}).encode())
        manifest["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
        manifest["annotations"] = {"org.opencontainers.image.ref.name": tag}
        manifests.append(manifest)
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": manifests}, f)
    return [m["digest"] for m in manifests]
