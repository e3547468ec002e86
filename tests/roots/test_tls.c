/* test_tls — objects referenced only from __thread variables survive, and
 * are reclaimed once the variable lets go (tls.c):
 *   - a variable of the program in the main thread (static TLS the loader
 *     allocated at start: no other root covers it) and in a registered
 *     thread (static TLS at the top of its stack mapping);
 *   - a variable of a library loaded with dlopen, in both threads (dynamic
 *     TLS: glibc mallocs the block on the thread's first use).
 * Each holder keeps a 64-byte object; between collections the test
 * allocates many 64-byte objects filled with another pattern, so an object
 * wrongly freed is reused and its contents change (Debug builds also
 * poison freed objects). Everything that touches a raw pointer runs
 * through deep_call, and stacks are cleared, so no stale copy keeps an
 * object alive (test_shlib_root). */
#define _GNU_SOURCE
#include "cgc.h"
#include "check.h"
#include "reuse.h"

#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>

#define WORDS 8
#define ROUNDS 20

static __thread void *prog_slot;
static void (*lib_set)(void *);
static void *(*lib_get)(void);

enum { PROG, LIB, NHOLDERS };
static const char *const holder_name[NHOLDERS] = {"the program's __thread variable",
                                                  "a dlopen'd library's __thread variable"};

static void set_slot(int which, void *p)
{
    if (which == PROG)
        prog_slot = p;
    else
        lib_set(p);
}

static void *get_slot(int which)
{
    return which == PROG ? prog_slot : lib_get();
}

/* The tag seed of thread's object in holder which (reuse.h). */
static uint64_t seed_of(int thread, int which)
{
    return 0x5eed000000000000ull ^ ((uint64_t)thread << 40) ^ ((uint64_t)which << 32);
}

/* Both holders of the calling thread get a fresh object; returns their
 * hidden addresses in h[]. */
static uintptr_t store_all(uintptr_t thread)
{
    for (int which = 0; which < NHOLDERS; which++) {
        (void)cgc_malloc(3000);   /* not the first object of a span (test_shlib_root) */
        uint64_t *p = cgc_malloc(WORDS * sizeof(uint64_t));
        tag_words(p, WORDS, seed_of((int)thread, which));
        set_slot(which, p);
    }
    return 0;
}

static uintptr_t hidden_of(uintptr_t which)
{
    return hide(get_slot((int)which));
}

/* 1 if the holder's object has its contents. */
static uintptr_t intact(uintptr_t arg)
{
    int thread = (int)(arg >> 8), which = (int)(arg & 0xff);
    return tags_intact(get_slot(which), WORDS, seed_of(thread, which));
}

static uintptr_t clear_all(uintptr_t unused)
{
    for (int which = 0; which < NHOLDERS; which++)
        set_slot(which, NULL);
    return 0;
}

/* ---- the registered thread: does what main asks, one step at a time ---- */
enum { STORE, VERIFY, CLEAR, QUIT };
static sem_t ask, answered;
static volatile int request, answer;
static uintptr_t worker_hidden[NHOLDERS];

static void *worker(void *unused)
{
    for (;;) {
        while (sem_wait(&ask) != 0)
            ;
        switch (request) {
        case STORE:
            deep_call(store_all, 1);
            for (int which = 0; which < NHOLDERS; which++)
                worker_hidden[which] = deep_call(hidden_of, (uintptr_t)which);
            break;
        case VERIFY:
            answer = 0;
            for (int which = 0; which < NHOLDERS; which++)
                answer |= (int)!deep_call(intact, (1u << 8) | (unsigned)which) << which;
            break;
        case CLEAR:
            deep_call(clear_all, 0);
            break;
        case QUIT:
            sem_post(&answered);
            return NULL;
        }
        clear_stack();
        sem_post(&answered);
    }
}

static int ask_worker(int what)
{
    request = what;
    sem_post(&ask);
    while (sem_wait(&answered) != 0)
        ;
    return answer;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s path/to/libtest_tlsroot.so\n", argv[0]);
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    CHECK(lib != NULL, "dlopen %s: %s", argv[1], dlerror());
    if (!lib)
        return check_done();
    lib_set = (void (*)(void *))dlsym(lib, "tlsroot_set");
    lib_get = (void *(*)(void))dlsym(lib, "tlsroot_get");
    sem_init(&ask, 0, 0);
    sem_init(&answered, 0, 0);
    pthread_t t;
    cgc_pthread_create(&t, NULL, worker, NULL);

    uintptr_t main_hidden[NHOLDERS];
    deep_call(store_all, 0);
    for (int which = 0; which < NHOLDERS; which++)
        main_hidden[which] = deep_call(hidden_of, (uintptr_t)which);
    ask_worker(STORE);
    clear_stack();

    int lost_main[NHOLDERS] = {0}, lost_worker[NHOLDERS] = {0};
    for (int r = 0; r < ROUNDS; r++) {
        deep_call(reuse_freed, WORDS);
        clear_stack();
        cgc_collect();
        for (int which = 0; which < NHOLDERS; which++)
            if (!lost_main[which] && !deep_call(intact, (unsigned)which))
                lost_main[which] = r + 1;
        int bad = ask_worker(VERIFY);
        for (int which = 0; which < NHOLDERS; which++)
            if (!lost_worker[which] && (bad >> which & 1))
                lost_worker[which] = r + 1;
    }
    for (int which = 0; which < NHOLDERS; which++) {
        CHECK(!lost_main[which], "main thread: the object held only by %s was lost at collection %d",
              holder_name[which], lost_main[which]);
        CHECK(!lost_worker[which], "registered thread: the object held only by %s was lost at collection %d",
              holder_name[which], lost_worker[which]);
    }

    deep_call(clear_all, 0);
    ask_worker(CLEAR);
    clear_stack();
    cgc_collect();
    for (int which = 0; which < NHOLDERS; which++) {
        CHECK(deep_call(reclaimed, main_hidden[which]), "main thread: once %s is cleared, its object is reclaimed",
              holder_name[which]);
        CHECK(deep_call(reclaimed, worker_hidden[which]),
              "registered thread: once %s is cleared, its object is reclaimed", holder_name[which]);
    }
    ask_worker(QUIT);
    pthread_join(t, NULL);
    return check_done();
}
