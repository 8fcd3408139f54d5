/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * writer: the test guest's workload.  Writes 4 KiB blocks of the pattern in
 * pattern.h to a block device, one at a time, with O_DIRECT, and reports on
 * stdout (the serial console) which writes the device has acknowledged.
 *
 * Given several devices, it writes one sequence round-robin over them:
 * write seq goes to device (seq - 1) % NDEV, as that device's write
 * (seq - 1) / NDEV + 1 of a run with seed SEED + its index.  Each device
 * then holds a run of its own that the verifier checks alone, and the
 * writes of all of them are in one order: the one of seq, since each write
 * is done before the next one starts.
 *
 *   WRITER dev=D blocks=N seed=S count=C rate=R offset=O ndev=K
 *                              once, at start (D: the first device)
 *   ACK <seq> <block> <gen> <lat>
 *                              the last acknowledged write (block and gen in
 *                              the run of its device): after the first
 *                              write, then at least every REPORT_MS ms and
 *                              every REPORT_MAX writes, and at the end; lat
 *                              is the longest write since the last ACK, in
 *                              microseconds (pwrite to its return, retries
 *                              included: what the guest's application saw)
 *   ERR <seq> <errno>          a write failed; it is retried
 *   DONE <seq> <ms>            COUNT writes done, in ms since the start
 *
 * usage: writer [-b BLOCKS] [-s SEED] [-n COUNT] [-r RATE] [-o OFFSET]
 *               DEVICE [DEVICE...]
 *   BLOCKS  blocks the walk covers (default 4096: 16 MiB)
 *   COUNT   stop after this many writes, of all devices (default 0: never)
 *   RATE    at most this many writes per second (default 0: no limit)
 *   OFFSET  byte offset of block 0 on the device (a multiple of 4096)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "pattern.h"

/*
 * An acknowledged write is reported at most REPORT_MAX writes late, so a
 * host that reads the console of a guest that died meanwhile may find up to
 * REPORT_MAX (+1 in flight) writes beyond the last ACK on the disk.  The
 * verifier's default slack (64) covers that.
 */
#define REPORT_MS 100
#define REPORT_MAX 32
#define MAX_DEVICES 8

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static void sleep_until(uint64_t ns)
{
    struct timespec ts = { .tv_sec = ns / 1000000000u,
                           .tv_nsec = ns % 1000000000u };

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static uint64_t number(const char *s)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s || *end || *s == '-') {
        fprintf(stderr, "writer: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    uint64_t blocks = 4096, seed = 1, count = 0, rate = 0, offset = 0;
    uint64_t seq, reported = 0, reported_ns = 0, start_ns;
    uint64_t write_ns, lat_max_ns = 0;  /* the longest write since the ACK */
    void *buf;
    off_t size;
    int opt, fd[MAX_DEVICES], ndev;

    while ((opt = getopt(argc, argv, "b:s:n:r:o:")) != -1) {
        switch (opt) {
        case 'b': blocks = number(optarg); break;
        case 's': seed = number(optarg); break;
        case 'n': count = number(optarg); break;
        case 'r': rate = number(optarg); break;
        case 'o': offset = number(optarg); break;
        default:
            fprintf(stderr, "usage: writer [-b BLOCKS] [-s SEED] [-n COUNT] "
                    "[-r RATE] [-o OFFSET] DEVICE [DEVICE...]\n");
            return 2;
        }
    }
    ndev = argc - optind;
    if (ndev < 1 || ndev > MAX_DEVICES || blocks == 0 ||
        blocks > (1ull << 40) || offset % WP_BLOCK_SIZE) {
        fprintf(stderr, "writer: need 1 to %d DEVICEs, 0 < BLOCKS <= 2^40, "
                "OFFSET a multiple of %d\n", MAX_DEVICES, WP_BLOCK_SIZE);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    for (int d = 0; d < ndev; d++) {
        const char *dev = argv[optind + d];

        fd[d] = open(dev, O_RDWR | O_DIRECT);
        if (fd[d] < 0) {
            perror(dev);
            return 1;
        }
        size = lseek(fd[d], 0, SEEK_END);
        if (size < 0 || (uint64_t)size < offset + blocks * WP_BLOCK_SIZE) {
            fprintf(stderr, "writer: %s is smaller than %" PRIu64 " bytes\n",
                    dev, offset + blocks * WP_BLOCK_SIZE);
            return 1;
        }
    }
    /* O_DIRECT needs a buffer aligned to the device's logical block size. */
    buf = aligned_alloc(WP_BLOCK_SIZE, WP_BLOCK_SIZE);
    if (!buf) {
        perror("aligned_alloc");
        return 1;
    }
    printf("WRITER dev=%s blocks=%" PRIu64 " seed=%" PRIu64 " count=%" PRIu64
           " rate=%" PRIu64 " offset=%" PRIu64 " ndev=%d\n",
           argv[optind], blocks, seed, count, rate, offset, ndev);

    start_ns = now_ns();
    for (seq = 1; !count || seq <= count; seq++) {
        int d = (seq - 1) % ndev;
        /* The write's number and seed in the run of its device */
        uint64_t dseq = (seq - 1) / ndev + 1, dseed = seed + d;
        uint64_t block = wp_block(dseed, blocks, dseq), now;
        off_t pos = offset + block * WP_BLOCK_SIZE;

        if (rate) {
            sleep_until(start_ns + (seq - 1) * 1000000000u / rate);
        }
        wp_make(buf, dseed, blocks, dseq);
        write_ns = now_ns();
        for (;;) {
            ssize_t n = pwrite(fd[d], buf, WP_BLOCK_SIZE, pos);

            if (n == WP_BLOCK_SIZE) {
                break;
            }
            /*
             * The disk may be gone for a while (paused, pivoting, an I/O
             * error policy of "report"): try the same write again, so the
             * sequence stays gap-free.
             */
            printf("ERR %" PRIu64 " %d\n", seq, n < 0 ? errno : EIO);
            usleep(100000);
        }
        /*
         * With O_DIRECT, pwrite returns once the device has completed the
         * write: on the host, QEMU has written it to the image.  It is now
         * acknowledged.
         */
        now = now_ns();
        if (now - write_ns > lat_max_ns) {
            lat_max_ns = now - write_ns;
        }
        if (seq == 1 || seq - reported >= REPORT_MAX ||
            now - reported_ns >= REPORT_MS * 1000000u ||
            seq == count) {
            printf("ACK %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                   seq, block, wp_gen(blocks, dseq), lat_max_ns / 1000u);
            lat_max_ns = 0;
            /*
             * Wait until the UART has sent the line (a no-op if stdout is
             * not a terminal): else the guest's tty buffer lets the disk
             * run ahead of the console by an unbounded number of writes.
             */
            tcdrain(STDOUT_FILENO);
            reported = seq;
            reported_ns = now;
        }
    }
    printf("DONE %" PRIu64 " %" PRIu64 "\n", count,
           (now_ns() - start_ns) / 1000000u);
    return 0;
}
