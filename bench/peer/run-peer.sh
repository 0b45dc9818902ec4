#!/usr/bin/env bash
# run-peer.sh: runs the containerd 1.6 peer (containerd's own bbolt metadata
# store + mark-and-sweep GC, driven like moby's `docker image prune -a`) on a
# workload shaped like refstore's benchmark generator, and prints the peer's
# one JSON line on stdout.
#
# The peer lives OUTSIDE this project (default /work/shared/peers/containerd,
# or $REFSTORE_PEER_DIR). It is never built by CMake or run by CI; this script
# is the only link, and only for manual comparison runs. If the peer binary
# (${PEER_BUILD:-/tmp/containerd-peer}/containerd-peer) is missing, it is built
# with the peer's own build.sh (apt-get installs golang-go and
# golang-github-containerd-containerd-dev if missing).
#
# Usage:
#   bench/peer/run-peer.sh --images N [--layers-per-image L] [--shared-layers S]
#       [--containers C] [--gc once|per-image] [--budget DURATION] [--seed N]
#       [--out FILE] [--dir DIR] [--layer-size BYTES] [--dangling-pct P]
#       [--base-layers-per-image B] [--tags-per-image T] [--dangling-prune]
#       [--verify] [--timeout DURATION] [-- raw peer flags...]
#
# Mapping from refstore's generator (bench/workload/workload.h, defaults) to
# the peer's flags (the peer has a fixed layer count per image and one pool of
# shared layers, so this is the closest shape, not an identical one):
#   images N                 -> -images N (refstore's N includes its base images)
#   layers 3..15 per image   -> -layers-per-image 9 (refstore's mean; fixed in the peer)
#   1..3 layers from a base  -> -base-layers-per-image 2 (refstore's mean; fixed)
#   base images = N/100 clamped to 10..5000 (and <= N), 3 layers each
#                            -> -shared-layers 3 * base images (300 at 10k, 3000 at 100k)
#   container_share 0.05     -> -containers 5% of N (500 at 10k)
#   dangling_share 0.10      -> -dangling-pct 10
#   tags_mean 1.2            -> -tags-per-image 1 (the peer only takes an integer)
#   seed                     -> -seed (same number, but the two generators differ:
#                               the same seed does NOT give the same store)
#   --gc, --budget           -> -gc, -budget (peer-only: how containerd's GC is driven)
# Not matched:
#   * layer sizes: refstore's are log-normal (median 3 MB, sigma 1.4, mean
#     ~8.0 MB, capped at 8 GB), configs 1-10 kB, manifests 0.5-2 kB; the peer
#     declares one fixed size for every layer (-layer-size, default 10 MiB),
#     stores a few bytes per blob on disk, and config/manifest sizes are their
#     real (few hundred byte) sizes. So reclaimed_bytes is not comparable in
#     absolute value (pass --layer-size 8000000 to match refstore's mean).
#   * shared-layer structure: refstore shares a prefix of one Zipf-popular
#     base image's chain, and base images are images themselves (3 layers, no
#     own layers); the peer takes base layer 0 = pool[i mod S] and the other
#     base layers uniformly from the pool, and has no base images.
#   * multi-platform indexes (refstore: 5% of images, 2-4 platform manifests
#     each): none in the peer, every image is a single OCI manifest.
#   * namespaces (refstore: 3, 80% in ns0): the peer uses one ("moby").
#   * leases (refstore: 8 at the end, half expired): none in the peer.
#   * labels ("tier"/"team" in refstore): the peer sets only gc.ref labels.
#   * dangling images: refstore moves tags (a new image takes an existing
#     name, so fewer than 10% end up dangling, minus ones kept by other
#     names); the peer gives 10% of images only a moby-dangling@ record.
#   * containers: refstore's refer to the image just created, by name, full
#     ID, short ID or name@digest in turn, half running; the peer's pick a
#     uniformly random image and refer by name (even) or full ID (odd).
#   * timings: the peer's create_s is its batched, NoSync generator (not a
#     pull); prune_s runs with bolt fsync on, on the filesystem of --dir.
#
# Peer-side options:
#   --gc once        delete all records, then one GarbageCollect (peer default).
#   --gc per-image   what docker really does (SynchronousDelete: a full GC after
#                    every record); quadratic. --budget (default 4m) stops the
#                    prune loop and reports "truncated":true with partial figures.
#                    The peer checks --budget only in per-image mode.
#   --timeout D      kill the whole peer after D (coreutils timeout); no JSON then.
#   --dangling-prune also time a dangling-only prune on a second store
#                    (doubles generation time; off by default here).
#   --dir DIR        parent directory of the temporary store (default /var/tmp).
#   --out FILE       also append the JSON line to FILE.
set -euo pipefail

die() { echo "run-peer.sh: $*" >&2; exit 2; }

peer_dir="${REFSTORE_PEER_DIR:-/work/shared/peers/containerd}"
peer_bin="${PEER_BUILD:-/tmp/containerd-peer}/containerd-peer"

images="" layers=9 shared="" containers="" gc=once budget=4m seed=1 out=""
dir=/var/tmp layer_size="" dangling_pct=10 base_per_image=2 tags=1
dangling_prune=false verify=false timeout_d=""
extra=()

need() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
  arg="$1"
  if [[ "$arg" == --*=* ]]; then # --flag=value -> --flag value
    set -- "${arg%%=*}" "${arg#*=}" "${@:2}"
    arg="$1"
  fi
  case "$arg" in
    --images) need "$@"; images="$2"; shift 2 ;;
    --layers-per-image) need "$@"; layers="$2"; shift 2 ;;
    --shared-layers) need "$@"; shared="$2"; shift 2 ;;
    --containers) need "$@"; containers="$2"; shift 2 ;;
    --gc) need "$@"; gc="$2"; shift 2 ;;
    --budget) need "$@"; budget="$2"; shift 2 ;;
    --seed) need "$@"; seed="$2"; shift 2 ;;
    --out) need "$@"; out="$2"; shift 2 ;;
    --dir) need "$@"; dir="$2"; shift 2 ;;
    --layer-size) need "$@"; layer_size="$2"; shift 2 ;;
    --dangling-pct) need "$@"; dangling_pct="$2"; shift 2 ;;
    --base-layers-per-image) need "$@"; base_per_image="$2"; shift 2 ;;
    --tags-per-image) need "$@"; tags="$2"; shift 2 ;;
    --timeout) need "$@"; timeout_d="$2"; shift 2 ;;
    --dangling-prune) dangling_prune=true; shift ;;
    --verify) verify=true; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) die "unknown argument: $arg (try --help)" ;;
  esac
done

isint() { [[ "$1" =~ ^[0-9]+$ ]]; }
[ -n "$images" ] || die "--images N is required"
for v in "$images" "$layers" "$seed" "$base_per_image" "$tags"; do
  isint "$v" || die "not a non-negative integer: $v"
done
[ "$images" -ge 1 ] || die "--images must be >= 1"
case "$gc" in once | per-image) ;; *) die "--gc must be once or per-image, not '$gc'" ;; esac

# refstore: base images = images/100 clamped to [10, 5000], at most images;
# 3 layers each.
if [ -z "$shared" ]; then
  bases=$((images / 100))
  ((bases < 10)) && bases=10
  ((bases > 5000)) && bases=5000
  ((bases > images)) && bases=$images
  shared=$((3 * bases))
fi
# refstore: container_share = 0.05.
[ -n "$containers" ] || containers=$((images * 5 / 100))
isint "$shared" && [ "$shared" -ge 1 ] || die "--shared-layers must be >= 1"
isint "$containers" || die "--containers must be a non-negative integer"

if [ ! -x "$peer_bin" ]; then
  [ -d "$peer_dir" ] || die "peer directory $peer_dir not found (set REFSTORE_PEER_DIR); the peer is not part of this project"
  [ -x "$peer_dir/build.sh" ] || die "$peer_dir/build.sh missing or not executable"
  echo "run-peer.sh: building the peer with $peer_dir/build.sh" >&2
  built="$("$peer_dir/build.sh" | tee /dev/stderr | tail -n 1)" || die "peer build failed"
  [ -x "$built" ] || die "build.sh did not produce an executable (last line: '$built')"
  peer_bin="$built"
fi
[ -d "$dir" ] || die "--dir $dir is not a directory"

cmd=("$peer_bin"
  -images "$images" -layers-per-image "$layers" -shared-layers "$shared"
  -base-layers-per-image "$base_per_image" -tags-per-image "$tags"
  -containers "$containers" -dangling-pct "$dangling_pct" -seed "$seed"
  -gc "$gc" -budget "$budget" -dir "$dir"
  -dangling-prune="$dangling_prune" -verify="$verify")
[ -n "$layer_size" ] && cmd+=(-layer-size "$layer_size")
cmd+=("${extra[@]}")
[ -n "$timeout_d" ] && cmd=(timeout "$timeout_d" "${cmd[@]}")

echo "+ ${cmd[*]}" >&2
rc=0
line="$("${cmd[@]}")" || rc=$?
# The peer exits 3 after printing its JSON when -verify found a problem.
if [ -n "$line" ]; then
  printf '%s\n' "$line"
  if [ -n "$out" ]; then
    mkdir -p "$(dirname "$out")"
    printf '%s\n' "$line" >>"$out"
  fi
fi
[ "$rc" -eq 0 ] || echo "run-peer.sh: peer exited with status $rc" >&2
exit "$rc"
