/*  mk_uuid: UUIDs for new VMs, ordered by time (RFC 9562, version 7): 48 bits of unix
    milliseconds, a 12-bit counter that keeps the UUIDs of one thread strictly
    increasing within a millisecond, and 62 random bits from libsodium.

    A VM's UUID is a unique key in the database: random (version 4) UUIDs put every new
    row's index entry on a different page, so each commit writes one more page per VM;
    UUIDs in creation order append. libuuid also reseeds random() on every call, which
    showed in the controller's profile. */
#ifndef MK_UUID_H_INCLUDED
#define MK_UUID_H_INCLUDED

#include "maekin.h"

typedef struct {
    uint8_t bytes[16];
    char text[37]; //  canonical, lower case: 8-4-4-4-12
} mk_uuid_t;

//  A new UUID, greater than any this thread made before.
void mk_uuid_new (mk_uuid_t *uuid);

//  16 bytes as canonical text (37 chars with the NUL), and back: 0, or -1 if text is not
//  8-4-4-4-12 hexadecimal digits.
void mk_uuid_format (const uint8_t *bytes, char *text);
int mk_uuid_parse (const char *text, uint8_t *bytes);

//  A table keyed by 16-byte UUIDs that its items hold themselves: insert with the key
//  pointing into the item (nothing is copied); items are freed with free ().
zhashx_t *mk_uuid_table_new (void);

void mk_uuid_test (bool verbose);

#endif
