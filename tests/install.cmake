# Installing cgc and building against it with pkg-config and find_package;
# with cgc_http built, also programs using cgc_http (tests/install/check.sh).
if(TARGET cgc_http)
  set(INSTALL_CHECK_HTTP http)
else()
  set(INSTALL_CHECK_HTTP "")
endif()
add_test(NAME install_and_link
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install/check.sh ${PROJECT_BINARY_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/install ${INSTALL_CHECK_HTTP})
