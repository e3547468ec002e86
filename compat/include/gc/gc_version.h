/* gc_version.h — the libgc version whose ABI cgc's libgc.so.1 implements. */
#ifndef CGC_COMPAT_GC_VERSION_H
#define CGC_COMPAT_GC_VERSION_H
#define GC_VERSION_MAJOR 8
#define GC_VERSION_MINOR 2
#define GC_VERSION_MICRO 2
#endif
