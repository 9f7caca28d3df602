/*  broker_keys: who may do what on the bus (broker_keys.h). */
#include "broker_keys.h"

#include "mk_curve.h"

#define DIGEST_MAX 64

struct _broker_key_t {
    char key[MK_CURVE_KEY_TEXT + 1];
    char *name;
    Maekin__BusRole role;
    char **hosts;
    size_t host_count;
    int64_t expires; //  unix ms, 0: never
    bool fixed;      //  the configuration's: a push leaves it
};

struct _broker_keys_t {
    zhashx_t *keys; //  Z85 key -> broker_key_t (owned)
    uint8_t digest[DIGEST_MAX];
    size_t digest_size;
    int64_t next_expiry; //  the earliest expiry in the table (unix ms), 0: none
};

static void
s_key_free (void **item)
{
    broker_key_t *key = (broker_key_t *) *item;
    for (size_t i = 0; i < key->host_count; i++)
        free (key->hosts[i]);
    free (key->hosts);
    free (key->name);
    free (key);
    *item = NULL;
}

static bool
s_key_valid (const char *text)
{
    uint8_t bytes[32];
    return text && strlen (text) == MK_CURVE_KEY_TEXT && zmq_z85_decode (bytes, text) != NULL;
}

static void
s_insert (broker_keys_t *self, broker_key_t *key)
{
    zhashx_update (self->keys, key->key, key);
    if (key->expires && (!self->next_expiry || key->expires < self->next_expiry))
        self->next_expiry = key->expires;
}

broker_keys_t *
broker_keys_new (const char *controller_keys, char **error)
{
    *error = NULL;
    broker_keys_t *self = (broker_keys_t *) zmalloc (sizeof (broker_keys_t));
    assert (self);
    self->keys = zhashx_new ();
    zhashx_set_destructor (self->keys, s_key_free);
    char *list = strdup (controller_keys), *rest = list, *item;
    while (!*error && (item = strsep (&rest, ","))) {
        if (!*item)
            continue;
        broker_key_t *key = (broker_key_t *) zmalloc (sizeof (broker_key_t));
        if (mk_curve_public (item, key->key, error) != 0) {
            free (key);
            break;
        }
        key->name = strdup ("controller");
        key->role = MAEKIN__BUS_ROLE__BUS_ROLE_CONTROLLER;
        key->fixed = true;
        s_insert (self, key);
    }
    free (list);
    if (!*error && zhashx_size (self->keys) == 0)
        *error = strdup ("no controller key: the broker must know the controller's public key");
    if (*error)
        broker_keys_destroy (&self);
    return self;
}

void
broker_keys_destroy (broker_keys_t **self_p)
{
    assert (self_p);
    broker_keys_t *self = *self_p;
    if (self) {
        zhashx_destroy (&self->keys);
        free (self);
        *self_p = NULL;
    }
}

//  Why an entry of a push is no good, or NULL.
static char *
s_entry_error (const Maekin__BusKey *entry)
{
    if (!s_key_valid (entry->key))
        return zsys_sprintf ("'%s' is not a public key (40 characters of Z85)", entry->key);
    if (!*entry->name)
        return zsys_sprintf ("the key %s has no name", entry->key);
    if (entry->role != MAEKIN__BUS_ROLE__BUS_ROLE_NODE
        && entry->role != MAEKIN__BUS_ROLE__BUS_ROLE_CLIENT)
        return zsys_sprintf ("the key '%s' has role %d: the list holds node and client keys "
                             "(the controller's are the broker's configuration)",
                             entry->name, (int) entry->role);
    if (entry->role == MAEKIN__BUS_ROLE__BUS_ROLE_NODE && entry->n_hosts == 0)
        return zsys_sprintf ("the node key '%s' has no host", entry->name);
    for (size_t i = 0; i < entry->n_hosts; i++)
        if (!*entry->hosts[i] || strlen (entry->hosts[i]) > 63 - strlen ("node/"))
            return zsys_sprintf ("the node key '%s' has a host name that is empty or too long",
                                 entry->name);
    return NULL;
}

int
broker_keys_take (broker_keys_t *self, const Maekin__BusKeys *keys, char **error)
{
    *error = NULL;
    if (keys->digest.len > DIGEST_MAX) {
        *error = zsys_sprintf ("a digest of %zu bytes (at most %d)", keys->digest.len, DIGEST_MAX);
        return -1;
    }
    for (size_t i = 0; i < keys->n_keys && !*error; i++)
        *error = s_entry_error (keys->keys[i]);
    if (*error)
        return -1;
    //  Who leaves: every pushed key not in the new list.
    zhashx_t *next = zhashx_new ();
    for (size_t i = 0; i < keys->n_keys; i++)
        zhashx_update (next, keys->keys[i]->key, (void *) keys->keys[i]);
    int removed = 0;
    zlistx_t *gone = zlistx_new ();
    for (broker_key_t *key = (broker_key_t *) zhashx_first (self->keys); key;
         key = (broker_key_t *) zhashx_next (self->keys))
        if (!key->fixed)
            zlistx_add_end (gone, key->key);
    for (char *text = (char *) zlistx_first (gone); text; text = (char *) zlistx_next (gone)) {
        removed += !zhashx_lookup (next, text);
        zhashx_delete (self->keys, text);
    }
    zlistx_destroy (&gone);
    zhashx_destroy (&next);
    self->next_expiry = 0;
    for (broker_key_t *key = (broker_key_t *) zhashx_first (self->keys); key;
         key = (broker_key_t *) zhashx_next (self->keys))
        if (key->expires && (!self->next_expiry || key->expires < self->next_expiry))
            self->next_expiry = key->expires;
    for (size_t i = 0; i < keys->n_keys; i++) {
        const Maekin__BusKey *entry = keys->keys[i];
        broker_key_t *fixed = (broker_key_t *) zhashx_lookup (self->keys, entry->key);
        if (fixed && fixed->fixed)
            continue; //  the configuration says what a controller's key is
        broker_key_t *key = (broker_key_t *) zmalloc (sizeof (broker_key_t));
        snprintf (key->key, sizeof key->key, "%s", entry->key);
        key->name = strdup (entry->name);
        key->role = entry->role;
        key->expires = entry->expires;
        key->host_count = entry->n_hosts;
        key->hosts = (char **) zmalloc ((entry->n_hosts + 1) * sizeof (char *));
        for (size_t j = 0; j < entry->n_hosts; j++)
            key->hosts[j] = strdup (entry->hosts[j]);
        s_insert (self, key);
    }
    memcpy (self->digest, keys->digest.data, keys->digest.len);
    self->digest_size = keys->digest.len;
    return removed;
}

const uint8_t *
broker_keys_digest (broker_keys_t *self, size_t *size)
{
    *size = self->digest_size;
    return self->digest;
}

const broker_key_t *
broker_keys_find (broker_keys_t *self, const char *key, int64_t now)
{
    if (!key)
        return NULL;
    broker_key_t *entry = (broker_key_t *) zhashx_lookup (self->keys, key);
    return entry && (!entry->expires || now < entry->expires) ? entry : NULL;
}

bool
broker_keys_expire (broker_keys_t *self, int64_t now)
{
    if (!self->next_expiry || now < self->next_expiry)
        return false;
    zlistx_t *expired = zlistx_new ();
    self->next_expiry = 0;
    for (broker_key_t *key = (broker_key_t *) zhashx_first (self->keys); key;
         key = (broker_key_t *) zhashx_next (self->keys)) {
        if (key->expires && key->expires <= now)
            zlistx_add_end (expired, key->key);
        else if (key->expires && (!self->next_expiry || key->expires < self->next_expiry))
            self->next_expiry = key->expires;
    }
    for (char *text = (char *) zlistx_first (expired); text;
         text = (char *) zlistx_next (expired)) {
        broker_key_t *key = (broker_key_t *) zhashx_lookup (self->keys, text);
        mk_info ("broker_keys: the key '%s' (%s) expired", key->name, text);
        zhashx_delete (self->keys, text);
    }
    bool any = zlistx_size (expired) > 0;
    zlistx_destroy (&expired);
    return any;
}

//  Whether name is "<prefix><one of the key's hosts>".
static bool
s_host_named (const broker_key_t *key, const char *prefix, const byte *name, size_t size)
{
    size_t length = strlen (prefix);
    if (size <= length || memcmp (name, prefix, length) != 0)
        return false;
    for (size_t i = 0; i < key->host_count; i++)
        if (strlen (key->hosts[i]) == size - length
            && memcmp (key->hosts[i], name + length, size - length) == 0)
            return true;
    return false;
}

bool
broker_key_may_send (const broker_key_t *key, const char *service)
{
    if (!key)
        return streq (service, BROKER_ENROL_SERVICE);
    return key->role == MAEKIN__BUS_ROLE__BUS_ROLE_CONTROLLER || streq (service, "cloud");
}

bool
broker_key_may_serve (const broker_key_t *key, const char *service)
{
    if (!key)
        return false;
    if (key->role == MAEKIN__BUS_ROLE__BUS_ROLE_CONTROLLER)
        return true;
    return key->role == MAEKIN__BUS_ROLE__BUS_ROLE_NODE
           && ((strncmp (service, "agent/", 6) == 0 && service[6])
               || s_host_named (key, "node/", (const byte *) service, strlen (service)));
}

bool
broker_key_may_publish (const broker_key_t *key, const byte *topic, size_t size)
{
    if (!key)
        return false;
    if (key->role == MAEKIN__BUS_ROLE__BUS_ROLE_CONTROLLER)
        return true;
    return key->role == MAEKIN__BUS_ROLE__BUS_ROLE_NODE
           && s_host_named (key, "metric.host.", topic, size);
}

bool
broker_key_is_controller (const broker_key_t *key)
{
    return key && key->role == MAEKIN__BUS_ROLE__BUS_ROLE_CONTROLLER;
}

const char *
broker_key_name (const broker_key_t *key)
{
    return key ? key->name : "a stranger";
}

//  ---------------------------------------------------------------- self-test

#define KEY_A ":K6B9vN-?=0y!X@9]jcen[Rwk&nPh(elCGV4UGoO"
#define KEY_B "p%9qts06$7pQ5k/H)9)oGt=PV3Sxgz?OEy$u=OQ5"
#define KEY_C ":hGmp4u4W.&X0.-Aq.Xrq9mJS^lpzmHUVBU:@{3."

void
broker_keys_test (bool verbose)
{
    char *error = NULL;
    assert (!broker_keys_new ("", &error) && strstr (error, "no controller key"));
    zstr_free (&error);
    assert (!broker_keys_new ("nonsense", &error) && strstr (error, "Z85"));
    zstr_free (&error);
    broker_keys_t *keys = broker_keys_new (KEY_A, &error);
    assert (keys && !error);
    const broker_key_t *controller = broker_keys_find (keys, KEY_A, 1);
    assert (broker_key_is_controller (controller));
    assert (broker_key_may_serve (controller, "cloud")
            && broker_key_may_send (controller, "node/x"));
    //  A stranger: the enrolment door alone.
    assert (!broker_keys_find (keys, KEY_B, 1) && !broker_keys_find (keys, NULL, 1));
    assert (broker_key_may_send (NULL, "enrol") && !broker_key_may_send (NULL, "cloud"));
    assert (!broker_key_may_serve (NULL, "enrol"));
    assert (!broker_key_may_publish (NULL, (const byte *) "metric.host.a", 13));

    //  A push: node B for hosts n1 and n2, client C expiring at 1000.
    char *hosts[] = {"n1", "n2"};
    Maekin__BusKey node = MAEKIN__BUS_KEY__INIT, client = MAEKIN__BUS_KEY__INIT;
    node.key = KEY_B;
    node.name = "node-b";
    node.role = MAEKIN__BUS_ROLE__BUS_ROLE_NODE;
    node.hosts = hosts;
    node.n_hosts = 2;
    client.key = KEY_C;
    client.name = "cli";
    client.role = MAEKIN__BUS_ROLE__BUS_ROLE_CLIENT;
    client.expires = 1000;
    Maekin__BusKey *entries[] = {&node, &client};
    Maekin__BusKeys push = MAEKIN__BUS_KEYS__INIT;
    push.keys = entries;
    push.n_keys = 2;
    push.full = true;
    push.digest.data = (uint8_t *) "12345678";
    push.digest.len = 8;
    assert (broker_keys_take (keys, &push, &error) == 0);
    size_t size;
    assert (memcmp (broker_keys_digest (keys, &size), "12345678", 8) == 0 && size == 8);
    const broker_key_t *b = broker_keys_find (keys, KEY_B, 1);
    assert (b && streq (broker_key_name (b), "node-b") && !broker_key_is_controller (b));
    assert (broker_key_may_serve (b, "node/n1") && broker_key_may_serve (b, "node/n2"));
    assert (broker_key_may_serve (b, "agent/x-1") && !broker_key_may_serve (b, "agent/"));
    assert (!broker_key_may_serve (b, "node/n3") && !broker_key_may_serve (b, "node/n"));
    assert (!broker_key_may_serve (b, "node/n12") && !broker_key_may_serve (b, "cloud"));
    assert (broker_key_may_send (b, "cloud") && !broker_key_may_send (b, "node/n1"));
    assert (!broker_key_may_send (b, "agent/x-1") && !broker_key_may_send (b, "bus/keys"));
    assert (broker_key_may_publish (b, (const byte *) "metric.host.n2", 14));
    assert (!broker_key_may_publish (b, (const byte *) "metric.host.n3", 14));
    assert (!broker_key_may_publish (b, (const byte *) "event.vm", 8));
    const broker_key_t *c = broker_keys_find (keys, KEY_C, 999);
    assert (c && broker_key_may_send (c, "cloud") && !broker_key_may_serve (c, "node/n1"));
    assert (!broker_key_may_publish (c, (const byte *) "metric.host.n1", 14));
    //  Past its expiry, a stranger; expire takes it off.
    assert (!broker_keys_find (keys, KEY_C, 1000));
    assert (!broker_keys_expire (keys, 999) && broker_keys_expire (keys, 1000));
    assert (!broker_keys_expire (keys, 5000));

    //  A malformed entry changes nothing; a controller key in the list is refused.
    client.key = "short";
    assert (broker_keys_take (keys, &push, &error) == -1 && strstr (error, "Z85"));
    zstr_free (&error);
    client.key = KEY_C;
    client.role = MAEKIN__BUS_ROLE__BUS_ROLE_CONTROLLER;
    assert (broker_keys_take (keys, &push, &error) == -1 && strstr (error, "configuration"));
    zstr_free (&error);
    node.n_hosts = 0;
    client.role = MAEKIN__BUS_ROLE__BUS_ROLE_CLIENT;
    assert (broker_keys_take (keys, &push, &error) == -1 && strstr (error, "no host"));
    zstr_free (&error);
    assert (broker_keys_find (keys, KEY_B, 1));

    //  The next push without B: B is a stranger at once; the controller stays.
    push.keys = &entries[1];
    push.n_keys = 1;
    client.expires = 0;
    assert (broker_keys_take (keys, &push, &error) == 1);
    assert (!broker_keys_find (keys, KEY_B, 1) && broker_keys_find (keys, KEY_C, 1));
    assert (broker_key_is_controller (broker_keys_find (keys, KEY_A, 1)));
    //  An empty list leaves the configuration's keys alone.
    push.n_keys = 0;
    assert (broker_keys_take (keys, &push, &error) == 1);
    assert (broker_keys_find (keys, KEY_A, 1) && !broker_keys_find (keys, KEY_C, 1));
    broker_keys_destroy (&keys);
    if (verbose)
        printf (" * roles, hosts, expiry and pushes\n");
}
