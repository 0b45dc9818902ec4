#!/usr/bin/env python3
# Copied from /work/shared/peers/engines/gen_workload.py (2026-12-07) for refstore bench/peer/engines; unchanged apart from this line.
"""Deterministic workload generator: N container images sharing base layers.

Writes, under OUTDIR:
  layout/            an OCI image layout (oci-layout, index.json, blobs/sha256/...)
                     index.json names image i "img<i>" (org.opencontainers.image.ref.name)
  docker-archive.tar a multi-image docker-archive (docker save format: manifest.json,
                     <config-hex>.json, <diffid-hex>/layer.tar uncompressed) tagged
                     REPO:img<i>; loadable by `docker load` and `podman load`
  meta.json          per-image blob lists and sizes, so any subset's distinct bytes can
                     be computed (see distinct_bytes())

Shape (like real hosts): a pool of BASES base images, each 2 layers (so 2*BASES
shared "base layers", 200 by default); image i = 1 config + base (2 layers) +
1..3 unique app layers (3-5 layers in all). Layers are valid gzip'd tars holding
one small file of incompressible bytes (a few KB). The config's diff_ids are the
uncompressed tars' digests. Everything (bytes, timestamps, gzip headers) derives
from the seed, so the same (N, seed) always gives byte-identical output.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import sys
import tarfile

EPOCH = 1700000000  # 2023-11-14T22:13:20Z: image i is created at EPOCH + i seconds


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def make_tar(name, data):
    """A minimal valid tar (one regular file + end-of-archive), no record padding."""
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    ti.mtime = EPOCH
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    hdr = ti.tobuf(format=tarfile.USTAR_FORMAT)
    pad = (-len(data)) % 512
    return hdr + data + b"\0" * pad + b"\0" * 1024


def gz(b):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6, filename="") as f:
        f.write(b)
    return buf.getvalue()


class Layer:
    __slots__ = ("tar", "tgz", "diff_id", "digest", "content")

    def __init__(self, name, data):
        self.tar = make_tar(name, data)
        self.tgz = gz(self.tar)
        self.diff_id = sha(self.tar)
        self.digest = sha(self.tgz)
        self.content = len(data)  # apparent bytes of the file (what docker's DiffSize counts)


def rtime(t):
    import datetime
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", "-n", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bases", type=int, default=100, help="base images (2 shared layers each)")
    ap.add_argument("--min-kb", type=int, default=1)
    ap.add_argument("--max-kb", type=int, default=4)
    ap.add_argument("--repo", default="bench", help="repository of the docker-archive tags")
    ap.add_argument("--no-docker-archive", action="store_true")
    ap.add_argument("--base-of", default="", help="comma-separated base index per image (overrides the draw)")
    ap.add_argument("out")
    a = ap.parse_args()

    rng = random.Random(a.seed)
    lay = os.path.join(a.out, "layout")
    blobdir = os.path.join(lay, "blobs", "sha256")
    os.makedirs(blobdir, exist_ok=True)
    written = set()

    def put(b):
        d = sha(b)
        if d not in written:
            with open(os.path.join(blobdir, d[7:]), "wb") as f:
                f.write(b)
            written.add(d)
        return d

    def rbytes():
        n = rng.randint(a.min_kb * 1024, a.max_kb * 1024)
        return rng.getrandbits(8 * n).to_bytes(n, "little")

    bases = []
    for b in range(a.bases):
        bases.append([Layer("base-%d-%d-s%d.bin" % (b, k, a.seed), rbytes()) for k in range(2)])
    # Zipf-like popularity: a few bases are used by many images, like alpine/debian.
    weights = [1.0 / (k + 1) for k in range(a.bases)]

    index = []
    meta = {"seed": a.seed, "images": a.images, "bases": a.bases, "repo": a.repo,
            "blobs": {}, "layers": {}, "list": []}
    dar_layers = {}  # diff_id -> tar bytes, for the docker-archive
    dar_manifest = []
    dar_configs = {}

    base_of = [int(x) for x in a.base_of.split(",")] if a.base_of else []
    for i in range(a.images):
        b = rng.choices(range(a.bases), weights)[0]
        if base_of:
            b = base_of[i]
        layers = list(bases[b])
        for k in range(rng.randint(1, 3)):
            layers.append(Layer("app-%d-%d-s%d.bin" % (i, k, a.seed), rbytes()))
        created = rtime(EPOCH + i)
        cfg = {
            "created": created,
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                       "Cmd": ["/bin/sh"], "Labels": {"bench.image": str(i), "bench.base": str(b)}},
            "rootfs": {"type": "layers", "diff_ids": [l.diff_id for l in layers]},
            "history": [{"created": created, "created_by": "gen_workload layer %d" % k} for k in range(len(layers))],
        }
        cfgb = json.dumps(cfg, separators=(",", ":"), sort_keys=True).encode()
        cfgd = put(cfgb)
        for l in layers:
            put(l.tgz)
            meta["layers"][l.digest] = {"diff_id": l.diff_id, "tar": len(l.tar), "tgz": len(l.tgz), "content": l.content}
            dar_layers.setdefault(l.diff_id, l.tar)
        man = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfgd, "size": len(cfgb)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": l.digest, "size": len(l.tgz)} for l in layers],
        }
        manb = json.dumps(man, separators=(",", ":")).encode()
        mand = put(manb)
        tag = "img%d" % i
        index.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mand, "size": len(manb),
                      "annotations": {"org.opencontainers.image.ref.name": tag}})
        meta["blobs"][cfgd] = len(cfgb)
        meta["blobs"][mand] = len(manb)
        meta["list"].append({"tag": tag, "manifest": mand, "config": cfgd, "layers": [l.digest for l in layers],
                             "base": b, "created": created})
        dar_configs[cfgd[7:]] = cfgb
        dar_manifest.append({"Config": cfgd[7:] + ".json", "RepoTags": ["%s:%s" % (a.repo, tag)],
                             "Layers": [l.diff_id[7:] + "/layer.tar" for l in layers]})
    for d, l in meta["layers"].items():
        meta["blobs"][d] = l["tgz"]

    with open(os.path.join(lay, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(lay, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": index}, f)

    if not a.no_docker_archive:
        def add(t, name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = EPOCH
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
        with tarfile.open(os.path.join(a.out, "docker-archive.tar"), "w", format=tarfile.USTAR_FORMAT) as t:
            for h, c in dar_configs.items():
                add(t, h + ".json", c)
            for d, tb in dar_layers.items():
                add(t, d[7:] + "/layer.tar", tb)
            add(t, "manifest.json", json.dumps(dar_manifest).encode())
            add(t, "repositories", json.dumps({a.repo: {m["RepoTags"][0].split(":")[1]: m["Config"][:-5]
                                                        for m in dar_manifest}}).encode())

    tot = distinct_bytes(meta, range(a.images))
    meta["totals"] = tot
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f)
    json.dump(tot, sys.stdout)
    print()


def distinct_bytes(meta, idx):
    """Distinct bytes of the images idx: compressed blobs (manifest+config+layer tgz, what a
    content store holds), uncompressed layer tars, layer file contents, configs."""
    blobs, layers, cfgs = set(), set(), set()
    for i in idx:
        e = meta["list"][i]
        blobs.add(e["manifest"])
        blobs.add(e["config"])
        cfgs.add(e["config"])
        for l in e["layers"]:
            blobs.add(l)
            layers.add(l)
    return {
        "images": len(list(idx)) if not isinstance(idx, range) else len(idx),
        "blob_bytes": sum(meta["blobs"][d] for d in blobs),
        "layer_tgz_bytes": sum(meta["layers"][d]["tgz"] for d in layers),
        "layer_tar_bytes": sum(meta["layers"][d]["tar"] for d in layers),
        "layer_content_bytes": sum(meta["layers"][d]["content"] for d in layers),
        "config_bytes": sum(meta["blobs"][d] for d in cfgs),
        "distinct_layers": len(layers),
    }


if __name__ == "__main__":
    main()
