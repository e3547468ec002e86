# The mostly-concurrent mark (docs/concurrent.md). Concurrent marking is the
# default where the kernel offers a dirty-page tracker; the core tests run
# again with CGC_DEBUG=gcstoptheworld=1, so that both modes are tested in
# every build (Release, Debug, sanitizers). test_concurrent_stress itself is
# a plain test_* (tests/CMakeLists.txt); its _stw twin checks that no cycle
# marks concurrently when stop-the-world is asked for.
foreach(t test_stress test_threads test_fork test_fork_malloc test_finalize test_finalize_threads
          test_api test_uncollectable test_do_blocking test_thread_exit test_concurrent_stress)
  add_test(NAME ${t}_stw COMMAND ${t})
  set_tests_properties(${t}_stw PROPERTIES TIMEOUT 300 LABELS checked
                       ENVIRONMENT "CGC_DEBUG=gcstoptheworld=1")
endforeach()
add_test(NAME test_dlclose_stw COMMAND test_dlclose $<TARGET_FILE:test_dlroot>)
add_test(NAME test_tls_stw COMMAND test_tls $<TARGET_FILE:test_tlsroot>)
set_tests_properties(test_dlclose_stw test_tls_stw PROPERTIES TIMEOUT 300 LABELS checked
                     ENVIRONMENT "CGC_DEBUG=gcstoptheworld=1")
