/*  controller_buskeys: the bus's allow-list in memory. */
#include "controller_buskeys.h"

struct _controller_buskeys_t {
    zhashx_t *keys;                   //  key text -> store_buskey_t (owned, its hosts too)
    size_t hosts;                     //  the hosts of every key held
    bool digested;                    //  digest holds the live keys' until...
    int64_t digest_until;             //  ... this time (unix ms), when one of them expires
    uint8_t digest[MK_BUSKEY_DIGEST]; //  the last digest taken
};

static void
s_key_free (void **item)
{
    store_buskey_t *key = (store_buskey_t *) *item;
    if (key) {
        free ((char *) key->hosts);
        free (key);
    }
    *item = NULL;
}

static size_t
s_host_count (const char *hosts)
{
    if (!hosts || !*hosts)
        return 0;
    size_t count = 1;
    for (const char *c = hosts; *c; c++)
        count += *c == ',';
    return count;
}

static bool
s_live (const store_buskey_t *key, int64_t now)
{
    return key->expires == 0 || key->expires > now;
}

controller_buskeys_t *
controller_buskeys_new (void)
{
    controller_buskeys_t *self = (controller_buskeys_t *) zmalloc (sizeof (controller_buskeys_t));
    self->keys = zhashx_new ();
    zhashx_set_destructor (self->keys, s_key_free);
    return self;
}

void
controller_buskeys_destroy (controller_buskeys_t **self_p)
{
    controller_buskeys_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->keys);
    free (self);
    *self_p = NULL;
}

static void
s_load_key (const void *row, void *arg)
{
    controller_buskeys_put ((controller_buskeys_t *) arg, (const store_buskey_t *) row);
}

int
controller_buskeys_load (controller_buskeys_t *self, mk_db_t *db)
{
    zhashx_purge (self->keys);
    self->hosts = 0;
    self->digested = false;
    return store_buskey_all (db, s_load_key, self) < 0 ? -1 : 0;
}

const store_buskey_t *
controller_buskeys_get (controller_buskeys_t *self, const char *key)
{
    return (const store_buskey_t *) zhashx_lookup (self->keys, key);
}

void
controller_buskeys_put (controller_buskeys_t *self, const store_buskey_t *key)
{
    const store_buskey_t *old = controller_buskeys_get (self, key->key);
    if (old)
        self->hosts -= s_host_count (old->hosts);
    store_buskey_t *copy = (store_buskey_t *) malloc (sizeof *copy);
    assert (copy);
    *copy = *key;
    copy->hosts = strdup (key->hosts ? key->hosts : "");
    assert (copy->hosts);
    self->hosts += s_host_count (copy->hosts);
    zhashx_update (self->keys, copy->key, copy);
    self->digested = false;
}

//  Takes away every key for which `doomed` says so.
static void
s_drop (controller_buskeys_t *self, bool (*doomed) (const store_buskey_t *, const void *),
        const void *arg)
{
    zlistx_t *list = zlistx_new ();
    for (store_buskey_t *key = (store_buskey_t *) zhashx_first (self->keys); key;
         key = (store_buskey_t *) zhashx_next (self->keys))
        if (doomed (key, arg))
            zlistx_add_end (list, key);
    for (store_buskey_t *key = (store_buskey_t *) zlistx_first (list); key;
         key = (store_buskey_t *) zlistx_next (list)) {
        self->hosts -= s_host_count (key->hosts);
        char text[sizeof key->key];
        memcpy (text, key->key, sizeof text);
        zhashx_delete (self->keys, text); //  frees key
        self->digested = false;
    }
    zlistx_destroy (&list);
}

static bool
s_named (const store_buskey_t *key, const void *name)
{
    return streq (key->name, (const char *) name);
}

static bool
s_expired (const store_buskey_t *key, const void *now)
{
    return !s_live (key, *(const int64_t *) now);
}

void
controller_buskeys_drop_name (controller_buskeys_t *self, const char *name)
{
    s_drop (self, s_named, name);
}

void
controller_buskeys_drop_expired (controller_buskeys_t *self, int64_t now)
{
    s_drop (self, s_expired, &now);
}

void
controller_buskeys_set_expires (controller_buskeys_t *self, const char *key, int64_t expires)
{
    store_buskey_t *held = (store_buskey_t *) zhashx_lookup (self->keys, key);
    assert (held);
    held->expires = expires;
    self->digested = false;
}

//  By name, then the key that works longest first (one that never expires, the current
//  one), then the newest (and by text, so the order is always the same).
static int
s_by_name (const void *a, const void *b)
{
    const store_buskey_t *x = (const store_buskey_t *) a, *y = (const store_buskey_t *) b;
    int order = strcmp (x->name, y->name);
    uint64_t x_end = x->expires ? (uint64_t) x->expires : UINT64_MAX;
    uint64_t y_end = y->expires ? (uint64_t) y->expires : UINT64_MAX;
    if (order == 0)
        order = x_end > y_end ? -1 : x_end < y_end ? 1 : 0;
    if (order == 0)
        order = x->created > y->created ? -1 : x->created < y->created ? 1 : 0;
    return order ? order : strcmp (x->key, y->key);
}

zlistx_t *
controller_buskeys_list (controller_buskeys_t *self, const char *name, int64_t now)
{
    zlistx_t *list = zlistx_new ();
    zlistx_set_comparator (list, s_by_name);
    for (store_buskey_t *key = (store_buskey_t *) zhashx_first (self->keys); key;
         key = (store_buskey_t *) zhashx_next (self->keys))
        if (s_live (key, now) && (!name || !*name || streq (key->name, name)))
            zlistx_add_end (list, key);
    zlistx_sort (list);
    return list;
}

zhashx_t *
controller_buskeys_served (controller_buskeys_t *self, int64_t now)
{
    zhashx_t *served = zhashx_new ();
    for (store_buskey_t *key = (store_buskey_t *) zhashx_first (self->keys); key;
         key = (store_buskey_t *) zhashx_next (self->keys)) {
        if (key->role != MAEKIN__BUS_ROLE__BUS_ROLE_NODE || !s_live (key, now) || !key->hosts)
            continue;
        for (const char *host = key->hosts; *host;) {
            size_t length = strcspn (host, ",");
            char name[64];
            snprintf (name, sizeof name, "%.*s", (int) length, host);
            zhashx_insert (served, name, (void *) 1);
            host += length + (host[length] == ',');
        }
    }
    return served;
}

size_t
controller_buskeys_count (controller_buskeys_t *self)
{
    return zhashx_size (self->keys);
}

size_t
controller_buskeys_hosts (controller_buskeys_t *self)
{
    return self->hosts;
}

size_t
controller_buskeys_expired (controller_buskeys_t *self, int64_t now)
{
    size_t count = 0;
    for (store_buskey_t *key = (store_buskey_t *) zhashx_first (self->keys); key;
         key = (store_buskey_t *) zhashx_next (self->keys))
        count += !s_live (key, now);
    return count;
}

static char *
s_arena_str (zlistx_t *arena, const char *text, size_t length)
{
    char *copy = strndup (text, length);
    assert (copy);
    zlistx_add_end (arena, copy);
    return copy;
}

Maekin__BusKey *
controller_buskeys_msg (const store_buskey_t *key, zlistx_t *arena)
{
    Maekin__BusKey *msg = (Maekin__BusKey *) zmalloc (sizeof (Maekin__BusKey));
    zlistx_add_end (arena, msg);
    maekin__bus_key__init (msg);
    msg->name = s_arena_str (arena, key->name, strlen (key->name));
    msg->key = s_arena_str (arena, key->key, strlen (key->key));
    msg->role = key->role;
    msg->expires = key->expires;
    msg->created = key->created;
    msg->created_by = s_arena_str (arena, key->created_by, strlen (key->created_by));
    size_t count = s_host_count (key->hosts);
    msg->hosts = (char **) zmalloc ((count + 1) * sizeof (char *));
    zlistx_add_end (arena, msg->hosts);
    for (const char *host = key->hosts; msg->n_hosts < count;) {
        size_t length = strcspn (host, ",");
        msg->hosts[msg->n_hosts++] = s_arena_str (arena, host, length);
        host += length + (host[length] == ',');
    }
    return msg;
}

Maekin__BusKey **
controller_buskeys_msgs (controller_buskeys_t *self, int64_t now, zlistx_t *arena, size_t *count)
{
    zlistx_t *list = controller_buskeys_list (self, NULL, now);
    Maekin__BusKey **msgs =
        (Maekin__BusKey **) zmalloc ((zlistx_size (list) + 1) * sizeof (Maekin__BusKey *));
    zlistx_add_end (arena, msgs);
    *count = 0;
    for (store_buskey_t *key = (store_buskey_t *) zlistx_first (list); key;
         key = (store_buskey_t *) zlistx_next (list))
        msgs[(*count)++] = controller_buskeys_msg (key, arena);
    zlistx_destroy (&list);
    return msgs;
}

const uint8_t *
controller_buskeys_digest (controller_buskeys_t *self, int64_t now)
{
    if (self->digested && now < self->digest_until)
        return self->digest;
    zlistx_t *arena = zlistx_new ();
    zlistx_set_destructor (arena, (zlistx_destructor_fn *) zstr_free);
    size_t count;
    Maekin__BusKey **msgs = controller_buskeys_msgs (self, now, arena, &count);
    mk_buskey_digest (msgs, count, self->digest);
    zlistx_destroy (&arena);
    //  Until the first live key that expires does.
    self->digest_until = INT64_MAX;
    for (store_buskey_t *key = (store_buskey_t *) zhashx_first (self->keys); key;
         key = (store_buskey_t *) zhashx_next (self->keys))
        if (s_live (key, now) && key->expires && key->expires < self->digest_until)
            self->digest_until = key->expires;
    self->digested = true;
    return self->digest;
}

//  ---------------------------------------------------------------- self-test

void
controller_buskeys_test (bool verbose)
{
    (void) verbose;
    zcert_t *certs[3];
    for (int i = 0; i < 3; i++)
        certs[i] = zcert_new ();
    store_buskey_t rows[3] = {
        {.name = "agent-1",
         .role = MAEKIN__BUS_ROLE__BUS_ROLE_NODE,
         .hosts = "n1,n2",
         .created = 1},
        {.name = "maekinsh", .role = MAEKIN__BUS_ROLE__BUS_ROLE_CLIENT, .created = 2},
        {.name = "agent-1",
         .role = MAEKIN__BUS_ROLE__BUS_ROLE_NODE,
         .hosts = "n1,n2",
         .created = 3,
         .expires = 1000}};
    for (int i = 0; i < 3; i++)
        snprintf (rows[i].key, sizeof rows[i].key, "%s", zcert_public_txt (certs[i]));
    //  The digest is independent of the order keys were put in.
    controller_buskeys_t *one = controller_buskeys_new ();
    controller_buskeys_t *two = controller_buskeys_new ();
    uint8_t empty[MK_BUSKEY_DIGEST];
    memcpy (empty, controller_buskeys_digest (one, 500), sizeof empty);
    for (int i = 0; i < 3; i++) {
        controller_buskeys_put (one, &rows[i]);
        controller_buskeys_put (two, &rows[2 - i]);
    }
    uint8_t before[MK_BUSKEY_DIGEST];
    memcpy (before, controller_buskeys_digest (one, 500), sizeof before);
    assert (memcmp (before, controller_buskeys_digest (two, 500), sizeof before) == 0);
    assert (memcmp (before, empty, sizeof empty) != 0);
    assert (controller_buskeys_count (one) == 3 && controller_buskeys_hosts (one) == 4);
    //  The hosts node keys serve: each of a key's hosts, a client key's none.
    zhashx_t *served = controller_buskeys_served (one, 500);
    assert (zhashx_size (served) == 2 && zhashx_lookup (served, "n1")
            && zhashx_lookup (served, "n2"));
    zhashx_destroy (&served);
    //  Live keys, by name, the one that works longest first.
    zlistx_t *list = controller_buskeys_list (one, NULL, 500);
    assert (zlistx_size (list) == 3);
    const store_buskey_t *first = (const store_buskey_t *) zlistx_first (list);
    assert (first->created == 1 && first->expires == 0 && streq (first->name, "agent-1"));
    assert (((const store_buskey_t *) zlistx_last (list))->created == 2);
    zlistx_destroy (&list);
    list = controller_buskeys_list (one, "maekinsh", 500);
    assert (zlistx_size (list) == 1);
    zlistx_destroy (&list);
    //  As messages: the hosts split again.
    zlistx_t *arena = zlistx_new ();
    zlistx_set_destructor (arena, (zlistx_destructor_fn *) zstr_free);
    size_t count;
    Maekin__BusKey **msgs = controller_buskeys_msgs (one, 500, arena, &count);
    assert (count == 3 && msgs[1]->n_hosts == 2 && streq (msgs[1]->hosts[1], "n2")
            && msgs[1]->expires == 1000 && msgs[2]->n_hosts == 0 && !msgs[3]);
    zlistx_destroy (&arena);
    //  A key that expires leaves the digest by itself: the same as a list without it.
    assert (controller_buskeys_expired (one, 999) == 0
            && controller_buskeys_expired (one, 1000) == 1);
    uint8_t later[MK_BUSKEY_DIGEST];
    memcpy (later, controller_buskeys_digest (one, 1000), sizeof later);
    assert (memcmp (later, before, sizeof later) != 0);
    controller_buskeys_drop_expired (two, 1000);
    assert (controller_buskeys_count (two) == 2 && controller_buskeys_hosts (two) == 2);
    assert (memcmp (later, controller_buskeys_digest (two, 1000), sizeof later) == 0);
    //  A change of expiry is a change; a name dropped takes every key of it.
    controller_buskeys_set_expires (two, rows[1].key, 5000);
    assert (memcmp (later, controller_buskeys_digest (two, 1000), sizeof later) != 0);
    controller_buskeys_put (two, &rows[1]); //  put back as it was
    assert (memcmp (later, controller_buskeys_digest (two, 1000), sizeof later) == 0);
    controller_buskeys_drop_name (one, "agent-1");
    assert (controller_buskeys_count (one) == 1 && controller_buskeys_hosts (one) == 0);
    assert (controller_buskeys_get (one, rows[1].key)
            && !controller_buskeys_get (one, rows[0].key));
    controller_buskeys_drop_name (one, "maekinsh");
    assert (memcmp (empty, controller_buskeys_digest (one, 1000), sizeof empty) == 0);
    controller_buskeys_destroy (&one);
    controller_buskeys_destroy (&two);
    assert (!one && !two);
    for (int i = 0; i < 3; i++)
        zcert_destroy (&certs[i]);
}
