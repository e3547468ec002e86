# Core tests that need more than one C file.
add_library(test_holder SHARED ${CMAKE_CURRENT_SOURCE_DIR}/core/libholder.c)
add_executable(test_shlib_root ${CMAKE_CURRENT_SOURCE_DIR}/core/test_shlib_root.c)
# Linked against the shared libcgc: the way most programs use it.
target_link_libraries(test_shlib_root PRIVATE cgc_shared test_holder)
add_test(NAME test_shlib_root COMMAND test_shlib_root)

