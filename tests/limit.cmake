# The soft memory limit, end to end (issue 4): the churn workload, real
# memory cgroups, resident memory against the limit, the death spiral.
# Every test here exits 77 (skipped, with the reason on stderr) where it
# cannot run: no writable memory cgroup, or (Boehm) no libgc.

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
