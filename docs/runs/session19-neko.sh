#!/bin/bash
# Used by session19-modes.sh (docs/runs/session19.txt): MODE N [VAR=value ...].
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# Neko runs prog.n (left by compat_real_neko in build-rel) N times.
B=${BUILD:-$ROOT/build-rel}; R=$B/compat-real/pkgs/root; W=$B/compat-real/neko
mode=$1; n=$2; shift 2
case $mode in stw) e="CGC_DEBUG=gctrace=1,gcstoptheworld=1";; conc) e="CGC_DEBUG=gctrace=1,gcconcurrent=1";; auto) e="CGC_DEBUG=gctrace=1";; libgc) e="GC_PRINT_STATS=0";; esac
for ((i=0;i<n;i++)); do
  d=$(mktemp -d)
  if [ $mode = libgc ]; then pre=(); else pre=(sh $B/compat/cgc-run); fi
  (cd $d && env -i PATH=/usr/bin:/bin HOME=$d LD_LIBRARY_PATH=$R/usr/lib/x86_64-linux-gnu NEKOPATH=$R/usr/lib/x86_64-linux-gnu/neko CGC_COMPAT_LIBDIR=$B/compat/lib $e "$@" \
    python3 $ROOT/tests/compat/real/measure.py $d/m $d/out $d/err "${pre[@]}" $R/usr/bin/neko $W/prog.n)
  echo "$(awk "{print \$1, \$2, \$3+\$4}" $d/m) gcs=$(grep -c '^gc [0-9]' $d/err)"
  cp $d/err ${TMPDIR:-/tmp}/nk-$mode-$i.err
  rm -rf $d
done
