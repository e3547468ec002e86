# bench/smoke.cmake — the benchmark smoke test, run in CMake script mode
# (tests/bench_smoke.cmake declares it). Checks what the benchmark tables
# rely on:
#   1. binary-trees at depth 12 prints the same lines under cgc as under
#      malloc/free (cgc kept every live node and the counts agree);
#   2. churn in a tiny configuration collects under cgc (gcs >= 1, pauses
#      recorded) and ends with the same table checksum as malloc/free;
#   3. the same churn in cgc's concurrent mode (CGC_DEBUG=gcconcurrent=1)
#      ends with the same checksum;
#   4. every run ends with a well-formed RESULT line.
# Variables: BT_CGC BT_MALLOC CHURN_CGC CHURN_MALLOC (executables).

# run(<exe> <outvar> <resultvar> args...): output without RESULT, and RESULT.
function(run exe outvar resultvar)
  execute_process(COMMAND ${exe} ${ARGN} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${exe} ${ARGN} exited with ${rc}:\n${out}")
  endif()
  string(REGEX MATCH "RESULT bench=[^\n]*" result "${out}")
  set(fields "bench=[a-z-]+ impl=[a-z-]+ wall_s=[0-9.]+ cpu_s=[0-9.]+ maxrss_kb=[0-9]+ gcs=[0-9]+ pause_p50_ms=[0-9.]+ pause_p99_ms=[0-9.]+ pause_max_ms=[0-9.]+ gap_max_ms=[0-9.]+ gap_p999_ms=[0-9.]+ gaps_1ms=[0-9]+ gaps_10ms=[0-9]+ gap_every=[0-9]+( [a-z0-9_]+=[0-9.]+)*$")
  if(NOT result MATCHES "^RESULT ${fields}")
    message(FATAL_ERROR "${exe}: no well-formed RESULT line:\n${out}")
  endif()
  string(REGEX REPLACE "RESULT bench=[^\n]*\n?" "" body "${out}")
  set(${outvar} "${body}" PARENT_SCOPE)
  set(${resultvar} "${result}" PARENT_SCOPE)
endfunction()

run(${BT_CGC} bt_cgc bt_cgc_r 12)
run(${BT_MALLOC} bt_malloc bt_malloc_r 12)
if(NOT bt_cgc STREQUAL bt_malloc)
  message(FATAL_ERROR "binary-trees 12: cgc and malloc outputs differ:\n--- cgc\n${bt_cgc}--- malloc\n${bt_malloc}")
endif()
if(NOT bt_cgc MATCHES "long lived tree of depth 12\t check: 8191")
  message(FATAL_ERROR "binary-trees 12: unexpected output:\n${bt_cgc}")
endif()

# 2^12 slots (~0.5 MiB live), 300000 replacements (~40 MiB allocated).
run(${CHURN_CGC} churn_cgc churn_cgc_r 12 300000)
run(${CHURN_MALLOC} churn_malloc churn_malloc_r 12 300000)
if(NOT churn_cgc STREQUAL churn_malloc)
  message(FATAL_ERROR "churn: cgc and malloc checksums differ:\n${churn_cgc}${churn_malloc}")
endif()
string(REGEX MATCH " gcs=([0-9]+)" _ "${churn_cgc_r}")
if(CMAKE_MATCH_1 LESS 1)
  message(FATAL_ERROR "churn: cgc reported no collection: ${churn_cgc_r}")
endif()
if(churn_cgc_r MATCHES " pause_max_ms=0.000 ")
  message(FATAL_ERROR "churn: cgc collected but recorded no pause: ${churn_cgc_r}")
endif()
# The same churn in cgc's concurrent mode (bench/run.sh's cgc-conc): the
# same checksum, and a RESULT line that says how many cycles marked
# concurrently (none where the kernel offers no dirty-page tracker).
run(${CMAKE_COMMAND} churn_conc churn_conc_r -E env CGC_DEBUG=gcconcurrent=1 ${CHURN_CGC} 12 300000)
if(NOT churn_conc STREQUAL churn_malloc)
  message(FATAL_ERROR "churn: cgc (concurrent) and malloc checksums differ:\n${churn_conc}${churn_malloc}")
endif()
if(NOT churn_conc_r MATCHES " conc_gcs=[0-9]+ assist_ms=[0-9.]+$")
  message(FATAL_ERROR "churn: cgc's RESULT line has no conc_gcs and assist_ms: ${churn_conc_r}")
endif()
message(STATUS "${bt_cgc_r}\n${churn_cgc_r}\n${churn_conc_r}")
