/* test_dlclose_cgc — a program that loads libcgc with dlopen (a plugin
 * built on cgc, loaded and unloaded by its host) survives dlclose.
 *
 * Once initialised, cgc has threads running its code (the sweeper, the
 * markers, the scavenger), signal handlers for stopping threads, and a
 * heap whose objects the program may still hold. dlclose used to unmap
 * the library under them: the next wake-up of a background thread jumped
 * into unmapped code (SIGSEGV within 100 ms of the first dlclose). The
 * library is linked -z nodelete: dlclose leaves it loaded, and a later
 * dlopen finds the same heap. The program does not link libcgc; its path
 * is the first argument.
 *
 * With a second argument, libcgc_http.so: loaded with CGC_DEBUG_ADDR set,
 * its endpoint thread serves requests by calling into it; after dlclose
 * the next request crashed the program the same way. It is linked
 * -z nodelete too, and the endpoint keeps answering. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "../check.h"

typedef void *(*malloc_fn)(size_t);
typedef void (*collect_fn)(void);
typedef size_t (*size_fn)(const void *);

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* A port on 127.0.0.1 that was free a moment ago. */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

/* GET /debug/vars: 1 if the answer starts with "HTTP/1.1 200". */
static int endpoint_answers(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char buf[64] = {0};
    size_t got = 0;
    if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0) {
        const char req[] = "GET /debug/vars HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        if (write(s, req, sizeof req - 1) == (ssize_t)(sizeof req - 1)) {
            ssize_t n;
            while (got < sizeof buf - 1 && (n = read(s, buf + got, sizeof buf - 1 - got)) > 0)
                got += (size_t)n;
        }
    }
    if (s >= 0)
        close(s);
    return strncmp(buf, "HTTP/1.1 200", 12) == 0;
}

static void http_case(const char *path)
{
    int port = free_port();
    CHECK(port > 0, "no free port");
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    setenv("CGC_DEBUG_ADDR", addr, 1);   /* read by the library's constructor */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CHECK(h != NULL, "dlopen %s: %s", path, dlerror());
    if (!h)
        return;
    CHECK(endpoint_answers(port), "no answer from %s before dlclose", addr);
    CHECK(dlclose(h) == 0, "dlclose: %s", dlerror());
    sleep_ms(100);
    CHECK(endpoint_answers(port), "no answer from %s after dlclose", addr);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s path/to/libcgc.so\n", argv[0]);
        return 2;
    }
    void *kept = NULL;   /* an object from the first load, held across dlclose */
    for (int round = 0; round < 3; round++) {
        void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        CHECK(h != NULL, "dlopen: %s", dlerror());
        if (!h)
            break;
        malloc_fn m = (malloc_fn)dlsym(h, "cgc_malloc");
        collect_fn collect = (collect_fn)dlsym(h, "cgc_collect");
        size_fn size = (size_fn)dlsym(h, "cgc_size");
        CHECK(m && collect && size, "dlsym");
        if (!m || !collect || !size)
            break;
        if (!kept)
            kept = m(1000);
        /* Enough garbage for automatic collections: the background
         * threads start and are woken. */
        for (int i = 0; i < 200000; i++)
            (void)m(48);
        collect();
        CHECK(size(kept) >= 1000, "round %d: an object still held was freed", round);
        CHECK(dlclose(h) == 0, "dlclose: %s", dlerror());
        /* What crashed: the background threads' next wake-up after the
         * unmapping (the scavenger's is a timed wait). */
        sleep_ms(300);
    }
    if (argc > 2)
        http_case(argv[2]);
    return check_done();
}
