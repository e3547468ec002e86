# cgc_http tests (SPEC §8). Each script exits 77 (CTest: skipped) with a
# message when a tool it needs (curl, jq, promtool, python3) is missing.
# Label "checked": they also run on the Debug and ASan/UBSan builds
# (scripts/test.sh): hostile input is where a sanitizer finds what a
# Release build hides, and none of them measures resident memory or
# speed (all six pass on the sanitizer
# build, 20 s together; their time bounds are seconds).
if(TARGET cgc_http)
  set(HTTP_T ${CMAKE_CURRENT_SOURCE_DIR}/http)

  # The program the tests talk to (see tests/http/server.c).
  add_executable(http_test_server ${HTTP_T}/server.c)
  target_link_libraries(http_test_server PRIVATE cgc_static cgc_http)

  # A program that links cgc_http and never calls it: CGC_DEBUG_ADDR alone
  # must start the endpoint.
  add_executable(http_test_plain ${HTTP_T}/plain.c)
  target_link_libraries(http_test_plain PRIVATE cgc_static cgc_http)
  # The same against the shared libraries: linkers that default to
  # --as-needed must still keep libcgc_http.so (http/keep.c).
  add_executable(http_test_plain_shared ${HTTP_T}/plain.c)
  target_link_libraries(http_test_plain_shared PRIVATE cgc_shared cgc_http_shared)

  # fork: the endpoint of CGC_DEBUG_ADDR follows a daemon into its child;
  # cgc_http_restart (tests/http/fork.c).
  add_executable(http_test_fork ${HTTP_T}/fork.c)
  target_link_libraries(http_test_fork PRIVATE cgc_static cgc_http)

  add_test(NAME http_documents
    COMMAND bash ${HTTP_T}/documents.sh $<TARGET_FILE:http_test_server> ${HTTP_T})
  # The python3 tests skip (77) rather than fail where python3 is missing.
  set(HTTP_PY sh ${HTTP_T}/py.sh)
  add_test(NAME http_hostile
    COMMAND ${HTTP_PY} ${HTTP_T}/hostile.py $<TARGET_FILE:http_test_server>)
  add_test(NAME http_autostart
    COMMAND bash ${HTTP_T}/autostart.sh $<TARGET_FILE:http_test_plain>)
  add_test(NAME http_autostart_shared
    COMMAND bash ${HTTP_T}/autostart.sh $<TARGET_FILE:http_test_plain_shared>)
  # More slow clients than the connection limit: the whole-request deadline
  # (http/deadline.c) must give the endpoint back to others (about 7 s).
  add_test(NAME http_lockout
    COMMAND ${HTTP_PY} ${HTTP_T}/lockout.py $<TARGET_FILE:http_test_server>)
  add_test(NAME http_fork
    COMMAND ${HTTP_PY} ${HTTP_T}/fork.py $<TARGET_FILE:http_test_fork>)
  # dlclose of libcgc_http with its endpoint running (tests/core/test_dlclose_cgc.c).
  add_test(NAME test_dlclose_cgc_http
    COMMAND test_dlclose_cgc $<TARGET_FILE:cgc_shared> $<TARGET_FILE:cgc_http_shared>)
  set_tests_properties(test_dlclose_cgc_http PROPERTIES TIMEOUT 120 LABELS "http;checked")
  set_tests_properties(http_documents http_hostile http_autostart http_autostart_shared http_fork PROPERTIES
    SKIP_RETURN_CODE 77 TIMEOUT 60 LABELS "http;checked")
  # http_lockout measures how soon a normal client is served beside 140
  # trickling ones; under ASan the server's slowdown failed it (1 run in 3),
  # so it runs on the Release build only, as before.
  set_tests_properties(http_lockout PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60 LABELS "http")
endif()
