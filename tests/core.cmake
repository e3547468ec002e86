# Core tests that need more than one C file.
add_library(test_holder SHARED ${CMAKE_CURRENT_SOURCE_DIR}/core/libholder.c)
add_executable(test_shlib_root ${CMAKE_CURRENT_SOURCE_DIR}/core/test_shlib_root.c)
# Linked against the shared libcgc: the way most programs use it.
target_link_libraries(test_shlib_root PRIVATE cgc_shared test_holder)
add_test(NAME test_shlib_root COMMAND test_shlib_root)
set_tests_properties(test_shlib_root PROPERTIES TIMEOUT 300 LABELS checked)


# A program that dlopens libcgc and dlcloses it (tests/core/test_dlclose_cgc.c):
# not linked against cgc; the library's path is its argument.
add_executable(test_dlclose_cgc ${CMAKE_CURRENT_SOURCE_DIR}/core/test_dlclose_cgc.c)
target_link_libraries(test_dlclose_cgc PRIVATE ${CMAKE_DL_LIBS} Threads::Threads)
add_dependencies(test_dlclose_cgc cgc_shared)
add_test(NAME test_dlclose_cgc COMMAND test_dlclose_cgc $<TARGET_FILE:cgc_shared>)
set_tests_properties(test_dlclose_cgc PROPERTIES TIMEOUT 120 LABELS checked)
