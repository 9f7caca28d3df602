/*  mk_bloom: a Bloom filter of strings. "Not there" is certain; "maybe there" is wrong
    now and then (about 1% at the capacity given), so a caller asks the database only
    then. The controller keeps the request ids and VM names it has stored in one each:
    most requests are new and most names free, and on MariaDB each question saved is a
    round trip to the server. */
#ifndef MK_BLOOM_H_INCLUDED
#define MK_BLOOM_H_INCLUDED

#include "maekin.h"

typedef struct _mk_bloom_t mk_bloom_t;

//  A filter sized for `capacity` strings at about 1% false positives (10 bits each).
mk_bloom_t *mk_bloom_new (size_t capacity);
void mk_bloom_destroy (mk_bloom_t **self_p);

void mk_bloom_add (mk_bloom_t *self, const char *key);
//  False: the key was never added. True: it may have been.
bool mk_bloom_maybe (const mk_bloom_t *self, const char *key);
//  Forget every key.
void mk_bloom_clear (mk_bloom_t *self);
//  Keys added since it was made or cleared; past the capacity, "maybe" grows likelier.
size_t mk_bloom_count (const mk_bloom_t *self);
size_t mk_bloom_capacity (const mk_bloom_t *self);

void mk_bloom_test (bool verbose);

#endif
