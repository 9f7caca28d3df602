/*  controller_mac: MAC addresses for new VMs, unique by construction. Addresses are
    QEMU's locally administered 52:54:00:xx:xx:xx, handed out in order from a counter
    kept in the database (meta 'mac_next', written once a batch that used it); the
    vms table's unique index on mac holds the rest. 24 bits give 16.7 million addresses
    before the counter wraps; after that each candidate is checked against the VMs that
    exist, so a long-lived VM's address is never given twice. (Random addresses, as
    before, collide at about 5,000 VMs.) */
#ifndef CONTROLLER_MAC_H_INCLUDED
#define CONTROLLER_MAC_H_INCLUDED

#include "maekin.h"
#include "mk_db.h"

#define CONTROLLER_MAC_SPACE 0x1000000ULL

typedef struct {
    uint64_t next; //  the next counter value; its low 24 bits are the address
    bool dirty;    //  handed out since the last save
} controller_mac_t;

//  Reads the counter (or, in a database without one, starts after the greatest MAC of
//  any VM): 0 or -1.
int controller_mac_load (controller_mac_t *self, mk_db_t *db);

//  The next free address into mac (18 bytes): 0, or -1 on a database error or when
//  every address is taken.
int controller_mac_next (controller_mac_t *self, mk_db_t *db, char *mac);

//  Writes the counter if it moved (inside the batch's transaction): 0 or -1.
int controller_mac_save (controller_mac_t *self, mk_db_t *db);

void controller_mac_test (bool verbose);

#endif
