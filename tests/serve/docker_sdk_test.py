"""Debian's python3-docker SDK (5.0.3) against `refstore serve`, each result
compared with refstore's own command on the same store (tools/README.md
"refstore serve" lists the server's differences from dockerd).

Reads (ping, version, info, images with filters, inspect_image, df,
containers) run through docker.APIClient at the negotiated version (1.47),
at the SDK's default version (1.41) and at the oldest one served (1.24),
and through the high-level docker.DockerClient, against `refstore image ls
/ image inspect / system df [-v] / ps [-a] --format json` on the same store
(read-only, beside the server). Changes (tag, remove_image, create/start/
stop/remove_container, prune_images) run through the SDK against the
served store A and through `refstore apply` against store B, built from
the same operations: the SDK's results and errors (class, HTTP status,
message) against apply's results, then both stores. Then bad requests,
clients at once while names change, SIGTERM, and load_image / get_image /
Image.save between two stores with content stores.

Usage: docker_sdk_test.py PATH/TO/refstore
"""
import calendar
import datetime
import json
import os
import subprocess
import sys
import threading
import time

from servetest import Checker, Refstore, Server, docker_archive, digest, image_ops, requests_logged

ENV = dict(os.environ, TZ="UTC")

# The statuses of apply's error codes (docs/spec/OPLOG.md): what the server
# answers for the same error.
STATUS = {"invalid_argument": 400, "not_found": 404, "conflict": 409, "already_exists": 409,
          "failed_precondition": 409}


def main():
    check = Checker("serve.docker_sdk")
    try:
        import docker  # noqa: F401
    except ImportError as e:
        print(f"FAIL: python3-docker is not installed for {sys.executable}: {e}", file=sys.stderr)
        return 1
    rs = Refstore(sys.argv[1])
    try:
        run(rs, check)
    finally:
        rs.cleanup()
    return check.finish()


# --- refstore's own commands ---

class Ref:
    """refstore's commands on one store."""

    def __init__(self, rs, store):
        self.rs, self.store = rs, store

    def run(self, *args, stdin=""):
        p = subprocess.run([self.rs.binary, "--store", self.store, *args], capture_output=True,
                           text=True, env=ENV, input=stdin)
        return p.returncode, p.stdout, p.stderr

    def lines(self, *args):
        """The JSON Lines of a --format json command."""
        rc, out, err = self.run(*args)
        if rc != 0:
            raise RuntimeError(f"refstore {' '.join(args)}: {rc} {err}")
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def inspect(self, *names):
        rc, out, err = self.run("image", "inspect", *names)
        if rc != 0:
            raise RuntimeError(f"refstore image inspect {names}: {err}")
        return json.loads(out)

    def error(self, *args):
        """The message of a failing command (what docker's client prints
        after "Error response from daemon: ")."""
        rc, _, err = self.run(*args)
        prefix = "Error response from daemon: "
        return rc, err.strip()[len(prefix):] if err.startswith(prefix) else err.strip()

    def apply(self, op):
        """One operation's result line."""
        _, out, err = self.run("apply", stdin=json.dumps(op) + "\n")
        lines = out.splitlines()
        if len(lines) != 1:
            raise RuntimeError(f"apply {op}: {out!r} {err}")
        return json.loads(lines[0])


def unix(text):
    """Seconds of refstore's times: RFC 3339 (inspect) or docker's
    "2006-01-02 15:04:05 +0000 UTC" (the --format json columns)."""
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S +0000 UTC"):
        try:
            return calendar.timegm(time.strptime(text, fmt))
        except ValueError:
            pass
    raise ValueError("not a refstore time: " + text)


def want_images(ref, minor, *ls_args, check=None):
    """The GET /images/json answer docker gives at API 1.`minor` for the
    rows of `refstore image ls --no-trunc --digests --format json ARGS`:
    one summary per image ID (in the rows' order) with the names of its
    rows, docker's -1 for Containers and SharedSize (dockerd counts them
    only for df), Labels from `image inspect` (ls has none), VirtualSize and
    the "<none>" placeholders of a dangling image below 1.44."""
    rows = ref.lines("image", "ls", "--no-trunc", "--digests", "--format", "json", *ls_args)
    ids = list(dict.fromkeys(r["ID"] for r in rows))
    details = {d["Id"]: d for d in (ref.inspect(*ids) if ids else [])}
    out = []
    for image_id in ids:
        mine = [r for r in rows if r["ID"] == image_id]
        tags = [f"{r['Repository']}:{r['Tag']}" for r in mine if r["Tag"] != "<none>"]
        digests = list(dict.fromkeys(f"{r['Repository']}@{r['Digest']}" for r in mine
                                     if r["Digest"] != "<none>" and r["Repository"] != "<none>"))
        d = details[image_id]
        if check is not None and not ls_args:
            check.equal((tags, digests, mine[0]["SizeBytes"], unix(mine[0]["CreatedAt"])),
                        (d["RepoTags"], d["RepoDigests"], d["Size"], unix(d["Created"])),
                        f"refstore image ls and image inspect agree on {image_id}")
        s = {"Containers": -1, "Created": unix(mine[0]["CreatedAt"]), "Id": image_id,
             "Labels": d["Config"]["Labels"], "ParentId": "", "RepoDigests": digests,
             "RepoTags": tags, "SharedSize": -1, "Size": mine[0]["SizeBytes"]}
        if minor < 44:
            s["VirtualSize"] = s["Size"]
            if not tags and not digests:
                s["RepoTags"], s["RepoDigests"] = ["<none>:<none>"], ["<none>@<none>"]
        out.append(s)
    return out


def split_list(text):
    return [] if text == "" else text.split(",")


def want_containers(ref, *ps_args):
    """docker's container summaries for `refstore ps --no-trunc --format
    json ARGS`, without HostConfig and NetworkSettings (see view())."""
    out = []
    for r in ref.lines("ps", "--no-trunc", "--format", "json", *ps_args):
        out.append({"Id": r["ID"], "Names": ["/" + n for n in split_list(r["Names"])],
                    "Image": r["Image"], "ImageID": r["ImageID"],
                    "Command": json.loads(r["Command"]),  # docker's ps quotes the command
                    "Created": unix(r["CreatedAt"]), "Ports": split_list(r["Ports"]),
                    "Labels": dict(kv.split("=", 1) for kv in split_list(r["Labels"])),
                    "State": r["State"], "Status": r["Status"], "Mounts": split_list(r["Mounts"])})
    return out


def view(containers):
    """Container summaries without HostConfig and NetworkSettings: refstore
    keeps no network, so the server sends docker's shape of "none"
    ({"NetworkMode": "none"}, {"Networks": {}}), which no refstore command
    prints."""
    return [{k: v for k, v in c.items() if k not in ("HostConfig", "NetworkSettings")}
            for c in containers]


def want_df(ref, minor, check):
    """GET /system/df for the store: LayersSize is `system df`'s image SIZE
    (the distinct bytes); images with their container counts and shared
    sizes (`image ls`'s Containers and SharedSizeBytes, which `system df -v`
    prints too); containers as `ps -a`, with docker's SizeRw and SizeRootFs
    (refstore's containers have no layer: 0, `system df -v` prints 0B)."""
    totals = {r["Type"]: r for r in ref.lines("system", "df", "--format", "json")}
    rows = ref.lines("image", "ls", "--no-trunc", "--format", "json")
    images = want_images(ref, minor)
    for s in images:
        row = next(r for r in rows if r["ID"] == s["Id"])
        s["Containers"] = int(row["Containers"])
        s["SharedSize"] = row["SharedSizeBytes"]
    verbose = ref.lines("system", "df", "-v", "--format", "json")[0]
    check.equal(sorted({(r["ID"], int(r["Containers"]), r["SizeBytes"], r["SharedSizeBytes"],
                         r["UniqueSizeBytes"]) for r in verbose["Images"]}),
                sorted((s["Id"][7:19], s["Containers"], s["Size"], s["SharedSize"],
                        s["Size"] - s["SharedSize"]) for s in images),
                "refstore system df -v and image ls agree on the images")
    check.equal([(r["ID"], r["Size"]) for r in verbose["Containers"]],
                [(c["ID"][:12], "0B") for c in ref.lines("ps", "-a", "--no-trunc", "--format", "json")],
                "refstore system df -v and ps -a agree on the containers")
    containers = want_containers(ref, "-a")
    for c in containers:
        c["SizeRw"] = c["SizeRootFs"] = 0
    want = {"LayersSize": totals["Images"]["SizeBytes"], "Images": images, "Containers": containers,
            "Volumes": [], "BuildCache": []}
    if minor < 42:
        want["BuilderSize"] = 0  # dockerd sends it below 1.42
    return want, totals


def sdk_outcome(fn):
    """("ok", result) or (error class name, HTTP status, server's message)."""
    import docker
    try:
        return ("ok", fn())
    except docker.errors.APIError as e:
        return (type(e).__name__, e.status_code, e.explanation)


def want_outcome(result, ok=lambda r: None):
    """What the SDK gives for the server's answer to what `apply` did: the
    SDK raises ImageNotFound for a 404 whose message says "No such image",
    NotFound for another 404, APIError for the rest."""
    if result.get("ok"):
        return ("ok", ok(result))
    code, message = result["error"]["code"], result["error"]["message"]
    status = STATUS.get(code, 500)
    cls = "APIError"
    if status == 404:
        cls = "ImageNotFound" if "No such image" in message else "NotFound"
    return (cls, status, message)


# --- the test ---

def run(rs, check):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    a, b = rs.path("a"), rs.path("b")
    ops = image_ops(now)
    rs.apply(a, ops)
    rs.apply(b, ops)
    ra, rb = Ref(rs, a), Ref(rs, b)
    server = Server(rs, a)
    try:
        reads(server, ra, check)
        errors(server, ra, check)
        changes(server, ra, rb, check)
        many_clients(server, ra, check)
    finally:
        rc = server.stop()
    check.equal(rc, 0, "serve exits 0 on SIGTERM: " + open(server.stderr_path).read())
    check.expect(not os.path.exists(server.socket), "the socket file is removed on exit")
    check.equal(ra.run("check")[0], 0, "refstore check after serving")
    log = requests_logged(server.log)
    check.expect(len(log) > 700 and all("status" in r and "path" in r for r in log),
                 f"a request log line per request ({len(log)})")
    load_save(rs, check)


def clients(server):
    """(API minor, APIClient) at the negotiated version, the SDK's default
    and the oldest version the server takes."""
    import docker
    check_default = docker.constants.DEFAULT_DOCKER_API_VERSION
    return [(47, docker.APIClient(base_url=server.host, version="auto")),
            (int(check_default.split(".")[1]), docker.APIClient(base_url=server.host,
                                                                 version=check_default)),
            (24, docker.APIClient(base_url=server.host, version="1.24"))]


def reads(server, ref, check):
    import docker
    check.equal(docker.constants.DEFAULT_DOCKER_API_VERSION, "1.41", "the SDK's default API version")
    for minor, api in clients(server):
        v = f"1.{minor}"
        check.equal(api.api_version, v, f"{v}: the client's version")
        check.equal(api.ping(), True, f"{v}: ping")
        version = api.version()
        check.equal((version["ApiVersion"], version["MinAPIVersion"], version["Os"]),
                    ("1.47", "1.24", "linux"), f"{v}: version()")
        check.equal([c["Version"] for c in version["Components"]], [version["Version"]],
                    f"{v}: version()'s Engine component")

        want = want_images(ref, minor, check=check)
        check.equal(api.images(), want, f"{v}: images() is image ls")
        check.equal(api.images(all=True), want, f"{v}: images(all=True) (no intermediate images)")
        check.equal(api.images(quiet=True), [s["Id"] for s in want], f"{v}: images(quiet=True)")
        for kwargs, ls_args in (
                ({"filters": {"dangling": True}}, ["--filter", "dangling=true"]),
                ({"filters": {"dangling": False}}, ["--filter", "dangling=false"]),
                ({"filters": {"label": "org.example.tier"}}, ["--filter", "label=org.example.tier"]),
                ({"filters": {"label": "org.example.tier=app"}},
                 ["--filter", "label=org.example.tier=app"]),
                ({"filters": {"label": ["org.example.tier", "org.example.tier=base"]}},
                 ["--filter", "label=org.example.tier", "--filter", "label=org.example.tier=base"]),
                ({"filters": {"reference": "example.com/*/*"}}, ["--filter", "reference=example.com/*/*"]),
                ({"filters": {"before": "busybox:latest"}}, ["--filter", "before=busybox:latest"]),
                ({"name": "busybox"}, ["busybox"]),
                ({"name": "alpine:3.19"}, ["alpine:3.19"]),
                ({"name": "example.com/team/web"}, ["example.com/team/web"]),
                ({"name": "nosuch"}, ["nosuch"])):
            # At 1.24 the SDK sends name= as docker's old `filter` parameter
            # (a reference), which dockerd still takes below API 1.41.
            check.equal(api.images(**kwargs), want_images(ref, minor, *ls_args),
                        f"{v}: images({kwargs}) is image ls {' '.join(ls_args)}")

        dangling = api.images(filters={"dangling": True})
        check.equal(len(dangling), 1, f"{v}: one dangling image")
        if minor < 44:
            check.equal([(s["RepoTags"], s["RepoDigests"], s["VirtualSize"] == s["Size"]) for s in dangling],
                        [(["<none>:<none>"], ["<none>@<none>"], True)],
                        f"{v}: a dangling image's placeholders and VirtualSize")
        else:
            check.equal([(s["RepoTags"], s["RepoDigests"], "VirtualSize" in s) for s in dangling],
                        [([], [], False)], f"{v}: a dangling image has no names and no VirtualSize")

        for name in ("alpine:3.19", "busybox", "example.com/team/web@" + digest("web"),
                     digest("old"), digest("api")[7:19]):
            check.equal(api.inspect_image(name), ref.inspect(name)[0], f"{v}: inspect_image({name})")

        df_want, totals = want_df(ref, minor, check)
        # The SDK sends df only at 1.25 and later (its @minimum_version).
        df = api.df() if minor >= 25 else api._result(api._get(api._url("/system/df")), True)
        check.equal({**df, "Containers": view(df["Containers"])}, df_want, f"{v}: df() is system df")
        check.equal((len(df["Images"]), sum(1 for s in df["Images"] if s["Containers"] > 0),
                     len(df["Containers"]), sum(1 for c in df["Containers"] if c["State"] == "running")),
                    (int(totals["Images"]["TotalCount"]), int(totals["Images"]["Active"]),
                     int(totals["Containers"]["TotalCount"]), int(totals["Containers"]["Active"])),
                    f"{v}: df()'s counts are system df's")

        containers = api.containers(all=True)
        check.equal(view(containers), want_containers(ref, "-a"), f"{v}: containers(all=True) is ps -a")
        check.expect(all(c["HostConfig"] == {"NetworkMode": "none"} and
                         c["NetworkSettings"] == {"Networks": {}} for c in containers),
                     f"{v}: containers' HostConfig and NetworkSettings")
        check.equal(view(api.containers()), want_containers(ref), f"{v}: containers() is ps")
        check.equal(api.containers(all=True, quiet=True),
                    [{"Id": c["Id"]} for c in want_containers(ref, "-a")],
                    f"{v}: containers(all=True, quiet=True)")

        info = api.info()
        ps = ref.lines("ps", "-a", "--format", "json")
        running = sum(1 for c in ps if c["State"] == "running")
        check.equal({k: info[k] for k in ("Containers", "ContainersRunning", "ContainersPaused",
                                          "ContainersStopped", "Images", "DockerRootDir",
                                          "DriverStatus", "ServerVersion", "OSType")},
                    {"Containers": len(ps), "ContainersRunning": running, "ContainersPaused": 0,
                     "ContainersStopped": len(ps) - running,
                     "Images": int(totals["Images"]["TotalCount"]), "DockerRootDir": ref.store,
                     "DriverStatus": [["Store", ref.store], ["Namespace", "default"],
                                      ["Content store", "no"]],
                     "ServerVersion": version["Version"], "OSType": "linux"},
                    f"{v}: info()")
        api.close()

    # The high-level client: its Image and Container objects.
    for version in ("auto", "1.41"):
        hl = docker.DockerClient(base_url=server.host, version=version)
        v = "DockerClient " + version
        check.equal(hl.ping(), True, f"{v}: ping")
        check.equal(hl.version()["ApiVersion"], "1.47", f"{v}: version()")
        check.equal(hl.info()["Images"], len(want_images(ref, 47)), f"{v}: info()")
        inspected = lambda *args: ref.inspect(*[s["Id"] for s in want_images(ref, 47, *args)])  # noqa: E731
        check.equal([i.attrs for i in hl.images.list(all=True)], inspected(),
                    f"{v}: images.list(all=True) (an inspect per image)")
        got = hl.images.list(all=True, filters={"dangling": True})
        check.equal([(i.attrs, i.tags) for i in got],
                    [(d, []) for d in inspected("--filter", "dangling=true")],
                    f"{v}: images.list(dangling)")
        check.equal([i.attrs for i in hl.images.list(name="alpine")], inspected("alpine"),
                    f"{v}: images.list(name=alpine)")
        check.equal([i.attrs for i in hl.images.list(filters={"label": "org.example.tier=base"})],
                    inspected("--filter", "label=org.example.tier=base"), f"{v}: images.list(label)")
        image = hl.images.get("example.com/team/web:1.0")
        check.equal((image.attrs, image.tags, image.labels, image.short_id),
                    (ref.inspect("example.com/team/web:1.0")[0], ["example.com/team/web:1.0"], {},
                     "sha256:" + digest("web")[7:17]), f"{v}: images.get")
        try:
            hl.images.get("nosuch:1")
            check.expect(False, f"{v}: images.get of a missing image raises ImageNotFound")
        except docker.errors.ImageNotFound as e:
            check.equal((e.status_code, e.explanation), (404, "No such image: nosuch:1"),
                        f"{v}: images.get of a missing image")
        df = hl.df()
        check.equal([s["Id"] for s in df["Images"]], [s["Id"] for s in want_images(ref, 47)],
                    f"{v}: df()")
        # containers.list(sparse=True): the summaries. Without sparse the SDK
        # inspects each container (GET /containers/{id}/json), an endpoint
        # refstore serve does not serve (404 page not found), like
        # containers.get and containers.create, which return inspected
        # objects; the APIClient's container calls are tested instead.
        got = hl.containers.list(all=True, sparse=True)
        check.equal(view([c.attrs for c in got]), want_containers(ref, "-a"),
                    f"{v}: containers.list(all=True, sparse=True)")
        check.equal([(c.id, c.status) for c in got],
                    [(c["ID"], c["State"]) for c in ref.lines("ps", "-a", "--no-trunc", "--format", "json")],
                    f"{v}: the containers' id and status")
        hl.close()


def errors(server, ref, check):
    import docker
    api = docker.APIClient(base_url=server.host, version="auto")
    # An unknown endpoint: docker's 404 "page not found", through the SDK
    # (NotFound) and raw, with and without a version prefix.
    check.equal(sdk_outcome(lambda: api._result(api._get(api._url("/no/such")))),
                ("NotFound", 404, "page not found"), "the SDK on an unknown endpoint")
    hl = docker.DockerClient(base_url=server.host, version="1.41")
    check.equal(sdk_outcome(lambda: hl.api._result(hl.api._post(hl.api._url("/images/{0}/push", "alpine")))),
                ("NotFound", 404, "page not found"), "DockerClient on an endpoint not served (push)")
    hl.close()
    for path in ("/v1.47/no/such", "/no/such", "/v1.41/images/json/extra", "/v1.47/containers/x/pause"):
        status, headers, body = server.request("GET", path)
        check.equal((status, json.loads(body), headers.get("Api-Version")),
                    (404, {"message": "page not found"}, "1.47"), f"GET {path}")
    status, _, body = server.request("PUT", "/v1.47/images/json")
    check.equal((status, json.loads(body)), (404, {"message": "page not found"}), "PUT /images/json")

    # filters that are not JSON (or not an object): 400, and nothing runs.
    before = ref.lines("image", "ls", "--no-trunc", "--digests", "--format", "json")
    for text in ("{bad", "[1]", "not json", '{"dangling": "true"}'):
        for what, call in (("images", lambda: api._result(api._get(api._url("/images/json"),
                                                                   params={"filters": text}), True)),
                           ("prune", lambda: api._result(api._post(api._url("/images/prune"),
                                                                   params={"filters": text}), True))):
            got = sdk_outcome(call)
            check.equal(got[:2], ("APIError", 400), f"{what} with filters={text!r}: {got}")
    check.equal(ref.lines("image", "ls", "--no-trunc", "--digests", "--format", "json"), before,
                "a prune with bad filters removed nothing")
    # A filter refstore rejects: the same message as `refstore image ls`.
    for filters, flag in (({"bogus": "1"}, "bogus=1"), ({"dangling": "maybe"}, "dangling=maybe")):
        rc, message = ref.error("image", "ls", "--filter", flag)
        check.equal(sdk_outcome(lambda: api.images(filters=filters)), ("APIError", 400, message),
                    f"images(filters={filters}) is image ls --filter {flag} (exit {rc})")
    rc, message = ref.error("image", "inspect", "nosuch")
    check.equal((rc, sdk_outcome(lambda: api.inspect_image("nosuch"))),
                (1, ("ImageNotFound", 404, message)), "inspect_image of a missing image")
    # API versions outside 1.24..1.47.
    for version, message in (("1.48", "client version 1.48 is too new. "
                                      "Maximum supported API version is 1.47"),
                             ("1.23", "client version 1.23 is too old. Minimum supported API version is "
                                      "1.24, please upgrade your client to a newer version")):
        old = docker.APIClient(base_url=server.host, version=version)
        check.equal(sdk_outcome(old.images), ("APIError", 400, message), f"a client at {version}")
        old.close()
    # save needs a content store; this store has none.
    got = sdk_outcome(lambda: b"".join(api.get_image("alpine:3.19")))
    check.equal(got[:2], ("APIError", 409), f"get_image without a content store: {got}")
    api.close()


def changes(server, ra, rb, check):
    """The SDK on A, `refstore apply` on B."""
    import docker
    api = docker.APIClient(base_url=server.host, version="auto")
    hl = docker.DockerClient(base_url=server.host, version="auto")

    def same(what, call, op, ok=lambda r: None):
        got = sdk_outcome(call)
        want = want_outcome(rb.apply(op), ok)
        check.equal(got, want, what)
        return got

    deleted = lambda r: r["deleted"]  # noqa: E731
    same("tag", lambda: api.tag("busybox:latest", "mybox", "1"),
         {"op": "tag", "source": "busybox:latest", "target": "mybox:1"}, lambda r: True)
    same("tag without a tag: latest", lambda: api.tag("busybox:latest", "mybox"),
         {"op": "tag", "source": "busybox:latest", "target": "mybox:latest"}, lambda r: True)
    alpine_id = ra.inspect("alpine:3.19")[0]["Id"]
    same("Image.tag (by ID)", lambda: hl.images.get("alpine:3.19").tag("myalpine", "x"),
         {"op": "tag", "source": alpine_id, "target": "myalpine:x"}, lambda r: True)
    same("tag of a missing image", lambda: api.tag("nosuch", "x", "1"),
         {"op": "tag", "source": "nosuch", "target": "x:1"})
    same("tag to a bad name", lambda: api.tag("busybox", "Bad", "Name"),
         {"op": "tag", "source": "busybox", "target": "Bad:Name"})
    same("remove_image: untag", lambda: api.remove_image("mybox:1"),
         {"op": "rmi", "ref": "mybox:1"}, deleted)
    same("images.remove: untag", lambda: hl.images.remove("mybox"),
         {"op": "rmi", "ref": "mybox"}, lambda r: None)
    got = same("remove_image: conflict (a running container)",
               lambda: api.remove_image("example.com/team/web:1.0"),
               {"op": "rmi", "ref": "example.com/team/web:1.0"}, deleted)
    check.equal(got[:2], ("APIError", 409), "the conflict is a 409 APIError")
    got = same("remove_image of a missing image", lambda: api.remove_image("nosuch:1"),
               {"op": "rmi", "ref": "nosuch:1"}, deleted)
    check.equal(got[:2], ("ImageNotFound", 404), "a missing image is ImageNotFound, 404")
    same("remove_image(force) of a missing image", lambda: api.remove_image("nosuch:1", force=True),
         {"op": "rmi", "ref": "nosuch:1", "force": True}, deleted)
    same("remove_image: deleted, the shared layer kept", lambda: api.remove_image("example.com/team/api:2.1"),
         {"op": "rmi", "ref": "example.com/team/api:2.1"}, deleted)
    same("remove_image(force) of the second name", lambda: api.remove_image("myalpine:x", force=True),
         {"op": "rmi", "ref": "myalpine:x", "force": True}, deleted)

    # Containers: the server makes the ID; B gets the same one.
    created = api.create_container("alpine:latest")
    cid = created.get("Id", "")
    check.expect(len(cid) == 64 and all(ch in "0123456789abcdef" for ch in cid) and
                 created.get("Warnings") == [], f"create_container: {created}")
    check.equal(rb.apply({"op": "container_create", "id": cid, "image": "alpine:latest"}).get("ok"), True,
                "container_create on B")
    same("create_container of a missing image", lambda: api.create_container("nosuch:1"),
         {"op": "container_create", "id": "e" * 64, "image": "nosuch:1"})
    same("start", lambda: api.start(cid), {"op": "container_start", "id": cid})
    check.equal(view(api.containers()), want_containers(ra), "containers() after start is ps")
    got = same("remove_container of a running one", lambda: api.remove_container(cid),
               {"op": "container_rm", "id": cid})
    check.equal(got[:2], ("APIError", 409), "removing a running container is a 409 APIError")
    same("stop", lambda: api.stop(cid, timeout=1), {"op": "container_stop", "id": cid})
    # docker answers 304 for a container already stopped or started: the SDK
    # returns None as for 204.
    check.equal(sdk_outcome(lambda: api.stop(cid, timeout=1)), ("ok", None), "stop of a stopped container")
    same("start by ID prefix", lambda: api.start(cid[:12]), {"op": "container_start", "id": cid})
    check.equal(sdk_outcome(lambda: api.start(cid)), ("ok", None), "start of a running container")
    # force: docker kills and removes; B stops, then removes.
    check.equal(rb.apply({"op": "container_stop", "id": cid}).get("ok"), True, "container_stop on B")
    same("remove_container(force) of a running one", lambda: api.remove_container(cid[:12], force=True),
         {"op": "container_rm", "id": cid})
    # refstore's container_rm takes 64 hex characters (another message):
    # docker's message for an unknown container.
    check.equal(sdk_outcome(lambda: api.remove_container("nosuch")),
                ("NotFound", 404, "No such container: nosuch"), "remove_container of an unknown container")
    check.equal(sdk_outcome(lambda: api.start("f" * 64)),
                ("NotFound", 404, "No such container: " + "f" * 64), "start of an unknown container")

    # Force on a name of an image a running container uses: docker untags
    # it (and its digest names); the image stays, dangling.
    same("remove_image(force) of a running container's image",
         lambda: api.remove_image("example.com/team/web:1.0", force=True),
         {"op": "rmi", "ref": "example.com/team/web:1.0", "force": True}, deleted)
    check.equal(api.images(filters={"dangling": True}), want_images(ra, 47, "--filter", "dangling=true"),
                "the force-untagged image is dangling")

    pruned = lambda r: {"ImagesDeleted": r["ImagesDeleted"] or None,  # noqa: E731
                        "SpaceReclaimed": r["SpaceReclaimed"]}
    # dockerd sends "ImagesDeleted": null when nothing is deleted; apply [].
    same("prune_images(label) deletes nothing dangling",
         lambda: api.prune_images(filters={"label": "org.example.tier=app"}),
         {"op": "prune", "filters": {"label": ["org.example.tier=app"]}}, pruned)
    same("prune_images()", api.prune_images, {"op": "prune"}, pruned)
    same("prune_images() again", api.prune_images, {"op": "prune"}, pruned)
    same("prune_images(dangling=false, label)",
         lambda: api.prune_images(filters={"dangling": False, "label": "org.example.tier=base"}),
         {"op": "prune", "all": True, "filters": {"label": ["org.example.tier=base"]}}, pruned)
    same("images.prune(dangling=false): prune -a", lambda: hl.images.prune(filters={"dangling": False}),
         {"op": "prune", "all": True}, pruned)

    check.equal(api.images(), want_images(ra, 47, check=check), "images() after the changes")
    df_want, _ = want_df(ra, 47, check)
    df = api.df()
    check.equal({**df, "Containers": view(df["Containers"])}, df_want, "df() after the changes")

    # A and B: the same images and containers (times of use and of
    # creation aside: A's containers were created by the server's clock).
    def strip(rows):
        return [{k: v for k, v in r.items()
                 if not k.endswith("Since") and k not in ("LastUsedAt", "RunningFor")
                 and not (k == "CreatedAt" and "State" in r)} for r in rows]
    for args in (("image", "ls", "--no-trunc", "--digests", "--format", "json"),
                 ("ps", "-a", "--no-trunc", "--format", "json"),
                 ("system", "df", "--format", "json")):
        check.equal(strip(ra.lines(*args)), strip(rb.lines(*args)), "A and B: " + " ".join(args))
    va, vb = (r.lines("system", "df", "-v", "--format", "json")[0] for r in (ra, rb))
    check.equal({k: strip(v) if isinstance(v, list) else v for k, v in va.items()},
                {k: strip(v) if isinstance(v, list) else v for k, v in vb.items()}, "A and B: system df -v")
    api.close()
    hl.close()


def many_clients(server, ref, check):
    """8 clients, each its own APIClient, 25 rounds of images(), df() and
    containers(all=True), while a 9th tags and untags names of one image:
    every call succeeds, every answer shows the same images and containers
    with only the changing names, and the end is what refstore reports."""
    import docker
    api = docker.APIClient(base_url=server.host, version="auto")
    base = api.images()
    source = base[0]["Id"]
    ids = [s["Id"] for s in base]
    names = {s["Id"]: set(s["RepoTags"]) for s in base}
    container_ids = [c["Id"] for c in api.containers(all=True)]
    errors, done = [], threading.Event()
    rounds, seen = [0], []

    def reader(i):
        client = docker.APIClient(base_url=server.host, version="auto")
        try:
            for _ in range(25):
                for images in (client.images(), client.df()["Images"]):
                    if [s["Id"] for s in images] != ids:
                        errors.append((i, "images", [s["Id"] for s in images]))
                    for s in images:
                        extra = set(s["RepoTags"]) - names[s["Id"]]
                        if names[s["Id"]] - set(s["RepoTags"]) or (extra and (
                                s["Id"] != source or any(not t.startswith("conc:") for t in extra))):
                            errors.append((i, "names", s["Id"], s["RepoTags"]))
                        if extra:
                            seen.append(i)
                got = [c["Id"] for c in client.containers(all=True)]
                if got != container_ids:
                    errors.append((i, "containers", got))
        except Exception as e:  # noqa: BLE001
            errors.append((i, repr(e)))
        finally:
            client.close()

    def tagger():
        client = docker.APIClient(base_url=server.host, version="auto")
        try:
            r = 0
            while not done.is_set() or r < 10:
                if client.tag(source, "conc", str(r)) is not True:
                    errors.append(("tag", r))
                if r > 0:
                    got = client.remove_image(f"conc:{r - 1}")
                    if got != [{"Untagged": f"conc:{r - 1}"}]:
                        errors.append(("untag", r, got))
                r += 1
            rounds[0] = r
        except Exception as e:  # noqa: BLE001
            errors.append(("tagger", repr(e)))
        finally:
            client.close()

    readers = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
    writer = threading.Thread(target=tagger)
    writer.start()
    for t in readers:
        t.start()
    for t in readers:
        t.join()
    done.set()
    writer.join()
    check.equal(errors, [], "8 SDK clients at once while names change (25 rounds each)")
    check.expect(len(seen) > 0, "the clients saw the names change")
    last = f"conc:{rounds[0] - 1}"
    want = want_images(ref, 47)
    check.equal(api.images(), want, f"images() after {rounds[0]} tags is image ls")
    check.equal([s["RepoTags"] for s in want if s["Id"] == source],
                [sorted(names[source] | {last})], "only the last concurrent tag is left")
    api.close()


def load_save(rs, check):
    """load_image / images.load into a content store C, get_image and
    Image.save from C, loaded into a second content store D."""
    import docker
    c, d = rs.path("c"), rs.path("d")
    for store in (c, d):
        subprocess.run([rs.binary, "--store", store, "--content", "apply"], input="", text=True,
                       capture_output=True, check=True)
    rc, rd = Ref(rs, c), Ref(rs, d)
    archive, single = rs.path("images.tar"), rs.path("single.tar")
    docker_archive(archive, [(["loaded:1", "loaded:latest"], [b"base layer", b"app one"]),
                             (["example.com/x/loaded:2"], [b"base layer", b"app two"]),
                             (None, [b"untagged"])], made_by="docker_sdk_test")
    docker_archive(single, [(["single:1"], [b"single layer"])], made_by="docker_sdk_test")
    sc = Server(rs, c)
    try:
        api = docker.APIClient(base_url=sc.host, version="auto")
        hl = docker.DockerClient(base_url=sc.host, version="auto")
        # dockerd streams load's progress lines (chunked); the SDK decodes a
        # response that is not chunked as one JSON document.
        try:
            with open(archive, "rb") as f:
                got = list(api.load_image(f))
        except Exception as e:  # noqa: BLE001
            got = repr(e)
        untagged = [s["Id"] for s in want_images(rc, 47, "--filter", "dangling=true")]
        check.equal(len(untagged), 1, "the untagged image is loaded")
        want = [{"stream": f"Loaded image: {n}\n"}
                for n in ("loaded:1", "loaded:latest", "example.com/x/loaded:2")]
        want += [{"stream": f"Loaded image ID: {i}\n"} for i in untagged]
        check.equal(sorted(got, key=json.dumps) if isinstance(got, list) else got,
                    sorted(want, key=json.dumps), "load_image of three images: its progress lines")
        with open(single, "rb") as f:
            loaded = hl.images.load(f.read())
        check.equal([(i.id, i.tags, i.attrs) for i in loaded],
                    [(rc.inspect("single:1")[0]["Id"], ["single:1"], rc.inspect("single:1")[0])],
                    "images.load: the loaded Image")
        check.equal(api.images(), want_images(rc, 47, check=check), "images() after load is image ls")
        # docker shows a loaded image's config: its "created" and its labels.
        check.equal([(s["Created"], s["Labels"]) for s in api.images()],
                    [(1700000000, {"made-by": "docker_sdk_test"})] * 4,
                    "loaded images have their config's created (2023-11-14T22:13:20Z) and labels")
        for name in ("loaded:1", "example.com/x/loaded:2", "single:1", untagged[0]):
            check.equal(api.inspect_image(name), rc.inspect(name)[0], f"inspect_image({name}) after load")
        # docker answers a load of something that is not an archive 200 with
        # an error line (the SDK's images.load raises ImageLoadError);
        # refstore serve answers 400 (APIError). Both are the SDK's
        # DockerException for a failed load.
        try:
            hl.images.load(b"this is not a tar archive" * 100)
            check.expect(False, "images.load of garbage fails")
        except (docker.errors.ImageLoadError, docker.errors.APIError) as e:
            check.expect(isinstance(e, docker.errors.ImageLoadError) or e.status_code == 400,
                         f"images.load of garbage: {e!r}")

        saved = {}
        for key, call in (("named", lambda: api.get_image("loaded:1")),
                          ("save(named=True)",
                           lambda: hl.images.get("example.com/x/loaded:2").save(named=True)),
                          ("save() by ID", lambda: hl.images.get(untagged[0]).save(chunk_size=4096))):
            path = rs.path(key.replace(" ", "_") + ".tar")
            with open(path, "wb") as f:
                for chunk in call():
                    f.write(chunk)
            saved[key] = path
            check.expect(os.path.getsize(path) > 1024, f"{key}: an archive ({os.path.getsize(path)} bytes)")
        check.equal(sdk_outcome(lambda: b"".join(api.get_image("nosuch"))),
                    ("ImageNotFound", 404, "No such image: nosuch:latest"), "get_image of a missing image")
        want_c = {s["Id"]: s for s in api.images()}
        api.close()
        hl.close()
    finally:
        check.equal(sc.stop(), 0, "serve of the content store exits 0")

    sd = Server(rs, d)
    try:
        api = docker.APIClient(base_url=sd.host, version="auto")
        hl = docker.DockerClient(base_url=sd.host, version="auto")
        with open(saved["named"], "rb") as f:
            loaded = hl.images.load(f)
        check.equal([(i.id, i.tags) for i in loaded], [(rc.inspect("loaded:1")[0]["Id"], ["loaded:1"])],
                    "get_image's archive loads with its name and ID")
        with open(saved["save(named=True)"], "rb") as f:
            got = list(api.load_image(f))
        check.equal(got, [{"stream": "Loaded image: example.com/x/loaded:2\n"}],
                    "Image.save(named=True) loads")
        with open(saved["save() by ID"], "rb") as f:
            got = list(api.load_image(f.read()))
        check.equal(got, [{"stream": f"Loaded image ID: {untagged[0]}\n"}], "Image.save() loads by ID")
        images = api.images()
        check.equal(images, want_images(rd, 47, check=check), "images() of D is image ls")
        # Same IDs, sizes, creation times and labels as in C, with the names
        # saved (loaded:1 without loaded:latest, none for the save by ID).
        strip = lambda s: {k: v for k, v in s.items()  # noqa: E731
                           if k not in ("RepoTags", "RepoDigests")}
        check.equal([strip(s) for s in images], [strip(want_c[s["Id"]]) for s in images if s["Id"] in want_c],
                    "the saved images keep their IDs, sizes, creation times and labels")
        check.equal({s["Id"]: s["RepoTags"] for s in images},
                    {rc.inspect("loaded:1")[0]["Id"]: ["loaded:1"],
                     rc.inspect("example.com/x/loaded:2")[0]["Id"]: ["example.com/x/loaded:2"],
                     untagged[0]: []}, "the saved images keep the names saved")
        api.close()
        hl.close()
    finally:
        check.equal(sd.stop(), 0, "serve of the second content store exits 0")
    for store in (c, d):
        check.equal(Ref(rs, store).run("check")[0], 0,
                    f"refstore check of {os.path.basename(store)} after load")


if __name__ == "__main__":
    sys.exit(main())
