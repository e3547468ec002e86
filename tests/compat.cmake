# The Boehm collector's API (compat/, SPEC §10): programs built as libgc
# programs are, against cgc's compat headers and against Debian's libgc-dev
# headers, linked with cgc's libgc.so.1, run with LD_BIND_NOW=1 (every
# symbol they reference must resolve at load); the symbol table check; and
# cgc-run. Labelled "checked": they run in the Debug and sanitizer builds.
if(TARGET cgc_compat)
  set(cgc_compat_env LD_BIND_NOW=1 LD_LIBRARY_PATH=$<TARGET_FILE_DIR:cgc_compat>)
  add_executable(test_compat_api_ours compat/compat_api.c)
  target_include_directories(test_compat_api_ours PRIVATE ${PROJECT_SOURCE_DIR}/compat/include)
  target_link_libraries(test_compat_api_ours PRIVATE cgc_compat Threads::Threads ${CMAKE_DL_LIBS})
  add_test(NAME test_compat_api_ours COMMAND test_compat_api_ours)
  set(cgc_compat_tests test_compat_api_ours)
  if(EXISTS /usr/include/gc/gc.h)
    add_executable(test_compat_api_libgc_headers compat/compat_api.c)
    target_include_directories(test_compat_api_libgc_headers BEFORE PRIVATE /usr/include)
    target_link_libraries(test_compat_api_libgc_headers PRIVATE cgc_compat Threads::Threads ${CMAKE_DL_LIBS})
    add_test(NAME test_compat_api_libgc_headers COMMAND test_compat_api_libgc_headers)
    list(APPEND cgc_compat_tests test_compat_api_libgc_headers)
  endif()
  # Marking (custom kinds, mark procedures, push functions, typed and gcj
  # objects, unreachable finalizers), GC_do_blocking with
  # GC_call_with_gc_active, and where a pause that waited for
  # GC_call_with_alloc_lock stops the thread: each program on cgc's library
  # with both headers, and on Debian's own libgc, where it holds the checks
  # to the real collector.
  set(cgc_compat_env_tests)
  find_library(CGC_SYSTEM_LIBGC NAMES gc PATHS /usr/lib/x86_64-linux-gnu /usr/lib NO_DEFAULT_PATH)
  foreach(t marking blocking alloc_lock)
    add_executable(test_compat_${t}_ours compat/compat_${t}.c)
    target_include_directories(test_compat_${t}_ours PRIVATE ${PROJECT_SOURCE_DIR}/compat/include)
    target_link_libraries(test_compat_${t}_ours PRIVATE cgc_compat Threads::Threads)
    add_test(NAME test_compat_${t}_ours COMMAND test_compat_${t}_ours)
    list(APPEND cgc_compat_tests test_compat_${t}_ours)
    list(APPEND cgc_compat_env_tests test_compat_${t}_ours)
    if(EXISTS /usr/include/gc/gc.h)
      add_executable(test_compat_${t}_libgc_headers compat/compat_${t}.c)
      target_include_directories(test_compat_${t}_libgc_headers BEFORE PRIVATE /usr/include)
      target_link_libraries(test_compat_${t}_libgc_headers PRIVATE cgc_compat Threads::Threads)
      add_test(NAME test_compat_${t}_libgc_headers COMMAND test_compat_${t}_libgc_headers)
      list(APPEND cgc_compat_tests test_compat_${t}_libgc_headers)
      list(APPEND cgc_compat_env_tests test_compat_${t}_libgc_headers)
      if(CGC_SYSTEM_LIBGC AND NOT t STREQUAL alloc_lock)   # libgc fails it (the file says why)
        add_executable(test_compat_${t}_system_libgc compat/compat_${t}.c)
        target_include_directories(test_compat_${t}_system_libgc BEFORE PRIVATE /usr/include)
        target_link_libraries(test_compat_${t}_system_libgc PRIVATE ${CGC_SYSTEM_LIBGC} Threads::Threads)
        add_test(NAME test_compat_${t}_system_libgc COMMAND test_compat_${t}_system_libgc)
        list(APPEND cgc_compat_tests test_compat_${t}_system_libgc)
      endif()
    endif()
  endforeach()
  add_test(NAME test_compat_symbols
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/compat/symbols.sh $<TARGET_FILE:cgc_compat>
            ${PROJECT_SOURCE_DIR}/compat/symbols.tsv ${CMAKE_BINARY_DIR}/compat/stubs.c)
  add_test(NAME test_compat_cgc_run
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/compat/cgc_run.sh ${CMAKE_BINARY_DIR}/compat/cgc-run
            $<TARGET_FILE_DIR:cgc_compat> ${CMAKE_CURRENT_SOURCE_DIR}/compat/compat_api.c)
  list(APPEND cgc_compat_tests test_compat_symbols test_compat_cgc_run)
  set_tests_properties(${cgc_compat_tests} PROPERTIES TIMEOUT 300 LABELS checked)
  set_tests_properties(test_compat_api_ours PROPERTIES ENVIRONMENT "${cgc_compat_env}")
  if(TARGET test_compat_api_libgc_headers)
    set_tests_properties(test_compat_api_libgc_headers PROPERTIES ENVIRONMENT "${cgc_compat_env}")
  endif()
  set_tests_properties(${cgc_compat_env_tests} PROPERTIES ENVIRONMENT "${cgc_compat_env}")
endif()
# The installed layout, pkg-config cgc-compat and the installed cgc-run
# (like install_and_link, not in the Debug/sanitizer runs).
if(TARGET cgc_compat)
  add_test(NAME compat_install_and_run
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/compat/install.sh ${PROJECT_BINARY_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/compat)
  set_tests_properties(compat_install_and_run PROPERTIES TIMEOUT 300)
endif()
