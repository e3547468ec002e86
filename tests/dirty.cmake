# The dirty-page tracker (src/dirty.c): one program, one CTest test per
# property (tests/dirty/test_dirty.c says what each checks). Named test_*
# and labelled "checked": the Debug and sanitizer builds run them too.
add_executable(test_dirty ${CMAKE_CURRENT_SOURCE_DIR}/dirty/test_dirty.c)
target_include_directories(test_dirty PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(test_dirty PRIVATE cgc_static)
foreach(t unit race fork stw seccomp faults)
  add_test(NAME test_dirty_${t} COMMAND test_dirty ${t})
  set_tests_properties(test_dirty_${t} PROPERTIES TIMEOUT 300 LABELS checked)
endforeach()
# The tracker is opened unless stop-the-world marking is asked for; no
# collection starts by itself (CGC_GC=off, CGC_MEMLIMIT=off), so the
# collector's own cycles never arm, rearm or disarm the tracker between
# the test's steps (test_dirty_unit read every page as written when one
# did).
foreach(t unit race fork seccomp faults)
  set_tests_properties(test_dirty_${t} PROPERTIES ENVIRONMENT "CGC_DEBUG=gcconcurrent=1;CGC_GC=off;CGC_MEMLIMIT=off")
endforeach()
set_tests_properties(test_dirty_stw PROPERTIES ENVIRONMENT "CGC_DEBUG=gcstoptheworld=1")
add_test(NAME test_dirty_default COMMAND test_dirty default)
add_test(NAME test_dirty_off COMMAND test_dirty off)
# Nothing set: the default, the tracker concurrent marking gets (its
# collections: CGC_GC=off, as above). gcconcurrent=0: none at all.
set_tests_properties(test_dirty_default PROPERTIES TIMEOUT 300 LABELS checked ENVIRONMENT "CGC_DEBUG=;CGC_GC=off;CGC_MEMLIMIT=off")
set_tests_properties(test_dirty_off PROPERTIES TIMEOUT 300 LABELS checked ENVIRONMENT "CGC_DEBUG=gcconcurrent=0")
# 77 (skipped) only where no seccomp filter can be installed.
set_tests_properties(test_dirty_seccomp PROPERTIES SKIP_RETURN_CODE 77)
