#!/usr/bin/env bash
# symbols.sh LIB TABLE STUBS — cgc's libgc.so.1 against Debian's libgc.so.1
# and compat/symbols.tsv: every function and data symbol Debian's library
# exports is exported by ours, with the same kind (function / data) and,
# for data, the same size (a program may hold a copy relocation of it);
# every one has a row in the table with a known status; every row names a
# symbol of Debian's library; the "abort" rows are the generated stubs;
# the SONAME is libgc.so.1 and nothing is versioned.
set -u
lib=$1 table=$2 stubs=$3
sys=/usr/lib/x86_64-linux-gnu/libgc.so.1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
[ -e "$sys" ] || sys=$(ls /usr/lib/*/libgc.so.1 2>/dev/null | head -1)
if [ -z "$sys" ] || [ ! -e "$sys" ]; then
  echo "SKIP: no system libgc.so.1 (apt-get install libgc1) to compare with"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# name kind size; "_end" is the linker's end-of-image marker, not an entry point.
syms() { nm -DS --defined-only "$1" | awk 'NF == 4 && $4 != "_end" { k = ($3 == "T" || $3 == "t") ? "func" : "data"; print $4, k, (k == "data" ? $2 : 0) }' | sort; }
syms "$sys" > "$tmp/sys"
syms "$lib" > "$tmp/ours"
grep -v '^#' "$table" | awk -F'\t' 'NF { print $1, $2, $3 }' | sort > "$tmp/table"
nsys=$(wc -l < "$tmp/sys")
[ "$nsys" -gt 250 ] || bad "only $nsys symbols read from $sys"
while read -r name kind size; do
  ours=$(awk -v n="$name" '$1 == n' "$tmp/ours")
  if [ -z "$ours" ]; then bad "$name ($kind) is not exported by cgc's library"; continue; fi
  set -- $ours
  [ "$2" = "$kind" ] || bad "$name: a $2 in cgc's library, a $kind in libgc"
  [ "$kind" != data ] || [ "$3" = "$size" ] || bad "$name: $3 bytes in cgc's library, $size in libgc"
  row=$(awk -v n="$name" '$1 == n' "$tmp/table")
  if [ -z "$row" ]; then bad "$name has no row in $(basename "$table")"; continue; fi
  set -- $row
  [ "$2" = "$kind" ] || bad "$name: the table says $2, libgc has a $kind"
  case $3 in
    impl|ignored|pending) ;;
    abort) grep -q "void $name(void) { compat_unsupported(\"$name\"" "$stubs" || bad "$name: abort row without its stub" ;;
    *) bad "$name: unknown status '$3'" ;;
  esac
done < "$tmp/sys"
while read -r name kind status; do
  awk -v n="$name" '$1 == n { f = 1 } END { exit !f }' "$tmp/sys" || bad "table row $name is not a symbol of libgc"
done < "$tmp/table"
[ "$(grep -v '^#' "$table" | grep -c '[][;]')" = 0 ] || bad "a row has ';' or a square bracket (CMake reads the rows as a list)"
readelf -d "$lib" | grep -q 'Library soname: \[libgc.so.1\]' || bad "SONAME is not libgc.so.1"
readelf -V "$lib" | grep -q 'Version definition' && bad "cgc's library defines symbol versions"
echo "$nsys libgc symbols: $(awk '$3 == "impl"' "$tmp/table" | wc -l) implemented, $(awk '$3 == "ignored"' "$tmp/table" | wc -l) ignored hints, $(awk '$3 == "pending"' "$tmp/table" | wc -l) pending, $(awk '$3 == "abort"' "$tmp/table" | wc -l) abort"
[ $fail = 0 ] && echo "PASS" || exit 1
