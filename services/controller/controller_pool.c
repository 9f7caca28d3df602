/*  controller_pool: the administrator's requests on IP pools (issue 21): create, list,
    show, delete, a range added or taken away. The pools are controller_pools' (in memory),
    written to the database first; what a pool may be is checked there. */
#include "controller_core.h"

#include "mk_name.h"

//  The pool as a message (what VIs it is given to, its use now).
static Maekin__Pool *
s_msg_pool (controller_t *self, const pool_t *pool)
{
    Maekin__Pool *msg = (Maekin__Pool *) controller_arena_new (self, sizeof (Maekin__Pool));
    maekin__pool__init (msg);
    msg->name = controller_arena_str (self, pool->def.name);
    msg->network = controller_arena_str (self, pool->def.network);
    msg->gateway = controller_arena_str (self, pool->def.gateway);
    msg->bridge = controller_arena_str (self, pool->def.bridge);
    msg->created = pool->def.created;
    msg->size = controller_pools_size (pool);
    msg->used = controller_pools_used (pool);
    msg->dns = (char **) controller_arena_new (self, (POOL_DNS_MAX + 1) * sizeof (char *));
    char dns[sizeof pool->def.dns];
    snprintf (dns, sizeof dns, "%s", pool->def.dns);
    for (char *save = NULL, *server = strtok_r (dns, ",", &save);
         server && msg->n_dns < POOL_DNS_MAX; server = strtok_r (NULL, ",", &save))
        msg->dns[msg->n_dns++] = controller_arena_str (self, server);
    msg->ranges = (Maekin__IpRange **) controller_arena_new (
        self, (pool->range_count + 1) * sizeof (Maekin__IpRange *));
    for (size_t i = 0; i < pool->range_count; i++) {
        Maekin__IpRange *range =
            (Maekin__IpRange *) controller_arena_new (self, sizeof (Maekin__IpRange));
        maekin__ip_range__init (range);
        char text[MK_IP_TEXT];
        mk_ip_format (&pool->ranges[i].first, text);
        range->first = controller_arena_str (self, text);
        mk_ip_format (&pool->ranges[i].last, text);
        range->last = controller_arena_str (self, text);
        msg->ranges[msg->n_ranges++] = range;
    }
    zlistx_t *vis = controller_vis_list (self->vis);
    msg->vis = (char **) controller_arena_new (self, (zlistx_size (vis) + 1) * sizeof (char *));
    for (vi_t *vi = (vi_t *) zlistx_first (vis); vi; vi = (vi_t *) zlistx_next (vis))
        if (streq (vi->row.pool, pool->def.name))
            msg->vis[msg->n_vis++] = controller_arena_str (self, vi->row.name);
    zlistx_destroy (&vis);
    return msg;
}

static void
s_reply_pool (controller_t *self, const mk_request_t *request, const pool_t *pool)
{
    Maekin__PoolShowReply reply = MAEKIN__POOL_SHOW_REPLY__INIT;
    reply.pool = s_msg_pool (self, pool);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_POOL_SHOW_REPLY, &reply);
}

static pool_t *
s_find (controller_t *self, const mk_request_t *request, const char *name)
{
    pool_t *pool = controller_pools_get (self->pools, name);
    if (!pool)
        controller_reply_status (self, request, MK_NOT_FOUND,
                                 "no IP pool named '%.64s' (maekinsh pool list)", name ? name : "");
    return pool;
}

//  Copies a text field into a definition's: NULL, or why not (too long).
static const char *
s_field (char *to, size_t size, const char *from, const char *what)
{
    if (from && strlen (from) >= size)
        return what;
    snprintf (to, size, "%s", from ? from : "");
    return NULL;
}

void
controller_pool_create (controller_t *self, const mk_request_t *request)
{
    const Maekin__Pool *asked = request->env->pool_create->pool;
    if (!asked) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "a pool needs a name, a network and a bridge");
        return;
    }
    pool_def_t def;
    memset (&def, 0, sizeof def);
    char dns[sizeof def.dns] = "";
    for (size_t i = 0; i < asked->n_dns; i++) {
        size_t at = strlen (dns);
        if (snprintf (dns + at, sizeof dns - at, "%s%s", at ? "," : "", asked->dns[i])
            >= (int) (sizeof dns - at)) {
            controller_reply_status (self, request, MK_BAD_REQUEST, "at most %d DNS servers",
                                     POOL_DNS_MAX);
            return;
        }
        if (strchr (asked->dns[i], ',')) {
            controller_reply_status (self, request, MK_BAD_REQUEST,
                                     "a DNS server is one address, not a list: '%.64s'",
                                     asked->dns[i]);
            return;
        }
    }
    const char *long_field = s_field (def.name, sizeof def.name, asked->name, "name");
    if (!long_field)
        long_field = s_field (def.network, sizeof def.network, asked->network, "network");
    if (!long_field)
        long_field = s_field (def.gateway, sizeof def.gateway, asked->gateway, "gateway");
    if (!long_field)
        long_field = s_field (def.bridge, sizeof def.bridge, asked->bridge, "bridge");
    if (long_field) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "the pool's %s is too long",
                                 long_field);
        return;
    }
    snprintf (def.dns, sizeof def.dns, "%s", dns);
    def.created = self->now;
    char why[256];
    if (controller_pools_check (self->pools, &def, why, sizeof why)) {
        controller_reply_status (self, request,
                                 strstr (why, "exists already") ? MK_CONFLICT : MK_BAD_REQUEST,
                                 "%s", why);
        return;
    }
    //  Its ranges are checked against the pools as they are and against each other: a
    //  pool is made whole or not at all.
    pool_t *pool = controller_pools_add (self->pools, &def);
    const char *wrong = NULL;
    for (size_t i = 0; i < asked->n_ranges && !wrong; i++) {
        pool_range_t range;
        wrong = controller_pools_range_check (self->pools, pool, asked->ranges[i]->first,
                                              asked->ranges[i]->last, &range, why, sizeof why);
        if (!wrong)
            controller_pools_range_add (pool, &range);
    }
    int rc = wrong ? 0 : store_pool_insert (self->db, &def);
    for (size_t i = 0; !wrong && rc == 1 && i < pool->range_count; i++) {
        store_range_t row;
        snprintf (row.pool, sizeof row.pool, "%s", def.name);
        mk_ip_format (&pool->ranges[i].first, row.first);
        mk_ip_format (&pool->ranges[i].last, row.last);
        rc = store_range_insert (self->db, &row);
    }
    if (wrong || rc != 1) {
        controller_pools_drop (self->pools, def.name);
        if (wrong)
            controller_reply_status (self, request, MK_BAD_REQUEST, "%s", wrong);
        else
            controller_reply_db_error (self, request);
        return;
    }
    s_reply_pool (self, request, pool);
}

static bool
s_cursor_ok (const char *after)
{
    return mk_name_check (after) == NULL;
}

void
controller_pool_list (controller_t *self, const mk_request_t *request)
{
    store_page_t page;
    if (controller_list_page (self, request, request->env->pool_list->page, NULL, s_cursor_ok,
                              &page)
        != 0)
        return;
    const char *prefix = page.prefix ? page.prefix : "";
    Maekin__PoolListReply reply = MAEKIN__POOL_LIST_REPLY__INIT;
    reply.pools = (Maekin__Pool **) controller_arena_new (self, page.limit * sizeof (void *));
    zlistx_t *all = controller_pools_list (self->pools);
    for (pool_t *pool = (pool_t *) zlistx_first (all); pool; pool = (pool_t *) zlistx_next (all)) {
        if (strcmp (pool->def.name, page.after) <= 0
            || strncmp (pool->def.name, prefix, strlen (prefix)) != 0)
            continue;
        if (reply.n_pools == page.limit) {
            reply.next = reply.pools[reply.n_pools - 1]->name;
            break;
        }
        reply.pools[reply.n_pools++] = s_msg_pool (self, pool);
    }
    zlistx_destroy (&all);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_POOL_LIST_REPLY, &reply);
}

void
controller_pool_show (controller_t *self, const mk_request_t *request)
{
    pool_t *pool = s_find (self, request, request->env->pool_show->name);
    if (pool)
        s_reply_pool (self, request, pool);
}

void
controller_pool_delete (controller_t *self, const mk_request_t *request)
{
    pool_t *pool = s_find (self, request, request->env->pool_delete->name);
    if (!pool)
        return;
    zlistx_t *vis = controller_vis_list (self->vis);
    const vi_t *user = NULL;
    for (vi_t *vi = (vi_t *) zlistx_first (vis); vi && !user; vi = (vi_t *) zlistx_next (vis))
        if (streq (vi->row.pool, pool->def.name))
            user = vi;
    zlistx_destroy (&vis);
    if (user) {
        controller_reply_status (self, request, MK_CONFLICT,
                                 "pool '%s' is VI '%s''s: take it away first (maekinsh vi pool "
                                 "%s --none)",
                                 pool->def.name, user->row.name, user->row.name);
        return;
    }
    if (controller_pools_used (pool)) {
        controller_reply_status (self, request, MK_CONFLICT,
                                 "pool '%s' has %zu addresses held by VMs or added hosts: "
                                 "delete them (or host remove) first",
                                 pool->def.name, controller_pools_used (pool));
        return;
    }
    if (store_pool_delete (self->db, pool->def.name) != 1) {
        controller_reply_db_error (self, request);
        return;
    }
    //  The answer is the pool as it was: made before it goes.
    Maekin__PoolShowReply reply = MAEKIN__POOL_SHOW_REPLY__INIT;
    reply.pool = s_msg_pool (self, pool);
    controller_pools_drop (self->pools, pool->def.name);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_POOL_SHOW_REPLY, &reply);
}

void
controller_pool_range (controller_t *self, const mk_request_t *request)
{
    const Maekin__PoolRangeRequest *change = request->env->pool_range;
    pool_t *pool = s_find (self, request, change->name);
    if (!pool)
        return;
    const char *first = change->range ? change->range->first : "";
    const char *last = change->range ? change->range->last : "";
    store_range_t row;
    snprintf (row.pool, sizeof row.pool, "%s", pool->def.name);
    if (change->remove) {
        const char *holder = NULL;
        mk_ip_t a;
        //  Stored in the usual text: the one asked for, written so.
        if (mk_ip_parse (first, &a) == 0)
            mk_ip_format (&a, row.first);
        else
            snprintf (row.first, sizeof row.first, "?");
        int rc = controller_pools_range_remove (pool, first, last, &holder);
        if (rc == -1)
            controller_reply_status (self, request, MK_NOT_FOUND,
                                     "pool '%s' has no range %.46s-%.46s (maekinsh pool show %s)",
                                     pool->def.name, first, last, pool->def.name);
        else if (rc == -2 && strncmp (holder, STORE_HOST_HOLDER, strlen (STORE_HOST_HOLDER)) == 0)
            controller_reply_status (self, request, MK_CONFLICT,
                                     "host '%s' holds an address of range %.46s-%.46s: host "
                                     "remove it first",
                                     holder + strlen (STORE_HOST_HOLDER), first, last);
        else if (rc == -2)
            controller_reply_status (self, request, MK_CONFLICT,
                                     "VM '%s' holds an address of range %.46s-%.46s: delete it "
                                     "first",
                                     holder, first, last);
        else if (store_range_delete (self->db, pool->def.name, row.first) != 1)
            controller_reply_db_error (self, request);
        else
            s_reply_pool (self, request, pool);
        return;
    }
    pool_range_t range;
    char why[256];
    if (controller_pools_range_check (self->pools, pool, first, last, &range, why, sizeof why)) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "%s", why);
        return;
    }
    mk_ip_format (&range.first, row.first);
    mk_ip_format (&range.last, row.last);
    if (store_range_insert (self->db, &row) != 1) {
        controller_reply_db_error (self, request);
        return;
    }
    controller_pools_range_add (pool, &range);
    s_reply_pool (self, request, pool);
}

//  A lease cursor: "POOL/IP" of a name and an address.
static bool
s_lease_cursor_ok (const char *after)
{
    const char *slash = strchr (after, '/');
    if (!slash || (size_t) (slash - after) >= 64)
        return false;
    char pool[64];
    memcpy (pool, after, (size_t) (slash - after));
    pool[slash - after] = 0;
    mk_ip_t ip;
    return mk_name_check (pool) == NULL && mk_ip_parse (slash + 1, &ip) == 0;
}

void
controller_pool_leases (controller_t *self, const mk_request_t *request)
{
    const Maekin__PoolLeasesRequest *asked = request->env->pool_leases;
    const pool_t *only = NULL;
    if (asked->name && *asked->name && !(only = s_find (self, request, asked->name)))
        return;
    store_page_t page;
    if (controller_list_page (self, request, asked->page, NULL, s_lease_cursor_ok, &page) != 0)
        return;
    //  Where the page starts: after the cursor's pool and address.
    char after_pool[64] = "";
    mk_ip_t after_ip;
    memset (&after_ip, 0, sizeof after_ip);
    const char *slash = *page.after ? strchr (page.after, '/') : NULL;
    if (slash) {
        snprintf (after_pool, sizeof after_pool, "%.*s", (int) (slash - page.after), page.after);
        mk_ip_parse (slash + 1, &after_ip);
    }
    size_t count;
    pool_lease_t *leases = controller_pools_leases (self->pools, only, &count);
    Maekin__PoolLeasesReply reply = MAEKIN__POOL_LEASES_REPLY__INIT;
    reply.leases = (Maekin__Lease **) controller_arena_new (self, page.limit * sizeof (void *));
    zhashx_t *served = NULL; //  the hosts enrolled, found at the first host's lease
    for (size_t i = 0; i < count; i++) {
        const pool_lease_t *lease = &leases[i];
        int by_pool = strcmp (lease->pool->def.name, after_pool);
        if (slash && (by_pool < 0 || (by_pool == 0 && mk_ip_cmp (&lease->address, &after_ip) <= 0)))
            continue;
        if (reply.n_leases == page.limit) {
            const Maekin__Lease *last = reply.leases[reply.n_leases - 1];
            char cursor[160];
            snprintf (cursor, sizeof cursor, "%s/%s", last->pool, last->ip);
            reply.next = controller_arena_str (self, cursor);
            break;
        }
        Maekin__Lease *msg = (Maekin__Lease *) controller_arena_new (self, sizeof (Maekin__Lease));
        maekin__lease__init (msg);
        msg->ip = controller_arena_str (self, lease->ip);
        msg->mac = controller_arena_str (self, lease->mac);
        if (strncmp (lease->vm, STORE_HOST_HOLDER, strlen (STORE_HOST_HOLDER)) == 0) {
            msg->host = controller_arena_str (self, lease->vm + strlen (STORE_HOST_HOLDER));
            if (!served)
                served = controller_buskeys_served (self->buskeys, zclock_time ());
            msg->enrolled = zhashx_lookup (served, msg->host) != NULL;
        } else {
            char vi[64];
            const char *name;
            store_vm_split (lease->vm, vi, &name);
            msg->vm = controller_arena_str (self, name);
            msg->vi = controller_arena_str (self, vi);
        }
        msg->pool = controller_arena_str (self, lease->pool->def.name);
        reply.leases[reply.n_leases++] = msg;
    }
    free (leases);
    zhashx_destroy (&served);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_POOL_LEASES_REPLY, &reply);
}

bool
controller_pool_take (controller_t *self, const mk_request_t *request, pool_t *pool,
                      const char *holder, const char *mac, const char *want, char ip[MK_IP_TEXT])
{
    char refusal[256];
    if (!controller_pools_take (self->pools, pool, holder, mac, want, ip, refusal, sizeof refusal))
        return true;
    int status = strstr (refusal, "no free address") ? MK_INSUFFICIENT
                 : strstr (refusal, "already")       ? MK_CONFLICT
                                                     : MK_BAD_REQUEST;
    controller_reply_status (self, request, status, "%s", refusal);
    return false;
}
