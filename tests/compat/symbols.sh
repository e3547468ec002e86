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
# One pass: libgc's symbols against ours and the table.
awk -v stubs="$stubs" '
  FILENAME == ARGV[1] { ok[$1] = $2 " " $3; next }
  FILENAME == ARGV[2] { row[$1] = $2; status[$1] = $3; next }
  { sys[$1] = 1
    if (!($1 in ok)) { print "FAIL: " $1 " (" $2 ") is not exported by cgc'"'"'s library"; next }
    split(ok[$1], o, " ")
    if (o[1] != $2) print "FAIL: " $1 ": a " o[1] " in cgc'"'"'s library, a " $2 " in libgc"
    else if ($2 == "data" && o[2] != $3) print "FAIL: " $1 ": size 0x" o[2] " in cgc'"'"'s library, 0x" $3 " in libgc"
    if (!($1 in row)) { print "FAIL: " $1 " has no row in the table"; next }
    if (row[$1] != $2) print "FAIL: " $1 ": the table says " row[$1] ", libgc has a " $2
    s = status[$1]
    if (s == "abort") need[$1] = 1
    else if (s != "impl" && s != "ignored" && s != "pending") print "FAIL: " $1 ": unknown status " s }
  END {
    for (n in row) if (!(n in sys)) print "FAIL: table row " n " is not a symbol of libgc"
    while ((getline line < stubs) > 0)
      if (match(line, /^GCAPI void [A-Za-z0-9_]+\(void\) \{ compat_unsupported\(/)) {
        split(line, w, /[ (]/); stub[w[3]] = 1 }
    for (n in need) if (!(n in stub)) print "FAIL: " n ": abort row without its generated stub"
  }' "$tmp/ours" "$tmp/table" "$tmp/sys" > "$tmp/problems"
if [ -s "$tmp/problems" ]; then cat "$tmp/problems"; fail=1; fi
[ "$(grep -v '^#' "$table" | grep -c '[][;]')" = 0 ] || bad "a row has ';' or a square bracket (CMake reads the rows as a list)"
readelf -d "$lib" | grep -q 'Library soname: \[libgc.so.1\]' || bad "SONAME is not libgc.so.1"
readelf -V "$lib" | grep -q 'Version definition' && bad "cgc's library defines symbol versions"
echo "$nsys libgc symbols: $(awk '$3 == "impl"' "$tmp/table" | wc -l) implemented, $(awk '$3 == "ignored"' "$tmp/table" | wc -l) ignored hints, $(awk '$3 == "pending"' "$tmp/table" | wc -l) pending, $(awk '$3 == "abort"' "$tmp/table" | wc -l) abort"
[ $fail = 0 ] && echo "PASS" || exit 1
