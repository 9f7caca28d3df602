/*  mk_buskey: what a key of the bus's allow-list is (proto/maekin.proto, "the bus's keys"):
    its name, its text, its role's name, and the digest of a list of them, which the
    controller and the broker each compute to tell whether the broker holds the
    controller's list.

    The digest is BLAKE2b-256 (libsodium's crypto_generichash, 32 bytes, no key) over the
    keys sorted by their text (strcmp), each written as:
      its text (40 bytes) and a NUL byte,
      its role, as a 32-bit little-endian number (BusRole's value),
      how many hosts it has, 32-bit little-endian,
      each host, sorted (strcmp), and a NUL byte,
      its expires, as a 64-bit little-endian two's-complement number.
    The order the keys (and a key's hosts) are given in makes no difference; an empty list
    is the digest of nothing. Only the fields named count: name, created and created_by
    do not. */
#ifndef MK_BUSKEY_H_INCLUDED
#define MK_BUSKEY_H_INCLUDED

#include "maekin.h"

//  A public key as text (Z85), and a digest, in bytes.
#define MK_BUSKEY_TEXT   40
#define MK_BUSKEY_DIGEST 32
//  A key's name: 1 to this many characters.
#define MK_BUSKEY_NAME_MAX 63

//  NULL if name may be a key's name (1..63 of A-Z, a-z, 0-9, '.', '_', '-'); else why
//  not (static text, to follow "a key's name ...").
const char *mk_buskey_name_check (const char *name);
//  NULL if text is a public key: 40 characters of Z85 that decode to 32 bytes; else why
//  not (static text, to follow "a key ...").
const char *mk_buskey_text_check (const char *text);

//  A role's name (controller, node, client; "" for none), and the role of a name
//  (BUS_ROLE_UNSET if it names none).
const char *mk_buskey_role_name (Maekin__BusRole role);
Maekin__BusRole mk_buskey_role_parse (const char *name);

//  The digest of a list of keys, as written above.
void mk_buskey_digest (Maekin__BusKey *const *keys, size_t count, uint8_t digest[MK_BUSKEY_DIGEST]);

void mk_buskey_test (bool verbose);

#endif
