#!/usr/bin/env bash
# Installs what cgc's build, tests, benchmarks and demo need on Debian 12.
# Run as root (CI runs as root); safe to run again.
set -euo pipefail
PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  python3 curl netcat-openbsd jq
  libmicrohttpd-dev libsqlite3-dev sqlite3 libjansson-dev
  libgc-dev golang-go golang-github-mattn-go-sqlite3-dev
  hey wrk gnuplot-nox prometheus
  clang libclang-rt-14-dev valgrind
  # the shared libraries of the Debian programs tests/compat_real.cmake
  # fetches and unpacks (w3m: libgpm2; guile-3.0: the other three)
  libgpm2 libffi8 libunistring2 libgmp10
)
if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (apt-get install)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
echo "setup.sh: installed ${#PACKAGES[@]} packages"
