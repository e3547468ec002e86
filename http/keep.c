/* keep.c — compiled into every program that links the CMake target
 * cgc_http_shared, so that the program refers to libcgc_http.so.
 *
 * A program that only wants CGC_DEBUG_ADDR calls nothing in cgc_http, and a
 * linker run with --as-needed (the default of Debian's and Ubuntu's gcc)
 * then leaves the library out of the program: its constructor never runs
 * and the variable silently does nothing. One reference from the program's
 * own objects keeps the library a dependency. */
#include "cgc_http.h"

__attribute__((used)) const int *const cgc__http_keep = &cgc_http_autostart;
