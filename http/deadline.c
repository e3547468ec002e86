/* deadline.c — a whole-request deadline for the daemon's connections.
 *
 * libmicrohttpd's connection timeout counts inactivity only: a client that
 * sends one byte every few seconds (slowloris) keeps its connection for
 * ever, and CONN_LIMIT such clients shut everyone else out, because at the
 * limit MHD stops accepting (new clients wait in the kernel's backlog).
 *
 * So every connection gets REQUEST_DEADLINE seconds to complete a request,
 * counted from its start or from the end of its previous request. A reaper
 * thread looks once a second and shuts down the socket of any connection
 * past its deadline; MHD sees the peer gone and cleans the connection up on
 * its own thread. The socket is shut down, never closed, here: closing is
 * MHD's, and a slot is cleared (under the table lock) when MHD reports the
 * connection closed, which it does before it closes the descriptor, so the
 * reaper never touches a descriptor number that was reused.
 *
 * The reaper holds no pointer to collected objects, so it is a plain
 * pthread, not registered with cgc. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "deadline.h"
#include "internal.h"

/* One tracked connection. fd < 0: free slot. */
typedef struct slot {
    int     fd;
    int     reaped;     /* shut down already: do not repeat */
    int64_t since_ns;   /* start of the current request window (CLOCK_MONOTONIC) */
} slot;

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  wake = PTHREAD_COND_INITIALIZER;
static slot      table[CGC__HTTP_MAX_CONNECTIONS];
static int       running;
static pthread_t reaper;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The reaper: once a second, shut down every connection past its deadline. */
static void *reap(void *arg)
{
    prctl(PR_SET_NAME, (unsigned long)"cgc-http-reaper", 0, 0, 0);   /* for top -H and gdb */
    pthread_mutex_lock(&table_lock);
    while (running) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&wake, &table_lock, &until);
        int64_t limit = now_ns() - (int64_t)CGC__HTTP_REQUEST_DEADLINE * 1000000000;
        for (size_t i = 0; i < CGC__HTTP_MAX_CONNECTIONS; i++) {
            slot *s = &table[i];
            if (s->fd >= 0 && !s->reaped && s->since_ns < limit) {
                shutdown(s->fd, SHUT_RDWR);
                s->reaped = 1;
            }
        }
    }
    pthread_mutex_unlock(&table_lock);
    return NULL;
}

/* Starts the reaper with an empty table; 0 or -1 (errno from pthread). */
int cgc__deadline_start(void)
{
    pthread_mutex_lock(&table_lock);
    for (size_t i = 0; i < CGC__HTTP_MAX_CONNECTIONS; i++)
        table[i].fd = -1;
    running = 1;
    int e = pthread_create(&reaper, NULL, reap, NULL);
    if (e)
        running = 0;
    pthread_mutex_unlock(&table_lock);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

/* Stops the reaper and waits for it; call after the daemon has stopped. */
void cgc__deadline_stop(void)
{
    pthread_mutex_lock(&table_lock);
    if (!running) {
        pthread_mutex_unlock(&table_lock);
        return;
    }
    running = 0;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&table_lock);
    pthread_join(reaper, NULL);
}

/* fork: prepare holds the table's lock across it (the parent releases it);
 * in the child, where the reaper and the daemon's thread are gone, the
 * child's copies of the connections' sockets are closed (the parent's stay
 * open, in the parent) and the table is empty and stopped, ready for a new
 * start. */
void cgc__deadline_fork_prepare(void)
{
    pthread_mutex_lock(&table_lock);
}

void cgc__deadline_fork_parent(void)
{
    pthread_mutex_unlock(&table_lock);
}

void cgc__deadline_fork_child(void)
{
    for (size_t i = 0; i < CGC__HTTP_MAX_CONNECTIONS; i++) {
        if (running && table[i].fd >= 0)
            close(table[i].fd);
        table[i].fd = -1;
    }
    running = 0;
    /* The reaper may have been waiting on it: a fresh one. */
    pthread_cond_init(&wake, NULL);
    pthread_mutex_unlock(&table_lock);
}

/* MHD_OPTION_NOTIFY_CONNECTION: a connection starts (take a slot, remember
 * it in the socket context) or is closed (free its slot). A connection that
 * finds no slot is not tracked; it cannot happen while the table is as
 * large as the daemon's connection limit. */
void cgc__deadline_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    pthread_mutex_lock(&table_lock);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = NULL;
        for (size_t i = 0; info && i < CGC__HTTP_MAX_CONNECTIONS; i++) {
            if (table[i].fd < 0) {
                table[i] = (slot){info->connect_fd, 0, now_ns()};
                *socket_context = &table[i];
                break;
            }
        }
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        ((slot *)*socket_context)->fd = -1;
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&table_lock);
}

/* MHD_OPTION_NOTIFY_COMPLETED: a request ended, so a kept-alive connection
 * gets a fresh deadline for its next request (idle ones are closed by MHD's
 * own inactivity timeout). */
void cgc__deadline_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                             enum MHD_RequestTerminationCode toe)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    pthread_mutex_lock(&table_lock);
    if (info && info->socket_context)
        ((slot *)info->socket_context)->since_ns = now_ns();
    pthread_mutex_unlock(&table_lock);
}
