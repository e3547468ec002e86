#!/usr/bin/env bash
# Installs cgc into a temporary prefix and builds a program against it three
# ways: pkg-config (shared), pkg-config --static, and CMake find_package.
# With "http" as third argument (cgc_http was built), also programs using
# cgc_http, built with cgc_http.pc (shared and static) and with the CMake
# package's component http, each fetching its own /debug/vars: calling
# cgc_http_start, and calling nothing with CGC_DEBUG_ADDR set.
set -euo pipefail
build=$1 src=$2 http=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig:$tmp/prefix/lib/x86_64-linux-gnu/pkgconfig"
libdir=$(pkg-config --variable=libdir cgc)
cc -o "$tmp/hello_pc" "$src/hello.c" $(pkg-config --cflags --libs cgc) -Wl,-rpath,"$libdir"
"$tmp/hello_pc"
ok "pkg-config cgc"
cc -o "$tmp/hello_static" "$src/hello.c" $(pkg-config --cflags cgc) "$libdir/libcgc.a" $(pkg-config --libs-only-l --static cgc | sed 's/-lcgc//')
"$tmp/hello_static"
ok "pkg-config --static cgc"

cmake_args=()
if [ "$http" = http ]; then
    cmake_args+=(-DWITH_HTTP=ON)
    # A free loopback port for CGC_DEBUG_ADDR (bind 0, read it, close).
    free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
    auto() { # runs a program that calls nothing in cgc_http, with CGC_DEBUG_ADDR
        CGC_DEBUG_ADDR=127.0.0.1:$(free_port) "$@"
    }

    cc -o "$tmp/http_pc" -DHELLO_HTTP_START "$src/hello_http.c" $(pkg-config --cflags --libs cgc_http) -Wl,-rpath,"$libdir"
    "$tmp/http_pc"
    ok "pkg-config cgc_http, cgc_http_start"
    cc -o "$tmp/http_auto_pc" "$src/hello_http.c" $(pkg-config --cflags --libs cgc_http) -Wl,-rpath,"$libdir"
    readelf -d "$tmp/http_auto_pc" | grep -q 'NEEDED.*libcgc_http\.so' || { echo "FAIL: libcgc_http.so dropped by --as-needed"; exit 1; }
    auto "$tmp/http_auto_pc"
    ok "pkg-config cgc_http, CGC_DEBUG_ADDR only"
    # Static cgc and cgc_http (the archives by path), shared libmicrohttpd
    # (a fully static one needs every GnuTLS dependency's archive).
    static_libs="$(pkg-config --libs libmicrohttpd) $(pkg-config --libs-only-l --static cgc | sed 's/-lcgc//')"
    cc -o "$tmp/http_static" -DHELLO_HTTP_START "$src/hello_http.c" $(pkg-config --cflags cgc_http) \
        "$libdir/libcgc_http.a" "$libdir/libcgc.a" $static_libs
    "$tmp/http_static"
    ok "pkg-config --static cgc_http, cgc_http_start"
    cc -o "$tmp/http_auto_static" "$src/hello_http.c" $(pkg-config --cflags cgc_http) \
        $(pkg-config --libs-only-other cgc_http | grep -o -- '-Wl,-u,[a-z_]*') "$libdir/libcgc_http.a" "$libdir/libcgc.a" $static_libs
    auto "$tmp/http_auto_static"
    ok "pkg-config --static cgc_http, CGC_DEBUG_ADDR only"
fi

cmake -S "$src" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$tmp/prefix" "${cmake_args[@]}" >/dev/null
cmake --build "$tmp/cm" >/dev/null
LD_LIBRARY_PATH="$libdir" "$tmp/cm/hello_cmake"
ok "find_package(cgc), cgc::cgc"
if [ "$http" = http ]; then
    # No LD_LIBRARY_PATH: CMake's build RPATH must find the installed libraries.
    "$tmp/cm/hello_http_cmake"
    ok "find_package(cgc COMPONENTS http), cgc::cgc_http, cgc_http_start"
    auto "$tmp/cm/hello_http_auto_cmake"
    ok "cgc::cgc_http, CGC_DEBUG_ADDR only"
    auto "$tmp/cm/hello_http_auto_static_cmake"
    ok "cgc::cgc_http_static, CGC_DEBUG_ADDR only"
fi
echo "$passed passed, 0 failed"
