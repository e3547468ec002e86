# Installing cgc and building against it with pkg-config and find_package.
add_test(NAME install_and_link
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install/check.sh ${PROJECT_BINARY_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/install)
