/* finalized_links.c — disappearing links to an object that only
 * no_order-finalizable objects reach: what Guile's guardians and symbol
 * table (a weak set of short links) rely on. Built like compat_marking.c:
 * on cgc's library with both headers, and on Debian's libgc, where the
 * same checks hold (libgc's gc.h, GC_register_long_link and
 * GC_java_finalization; docs/boehm-compat.md, "Real programs").
 *
 * A target object T (Guile: a symbol) is named by a short link and a long
 * link in memory the collector does not scan (Guile: the weak set's
 * pointerless entry array), and reached only from HOLDERS objects with
 * no_order finalizers (Guile: lists a guardian holds) whose finalizers
 * put them on a list in a root (Guile: the guardian's zombie list).
 * Finalizers run on demand, as in Guile.
 *
 *  A. The holders and T become unreachable in the same collection: the
 *     short link is cleared (short links are cleared before anything is
 *     marked for finalization), the long link is kept and T stays intact
 *     (marked from the holders for their finalizers).
 *  B. The holders are queued for finalization in one collection while T is
 *     still reachable on its own; T is then dropped: in the next
 *     collections T is reachable from the queued holders, then from the
 *     root list their finalizers built, so neither link is cleared. This
 *     is why Guile keeps a symbol in its table on libgc when a collection
 *     happens while the guarded lists are being made (libgc collects often
 *     in a small heap) and drops it (on both libraries) when the first
 *     collection after the last list is the one that finds them all
 *     unreachable: tests/compat/real/guile-symbol.scm.
 *
 * The conservative stack scan may keep a holder alive past the collection
 * meant to find it unreachable; case A then tries again with fresh objects
 * (the outcome is judged only on rounds where all holders were queued by
 * that one collection), case B needs only one holder queued. */
#define GC_THREADS 1
#include <gc.h>

#include "../check.h"

#define HOLDERS 100
#define ROUNDS 8
#define MAGIC ((GC_word)0x5ca1ab1e)

struct target {
    GC_word magic;
    GC_word id;
};

struct holder {
    struct target *t;
    GC_word i;
    struct holder *next;
};

static struct holder *zombies;      /* a root, as a guardian's list is */
static int fin_count[ROUNDS + 1];   /* finalizers run, per set of holders */
static void **links;                /* GC_malloc_atomic: not scanned */
static struct target *volatile keep; /* case B: holds T during collection 1 */
static GC_word hidden[ROUNDS + 1];  /* ~T, which keeps nothing alive */

static void to_zombies(void *obj, void *cd)
{
    struct holder *h = obj;
    h->next = zombies;
    zombies = h;
    (*(int *)cd)++;
}

/* T for set r, its links at links[2r] (short) and links[2r+1] (long), and
 * the holders; run through deep_call (check.h), so nothing its frame
 * leaves points at them once clear_stack has run. arg: 2r + hold. */
static uintptr_t build_set(uintptr_t arg)
{
    int r = (int)(arg >> 1), hold = (int)(arg & 1);
    struct target *t = GC_MALLOC(sizeof *t);
    t->magic = MAGIC;
    t->id = (GC_word)r;
    links[2 * r] = t;
    links[2 * r + 1] = t;
    CHECK(GC_general_register_disappearing_link(&links[2 * r], t) == GC_SUCCESS, "short link %d", r);
    CHECK(GC_register_long_link(&links[2 * r + 1], t) == GC_SUCCESS, "long link %d", r);
    for (int i = 0; i < HOLDERS; i++) {
        struct holder *h = GC_MALLOC(sizeof *h);
        h->t = t;
        h->i = (GC_word)i;
        GC_register_finalizer_no_order(h, to_zombies, &fin_count[r], NULL, NULL);
    }
    hidden[r] = ~(GC_word)t;
    if (hold)
        keep = t;
    return 0;
}

static void build(int r, int hold)
{
    deep_call(build_set, 2 * (uintptr_t)r + (uintptr_t)hold);
}

static __attribute__((noinline)) void collect(void)
{
    clear_stack();
    GC_gcollect();
}

/* The holders of set r on the zombie list, each pointing at an intact T. */
static __attribute__((noinline)) int zombies_of(int r, int *intact)
{
    int n = 0;
    *intact = 1;
    for (struct holder *h = zombies; h; h = h->next) {
        if (h->t == (struct target *)~hidden[r]) {
            n++;
            *intact &= h->t->magic == MAGIC && h->t->id == (GC_word)r && h->i < HOLDERS;
        }
    }
    return n;
}

static void case_a(void)
{
    int judged = 0;
    for (int r = 0; r < ROUNDS && !judged; r++) {
        build(r, 0);
        collect();
        GC_invoke_finalizers();
        if (fin_count[r] != HOLDERS)
            continue;   /* a holder was still reachable from a stack word */
        judged = 1;
        CHECK(links[2 * r] == NULL, "A: short link to an object only finalized objects reach is cleared (%p)",
              links[2 * r]);
        CHECK(links[2 * r + 1] == (void *)~hidden[r], "A: long link kept (%p, T %p)", links[2 * r + 1],
              (void *)~hidden[r]);
        int intact;
        CHECK(zombies_of(r, &intact) == HOLDERS && intact, "A: all %d holders finalized, T intact", HOLDERS);
    }
    CHECK(judged, "A: some round had all %d holders found unreachable by one collection", HOLDERS);
}

static void case_b(void)
{
    int r = ROUNDS;
    build(r, 1);
    collect();   /* 1: holders queued (not run: on demand), T held by keep */
    CHECK(fin_count[r] == 0, "B: finalizers run only on demand (%d ran)", fin_count[r]);
    CHECK(GC_should_invoke_finalizers(), "B: some holders queued by the first collection");
    keep = NULL;
    collect();   /* 2: T reachable only from the queued holders */
    CHECK(links[2 * r] == (void *)~hidden[r], "B: short link kept while queued holders reach T (%p)", links[2 * r]);
    CHECK(links[2 * r + 1] == (void *)~hidden[r], "B: long link kept (%p)", links[2 * r + 1]);
    GC_invoke_finalizers();
    collect();   /* 3: T reachable from the zombie list */
    GC_invoke_finalizers();   /* holders a stack word kept till now */
    CHECK(links[2 * r] == (void *)~hidden[r], "B: short link kept while the zombie list reaches T (%p)",
          links[2 * r]);
    CHECK(links[2 * r + 1] == (void *)~hidden[r], "B: long link kept (%p)", links[2 * r + 1]);
    int intact;
    int n = zombies_of(r, &intact);
    CHECK(n > 0 && intact, "B: finalized holders on the list (%d), T intact", n);
}

int main(void)
{
    GC_INIT();
    GC_set_java_finalization(1);
    GC_set_finalize_on_demand(1);
    links = GC_MALLOC_ATOMIC(2 * (ROUNDS + 1) * sizeof *links);
    CHECK(links != NULL, "link array");
    if (!links)
        return check_done();
    case_a();
    case_b();
    return check_done();
}
