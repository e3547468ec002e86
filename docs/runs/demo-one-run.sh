#!/usr/bin/env bash
# demo-one-run.sh LIMIT_MIB "ENV..." TAG: one run of the demo request mix
# against the C service in a child memory cgroup of LIMIT_MIB (session
# notes, docs/runs/2026-12-03-waits-packets.txt); DX: work directory
# holding seed.db.
# BIN: the service binary (default build-demo's).
set -u
lim=$1; envs=$2; tag=$3
ROOT=/work/main
source $ROOT/bench/limit/cgroup.sh
cg_prepare 2>/dev/null || exit 1
CG=$CG__OWN/cgc-dx-$$
cg__mkdir $CG; cg_set_limit $((lim*1048576)) $CG
W=${DX:-/tmp/dx}/run-$tag; rm -rf $W; mkdir -p $W
cp ${DX:-/tmp/dx}/seed.db $W/shop.db
PORT=$((20000 + RANDOM % 10000))
( cg__write "$CG/cgroup.procs" "$BASHPID"; exec env -i PATH=$PATH HOST=127.0.0.1 PORT=$PORT DB_PATH=$W/shop.db DEMO_ORDERS=30000 $envs ${BIN:-/work/main/build-demo/examples/service/cgc-shop} ) > $W/service.log 2>&1 &
sp=$!
for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$PORT/products/1 && break; sleep 0.1; done
t0=$EPOCHREALTIME
hey -n 40 -c 4 -t 30 -o csv http://127.0.0.1:$PORT/report > $W/r.csv 2>/dev/null &
hey -n 400 -c 2 -t 30 -o csv "http://127.0.0.1:$PORT/products?page=7&per_page=50" > $W/l.csv 2>/dev/null &
hey -n 200 -c 1 -t 30 -o csv "http://127.0.0.1:$PORT/products/search?q=quiet&limit=50" > $W/s.csv 2>/dev/null &
hey -n 400 -c 1 -t 30 -o csv "http://127.0.0.1:$PORT/products/1234" > $W/f.csv 2>/dev/null &
hey -n 100 -c 1 -t 30 -o csv -m POST -T application/json -d '{"customer_id":42,"product_id":7,"quantity":2}' http://127.0.0.1:$PORT/orders > $W/o.csv 2>/dev/null &
wait %2 %3 %4 %5 %6 2>/dev/null
t1=$EPOCHREALTIME; curl -s http://127.0.0.1:$PORT/debug/vars > $W/vars.json; grep -E "^(Rss|Anonymous|Private_Dirty)" /proc/$sp/smaps_rollup > $W/smaps.txt 2>/dev/null
cpu=$(awk -v hz=$(getconf CLK_TCK) '{sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz}' /proc/$sp/stat 2>/dev/null)
kill -TERM $sp 2>/dev/null; wait $sp; rc=$?
ok=$(cat $W/*.csv | grep -c ',200,\|,201,')
peak=$(cat $CG/memory.max_usage_in_bytes)
# With KMEM=1: the cgroup's kernel-memory peak and memory.stat's
# rss/cache lines as well (docs/runs/session14.txt, part 1).
if [[ -n ${KMEM:-} ]]; then echo kmem=$(( $(cat $CG/memory.kmem.max_usage_in_bytes)/1024 ))K; grep -E "^(rss|cache|mapped_file|shmem) " $CG/memory.stat | tr "\n" " "; fi
oom=$(grep oom_kill $CG/memory.oom_control | awk '{print $2}')
echo "lim=$lim tag=$tag rc=$rc ok=$ok wall=$(awk -v a=$t0 -v b=$t1 'BEGIN{print b-a}') cpu=$cpu peak=$((peak/1048576)) oom=$oom gcs=$(grep -c '^gc ' $W/service.log)"
cg__rmdir $CG
