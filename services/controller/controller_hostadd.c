/*  controller_hostadd: machines registered to be hosts before they are installed, and
    hosts taken away (issue 22).

    host add binds the machine's MAC to an address of an IP pool, held as a lease whose
    holder is "host/NAME" (so the leases table's keys hold a host's address apart from
    every VM's, and maekin-dhcp serves it, with the boot from the network), and makes a
    join token for its enrolment (controller_enrol), both in the batch's transaction, and
    says so on event.host ("added"). The host itself is in the hosts table once its agent
    reports, as any host.

    host remove takes a host away once no VM is defined on it: its binding, the join tokens
    for it, its bus keys (its agent is cut off at the next push to the broker, and a key
    it kept cannot come back: only a new token admits one), its row and its place in the
    scheduler; event.host says "removed". */
#include "controller_core.h"

#include "mk_name.h"

#include <ctype.h>

//  A MAC as an administrator types it (six pairs of hex digits, ':' between, either case),
//  into mac in lower case: NULL, or why not.
static const char *
s_mac_parse (const char *text, char mac[18])
{
    if (strlen (text) != 17)
        return "is not six pairs of hex digits joined by ':' (52:54:00:12:34:56)";
    for (int i = 0; i < 17; i++) {
        unsigned char c = (unsigned char) text[i];
        if (i % 3 == 2 ? c != ':' : !isxdigit (c))
            return "is not six pairs of hex digits joined by ':' (52:54:00:12:34:56)";
        mac[i] = (char) tolower (c);
    }
    mac[17] = 0;
    //  The first octet's low bit marks a group address: no NIC has one.
    unsigned first = (unsigned) strtoul (mac, NULL, 16);
    if (first & 1)
        return "is a multicast or broadcast address, not a NIC's";
    if (streq (mac, "00:00:00:00:00:00"))
        return "is all zeros, not a NIC's";
    return NULL;
}

//  The lease holding a MAC in any pool, or NULL.
static bool
s_mac_held (controller_t *self, const char *mac, char *holder, size_t size)
{
    size_t count;
    pool_lease_t *leases = controller_pools_leases (self->pools, NULL, &count);
    bool held = false;
    for (size_t i = 0; i < count && !held; i++)
        if (streq (leases[i].mac, mac)) {
            snprintf (holder, size, "%s", leases[i].vm);
            held = true;
        }
    free (leases);
    return held;
}

void
controller_host_add (controller_t *self, const mk_request_t *request)
{
    const Maekin__HostAddRequest *add = request->env->host_add;
    const char *why = mk_name_check (add->name);
    if (why) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "host name '%.64s' %s", add->name,
                                 why);
        return;
    }
    char mac[18];
    if ((why = s_mac_parse (add->mac, mac))) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "mac '%.32s' %s", add->mac, why);
        return;
    }
    if (!*add->pool) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "a host is added with its address: name the IP pool of its "
                                 "network (maekinsh pool list)");
        return;
    }
    pool_t *pool = controller_pools_get (self->pools, add->pool);
    if (!pool) {
        controller_reply_status (self, request, MK_NOT_FOUND, "no IP pool named '%.64s'",
                                 add->pool);
        return;
    }
    char holder[STORE_VM_KEY_MAX];
    snprintf (holder, sizeof holder, STORE_HOST_HOLDER "%s", add->name);
    pool_t *bound = NULL;
    const char *ip = controller_pools_ip_of (self->pools, holder, &bound);
    if (ip) {
        controller_reply_status (self, request, MK_CONFLICT,
                                 "host '%s' is added already, with %s of pool '%s': 'maekinsh host "
                                 "token %s' makes it a new token, 'host remove' takes it away",
                                 add->name, ip, bound->def.name, add->name);
        return;
    }
    char other[STORE_VM_KEY_MAX];
    if (s_mac_held (self, mac, other, sizeof other)) {
        controller_reply_status (self, request, MK_CONFLICT, "mac %s is bound already, to %s '%s'",
                                 mac, strchr (other, '/') ? "host" : "VM",
                                 strchr (other, '/') ? strchr (other, '/') + 1 : other);
        return;
    }
    store_lease_t lease = {.ip = ""};
    if (!controller_pool_take (self, request, pool, holder, mac, add->ip, lease.ip))
        return;
    store_join_token_t row;
    char *token = controller_enrol_token_new (self, request, add->name, add->ttl_s, &row);
    if (!token) {
        controller_pools_give (self->pools, pool, lease.ip); //  refused: nothing written
        return;
    }
    //  A database error rolls the batch back (the token with it), and what is held in
    //  memory is read again.
    snprintf (lease.pool, sizeof lease.pool, "%s", pool->def.name);
    snprintf (lease.vm, sizeof lease.vm, "%s", holder);
    snprintf (lease.mac, sizeof lease.mac, "%s", mac);
    if (store_lease_insert (self->db, &lease, self->now) != 1) {
        controller_enrol_token_free (&token);
        controller_reply_db_error (self, request);
        return;
    }
    //  Said on event.host, which maekin-dhcp follows: the binding is served at once.
    char detail[160];
    snprintf (detail, sizeof detail, "mac %s, %s of pool '%s'", mac, lease.ip, pool->def.name);
    controller_events_add (self->events, EVENTS_HOST, add->name, NULL, "added", detail, 0);
    mk_info ("controller: host '%s' added: %s", add->name, detail);
    Maekin__HostAddReply reply = MAEKIN__HOST_ADD_REPLY__INIT;
    reply.name = add->name;
    reply.mac = mac;
    reply.pool = pool->def.name;
    reply.ip = lease.ip;
    reply.token = token;
    reply.expires = row.expires;
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_HOST_ADD_REPLY, &reply);
    controller_enrol_token_free (&token);
}

void
controller_host_remove (controller_t *self, const mk_request_t *request)
{
    const char *name = request->env->host_remove->name;
    const char *why = mk_name_check (name);
    if (why) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "host name '%.64s' %s", name, why);
        return;
    }
    char holder[STORE_VM_KEY_MAX];
    snprintf (holder, sizeof holder, STORE_HOST_HOLDER "%s", name);
    pool_t *pool = NULL;
    const char *ip = controller_pools_ip_of (self->pools, holder, &pool);
    sched_host_t *host = controller_sched_host (self->sched, name);
    zlistx_t *keys = controller_buskeys_list (self->buskeys, name, INT64_MIN + 1);
    size_t key_count = zlistx_size (keys);
    zlistx_destroy (&keys);
    if (!host && !ip && !key_count) {
        controller_reply_status (self, request, MK_NOT_FOUND,
                                 "no host named '%s' (none reported, added or enrolled)", name);
        return;
    }
    if (host && host->vm_count) {
        controller_reply_status (self, request, MK_CONFLICT,
                                 "host '%s' has %u VM%s defined on it: delete them first (maekinsh "
                                 "vm list shows them)",
                                 name, host->vm_count, host->vm_count == 1 ? "" : "s");
        return;
    }
    char address[MK_IP_TEXT] = "";
    if (ip)
        snprintf (address, sizeof address, "%s", ip);
    if ((ip && store_lease_delete (self->db, holder) != 1)
        || store_join_token_delete_host (self->db, name) < 0
        || store_buskey_delete_name (self->db, name) < 0
        || (host && store_host_delete (self->db, name) < 0)) {
        controller_reply_db_error (self, request);
        return;
    }
    if (ip)
        controller_pools_give (self->pools, pool, address);
    if (key_count) {
        controller_buskeys_drop_name (self->buskeys, name);
        self->keypush.changed = true;
    }
    if (host)
        controller_sched_remove (self->sched, name);
    controller_events_add (self->events, EVENTS_HOST, name, NULL, "removed", "", 0);
    mk_info ("controller: host '%s' removed (%zu bus key%s revoked%s%s)", name, key_count,
             key_count == 1 ? "" : "s", ip ? ", its address " : "", address);
    Maekin__HostRemoveReply reply = MAEKIN__HOST_REMOVE_REPLY__INIT;
    reply.name = (char *) name;
    reply.keys = (uint32_t) key_count;
    reply.was_bound = ip != NULL;
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_HOST_REMOVE_REPLY, &reply);
}
