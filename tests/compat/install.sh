#!/usr/bin/env bash
# install.sh BUILD SOURCE — the installed compat layer (SPEC §10): the
# library at P/lib/cgc/compat (libgc.so.1 and libgc.so), the headers at
# P/include/cgc/compat, pkg-config cgc-compat building compat_api.c, and
# P/bin/cgc-run finding the library relative to itself.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/p" >/dev/null
libdir=$(ls -d "$tmp"/p/lib*/cgc/compat 2>/dev/null | head -1)
[ -n "$libdir" ] && [ -e "$libdir/libgc.so.1" ] && [ -e "$libdir/libgc.so" ] || { echo "FAIL: no P/lib/cgc/compat/libgc.so.1"; exit 1; }
for h in gc.h gc/gc.h gc/gc_mark.h gc/gc_version.h; do
  [ -e "$tmp/p/include/cgc/compat/$h" ] || { echo "FAIL: P/include/cgc/compat/$h missing"; exit 1; }
done
[ -x "$tmp/p/bin/cgc-run" ] || { echo "FAIL: P/bin/cgc-run missing or not executable"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$libdir")/../pkgconfig
san=
ldd "$libdir/libgc.so.1" | grep -q libasan && san="-fsanitize=address,undefined"
cc $san -o "$tmp/api" "$src/compat_api.c" -I"$src/.." $(pkg-config --cflags --libs cgc-compat) -lpthread -ldl
out=$(LD_BIND_NOW=1 "$tmp/api" 2>&1) || { echo "$out" | tail -5; echo "FAIL: built with pkg-config cgc-compat"; exit 1; }
echo "$out" | tail -1
echo "ok   pkg-config cgc-compat"
if ls /usr/lib/*/libgc.so >/dev/null 2>&1; then
  cc $san -o "$tmp/sys" "$src/compat_api.c" -I"$src/.." -lgc -lpthread -ldl
  unset CGC_COMPAT_LIBDIR
  out=$(LD_BIND_NOW=1 "$tmp/p/bin/cgc-run" "$tmp/sys" 2>&1) || { echo "$out" | tail -5; echo "FAIL: installed cgc-run"; exit 1; }
  echo "ok   installed cgc-run runs a program linked with the system libgc on cgc"
fi
echo PASS
