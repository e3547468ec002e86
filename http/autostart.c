/* autostart.c — CGC_DEBUG_ADDR=host:port starts the endpoint when the
 * program loads (SPEC §6, §8), with no code in the application.
 *
 * The library is static, and a linker takes an object from an archive only
 * if something refers to it; the cgc_http CMake target therefore links its
 * users with -u cgc_http_autostart, which makes this object (and its
 * constructor) part of every program linked with cgc_http. Without CMake,
 * pass -Wl,-u,cgc_http_autostart yourself, or link cgc_http_shared. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgc_http.h"
#include "internal.h"

const int cgc_http_autostart = 1;

#define FORMS "host:port or [ipv6]:port, host letters, digits, '.' or '-', port 1-65535"

/* The accepted form of the variable, the same as the core's check: a host
 * (name or IPv4) or bracketed IPv6, a colon, a port from 1 to 65535. */
static int valid(const char *s)
{
    const char *colon;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close == s + 1 || close[1] != ':')
            return 0;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s || memchr(s, ':', (size_t)(colon - s)))
            return 0;
        for (const char *p = s; p < colon; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
                  *p == '-'))
                return 0;
    }
    const char *p = colon + 1;
    size_t n = strlen(p);
    if (n == 0 || n > 5 || strspn(p, "0123456789") != n)
        return 0;
    long port = strtol(p, NULL, 10);
    return port >= 1 && port <= 65535;
}

/* Reads CGC_DEBUG_ADDR once at load. The endpoint so started follows the
 * process through fork: the child takes it over when the parent lets the
 * address go (server.c). Invalid: one line, exit status 2 (as
 * every cgc variable). Valid but cannot bind (port taken, address not
 * local): one line, and the program runs on without the endpoint, because
 * a debugging aid must not take the service down. */
__attribute__((constructor)) static void cgc_http_autostart_ctor(void)
{
    const char *v = getenv("CGC_DEBUG_ADDR");
    if (!v)
        return;
    if (!valid(v)) {
        fprintf(stderr, "cgc: invalid CGC_DEBUG_ADDR=\"%s\": accepted forms: " FORMS "\n", v);
        exit(2);
    }
    if (cgc__http_start_auto(v) != 0)
        fprintf(stderr, "cgc: CGC_DEBUG_ADDR=\"%s\": cannot serve there (%m); endpoint not started\n", v);
}
