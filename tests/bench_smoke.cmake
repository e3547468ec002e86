# The benchmark suite's smoke test (bench/smoke.cmake): binary-trees 12
# under cgc prints exactly what malloc/free prints, and a tiny churn run
# collects under cgc and ends with malloc's checksum. A few seconds.
if(CGC_BUILD_BENCH AND EXISTS ${PROJECT_SOURCE_DIR}/bench/CMakeLists.txt)
  add_test(NAME bench_smoke
    COMMAND ${CMAKE_COMMAND}
      -DBT_CGC=$<TARGET_FILE:binary-trees-cgc>
      -DBT_MALLOC=$<TARGET_FILE:binary-trees-malloc>
      -DCHURN_CGC=$<TARGET_FILE:churn-cgc>
      -DCHURN_MALLOC=$<TARGET_FILE:churn-malloc>
      -P ${PROJECT_SOURCE_DIR}/bench/smoke.cmake)
  set_tests_properties(bench_smoke PROPERTIES TIMEOUT 60 LABELS bench)
endif()
