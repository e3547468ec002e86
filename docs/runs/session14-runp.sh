#!/bin/bash
# session14-runp.sh [ENV=...]: churn 19 10000000 concurrent with gctrace; prints
# wall, worst gap and the final stop p50/p90/max (docs/runs/session14.txt, part 5).
out=$(env "$@" CGC_DEBUG=gcconcurrent=1,gctrace=1 /usr/bin/time -f "WALL %e" /work/main/build-bench/bench/churn-cgc 19 10000000 2>&1 >/dev/null)
w=$(echo "$out" | awk '/^WALL/{print $2}'); g=$(echo "$out" | grep -o 'worst_ms=[0-9.]*')
cs=$(echo "$out" | awk '/^gc /{split($5,a,"+"); print a[3]+0}' | sort -g | tr '\n' ' ')
n=$(echo $cs | wc -w)
echo "$* wall=$w $g final: $(echo $cs | awk -v n=$n '{printf "p50=%s p90=%s max=%s", $(int(n*0.5)+1), $(int(n*0.9)+1), $n}') n=$n"
