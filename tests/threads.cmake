# test_thread_signals against the shared library too: its constructor
# initialises cgc before main (cgc_set_thread_signals must still work).
add_executable(test_thread_signals_shared ${CMAKE_CURRENT_SOURCE_DIR}/test_thread_signals.c)
target_link_libraries(test_thread_signals_shared PRIVATE cgc_shared)
add_test(NAME test_thread_signals_shared COMMAND test_thread_signals_shared)
set_tests_properties(test_thread_signals_shared PROPERTIES TIMEOUT 300 LABELS checked)
# The sigwait pattern with the shared library: its pthread_sigmask and
# sigwait take the C library's place through the dynamic linker.
add_executable(test_sigwait_block_shared ${CMAKE_CURRENT_SOURCE_DIR}/test_sigwait_block.c)
target_link_libraries(test_sigwait_block_shared PRIVATE cgc_shared)
add_test(NAME test_sigwait_block_shared COMMAND test_sigwait_block_shared)
set_tests_properties(test_sigwait_block_shared PROPERTIES TIMEOUT 300 LABELS checked)
