# The documents quote only the committed results: every generated region
# of README.md and docs/*.md (<!-- gen:NAME --> ... <!-- /gen:NAME -->) must
# be what scripts/gen-docs.py renders from bench/results, bench/limit/results
# and demo/results. Fails with a diff; `scripts/gen-docs.py` fixes it.
find_package(Python3 COMPONENTS Interpreter QUIET)
if(Python3_Interpreter_FOUND)
  add_test(NAME docs_generated
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/gen-docs.py --check)
  set_tests_properties(docs_generated PROPERTIES TIMEOUT 60 LABELS docs)
  # The generator's verdicts and markers on synthetic results
  # (tests/gen_docs_verdicts.py): a pairing Go did not complete is never met.
  add_test(NAME gen_docs_verdicts
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/gen_docs_verdicts.py)
  set_tests_properties(gen_docs_verdicts PROPERTIES TIMEOUT 60 LABELS docs)
else()
  message(STATUS "tests: python3 not found, docs_generated skipped")
endif()
