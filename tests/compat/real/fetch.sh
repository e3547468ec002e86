#!/usr/bin/env bash
# fetch.sh DIR PACKAGE... — Debian packages for the real-program tests:
# downloaded with `apt-get download` into DIR/debs (kept there, so a second
# run fetches nothing) and unpacked with `dpkg-deb -x` into DIR/root, never
# installed. Exits 77 with one line when a package cannot be had here (no
# Debian mirror, no apt): CTest counts that as skipped, and scripts/test.sh
# fails the run over it unless CGC_ALLOW_SKIP=1.
set -u
dir=$1; shift
mkdir -p "$dir/debs" "$dir/root"
if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
  echo "SKIP: package not available here: no apt-get/dpkg-deb to fetch $*"
  exit 77
fi
for p in "$@"; do
  [ -e "$dir/debs/$p.unpacked" ] && continue
  rm -f "$dir/debs/${p}_"*.deb
  # apt-get download writes into the current directory; its _apt sandbox
  # warning (running as root) is noise.
  if ! (cd "$dir/debs" && apt-get download "$p" >"$p.log" 2>&1); then
    echo "SKIP: package not available here: apt-get download $p failed: $(grep -m1 '^E:' "$dir/debs/$p.log")"
    exit 77
  fi
  dpkg-deb -x "$dir/debs/${p}_"*.deb "$dir/root" || { echo "FAIL: dpkg-deb -x of $p"; exit 1; }
  touch "$dir/debs/$p.unpacked"
done
