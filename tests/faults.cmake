# Fault injection (src/fault.c, docs/faults.md): the multi-threaded stress
# workload while mmap, madvise, cgc's own thread creation and cgroup reads
# fail at random, from a fixed seed. Allocations may return NULL; nothing
# may crash, corrupt an object, break a heap invariant (Debug builds check
# them at every collection) or leak threads or memory. Labelled "checked":
# CGC_FAULTS works only in Debug builds (-DCGC_DEBUG=ON), so the Debug and
# sanitizer builds are where these actually inject faults (in Release the
# variable is ignored and they run the plain workload).
add_test(NAME test_stress_faults_2pct COMMAND test_stress 4 3 20000)
set_tests_properties(test_stress_faults_2pct PROPERTIES ENVIRONMENT "CGC_FAULTS=2/20261202" TIMEOUT 300 LABELS checked)
add_test(NAME test_stress_faults_20pct COMMAND test_stress 3 2 20000)
set_tests_properties(test_stress_faults_20pct PROPERTIES ENVIRONMENT "CGC_FAULTS=20/7" TIMEOUT 300 LABELS checked)
# More markers than CPUs and a soft limit: helper creation, release and the
# scavenger's paths under faults.
add_test(NAME test_stress_faults_markers4_limit COMMAND test_stress 4 2 15000)
set_tests_properties(test_stress_faults_markers4_limit PROPERTIES
  ENVIRONMENT "CGC_FAULTS=40/17;CGC_MARKERS=4;CGC_MEMLIMIT=96MiB" TIMEOUT 300 LABELS checked)
