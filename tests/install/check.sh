#!/usr/bin/env bash
# Installs cgc into a temporary prefix and builds a program against it three
# ways: pkg-config (shared), pkg-config --static, and CMake find_package.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig:$tmp/prefix/lib/x86_64-linux-gnu/pkgconfig"
libdir=$(pkg-config --variable=libdir cgc)
cc -o "$tmp/hello_pc" "$src/hello.c" $(pkg-config --cflags --libs cgc) -Wl,-rpath,"$libdir"
"$tmp/hello_pc"
cc -o "$tmp/hello_static" "$src/hello.c" $(pkg-config --cflags cgc) "$libdir/libcgc.a" $(pkg-config --libs-only-l --static cgc | sed 's/-lcgc//')
"$tmp/hello_static"
cmake -S "$src" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm" >/dev/null
LD_LIBRARY_PATH="$libdir" "$tmp/cm/hello_cmake"
echo "3 passed, 0 failed"
