/* test_stack_bounds_fail: a thread that registers when its stack bounds
 * cannot be had from pthread_getattr_np keeps every object its stack
 * refers to (threads.c's stack_bounds, roots.c).
 *
 * pthread_getattr_np mallocs (and for the main thread reads /proc through
 * stdio), so it can fail for want of memory. cgc used to guess the top of
 * the stack then as 4 KiB above the registering frame: a pointer in an
 * older frame, further up, was not scanned and its object was freed under
 * the thread. Now the bounds come from the mapping that holds the frame
 * (/proc/self/maps, read with system calls only); and if that fails too,
 * no collection frees anything while the thread is registered.
 *
 * A plain pthread (not registered at start) puts a 16 KiB array in its
 * first frame, registers from below it with the failures injected
 * (cgc__stack_bounds_test_fail), and keeps the only pointer to an object
 * at the array's top. The main thread collects twice with 20000
 * allocations in between (a freed object is reused, and poisoned in Debug
 * builds); the object must be intact. Cases: 1 = pthread_getattr_np fails
 * (the mapping gives the bounds: collection goes on as usual), 3 = the
 * mapping cannot be read either (collections free nothing until the
 * thread unregisters). */
#define _GNU_SOURCE
#include "check.h"
#include "reuse.h"
#include "internal.h"

#include <pthread.h>
#include <semaphore.h>

#define WORDS 8
#define SLOTS 2048

static sem_t ready, go;
static int mode;
static _Atomic int registered_ok, bounds_cover, intact_after;

#define TAG 0x57ac0b0d00000000ull

static uintptr_t do_register(uintptr_t unused)
{
    atomic_store(&cgc__stack_bounds_test_fail, mode);
    int rc = cgc_register_thread();
    atomic_store(&cgc__stack_bounds_test_fail, 0);
    return rc == 0;
}

static uintptr_t make(uintptr_t unused)
{
    uint64_t *p = cgc_malloc(WORDS * sizeof(uint64_t));
    tag_words(p, WORDS, TAG);
    return (uintptr_t)p;
}

static uintptr_t check_obj(uintptr_t v)
{
    return tags_intact((const uint64_t *)v, WORDS, TAG);
}

static void *holder(void *arg)
{
    volatile uintptr_t slots[SLOTS];
    for (int i = 0; i < SLOTS; i++)
        slots[i] = 0;
    atomic_store(&registered_ok, (int)deep_call(do_register, 0));
    atomic_store(&bounds_cover, cgc__self && cgc__self->stack_hi > (uintptr_t)&slots[SLOTS - 1]);
    slots[SLOTS - 1] = deep_call(make, 0);
    clear_stack();
    sem_post(&ready);
    while (sem_wait(&go) != 0)
        ;
    atomic_store(&intact_after, (int)deep_call(check_obj, slots[SLOTS - 1]));
    slots[SLOTS - 1] = 0;
    cgc_unregister_thread();
    return arg;
}

int main(void)
{
    sem_init(&ready, 0, 0);
    sem_init(&go, 0, 0);
    static const int modes[] = {1, 3};
    for (int c = 0; c < 2; c++) {
        mode = modes[c];
        pthread_t t;
        CHECK(pthread_create(&t, NULL, holder, NULL) == 0, "pthread_create");
        while (sem_wait(&ready) != 0)
            ;
        CHECK(atomic_load(&registered_ok), "case %d: the thread did not register", mode);
        if (mode == 1)
            CHECK(atomic_load(&bounds_cover), "case 1: the stack bounds from /proc/self/maps do not cover the "
                                              "thread's first frame");
        else
            CHECK(!cgc__roots_complete(), "case 3: a thread with unknown stack bounds is registered, and "
                                          "collections would free objects");
        for (int round = 0; round < 2; round++) {
            cgc_collect();
            deep_call(reuse_freed, WORDS);
            clear_stack();
        }
        sem_post(&go);
        pthread_join(t, NULL);
        CHECK(atomic_load(&intact_after), "case %d: the object held only by an older frame of the thread's "
                                          "stack was freed", mode);
        CHECK(cgc__roots_complete(), "case %d: once the thread unregistered, collections still free nothing",
              mode);
    }
    return check_done();
}
