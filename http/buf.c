/* buf.c — the bounded output buffer every response is rendered into. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Appends n bytes, or marks the buffer overflowed if they do not fit
 * (one byte is kept for a terminating NUL). */
void cgc__buf_put(cgc__buf *b, const char *s, size_t n)
{
    if (b->overflow || n >= b->cap - b->len) {
        b->overflow = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

/* Appends formatted text, with the same all-or-nothing rule as put. */
void cgc__buf_printf(cgc__buf *b, const char *fmt, ...)
{
    if (b->overflow)
        return;
    size_t room = b->cap - b->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        b->overflow = 1;
        b->p[b->len] = 0;
        return;
    }
    b->len += (size_t)n;
}
