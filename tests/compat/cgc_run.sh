#!/usr/bin/env bash
# cgc_run.sh CGC_RUN LIBDIR SOURCE — cgc-run: a program built and linked
# against the system libgc (Debian's headers and libgc.so) runs on cgc's
# libgc.so.1 under cgc-run, and passes compat_api's checks there; a
# static program and a setuid one are refused with a clear error.
set -u
run=$1 libdir=$2 src=$3
fail=0
bad() { echo "FAIL: $*"; fail=1; }
if [ ! -e /usr/include/gc/gc.h ] || ! ls /usr/lib/*/libgc.so >/dev/null 2>&1; then
  echo "SKIP: libgc-dev is not installed"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A sanitizer build of cgc's library needs the sanitizer runtime loaded
# first: the program is built with the same sanitizers then.
san=
ldd "$libdir/libgc.so.1" | grep -q libasan && san="$san -fsanitize=address"
ldd "$libdir/libgc.so.1" | grep -q libubsan && san="$san -fsanitize=undefined"
cc -O1 $san -o "$tmp/prog" "$src" -I"$(dirname "$src")/.." -lgc -lpthread -ldl || { echo "FAIL: cannot build against the system libgc"; exit 1; }
export CGC_COMPAT_LIBDIR=$libdir
out=$(LD_BIND_NOW=1 sh "$run" "$tmp/prog" 2>&1)
echo "$out" | tail -3
echo "$out" | grep -q '^[0-9]* passed, 0 failed$' || bad "the libgc program did not pass on cgc under cgc-run"
# Without cgc-run it runs on the system libgc, where every check of
# libgc's behaviour passes too (the checks are libgc's semantics, not
# cgc's): only the one that asks for cgc fails.
out=$("$tmp/prog" 2>&1)
echo "$out" | grep -q '^[0-9]* passed, 1 failed$' && echo "$out" | grep -q '^FAIL.*running on cgc' ||
  bad "on the system libgc, exactly one check (running on cgc) should fail: $(echo "$out" | grep -v 'GC Warning' | tail -5)"
# A static program: refused.
printf 'int main(void){return 0;}\n' > "$tmp/s.c"
if cc -static -o "$tmp/static" "$tmp/s.c" 2>/dev/null; then
  msg=$(sh "$run" "$tmp/static" 2>&1); rc=$?
  [ $rc = 126 ] && echo "$msg" | grep -q 'statically linked' || bad "static program: rc $rc, '$msg'"
else
  echo "NOTE: no static libc here, static case not checked"
fi
cp "$tmp/prog" "$tmp/suid" && chmod u+s "$tmp/suid"
msg=$(sh "$run" "$tmp/suid" 2>&1); rc=$?
[ $rc = 126 ] && echo "$msg" | grep -q 'setuid' || bad "setuid program: rc $rc, '$msg'"
msg=$(sh "$run" "$tmp/no-such" 2>&1); rc=$?
[ $rc = 127 ] || bad "missing program: rc $rc"
[ $fail = 0 ] && echo "PASS" || exit 1
