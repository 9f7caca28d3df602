/*  mk_hash: SipHash under a process key (mk_hash.h). */
#include "maekin.h"

#include "mk_hash.h"

#include <pthread.h>
#include <sodium.h>

static uint8_t s_key[crypto_shorthash_KEYBYTES];
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void
s_init (void)
{
    if (sodium_init () < 0)
        abort ();
    randombytes_buf (s_key, sizeof s_key);
}

//  Fibonacci hashing: ids given in sequence spread over the whole table.
static size_t
s_id_hash (const void *key)
{
    return (size_t) (((uint64_t) (uintptr_t) key) * 0x9E3779B97F4A7C15ULL >> 17);
}

static int
s_id_compare (const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) a, y = (uintptr_t) b;
    return x < y ? -1 : x > y;
}

zhashx_t *
mk_hash_ids_new (void)
{
    zhashx_t *hash = zhashx_new ();
    assert (hash);
    zhashx_set_key_hasher (hash, s_id_hash);
    zhashx_set_key_comparator (hash, s_id_compare);
    zhashx_set_key_duplicator (hash, NULL);
    zhashx_set_key_destructor (hash, NULL);
    return hash;
}

size_t
mk_hash (const void *data, size_t size)
{
    pthread_once (&s_once, s_init);
    uint8_t out[crypto_shorthash_BYTES];
    crypto_shorthash (out, (const unsigned char *) data, size, s_key);
    size_t hash;
    memcpy (&hash, out, sizeof hash);
    return hash;
}

void
mk_hash_test (bool verbose)
{
    //  Equal bytes hash equal; keys that differ in one bit, or share a half, spread.
    uint8_t a[16] = {1, 2, 3}, b[16] = {1, 2, 3};
    assert (mk_hash (a, sizeof a) == mk_hash (b, sizeof b));
    size_t low_bits[64] = {0};
    for (uint32_t i = 0; i < 6400; i++) {
        memcpy (b, &i, sizeof i);
        low_bits[mk_hash (b, sizeof b) % 64]++;
    }
    for (int i = 0; i < 64; i++)
        assert (low_bits[i] > 40 && low_bits[i] < 200); //  100 each, give or take
    if (verbose)
        printf (" * 6,400 keys that share 12 of 16 bytes spread over 64 buckets\n");
}
