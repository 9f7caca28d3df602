/*  mk_uuid: time-ordered UUIDs. */
#include "mk_uuid.h"

#include "mk_hash.h"

#include <assert.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

//  Per thread: the last millisecond used and the counter within it, and random bytes
//  drawn ahead (one getrandom call for many UUIDs, not one each).
#define POOL_SIZE 320
static _Thread_local uint64_t s_last_ms;
static _Thread_local uint16_t s_counter;
static _Thread_local bool s_ready;
static _Thread_local uint8_t s_pool[POOL_SIZE];
static _Thread_local size_t s_pool_used = POOL_SIZE;

static pthread_once_t s_fork_once = PTHREAD_ONCE_INIT;

//  A child of fork () draws its own bytes, not the ones its parent will use too.
static void
s_forked (void)
{
    s_pool_used = POOL_SIZE;
}

static void
s_fork_register (void)
{
    pthread_atfork (NULL, NULL, s_forked);
}

static void
s_random (uint8_t *bytes, size_t size)
{
    assert (size <= POOL_SIZE);
    pthread_once (&s_fork_once, s_fork_register);
    if (s_pool_used + size > POOL_SIZE) {
        randombytes_buf (s_pool, POOL_SIZE);
        s_pool_used = 0;
    }
    memcpy (bytes, s_pool + s_pool_used, size);
    //  Each byte is used once.
    sodium_memzero (s_pool + s_pool_used, size);
    s_pool_used += size;
}

void
mk_uuid_new (mk_uuid_t *uuid)
{
    if (!s_ready) {
        //  1 if another thread did it already; -1 only if the system has no randomness.
        if (sodium_init () < 0)
            abort ();
        s_ready = true;
    }
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    uint64_t ms = (uint64_t) now.tv_sec * 1000 + (uint64_t) now.tv_nsec / 1000000;
    uint8_t random[10];
    s_random (random, sizeof random);
    if (ms > s_last_ms) {
        //  A new millisecond: the counter starts low at a random place, leaving room.
        s_last_ms = ms;
        s_counter = (uint16_t) (((random[0] << 8) | random[1]) & 0x3ff);
    } else if (++s_counter > 0xfff) {
        //  Out of counter (or the clock went back): borrow the next millisecond.
        s_last_ms++;
        s_counter = 0;
    }
    ms = s_last_ms;
    for (int i = 0; i < 6; i++)
        uuid->bytes[i] = (uint8_t) (ms >> (40 - 8 * i));
    uuid->bytes[6] = (uint8_t) (0x70 | (s_counter >> 8));
    uuid->bytes[7] = (uint8_t) s_counter;
    uuid->bytes[8] = (uint8_t) (0x80 | (random[2] & 0x3f));
    memcpy (uuid->bytes + 9, random + 3, 7);
    mk_uuid_format (uuid->bytes, uuid->text);
}

void
mk_uuid_format (const uint8_t *bytes, char *text)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *text++ = '-';
        *text++ = hex[bytes[i] >> 4];
        *text++ = hex[bytes[i] & 15];
    }
    *text = 0;
}

static int
s_nibble (char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

int
mk_uuid_parse (const char *text, uint8_t *bytes)
{
    if (!text || strlen (text) != 36)
        return -1;
    for (int i = 0, at = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            if (text[at++] != '-')
                return -1;
        int high = s_nibble (text[at]), low = s_nibble (text[at + 1]);
        if (high < 0 || low < 0)
            return -1;
        bytes[i] = (uint8_t) (high << 4 | low);
        at += 2;
    }
    return 0;
}

//  UUIDs come from outside too (a monitor names its guests): mk_hash, not their bytes.
static size_t
s_uuid_hash (const void *key)
{
    return mk_hash (key, 16);
}

static int
s_uuid_compare (const void *a, const void *b)
{
    return memcmp (a, b, 16);
}

zhashx_t *
mk_uuid_table_new (void)
{
    zhashx_t *table = zhashx_new ();
    assert (table);
    zhashx_set_key_hasher (table, s_uuid_hash);
    zhashx_set_key_comparator (table, s_uuid_compare);
    zhashx_set_key_duplicator (table, NULL);
    zhashx_set_key_destructor (table, NULL);
    zhashx_set_destructor (table, (zhashx_destructor_fn *) zstr_free);
    return table;
}

static int
s_compare (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

void
mk_uuid_test (bool verbose)
{
    mk_uuid_t a, b;
    mk_uuid_new (&a);
    if (verbose)
        printf ("  %s\n", a.text);
    assert (strlen (a.text) == 36 && a.text[8] == '-' && a.text[13] == '-' && a.text[18] == '-'
            && a.text[23] == '-');
    assert (a.text[14] == '7'); //  version 7
    uint8_t back[16];
    assert (mk_uuid_parse (a.text, back) == 0 && memcmp (back, a.bytes, 16) == 0);
    assert (mk_uuid_parse ("C2D7E8F9-5A4B-4C3D-9E2F-1A0B9C8D7E6F", back) == 0 && back[0] == 0xc2);
    assert (mk_uuid_parse ("c2d7e8f9-5a4b-4c3d-9e2f-1a0b9c8d7e6", back) == -1);
    assert (mk_uuid_parse ("c2d7e8f9x5a4b-4c3d-9e2f-1a0b9c8d7e6f", back) == -1);
    assert (mk_uuid_parse ("g2d7e8f9-5a4b-4c3d-9e2f-1a0b9c8d7e6f", back) == -1);
    assert (strchr ("89ab", a.text[19])); //  RFC 9562 variant
    //  The time in the first 48 bits is now.
    uint64_t ms = 0;
    for (int i = 0; i < 6; i++)
        ms = (ms << 8) | a.bytes[i];
    int64_t skew = (int64_t) ms - zclock_time ();
    assert (skew > -1000 && skew < 1000);
    //  Strictly increasing, as bytes and as text, through many within one millisecond
    //  (more than the counter holds: the next millisecond is borrowed).
    for (int i = 0; i < 20000; i++) {
        mk_uuid_new (&b);
        assert (memcmp (a.bytes, b.bytes, 16) < 0 && strcmp (a.text, b.text) < 0);
        a = b;
    }
    //  The random part differs between two made in the same millisecond, and stays
    //  fresh across many refills of the pool it is drawn from.
    mk_uuid_new (&a);
    mk_uuid_new (&b);
    assert (memcmp (a.bytes + 9, b.bytes + 9, 7) != 0);
    enum { TAILS = 1000 };
    uint64_t *tails = (uint64_t *) calloc (TAILS, sizeof (uint64_t));
    assert (tails);
    for (int i = 0; i < TAILS; i++) {
        mk_uuid_new (&a);
        memcpy (&tails[i], a.bytes + 9, 7);
    }
    qsort (tails, TAILS, sizeof (uint64_t), s_compare);
    for (int i = 1; i < TAILS; i++)
        assert (tails[i] != tails[i - 1]);
    free (tails);
    //  A child of fork () does not reuse the bytes its parent has drawn ahead.
    int link[2];
    assert (pipe (link) == 0);
    pid_t child = fork ();
    assert (child >= 0);
    if (child == 0) {
        mk_uuid_new (&b);
        _exit (write (link[1], b.bytes + 9, 7) == 7 ? 0 : 1);
    }
    mk_uuid_new (&a);
    uint8_t theirs[7];
    assert (read (link[0], theirs, 7) == 7);
    assert (waitpid (child, NULL, 0) == child);
    assert (memcmp (a.bytes + 9, theirs, 7) != 0);
    close (link[0]);
    close (link[1]);

    //  The table holds 50,000 UUIDs that share their second half (as a careless or
    //  hostile monitor might send them) and finds each.
    zhashx_t *table = mk_uuid_table_new ();
    for (uint32_t i = 0; i < 50000; i++) {
        uint8_t *item = (uint8_t *) zmalloc (16);
        memcpy (item, &i, sizeof i);
        assert (zhashx_insert (table, item, item) == 0);
    }
    uint8_t key[16] = {0};
    for (uint32_t i = 0; i < 50000; i += 997) {
        memcpy (key, &i, sizeof i);
        assert (zhashx_lookup (table, key));
    }
    assert (zhashx_size (table) == 50000);
    zhashx_destroy (&table);
}
