/* test_tls_dtv — a collection that finds a thread stopped half-way through
 * growing its vector of thread-local blocks (its DTV) frees nothing
 * (tls.c: cgc__tls_check).
 *
 * glibc grows a thread's DTV when the thread first uses a module loaded
 * after its vector was sized: realloc copies the vector and frees the old
 * one, then the thread pointer's word takes the new address. A thread
 * stopped between the two has a thread pointer word pointing at freed
 * memory, and its dynamic blocks (the __thread variables of dlopen'd
 * libraries, malloc'd) are listed only in the new vector, which nothing
 * points to yet. A mark then cannot find those blocks; before the fix the
 * scan skipped the thread, and an object held only by such a variable was
 * freed.
 *
 * The window is a few instructions, so the test makes it: a registered
 * thread stores an object in a dlopen'd library's __thread variable, then
 * points its thread pointer word at a copy of its DTV whose length word
 * holds what a freed block's first word holds (a pointer, far above any
 * DTV's length), and waits while the main thread collects and reuses freed
 * memory. Only the length differs from the real vector, so glibc itself
 * (dl_iterate_phdr, which reads the collecting thread's vector) is
 * unaffected. Then the real vector is put back: the object must still
 * have its contents, and the next collection, able to read every vector,
 * reclaims it once the variable lets go. x86-64 only (the DTV's place in
 * the thread control block). */
#define _GNU_SOURCE
#include "cgc.h"
#include "check.h"
#include "reuse.h"

#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#define WORDS 8
#define TAG 0xd7f0000000000000ull

static void (*lib_set)(void *);
static void *(*lib_get)(void);

static uintptr_t store(uintptr_t unused)
{
    (void)cgc_malloc(3000);   /* not the first object of a span (test_shlib_root) */
    uint64_t *p = cgc_malloc(WORDS * sizeof(uint64_t));
    tag_words(p, WORDS, TAG);
    lib_set(p);
    return hide(p);
}

static uintptr_t intact(uintptr_t unused)
{
    return tags_intact(lib_get(), WORDS, TAG);
}

/* 1 if the object at hidden address h is allocated with its contents. */
static uintptr_t kept(uintptr_t h)
{
    return tags_intact(unhide(h), WORDS, TAG);
}

static uintptr_t clear(uintptr_t unused)
{
    lib_set(NULL);
    return 0;
}

#if defined(__x86_64__)
typedef struct dtv_entry {
    uintptr_t val, to_free;
} dtv_entry;

static dtv_entry **dtv_word(void)
{
    uintptr_t tp;
    __asm__("mov %%fs:0, %0" : "=r"(tp));
    return (dtv_entry **)(tp + sizeof(void *));
}

enum { STORE, TEAR, MEND, VERIFY, CLEAR, QUIT };
static sem_t ask, answered;
static volatile int request;
static volatile uintptr_t answer;
static dtv_entry *real_dtv, *torn_copy;

static void *worker(void *unused)
{
    for (;;) {
        while (sem_wait(&ask) != 0)
            ;
        int what = request;
        switch (what) {
        case STORE:
            answer = deep_call(store, 0);
            break;
        case TEAR: {
            real_dtv = *dtv_word();
            size_t len = real_dtv[-1].val;
            torn_copy = malloc((len + 2) * sizeof(dtv_entry));
            memcpy(torn_copy, real_dtv - 1, (len + 2) * sizeof(dtv_entry));
            torn_copy[0].val = (uintptr_t)torn_copy;   /* a freed block's first word */
            *dtv_word() = torn_copy + 1;
            break;
        }
        case MEND:
            *dtv_word() = real_dtv;
            free(torn_copy);
            break;
        case VERIFY:
            answer = deep_call(intact, 0);
            break;
        case CLEAR:
            deep_call(clear, 0);
            break;
        }
        clear_stack();
        sem_post(&answered);
        if (what == QUIT)
            return NULL;
    }
}

static uintptr_t ask_worker(int what)
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
    CHECK(lib_set && lib_get, "dlsym tlsroot_set/tlsroot_get");
    if (!lib_set || !lib_get)
        return check_done();
    sem_init(&ask, 0, 0);
    sem_init(&answered, 0, 0);
    pthread_t t;
    CHECK(cgc_pthread_create(&t, NULL, worker, NULL) == 0, "cgc_pthread_create");

    uintptr_t h = ask_worker(STORE);
    ask_worker(TEAR);
    clear_stack();
    for (int round = 0; round < 3; round++) {
        cgc_collect();
        deep_call(reuse_freed, WORDS);
        clear_stack();
        CHECK(deep_call(kept, h),
              "collection %d, with a thread's DTV mid-update, freed the object only its dynamic "
              "__thread variable holds", round + 1);
    }
    ask_worker(MEND);
    cgc_collect();
    deep_call(reuse_freed, WORDS);
    clear_stack();
    CHECK(ask_worker(VERIFY), "the object held by the thread's __thread variable lost its contents "
          "once its DTV was readable again");
    ask_worker(CLEAR);
    cgc_collect();
    CHECK(deep_call(reclaimed, h), "once the DTV is readable and the variable cleared, the object is reclaimed");
    ask_worker(QUIT);
    pthread_join(t, NULL);
    return check_done();
}
#else
int main(void)
{
    printf("SKIP: the DTV's place in the thread control block is known here on x86-64 only\n");
    return 77;
}
#endif
