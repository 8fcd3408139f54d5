/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * verifier: checks a raw image the test guest's writer wrote to, given the
 * run's parameters and the last seq the guest reported as acknowledged.
 *
 * usage: verifier IMAGE --blocks N --seed S --acked SEQ
 *                 [--offset BYTES] [--slack K] [--verbose]
 *
 * Each of the N blocks is classified as exactly one of:
 *   empty     all zero, and no acknowledged write of it exists
 *   verified  holds the block's latest acknowledged write, or a later
 *             write of it (which the guest made but had not yet reported)
 *   lost      an acknowledged write is missing: the block is all zero or
 *             holds an older write
 *   torn      a genuine header with a payload that is not its own (a write
 *             that landed in part, or a corrupted payload)
 *   foreign   anything the guest never wrote there: garbage, another run's
 *             or another block's data, a write beyond acked + slack
 * A write beyond acked (at most `slack` beyond, default 64: the writer
 * reports every 32 writes) on a block with no acknowledged write is
 * neither verified nor an error.
 *
 * Prints "blocks N written W verified V lost L torn T foreign F last M" (W:
 * blocks with an acknowledged write; M: the latest write the image holds,
 * 0 if none) and exits 0 only if L, T and F are 0; 1 if not; 2 on a usage
 * or I/O error.  Each problem also goes to stderr (the
 * first 20, or all with --verbose).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pattern.h"

enum { EMPTY, VERIFIED, LOST, TORN, FOREIGN, UNACKED };

static int verbose, problems;

static void problem(uint64_t block, const char *fmt, ...)
{
    va_list ap;

    if (!verbose && ++problems > 20) {
        return;
    }
    fprintf(stderr, "block %" PRIu64 ": ", block);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static uint64_t number(const char *opt, const char *s)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s || *end || *s == '-') {
        fprintf(stderr, "verifier: bad number for --%s: '%s'\n", opt, s);
        exit(2);
    }
    return v;
}

/*
 * Classify block b holding buf.  expect is the seq of its latest
 * acknowledged write (0: none).
 */
static int check(const uint8_t *buf, uint64_t b, uint64_t expect,
                 uint64_t seed, uint64_t blocks, uint64_t acked,
                 uint64_t slack)
{
    static uint8_t want[WP_PAYLOAD_SIZE];
    const uint8_t *payload = buf + sizeof(struct wp_header);
    struct wp_header h;
    size_t i;

    for (i = 0; i < WP_BLOCK_SIZE && !buf[i]; i++) {
    }
    if (i == WP_BLOCK_SIZE) {
        if (expect) {
            problem(b, "lost: all zero, want seq %" PRIu64, expect);
            return LOST;
        }
        return EMPTY;
    }
    memcpy(&h, buf, sizeof(h));
    if (h.magic != WP_MAGIC || h.header_crc != wp_header_crc(&h)) {
        problem(b, "foreign: no valid header");
        return FOREIGN;
    }
    if (h.seq > acked + slack) {
        problem(b, "foreign: seq %" PRIu64 " is beyond acked + slack (%"
                PRIu64 ")", h.seq, acked + slack);
        return FOREIGN;
    }
    if (h.seed != seed || h.block != b || h.seq == 0 ||
        wp_block(seed, blocks, h.seq) != b || wp_gen(blocks, h.seq) != h.gen) {
        problem(b, "foreign: seq %" PRIu64 " block %" PRIu64 " gen %" PRIu64
                " seed %" PRIu64 " is no write of the walk to this block",
                h.seq, h.block, h.gen, h.seed);
        return FOREIGN;
    }
    wp_payload(want, seed, h.seq);
    if (h.payload_crc != wp_crc32(payload, WP_PAYLOAD_SIZE) ||
        memcmp(want, payload, WP_PAYLOAD_SIZE)) {
        problem(b, "torn: payload is not that of seq %" PRIu64, h.seq);
        return TORN;
    }
    if (!expect) {
        return UNACKED;     /* h.seq > acked: else expect would be set */
    }
    if (h.seq < expect) {
        problem(b, "lost: holds seq %" PRIu64 " (gen %" PRIu64 "), want seq %"
                PRIu64 " (gen %" PRIu64 ") or later",
                h.seq, h.gen, expect, wp_gen(blocks, expect));
        return LOST;
    }
    return VERIFIED;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "blocks", required_argument, NULL, 'b' },
        { "seed", required_argument, NULL, 's' },
        { "acked", required_argument, NULL, 'a' },
        { "offset", required_argument, NULL, 'o' },
        { "slack", required_argument, NULL, 'k' },
        { "verbose", no_argument, NULL, 'v' },
        { 0 }
    };
    uint64_t blocks = 0, seed = 0, acked = 0, offset = 0, slack = 64;
    uint64_t count[UNACKED + 1] = { 0 }, written = 0, *latest, round, seq, b;
    uint64_t last = 0;          /* the latest genuine write found */
    int have = 0, opt, fd;
    void *buf;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'b': blocks = number("blocks", optarg); have |= 1; break;
        case 's': seed = number("seed", optarg); have |= 2; break;
        case 'a': acked = number("acked", optarg); have |= 4; break;
        case 'o': offset = number("offset", optarg); break;
        case 'k': slack = number("slack", optarg); break;
        case 'v': verbose = 1; break;
        default: have = -1; break;
        }
    }
    if (have != 7 || optind != argc - 1 || blocks == 0 ||
        blocks > (1ull << 40)) {
        fprintf(stderr, "usage: verifier IMAGE --blocks N --seed S --acked SEQ"
                " [--offset BYTES] [--slack K] [--verbose]\n");
        return 2;
    }

    /*
     * The latest acknowledged write of each block: every round of the walk
     * writes every block, so it is in the round of `acked` or the one
     * before.
     */
    latest = calloc(blocks, sizeof(*latest));
    if (!latest) {
        perror("calloc");
        return 2;
    }
    round = acked ? (acked - 1) / blocks : 0;      /* acked's, from 0 */
    for (seq = round ? (round - 1) * blocks + 1 : 1; seq <= acked; seq++) {
        latest[wp_block(seed, blocks, seq)] = seq;
    }

    fd = open(argv[optind], O_RDONLY);
    buf = malloc(WP_BLOCK_SIZE);
    if (fd < 0 || !buf) {
        perror(argv[optind]);
        return 2;
    }
    if ((uint64_t)lseek(fd, 0, SEEK_END) < offset + blocks * WP_BLOCK_SIZE) {
        fprintf(stderr, "verifier: %s is smaller than %" PRIu64 " bytes\n",
                argv[optind], offset + blocks * WP_BLOCK_SIZE);
        return 2;
    }
    for (b = 0; b < blocks; b++) {
        ssize_t n = pread(fd, buf, WP_BLOCK_SIZE, offset + b * WP_BLOCK_SIZE);

        if (n != WP_BLOCK_SIZE) {
            fprintf(stderr, "verifier: %s: block %" PRIu64 " unreadable\n",
                    argv[optind], b);
            return 2;
        }
        written += latest[b] != 0;
        int kind = check(buf, b, latest[b], seed, blocks, acked, slack);
        count[kind]++;
        if (kind == VERIFIED || kind == UNACKED || kind == LOST) {
            struct wp_header h;

            memcpy(&h, buf, sizeof(h));
            if (h.magic == WP_MAGIC && h.seq > last) {
                last = h.seq;
            }
        }
    }
    if (!verbose && problems > 20) {
        fprintf(stderr, "(%d more problems; --verbose lists them)\n",
                problems - 20);
    }
    printf("blocks %" PRIu64 " written %" PRIu64 " verified %" PRIu64
           " lost %" PRIu64 " torn %" PRIu64 " foreign %" PRIu64
           " last %" PRIu64 "\n",
           blocks, written, count[VERIFIED], count[LOST], count[TORN],
           count[FOREIGN], last);
    return count[LOST] || count[TORN] || count[FOREIGN] ? 1 : 0;
}
