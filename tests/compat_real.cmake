# Real programs nobody here wrote, unchanged, under cgc-run (Debian 12
# packages that depend on libgc1, fetched with apt-get download and
# unpacked into the build directory, tests/compat/real/), and the compat
# fixes they revealed, each with its own test (tests/compat/*.c, *.sh).
# docs/boehm-compat.md, "Real programs".
if(TARGET cgc_compat)
  set(cgc_compat_fix_env LD_BIND_NOW=1 LD_LIBRARY_PATH=$<TARGET_FILE_DIR:cgc_compat>)
  foreach(t clear_roots no_interior)
    add_executable(test_compat_${t} compat/${t}.c)
    target_include_directories(test_compat_${t} PRIVATE ${PROJECT_SOURCE_DIR}/compat/include)
    target_link_libraries(test_compat_${t} PRIVATE cgc_compat)
    add_test(NAME test_compat_${t} COMMAND test_compat_${t})
  endforeach()
  add_test(NAME test_compat_divisor
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/compat/divisor.sh $<TARGET_FILE:test_compat_no_interior>)
  set_tests_properties(test_compat_clear_roots test_compat_no_interior test_compat_divisor PROPERTIES
    TIMEOUT 300 LABELS checked ENVIRONMENT "${cgc_compat_fix_env}")

  # Output, peak RSS and the memory limit against Debian's libgc: Release
  # only (they measure resident memory; not "checked"). In a build with
  # sanitizers they are skipped with the reason: an unchanged program
  # loading an instrumented libgc.so through cgc-run stops at once (the
  # sanitizer's runtime must be the first library loaded), and the
  # sanitizer's shadow memory would be most of the resident memory they
  # compare. Also used by tests/concurrent_kinds.cmake (included after
  # this one: modules in name order).
  function(cgc_compat_real_test name prog out)
    if(CGC_SANITIZE)
      add_test(NAME ${name} COMMAND sh -c "echo 'SKIP: built with sanitizers (CGC_SANITIZE=${CGC_SANITIZE}): these run unchanged programs on the library and compare their resident memory with libgc: a Release build runs them'; exit 77")
    else()
      add_test(NAME ${name}
        COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/compat/real/${prog}.sh ${CMAKE_BINARY_DIR}/compat/cgc-run
                $<TARGET_FILE_DIR:cgc_compat> ${CMAKE_BINARY_DIR}/compat-real/${out})
    endif()
  endfunction()
  foreach(p w3m neko guile)
    cgc_compat_real_test(compat_real_${p} ${p} ${p})
    set_tests_properties(compat_real_${p} PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77 LABELS compat-real)
  endforeach()
endif()
