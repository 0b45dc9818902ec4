#!/usr/bin/env python3
"""Runs refstore-bench at several store sizes and writes the results, a table
and two charts (prune -a time and peak memory against image count, log-log,
one line per design) into bench/results/.

usage: bench/scale.py [--bench PATH] [--sizes 10000,100000,1000000] [--out DIR]
                      [--budget SECONDS] [-- extra refstore-bench flags]

Charts are plain SVG written here (no plotting library needed). Figures of
the containerd peer (bench/results/peer/*.json, made by bench/peer/run-peer.sh
outside CI) are added to the time chart when present."""
import argparse, glob, json, math, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = 'containerd 1.6 peer (tmpfs)'
COLORS = {'refstore': '#1f77b4', 'floor': '#2ca02c', 'onthefly-once': '#ff7f0e',
          'onthefly-per-record': '#d62728', PEER: '#9467bd'}


def run(bench, size, budget, extra, out):
    path = os.path.join(out, 'bench-%d.json' % size)
    cmd = [bench, '--images', str(size), '--budget', str(budget), '--json', path] + extra
    print('+', ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=False)
    with open(path) as f:
        return json.load(f)


def prune_points(reports):
    """design -> [(images, seconds, extrapolated, peak_mb)] for prune -a."""
    points = {}
    for images, rep in sorted(reports.items()):
        rows = [r for r in rep['results'] if r.get('scenario') == 'prune_all']
        deleted = next((r.get('items') for r in rows if r['design'] == 'refstore'), None)
        for r in rows:
            if 'seconds' not in r:
                continue
            seconds, extrapolated = r['seconds'], False
            if r.get('finished') is False and r.get('items') and deleted:
                seconds, extrapolated = r['seconds'] / r['items'] * deleted, True
            points.setdefault(r['design'], []).append(
                (images, seconds, extrapolated, r.get('peak_rss_kb', 0) / 1024.0))
    # The peer's runs on tmpfs: its bolt fsyncs and blob unlinks on a shared
    # VM's disk vary tenfold between runs (bench/peer/README.md).
    for f in sorted(glob.glob(os.path.join(HERE, 'results', 'peer', '*-once-tmpfs.json'))):
        with open(f) as fh:
            p = json.loads(fh.readline())
        points.setdefault(PEER, []).append(
            (p['images'], p.get('prune_s', 0), False, p.get('peak_rss_kb', 0) / 1024.0))  # prune_s includes its GC
    for v in points.values():
        v.sort()
    return points


def svg_chart(title, ylabel, series, path):
    """series: name -> [(x, y, hollow)]; log-log axes."""
    w, h, left, right, top, bottom = 760, 460, 80, 220, 40, 60
    xs = [p[0] for s in series.values() for p in s if p[1] > 0]
    ys = [p[1] for s in series.values() for p in s if p[1] > 0]
    if not xs:
        return
    x0, x1 = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
    px = lambda x: left + (math.log10(x) - x0) / (x1 - x0) * (w - left - right)
    py = lambda y: h - bottom - (math.log10(y) - y0) / (y1 - y0) * (h - top - bottom)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>' % (left, title)]
    for e in range(x0, x1 + 1):
        x = px(10 ** e)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' % (x, top, x, h - bottom))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (x, h - bottom + 18, '{:,}'.format(10 ** e)))
    for e in range(y0, y1 + 1):
        y = py(10 ** e)
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (left, y, w - right, y))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%g</text>' % (left - 6, y + 4, 10 ** e))
    out.append('<text x="%d" y="%d" text-anchor="middle">images in the store</text>' % ((left + w - right) / 2, h - 15))
    out.append('<text x="18" y="%d" transform="rotate(-90 18 %d)" text-anchor="middle">%s</text>' % ((top + h - bottom) / 2, (top + h - bottom) / 2, ylabel))
    for i, (name, pts) in enumerate(sorted(series.items())):
        color = COLORS.get(name, '#555')
        pts = [p for p in pts if p[1] > 0]
        if len(pts) > 1:
            out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (
                color, ' '.join('%.1f,%.1f' % (px(p[0]), py(p[1])) for p in pts)))
        for p in pts:
            fill = 'white' if p[2] else color
            out.append('<circle cx="%.1f" cy="%.1f" r="4" fill="%s" stroke="%s" stroke-width="2"/>' % (px(p[0]), py(p[1]), fill, color))
        ly = top + 10 + i * 20
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>' % (w - right + 15, ly, w - right + 40, ly, color))
        out.append('<text x="%d" y="%d">%s</text>' % (w - right + 46, ly + 4, name))
    if any(p[2] for s in series.values() for p in s):
        out.append('<text x="%d" y="%d" fill="#555" font-size="11">hollow: extrapolated from the rate</text>' % (w - right + 15, top + 20 * len(series) + 20))
        out.append('<text x="%d" y="%d" fill="#555" font-size="11">reached within the time budget</text>' % (w - right + 15, top + 20 * len(series) + 34))
    out.append('</svg>')
    with open(path, 'w') as f:
        f.write('\n'.join(out) + '\n')


def table(reports):
    lines = ['| images | design | scenario | seconds | items/s | p50 us | p99 us | peak MB | written MB |',
             '|---:|---|---|---:|---:|---:|---:|---:|---:|']
    fmt = lambda r, k, d=0, s=1.0: ('%.*f' % (d, r[k] * s)) if isinstance(r.get(k), (int, float)) else '-'
    for images, rep in sorted(reports.items()):
        for r in rep['results']:
            note = '' if r.get('finished', True) else ' (budget; %s of %s done)' % (
                r.get('records_done', r.get('items')), r.get('records_planned', '?'))
            lines.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
                '{:,}'.format(images), r['design'], r['scenario'] + note, fmt(r, 'seconds', 3),
                fmt(r, 'throughput_per_s'), fmt(r, 'p50_us'), fmt(r, 'p99_us'),
                fmt(r, 'peak_rss_kb', 1, 1 / 1024.0), fmt(r, 'bytes_written', 1, 1 / 2 ** 20)))
    return '\n'.join(lines) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--bench', default=os.path.join(HERE, '..', 'build', 'release', 'bench', 'driver', 'refstore-bench'))
    ap.add_argument('--sizes', default='10000,100000,1000000')
    ap.add_argument('--out', default=os.path.join(HERE, 'results'))
    ap.add_argument('--budget', default='120')
    ap.add_argument('--replot', action='store_true', help='only redraw from the bench-N.json in --out')
    ap.add_argument('extra', nargs='*')
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.replot:
        reports = {}
        for s in a.sizes.split(','):
            with open(os.path.join(a.out, 'bench-%d.json' % int(s))) as f:
                reports[int(s)] = json.load(f)
    else:
        reports = {int(s): run(a.bench, int(s), a.budget, a.extra, a.out) for s in a.sizes.split(',')}
    points = prune_points(reports)
    svg_chart('prune -a: time against store size', 'seconds (log)',
              {d: [(p[0], p[1], p[2]) for p in v] for d, v in points.items()},
              os.path.join(a.out, 'prune-time.svg'))
    svg_chart('prune -a: peak resident memory', 'MiB (log)',
              {d: [(p[0], p[3], False) for p in v] for d, v in points.items()},
              os.path.join(a.out, 'prune-memory.svg'))
    machine = next(iter(reports.values()))['machine']
    with open(os.path.join(a.out, 'results.md'), 'w') as f:
        f.write('# refstore-bench results\n\nMachine: %s, %d cores, %.1f GiB, %s, %s, RocksDB %s.\n\n' % (
            machine['cpu'], machine['cores'], machine['memory_kb'] / 2 ** 20, machine['kernel'],
            machine['compiler'], machine['rocksdb']))
        f.write('Command: `bench/scale.py --sizes %s --budget %s`\n\n' % (a.sizes, a.budget))
        f.write(table(reports))
        f.write('\nTime per item relative to refstore (below 1: faster than refstore):\n\n')
        for images, rep in sorted(reports.items()):
            f.write('- %s images: `%s`\n' % ('{:,}'.format(images), json.dumps(rep.get('ratios_to_refstore', {}))))
        f.write('\n![prune time](prune-time.svg)\n\n![prune memory](prune-memory.svg)\n')
    print('wrote', a.out)


if __name__ == '__main__':
    sys.exit(main())
