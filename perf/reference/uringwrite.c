/*
 * uringwrite: could the AOF's durable write under `appendfsync always` run asynchronously, so that the
 * epoll thread serves the next group of requests while the device writes the last one?
 * (perf/RESULTS.md, tenth session). The write is the same as AofLog's: one O_DIRECT | O_DSYNC write of a
 * 4 KiB block, submitted through io_uring (raw syscalls, no liburing), then the completion is awaited:
 *
 *   cc -O2 -o uringwrite perf/reference/uringwrite.c && ./uringwrite DIR [writes]
 *
 *   wait       io_uring_enter(GETEVENTS, min_complete 1): the thread sleeps in the kernel until it is done
 *   busy       the thread keeps working (10 us of computation, then a non-blocking recv that finds
 *              nothing, like an epoll thread between requests) and looks at the completion ring in between
 *   sleep      the thread naps 20 us at a time (nanosleep) and looks at the ring in between
 *
 * It prints, in microseconds, how long the submitting io_uring_enter call held the thread ("submit") and
 * when the completion could be seen ("done"), as p50/p90/p99, for a file pre-written (the write overwrites
 * written blocks) and for a file reserved with fallocate(FALLOC_FL_KEEP_SIZE) (the write extends it).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void *map(int ring, size_t len, off_t what) {
    void *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, what);
    if (p == MAP_FAILED) { perror("mmap"); exit(1); }
    return p;
}

static void run(const char *dir, const char *mode, int prewritten, int n, int idle) {
    char path[4096];
    snprintf(path, sizeof path, "%s/uringwrite.%d.tmp", dir, getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { perror(path); exit(1); }
    if (prewritten) {
        char *fill = malloc(1 << 20);
        memset(fill, '#', 1 << 20);
        for (int i = 0; i < 16; i++)
            if (write(fd, fill, 1 << 20) != 1 << 20) { perror("write"); exit(1); }
        fsync(fd);
        free(fill);
    } else {
        fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 16 << 20);
    }
    close(fd);
    fd = open(path, O_RDWR | O_DIRECT | O_DSYNC);
    if (fd < 0) { perror(path); exit(1); }

    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    int ring = syscall(__NR_io_uring_setup, 8, &p);
    if (ring < 0) { perror("io_uring_setup"); exit(1); }
    size_t sqlen = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cqlen = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    char *sq, *cq;
    if (p.features & IORING_FEAT_SINGLE_MMAP) sq = cq = map(ring, sqlen > cqlen ? sqlen : cqlen, IORING_OFF_SQ_RING);
    else { sq = map(ring, sqlen, IORING_OFF_SQ_RING); cq = map(ring, cqlen, IORING_OFF_CQ_RING); }
    struct io_uring_sqe *sqes = map(ring, p.sq_entries * sizeof(struct io_uring_sqe), IORING_OFF_SQES);
    _Atomic unsigned *sqtail = (void *)(sq + p.sq_off.tail), *cqhead = (void *)(cq + p.cq_off.head),
                     *cqtail = (void *)(cq + p.cq_off.tail);
    unsigned sqmask = *(unsigned *)(sq + p.sq_off.ring_mask), cqmask = *(unsigned *)(cq + p.cq_off.ring_mask);
    unsigned *sqarray = (void *)(sq + p.sq_off.array);
    struct io_uring_cqe *cqes = (void *)(cq + p.cq_off.cqes);

    char *buf;
    if (posix_memalign((void **)&buf, 4096, 4096)) exit(1);
    memset(buf, 'x', 4096);
    double *submit = malloc(sizeof(double) * n), *done = malloc(sizeof(double) * n);
    long off = 0;
    for (int i = 0; i < n; i++) {
        unsigned t = atomic_load_explicit(sqtail, memory_order_relaxed), slot = t & sqmask;
        struct io_uring_sqe *e = &sqes[slot];
        memset(e, 0, sizeof *e);
        e->opcode = IORING_OP_WRITE;
        e->fd = fd;
        e->addr = (unsigned long)buf;
        e->len = 4096;
        e->off = off & ~4095L;
        sqarray[slot] = slot;
        atomic_store_explicit(sqtail, t + 1, memory_order_release);
        double t0 = now_us();
        if (syscall(__NR_io_uring_enter, ring, 1, 0, 0, 0, 0) != 1) { perror("io_uring_enter"); exit(1); }
        double t1 = now_us();
        unsigned h = atomic_load_explicit(cqhead, memory_order_relaxed);
        while (atomic_load_explicit(cqtail, memory_order_acquire) == h) {
            if (strcmp(mode, "wait") == 0) {
                syscall(__NR_io_uring_enter, ring, 0, 1, IORING_ENTER_GETEVENTS, 0, 0);
            } else if (strcmp(mode, "sleep") == 0) {
                struct timespec ts = { 0, 20000 };
                nanosleep(&ts, 0);
            } else {
                char c;
                double b = now_us();
                while (now_us() - b < 10) {}
                recv(idle, &c, 1, MSG_DONTWAIT);
            }
        }
        int res = cqes[h & cqmask].res;
        atomic_store_explicit(cqhead, h + 1, memory_order_release);
        if (res != 4096) { fprintf(stderr, "write: %s\n", strerror(-res)); exit(1); }
        submit[i] = t1 - t0;
        done[i] = now_us() - t0;
        off += 200;
    }
    qsort(submit, n, sizeof(double), cmp);
    qsort(done, n, sizeof(double), cmp);
    printf("%-5s %-11s submit p50 %4.0f p90 %4.0f p99 %4.0f   done p50 %5.0f p90 %5.0f p99 %5.0f us\n", mode,
           prewritten ? "overwrite" : "extending", submit[n / 2], submit[n * 9 / 10], submit[n * 99 / 100],
           done[n / 2], done[n * 9 / 10], done[n * 99 / 100]);
    close(ring);
    close(fd);
    unlink(path);
    free(buf);
    free(submit);
    free(done);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s DIR [writes]\n", argv[0]); return 2; }
    int n = argc > 2 ? atoi(argv[2]) : 1000;
    if (n < 1) { fprintf(stderr, "bad arguments\n"); return 2; }
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) { perror("socketpair"); return 1; }
    const char *modes[] = { "wait", "busy", "sleep" };
    for (int m = 0; m < 3; m++)
        for (int pre = 1; pre >= 0; pre--) run(argv[1], modes[m], pre, n, pair[0]);
    return 0;
}
