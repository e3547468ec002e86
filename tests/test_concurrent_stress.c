/* test_concurrent_stress — several threads mutate shared graphs hard while
 * the collector marks concurrently (docs/concurrent.md): every way a
 * pointer can reach an object the mark has already passed, and every
 * object must survive intact.
 *
 * The graph: nodes of 64 bytes, each with two links and a checksum of its
 * own contents, hung from
 *   - a table of registered roots (cgc_add_roots on malloc'd memory),
 *   - a global table (data/bss),
 *   - large objects (64 KiB tables of node pointers) held by those tables.
 * Each worker, in a loop bounded by a count (never by time):
 *   - stores a fresh node into an old node's ref, into a registered root,
 *     into a global slot, into a large table (stores into old objects);
 *   - builds a short chain of fresh nodes, linking them after allocation
 *     (stores into fresh objects, which are black during a mark);
 *   - moves a ref from one node to another and clears the first (the
 *     pointer lives only where the mark may have passed already);
 *   - sends a node's address through a pipe and reads it into a heap
 *     buffer, then drops every other reference: only the kernel's write
 *     (read(2)) put the pointer where the mark can find it;
 *   - walks random paths and checks every node it meets;
 *   - now and then allocates whole spans of garbage, so that marks find
 *     free spans to allocate into (caches refill from those during a
 *     mark: docs/concurrent.md "Fresh spans").
 * At the end every node reachable from the tables is checked. Debug
 * builds poison freed objects, so a node freed while reachable fails its
 * checksum; in a Release build its slot is reused and the checksum fails
 * too. The test asserts that marks ran concurrently (when asked for with
 * CGC_DEBUG=gcconcurrent=1 and the kernel offers a tracker; otherwise
 * that they did not) and zero corruptions.
 */
#define CGC_THREADS
#include "cgc.h"
#include "check.h"
#include "internal.h"
#include "dirty.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define NTHREADS 4
#define NREG 4096          /* registered root slots */
#define NGLOBAL 1024       /* global slots */
#define BIGN (65536 / 16)  /* links per large table */
#define ROUNDS 200000      /* per thread */

/* A ref is a pointer and the id of the node it was made to (ids are
 * never reused): a node freed while reachable and reused by another
 * allocation shows up as an id that does not match, poisoned memory (Debug
 * builds) as a bad checksum. A node's links are written only by the thread
 * that made it, and a slot only by the thread that owns it, so a ref's two
 * words are consistent for the reader that checks them at the end; any
 * thread may read and ref to any node. */
typedef struct node {
    uint64_t id;
    struct node *a;
    uint64_t a_id;
    struct node *b;
    uint64_t b_id;
    uint64_t pay;
    uint64_t sum;
    uint64_t owner;
} node;

typedef struct ref {
    node *p;
    uint64_t id;
} ref;

typedef struct big {
    ref slot[BIGN];
} big;

static ref *reg;                  /* registered roots (malloc'd) */
static ref globals[NGLOBAL];      /* data/bss roots */
static big *bigs[NTHREADS];        /* large objects, one per thread, held from bss */
static _Atomic uint64_t next_id = 1;
static _Atomic long corrupt, checked;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ull;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dull;
    return x ^ (x >> 33);
}

static uint64_t sum_of(const node *n)
{
    return mix(mix(n->id) ^ n->pay ^ n->owner);
}

static node *fresh(long owner)
{
    node *n = cgc_malloc(sizeof *n);
    if (!n)
        return NULL;
    n->id = atomic_fetch_add(&next_id, 1);
    n->pay = mix(n->id * 3);
    n->owner = (uint64_t)owner;
    n->sum = sum_of(n);
    return n;
}

static void bad(const char *what, const void *n, uint64_t want, uint64_t got)
{
    if (atomic_fetch_add(&corrupt, 1) < 5)
        fprintf(stderr, "corrupt: %s at %p: want %llx got %llx\n", what, n, (unsigned long long)want,
                (unsigned long long)got);
}

static bool intact(const node *n)
{
    atomic_fetch_add_explicit(&checked, 1, memory_order_relaxed);
    if (n->sum != sum_of(n)) {
        bad("checksum", n, sum_of(n), n->sum);
        return false;
    }
    return true;
}

/* A ref as its owner sees it: target intact, and the node it was made to. */
static bool link_ok(node *p, uint64_t id)
{
    if (!p)
        return true;
    if (!intact(p))
        return false;
    if (p->id != id) {
        bad("ref to a reused node", p, id, p->id);
        return false;
    }
    return true;
}

static void set_link(ref *l, node *p)
{
    l->p = p;
    l->id = p ? p->id : 0;
}

/* Slot i of thread t's share of every kind of root. */
static ref *own_slot(long t, uint64_t r)
{
    switch (r % 3) {
    case 0:
        return &reg[((r >> 8) % (NREG / NTHREADS)) * NTHREADS + (uint64_t)t];
    case 1:
        return &globals[((r >> 8) % (NGLOBAL / NTHREADS)) * NTHREADS + (uint64_t)t];
    default:
        return bigs[t] ? &bigs[t]->slot[(r >> 20) % BIGN] : &globals[(uint64_t)t];
    }
}

/* Any node, read from any thread's slots (the ref may be mid-update:
 * only the pointer is used, and the node's own id). */
static node *any_node(uint64_t *rng)
{
    uint64_t r = check_rng(rng);
    ref *l = own_slot((long)(r % NTHREADS), r >> 2);
    return __atomic_load_n(&l->p, __ATOMIC_ACQUIRE);
}

/* Checks the nodes along random links from l; during the run (owner >= 0)
 * it follows only the links of that thread's own nodes. */
static void walk(ref l, uint64_t *rng, int depth, long owner)
{
    for (int d = 0; l.p && d < depth; d++) {
        if (!link_ok(l.p, l.id))
            return;
        node *n = l.p;
        if (owner >= 0 && n->owner != (uint64_t)owner)
            return;   /* its links may be mid-update by their owner */
        if (check_rng(rng) & 1)
            l = (ref){n->a, n->a_id};
        else
            l = (ref){n->b, n->b_id};
    }
}

/* The pipe: a node's address goes through the kernel, then by read(2)
 * into a ref of one of this thread's nodes (one the mark may have
 * scanned already). The new node stays on this stack until read returns
 * (a pointer held only by the kernel is invisible to any collector); from
 * then on the ref the kernel wrote is its only reference. */
static void through_pipe(long t, int fd[2], uint64_t *rng)
{
    ref *slot = own_slot(t, check_rng(rng));
    node *holder = slot->p;
    if (!holder) {
        holder = fresh(t);
        set_link(slot, holder);
    }
    node *volatile keep = fresh(t);
    if (!holder || !keep)
        return;
    node *n = (node *)keep;
    uint64_t id = n->id;
    if (write(fd[1], &n, sizeof n) != (ssize_t)sizeof n)
        return;
    n = NULL;
    holder->b = NULL;
    ssize_t got = read(fd[0], &holder->b, sizeof(node *));
    holder->b_id = id;
    keep = NULL;
    if (got != (ssize_t)sizeof(node *))
        bad("read(2)", holder, sizeof(node *), (uint64_t)got);
}

static void *worker(void *arg)
{
    long t = (long)(intptr_t)arg;
    uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1);
    int fd[2];
    if (pipe(fd) != 0)
        return NULL;
    for (int r = 0; r < ROUNDS; r++) {
        switch (check_rng(&rng) % 8) {
        case 0: {   /* a fresh node into one of this thread's old nodes */
            ref *l = own_slot(t, check_rng(&rng));
            node *old = l->p, *n = fresh(t);
            if (old && n && link_ok(old, l->id)) {
                if (check_rng(&rng) & 1) {
                    old->a = n;
                    old->a_id = n->id;
                } else {
                    old->b = n;
                    old->b_id = n->id;
                }
            }
            break;
        }
        case 1:   /* a fresh node into a root (registered, global or large) */
            set_link(own_slot(t, check_rng(&rng)), fresh(t));
            break;
        case 2: {   /* a chain of fresh nodes, linked after allocation */
            node *h = fresh(t);
            for (int i = 0; h && i < 6; i++) {
                node *n = fresh(t);
                if (!n)
                    break;
                node *o = any_node(&rng);
                n->a = h;
                n->a_id = h->id;
                n->b = o;
                n->b_id = o ? o->id : 0;
                h = n;
            }
            set_link(own_slot(t, check_rng(&rng)), h);
            break;
        }
        case 3: {   /* move a ref: it lives only where the mark passed */
            ref *lx = own_slot(t, check_rng(&rng));
            node *x = lx->p, *y = fresh(t);
            if (x && y && link_ok(x, lx->id) && x->owner == (uint64_t)t) {
                y->b = x->a;
                y->b_id = x->a_id;
                x->a = NULL;
                x->a_id = 0;
                set_link(own_slot(t, check_rng(&rng)), y);
            }
            break;
        }
        case 4:
            through_pipe(t, fd, &rng);
            break;
        case 5:
            if (check_rng(&rng) % 256 == 0) {   /* a new large table, filled after allocation */
                big *b = cgc_malloc(sizeof *b);
                big *old = bigs[t];
                if (b) {
                    for (int i = 0; old && i < BIGN; i++)
                        b->slot[i] = old->slot[i];
                    __atomic_store_n(&bigs[t], b, __ATOMIC_RELEASE);
                }
            }
            break;
        case 6:
            if (check_rng(&rng) % 32 == 0) {
                /* Garbage, whole spans of it: freed by the next sweep,
                 * their pages are the free spans a cache refills from
                 * during a mark (alloc.c: refill_fresh). */
                for (int i = 0; i < 256; i++)
                    (void)fresh(t);
            }
            /* fall through */
        default: {
            ref *l = own_slot(t, check_rng(&rng));
            if (l->p && l->p->owner == (uint64_t)t)
                walk(*l, &rng, 8, t);
            else
                link_ok(l->p, l->id);
            break;
        }
        }
    }
    close(fd[0]);
    close(fd[1]);
    return NULL;
}

/* Paths from every slot, each ref checked (single-threaded). */
static long verify_all(void)
{
    long bad0 = atomic_load(&corrupt);
    uint64_t rng = 7;
    for (int i = 0; i < NREG; i++)
        for (int k = 0; k < 4; k++)
            walk(reg[i], &rng, 64, -1);
    for (int i = 0; i < NGLOBAL; i++)
        for (int k = 0; k < 4; k++)
            walk(globals[i], &rng, 64, -1);
    for (int t = 0; t < NTHREADS; t++)
        if (bigs[t])
            for (int i = 0; i < BIGN; i++)
                walk(bigs[t]->slot[i], &rng, 64, -1);
    return atomic_load(&corrupt) - bad0;
}

int main(void)
{
    reg = calloc(NREG, sizeof *reg);
    CHECK(reg != NULL, "calloc");
    if (!reg)
        return check_done();
    cgc_add_roots(reg, reg + NREG);
    /* A heap large enough that marks take a while, and collections often. */
    cgc_set_gc_percent(10);
    uint64_t conc0 = atomic_load(&cgc__gc.concurrent_cycles);
    uint64_t fresh0 = atomic_load(&cgc__fresh_refills);
    cgc_memstats m0, m1;
    cgc_read_memstats(&m0);
    pthread_t t[NTHREADS];
    for (long i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0, "pthread_create");
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    cgc_collect();
    long late = verify_all();
    cgc_read_memstats(&m1);
    uint64_t conc = atomic_load(&cgc__gc.concurrent_cycles) - conc0;
    uint64_t refills = atomic_load(&cgc__fresh_refills) - fresh0;
    printf("%u collections, %llu concurrent, %llu refills from free spans during marks, "
           "%llu dirty pages rescanned, %ld nodes checked, %ld corrupt\n",
           m1.num_gc - m0.num_gc, (unsigned long long)conc, (unsigned long long)refills,
           (unsigned long long)atomic_load(&cgc__gc.dirty_pages_rescanned), atomic_load(&checked),
           atomic_load(&corrupt));
    CHECK(atomic_load(&corrupt) == 0, "%ld corrupt nodes (%ld found by the final walk)", atomic_load(&corrupt), late);
    CHECK(m1.num_gc - m0.num_gc >= 10, "only %u collections", m1.num_gc - m0.num_gc);
    if (cgc__concurrent_mode()) {
        CHECK(conc >= 5, "only %llu cycles marked concurrently (mode: %s)", (unsigned long long)conc,
              cgc__dirty_why());
        CHECK(refills > 0, "no cache refilled from a free span during a mark");
    }
    else
        CHECK(conc == 0, "%llu concurrent cycles with no tracker (%s)", (unsigned long long)conc,
              cgc__dirty_why());
    cgc_remove_roots(reg, reg + NREG);
    return check_done();
}
