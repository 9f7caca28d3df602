/*  controller_request: the table of requests the controller serves. Each row says which
    handler answers a request, which action controller_auth checks for it, and whether it
    mutates (its answer is remembered by its request id, so a retry gets the first answer
    and nothing is done twice) or writes (agents' reports and events change hosts and
    VMs too). A new request type adds a row here and a handler in its resource's file. */
#include "controller_core.h"

#include "controller_auth.h"

#include <sodium.h>

enum {
    WRITES = 1, //  writes to the database: refused while it takes no writes
    MUTATES = 2 //  changes the cloud at a client's word: remembered by request id
};

typedef struct {
    controller_handler_fn *handler;
    controller_auth_action_t action;
    unsigned flags;
} route_t;

static void s_events_since (controller_t *self, const mk_request_t *request);

#define ROUTE(body, handler, action, flags)                                                        \
    [MAEKIN__ENVELOPE__BODY_##body] = {handler, action, flags}

static const route_t s_routes[] = {
    ROUTE (HOST_LIST, controller_host_list, AUTH_READ, 0),
    ROUTE (HOST_SHOW, controller_host_show, AUTH_READ, 0),
    ROUTE (HOST_DOMAINS, controller_host_domains, AUTH_ADMIN, 0),
    ROUTE (HOST_REGISTER, controller_host_register, AUTH_AGENT, WRITES),
    ROUTE (DOMAIN_EVENT, controller_host_domain_event, AUTH_AGENT, WRITES),
    ROUTE (TEMPLATE_CREATE, controller_template_create, AUTH_VI, WRITES | MUTATES),
    ROUTE (TEMPLATE_LIST, controller_template_list, AUTH_READ, 0),
    ROUTE (TEMPLATE_SHOW, controller_template_show, AUTH_VI_READ, 0),
    ROUTE (TEMPLATE_DELETE, controller_template_delete, AUTH_VI, WRITES | MUTATES),
    ROUTE (VM_CREATE, controller_vm_create, AUTH_VI, WRITES | MUTATES),
    ROUTE (VM_ACTION, controller_vm_action, AUTH_VI, WRITES | MUTATES),
    ROUTE (VM_LIST, controller_vm_list, AUTH_VI_READ, 0),
    ROUTE (VM_SHOW, controller_vm_show, AUTH_VI_READ, 0),
    ROUTE (TASK_LIST, controller_task_list, AUTH_VI_READ, 0),
    ROUTE (TASK_SHOW, controller_task_show, AUTH_VI_READ, 0),
    ROUTE (TASK_WAIT, controller_task_wait, AUTH_VI_READ, 0),
    ROUTE (EVENTS_SINCE, s_events_since, AUTH_READ, 0),
    ROUTE (METRICS_HISTORY, controller_metrics_history, AUTH_VI_READ, 0),
    ROUTE (LOGIN, controller_user_login, AUTH_ANYONE, WRITES),
    ROUTE (LOGOUT, controller_user_logout, AUTH_SELF, WRITES),
    ROUTE (WHOAMI, controller_user_whoami, AUTH_SELF_READ, 0),
    ROUTE (USER_CREATE, controller_user_create, AUTH_ADMIN, WRITES | MUTATES),
    ROUTE (USER_LIST, controller_user_list, AUTH_ADMIN, 0),
    ROUTE (USER_SHOW, controller_user_show, AUTH_SELF_READ, 0),
    ROUTE (USER_PASSWD, controller_user_passwd, AUTH_SELF, WRITES | MUTATES),
    ROUTE (USER_DISABLE, controller_user_disable, AUTH_ADMIN, WRITES | MUTATES),
    ROUTE (USER_DELETE, controller_user_delete, AUTH_ADMIN, WRITES | MUTATES),
    //  A new key's answer holds its secret: never remembered by request id. A retry of
    //  a create whose answer was lost finds the name taken (409).
    ROUTE (APIKEY_CREATE, controller_apikey_create, AUTH_SELF, WRITES),
    ROUTE (APIKEY_LIST, controller_apikey_list, AUTH_SELF_READ, 0),
    ROUTE (APIKEY_REVOKE, controller_apikey_revoke, AUTH_SELF, WRITES | MUTATES),
    ROUTE (AUDIT_LIST, controller_audit_list, AUTH_VI_READ, 0),
    ROUTE (VI_CREATE, controller_vi_create, AUTH_ADMIN, WRITES | MUTATES),
    ROUTE (VI_LIST, controller_vi_list, AUTH_VI_READ, 0),
    ROUTE (VI_SHOW, controller_vi_show, AUTH_VI_READ, 0),
    ROUTE (VI_DELETE, controller_vi_delete, AUTH_ADMIN, WRITES | MUTATES),
    ROUTE (VI_QUOTA, controller_vi_quota, AUTH_ADMIN, WRITES | MUTATES),
    ROUTE (VI_TEMPLATE, controller_vi_template, AUTH_ADMIN, WRITES | MUTATES),
    ROUTE (VI_MEMBER, controller_vi_member, AUTH_VI, WRITES | MUTATES),
    ROUTE (BUS_KEY_ADMIT, controller_buskey_admit, AUTH_ADMIN, WRITES | MUTATES),
    ROUTE (BUS_KEY_LIST, controller_buskey_list, AUTH_ADMIN, 0),
    ROUTE (BUS_KEY_REVOKE, controller_buskey_revoke, AUTH_ADMIN, WRITES | MUTATES),
    ROUTE (BUS_KEY_ROTATE, controller_buskey_rotate, AUTH_ADMIN, WRITES | MUTATES),
    //  A token's answer holds its secret: never remembered by request id (as a new key's).
    ROUTE (JOIN_TOKEN, controller_enrol_token, AUTH_ADMIN, WRITES),
    ROUTE (HOST_ADD, controller_host_add, AUTH_ADMIN, WRITES),
    ROUTE (HOST_REMOVE, controller_host_remove, AUTH_ADMIN, WRITES | MUTATES),
    //  The enrolment door (the service `enrol`): no credential; the key the broker vouches
    //  for and a join token decide.
    ROUTE (ENROL, controller_enrol_door, AUTH_ANYONE, WRITES),
    ROUTE (CLOUD_STATS, controller_stats_cloud, AUTH_ADMIN_READ, 0),
    ROUTE (POOL_CREATE, controller_pool_create, AUTH_ADMIN, WRITES | MUTATES),
    ROUTE (POOL_LIST, controller_pool_list, AUTH_ADMIN_READ, 0),
    ROUTE (POOL_SHOW, controller_pool_show, AUTH_ADMIN_READ, 0),
    ROUTE (POOL_DELETE, controller_pool_delete, AUTH_ADMIN, WRITES | MUTATES),
    ROUTE (POOL_RANGE, controller_pool_range, AUTH_ADMIN, WRITES | MUTATES),
    ROUTE (VI_POOL, controller_vi_pool, AUTH_ADMIN, WRITES | MUTATES),
    //  What the DHCP controller follows: readable with the administrator's read-only key.
    ROUTE (POOL_LEASES, controller_pool_leases, AUTH_ADMIN_READ, 0),
    //  A service's report changes nothing but the audit log: a read-only key may send it.
    ROUTE (SERVICE_REPORT, controller_report_service, AUTH_ADMIN_READ, WRITES),
};
#define ROUTES (sizeof s_routes / sizeof s_routes[0])

//  The request's row, or NULL if the controller does not serve it.
static const route_t *
s_route (Maekin__Envelope__BodyCase body)
{
    size_t index = (size_t) body;
    return index < ROUTES && s_routes[index].handler ? &s_routes[index] : NULL;
}

bool
controller_request_writes (Maekin__Envelope__BodyCase body)
{
    const route_t *route = s_route (body);
    return route && (route->flags & WRITES);
}

static bool
s_event_visible (const Maekin__Event *event, void *arg)
{
    controller_t *self = (controller_t *) arg;
    if (streq (event->stream, "event.host"))
        return true;
    //  A VM's event written before events carried their VI: its key says.
    char vi[64];
    const char *colon = strchr (event->subject, ':');
    if (*event->vi)
        snprintf (vi, sizeof vi, "%s", event->vi);
    else if (streq (event->stream, "event.vm"))
        snprintf (vi, sizeof vi, "%.*s", colon ? (int) (colon - event->subject) : 7,
                  colon ? event->subject : "default");
    else
        return false;
    const vi_t *row = controller_vis_get (self->vis, vi);
    return row && self->caller.user
           && controller_vis_role (row, self->caller.user->id) != VI_ROLE_NONE;
}

static void
s_events_since (controller_t *self, const mk_request_t *request)
{
    Maekin__EventsSinceRequest *since = request->env->events_since;
    int stream = controller_events_parse (since->stream ? since->stream : "");
    if (stream < 0) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "unknown stream '%.64s' (event.vm, event.task or event.host)",
                                 since->stream ? since->stream : "");
        return;
    }
    if (since->limit > MK_LIST_MAX) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "at most %d events a page; %u asked", MK_LIST_MAX, since->limit);
        return;
    }
    uint32_t limit = since->limit ? since->limit : MK_LIST_MAX;
    //  The administrator sees every event; anyone else a host's, and those of the VMs
    //  and tasks of the VIs they hold a role in.
    bool all = controller_auth_vi_role (&self->caller, VI_ROLE_NONE) == VI_ROLE_ADMIN;
    Maekin__EventsSinceReply *events =
        controller_events_since (self->events, self->db, (events_stream_t) stream, since->after,
                                 limit, all ? NULL : s_event_visible, self);
    if (!events) {
        controller_reply_db_error (self, request);
        return;
    }
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_EVENTS_SINCE_REPLY, events);
    maekin__events_since_reply__free_unpacked (events, NULL);
}

//  A mutating request's id: 1 to MK_REQUEST_ID_MAX printable ASCII bytes without blanks
//  (MySQL compares keys ignoring trailing blanks, and the id filter must see the same id
//  the database does).
static bool
s_request_id_valid (const char *id)
{
    size_t length = 0;
    for (const char *c = id; *c; c++, length++)
        if (*c <= ' ' || *c > '~')
            return false;
    return length <= MK_REQUEST_ID_MAX;
}

//  A retried request: 1 after answering it with its first answer, 0 if the id is new,
//  -1 after answering an error.
static int
s_retried (controller_t *self, const mk_request_t *request, uint64_t fingerprint_now)
{
    const char *id = request->env->request_id;
    char scoped[CONTROLLER_REQUEST_KEY_MAX];
    if (!s_request_id_valid (id)) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "a request id is 1 to %d printable ASCII characters, no blanks",
                                 MK_REQUEST_ID_MAX);
        return -1;
    }
    zchunk_t *first = NULL;
    uint64_t fingerprint = 0;
    const char *key = controller_request_key (self, request->env, scoped);
    int rc = mk_bloom_maybe (self->request_ids, key)
                 ? store_request_find (self->db, key, &fingerprint, &first)
                 : 0;
    if (rc < 0) {
        controller_reply_db_error (self, request);
        return -1;
    }
    if (rc == 0)
        return 0;
    //  The same id with another request is a client's mistake that would otherwise be
    //  silent: the second request would get the first one's answer and do nothing.
    if (fingerprint && fingerprint != fingerprint_now) {
        zchunk_destroy (&first);
        controller_reply_status (self, request, MK_UNPROCESSABLE,
                                 "request id '%s' was already used for another request; "
                                 "give each new request a new id",
                                 id);
        return -1;
    }
    zframe_t *frame = zframe_new (zchunk_data (first), zchunk_size (first));
    zchunk_destroy (&first);
    controller_reply_queue (self, request->token, &frame);
    return 1;
}

uint64_t
controller_request_fingerprint (const Maekin__Envelope *env)
{
    //  The body alone (the oneof member, with its type), never the id or the credential:
    //  a retry carries the same body, whoever sends it again.
    const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field (
        &maekin__envelope__descriptor, (unsigned) env->body_case);
    if (!field)
        return 1;
    const ProtobufCMessage *body = (const ProtobufCMessage *) env->host_list;
    size_t size = protobuf_c_message_get_packed_size (body);
    uint8_t stack[512];
    uint8_t *packed = size <= sizeof stack ? stack : (uint8_t *) malloc (size);
    assert (packed);
    protobuf_c_message_pack (body, packed);
    crypto_generichash_state state;
    uint32_t which = (uint32_t) env->body_case;
    uint8_t hash[crypto_generichash_BYTES_MIN];
    crypto_generichash_init (&state, NULL, 0, sizeof hash);
    crypto_generichash_update (&state, (const uint8_t *) &which, sizeof which);
    crypto_generichash_update (&state, packed, size);
    crypto_generichash_final (&state, hash, sizeof hash);
    if (packed != stack)
        free (packed);
    uint64_t fingerprint;
    memcpy (&fingerprint, hash, sizeof fingerprint);
    return fingerprint ? fingerprint : 1; //  0 means "not known"
}

void
controller_request_handle (controller_t *self, const mk_request_t *request)
{
    Maekin__Envelope *env = request->env;
    //  The enrolment door takes an enrolment alone, and an enrolment comes through it
    //  alone: what a stranger may reach is that one handler.
    bool door = streq (request->service, CONTROLLER_ENROL_SERVICE);
    if (door != (env->body_case == MAEKIN__ENVELOPE__BODY_ENROL)) {
        if (door)
            controller_reply_status (self, request, MK_BAD_REQUEST,
                                     "the service '%s' takes an enrolment (EnrolRequest) "
                                     "alone, not '%s'",
                                     CONTROLLER_ENROL_SERVICE, mk_msg_body_name (env));
        else
            controller_reply_status (self, request, MK_BAD_REQUEST,
                                     "an enrolment goes to the service '%s', not '%s'",
                                     CONTROLLER_ENROL_SERVICE, request->service);
        return;
    }
    const route_t *route = s_route (env->body_case);
    if (!route) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "'%s' is not a request the controller serves",
                                 mk_msg_body_name (env));
        return;
    }
    //  What would change the cloud goes into the audit log, allowed or refused (an
    //  agent's reports are its hosts' news, not changes someone asked for).
    self->audit_vi[0] = 0;
    self->audit_subject[0] = 0;
    bool audited = self->opts.enforce && (route->flags & WRITES) && route->action != AUTH_AGENT;
    self->audited = audited ? env : NULL;
    const char *reason = NULL;
    int refused =
        controller_auth_check (self->auth, env, route->action, self->now, &self->caller, &reason);
    //  On a CURVE bus the broker says whose key sent it: a host's news from its node alone.
    if (!refused && route->action == AUTH_AGENT
        && (reason = controller_buskey_reporter (self, request)) != NULL) {
        refused = MK_FORBIDDEN;
        //  An impostor reports every few hundred ms: said once, then every thousandth.
        if (self->reports_refused++ % 1000 == 0)
            mk_warn ("controller: %s about a host refused: %s (%" PRIu64 " so far)",
                     mk_msg_body_name (env), reason, self->reports_refused);
    }
    if (refused)
        controller_reply_status (self, request, refused, "%s", reason);
    //  What the cloud offers is read by those who hold a role in some VI.
    if (refused || (route->action == AUTH_READ && !controller_vi_any_role (self, request))) {
        self->audited = NULL;
        self->caller = (controller_caller_t){NULL, NULL};
        return;
    }
    if ((route->flags & MUTATES) && env->request_id && *env->request_id) {
        uint64_t fingerprint = controller_request_fingerprint (env);
        if (s_retried (self, request, fingerprint) != 0)
            return;
        self->fingerprint = fingerprint; //  controller_reply remembers the answer
    }
    route->handler (self, request);
    self->audited = NULL; //  a request parked as a job takes its entry along
    self->fingerprint = 0;
    self->caller = (controller_caller_t){NULL, NULL};
}
