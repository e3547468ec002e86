/* test_stack_top — the address just past the top of a registered thread's
 * stack is not a reference to whatever heap object starts there.
 *
 * cgc registers a thread by asking glibc for its stack (threads.c,
 * stack_bounds). The answer, a pthread_attr_t whose stackaddr is the top
 * of the stack, was left in a local of the registration: dead stack that
 * the thread's later frames may cover without writing (padding, unwritten
 * slots, the red zone below a system call's stack pointer, which the
 * kernel's signal frame skips) and that is then scanned while the thread
 * is stopped. Thread stacks are mappings of their own, and cgc's arenas
 * are placed next to other mappings (os.c), so the word just past a
 * stack's top is often the first object of an arena: compat_api's
 * finalizable objects, made and dropped by the main thread, stayed
 * reachable for good in about 1 run in 10 on a loaded machine, retained
 * by that word in the stack of cgc's idle finalizer thread.
 *
 * Here the adjacency is made on purpose: a thread's stack is the memory
 * of a large pointer-free object A, and B is the object allocated right
 * after it, so A's end (the stack's top) is B's address. The thread is
 * registered (by cgc_pthread_create, or by itself with
 * cgc_register_thread), then waits with an uninitialised array in its
 * frame over the stack its registration used. B, dropped by the main
 * thread, must be collected (its weak handle cleared) while the thread
 * waits; and no word of that array may hold the stack's top.
 */
#define _GNU_SOURCE
#include "cgc.h"
#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>

#define STACK_BYTES ((size_t)256 << 10)   /* A: a large object, its own span */
#define NEXT_BYTES ((size_t)40 << 10)     /* B: large too, carved right after A */
#define FRAME_WORDS 1024                  /* the waiting frame: 8 KiB */

static sem_t ready, go;
static uintptr_t top_hidden;   /* the stack's top, B's address: hidden, not a root */
static int copies;             /* words equal to the top in the waiting frame */

static void wait_sem(sem_t *s)
{
    while (sem_wait(s) != 0 && errno == EINTR)
        ;
}

/* Not instrumented by AddressSanitizer, so the array is one plain block
 * of stack over what the registration left, not redzones and a fake
 * frame. It is read uninitialised on purpose. */
static void __attribute__((noinline, no_sanitize("address"))) waiter(void)
{
    volatile uintptr_t frame[FRAME_WORDS];
    __asm__ volatile("" : : "r"(frame) : "memory");
    int n = 0;
    for (int i = 0; i < FRAME_WORDS; i++)
        n += frame[i] == ~top_hidden;
    copies = n;
    sem_post(&ready);
    wait_sem(&go);   /* the main thread collects meanwhile */
    __asm__ volatile("" : : "r"(frame) : "memory");
}

static void *created(void *arg)
{
    (void)arg;
    waiter();   /* registered by cgc_pthread_create before this ran */
    return NULL;
}

static void *self_registered(void *arg)
{
    (void)arg;
    /* What the thread's start left is not cgc's: under AddressSanitizer
     * its runtime's thread start (AsanThread::Init) asks
     * pthread_getattr_np for the stack too, and that attr's stackaddr, the
     * top, stays in dead stack 4.8 KiB below it (a watchpoint caught it
     * there before cgc_register_thread ran). cgc's registration happened
     * to write over it; a different frame of cgc__register_current did
     * not, and the case failed for a reason outside cgc. */
    clear_stack();
    int rc = cgc_register_thread();
    CHECK(rc == 0, "cgc_register_thread: %d", rc);
    waiter();
    cgc_unregister_thread();
    return NULL;
}

static cgc_weak *weak_b;

/* A (the stack memory, returned) and B right after it, B reachable only
 * through its weak handle and top_hidden. NULL if B did not land there. */
static uintptr_t make_pair(uintptr_t unused)
{
    (void)unused;
    char *a = cgc_malloc_atomic(STACK_BYTES);
    char *b = cgc_malloc_atomic(NEXT_BYTES);
    if (!a || !b || b != a + cgc_size(a))
        return 0;
    weak_b = cgc_weak_make(b);
    top_hidden = hide(b);
    return (uintptr_t)a;
}

static void run_case(void *(*body)(void *), const char *what)
{
    char *a = NULL;
    for (int i = 0; i < 64 && !a; i++)
        a = (char *)deep_call(make_pair, 0);
    CHECK(a != NULL, "%s: a pointer-free object with the next one right after it", what);
    if (!a)
        return;
    size_t size = cgc_size(a);
    CHECK(cgc_weak_get(weak_b) != NULL, "%s: B is alive before the thread starts", what);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, a, size);   /* its top is B's address */
    pthread_t t;
    int rc = body == created ? cgc_pthread_create(&t, &attr, body, NULL) : pthread_create(&t, &attr, body, NULL);
    pthread_attr_destroy(&attr);
    explicit_bzero(&attr, sizeof attr);   /* its stackaddr is the top, B's address */
    CHECK(rc == 0, "%s: thread created (%d)", what, rc);
    if (rc != 0)
        return;
    wait_sem(&ready);

    int cleared = 0;
    for (int i = 0; i < 4 && !cleared; i++) {
        clear_stack();
        cgc_collect();
        cleared = cgc_weak_get(weak_b) == NULL;
    }
    CHECK(copies == 0, "%s: the stack's top is in %d words of the waiting thread's frame", what, copies);
    CHECK(cleared, "%s: the object that starts at a registered thread's stack top is collected", what);

    sem_post(&go);
    pthread_join(t, NULL);
    __asm__ volatile("" : : "r"(a) : "memory");   /* A, the stack, lives until the thread is gone */
}

int main(void)
{
    sem_init(&ready, 0, 0);
    sem_init(&go, 0, 0);
    run_case(created, "cgc_pthread_create");
    run_case(self_registered, "cgc_register_thread");
    return check_done();
}
