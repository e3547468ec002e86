# The mostly-concurrent mark (docs/concurrent.md). It is the default where
# the kernel offers a dirty-page tracker, but the default marks a small
# heap stopped, and most tests' heaps are small: the core tests run again
# with CGC_DEBUG=gcconcurrent=1 (every cycle concurrent), so that both
# kinds of cycle are tested in every build (Release, Debug, sanitizers). test_concurrent_stress (a plain test_*) runs concurrently
# too; its _stw twin checks that no cycle marks concurrently when
# stop-the-world is forced.
foreach(t test_stress test_threads test_fork test_fork_malloc test_finalize test_finalize_threads
          test_api test_uncollectable test_do_blocking test_thread_exit test_reclaim
          test_limiter_scope test_gctrace test_mark_large_meta test_rlimit_as test_cancel_alloc
          test_cancel_stopped)
  add_test(NAME ${t}_conc COMMAND ${t})
  set_tests_properties(${t}_conc PROPERTIES TIMEOUT 300 LABELS checked
                       ENVIRONMENT "CGC_DEBUG=gcconcurrent=1")
endforeach()
add_test(NAME test_dlclose_conc COMMAND test_dlclose $<TARGET_FILE:test_dlroot>)
add_test(NAME test_tls_conc COMMAND test_tls $<TARGET_FILE:test_tlsroot>)
set_tests_properties(test_dlclose_conc test_tls_conc PROPERTIES TIMEOUT 300 LABELS checked
                     ENVIRONMENT "CGC_DEBUG=gcconcurrent=1")
set_tests_properties(test_concurrent_stress PROPERTIES ENVIRONMENT "CGC_DEBUG=gcconcurrent=1")
set_tests_properties(test_assist test_assist_handoff test_large_backstop test_shadow_table test_hot_reuse test_wait_cpu PROPERTIES ENVIRONMENT "CGC_DEBUG=gcconcurrent=1")
add_test(NAME test_concurrent_stress_stw COMMAND test_concurrent_stress)
set_tests_properties(test_concurrent_stress_stw PROPERTIES TIMEOUT 300 LABELS checked
                     ENVIRONMENT "CGC_DEBUG=gcconcurrent=1,gcstoptheworld=1")
# The copies of large pointer arrays are not made near the memory limit
# (src/mark.c, shadow_of): the same test, its ~30 MiB live heap above a
# 30 MiB limit, asserts that none was made and that nothing is lost.
# gcconcurrent=2: so far under the limit, gcconcurrent=1 would mark every
# cycle with the world stopped (collect.c, room_too_small).
add_test(NAME test_shadow_table_limit COMMAND test_shadow_table)
set_tests_properties(test_shadow_table_limit PROPERTIES TIMEOUT 300 LABELS checked
                     ENVIRONMENT "CGC_DEBUG=gcconcurrent=2;CGC_MEMLIMIT=30MiB;TEST_SHADOW_NEAR_LIMIT=1")
# A test of stop-the-world cycles' helpers, pinned to that mode
# (scripts/test.sh runs the "checked" tests in several modes).
set_tests_properties(test_prewake PROPERTIES ENVIRONMENT "CGC_DEBUG=gcstoptheworld=1")
# Which cycles mark concurrently, and that a large heap dropped is freed
# (collect.c, mark.c): in the default mode (pinned to it, no memory limit)
# and with every cycle concurrent.
set_tests_properties(test_mark_mode PROPERTIES ENVIRONMENT "CGC_DEBUG=;CGC_MEMLIMIT=off")
add_test(NAME test_mark_mode_every COMMAND test_mark_mode every)
set_tests_properties(test_mark_mode_every PROPERTIES TIMEOUT 300 LABELS checked
                     ENVIRONMENT "CGC_DEBUG=gcconcurrent=1;CGC_MEMLIMIT=off")
