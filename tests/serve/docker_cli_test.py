"""The real docker CLI against `refstore serve`, each output compared with
refstore's own command on the same store (tools/README.md "refstore serve"
lists every difference and its reason).

Reads (image ls and its flags, image inspect, system df [-v], ps -a) run the
docker CLI against the served store and `refstore` (read-only, beside the
server) on the same store. Changes (tag, rmi, create, rm, image prune) run
the docker CLI against the served store A and `refstore` against store B, a
copy built from the same operations, and compare the outputs, the exit
statuses and the stores afterwards. Then docker load / docker save through a
content store, bad requests, many clients at once and SIGTERM.

Usage: docker_cli_test.py PATH/TO/refstore
"""
import datetime
import re
import json
import os
import subprocess
import sys
import threading

from servetest import (Checker, Refstore, Server, docker_archive, docker_cli, image_ops,
                       requests_logged)

ENV = dict(os.environ, TZ="UTC", DOCKER_CONFIG="/nonexistent-refstore-docker-config")


def main():
    binary = sys.argv[1]
    docker = docker_cli()
    check = Checker("serve.docker_cli")
    if docker is None:
        print("FAIL: no docker CLI (set DOCKER_CLI, or install docker.io)", file=sys.stderr)
        return 1
    rs = Refstore(binary)
    try:
        run(rs, docker, check)
    finally:
        rs.cleanup()
    return check.finish()


def run(rs, docker, check):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    a, b = rs.path("a"), rs.path("b")
    ops = image_ops(now)
    rs.apply(a, ops)
    rs.apply(b, ops)
    server = Server(rs, a)

    def dk(*args):
        p = subprocess.run([docker, "--host", server.host, *args], capture_output=True, text=True,
                           env=ENV, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    def ref(store, *args):
        p = subprocess.run([rs.binary, "--store", store, *args], capture_output=True, text=True,
                           env=ENV, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    # docker's clients before 23 (Debian's 20.10) print a not-found error
    # their own way ("Error: No such image: <what was typed>") and df -v's
    # SIZE with four digits; with such a client those are compared
    # normalized (tools/README.md).
    version = subprocess.run([docker, "version", "--format", "{{.Client.Version}}"],
                             capture_output=True, text=True, env=ENV).stdout.strip()
    legacy = version.split(".")[0].isdigit() and int(version.split(".")[0]) < 23

    def norm(result, sizes=False):
        if not legacy:
            return result
        out = []
        for text in result:
            if isinstance(text, str):
                text = re.sub(r"(Error response from daemon|Error): No such (image|container): \S+",
                              r"No such \2", text)
                if sizes:
                    text = re.sub(r"\d+(\.\d+)?(B|kB|MB|GB)\b", "SIZE", text)
                    text = re.sub(r" +", " ", text)  # the columns' widths follow the sizes
            out.append(text)
        return tuple(out)

    try:
        rc, out, err = dk("version", "--format", "{{.Server.APIVersion}}")
        check.equal((rc, out.strip()), (0, "1.47"), f"docker version negotiates 1.47: {err}")

        # --- reads: the same store ---
        for args in (["image", "ls"], ["images"], ["image", "ls", "--digests"],
                     ["image", "ls", "--no-trunc"], ["image", "ls", "-q"],
                     ["image", "ls", "--filter", "dangling=true"],
                     ["image", "ls", "--filter", "dangling=false"],
                     ["image", "ls", "--filter", "label=org.example.tier"],
                     ["image", "ls", "--filter", "label=org.example.tier=app"],
                     ["image", "ls", "--filter", "reference=busybox"],
                     ["image", "ls", "--filter", "reference=example.com/*/*"],
                     ["image", "ls", "--filter", "before=busybox:latest"],
                     ["image", "ls", "--filter", "since=alpine:3.19"],
                     ["image", "ls", "busybox"],
                     ["image", "inspect", "alpine:3.19"],
                     ["image", "inspect", "busybox", "example.com/team/web:1.0"],
                     ["ps", "-a"], ["ps"], ["ps", "-a", "--no-trunc"], ["ps", "-a", "-q"]):
            got, want = dk(*args), ref(a, *args)
            check.equal(norm(got), norm(want), "docker " + " ".join(args))

        # --format: docker's template {{json .}} against refstore's JSON
        # Lines, which add raw byte counts (the keys docker has must agree).
        rc, out, err = dk("image", "ls", "--digests", "--format", "{{json .}}")
        rrc, rout, rerr = ref(a, "image", "ls", "--digests", "--format", "json")
        got = [json.loads(line) for line in out.splitlines()]
        want = [json.loads(line) for line in rout.splitlines()]
        check.equal(rc, 0, f"docker image ls --format json: {err}")
        check.equal(len(got), len(want), "image ls --format rows")
        # docker's daemon sends Containers and SharedSize as -1 in image
        # lists (it counts them only for df), and so does refstore serve:
        # docker's client prints N/A for them and UniqueSize.
        unknown = {"Containers": "N/A", "SharedSize": "N/A", "UniqueSize": "N/A"}
        for g, w in zip(got, want):
            check.equal(g, {k: unknown.get(k, w[k]) for k in g}, "image ls --format row")
        # Errors: same message, same exit status.
        for args in (["image", "inspect", "nosuch"], ["image", "ls", "--filter", "bogus=1"],
                     ["image", "ls", "--filter", "dangling=maybe"]):
            got, want = dk(*args), ref(a, *args)
            check.equal(norm((got[0], got[2].strip())), norm((want[0], want[2].strip())),
                        "docker " + " ".join(args))

        # system df: every column but RECLAIMABLE (docker's client computes
        # it: LayersSize minus the unique size of images in use; refstore
        # prints what prune -a frees).
        rc, out, err = dk("system", "df")
        rrc, rout, _ = ref(a, "system", "df")
        check.equal(rc, 0, f"docker system df: {err}")
        check.equal([line.split()[:-2] if "%" in line else line.split() for line in out.splitlines()],
                    [line.split()[:-2] if "%" in line else line.split() for line in rout.splitlines()],
                    "system df (without RECLAIMABLE)")
        got, want = dk("system", "df", "-v"), ref(a, "system", "df", "-v")
        check.equal(norm(got, sizes=True), norm(want, sizes=True), "docker system df -v")

        # --- changes: docker on A, refstore on B ---
        def same(args, ref_args=None, what=None):
            got, want = dk(*args), ref(b, *(ref_args or args))
            check.equal(norm(got), norm(want), what or ("docker " + " ".join(args)))
            return got

        same(["tag", "busybox:latest", "mybox:1"])
        same(["tag", "nosuch", "x:1"])
        # docker's client checks the new name itself, with its own message.
        got, want = dk("tag", "alpine:3.19", "Bad:Name"), ref(b, "tag", "alpine:3.19", "Bad:Name")
        check.expect(got[0] == want[0] == 1 and "must be lowercase" in got[2] and
                     "must be lowercase" in want[2], f"tag to a bad name: {got} {want}")
        status, _, body = server.request("POST", "/v1.47/images/alpine:3.19/tag?repo=Bad&tag=Name")
        check.equal((status, json.loads(body)["message"]), (400, want[2].split(": ", 1)[1].strip()),
                    "the server's answer to a bad name is refstore's")
        same(["rmi", "mybox:1"])                          # untag only
        same(["rmi", "example.com/team/web:1.0"])         # conflict: a running container
        same(["rmi", "nosuch:1"])
        same(["rmi", "-f", "nosuch:1"])
        same(["rmi", "example.com/team/api:2.1"])         # deleted, shared layer kept
        rc, out, err = dk("create", "alpine:latest")
        check.equal(rc, 0, f"docker create: {err}")
        cid = out.strip()
        check.expect(len(cid) == 64, f"docker create printed an ID: {out!r}")
        # B's container is created at A's creation time; the two `ps -a` run a
        # moment apart, so the new row's CREATED may read "Less than a second
        # ago" in one and "1 second ago" in the other: compared without it.
        created = json.loads(ref(a, "ps", "-a", "--no-trunc", "--format", "json")[1]
                             .splitlines()[0])["CreatedAt"]
        at = datetime.datetime.strptime(created, "%Y-%m-%d %H:%M:%S +0000 UTC")
        rrc, _, rerr = ref(b, "--at", at.strftime("%Y-%m-%dT%H:%M:%SZ"), "container", "create",
                           "--id", cid, "alpine:latest")
        check.equal(rrc, 0, f"refstore container create: {rerr}")
        # (the column's width follows that cell, so runs of spaces are one)
        recent = lambda text: re.sub(r" +", " ", re.sub(r"(Less than a second|\d+ seconds?) ago",  # noqa: E731
                                                        "recently", text))
        got, want = dk("ps", "-a"), ref(b, "ps", "-a")
        check.equal((got[0], recent(got[1]), got[2]), (want[0], recent(want[1]), want[2]),
                    "docker ps -a after create")
        # Names: docker create --name, ps shows it, the name finds the
        # container, a second use of the name is docker's conflict.
        rc, out, err = dk("create", "--name", "web-1", "busybox")
        check.equal(rc, 0, f"docker create --name: {err}")
        named = out.strip()
        rc, out, err = dk("ps", "-a", "--format", "{{.Names}} {{.ID}}")
        check.expect(f"web-1 {named[:12]}" in out.splitlines(), f"ps shows the name: {out!r}")
        rc, out, err = dk("create", "--name", "web-1", "busybox")
        check.expect(rc != 0 and 'Conflict. The container name "/web-1" is already in use by '
                     f'container "{named}"' in err, f"a name used twice: {rc} {err!r}")
        rc, out, err = dk("create", "--name", "-bad", "busybox")
        check.expect(rc != 0 and "Invalid container name (-bad)" in err, f"a bad name: {err!r}")
        rc, out, err = dk("start", "web-1")
        check.equal((rc, out), (0, "web-1\n"), f"docker start by name: {err}")
        rc, out, err = dk("container", "inspect", "--format", "{{.Name}} {{.State.Running}}", "web-1")
        check.equal((rc, out), (0, "/web-1 true\n"), f"docker container inspect: {err}")
        rc, out, err = dk("rm", "-f", "web-1")
        check.equal((rc, out), (0, "web-1\n"), f"docker rm -f by name: {err}")
        same(["start", cid], ["container", "start", cid])
        same(["stop", cid], ["container", "stop", cid])
        # The server finds a container by a unique ID prefix, as docker does
        # (refstore's own container verbs take full IDs).
        rc, out, err = dk("start", cid[:12])
        check.equal((rc, out, err), (0, cid[:12] + "\n", ""), "docker start with an ID prefix")
        rc, out, err = dk("stop", cid[:12])
        check.equal((rc, out, err), (0, cid[:12] + "\n", ""), "docker stop with an ID prefix")
        same(["rm", cid], ["container", "rm", cid])
        # docker's message for an unknown container; refstore's own verb
        # first says the ID is not 64 hex characters.
        rc, out, err = dk("rm", "nosuch")
        check.equal(norm((rc, out, err)), norm((1, "", "Error response from daemon: No such container: nosuch\n")),
                    "docker rm of an unknown container")
        same(["rm", "f" * 64], ["container", "rm", "f" * 64])
        same(["image", "prune", "-f"])
        same(["ps", "-a"])
        same(["image", "prune", "-a", "-f"])
        same(["image", "ls", "--digests"])
        check.equal(ref(a, "image", "ls", "--digests"), ref(b, "image", "ls", "--digests"),
                    "stores A and B agree after the changes")
        check.equal(ref(a, "system", "df", "-v"), ref(b, "system", "df", "-v"),
                    "df -v of A and B agree")

        bad_requests(server, check, rs, a)
        many_clients(server, check)
    finally:
        rc = server.stop()
    check.equal(rc, 0, "serve exits 0 on SIGTERM: " + open(server.stderr_path).read())
    check.expect(not os.path.exists(server.socket), "the socket file is removed on exit")
    check.equal(ref(a, "check")[0], 0, "refstore check after serving")
    log = requests_logged(server.log)
    check.expect(len(log) > 40 and all("status" in r and "path" in r for r in log),
                 f"a request log line per request ({len(log)})")
    load_save(rs, docker, check)


def bad_requests(server, check, rs, store):
    before = subprocess.run([rs.binary, "--store", store, "image", "ls", "--no-trunc", "--digests"],
                            capture_output=True, text=True).stdout
    status, _, body = server.request("GET", "/v1.47/no/such/endpoint")
    check.equal((status, json.loads(body)), (404, {"message": "page not found"}), "unknown endpoint")
    status, _, body = server.request("GET", "/v1.99/images/json")
    check.equal((status, json.loads(body)["message"]),
                (400, "client version 1.99 is too new. Maximum supported API version is 1.47"),
                "a client too new")
    status, _, body = server.request("GET", "/v1.12/images/json")
    check.equal(status, 400, "a client too old")
    status, _, body = server.request("POST", "/v1.47/containers/create", body=b"{not json",
                                     headers={"Content-Type": "application/json"})
    check.equal(status, 400, f"malformed JSON: {body!r}")
    check.expect(json.loads(body)["message"].startswith("invalid JSON"), "malformed JSON message")
    status, _, body = server.request("POST", "/v1.47/containers/create",
                                     body=b'{"Image": "' + b"a" * (2 << 20) + b'"}',
                                     headers={"Content-Type": "application/json"})
    check.equal(status, 413, "a body over --max-body")
    status, _, body = server.request("GET", "/v1.47/images/json?filters=%7Bbad")
    check.equal(status, 400, "malformed filters")
    status, _, body = server.request("DELETE", "/v1.47/images/nosuch:1")
    check.equal((status, json.loads(body)), (404, {"message": "No such image: nosuch:1"}),
                "rmi of a missing image")
    # A client that disconnects in the middle of its request: nothing runs.
    conn = server.connection()
    conn.putrequest("POST", "/v1.47/images/prune")
    conn.putheader("Content-Length", "1000")
    conn.endheaders()
    conn.send(b"x" * 10)
    conn.sock.close()
    conn = server.connection()
    conn.putrequest("POST", "/v1.47/images/load")
    conn.putheader("Content-Type", "application/x-tar")
    conn.putheader("Content-Length", str(1 << 20))
    conn.endheaders()
    conn.send(b"\0" * 4096)
    conn.sock.close()
    status, _, _ = server.request("GET", "/_ping")
    check.equal(status, 200, "the server answers after clients disconnected")
    after = subprocess.run([rs.binary, "--store", store, "image", "ls", "--no-trunc", "--digests"],
                           capture_output=True, text=True).stdout
    check.equal(after, before, "bad requests changed nothing")
    leftovers = [n for n in os.listdir(rs.tmp) if n.startswith(("body-", "load-", "save-"))]
    check.equal(leftovers, [], "no temporary file is left behind")


def many_clients(server, check):
    errors = []

    def client(i):
        try:
            for _ in range(20):
                for path in ("/v1.47/images/json", "/v1.47/system/df", "/v1.47/containers/json?all=1"):
                    status, _, body = server.request("GET", path)
                    if status != 200:
                        errors.append((path, status, body))
                    json.loads(body)
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check.equal(errors, [], "16 clients at once, 60 requests each")


def load_save(rs, docker, check):
    c, d = rs.path("c"), rs.path("d")
    for store in (c, d):
        subprocess.run([rs.binary, "--store", store, "--content", "apply"], input="", text=True,
                       capture_output=True, check=True)
    archive = rs.path("images.tar")
    docker_archive(archive, [(["loaded:1", "loaded:latest"], [b"base layer", b"app one"]),
                             (["example.com/x/loaded:2"], [b"base layer", b"app two"]),
                             (None, [b"untagged"])], made_by="docker_cli_test")
    sc = Server(rs, c)
    try:
        p = subprocess.run([docker, "--host", sc.host, "load", "-i", archive], capture_output=True,
                           text=True, env=ENV)
        check.equal(p.returncode, 0, f"docker load: {p.stderr}")
        lines = p.stdout.splitlines()
        check.equal(sorted(line for line in lines if line.startswith("Loaded image:")),
                    ["Loaded image: example.com/x/loaded:2", "Loaded image: loaded:1",
                     "Loaded image: loaded:latest"], "docker load's lines")
        check.equal(len([line for line in lines if line.startswith("Loaded image ID: sha256:")]), 1,
                    "the untagged image is loaded by ID")
        # As docker shows a loaded image: its config's creation time and labels.
        p = subprocess.run([docker, "--host", sc.host, "image", "ls", "--filter",
                            "label=made-by=docker_cli_test", "--format", "{{.ID}} {{.CreatedAt}}"],
                           capture_output=True, text=True, env=ENV)
        rows = sorted(set(p.stdout.splitlines()))
        check.expect(len(rows) == 3 and all(r.endswith(" 2023-11-14 22:13:20 +0000 UTC") for r in rows),
                     f"loaded images keep their config's created and labels: {p.stdout!r} {p.stderr}")
        p = subprocess.run([docker, "--host", sc.host, "load", "-i", rs.path("nosuch.tar")],
                           capture_output=True, text=True, env=ENV)
        check.expect(p.returncode != 0, "docker load of a missing file fails")
        bad = rs.path("bad.tar")
        with open(bad, "wb") as f:
            f.write(b"this is not a tar archive" * 100)
        p = subprocess.run([docker, "--host", sc.host, "load", "-i", bad], capture_output=True,
                           text=True, env=ENV)
        # dockerd answers 200 and ends the stream with the error, which the
        # client prints; the server's temporary file is not named.
        check.expect(p.returncode == 1 and "invalid archive: the request body" in p.stderr and
                     rs.tmp not in p.stderr, f"docker load of garbage: {p.returncode} {p.stderr!r}")
        saved = rs.path("saved.tar")
        p = subprocess.run([docker, "--host", sc.host, "save", "-o", saved, "loaded:1",
                            "example.com/x/loaded:2"], capture_output=True, text=True, env=ENV)
        check.equal(p.returncode, 0, f"docker save: {p.stderr}")
        p = subprocess.run([docker, "--host", sc.host, "save", "-o", rs.path("x.tar"), "nosuch"],
                           capture_output=True, text=True, env=ENV)
        check.equal((p.returncode, p.stderr.strip()), (1, "Error response from daemon: No such image: nosuch:latest"),
                    "docker save of a missing image")
        want = subprocess.run([rs.binary, "--store", c, "image", "ls", "--no-trunc"],
                              capture_output=True, text=True, env=ENV).stdout
    finally:
        check.equal(sc.stop(), 0, "serve of the content store exits 0")
    sd = Server(rs, d)
    try:
        p = subprocess.run([docker, "--host", sd.host, "load", "-i", saved], capture_output=True,
                           text=True, env=ENV)
        check.equal(p.returncode, 0, f"docker load of docker save's archive: {p.stderr}")
        check.equal(sorted(p.stdout.splitlines()),
                    ["Loaded image: example.com/x/loaded:2", "Loaded image: loaded:1"],
                    "the saved names are loaded")
    finally:
        check.equal(sd.stop(), 0, "serve of the second content store exits 0")
    got = subprocess.run([rs.binary, "--store", d, "image", "ls", "--no-trunc"],
                         capture_output=True, text=True, env=ENV).stdout
    rows = lambda text: sorted(line.split()[2] for line in text.splitlines()[1:])  # noqa: E731
    check.expect(set(rows(got)) <= set(rows(want)) and len(rows(got)) == 2,
                 f"the saved images keep their IDs:\n{want}\n{got}")
    for store in (c, d):
        rc, out, err = subprocess.run([rs.binary, "--store", store, "check"], capture_output=True,
                                      text=True).returncode, "", ""
        check.equal(rc, 0, f"check of {store} after load")


if __name__ == "__main__":
    sys.exit(main())
