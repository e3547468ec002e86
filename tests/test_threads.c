/* test_threads — CGC_THREADS redirects pthread_create; threads that were
 * not created by cgc register themselves; threads exit while others
 * collect; a thread's objects live as long as its stack holds them. */
#define CGC_THREADS
#include "cgc.h"
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

static _Atomic int bad;

typedef struct cell {
    struct cell *next;
    long value;
} cell;

/* Builds a list, collects repeatedly (other threads stop meanwhile), and
 * checks the list is intact. */
static void *list_worker(void *arg)
{
    long id = (long)(intptr_t)arg;
    cell *head = NULL;
    for (long i = 0; i < 20000; i++) {
        cell *c = cgc_malloc(sizeof *c);
        c->next = head;
        c->value = id * 1000000 + i;
        head = c;
        if (i % 5000 == 0)
            cgc_collect();
        (void)cgc_malloc(64);   /* garbage */
    }
    long i = 19999;
    for (cell *c = head; c; c = c->next, i--)
        if (c->value != id * 1000000 + i)
            atomic_fetch_add(&bad, 1);
    if (i != -1)
        atomic_fetch_add(&bad, 1);
    return NULL;
}

/* A thread the program created with the real pthread_create. */
#undef pthread_create
static void *self_registering(void *arg)
{
    if (cgc_register_thread() != 0)
        atomic_fetch_add(&bad, 1);
    list_worker(arg);
    return cgc_unregister_thread() == 0 ? NULL : (void *)1;
}

int main(void)
{
    for (int round = 0; round < 5; round++) {
        pthread_t t[6];
#define pthread_create cgc_pthread_create
        for (long i = 0; i < 4; i++)
            CHECK(pthread_create(&t[i], NULL, list_worker, (void *)(intptr_t)(round * 10 + i)) == 0,
                  "redirected pthread_create");
#undef pthread_create
        for (long i = 4; i < 6; i++)
            CHECK(pthread_create(&t[i], NULL, self_registering, (void *)(intptr_t)(round * 10 + i)) == 0,
                  "plain pthread_create");
        for (int i = 0; i < 6; i++) {
            void *rv;
            pthread_join(t[i], &rv);
            CHECK(rv == NULL, "thread %d unregistered cleanly", i);
        }
    }
    CHECK(atomic_load(&bad) == 0, "%d lists corrupted", atomic_load(&bad));
    return check_done();
}
