/* gc.h — the Boehm collector's API on cgc: includes <gc/gc.h>. */
#include "gc/gc.h"
