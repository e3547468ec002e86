# Roots tests that need more than one C file: a test program and a library
# it loads at run time, whose path is its argument. Linked against the
# static library (they set cgc__roots_test_hook or read cgc's internals).
# Labelled "checked" as every test_* is: scripts/test.sh runs them on the
# Debug and sanitizer builds too.
function(cgc_roots_test name lib)
  add_library(test_${lib} SHARED ${CMAKE_CURRENT_SOURCE_DIR}/roots/lib${lib}.c)
  add_executable(${name} ${CMAKE_CURRENT_SOURCE_DIR}/roots/${name}.c)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE cgc_static ${CMAKE_DL_LIBS})
  add_dependencies(${name} test_${lib})
  add_test(NAME ${name} COMMAND ${name} $<TARGET_FILE:test_${lib}>)
  set_tests_properties(${name} PROPERTIES TIMEOUT 300 LABELS checked)
endfunction()

# A library loaded and unloaded at run time (roots.c).
cgc_roots_test(test_dlclose dlroot)
# __thread variables of the program and of a dlopen'd library as roots (tls.c).
cgc_roots_test(test_tls tlsroot)
# A thread stopped half-way through growing its TLS vector: the collection
# frees nothing (tls.c: cgc__tls_check). Uses the library of test_tls.
add_executable(test_tls_dtv ${CMAKE_CURRENT_SOURCE_DIR}/roots/test_tls_dtv.c)
target_include_directories(test_tls_dtv PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(test_tls_dtv PRIVATE cgc_static ${CMAKE_DL_LIBS})
add_dependencies(test_tls_dtv test_tlsroot)
add_test(NAME test_tls_dtv COMMAND test_tls_dtv $<TARGET_FILE:test_tlsroot>)
set_tests_properties(test_tls_dtv PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77 LABELS checked)
# A collection whose tables of roots cannot grow frees nothing (roots.c):
# an object only a dlopen'd library's data, or its __thread variable,
# refers to survives it. Uses the library of test_dlclose.
add_executable(test_roots_nomem ${CMAKE_CURRENT_SOURCE_DIR}/roots/test_roots_nomem.c)
target_include_directories(test_roots_nomem PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(test_roots_nomem PRIVATE cgc_static ${CMAKE_DL_LIBS})
add_dependencies(test_roots_nomem test_dlroot)
add_test(NAME test_roots_nomem COMMAND test_roots_nomem $<TARGET_FILE:test_dlroot>)
set_tests_properties(test_roots_nomem PROPERTIES TIMEOUT 300 LABELS checked)
