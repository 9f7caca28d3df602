/*  mk_bloom: a Bloom filter of strings, seven probes from two 64-bit hashes
    (Kirsch and Mitzenmacher: probe i is h1 + i * h2). */
#include "mk_bloom.h"

#define S_PROBES 7

struct _mk_bloom_t {
    uint64_t *bits;
    uint64_t nbits; //  a power of two
    size_t capacity;
    size_t count;
};

mk_bloom_t *
mk_bloom_new (size_t capacity)
{
    mk_bloom_t *self = (mk_bloom_t *) zmalloc (sizeof (mk_bloom_t));
    self->capacity = capacity ? capacity : 1;
    self->nbits = 64;
    while (self->nbits < (uint64_t) self->capacity * 10)
        self->nbits <<= 1;
    self->bits = (uint64_t *) zmalloc (self->nbits / 8);
    return self;
}

void
mk_bloom_destroy (mk_bloom_t **self_p)
{
    if (*self_p) {
        free ((*self_p)->bits);
        free (*self_p);
        *self_p = NULL;
    }
}

//  FNV-1a, then a strong mix of it for the second hash.
static void
s_hash (const char *key, uint64_t *h1, uint64_t *h2)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *c = (const unsigned char *) key; *c; c++)
        h = (h ^ *c) * 0x100000001b3ULL;
    uint64_t m = h;
    m ^= m >> 33;
    m *= 0xff51afd7ed558ccdULL;
    m ^= m >> 33;
    m *= 0xc4ceb9fe1a85ec53ULL;
    m ^= m >> 33;
    *h1 = h;
    *h2 = m | 1;
}

void
mk_bloom_add (mk_bloom_t *self, const char *key)
{
    uint64_t h1, h2;
    s_hash (key, &h1, &h2);
    for (int i = 0; i < S_PROBES; i++) {
        uint64_t bit = (h1 + (uint64_t) i * h2) & (self->nbits - 1);
        self->bits[bit / 64] |= 1ULL << (bit % 64);
    }
    self->count++;
}

bool
mk_bloom_maybe (const mk_bloom_t *self, const char *key)
{
    uint64_t h1, h2;
    s_hash (key, &h1, &h2);
    for (int i = 0; i < S_PROBES; i++) {
        uint64_t bit = (h1 + (uint64_t) i * h2) & (self->nbits - 1);
        if (!(self->bits[bit / 64] & (1ULL << (bit % 64))))
            return false;
    }
    return true;
}

void
mk_bloom_clear (mk_bloom_t *self)
{
    memset (self->bits, 0, self->nbits / 8);
    self->count = 0;
}

size_t
mk_bloom_count (const mk_bloom_t *self)
{
    return self->count;
}

size_t
mk_bloom_capacity (const mk_bloom_t *self)
{
    return self->capacity;
}

void
mk_bloom_test (bool verbose)
{
    mk_bloom_t *bloom = mk_bloom_new (10000);
    char key[32];
    assert (!mk_bloom_maybe (bloom, "req-0"));
    for (int i = 0; i < 10000; i++) {
        snprintf (key, sizeof key, "req-%d", i);
        mk_bloom_add (bloom, key);
    }
    assert (mk_bloom_count (bloom) == 10000);
    //  No false negatives, ever.
    for (int i = 0; i < 10000; i++) {
        snprintf (key, sizeof key, "req-%d", i);
        assert (mk_bloom_maybe (bloom, key));
    }
    //  False positives near 1% at the capacity (well under 3%).
    int wrong = 0;
    for (int i = 0; i < 100000; i++) {
        snprintf (key, sizeof key, "other-%d", i);
        wrong += mk_bloom_maybe (bloom, key);
    }
    if (verbose)
        printf ("  false positives at capacity: %.2f%%\n", wrong / 1000.0);
    assert (wrong < 3000);
    mk_bloom_clear (bloom);
    assert (mk_bloom_count (bloom) == 0 && !mk_bloom_maybe (bloom, "req-1"));
    assert (!mk_bloom_maybe (bloom, ""));
    mk_bloom_add (bloom, "");
    assert (mk_bloom_maybe (bloom, ""));
    mk_bloom_destroy (&bloom);
    assert (bloom == NULL);
}
