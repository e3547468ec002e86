# GC_set_warn_proc (compat/warn.c; tests/compat/warn_proc.c): the warnings
# of cgc and of the compat layer reach a libgc program's warn proc. On
# cgc's library, with its headers and with Debian's (it raises cgc's own
# warnings through cgc_free, so not on Debian's libgc).
if(TARGET cgc_compat)
  set(cgc_warn_tests test_compat_warn_proc_ours)
  add_executable(test_compat_warn_proc_ours compat/warn_proc.c)
  target_include_directories(test_compat_warn_proc_ours PRIVATE ${PROJECT_SOURCE_DIR}/compat/include)
  target_link_libraries(test_compat_warn_proc_ours PRIVATE cgc_compat Threads::Threads ${CMAKE_DL_LIBS})
  add_test(NAME test_compat_warn_proc_ours COMMAND test_compat_warn_proc_ours)
  if(EXISTS /usr/include/gc/gc.h)
    add_executable(test_compat_warn_proc_libgc_headers compat/warn_proc.c)
    target_include_directories(test_compat_warn_proc_libgc_headers BEFORE PRIVATE /usr/include)
    target_link_libraries(test_compat_warn_proc_libgc_headers PRIVATE cgc_compat Threads::Threads ${CMAKE_DL_LIBS})
    add_test(NAME test_compat_warn_proc_libgc_headers COMMAND test_compat_warn_proc_libgc_headers)
    list(APPEND cgc_warn_tests test_compat_warn_proc_libgc_headers)
  endif()
  set_tests_properties(${cgc_warn_tests} PROPERTIES TIMEOUT 300 LABELS checked
    ENVIRONMENT "LD_BIND_NOW=1;LD_LIBRARY_PATH=$<TARGET_FILE_DIR:cgc_compat>")
endif()
