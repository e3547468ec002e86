/* A program built against an installed cgc_http: it fetches its own
 * /debug/vars over TCP and checks the answer (200, JSON with memstats).
 *
 * Built with -DHELLO_HTTP_START it starts the endpoint itself
 * (cgc_http_start on a free loopback port). Built without, it calls nothing
 * in cgc_http, so it is served only if linking kept the CGC_DEBUG_ADDR
 * start-up code (the -u / --no-as-needed flags of cgc_http.pc, the link
 * options of the CMake targets): it reads the port from CGC_DEBUG_ADDR. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cgc.h>
#ifdef HELLO_HTTP_START
#include <cgc_http.h>
#endif

static char reply[1 << 20];

int main(void)
{
    void *keep = NULL;
    for (int i = 0; i < 100000; i++)
        keep = cgc_malloc(64);
    cgc_collect();
#ifdef HELLO_HTTP_START
    if (cgc_http_start("127.0.0.1:0") != 0) {
        perror("cgc_http_start");
        return 1;
    }
    int port = cgc_http_port();
#else
    const char *addr = getenv("CGC_DEBUG_ADDR");
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    if (!colon) {
        fprintf(stderr, "set CGC_DEBUG_ADDR=127.0.0.1:PORT\n");
        return 2;
    }
    int port = atoi(colon + 1);
#endif
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("connect to the endpoint");
        return 1;
    }
    static const char req[] = "GET /debug/vars HTTP/1.0\r\n\r\n";
    if (write(s, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
        perror("write");
        return 1;
    }
    size_t n = 0;
    ssize_t r;
    while (n < sizeof reply - 1 && (r = read(s, reply + n, sizeof reply - 1 - n)) > 0)
        n += (size_t)r;
    reply[n] = 0;
    close(s);
    const char *body = strstr(reply, "\r\n\r\n");
    int ok = strncmp(reply, "HTTP/1.1 200 ", 13) == 0 && body && body[4] == '{' && strstr(body, "\"memstats\"") &&
             strstr(body, "\"NumGC\"");
    printf("/debug/vars on port %d: %.*s, %zu bytes\n", port, (int)strcspn(reply, "\r\n"), reply, n);
    return ok && keep ? 0 : 1;
}
