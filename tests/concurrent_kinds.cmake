# test_concurrent_kinds (a plain test_*) runs concurrently, and again in
# stop-the-world mode: the callback kind's contract holds in both modes
# (tests/concurrent.cmake).
set_tests_properties(test_concurrent_kinds PROPERTIES ENVIRONMENT "CGC_DEBUG=gcconcurrent=1")
add_test(NAME test_concurrent_kinds_stw COMMAND test_concurrent_kinds)
set_tests_properties(test_concurrent_kinds_stw PROPERTIES TIMEOUT 300 LABELS checked
                     ENVIRONMENT "CGC_DEBUG=gcstoptheworld=1")

# The compat layer's tests (libgc's API over cgc, tests/compat*.cmake) again
# with every cycle concurrent (their heaps are small: the default marks
# them stopped): mark procedures, descriptors, extra roots, disappearing
# links and finalizer modes lean on the mark in ways the core tests do not.
# The C tests are run by the target of their name; each keeps its own
# environment. The real programs (Release only) pass the mode through
# COMPAT_REAL_CGC_ENV to their unconstrained cgc runs.
if(TARGET cgc_compat)
  get_property(cgc_compat_tests DIRECTORY PROPERTY TESTS)
  foreach(t ${cgc_compat_tests})
    if(t MATCHES "^test_compat_" AND TARGET ${t})
      get_test_property(${t} ENVIRONMENT env)
      if(NOT env)
        set(env "")
      endif()
      list(APPEND env "CGC_DEBUG=gcconcurrent=1")
      add_test(NAME ${t}_conc COMMAND ${t})
      set_tests_properties(${t}_conc PROPERTIES TIMEOUT 300 LABELS checked ENVIRONMENT "${env}")
    endif()
  endforeach()
  foreach(p w3m neko guile)
    cgc_compat_real_test(compat_real_${p}_conc ${p} ${p}-conc)   # tests/compat_real.cmake
    # (Guile crashed here in about 1 run of 10 until a pause that waited
    # for GC_call_with_alloc_lock stopped the thread where the call
    # returned: tests/compat/compat_alloc_lock.c.) Peak RSS may exceed
    # libgc's by 10% more than in the plain test: the program allocates
    # while the mark runs, and what it allocates survives the cycle
    # (docs/concurrent.md, "What a user sees"). Neko's median peak RSS in
    # 26 runs (3 rounds each) was 2.9 MB below to 3.9 MB (7%) above
    # libgc's 55.2-55.5 MB; Guile's, 21.0-21.9 MB against 19.5-21.3 MB in
    # 30. The run under a memory limit is the plain test's (in the default
    # mode), so it is left out here.
    set_tests_properties(compat_real_${p}_conc PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77 LABELS compat-real
                         ENVIRONMENT "COMPAT_REAL_CGC_ENV=CGC_DEBUG=gctrace=1,gcconcurrent=1;COMPAT_REAL_RSS_TOL_PCT=10;COMPAT_REAL_NO_LIMIT=1")
  endforeach()
endif()
