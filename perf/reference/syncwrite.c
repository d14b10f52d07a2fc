/*
 * syncwrite: how long does one durable append take on this file system, by method?
 * The AOF under `appendfsync always` pays one of these per group commit (perf/RESULTS.md, ninth session).
 *
 *   cc -O2 -o syncwrite perf/reference/syncwrite.c && ./syncwrite DIR [appends] [record-bytes]
 *
 * Each method appends `appends` records (default 3000 of 200 bytes) to a fresh file in DIR and makes
 * each durable before the next; it prints p50/p90/p99 in microseconds:
 *   fdatasync      pwrite at the end, then fdatasync (the AOF writer before the ninth session)
 *   keep-size      the same into 16 MiB reserved with fallocate(FALLOC_FL_KEEP_SIZE)
 *   dsync          the file opened O_DSYNC, one buffered pwrite each
 *   direct-4k      O_DIRECT | O_DSYNC, rewriting the 4 KiB blocks from the one holding the end (what
 *                  AofLog does now), into a KEEP_SIZE reservation
 *   direct-512     the same with 512-byte blocks
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void run(const char *dir, const char *name, int n, int rec) {
    char path[4096];
    snprintf(path, sizeof path, "%s/syncwrite.%d.tmp", dir, getpid());
    unlink(path);
    int direct = strncmp(name, "direct", 6) == 0;
    long block = strcmp(name, "direct-512") == 0 ? 512 : 4096;
    int flags = O_RDWR | O_CREAT | O_TRUNC;
    if (direct) flags |= O_DIRECT | O_DSYNC;
    if (strcmp(name, "dsync") == 0) flags |= O_DSYNC;
    int fd = open(path, flags, 0644);
    if (fd < 0) { perror(path); exit(1); }
    if (direct || strcmp(name, "keep-size") == 0) fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 16 << 20);
    char *buf;
    if (posix_memalign((void **)&buf, 4096, 1 << 16)) exit(1);
    memset(buf, 'x', 1 << 16);
    double *lat = malloc(sizeof(double) * n);
    long off = 0;
    for (int i = 0; i < n; i++) {
        double t0 = now_us();
        ssize_t w;
        if (direct) {
            long start = off & ~(block - 1), end = (off + rec + block - 1) & ~(block - 1);
            w = pwrite(fd, buf, end - start, start);
        } else {
            w = pwrite(fd, buf, rec, off);
            if (w >= 0 && strcmp(name, "dsync") != 0 && fdatasync(fd) != 0) w = -1;
        }
        if (w < 0) { perror(name); exit(1); }
        off += rec;
        lat[i] = now_us() - t0;
    }
    qsort(lat, n, sizeof(double), cmp);
    printf("%-10s p50 %5.0f  p90 %5.0f  p99 %5.0f us\n", name, lat[n / 2], lat[n * 9 / 10], lat[n * 99 / 100]);
    close(fd);
    unlink(path);
    free(lat);
    free(buf);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s DIR [appends] [record-bytes]\n", argv[0]); return 2; }
    int n = argc > 2 ? atoi(argv[2]) : 3000, rec = argc > 3 ? atoi(argv[3]) : 200;
    if (n < 1 || rec < 1 || rec > 60000) { fprintf(stderr, "bad arguments\n"); return 2; }
    const char *methods[] = { "fdatasync", "keep-size", "dsync", "direct-4k", "direct-512" };
    for (int i = 0; i < 5; i++) run(argv[1], methods[i], n, rec);
    return 0;
}
