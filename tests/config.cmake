# Configuration and container detection (SPEC §6): the fixture trees for
# test_cgroup_detect, and a short libFuzzer run over the parsers when clang
# with libFuzzer is installed (Debian: clang, libclang-rt-14-dev).

target_compile_definitions(test_cgroup_detect PRIVATE
  CGC_FIXTURE_DIR="${CMAKE_CURRENT_SOURCE_DIR}/fixtures/cgroup")
# The real-cgroup part creates (and removes) a child memory cgroup.
set_tests_properties(test_cgroup_detect PROPERTIES RESOURCE_LOCK cgc_limit_cgroup)
set_tests_properties(test_config_parse test_cgroup_detect PROPERTIES TIMEOUT 60)

# The fuzz target is built by clang directly (the project's compiler may be
# gcc, which has no libFuzzer), from the two sources it exercises.
find_program(CGC_CLANG NAMES clang clang-14 clang-15 clang-16)
set(CGC_FUZZ_FLAGS -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined
  -fno-sanitize-recover=undefined)
set(CGC_FUZZ_OK FALSE)
if(CGC_CLANG)
  # Can this clang link a libFuzzer program? (It needs libclang-rt-*-dev.)
  set(probe_dir ${CMAKE_CURRENT_BINARY_DIR}/fuzz_probe)
  file(MAKE_DIRECTORY ${probe_dir})
  file(WRITE ${probe_dir}/probe.c
    "#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n")
  execute_process(COMMAND ${CGC_CLANG} ${CGC_FUZZ_FLAGS} ${probe_dir}/probe.c -o ${probe_dir}/probe
    RESULT_VARIABLE probe_rc OUTPUT_QUIET ERROR_QUIET)
  if(probe_rc EQUAL 0)
    set(CGC_FUZZ_OK TRUE)
  endif()
endif()

if(CGC_FUZZ_OK)
  set(fuzz_src ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_config.c
    ${PROJECT_SOURCE_DIR}/src/config.c ${PROJECT_SOURCE_DIR}/src/cgroup.c
    ${PROJECT_SOURCE_DIR}/src/fault.c)
  set(fuzz_bin ${CMAKE_CURRENT_BINARY_DIR}/fuzz_config)
  add_custom_command(OUTPUT ${fuzz_bin}
    COMMAND ${CGC_CLANG} ${CGC_FUZZ_FLAGS} -I${PROJECT_SOURCE_DIR}/src ${fuzz_src} -o ${fuzz_bin} -lpthread
    DEPENDS ${fuzz_src} ${PROJECT_SOURCE_DIR}/src/config.h ${PROJECT_SOURCE_DIR}/src/cgroup.h
    COMMENT "Building the libFuzzer target fuzz_config with ${CGC_CLANG}"
    VERBATIM)
  add_custom_target(fuzz_config ALL DEPENDS ${fuzz_bin})
  # A fixed seed and run count keep the test deterministic; new inputs go
  # to a scratch directory emptied first, never to the committed corpus.
  add_test(NAME fuzz_config
    COMMAND ${CMAKE_COMMAND} -DFUZZER=${fuzz_bin}
            -DSEEDS=${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus
            -DWORK=${CMAKE_CURRENT_BINARY_DIR}/fuzz_work
            -DRUNS=200000
            -P ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run.cmake)
  set_tests_properties(fuzz_config PROPERTIES TIMEOUT 120)
else()
  message(STATUS "cgc: clang with libFuzzer not found (install clang and libclang-rt-14-dev): the fuzz_config test is not registered")
endif()
