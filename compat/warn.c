/* warn.c — libgc's warn proc (GC_set_warn_proc): where the warnings of
 * cgc and of this layer go.
 *
 * libgc calls the warn proc as proc(msg, arg): msg a printf format, arg
 * the one word it converts. This layer's own warnings have that shape
 * (compat_warn: a format with one %ld or %lu, and its word). cgc's core
 * formats its warnings itself (cgc__warn, with any arguments); they reach
 * the proc as msg = the whole line with every '%' doubled, arg = 0, so a
 * proc that prints msg with arg and one that logs msg as text both show
 * the line.
 *
 * When. libgc calls the proc at once, its allocation lock held. cgc raises
 * some warnings with its own locks held or from the collector, world
 * stopped or stopping; a proc called there could take a lock (stdio's,
 * for one) that a thread the collection stops is holding, and never
 * return. So while the program has a proc of its own, the core's lines
 * are queued (cgc__warn_hook: a copy under warn_lock, nothing else) and
 * delivered by the next program thread that enters the library
 * (compat_sync: outside any cgc section, no lock held), as finalizers are;
 * a line that finds the queue full is counted, and the count delivered in
 * a line of its own. With the default proc, nothing changes: the core
 * writes its lines to stderr itself, at once.
 *
 * The default proc writes with one write(2) (cgc__say_line), never stdio,
 * like the rest of cgc. GC_ignore_warn_proc drops the message unless
 * statistics are printed (GC_PRINT_STATS, which is CGC_DEBUG=gctrace=1
 * here), as libgc's does.
 */
#include "compat.h"

#include <stdio.h>

typedef uintptr_t word;

static void default_warn(char *msg, word arg)
{
    char line[1024];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(line, sizeof line, msg, arg);
#pragma GCC diagnostic pop
    cgc__say_line(line);
}

GCAPI void GC_ignore_warn_proc(char *msg, word arg)
{
    if (cgc__cfg.gctrace)
        default_warn(msg, arg);
}

static _Atomic(compat_warn_proc) warn_proc = default_warn;

/* ---- the queue of the core's lines ---------------------------------------- */

#define QUEUED_MAX 8
#define LINE_MAX_BYTES 512

static pthread_mutex_t warn_lock = PTHREAD_MUTEX_INITIALIZER;
static char queued[QUEUED_MAX][LINE_MAX_BYTES];
static int nqueued;
static uint64_t nlost;               /* lines that found the queue full */
_Atomic int compat_warn_pending;     /* nqueued || nlost: compat_sync's cheap test */

/* cgc__warn_hook: locks held, maybe in the pause. Copies only. */
static void queue_line(const char *line)
{
    pthread_mutex_lock(&warn_lock);
    if (nqueued < QUEUED_MAX) {
        char *q = queued[nqueued++];
        strncpy(q, line, LINE_MAX_BYTES - 1);
        q[LINE_MAX_BYTES - 1] = 0;
    } else {
        nlost++;
    }
    atomic_store(&compat_warn_pending, 1);
    pthread_mutex_unlock(&warn_lock);
}

/* A line as a format that prints it: '%' doubled (the longest line the
 * core writes is 1 KiB; what does not fit is cut). */
static void as_format(char *out, size_t n, const char *line)
{
    size_t o = 0;
    for (; *line && o + 2 < n; line++) {
        if (*line == '%')
            out[o++] = '%';
        out[o++] = *line;
    }
    out[o] = 0;
}

static __thread int delivering;   /* a proc that enters the library meanwhile */

void compat_deliver_warnings(void)
{
    if (delivering)
        return;
    cgc__thread *self = cgc__self;
    if (self && self->in_cgc)
        return;   /* not here: the next entry outside a section */
    char lines[QUEUED_MAX][LINE_MAX_BYTES];
    int n;
    uint64_t lost;
    /* Taken inside a section, so no collection stops this thread while it
     * holds warn_lock (the hook may be waiting for it in the pause). */
    self = compat_registered_self();
    cgc__enter(self);
    pthread_mutex_lock(&warn_lock);
    n = nqueued;
    memcpy(lines, queued, (size_t)n * LINE_MAX_BYTES);
    lost = nlost;
    nqueued = 0;
    nlost = 0;
    atomic_store(&compat_warn_pending, 0);
    pthread_mutex_unlock(&warn_lock);
    cgc__leave(self);

    compat_warn_proc proc = atomic_load(&warn_proc);
    delivering = 1;
    for (int i = 0; i < n; i++) {
        char msg[2 * LINE_MAX_BYTES];
        as_format(msg, sizeof msg, lines[i]);
        proc(msg, 0);
    }
    if (lost)
        proc("cgc: %lu more warnings were lost (the queue for the warn proc was full)\n", (word)lost);
    delivering = 0;
}

/* ---- the API ------------------------------------------------------------ */

/* libgc's argument must not be NULL; NULL here restores the default. */
GCAPI void GC_set_warn_proc(compat_warn_proc p)
{
    if (!p)
        p = default_warn;
    atomic_store(&warn_proc, p);
    atomic_store(&cgc__warn_hook, p == default_warn ? NULL : queue_line);
}

GCAPI compat_warn_proc GC_get_warn_proc(void)
{
    return atomic_load(&warn_proc);
}

/* This layer's warnings: at the API, in the program's thread, outside any
 * section. fmt converts one word. */
void compat_warn(const char *fmt, uintptr_t arg)
{
    cgc__thread *self = cgc__self;
    if (self && self->in_cgc) {   /* not expected; queued as the core's are */
        char line[LINE_MAX_BYTES];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(line, sizeof line, fmt, arg);
#pragma GCC diagnostic pop
        if (atomic_load(&warn_proc) == default_warn)
            cgc__warn("%s", line);
        else
            queue_line(line);
        return;
    }
    atomic_load(&warn_proc)((char *)fmt, arg);
}
