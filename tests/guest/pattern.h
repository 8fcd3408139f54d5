/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The write pattern of the test guest, shared by the writer (in the guest)
 * and the verifier (on the host), so that both compute it the same way.
 *
 * Write number seq (1, 2, ...) of a run writes one 4 KiB block: a header
 * naming the write, then a payload derived from (seed, seq).  Which block
 * it writes and the how-many-th write of that block it is are pure
 * functions of (seed, blocks, seq), so the guest only has to report the
 * last acknowledged seq for the host to know what every block must hold.
 *
 * Everything is in native byte order: the guest and the host are both
 * x86_64.
 */
#ifndef GUEST_PATTERN_H
#define GUEST_PATTERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define WP_BLOCK_SIZE 4096
#define WP_MAGIC 0x31574b4c42545650ull     /* "PVTBLKW1" */

struct wp_header {
    uint64_t magic;
    uint64_t seq;           /* strictly increasing over a run's writes */
    uint64_t block;         /* the block's index (from the offset) */
    uint64_t gen;           /* 1 for a block's first write, then +1 */
    uint64_t seed;          /* the run's: a block of another run is foreign */
    uint32_t payload_crc;   /* CRC32 of the payload */
    uint32_t header_crc;    /* CRC32 of the header before this field */
};
_Static_assert(sizeof(struct wp_header) == 48, "header has padding");

#define WP_PAYLOAD_SIZE (WP_BLOCK_SIZE - sizeof(struct wp_header))

/* CRC-32 (IEEE 802.3, as zlib's crc32()); a table built on first use. */
static inline uint32_t wp_crc32(const void *buf, size_t len)
{
    static uint32_t table[256];
    const uint8_t *p = buf;
    uint32_t crc = 0xffffffffu;

    if (!table[1]) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) {
                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            }
            table[i] = c;
        }
    }
    while (len--) {
        crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    }
    return ~crc;
}

/* splitmix64's finaliser: a cheap, well-mixing 64-bit hash. */
static inline uint64_t wp_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/*
 * The walk: writes come in rounds of `blocks`; each round writes every
 * block exactly once, in a pseudo-random order that changes every round.
 * So a block's generation is its round + 1, and the latest write of every
 * block before any seq lies within the last two rounds.
 */
static inline uint64_t wp_gen(uint64_t blocks, uint64_t seq)
{
    return (seq - 1) / blocks + 1;
}

static inline uint64_t wp_block(uint64_t seed, uint64_t blocks, uint64_t seq)
{
    uint64_t round = (seq - 1) / blocks, x = (seq - 1) % blocks;
    uint64_t key = wp_mix(seed ^ wp_mix(round));
    unsigned half = 1;

    while (half < 31 && (1ull << (2 * half)) < blocks) {
        half++;
    }
    uint64_t mask = (1ull << half) - 1;
    /*
     * A Feistel network is a permutation of [0, 4^half) whatever its round
     * function; applying it again until the value is below `blocks`
     * ("cycle walking") makes it a permutation of [0, blocks).  4^half <
     * 4 * blocks, so that takes a few steps at most on average.
     */
    do {
        uint64_t l = x >> half, r = x & mask;
        for (uint64_t i = 0; i < 4; i++) {
            uint64_t t = l ^ (wp_mix(key ^ (i << 56) ^ r) & mask);
            l = r;
            r = t;
        }
        x = l << half | r;
    } while (x >= blocks);
    return x;
}

/* The payload of write seq: an xorshift64 stream seeded from (seed, seq). */
static inline void wp_payload(uint8_t *p, uint64_t seed, uint64_t seq)
{
    uint64_t s = wp_mix(seed ^ wp_mix(seq)) | 1;     /* xorshift needs s != 0 */

    for (size_t i = 0; i < WP_PAYLOAD_SIZE; i += 8) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        memcpy(p + i, &s, 8);
    }
}

static inline uint32_t wp_header_crc(const struct wp_header *h)
{
    return wp_crc32(h, offsetof(struct wp_header, header_crc));
}

/* Fill buf (WP_BLOCK_SIZE bytes) with write seq of the run (seed, blocks). */
static inline void wp_make(void *buf, uint64_t seed, uint64_t blocks,
                           uint64_t seq)
{
    uint8_t *payload = (uint8_t *)buf + sizeof(struct wp_header);
    struct wp_header h = {
        .magic = WP_MAGIC,
        .seq = seq,
        .block = wp_block(seed, blocks, seq),
        .gen = wp_gen(blocks, seq),
        .seed = seed,
    };

    wp_payload(payload, seed, seq);
    h.payload_crc = wp_crc32(payload, WP_PAYLOAD_SIZE);
    h.header_crc = wp_header_crc(&h);
    memcpy(buf, &h, sizeof(h));
}

#endif
