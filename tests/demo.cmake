# The demo's headline as a test (issue 6): demo/run.sh --quick runs the C
# shop service under real memory cgroups (v1, or v2 with the harness moved
# into a leaf cgroup: bench/limit/cgroup.sh) and asserts that at its limit
# CGC_MEMLIMIT=off is OOM-killed while cgc's default and the soft limit at
# the cgroup limit answer every request with no OOM kill; each verdict line
# says what it measured (OOM kills, requests answered, cgroup peak, cgc's
# own count against its soft limit).
# It exits 77 (skipped, one line "run.sh: SKIPPED: <reason>") where it
# cannot run: no writable memory cgroup (v2: memory controller not
# delegated), hey missing, or the service not built
# (CGC_BUILD_EXAMPLES=OFF, or libmicrohttpd/SQLite/jansson missing);
# scripts/test.sh then fails unless CGC_ALLOW_SKIP=1.
find_program(CGC_BASH bash)
if(CGC_BASH)
  add_test(NAME demo_quick
    COMMAND ${CGC_BASH} ${PROJECT_SOURCE_DIR}/demo/run.sh --quick --no-build --build-dir ${PROJECT_BINARY_DIR})
  set_tests_properties(demo_quick PROPERTIES
    SKIP_RETURN_CODE 77
    TIMEOUT 180
    RUN_SERIAL TRUE      # it measures memory and latency: nothing else may run
    LABELS demo)
endif()
# The demo's comparison logic without services or cgroups (issue 14,
# finding 2): the same configurations for C and Go, both minimal limits
# (soft limit at 90% and none) searched for both, the matrix at both, the
# Go version in the tables. Runs are modelled; a few seconds.
if(CGC_BASH)
  add_test(NAME demo_harness
    COMMAND ${CGC_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/demo/harness.sh)
  set_tests_properties(demo_harness PROPERTIES TIMEOUT 60 LABELS demo)
endif()

# The soak (issue 11), short: demo/soak.sh --quick runs the C service under
# a steady hey load for 90 s in a real memory cgroup whose limit moves
# between 96 and 36 MiB every 15 s, and asserts no OOM kill, no failed
# request, resident memory flat after warm-up, no growth in threads or file
# descriptors. 77 (skipped) where no memory cgroup can be created, hey is
# missing, or the service is not built.
if(CGC_BASH)
  add_test(NAME demo_soak_quick
    COMMAND ${CGC_BASH} ${PROJECT_SOURCE_DIR}/demo/soak.sh --quick --no-build --build-dir ${PROJECT_BINARY_DIR})
  set_tests_properties(demo_soak_quick PROPERTIES
    SKIP_RETURN_CODE 77
    TIMEOUT 300
    RUN_SERIAL TRUE      # it measures resident memory: nothing else may run
    LABELS demo)
endif()
