#!/usr/bin/python3
# Adapted from /work/shared/peers/engines/collect.py (2026-12-07) for refstore bench/peer/engines: one table over
# the runs in --out, ratios of reported to true bytes, and a hand-written SVG chart (no plotting library).
"""Write RESULTS.md and prune-time.svg from the JSON that bench.py wrote into --out."""
import argparse
import glob
import json
import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
ORDER = ["refstore", "docker-overlay2", "docker-vfs", "podman-overlay", "podman-vfs"]
COLORS = {"refstore": "#1b9e77", "docker-overlay2": "#377eb8", "docker-vfs": "#80b1d3",
          "podman-overlay": "#d95f02", "podman-vfs": "#fdb462"}


def g(n):
    return "{:,}".format(n) if isinstance(n, int) else str(n)


def load(out):
    rows = []
    for f in glob.glob(os.path.join(out, "n*-*.json")):
        with open(f) as fh:
            rows.append(json.load(fh))
    rows.sort(key=lambda r: (r["N"], ORDER.index(r["peer"]) if r["peer"] in ORDER else 99))
    plan = {}
    if os.path.exists(os.path.join(out, "run.json")):
        with open(os.path.join(out, "run.json")) as fh:
            plan = json.load(fh)
    return rows, plan


def exact_figure(r):
    """The engine's own unrounded figure for what the prune frees, and what it is."""
    if r["peer"] == "refstore":
        return r.get("dry_run_exact_bytes"), "prune --dry-run SpaceReclaimed"
    if r["peer"].startswith("docker"):
        return r.get("docker_layers_freed_exact"), "LayersSize freed (API /system/df)"
    return (r.get("after_rmi") or {}).get("df_reclaimable"), "system df Reclaimable before the prune"


def ratio(a, b):
    return "%.2f" % (a / b) if a and b else "-"


def table(rows):
    h = ["| images | peer | load s (CPU s) | rmi ms, median of 5 (CPU ms) | system df ms (CPU ms) "
         "| prune -a -f s (CPU s) | images removed | reported | engine's exact figure B | true blob B "
         "| true layer-content B | true tar+config B | du freed B | load avg 1 min: start, max during run |",
         "|" + "---|" * 14]
    for r in rows:
        la = "%.2f, %s" % (r["loadavg_start"][0], (r.get("loadavg_1m_during") or {}).get("max", "-"))
        if not r.get("finished"):
            t = r.get("timed_out")
            if t:
                what = "stopped in %s, %.0f s into the run (budget %.0f s)" % (t["step"], t["run_s"], r["budget_s"])
                if r.get("load_parts_s"):
                    what += ", after load parts of %s s" % ", ".join("%.0f" % x for x in r["load_parts_s"])
                if "images_loaded_when_stopped" in r:
                    what += "; %s of %s images loaded by then" % (g(r["images_loaded_when_stopped"]), g(r["N"]))
            else:
                what = "failed in %s: %s" % (r["error"]["step"], r["error"]["message"][:120].replace("|", "/"))
            h.append("| %s | %s | %s |%s %s |" % (g(r["N"]), r["peer"], what, " |" * 12, la))
            continue
        t = r["true"]
        ex, _ = exact_figure(r)
        h.append("| %s | %s | %.1f (%.1f) | %.0f (%.0f) | %.0f (%.0f) | %.2f (%.2f) | %s | %s | %s | %s | %s | %s "
                 "| %s | %s |" % (
                     g(r["N"]), r["peer"], r["load_s"], r["load_cpu_s"], r["rmi_ms"], r["rmi_cpu_ms"], r["df_ms"],
                     r["df_cpu_ms"], r["prune_s"], r["prune_cpu_s"], g(r["images_loaded"] - r["images_left"] - 5),
                     r["reported"] or "(none)", g(ex), g(t["blob_bytes"]), g(t["layer_content_bytes"]),
                     g(t["layer_tar_bytes"] + t["config_bytes"]), g(r["du_freed_by_prune"]), la))
    return "\n".join(h)


def ratios(rows):
    h = ["| images | peer | reported B (parsed) | exact figure (what it is) | exact / true blob | exact / true "
         "layer-content | exact / true tar+config | du freed / true blob |", "|" + "---|" * 8]
    for r in rows:
        if not r.get("finished"):
            continue
        t = r["true"]
        ex, what = exact_figure(r)
        h.append("| %s | %s | %s | %s (%s) | %s | %s | %s | %s |" % (
            g(r["N"]), r["peer"], g(r["reported_bytes_approx"]) if r["reported_bytes_approx"] else "(none)", g(ex),
            what, ratio(ex, t["blob_bytes"]), ratio(ex, t["layer_content_bytes"]),
            ratio(ex, t["layer_tar_bytes"] + t["config_bytes"]), ratio(r["du_freed_by_prune"], t["blob_bytes"])))
    return "\n".join(h)


def svg(rows, path):
    sizes = sorted({r["N"] for r in rows})
    names = [p for p in ORDER if any(r["peer"] == p for r in rows)]
    by = {(r["peer"], r["N"]): r for r in rows}
    vals = [r["prune_s"] for r in rows if r.get("finished")]
    lo = 10 ** math.floor(math.log10(min(vals))) if vals else 0.1
    hi = 10 ** math.ceil(math.log10(max(vals))) if vals else 100
    W, H, L, R, T, B = 760, 420, 70, 170, 40, 60
    pw, ph = W - L - R, H - T - B

    def y(v):
        return T + ph - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * ph

    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
         'font-family="sans-serif" font-size="12">' % (W, H, W, H),
         '<rect width="%d" height="%d" fill="white"/>' % (W, H),
         '<text x="%d" y="22" font-size="15" text-anchor="middle"><tspan>image prune -a -f: seconds (log scale), '
         'one run each</tspan></text>' % (L + pw / 2)]
    e = int(math.log10(lo))
    while 10 ** e <= hi * 1.0001:
        yy = y(10 ** e)
        o.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>' % (L, L + pw, yy, yy))
        lab = ("%g" % (10 ** e)) if e >= -3 else "1e%d" % e
        o.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (L - 6, yy + 4, lab))
        e += 1
    o.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>' % (L, L + pw, T + ph, T + ph))
    o.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>' % (L, L, T, T + ph))
    o.append('<text x="18" y="%d" transform="rotate(-90 18 %d)" text-anchor="middle">seconds</text>'
             % (T + ph / 2, T + ph / 2))
    gw = pw / max(1, len(sizes))
    bw = min(34, (gw - 20) / max(1, len(names)))
    for gi, n in enumerate(sizes):
        x0 = L + gi * gw + (gw - bw * len(names)) / 2
        o.append('<text x="%.1f" y="%d" text-anchor="middle">%s images</text>' % (L + gi * gw + gw / 2, T + ph + 20,
                                                                                 g(n)))
        for pi, p in enumerate(names):
            x = x0 + pi * bw
            r = by.get((p, n))
            if r and r.get("finished"):
                yy = y(r["prune_s"])
                o.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s images: %.3f s'
                         '</title></rect>' % (x + 1, yy, bw - 2, T + ph - yy, COLORS.get(p, "#999"), p, g(n),
                                              r["prune_s"]))
                o.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10">%s</text>'
                         % (x + bw / 2, yy - 3, ("%.3g" % r["prune_s"])))
            else:
                why = ("stopped in " + r.get("timed_out", {}).get("step", "?")) if r else "not run"
                o.append('<text x="%.1f" y="%.1f" font-size="10" text-anchor="start" transform="rotate(-90 %.1f %.1f)"'
                         ' fill="#666">%s</text>' % (x + bw / 2 + 3, T + ph - 4, x + bw / 2 + 3, T + ph - 4, why))
    for pi, p in enumerate(names):
        yy = T + 10 + pi * 20
        o.append('<rect x="%d" y="%d" width="14" height="14" fill="%s"/>' % (L + pw + 16, yy, COLORS.get(p, "#999")))
        o.append('<text x="%d" y="%d">%s</text>' % (L + pw + 36, yy + 11, p))
    o.append('<text x="%d" y="%d" font-size="10" fill="#444">same generated images for every peer; '
             'see RESULTS.md</text>' % (L, H - 12))
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results", "peer-engines"))
    a = ap.parse_args()
    rows, plan = load(a.out)
    m = plan.get("machine", {})
    md = ["# Real engines on refstore's generated images: results", "",
          "Written by `bench/peer/engines/report.py` from the JSON beside it (`n<images>-<peer>.json`, `run.json`); "
          "what each column means is in [bench/peer/engines/README.md](../../peer/engines/README.md).", "",
          "Commands (from the repository root, one after the other; `--resume` runs only what the earlier ones did "
          "not write):", ""] + [
          "- `%s`: %s to %s" % (e.get("command", "?"), e.get("started", "?"),
                                 ("%s (%s min)" % (e["ended"], e.get("wall_min"))) if e.get("ended")
                                 else "(stopped by hand before its end)")
          for e in plan.get("earlier", []) + [plan]] + ["",
          "Machine: %s CPUs (%s), %.1f GiB, kernel %s, data on %s (%s). refstore %s (sha256 %s…, built %s, HEAD %s)."
          % (m.get("cpus"), ", ".join(m.get("cpu_model", [])), m.get("mem_total_kb", 0) / 2 ** 20,
             m.get("host_kernel"), m.get("data_dir"), m.get("data_fs"), m.get("refstore_source"),
             (m.get("refstore_sha256") or "")[:12], m.get("refstore_mtime"), (m.get("repo_head") or "")[:7]),
          "Packages: %s." % "; ".join(m.get("packages", [])), "",
          table(rows), "", "Reported space against the true distinct bytes of the images the prune removed:", "",
          ratios(rows), ""]
    failed = sorted(glob.glob(os.path.join(a.out, "*.failed.json")))
    if failed:
        md += ["Failed attempts, kept as `*.failed.json` (not in the tables):", ""]
        for fn in failed:
            with open(fn) as fh:
                x = json.load(fh)
            msg = " ".join(x.get("error", {}).get("message", "").split())
            md.append("- %s images, %s (`%s`), at %s: `%s`" % (
                g(x["N"]), x["peer"], os.path.basename(fn), x.get("error", {}).get("step"), msg[-420:]))
        md.append("")
    skipped = list(plan.get("skipped", []))
    for e in plan.get("earlier", []):
        skipped += [s for s in e.get("skipped") or [] if s not in skipped]
    plan["skipped"] = skipped
    if plan.get("skipped"):
        md += ["Not run:", ""] + ["- %s images, %s: %s" % (g(s["N"]), s["peer"], s["why"]) for s in plan["skipped"]]
        md.append("")
    md.append("![prune -a time](prune-time.svg)")
    with open(os.path.join(a.out, "RESULTS.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    if rows:
        svg(rows, os.path.join(a.out, "prune-time.svg"))
    print("\n".join(md))


if __name__ == "__main__":
    main()
