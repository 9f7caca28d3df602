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

void mk_uuid_test (bool verbose);

#endif
