# Runs the fuzz target once: a fresh scratch corpus (so the committed seed
# corpus is read, never written), a fixed seed, a fixed number of runs.
#   cmake -DFUZZER=... -DSEEDS=dir -DWORK=dir -DRUNS=N -P run.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
execute_process(COMMAND ${FUZZER} -seed=1 -runs=${RUNS} -max_len=512 -print_final_stats=1
                        ${WORK} ${SEEDS}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzz_config failed (status ${rc}); the crashing input is in the working directory (crash-*)")
endif()
