# The soft memory limit, end to end (issue 4): the churn workload, real
# memory cgroups, resident memory against the limit, the death spiral.
# Every test here exits 77 (skipped, with one line "SKIP: <reason>" on
# stderr) where it cannot run: no writable memory cgroup (cgroup v2: the
# memory controller not delegated to our cgroup), or (Boehm) no libgc.
# scripts/test.sh fails a run with skipped tests unless CGC_ALLOW_SKIP=1.

set(CGC_LIMIT_DIR ${PROJECT_SOURCE_DIR}/bench/limit)

# The churn workload against cgc; the benchmark also builds it against the
# Boehm collector (bench/limit/run.sh) when libgc is installed.
add_executable(limit_churn_cgc ${CGC_LIMIT_DIR}/churn.c)
target_link_libraries(limit_churn_cgc PRIVATE cgc_static)
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(CGC_BDWGC QUIET IMPORTED_TARGET bdw-gc)
endif()
# The floor: the same mutator work on glibc malloc/free, no collector.
add_executable(limit_churn_malloc ${CGC_LIMIT_DIR}/churn.c)
target_compile_definitions(limit_churn_malloc PRIVATE CHURN_MALLOC=1)
if(CGC_BDWGC_FOUND)
  add_executable(limit_churn_boehm ${CGC_LIMIT_DIR}/churn.c)
  target_compile_definitions(limit_churn_boehm PRIVATE CHURN_BOEHM=1)
  target_link_libraries(limit_churn_boehm PRIVATE PkgConfig::CGC_BDWGC)
  # The same without Boehm's default extra byte per object.
  add_executable(limit_churn_boehm_noint ${CGC_LIMIT_DIR}/churn.c)
  target_compile_definitions(limit_churn_boehm_noint PRIVATE CHURN_BOEHM=1 BOEHM_NO_INTERIOR=1)
  target_link_libraries(limit_churn_boehm_noint PRIVATE PkgConfig::CGC_BDWGC)
endif()

# Like for like: every C variant zeroes each blob as Go's make does; with
# --touch ends a word never written must read zero (no cgroup needed).
foreach(impl cgc malloc)
  add_test(NAME limit_churn_zeroed_${impl}
    COMMAND limit_churn_${impl} --live-mib 8 --alloc-mib 96 --touch ends)
  set_tests_properties(limit_churn_zeroed_${impl} PROPERTIES TIMEOUT 60)
endforeach()

# Real cgroups: one child memory cgroup per test, 128 MiB, live heap 60%.
foreach(case oom_off soft90 gcoff default)
  add_test(NAME limit_cgroup_${case}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/limit/cgroup_case.sh ${case}
            $<TARGET_FILE:limit_churn_cgc> ${CGC_LIMIT_DIR}/cgroup.sh)
  set_tests_properties(limit_cgroup_${case} PROPERTIES
    SKIP_RETURN_CODE 77 TIMEOUT 90 RESOURCE_LOCK cgc_limit_cgroup)
endforeach()

# bench/limit/cgroup.sh's decisions (v1, v2 with the harness moved into a
# leaf, the skip line) on fixture trees with the kernel's rules emulated:
# runs anywhere, no cgroup touched.
add_test(NAME limit_cgroup_sh_fixtures
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/limit/cgroup_sh.sh ${CGC_LIMIT_DIR}/cgroup.sh)
set_tests_properties(limit_cgroup_sh_fixtures PROPERTIES TIMEOUT 60)
# The same v2 step on a real cgroup v2 hierarchy with whatever controller
# it has (the kernel's no-internal-process rule, which the fixtures emulate).
add_test(NAME limit_cgroup_v2_real
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/limit/cgroup_v2_real.sh ${CGC_LIMIT_DIR}/cgroup.sh)
set_tests_properties(limit_cgroup_v2_real PROPERTIES
  SKIP_RETURN_CODE 77 TIMEOUT 60 RESOURCE_LOCK cgc_limit_cgroup)

# Without cgroups: the limit set in-process.
add_executable(test_limit_rss ${CMAKE_CURRENT_SOURCE_DIR}/limit/test_limit_rss.c)
target_include_directories(test_limit_rss PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(test_limit_rss PRIVATE cgc_static)
foreach(case steady spike)
  add_test(NAME limit_rss_${case} COMMAND test_limit_rss ${case})
  # Resident memory and timing: keep other tests' CPU and memory out.
  set_tests_properties(limit_rss_${case} PROPERTIES TIMEOUT 90 RUN_SERIAL TRUE
    ENVIRONMENT "CGC_MEMLIMIT=off;CGC_GC=100")
endforeach()

add_executable(test_limit_spiral ${CMAKE_CURRENT_SOURCE_DIR}/limit/test_limit_spiral.c)
target_include_directories(test_limit_spiral PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(test_limit_spiral PRIVATE cgc_static)
add_test(NAME limit_death_spiral COMMAND test_limit_spiral)
# A CPU share is measured: run alone.
set_tests_properties(limit_death_spiral PROPERTIES TIMEOUT 90 RUN_SERIAL TRUE
  ENVIRONMENT "CGC_MEMLIMIT=off;CGC_GC=100")

# The soft limit does not count the program's malloc (docs/memory-limit.md):
# 100 MiB malloc'd under a 64 MiB soft limit, no spiral; /debug/vars shows
# the bounds the code uses (cgc_http's renderer, where it is built).
add_executable(test_limit_malloc ${CMAKE_CURRENT_SOURCE_DIR}/limit/test_limit_malloc.c)
target_include_directories(test_limit_malloc PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(test_limit_malloc PRIVATE cgc_static)
if(TARGET cgc_http)
  target_compile_definitions(test_limit_malloc PRIVATE HAVE_CGC_HTTP=1)
  target_include_directories(test_limit_malloc PRIVATE ${PROJECT_SOURCE_DIR}/http)
  target_link_libraries(test_limit_malloc PRIVATE cgc_http)
endif()
add_test(NAME test_limit_malloc COMMAND test_limit_malloc)
set_tests_properties(test_limit_malloc PROPERTIES TIMEOUT 120 RUN_SERIAL TRUE
  ENVIRONMENT "CGC_MEMLIMIT=64MiB;CGC_GC=off" LABELS checked)

# The container's bounds in a real cgroup (tests/limit/container_case.sh):
# small thread stacks on the slow path with a container limit; the
# hard-limit guard following an in-place resize both ways; CGC_MEMLIMIT=off.
# They check bounds, not time or resident memory, so they are test_* and
# run in the Debug and sanitizer builds too (scripts/test.sh).
add_executable(test_limit_container ${CMAKE_CURRENT_SOURCE_DIR}/limit/test_limit_container.c)
target_include_directories(test_limit_container PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(test_limit_container PRIVATE cgc_static)
foreach(case smallstack resize90 resizebytes off)
  add_test(NAME test_limit_container_${case}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/limit/container_case.sh ${case}
            $<TARGET_FILE:test_limit_container> ${CGC_LIMIT_DIR}/cgroup.sh)
  set_tests_properties(test_limit_container_${case} PROPERTIES
    SKIP_RETURN_CODE 77 TIMEOUT 120 RESOURCE_LOCK cgc_limit_cgroup LABELS checked)
endforeach()
