#!/usr/bin/python3
# Adapted from /work/shared/peers/engines/bench.py (2026-12-07) for refstore bench/peer/engines: a plan of sizes and
# peers run one after the other, per-run and whole-run time limits, docker's two storage drivers as two peers,
# load average and machine CPU per step, results (small JSON only) written into the project.
"""Load the same generated images into refstore, dockerd 20.10 (overlay2, vfs) and podman 4.3.1, one peer at a
time; time load, system df, single-image rmi and image prune -a -f; compare the space each engine reports with
the true distinct bytes of what the prune removed (from the generator's meta.json).

    /usr/bin/python3 bench/peer/engines/bench.py            # the whole plan (see README.md)

Image data, stores and logs go under --data (default /var/tmp/refstore-peers) and are deleted at the end unless
--keep; the JSON results go to --out (default bench/results/peer-engines, relative to the repository).
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, HERE)
import peers  # noqa: E402
from gen_workload import distinct_bytes  # noqa: E402

UNITS = {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}
PEERS = ("refstore", "docker-overlay2", "docker-vfs", "podman-overlay", "podman-vfs")


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_size(s):
    m = re.match(r"^\s*([0-9.]+)\s*([kKMGT]?B)\s*$", s)
    return int(round(float(m.group(1)) * UNITS[m.group(2)])) if m else None


def total_reclaimed(out):
    m = re.search(r"Total reclaimed space: (\S+)", out)
    return (m.group(1), parse_size(m.group(1))) if m else (None, None)


def cpu():
    """CPU seconds of the last command: the CLI process and its children, plus, for docker, the daemons."""
    return round(peers.LAST["cli"] + peers.LAST["daemon"], 3)


def med_ms(xs):
    return round(statistics.median(xs) * 1000, 1)


class LoadSampler(threading.Thread):
    """The 1-minute load average every `every` seconds, for the whole run."""

    def __init__(self, every=10):
        super().__init__(daemon=True)
        self.every, self.samples, self.t0 = every, [], time.monotonic()
        self.stop_ev = threading.Event()

    def run(self):
        while not self.stop_ev.is_set():
            self.samples.append((round(time.monotonic() - self.t0, 1), round(os.getloadavg()[0], 2)))
            self.stop_ev.wait(self.every)

    def between(self, a, b):
        xs = [v for t, v in self.samples if a <= t <= b]
        return {"max": max(xs), "mean": round(statistics.mean(xs), 2)} if xs else None


def workload(data, n, seed):
    d = os.path.join(data, "work", "n%d-s%d" % (n, seed))
    if not os.path.exists(os.path.join(d, "meta.json")):
        peers.fresh(d)
        t0 = time.monotonic()
        subprocess.check_call([sys.executable, os.path.join(HERE, "gen_workload.py"), "-n", str(n),
                               "--seed", str(seed), d], stdout=subprocess.DEVNULL)
        print("  generated %s in %.1fs" % (d, time.monotonic() - t0), flush=True)
    with open(os.path.join(d, "meta.json")) as f:
        return d, json.load(f)


PODMAN_MANIFEST_MAX = 1 << 20  # containers/image reads a docker-archive's manifest.json only up to 1 MiB


def archive_parts(wdir, per_part=2000):
    """The docker-archive as one file, or, when its manifest.json is larger than podman 4.3.1 reads (a single
    `podman load` of 5,000 of these images fails: "docker-archive: exceeded maximum allowed size of 1048576
    bytes"), split into parts of per_part images, each holding the configs and layers its images use."""
    import tarfile
    src = os.path.join(wdir, "docker-archive.tar")
    with tarfile.open(src) as t:
        mi = t.getmember("manifest.json")
        if mi.size <= PODMAN_MANIFEST_MAX:
            return [src]
        man = json.load(t.extractfile(mi))
        parts = []
        for k in range(0, len(man), per_part):
            chunk = man[k:k + per_part]
            dst = os.path.join(wdir, "docker-archive-part%d.tar" % (k // per_part))
            parts.append(dst)
            if os.path.exists(dst):
                continue
            with tarfile.open(dst + ".tmp", "w", format=tarfile.USTAR_FORMAT) as o:
                seen = set()
                for e in chunk:
                    for nm in [e["Config"]] + e["Layers"]:
                        if nm not in seen:
                            seen.add(nm)
                            m = t.getmember(nm)
                            o.addfile(m, t.extractfile(m))
                for nm, data in (("manifest.json", json.dumps(chunk).encode()),):
                    ti = tarfile.TarInfo(nm)
                    ti.size, ti.mtime, ti.mode = len(data), mi.mtime, 0o644
                    import io
                    o.addfile(ti, io.BytesIO(data))
            os.rename(dst + ".tmp", dst)
        return parts


def engine_info(r, name, p):
    try:
        if name.startswith("docker"):
            i = p.api("GET", "/info")
            v = p.api("GET", "/version")
            r["engine"] = {"server_version": v.get("Version"), "api": v.get("ApiVersion"), "driver": i.get("Driver"),
                           "driver_status": i.get("DriverStatus"), "kernel": i.get("KernelVersion"),
                           "client": subprocess.run([peers.DOCKER_CLI, "--version"], stdout=subprocess.PIPE)
                           .stdout.decode().strip(),
                           "containerd": [c.get("Version") for c in v.get("Components", [])
                                          if c.get("Name") == "containerd"]}
        elif name.startswith("podman"):
            _, o, _, _ = p.cli("info", "--format", "json", timeout=120)
            j = json.loads(o)
            r["engine"] = {"version": j.get("version", {}).get("Version"),
                           "driver": j.get("store", {}).get("graphDriverName"),
                           "driver_status": j.get("store", {}).get("graphStatus"),
                           "conmon": j.get("host", {}).get("conmon", {}).get("version"),
                           "oci_runtime": j.get("host", {}).get("ociRuntime", {}).get("name")}
    except Exception as e:  # informational only
        r["engine"] = {"error": str(e)[:300]}


def bench_peer(name, n, wdir, meta, a, sampler, refstore_bin):
    """One peer at one size, on a fresh store. Returns the result dict (also written to --out)."""
    r = {"peer": name, "N": n, "seed": a.seed, "started": now_utc(), "loadavg_start": list(os.getloadavg()),
         "budget_s": a.budget}
    t_start = time.monotonic()
    s_start = t_start - sampler.t0
    root = os.path.join(a.data, "run", "%s-n%d" % (name, n))
    peers.fresh(root)
    logdir = os.path.join(a.data, "logs", "n%d-%s" % (n, name))
    os.makedirs(logdir, exist_ok=True)

    def save(tag, txt):
        with open(os.path.join(logdir, tag + ".txt"), "w") as f:
            f.write(txt)

    def rem():
        return max(5.0, a.budget - (time.monotonic() - t_start))

    archive = os.path.join(wdir, "docker-archive.tar")
    d = None
    if name == "refstore":
        p = peers.Refstore(root, refstore_bin)
        load_cmd = ("--content", "image", "import", os.path.join(wdir, "layout"), "--repository", "bench")
        r["driver"] = "rocksdb+content"
    elif name.startswith("podman"):
        r["driver"] = name.split("-", 1)[1]
        runroot = os.path.join(a.runroot, "%s-n%d" % (name, n))
        peers.fresh(runroot)
        p = peers.Podman(root, r["driver"], runroot)
        parts = archive_parts(wdir)
        load_cmd = ("load", "-i", archive)
        if len(parts) > 1:
            r["load_parts"] = len(parts)
    else:
        r["driver"] = name.split("-", 1)[1]
        p = d = peers.Docker(root, r["driver"])
        load_cmd = ("load", "-i", archive)
    r["load_command"] = " ".join(load_cmd)
    step = "start"
    try:
        if d:
            d.start()
        engine_info(r, name, p)

        step = "load"
        if r.get("load_parts"):
            # one `podman load -i` per part, one after the other; the figures are their sums
            dt = c = sb = 0.0
            out = err = ""
            r["load_parts_s"] = []
            for part in parts:
                d1, o1, e1, _ = p.cli("load", "-i", part, timeout=rem())
                dt, c, sb = dt + d1, c + cpu(), sb + peers.LAST["sys_busy"]
                out, err = out + o1, err + e1
                r["load_parts_s"].append(round(d1, 2))
                print("  %-16s load part %d/%d %.1fs" % (name, len(r["load_parts_s"]), len(parts), d1), flush=True)
            r["load_command"] = "load -i docker-archive-partK.tar, K = 0..%d" % (len(parts) - 1)
            r["load_cpu_s"] = round(c, 3)
            r["load_sys_busy_s"] = round(sb, 2)
        else:
            dt, out, err, _ = p.cli(*load_cmd, timeout=rem())
            r["load_cpu_s"] = cpu()
            r["load_sys_busy_s"] = round(peers.LAST["sys_busy"], 2)
        r["load_s"] = round(dt, 2)
        r["load_loadavg_after"] = peers.LAST["loadavg"]
        save("load", out + err)
        print("  %-16s load %.1fs (cpu %.1fs)" % (name, dt, r["load_cpu_s"]), flush=True)

        step = "ls"
        dt, out, _, _ = p.cli("image", "ls", "-q", "--no-trunc", timeout=rem())
        r["ls_q_ms"] = round(dt * 1000, 1)
        r["images_loaded"] = len(set(out.split()))

        step = "df"
        ts, cs = [], []
        for _ in range(3):
            dt, out, _, _ = p.cli("system", "df", timeout=rem())
            ts.append(dt)
            cs.append(cpu())
        r["df_ms"] = med_ms(ts)
        r["df_ms_all"] = [round(t * 1000, 1) for t in ts]
        r["df_cpu_ms"] = round(statistics.median(cs) * 1000, 1)
        r["df_output"] = out
        save("df", out)

        def exact():
            """The engine's own figures, unrounded."""
            if name == "refstore":
                _, o, _, _ = p.cli("system", "df", "--format", "json", timeout=rem())
                rows = [json.loads(l) for l in o.splitlines() if l.strip()]
                img = [x for x in rows if x.get("Type") == "Images"][0]
                return {"df_size": img.get("SizeBytes"), "df_reclaimable": img.get("ReclaimableBytes")}
            if name.startswith("podman"):
                _, o, _, _ = p.cli("system", "df", "--format", "{{json .}}", timeout=rem())
                img = [json.loads(l) for l in o.splitlines() if '"Images"' in l][0]
                return {"df_size": img.get("Size"), "df_reclaimable": img.get("Reclaimable")}
            j = d.api("GET", "/system/df")
            return {"df_size": j["LayersSize"], "sum_image_size": sum(i["Size"] for i in j["Images"])}

        step = "exact"
        r["before"] = exact()
        r["du_before"] = peers.du(p.data_dir())

        # single-image rmi: the last a.rmi images by index (each has unique layers, so each frees some)
        step = "rmi"
        ts, cs, rm_idx = [], [], list(range(n - 1, n - 1 - a.rmi, -1))
        for i in rm_idx:
            dt, out, _, _ = p.cli("image", "rm", "bench:img%d" % i, timeout=rem())
            ts.append(dt)
            cs.append(cpu())
            if i == rm_idx[0]:
                r["rmi_output"] = out
        r["rmi_ms"] = med_ms(ts)
        r["rmi_ms_all"] = [round(t * 1000, 1) for t in ts]
        r["rmi_cpu_ms"] = round(statistics.median(cs) * 1000, 1)
        r["after_rmi"] = exact()
        du_mid = peers.du(p.data_dir())
        r["du_after_rmi"] = du_mid
        if name == "refstore":
            r["du_whole_store_after_rmi"] = peers.du(p.store)
        keep = [i for i in range(n) if i not in set(rm_idx)]
        r["true"] = distinct_bytes(meta, keep)
        r["true"]["images"] = len(keep)

        step = "prune"
        if name == "refstore":
            _, o, _, _ = p.cli("image", "prune", "-a", "--dry-run", "--format", "json", timeout=rem())
            r["dry_run_exact_bytes"] = json.loads(o.splitlines()[-1]).get("SpaceReclaimed")
        dt, out, err, _ = p.cli("image", "prune", "-a", "-f", timeout=rem())
        r["prune_s"] = round(dt, 3)
        r["prune_cpu_s"] = cpu()
        r["prune_sys_busy_s"] = round(peers.LAST["sys_busy"], 2)
        r["prune_loadavg_after"] = peers.LAST["loadavg"]
        save("prune", out + err)
        lines = out.splitlines()
        r["prune_lines"] = len(lines)
        r["prune_output_head"] = lines[:4]
        r["prune_output_tail"] = lines[-3:]
        r["reported"], r["reported_bytes_approx"] = total_reclaimed(out)
        print("  %-16s prune -a -f %.2fs reported %s" % (name, dt, r["reported"]), flush=True)

        step = "after"
        r["after_prune"] = exact()
        _, out, _, _ = p.cli("image", "ls", "-q", timeout=rem())
        r["images_left"] = len(out.split())
        if name == "refstore":
            p.cli("gc", timeout=rem())  # delete the files of the blobs the prune freed
        r["du_after_prune"] = peers.du(p.data_dir())
        r["du_freed_by_prune"] = du_mid - r["du_after_prune"]
        if name == "refstore":
            r["du_whole_store_after_prune"] = peers.du(p.store)
        if name.startswith("docker"):
            r["docker_layers_freed_exact"] = r["after_rmi"]["df_size"] - r["after_prune"]["df_size"]
        r["finished"] = True
    except peers.Timeout as e:
        r["finished"] = False
        r["timed_out"] = {"step": step, "after_s": round(e.seconds, 1),
                          "run_s": round(time.monotonic() - t_start, 1)}
        save(step + "-timeout", e.out + e.err)
        print("  %-16s %s stopped: run over its %d s budget" % (name, step, a.budget), flush=True)
        if step == "load":
            try:  # how far it got
                _, out, _, _ = p.cli("image", "ls", "-q", "--no-trunc", timeout=300)
                r["images_loaded_when_stopped"] = len(set(out.split()))
            except Exception as e2:
                r["images_loaded_when_stopped"] = "unknown: %s" % str(e2)[:200]
    except Exception as e:
        r["finished"] = False
        r["error"] = {"step": step, "message": str(e)[:2000]}
        print("  %-16s FAILED at %s: %s" % (name, step, str(e)[:500]), flush=True)
    finally:
        if d:
            d.stop()
        left = peers.unmount_under(root) + peers.unmount_under(a.runroot)
        if left:
            r["unmounted_after"] = left
        shutil.rmtree(a.runroot, ignore_errors=True)
    r["wall_s"] = round(time.monotonic() - t_start, 1)
    r["loadavg_end"] = list(os.getloadavg())
    r["loadavg_1m_during"] = sampler.between(s_start, time.monotonic() - sampler.t0)
    if not a.keep:
        shutil.rmtree(root, ignore_errors=True)
    with open(os.path.join(a.out, "n%d-%s.json" % (n, name)), "w") as f:
        json.dump(r, f, indent=1)
    return r


def machine(a, refstore_bin):
    def sh(*c):
        try:
            return subprocess.run(c, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO).stdout.decode().strip()
        except OSError as e:
            return str(e)
    with open(refstore_bin, "rb") as f:
        h = hashlib.sha256(f.read()).hexdigest()
    fs = sh("findmnt", "-n", "-o", "FSTYPE,OPTIONS", "-T", a.data)
    cpu_model = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][:1]
    return {"host_kernel": platform.release(), "cpus": os.cpu_count(), "cpu_model": cpu_model,
            "mem_total_kb": int([l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")][0]),
            "data_dir": a.data, "data_fs": fs, "python": sys.version.split()[0],
            "refstore_source": a.refstore, "refstore_sha256": h,
            "refstore_mtime": datetime.datetime.utcfromtimestamp(os.path.getmtime(a.refstore)).isoformat() + "Z",
            "repo_head": sh("git", "rev-parse", "HEAD"),
            "packages": sh("dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "podman", "docker.io", "containerd",
                           "runc", "crun", "conmon", "fuse-overlayfs").splitlines()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,5000", help="sizes every peer runs (default 1000,5000)")
    ap.add_argument("--big", type=int, default=10000, help="the larger size, run only by peers fast enough (0: none)")
    ap.add_argument("--big-if-load-under", type=float, default=600,
                    help="run --big for a peer only if it loaded the largest --sizes size in fewer seconds")
    ap.add_argument("--peers", default="refstore,docker-overlay2,docker-vfs,podman-overlay",
                    help="comma-separated, run in this order: " + ",".join(PEERS))
    ap.add_argument("--budget", type=float, default=1500, help="seconds one peer run may take before it is stopped")
    ap.add_argument("--deadline-min", type=float, default=95,
                    help="start no run after this many minutes; start a --big run only if its estimate fits")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rmi", type=int, default=5)
    ap.add_argument("--data", default="/var/tmp/refstore-peers")
    ap.add_argument("--runroot", default="/run/refstore-peers",
                    help="podman's --runroot parent (podman 4.3 wants a runroot of at most 50 characters)")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results", "peer-engines"))
    ap.add_argument("--refstore", default=os.path.join(REPO, "build", "release", "tools", "refstore"))
    ap.add_argument("--resume", action="store_true",
                    help="skip the runs whose n<images>-<peer>.json is already in --out; add to its run.json")
    ap.add_argument("--keep", action="store_true", help="keep stores, workloads and logs under --data")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench.py runs dockerd and podman with private stores: run it as root")
    names = a.peers.split(",")
    for nm in names:
        if nm not in PEERS:
            sys.exit("unknown peer %s (known: %s)" % (nm, ", ".join(PEERS)))
    a.data = os.path.abspath(a.data)
    if os.path.realpath(a.data).startswith(os.path.realpath(REPO) + "/"):
        sys.exit("--data must be outside the repository")
    os.makedirs(a.out, exist_ok=True)
    os.makedirs(os.path.join(a.data, "bin"), exist_ok=True)
    # a copy, so that a rebuild of the tree during the run does not change the binary under test
    refstore_bin = os.path.join(a.data, "bin", "refstore")
    shutil.copy2(a.refstore, refstore_bin)

    sampler = LoadSampler()
    sampler.start()
    t0 = time.monotonic()
    plan = {"command": " ".join([sys.executable] + sys.argv), "started": now_utc(), "args": vars(a),
            "machine": machine(a, refstore_bin), "runs": [], "skipped": []}
    results = {}
    if a.resume and os.path.exists(os.path.join(a.out, "run.json")):
        # keep what an earlier invocation measured: its runs are not repeated and count for the --big check
        with open(os.path.join(a.out, "run.json")) as f:
            prev = json.load(f)
        plan["earlier"] = prev.get("earlier", []) + [{k: prev.get(k) for k in (
            "command", "started", "ended", "wall_min", "runs", "skipped", "args", "loadavg_1m_samples")}]
        plan["runs"] = list(prev.get("runs", []))
        for fn in os.listdir(a.out):
            m = re.match(r"^n(\d+)-(.+)\.json$", fn)
            if m:
                with open(os.path.join(a.out, fn)) as f:
                    results[(m.group(2), int(m.group(1)))] = json.load(f)

    def save_plan():
        plan["loadavg_1m_samples"] = sampler.samples
        with open(os.path.join(a.out, "run.json"), "w") as f:
            json.dump(plan, f, indent=1)

    sizes = sorted(int(x) for x in a.sizes.split(",") if x)
    for n in sizes:
        if all((nm, n) in results for nm in names):
            continue
        wdir, meta = workload(a.data, n, a.seed)
        for nm in names:
            if (nm, n) in results:
                print("N=%d %s: already in %s (--resume)" % (n, nm, a.out), flush=True)
                continue
            mins = (time.monotonic() - t0) / 60
            if mins > a.deadline_min:
                plan["skipped"].append({"peer": nm, "N": n, "why": "deadline: %.0f min elapsed" % mins})
                continue
            print("N=%d %s (%.1f min elapsed, load avg %.2f)" % (n, nm, mins, os.getloadavg()[0]), flush=True)
            results[(nm, n)] = r = bench_peer(nm, n, wdir, meta, a, sampler, refstore_bin)
            plan["runs"].append({"peer": nm, "N": n, "finished": r.get("finished"), "wall_s": r["wall_s"]})
            save_plan()
        if not a.keep and n != sizes[-1] and os.path.exists(wdir):
            shutil.rmtree(wdir, ignore_errors=True)
    if a.big:
        last = sizes[-1]
        big_meta = None
        for nm in names:
            r = results.get((nm, last))
            why = None
            if (nm, a.big) in results:
                print("N=%d %s: already in %s (--resume)" % (a.big, nm, a.out), flush=True)
                continue
            if not r or not r.get("finished"):
                why = "did not finish %d images" % last
            elif r["load_s"] >= a.big_if_load_under:
                why = "loaded %d images in %.0f s (limit %.0f s)" % (last, r["load_s"], a.big_if_load_under)
            else:
                est = r["wall_s"] * a.big / last * 1.2
                left = a.deadline_min * 60 - (time.monotonic() - t0)
                if est > left or est > a.budget:
                    why = ("estimated %.0f s at %d images (%d's run took %.0f s), %.0f s left before the deadline, "
                           "budget %.0f s" % (est, a.big, last, r["wall_s"], left, a.budget))
            if why:
                plan["skipped"].append({"peer": nm, "N": a.big, "why": why})
                print("N=%d %s skipped: %s" % (a.big, nm, why), flush=True)
                save_plan()
                continue
            if big_meta is None:
                wdir, big_meta = workload(a.data, a.big, a.seed)
            print("N=%d %s (%.1f min elapsed, load avg %.2f)" % (a.big, nm, (time.monotonic() - t0) / 60,
                                                                  os.getloadavg()[0]), flush=True)
            r = bench_peer(nm, a.big, wdir, big_meta, a, sampler, refstore_bin)
            plan["runs"].append({"peer": nm, "N": a.big, "finished": r.get("finished"), "wall_s": r["wall_s"]})
            save_plan()
    plan["ended"] = now_utc()
    plan["wall_min"] = round((time.monotonic() - t0) / 60, 1)
    sampler.stop_ev.set()
    save_plan()
    if not a.keep:
        peers.unmount_under(a.data)
        shutil.rmtree(a.data, ignore_errors=True)
    subprocess.call([sys.executable, os.path.join(HERE, "report.py"), "--out", a.out])


if __name__ == "__main__":
    main()
