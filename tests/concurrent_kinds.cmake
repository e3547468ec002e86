# test_concurrent_kinds (a plain test_*) runs concurrently, and again in
# stop-the-world mode: the callback kind's contract holds in both modes
# (tests/concurrent.cmake).
set_tests_properties(test_concurrent_kinds PROPERTIES ENVIRONMENT "CGC_DEBUG=gcconcurrent=1")
add_test(NAME test_concurrent_kinds_stw COMMAND test_concurrent_kinds)
set_tests_properties(test_concurrent_kinds_stw PROPERTIES TIMEOUT 300 LABELS checked)
