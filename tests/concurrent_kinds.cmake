# test_concurrent_kinds (a plain test_*) again in stop-the-world mode: the
# callback kind's contract holds in both modes (tests/concurrent.cmake).
add_test(NAME test_concurrent_kinds_stw COMMAND test_concurrent_kinds)
set_tests_properties(test_concurrent_kinds_stw PROPERTIES TIMEOUT 300 LABELS checked
                     ENVIRONMENT "CGC_DEBUG=gcstoptheworld=1")
