# Roots tests that need more than one C file (roots.c): a library loaded and
# unloaded at run time. Linked against the static library (they set
# cgc__roots_test_hook); the path of the library is their argument.
add_library(test_dlroot SHARED ${CMAKE_CURRENT_SOURCE_DIR}/roots/libdlroot.c)
add_executable(test_dlclose ${CMAKE_CURRENT_SOURCE_DIR}/roots/test_dlclose.c)
target_include_directories(test_dlclose PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(test_dlclose PRIVATE cgc_static ${CMAKE_DL_LIBS})
add_dependencies(test_dlclose test_dlroot)
add_test(NAME test_dlclose COMMAND test_dlclose $<TARGET_FILE:test_dlroot>)
set_tests_properties(test_dlclose PROPERTIES TIMEOUT 300)
