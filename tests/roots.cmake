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

# __thread variables of the program and of a dlopen'd library as roots (tls.c).
add_library(test_tlsroot SHARED ${CMAKE_CURRENT_SOURCE_DIR}/roots/libtlsroot.c)
add_executable(test_tls ${CMAKE_CURRENT_SOURCE_DIR}/roots/test_tls.c)
target_include_directories(test_tls PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(test_tls PRIVATE cgc_static ${CMAKE_DL_LIBS})
add_dependencies(test_tls test_tlsroot)
add_test(NAME test_tls COMMAND test_tls $<TARGET_FILE:test_tlsroot>)
set_tests_properties(test_tls PROPERTIES TIMEOUT 300)
