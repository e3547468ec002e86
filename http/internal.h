/* internal.h — what the cgc_http files share: a bounded text buffer and
 * the two renderers. Nothing here is public. */
#ifndef CGC_HTTP_INTERNAL_H
#define CGC_HTTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* A fixed-size output buffer. Writes past the end are dropped and remembered
 * in overflow, so a renderer never writes out of bounds and the caller can
 * answer 500 instead of sending a truncated document. */
typedef struct cgc__buf {
    char  *p;
    size_t len, cap;
    int    overflow;
} cgc__buf;

void cgc__buf_printf(cgc__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cgc__buf_put(cgc__buf *b, const char *s, size_t n);

/* /debug/vars and /metrics into b; 0 on success, -1 on overflow. */
int cgc__http_render_vars(cgc__buf *b);
int cgc__http_render_metrics(cgc__buf *b);

/* CGC_DEBUG_ADDR's start (autostart.c): as cgc_http_start, and marked
 * automatic, so a forked child takes the endpoint over (server.c). */
int cgc__http_start_auto(const char *addr);

#endif
