#!/usr/bin/env bash
# Installs everything refstore needs to build and test, from Debian 12
# packages. Idempotent: when every package is already installed it does
# nothing (no apt-get update). Run as root, or as a user with sudo.
set -euo pipefail

packages=(
  build-essential cmake ninja-build g++ pkg-config python3
  librocksdb-dev libabsl-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev
  # SHA-256 of blob content (OpenSSL's libcrypto).
  libssl-dev
  # The allocator of the refstore command and the benchmarks (CMakeLists.txt).
  libjemalloc-dev
  # Third-party producers of OCI image layouts, for the import tests.
  umoci skopeo
  # RocksDB's CMake config (RocksDBConfig.cmake) finds these; librocksdb-dev
  # depends on them, they are listed so the requirement is explicit.
  libgflags-dev libsnappy-dev zlib1g-dev libbz2-dev liblz4-dev libzstd-dev
  # Fuzzing (fuzz/run-fuzzers): clang and its libFuzzer runtime; clang also
  # runs the thread-safety analysis (the clang-tsa preset).
  clang libclang-rt-14-dev
  # refstore serve: the HTTP server (GNU libmicrohttpd) and docker load /
  # save archives (libarchive); its tests' real clients: Debian's Docker SDK
  # for Python (the docker CLI: see below).
  libmicrohttpd-dev libarchive-dev python3-docker
  # The C++ style check (scripts/check-format, .clang-format).
  clang-format
  # The Go package bindings/go (cgo, found by pkg-config) and its go_bindings test.
  golang-go
  # Real filesystems in the reliability tests (tests/reliability/*.py):
  # mount/umount, losetup, setpriv (util-linux, mount), mkfs.ext4, chattr.
  e2fsprogs util-linux mount
)

# The docker CLI the serve tests drive: the machines here have docker's
# 28.2.2 client at /usr/local/bin/docker; elsewhere Debian's docker.io brings
# a 20.10 client (and a daemon nothing here starts).
if ! command -v docker >/dev/null 2>&1 && [ ! -x /usr/local/bin/docker ]; then
  packages+=(docker.io)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup.sh: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi

echo "setup.sh: installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
