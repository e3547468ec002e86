# cgc_http.cmake — the cgc_http part of the installed cgc CMake package,
# included by cgcConfig.cmake. Defines, when libmicrohttpd is found (through
# pkg-config, as the build did):
#   cgc::cgc_http         the shared library (with cgc::cgc), like cgc::cgc
#   cgc::cgc_http_shared  the same
#   cgc::cgc_http_static  the archive (with cgc::cgc_static)
# and sets cgc_http_FOUND, so find_package(cgc REQUIRED COMPONENTS http)
# fails clearly where it cannot be used.
set(cgc_http_FOUND FALSE)
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND AND NOT TARGET PkgConfig::CGC_MHD)
  pkg_check_modules(CGC_MHD QUIET IMPORTED_TARGET libmicrohttpd)
endif()
if(TARGET PkgConfig::CGC_MHD)
  include("${CMAKE_CURRENT_LIST_DIR}/cgc_httpTargets.cmake")
  if(NOT TARGET cgc::cgc_http)
    add_library(cgc::cgc_http INTERFACE IMPORTED)
    set_target_properties(cgc::cgc_http PROPERTIES INTERFACE_LINK_LIBRARIES cgc::cgc_http_shared)
  endif()
  set(cgc_http_FOUND TRUE)
elseif(cgc_FIND_REQUIRED_http)
  message(STATUS "cgc component http needs libmicrohttpd, found through pkg-config (Debian: pkg-config, libmicrohttpd-dev)")
endif()
