/*  mk_uuid: time-ordered UUIDs. */
#include "mk_uuid.h"

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
    static const char hex[] = "0123456789abcdef";
    char *out = uuid->text;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *out++ = '-';
        *out++ = hex[uuid->bytes[i] >> 4];
        *out++ = hex[uuid->bytes[i] & 15];
    }
    *out = 0;
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
    assert (a.text[14] == '7');           //  version 7
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
}
