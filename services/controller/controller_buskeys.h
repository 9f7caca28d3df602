/*  controller_buskeys: the bus's allow-list, held in memory: every CURVE public key the
    broker is to let in, with its name, role, hosts and expiry. The keys are few (a node
    key per agent process, a client key per site's CLI installations) and the list is
    pushed whole to the broker, so it is loaded whole at start and changed only by this
    controller, right after it writes the database (a batch rolled back reloads it).

    A key is live until its expiry (unix ms; 0: never): the old key of a rotation works
    for a grace period, then is purged. Lists, messages and the digest hold live keys
    only. */
#ifndef CONTROLLER_BUSKEYS_H_INCLUDED
#define CONTROLLER_BUSKEYS_H_INCLUDED

#include "controller_store.h"
#include "mk_buskey.h"

typedef struct _controller_buskeys_t controller_buskeys_t;

controller_buskeys_t *controller_buskeys_new (void);
void controller_buskeys_destroy (controller_buskeys_t **self_p);

//  Forget what is held and read every key: 0 or -1.
int controller_buskeys_load (controller_buskeys_t *self, mk_db_t *db);

//  A key by its text (NULL if none is held, live or not); a new or changed key (copied,
//  its hosts too); every key of a name taken away; a key's new expiry.
const store_buskey_t *controller_buskeys_get (controller_buskeys_t *self, const char *key);
void controller_buskeys_put (controller_buskeys_t *self, const store_buskey_t *key);
void controller_buskeys_drop_name (controller_buskeys_t *self, const char *name);
void controller_buskeys_set_expires (controller_buskeys_t *self, const char *key, int64_t expires);

//  The live keys of a name at now (unix ms), or every live key (name NULL or ""), sorted
//  by name, then the one that works longest first (the current one), then the newest: a
//  new list of borrowed entries, valid until the next change.
zlistx_t *controller_buskeys_list (controller_buskeys_t *self, const char *name, int64_t now);
//  The hosts some live node key serves at now: a new set of their names (values unused).
zhashx_t *controller_buskeys_served (controller_buskeys_t *self, int64_t now);
//  How many keys are held (live or not), their hosts in all, and how many expired by now.
size_t controller_buskeys_count (controller_buskeys_t *self);
size_t controller_buskeys_hosts (controller_buskeys_t *self);
size_t controller_buskeys_expired (controller_buskeys_t *self, int64_t now);
//  Takes the keys that expired by now away (their rows are the caller's to delete).
void controller_buskeys_drop_expired (controller_buskeys_t *self, int64_t now);

//  A key as a message, allocated in `arena` (a list that frees its items).
Maekin__BusKey *controller_buskeys_msg (const store_buskey_t *key, zlistx_t *arena);
//  The live keys at now as messages in arena, in the list's order: the array (NULL-ended)
//  and *count.
Maekin__BusKey **controller_buskeys_msgs (controller_buskeys_t *self, int64_t now, zlistx_t *arena,
                                          size_t *count);
//  The digest of the live keys at now (mk_buskey_digest): MK_BUSKEY_DIGEST bytes, kept
//  until the list changes or a key expires.
const uint8_t *controller_buskeys_digest (controller_buskeys_t *self, int64_t now);

void controller_buskeys_test (bool verbose);

#endif
