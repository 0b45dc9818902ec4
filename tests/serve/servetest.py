"""Helpers of the `refstore serve` tests (tests/serve): a served store
(started, waited for, stopped with SIGTERM), raw HTTP requests on its Unix
socket, the stores the tests build through `refstore apply`, and the
docker-archive tars they load (docker_archive).

The real clients: the docker CLI (DOCKER_CLI, else /usr/local/bin/docker,
else `docker` on PATH) and Debian's python3-docker SDK.
"""
import datetime
import hashlib
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from clitest import Checker, Refstore, desc, digest, MANIFEST, CONFIG, LAYER  # noqa: E402,F401


def docker_cli():
    for candidate in (os.environ.get("DOCKER_CLI"), "/usr/local/bin/docker", shutil.which("docker")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def image_ops(now):
    """A store whose times are relative to the real clock (docker's client
    prints "N hours ago" from its own clock): five images, two sharing a
    layer, one dangling after a tag moves, labels, a digest name, a
    container holding one image."""
    t = lambda hours: rfc3339(now - datetime.timedelta(hours=hours, minutes=30))  # noqa: E731
    ops = []

    def image(key, name, hours, layers, labels=None, shared=None):
        content = [desc(CONFIG, key + "-config", 700)]
        content += [desc(LAYER, key + "-layer" + str(i), size) for i, size in enumerate(layers)]
        if shared:
            content.append(desc(LAYER, shared, 5_000_000))
        op = {"op": "create_image", "at": t(hours), "target": desc(MANIFEST, key, 500),
              "content": content}
        if name:
            op["name"] = name
        if labels:
            op["labels"] = labels
        ops.append(op)

    image("alpine", "alpine:3.19", 50, [3_400_000], labels={"org.example.tier": "base"})
    image("web", "example.com/team/web:1.0", 30, [12_000_000, 800_000], shared="base-layer")
    image("api", "example.com/team/api:2.1", 20, [2_500_000], shared="base-layer",
          labels={"org.example.tier": "app"})
    image("old", "busybox:latest", 10, [900_000])
    image("new", "busybox:latest", 5, [1_100_000])  # moves the tag: "old" is dangling
    ops.append({"op": "tag", "at": t(4), "source": "alpine:3.19", "target": "alpine:latest"})
    ops.append({"op": "create_image", "at": t(4), "target": desc(MANIFEST, "web", 500),
                "content": [], "name": "example.com/team/web@" + digest("web")})
    ops.append({"op": "container_create", "at": t(3), "id": "c" * 64,
                "image": "example.com/team/web:1.0"})
    ops.append({"op": "container_start", "at": t(3), "id": "c" * 64})
    ops.append({"op": "container_create", "at": t(2), "id": "d" * 64, "image": "alpine:3.19"})
    return ops


class Server:
    """`refstore --store STORE serve` in the background."""

    def __init__(self, rs, store, *extra, log=None, global_args=()):
        self.socket = os.path.join(store, "engine.sock")
        self.log = log or store + ".requests.jsonl"
        cmd = [rs.binary, "--store", store, *global_args, "serve", "--socket", self.socket,
               "--log", self.log, "--tmp-dir", rs.tmp, *extra]
        self.stderr_path = store + ".serve.err"
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("refstore serve exited: " + open(self.stderr_path).read())
            try:
                status, _, _ = self.request("GET", "/_ping")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("refstore serve did not answer /_ping within 30 s")

    @property
    def host(self):
        return "unix://" + self.socket

    def connection(self, timeout=60):
        conn = http.client.HTTPConnection("localhost", timeout=timeout)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.socket)
        conn.sock = s
        return conn

    def request(self, method, path, body=None, headers=None):
        """(status, headers dict, body bytes) of one request."""
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def stop(self):
        """SIGTERM; the exit status (0 expected)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        return self.proc.returncode


def requests_logged(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def tar_add(tar, name, data, mtime=1700000000):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = mtime
    tar.addfile(info, io.BytesIO(data))


def layer_tar(content):
    """An uncompressed layer: one file, file.txt, holding `content`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        tar_add(t, "file.txt", content)
    return buf.getvalue()


def docker_archive(path, images, made_by="servetest"):
    """Writes a `docker save` archive (docker 20.10's format: manifest.json,
    <config hex>.json, <layer dir>/layer.tar) to `path`. `images` is a list
    of (RepoTags or None, [layer contents (bytes)]); layers with the same
    content are stored once. Every config has the label made-by=`made_by`."""
    manifest = []
    with tarfile.open(path, "w") as t:
        for tags, layers in images:
            diff_ids, paths = [], []
            for content in layers:
                data = layer_tar(content)
                hexd = hashlib.sha256(data).hexdigest()
                diff_ids.append("sha256:" + hexd)
                paths.append(hexd + "/layer.tar")
                if hexd + "/layer.tar" not in t.getnames():
                    tar_add(t, hexd + "/layer.tar", data)
            config = json.dumps({"architecture": "amd64", "os": "linux",
                                 "created": "2023-11-14T22:13:20Z",
                                 "config": {"Labels": {"made-by": made_by}},
                                 "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
            chex = hashlib.sha256(config).hexdigest()
            tar_add(t, chex + ".json", config)
            manifest.append({"Config": chex + ".json", "RepoTags": tags, "Layers": paths})
        tar_add(t, "manifest.json", json.dumps(manifest).encode())
