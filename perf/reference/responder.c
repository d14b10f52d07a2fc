// perf/reference/responder.c: the I/O ceiling for perf/compare.sh's "ceiling" column.
//
// A single-threaded epoll server that frames RESP (multibulk and inline commands, across any number of
// reads) and answers every command with +OK, doing no other work: what a server costs the client and
// the kernel at the least. It is not a data store; GET gets +OK too (redis-benchmark only counts
// replies; PING gets +PONG, so that clients can tell it is up). Issue 8 names such a responder as the
// reference for the throughput targets.
//
// Build: cc -O2 -o responder responder.c     Run: responder PORT [SPIN]
//
// SPIN (default 0): polls epoll that many times without blocking before it sleeps in epoll_wait. A
// server that is not asleep when a request arrives spares the client the wakeup, which the kernel
// charges to the sender; RESULTS.md measures what that is worth on this machine.
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    int fd;
    char *in;          // unparsed input
    size_t len, cap;
    char *out;         // replies not yet written
    size_t olen, ocap, osent;
} conn;

static void *grow(void *p, size_t *cap, size_t need) {
    if (need <= *cap) return p;
    size_t c = *cap ? *cap : 16384;
    while (c < need) c *= 2;
    p = realloc(p, c);
    if (!p) { perror("realloc"); exit(1); }
    *cap = c;
    return p;
}

static int is_ping(const char *name, size_t n) {
    return n == 4 && strncasecmp(name, "ping", 4) == 0;
}

// Frames complete commands from c->in, appends one reply per command; keeps a partial command.
static int frame(conn *c) {
    size_t pos = 0;
    for (;;) {
        size_t p = pos;
        const char *name = NULL;
        size_t name_len = 0;
        if (p >= c->len) break;
        char *nl = memchr(c->in + p, '\n', c->len - p);
        if (!nl) break;
        if (c->in[p] == '*') {
            long argc = strtol(c->in + p + 1, NULL, 10);
            p = (size_t)(nl - c->in) + 1;
            int complete = 1;
            for (long i = 0; i < argc; i++) {
                if (p >= c->len || c->in[p] != '$') { complete = p < c->len ? -1 : 0; break; }
                char *e = memchr(c->in + p, '\n', c->len - p);
                if (!e) { complete = 0; break; }
                long n = strtol(c->in + p + 1, NULL, 10);
                if (i == 0) { name = e + 1; name_len = (size_t)n; }
                p = (size_t)(e - c->in) + 1 + (size_t)n + 2;
                if (p > c->len) { complete = 0; break; }
            }
            if (complete < 0) return -1;   // not RESP: drop the connection
            if (!complete) break;
        } else {
            name = c->in + p;              // an inline command: one line
            name_len = strcspn(name, " \r\n");   // stops at the line's end at the latest
            p = (size_t)(nl - c->in) + 1;
        }
        pos = p;
        const char *reply = is_ping(name, name_len) ? "+PONG\r\n" : "+OK\r\n";
        size_t rl = strlen(reply);
        c->out = grow(c->out, &c->ocap, c->olen + rl);
        memcpy(c->out + c->olen, reply, rl);
        c->olen += rl;
    }
    memmove(c->in, c->in + pos, c->len - pos);
    c->len -= pos;
    return 0;
}

// Writes what it can; 1 when output remains (wait for EPOLLOUT), -1 on error.
static int flush(conn *c) {
    while (c->osent < c->olen) {
        ssize_t w = write(c->fd, c->out + c->osent, c->olen - c->osent);
        if (w < 0) return errno == EAGAIN ? 1 : -1;
        c->osent += (size_t)w;
    }
    c->olen = c->osent = 0;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: responder PORT [SPIN]\n"); return 2; }
    long spin = argc > 2 ? strtol(argv[2], NULL, 10) : 0, idle = 0;
    signal(SIGPIPE, SIG_IGN);
    int one = 1;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 511) < 0) { perror("listen"); return 1; }
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event evs[512];
    for (;;) {
        int n = epoll_wait(ep, evs, 512, idle < spin ? 0 : -1);
        idle = n == 0 ? idle + 1 : 0;
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conn *nc = calloc(1, sizeof *nc);
                    nc->fd = fd;
                    struct epoll_event e = { .events = EPOLLIN, .data.ptr = nc };
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            int rc = 0;
            if (evs[i].events & EPOLLIN) {
                c->in = grow(c->in, &c->cap, c->len + 16384);
                ssize_t r = read(c->fd, c->in + c->len, c->cap - c->len);
                if (r == 0 || (r < 0 && errno != EAGAIN)) rc = -1;
                else if (r > 0) { c->len += (size_t)r; rc = frame(c); }
            }
            if (rc == 0) {
                rc = flush(c);
                struct epoll_event e = { .events = rc == 1 ? EPOLLIN | EPOLLOUT : EPOLLIN, .data.ptr = c };
                if (rc == 1 || (evs[i].events & EPOLLOUT)) epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
            }
            if (rc < 0) {
                close(c->fd);
                free(c->in); free(c->out); free(c);
            }
        }
    }
}
