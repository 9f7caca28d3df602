/*  controller_pools: the IP pools in memory. See controller_pools.h. */
#include "controller_pools.h"

#include "mk_name.h"

struct _controller_pools_t {
    zhashx_t *pools; //  name -> pool_t *
    zhashx_t *by_vm; //  a VM's key -> held_t * (owned): the address it holds
};

typedef struct {
    pool_t *pool;
    char ip[MK_IP_TEXT];
    char mac[20];
} held_t;

static void
s_held_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

static void
s_pool_destroy (void **item)
{
    pool_t *pool = (pool_t *) *item;
    if (pool)
        zhashx_destroy (&pool->leases);
    free (pool);
    *item = NULL;
}

controller_pools_t *
controller_pools_new (void)
{
    controller_pools_t *self = (controller_pools_t *) zmalloc (sizeof (controller_pools_t));
    self->pools = zhashx_new ();
    zhashx_set_destructor (self->pools, s_pool_destroy);
    self->by_vm = zhashx_new ();
    zhashx_set_destructor (self->by_vm, s_held_destroy);
    return self;
}

void
controller_pools_destroy (controller_pools_t **self_p)
{
    controller_pools_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->by_vm);
    zhashx_destroy (&self->pools);
    free (self);
    *self_p = NULL;
}

//  Whether two ranges share an address.
static bool
s_overlap (const pool_range_t *a, const pool_range_t *b)
{
    return a->first.family == b->first.family && mk_ip_cmp (&a->first, &b->last) <= 0
           && mk_ip_cmp (&b->first, &a->last) <= 0;
}

const char *
controller_pools_check (controller_pools_t *self, const pool_def_t *def, char *why, size_t size)
{
    const char *wrong = mk_name_check (def->name);
    if (wrong) {
        snprintf (why, size, "a pool's name %s", wrong);
        return why;
    }
    if (zhashx_lookup (self->pools, def->name)) {
        snprintf (why, size, "a pool named '%s' exists already", def->name);
        return why;
    }
    mk_ip_t net, address;
    int prefix;
    if ((wrong = mk_ip_net_parse (def->network, &net, &prefix))) {
        snprintf (why, size, "network '%s': %s", def->network, wrong);
        return why;
    }
    if (*def->gateway) {
        if (mk_ip_parse (def->gateway, &address) != 0 || !mk_ip_in_net (&address, &net, prefix)
            || mk_ip_reserved (&address, &net, prefix)) {
            snprintf (why, size, "gateway '%s' is not a host's address in the network %s",
                      def->gateway, def->network);
            return why;
        }
    }
    char dns[sizeof def->dns];
    snprintf (dns, sizeof dns, "%s", def->dns);
    size_t servers = 0;
    for (char *save = NULL, *server = strtok_r (dns, ",", &save); server;
         server = strtok_r (NULL, ",", &save)) {
        if (mk_ip_parse (server, &address) != 0) {
            snprintf (why, size, "DNS server '%s' is not an IPv4 or IPv6 address", server);
            return why;
        }
        if (++servers > POOL_DNS_MAX) {
            snprintf (why, size, "at most %d DNS servers", POOL_DNS_MAX);
            return why;
        }
    }
    size_t length = strlen (def->bridge);
    if (!length || length > POOL_BRIDGE_MAX || strcspn (def->bridge, "/: \t") != length) {
        snprintf (why, size,
                  "bridge '%s' is not a host interface's name (1 to %d characters, no '/', ':' "
                  "or blank)",
                  def->bridge, POOL_BRIDGE_MAX);
        return why;
    }
    return NULL;
}

pool_t *
controller_pools_add (controller_pools_t *self, const pool_def_t *def)
{
    pool_t *pool = (pool_t *) zmalloc (sizeof (pool_t));
    pool->def = *def;
    const char *wrong = mk_ip_net_parse (def->network, &pool->net, &pool->prefix);
    assert (!wrong); //  checked before
    pool->leases = zhashx_new ();
    zhashx_insert (self->pools, def->name, pool);
    return pool;
}

pool_t *
controller_pools_get (controller_pools_t *self, const char *name)
{
    return name ? (pool_t *) zhashx_lookup (self->pools, name) : NULL;
}

void
controller_pools_drop (controller_pools_t *self, const char *name)
{
    pool_t *pool = controller_pools_get (self, name);
    if (!pool)
        return;
    for (const char *vm = (const char *) zhashx_first (pool->leases); vm;
         vm = (const char *) zhashx_next (pool->leases))
        zhashx_delete (self->by_vm, vm);
    zhashx_delete (self->pools, name);
}

size_t
controller_pools_count (controller_pools_t *self)
{
    return zhashx_size (self->pools);
}

static int
s_by_name (const void *a, const void *b)
{
    return strcmp (((const pool_t *) a)->def.name, ((const pool_t *) b)->def.name);
}

zlistx_t *
controller_pools_list (controller_pools_t *self)
{
    zlistx_t *list = zlistx_new ();
    zlistx_set_comparator (list, (zlistx_comparator_fn *) s_by_name);
    for (pool_t *pool = (pool_t *) zhashx_first (self->pools); pool;
         pool = (pool_t *) zhashx_next (self->pools))
        zlistx_add_end (list, pool);
    zlistx_sort (list);
    return list;
}

const char *
controller_pools_range_check (controller_pools_t *self, const pool_t *pool, const char *first,
                              const char *last, pool_range_t *range, char *why, size_t size)
{
    if (mk_ip_parse (first, &range->first) != 0 || mk_ip_parse (last, &range->last) != 0) {
        snprintf (why, size, "a range is FIRST-LAST, two addresses ('%s' to '%s' is not)",
                  first ? first : "", last ? last : "");
        return why;
    }
    if (mk_ip_span (&range->first, &range->last) == 0) {
        snprintf (why, size, "range %s-%s ends before it starts (or spans two families)", first,
                  last);
        return why;
    }
    if (!mk_ip_in_net (&range->first, &pool->net, pool->prefix)
        || !mk_ip_in_net (&range->last, &pool->net, pool->prefix)) {
        snprintf (why, size, "range %s-%s is not inside pool '%s''s network %s", first, last,
                  pool->def.name, pool->def.network);
        return why;
    }
    if (mk_ip_reserved (&range->first, &pool->net, pool->prefix)
        || mk_ip_reserved (&range->last, &pool->net, pool->prefix)) {
        snprintf (why, size,
                  "range %s-%s holds the network's own address or its broadcast address, "
                  "which no host may have",
                  first, last);
        return why;
    }
    mk_ip_t gateway;
    if (*pool->def.gateway && mk_ip_parse (pool->def.gateway, &gateway) == 0
        && s_overlap (range, &(pool_range_t){gateway, gateway})) {
        snprintf (why, size, "range %s-%s holds the gateway %s, which a VM would be given", first,
                  last, pool->def.gateway);
        return why;
    }
    if (pool->range_count == POOL_RANGES_MAX) {
        snprintf (why, size, "pool '%s' has %d ranges, as many as a pool may have", pool->def.name,
                  POOL_RANGES_MAX);
        return why;
    }
    for (const pool_t *other = (const pool_t *) zhashx_first (self->pools); other;
         other = (const pool_t *) zhashx_next (self->pools))
        for (size_t i = 0; i < other->range_count; i++)
            if (s_overlap (range, &other->ranges[i])) {
                char a[MK_IP_TEXT], b[MK_IP_TEXT];
                mk_ip_format (&other->ranges[i].first, a);
                mk_ip_format (&other->ranges[i].last, b);
                snprintf (why, size, "range %s-%s overlaps pool '%s''s range %s-%s", first, last,
                          other->def.name, a, b);
                return why;
            }
    return NULL;
}

void
controller_pools_range_add (pool_t *pool, const pool_range_t *range)
{
    assert (pool->range_count < POOL_RANGES_MAX);
    //  In order, so addresses are handed out from the first range on.
    size_t at = pool->range_count;
    while (at > 0 && mk_ip_cmp (&pool->ranges[at - 1].first, &range->first) > 0) {
        pool->ranges[at] = pool->ranges[at - 1];
        at--;
    }
    pool->ranges[at] = *range;
    pool->range_count++;
}

int
controller_pools_range_remove (pool_t *pool, const char *first, const char *last,
                               const char **holder)
{
    mk_ip_t a, b;
    bool any_last = !last || !*last; //  a range named by its first address alone
    if (mk_ip_parse (first, &a) != 0 || (!any_last && mk_ip_parse (last, &b) != 0))
        return -1;
    for (size_t i = 0; i < pool->range_count; i++) {
        pool_range_t *range = &pool->ranges[i];
        if (mk_ip_cmp (&range->first, &a) || (!any_last && mk_ip_cmp (&range->last, &b)))
            continue;
        for (const char *vm = (const char *) zhashx_first (pool->leases); vm;
             vm = (const char *) zhashx_next (pool->leases)) {
            mk_ip_t held;
            if (mk_ip_parse ((const char *) zhashx_cursor (pool->leases), &held) == 0
                && s_overlap (range, &(pool_range_t){held, held})) {
                *holder = vm;
                return -2;
            }
        }
        memmove (range, range + 1, (pool->range_count - i - 1) * sizeof *range);
        pool->range_count--;
        return 0;
    }
    return -1;
}

uint64_t
controller_pools_size (const pool_t *pool)
{
    uint64_t total = 0;
    for (size_t i = 0; i < pool->range_count; i++) {
        uint64_t span = mk_ip_span (&pool->ranges[i].first, &pool->ranges[i].last);
        total = total > UINT64_MAX - span ? UINT64_MAX : total + span;
    }
    return total;
}

size_t
controller_pools_used (const pool_t *pool)
{
    return zhashx_size (pool->leases);
}

static bool
s_in_ranges (const pool_t *pool, const mk_ip_t *ip)
{
    for (size_t i = 0; i < pool->range_count; i++)
        if (s_overlap (&pool->ranges[i], &(pool_range_t){*ip, *ip}))
            return true;
    return false;
}

const char *
controller_pools_take (controller_pools_t *self, pool_t *pool, const char *vm, const char *mac,
                       const char *want, char ip[MK_IP_TEXT], char *why, size_t size)
{
    mk_ip_t address;
    if (want && *want) {
        if (mk_ip_parse (want, &address) != 0) {
            snprintf (why, size, "'%s' is not an IPv4 or IPv6 address", want);
            return why;
        }
        mk_ip_format (&address, ip); //  its usual text: the key of its lease
        if (!s_in_ranges (pool, &address)) {
            snprintf (why, size, "%s is not in a range of pool '%s' (maekinsh pool show %s)", ip,
                      pool->def.name, pool->def.name);
            return why;
        }
        const char *holder = (const char *) zhashx_lookup (pool->leases, ip);
        if (holder) {
            snprintf (why, size, "%s is VM '%s''s already", ip, holder);
            return why;
        }
        controller_pools_hold (self, pool, ip, vm, mac);
        return NULL;
    }
    //  The lowest free address: ranges in order, each address until one is free. Held
    //  addresses are skipped one by one; a pool of N held ones costs N lookups for the
    //  next VM, which is what a burst of creates into a full-ish /16 would feel.
    for (size_t i = 0; i < pool->range_count; i++) {
        address = pool->ranges[i].first;
        for (;;) {
            mk_ip_format (&address, ip);
            if (!zhashx_lookup (pool->leases, ip)) {
                controller_pools_hold (self, pool, ip, vm, mac);
                return NULL;
            }
            if (mk_ip_cmp (&address, &pool->ranges[i].last) >= 0 || mk_ip_add (&address, 1) != 0)
                break;
        }
    }
    snprintf (why, size,
              "pool '%s' has no free address: its %zu are held (add a range: maekinsh pool "
              "range add %s FIRST-LAST)",
              pool->def.name, controller_pools_used (pool), pool->def.name);
    return why;
}

void
controller_pools_hold (controller_pools_t *self, pool_t *pool, const char *ip, const char *vm,
                       const char *mac)
{
    zhashx_update (pool->leases, ip, strdup (vm));
    zhashx_freefn (pool->leases, ip, free);
    held_t *held = (held_t *) zmalloc (sizeof (held_t));
    held->pool = pool;
    snprintf (held->ip, sizeof held->ip, "%s", ip);
    snprintf (held->mac, sizeof held->mac, "%s", mac ? mac : "");
    zhashx_update (self->by_vm, vm, held);
}

void
controller_pools_give (controller_pools_t *self, pool_t *pool, const char *ip)
{
    const char *vm = (const char *) zhashx_lookup (pool->leases, ip);
    if (vm)
        zhashx_delete (self->by_vm, vm);
    zhashx_delete (pool->leases, ip);
}

const char *
controller_pools_ip_of (controller_pools_t *self, const char *vm, pool_t **pool_p)
{
    const held_t *held = (const held_t *) zhashx_lookup (self->by_vm, vm);
    if (pool_p)
        *pool_p = held ? held->pool : NULL;
    return held ? held->ip : NULL;
}

static int
s_by_address (const void *a, const void *b)
{
    const pool_lease_t *x = (const pool_lease_t *) a, *y = (const pool_lease_t *) b;
    int by_pool = strcmp (x->pool->def.name, y->pool->def.name);
    return by_pool ? by_pool : mk_ip_cmp (&x->address, &y->address);
}

pool_lease_t *
controller_pools_leases (controller_pools_t *self, const pool_t *only, size_t *count)
{
    pool_lease_t *leases =
        (pool_lease_t *) zmalloc ((zhashx_size (self->by_vm) + 1) * sizeof (pool_lease_t));
    *count = 0;
    for (const held_t *held = (const held_t *) zhashx_first (self->by_vm); held;
         held = (const held_t *) zhashx_next (self->by_vm)) {
        if (only && held->pool != only)
            continue;
        pool_lease_t *lease = &leases[(*count)++];
        lease->pool = held->pool;
        lease->ip = held->ip;
        lease->vm = (const char *) zhashx_cursor (self->by_vm);
        lease->mac = held->mac;
        if (mk_ip_parse (held->ip, &lease->address) != 0)
            memset (&lease->address, 0, sizeof lease->address);
    }
    qsort (leases, *count, sizeof *leases, s_by_address);
    return leases;
}

static void
s_load_pool (const void *row, void *arg)
{
    controller_pools_add ((controller_pools_t *) arg, (const pool_def_t *) row);
}

static void
s_load_range (const void *row, void *arg)
{
    const store_range_t *stored = (const store_range_t *) row;
    pool_t *pool = controller_pools_get ((controller_pools_t *) arg, stored->pool);
    pool_range_t range;
    if (pool && pool->range_count < POOL_RANGES_MAX
        && mk_ip_parse (stored->first, &range.first) == 0
        && mk_ip_parse (stored->last, &range.last) == 0)
        controller_pools_range_add (pool, &range);
}

static void
s_load_lease (const void *row, void *arg)
{
    const store_lease_t *lease = (const store_lease_t *) row;
    controller_pools_t *self = (controller_pools_t *) arg;
    pool_t *pool = controller_pools_get (self, lease->pool);
    if (pool)
        controller_pools_hold (self, pool, lease->ip, lease->vm, lease->mac);
}

int
controller_pools_load (controller_pools_t *self, mk_db_t *db)
{
    zhashx_purge (self->by_vm);
    zhashx_purge (self->pools);
    if (store_pool_all (db, s_load_pool, self) < 0 || store_range_all (db, s_load_range, self) < 0
        || store_lease_all (db, s_load_lease, self) < 0)
        return -1;
    return 0;
}

//  ---------------------------------------------------------------- self-test

static pool_def_t
s_def (const char *name, const char *network, const char *gateway, const char *dns,
       const char *bridge)
{
    pool_def_t def;
    memset (&def, 0, sizeof def);
    snprintf (def.name, sizeof def.name, "%s", name);
    snprintf (def.network, sizeof def.network, "%s", network);
    snprintf (def.gateway, sizeof def.gateway, "%s", gateway);
    snprintf (def.dns, sizeof def.dns, "%s", dns);
    snprintf (def.bridge, sizeof def.bridge, "%s", bridge);
    return def;
}

static void
s_expect (const char *got, const char *part)
{
    if (!got || !strstr (got, part))
        fprintf (stderr, "controller_pools: '%s', wanted '%s'\n", got ? got : "(null)", part);
    assert (got && strstr (got, part));
}

static void
s_add_range (controller_pools_t *pools, pool_t *pool, const char *first, const char *last)
{
    pool_range_t range;
    char why[256];
    const char *wrong =
        controller_pools_range_check (pools, pool, first, last, &range, why, sizeof why);
    if (wrong)
        fprintf (stderr, "controller_pools: %s\n", wrong);
    assert (!wrong);
    controller_pools_range_add (pool, &range);
}

void
controller_pools_test (bool verbose)
{
    controller_pools_t *pools = controller_pools_new ();
    char why[256];
    pool_range_t range;

    //  Definitions refused, each with its reason.
    pool_def_t def = s_def ("lab", "10.88.0.0/24", "10.88.0.1", "10.88.0.1,fd00::53", "mkbr0");
    assert (controller_pools_check (pools, &def, why, sizeof why) == NULL);
    pool_def_t bad = def;
    snprintf (bad.name, sizeof bad.name, "Lab!");
    s_expect (controller_pools_check (pools, &bad, why, sizeof why), "a pool's name");
    bad = def;
    snprintf (bad.network, sizeof bad.network, "10.88.0.1/24");
    s_expect (controller_pools_check (pools, &bad, why, sizeof why), "host bits");
    bad = def;
    snprintf (bad.gateway, sizeof bad.gateway, "10.89.0.1");
    s_expect (controller_pools_check (pools, &bad, why, sizeof why),
              "gateway '10.89.0.1' is not a host's address in the network 10.88.0.0/24");
    snprintf (bad.gateway, sizeof bad.gateway, "10.88.0.255");
    s_expect (controller_pools_check (pools, &bad, why, sizeof why), "not a host's address");
    bad = def;
    snprintf (bad.dns, sizeof bad.dns, "10.88.0.1,dns.example");
    s_expect (controller_pools_check (pools, &bad, why, sizeof why), "DNS server 'dns.example'");
    snprintf (bad.dns, sizeof bad.dns, "1.1.1.1,1.0.0.1,8.8.8.8,8.8.4.4,9.9.9.9");
    s_expect (controller_pools_check (pools, &bad, why, sizeof why), "at most 4 DNS");
    bad = def;
    snprintf (bad.bridge, sizeof bad.bridge, "br/0");
    s_expect (controller_pools_check (pools, &bad, why, sizeof why), "not a host interface");
    bad.bridge[0] = 0;
    s_expect (controller_pools_check (pools, &bad, why, sizeof why), "not a host interface");

    pool_t *lab = controller_pools_add (pools, &def);
    s_expect (controller_pools_check (pools, &def, why, sizeof why), "exists already");
    assert (controller_pools_get (pools, "lab") == lab && controller_pools_count (pools) == 1);

    //  Ranges refused, each with its reason.
    s_expect (
        controller_pools_range_check (pools, lab, "10.88.0.10", "nowhere", &range, why, sizeof why),
        "FIRST-LAST");
    s_expect (controller_pools_range_check (pools, lab, "10.88.0.20", "10.88.0.10", &range, why,
                                            sizeof why),
              "ends before it starts");
    s_expect (
        controller_pools_range_check (pools, lab, "10.88.0.10", "fd00::1", &range, why, sizeof why),
        "ends before it starts");
    s_expect (controller_pools_range_check (pools, lab, "10.88.0.200", "10.88.1.10", &range, why,
                                            sizeof why),
              "not inside pool 'lab''s network 10.88.0.0/24");
    s_expect (controller_pools_range_check (pools, lab, "10.88.0.0", "10.88.0.9", &range, why,
                                            sizeof why),
              "the network's own address");
    s_expect (controller_pools_range_check (pools, lab, "10.88.0.250", "10.88.0.255", &range, why,
                                            sizeof why),
              "broadcast");
    s_expect (controller_pools_range_check (pools, lab, "10.88.0.1", "10.88.0.5", &range, why,
                                            sizeof why),
              "holds the gateway 10.88.0.1");

    //  Three addresses; taken in order; none twice; exhausted with the reason.
    s_add_range (pools, lab, "10.88.0.100", "10.88.0.102");
    assert (controller_pools_size (lab) == 3 && controller_pools_used (lab) == 0);
    s_expect (controller_pools_range_check (pools, lab, "10.88.0.90", "10.88.0.100", &range, why,
                                            sizeof why),
              "overlaps pool 'lab''s range 10.88.0.100-10.88.0.102");
    char ip[MK_IP_TEXT];
    assert (controller_pools_take (pools, lab, "lab:a", "", "", ip, why, sizeof why) == NULL);
    assert (streq (ip, "10.88.0.100"));
    pool_t *of = NULL;
    assert (streq (controller_pools_ip_of (pools, "lab:a", &of), "10.88.0.100") && of == lab);
    assert (!controller_pools_ip_of (pools, "lab:nobody", &of) && !of);
    assert (controller_pools_take (pools, lab, "lab:b", "", "10.88.0.102", ip, why, sizeof why)
            == NULL);
    assert (streq (ip, "10.88.0.102"));
    s_expect (controller_pools_take (pools, lab, "lab:c", "", "10.88.0.102", ip, why, sizeof why),
              "10.88.0.102 is VM 'lab:b''s already");
    s_expect (controller_pools_take (pools, lab, "lab:c", "", "10.88.0.50", ip, why, sizeof why),
              "10.88.0.50 is not in a range of pool 'lab'");
    s_expect (controller_pools_take (pools, lab, "lab:c", "", "10.88.0.999", ip, why, sizeof why),
              "not an IPv4 or IPv6 address");
    assert (controller_pools_take (pools, lab, "lab:c", "", "", ip, why, sizeof why) == NULL);
    assert (streq (ip, "10.88.0.101"));
    s_expect (controller_pools_take (pools, lab, "lab:d", "", "", ip, why, sizeof why),
              "pool 'lab' has no free address: its 3 are held");
    assert (controller_pools_used (lab) == 3);
    controller_pools_hold (pools, lab, "10.88.0.101", "lab:c", "52:54:00:00:00:0c");
    size_t count;
    pool_lease_t *leases = controller_pools_leases (pools, lab, &count);
    assert (count == 3 && streq (leases[0].ip, "10.88.0.100") && streq (leases[0].vm, "lab:a"));
    assert (streq (leases[1].vm, "lab:c") && streq (leases[1].mac, "52:54:00:00:00:0c"));
    assert (streq (leases[2].ip, "10.88.0.102") && leases[2].pool == lab);
    free (leases);

    //  A range added widens the pool; one held cannot go; given back, the address is free.
    s_add_range (pools, lab, "10.88.0.20", "10.88.0.21");
    assert (controller_pools_size (lab) == 5);
    assert (controller_pools_take (pools, lab, "lab:d", "", "", ip, why, sizeof why) == NULL);
    assert (streq (ip, "10.88.0.20")); //  ranges in order of their first address
    const char *holder = NULL;
    assert (controller_pools_range_remove (lab, "10.88.0.100", "10.88.0.102", &holder) == -2);
    assert (holder && strncmp (holder, "lab:", 4) == 0);
    assert (controller_pools_range_remove (lab, "10.88.0.100", "10.88.0.101", &holder) == -1);
    holder = NULL;
    assert (controller_pools_range_remove (lab, "10.88.0.100", "", &holder) == -2 && holder);
    controller_pools_give (pools, lab, "10.88.0.20");
    assert (controller_pools_range_remove (lab, "10.88.0.20", "10.88.0.21", &holder) == 0);
    assert (controller_pools_size (lab) == 3 && controller_pools_used (lab) == 3);
    controller_pools_give (pools, lab, "10.88.0.101");
    assert (!controller_pools_ip_of (pools, "lab:c", NULL)); //  lab:c held .101
    assert (controller_pools_take (pools, lab, "lab:e", "", "", ip, why, sizeof why) == NULL);
    assert (streq (ip, "10.88.0.101"));

    //  A second pool on the same network may not overlap the first; IPv6 works alike.
    pool_def_t other = s_def ("ops", "10.88.0.0/16", "", "", "mkbr1");
    assert (controller_pools_check (pools, &other, why, sizeof why) == NULL);
    pool_t *ops = controller_pools_add (pools, &other);
    s_expect (controller_pools_range_check (pools, ops, "10.88.0.102", "10.88.0.110", &range, why,
                                            sizeof why),
              "overlaps pool 'lab''s range");
    s_add_range (pools, ops, "10.88.1.1", "10.88.1.10");
    pool_def_t six = s_def ("six", "fd00:88::/64", "fd00:88::1", "", "mkbr6");
    assert (controller_pools_check (pools, &six, why, sizeof why) == NULL);
    pool_t *v6 = controller_pools_add (pools, &six);
    s_add_range (pools, v6, "fd00:88::ffff:ffff:ffff:fffe", "fd00:88::ffff:ffff:ffff:ffff");
    assert (controller_pools_take (pools, v6, "six:a", "", "", ip, why, sizeof why) == NULL);
    assert (streq (ip, "fd00:88::ffff:ffff:ffff:fffe"));
    assert (controller_pools_take (pools, v6, "six:b", "", "", ip, why, sizeof why) == NULL);
    assert (streq (ip, "fd00:88::ffff:ffff:ffff:ffff"));
    s_expect (controller_pools_take (pools, v6, "six:c", "", "", ip, why, sizeof why),
              "no free address");
    //  An address asked for in another spelling is the same address.
    controller_pools_give (pools, v6, "fd00:88::ffff:ffff:ffff:ffff");
    s_expect (controller_pools_take (pools, v6, "six:c", "", "FD00:88:0::FFFF:FFFF:FFFF:FFFE", ip,
                                     why, sizeof why),
              "is VM 'six:a''s already");

    zlistx_t *list = controller_pools_list (pools);
    assert (zlistx_size (list) == 3);
    assert (streq (((pool_t *) zlistx_first (list))->def.name, "lab"));
    assert (streq (((pool_t *) zlistx_next (list))->def.name, "ops"));
    zlistx_destroy (&list);
    controller_pools_drop (pools, "ops");
    assert (!controller_pools_get (pools, "ops") && controller_pools_count (pools) == 2);
    controller_pools_destroy (&pools);
    assert (!pools);
    if (verbose)
        printf ("controller_pools: ok\n");
}
