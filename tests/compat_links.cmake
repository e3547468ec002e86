# Disappearing links to objects only finalizable objects reach (Guile's
# guardians and symbol table; tests/compat/finalized_links.c): on cgc's
# library with its headers and with Debian's, and on Debian's libgc itself,
# where the same checks hold. CGC_SYSTEM_LIBGC comes from compat.cmake.
if(TARGET cgc_compat)
  add_executable(test_compat_finalized_links_ours compat/finalized_links.c)
  target_include_directories(test_compat_finalized_links_ours PRIVATE ${PROJECT_SOURCE_DIR}/compat/include)
  target_link_libraries(test_compat_finalized_links_ours PRIVATE cgc_compat Threads::Threads)
  add_test(NAME test_compat_finalized_links_ours COMMAND test_compat_finalized_links_ours)
  set(cgc_links_tests test_compat_finalized_links_ours)
  set(cgc_links_env_tests test_compat_finalized_links_ours)
  if(EXISTS /usr/include/gc/gc.h)
    add_executable(test_compat_finalized_links_libgc_headers compat/finalized_links.c)
    target_include_directories(test_compat_finalized_links_libgc_headers BEFORE PRIVATE /usr/include)
    target_link_libraries(test_compat_finalized_links_libgc_headers PRIVATE cgc_compat Threads::Threads)
    add_test(NAME test_compat_finalized_links_libgc_headers COMMAND test_compat_finalized_links_libgc_headers)
    list(APPEND cgc_links_tests test_compat_finalized_links_libgc_headers)
    list(APPEND cgc_links_env_tests test_compat_finalized_links_libgc_headers)
    if(CGC_SYSTEM_LIBGC)
      add_executable(test_compat_finalized_links_system_libgc compat/finalized_links.c)
      target_include_directories(test_compat_finalized_links_system_libgc BEFORE PRIVATE /usr/include)
      target_link_libraries(test_compat_finalized_links_system_libgc PRIVATE ${CGC_SYSTEM_LIBGC} Threads::Threads)
      add_test(NAME test_compat_finalized_links_system_libgc COMMAND test_compat_finalized_links_system_libgc)
      list(APPEND cgc_links_tests test_compat_finalized_links_system_libgc)
    endif()
  endif()
  set_tests_properties(${cgc_links_tests} PROPERTIES TIMEOUT 300 LABELS checked)
  set_tests_properties(${cgc_links_env_tests} PROPERTIES
    ENVIRONMENT "LD_BIND_NOW=1;LD_LIBRARY_PATH=$<TARGET_FILE_DIR:cgc_compat>")
endif()
# Many links at once (tests/compat/link_table.c): the table's growth,
# removals and shrinking, and that it costs no malloc memory. cgc's library
# only (it reads cgc's memstats).
if(TARGET cgc_compat)
  add_executable(test_compat_link_table compat/link_table.c)
  target_include_directories(test_compat_link_table PRIVATE ${PROJECT_SOURCE_DIR}/compat/include
    ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(test_compat_link_table PRIVATE cgc_compat Threads::Threads)
  add_test(NAME test_compat_link_table COMMAND test_compat_link_table)
  set_tests_properties(test_compat_link_table PROPERTIES TIMEOUT 300 LABELS checked
    ENVIRONMENT "LD_BIND_NOW=1;LD_LIBRARY_PATH=$<TARGET_FILE_DIR:cgc_compat>")
endif()
