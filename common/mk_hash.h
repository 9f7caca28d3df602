/*  mk_hash: a hash for tables whose keys come from outside (UUIDs a monitor names, ids
    on a multicast group). SipHash (libsodium's crypto_shorthash) under a key drawn at
    the process's first use: no sender can choose keys that all fall in one chain, and
    CZMQ's zhashx, which grows itself over a long chain, never grows without end. */
#ifndef MK_HASH_H_INCLUDED
#define MK_HASH_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  The hash of size bytes at data. Thread-safe.
size_t mk_hash (const void *data, size_t size);

//  A new zhashx keyed by a number (an id the program gave, not one from outside) held in
//  the key pointer itself: MK_HASH_ID (id) as the key.
#define MK_HASH_ID(id) ((void *) (uintptr_t) (id))
typedef struct _zhashx_t zhashx_t;
zhashx_t *mk_hash_ids_new (void);

void mk_hash_test (bool verbose);

#endif
