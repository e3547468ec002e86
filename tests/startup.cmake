# What cgc does at load time. test_startup_threads.c (globbed in
# CMakeLists.txt) runs against the static library; the same program against
# the shared one initialises through the .so's constructor.
add_executable(test_startup_threads_shared ${CMAKE_CURRENT_SOURCE_DIR}/test_startup_threads.c)
target_include_directories(test_startup_threads_shared PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(test_startup_threads_shared PRIVATE cgc_shared)
add_test(NAME test_startup_threads_shared COMMAND test_startup_threads_shared)
set_tests_properties(test_startup_threads_shared PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS checked)
set_tests_properties(test_startup_threads PROPERTIES SKIP_RETURN_CODE 77)
