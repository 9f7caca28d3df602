/*  broker_router: routes requests to workers by service name (proto/BUS.md). */
#include "broker_router.h"
#include "broker_keys.h"

#include "mk_curve.h"
#include "mk_msg.h"
#include "mk_sock.h"
#include "mk_wire.h"

//  Open requests are kept in a ring indexed by token; a slot is found by probing from
//  the next token, so a long request never blocks the ring and lookups stay O(1).
#define PENDING_SLOTS  65536
#define PENDING_PROBES 256
#define IDENTITY_MAX   32

typedef struct _service_t service_t;
typedef struct _worker_t worker_t;

struct _service_t {
    char name[MK_WIRE_SERVICE_MAX + 1]; //  the service's name
    zlistx_t *workers;                  //  worker_t * serving it (borrowed; the worker table owns)
};

struct _worker_t {
    char key[2 * IDENTITY_MAX + 1];            //  the routing identity in hex: the table's key
    zframe_t *identity;                        //  the routing identity frame
    service_t *services[MK_WIRE_SERVICES_MAX]; //  what it serves
    size_t count;                              //  how many services
    int pending;                               //  open requests it holds
    int64_t expiry;                            //  dead if not heard from before this (mono ms)
    char user[MK_CURVE_KEY_TEXT + 1];          //  the key it registered with ("": plain text)
};

typedef struct {
    uint64_t token;            //  0 when the slot is free
    byte client[IDENTITY_MAX]; //  the client's routing identity
    size_t client_size;
    uint64_t corr;      //  the client's correlation id
    service_t *service; //  where the request went
    worker_t *worker;   //  who holds it
    int64_t deadline;   //  504 after this (mono ms)
} pending_t;

typedef struct {
    zsock_t *pipe;   //  our actor pipe
    zsock_t *router; //  the request socket
    broker_router_opts_t opts;
    zsock_t *events;                           //  "bus.gone" to the stream, or NULL
    zhashx_t *workers;                         //  key -> worker_t (owned)
    zhashx_t *services;                        //  name -> service_t (owned)
    pending_t *pending;                        //  the ring of open requests
    uint64_t next_token;                       //  the next token to try
    size_t open;                               //  open requests
    uint64_t routed;                           //  requests handed to workers
    int64_t next_tick;                         //  when to expire workers and requests (mono ms)
    int64_t next_beat;                         //  when to heartbeat the workers (mono ms)
    zframe_t *headers[MK_WIRE_DISCONNECT + 1]; //  one header frame per command, sent by reference
    broker_keys_t *keys;                       //  who may do what (CURVE), or NULL: anyone
    zsock_t *keys_out;                         //  the lists pushed, on to the stream
    uint64_t refused;                          //  messages dropped or refused for their key
    bool listed;                               //  the controller's first list has come
    zlistx_t *held;                            //  what unknown keys sent before it (zmsg_t)
    double knocks;                             //  strangers' requests to enrol allowed now
    int64_t knocked;                           //  when knocks was last filled (mono ms)
} router_t;

static void
s_key (zframe_t *identity, char *key)
{
    size_t size = zframe_size (identity);
    byte *data = zframe_data (identity);
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < size && i < IDENTITY_MAX; i++) {
        key[2 * i] = hex[data[i] >> 4];
        key[2 * i + 1] = hex[data[i] & 15];
    }
    key[2 * (size < IDENTITY_MAX ? size : IDENTITY_MAX)] = 0;
}

static void
s_service_destroy (void **item)
{
    service_t *service = (service_t *) *item;
    zlistx_destroy (&service->workers);
    free (service);
    *item = NULL;
}

static void
s_worker_free (void **item)
{
    worker_t *worker = (worker_t *) *item;
    zframe_destroy (&worker->identity);
    free (worker);
    *item = NULL;
}

//  Sends a message, never blocking; false if the peer is gone or its queue is full.
//  Frames go by reference (ZFRAME_REUSE: zmq_msg_copy shares the data), so a body is
//  never copied on its way through the broker.
static bool
s_send (router_t *self, zmsg_t **msg_p)
{
    zmsg_t *msg = *msg_p;
    size_t count = zmsg_size (msg);
    void *handle = zsock_resolve (self->router);
    size_t i = 0;
    bool sent = true;
    for (zframe_t *frame = zmsg_first (msg); frame && sent; frame = zmsg_next (msg), i++) {
        int flags = ZFRAME_REUSE | ZFRAME_DONTWAIT | (i + 1 < count ? ZFRAME_MORE : 0);
        sent = zframe_send (&frame, handle, flags) == 0;
    }
    zmsg_destroy (msg_p);
    return sent;
}

//  Sends frames owned elsewhere, by reference, never blocking; true if sent.
static bool
s_send_frames (router_t *self, zframe_t **frames, size_t count)
{
    void *handle = zsock_resolve (self->router);
    for (size_t i = 0; i < count; i++) {
        int flags = ZFRAME_REUSE | ZFRAME_DONTWAIT | (i + 1 < count ? ZFRAME_MORE : 0);
        if (zframe_send (&frames[i], handle, flags) != 0)
            return false;
    }
    return true;
}

static void
s_send_error (router_t *self, const byte *client, size_t client_size, const char *service,
              uint64_t corr, int status, const char *reason)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, client, client_size);
    zmsg_append (msg, &(zframe_t *){mk_wire_header (MK_WIRE_ERROR)});
    zmsg_addstr (msg, service);
    zmsg_append (msg, &(zframe_t *){mk_wire_id_frame (corr)});
    byte code[2] = {(byte) (status >> 8), (byte) status};
    zmsg_addmem (msg, code, 2);
    zmsg_addstr (msg, reason);
    if (!s_send (self, &msg))
        mk_debug ("broker_router: could not deliver an error to a client: %s",
                  zmq_strerror (zmq_errno ()));
}

static void
s_send_command (router_t *self, zframe_t *identity, mk_wire_command_t command)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){zframe_dup (identity)});
    zmsg_append (msg, &(zframe_t *){mk_wire_header (command)});
    s_send (self, &msg);
}

static void
s_pending_release (router_t *self, pending_t *slot)
{
    slot->worker->pending--;
    slot->token = 0;
    self->open--;
}

//  Fails every open request a worker holds, then forgets the worker; with say, publishes
//  the services it leaves without a worker.
static void
s_worker_delete (router_t *self, worker_t *worker, const char *why, bool say)
{
    mk_info ("broker_router: worker %s serving '%s'%s gone: %s", worker->key,
             worker->count ? worker->services[0]->name : "", worker->count > 1 ? " and more" : "",
             why);
    for (size_t i = 0; worker->pending > 0 && i < PENDING_SLOTS; i++) {
        pending_t *slot = &self->pending[i];
        if (slot->token && slot->worker == worker) {
            char reason[160];
            snprintf (reason, sizeof reason, "the worker serving '%s' was lost (%s)",
                      slot->service->name, why);
            s_send_error (self, slot->client, slot->client_size, slot->service->name, slot->corr,
                          503, reason);
            s_pending_release (self, slot);
        }
    }
    //  The services it leaves without a worker, said on the stream: the controller
    //  takes their hosts down now, not when their reports are missed.
    char *gone[MK_WIRE_SERVICES_MAX];
    Maekin__ServicesGone said = MAEKIN__SERVICES_GONE__INIT;
    said.services = gone;
    said.reason = (char *) why;
    for (size_t i = 0; i < worker->count; i++) {
        zlistx_t *list = worker->services[i]->workers;
        void *handle = zlistx_find (list, worker);
        if (handle)
            zlistx_delete (list, handle);
        //  A service nobody serves is forgotten (its requests went with the worker), so
        //  names that come and go do not pile up.
        if (zlistx_size (list) == 0) {
            gone[said.n_services++] = strdup (worker->services[i]->name);
            zhashx_delete (self->services, worker->services[i]->name);
        }
    }
    if (self->events && say && said.n_services) {
        Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
        env.body_case = MAEKIN__ENVELOPE__BODY_SERVICES_GONE;
        env.services_gone = &said;
        zmsg_t *msg = zmsg_new ();
        zmsg_addstr (msg, "bus.gone");
        zframe_t *body = mk_msg_pack (&env);
        zmsg_append (msg, &body);
        zmsg_send (&msg, self->events); //  a PUB drops rather than blocks
        zmsg_destroy (&msg);
    }
    for (size_t i = 0; i < said.n_services; i++)
        free (gone[i]);
    zhashx_delete (self->workers, worker->key);
}

static service_t *
s_service_require (router_t *self, const char *name)
{
    service_t *service = (service_t *) zhashx_lookup (self->services, name);
    if (!service) {
        service = (service_t *) zmalloc (sizeof (service_t));
        snprintf (service->name, sizeof service->name, "%s", name);
        service->workers = zlistx_new ();
        zhashx_insert (self->services, name, service);
    }
    return service;
}

//  Whether the sender's key may serve every service of a READY: its role allows it, and
//  no worker of another key serves it (a node cannot join an agent's own service);
//  logged when not. A refused READY gets no answer: the worker tries again later.
static bool
s_may_serve (router_t *self, const broker_key_t *sender, const char *user, zmsg_t *msg)
{
    zmsg_first (msg);
    zmsg_next (msg);
    bool may = true;
    for (zframe_t *f = zmsg_next (msg); f && may; f = zmsg_next (msg)) {
        char name[MK_WIRE_SERVICE_MAX + 1];
        memcpy (name, zframe_data (f), zframe_size (f));
        name[zframe_size (f)] = 0;
        service_t *service = (service_t *) zhashx_lookup (self->services, name);
        worker_t *other = service ? (worker_t *) zlistx_first (service->workers) : NULL;
        may = broker_key_may_serve (sender, name)
              && (broker_key_is_controller (sender) || !other || streq (other->user, user));
        if (!may)
            mk_warn ("broker_router: the key '%s' may not serve '%s'; its READY is refused",
                     broker_key_name (sender), name);
    }
    return may;
}

static void
s_handle_ready (router_t *self, zframe_t *identity, const char *key, zmsg_t *msg,
                const broker_key_t *sender, const char *user)
{
    size_t count = zmsg_size (msg) - 2;
    bool valid =
        count >= 1 && count <= MK_WIRE_SERVICES_MAX && zframe_size (identity) <= IDENTITY_MAX;
    for (zframe_t *f = zmsg_next (msg); f && valid; f = zmsg_next (msg))
        valid = mk_wire_service_valid (f);
    if (!valid) {
        mk_warn ("broker_router: malformed READY from %s refused", key);
        s_send_command (self, identity, MK_WIRE_DISCONNECT);
        return;
    }
    if (self->keys && !s_may_serve (self, sender, user, msg)) {
        self->refused++;
        return;
    }
    //  A READY from a known worker (it thought us dead) starts it afresh.
    worker_t *old = (worker_t *) zhashx_lookup (self->workers, key);
    if (old)
        //  Not said gone: the same peer serves again at once (its services are read
        //  from this READY).
        s_worker_delete (self, old, "registered again", false);
    worker_t *worker = (worker_t *) zmalloc (sizeof (worker_t));
    snprintf (worker->key, sizeof worker->key, "%s", key);
    worker->identity = zframe_dup (identity);
    snprintf (worker->user, sizeof worker->user, "%s", user);
    worker->expiry = zclock_mono () + (int64_t) self->opts.heartbeat_ms * MK_WIRE_LIVENESS;
    zmsg_first (msg);
    zmsg_next (msg);
    for (zframe_t *f = zmsg_next (msg); f; f = zmsg_next (msg)) {
        char name[MK_WIRE_SERVICE_MAX + 1];
        memcpy (name, zframe_data (f), zframe_size (f));
        name[zframe_size (f)] = 0;
        service_t *service = s_service_require (self, name);
        worker->services[worker->count++] = service;
        zlistx_add_end (service->workers, worker);
    }
    zhashx_insert (self->workers, key, worker);
    mk_info ("broker_router: worker %s ready for '%s'%s", key, worker->services[0]->name,
             count > 1 ? " and more" : "");
}

//  The least loaded worker of a service that still has room, or NULL.
static worker_t *
s_choose (router_t *self, service_t *service)
{
    worker_t *best = NULL;
    for (worker_t *w = (worker_t *) zlistx_first (service->workers); w;
         w = (worker_t *) zlistx_next (service->workers))
        if (w->pending < self->opts.max_pending && (!best || w->pending < best->pending))
            best = w;
    //  Rotate so that equally loaded workers take turns.
    if (best && zlistx_size (service->workers) > 1)
        zlistx_move_end (service->workers, zlistx_find (service->workers, best));
    return best;
}

//  Whether a stranger's request to the enrolment door may pass now: a bucket of
//  BROKER_ENROL_BURST filled at BROKER_ENROL_RATE a second, shared by every stranger, so
//  guessing tokens is slow and the controller is not flooded. The rest are dropped.
static bool
s_may_knock (router_t *self)
{
    int64_t now = zclock_mono ();
    self->knocks += (double) (now - self->knocked) * BROKER_ENROL_RATE / 1000.0;
    if (self->knocks > BROKER_ENROL_BURST)
        self->knocks = BROKER_ENROL_BURST;
    self->knocked = now;
    if (self->knocks < 1)
        return false;
    self->knocks -= 1;
    return true;
}

static void s_judge_held (router_t *self);

//  Forgets the workers whose key no longer works (and says their services gone).
static void
s_drop_unkeyed (router_t *self, const char *why)
{
    for (bool again = true; again;) {
        again = false;
        for (worker_t *w = (worker_t *) zhashx_first (self->workers); w && !again;
             w = (worker_t *) zhashx_next (self->workers))
            if (!broker_keys_find (self->keys, w->user, zclock_time ())) {
                s_worker_delete (self, w, why, true);
                again = true; //  the table changed under the cursor
            }
    }
}

//  A list of keys pushed to bus/keys by the controller: taken, passed on to the stream,
//  and answered with the digest the broker now has.
static void
s_handle_keys (router_t *self, const byte *client, size_t client_size, uint64_t corr,
               zframe_t *body)
{
    const char *reason = NULL;
    char *why = NULL;
    Maekin__Envelope *env = mk_msg_unpack (zframe_data (body), zframe_size (body), &reason);
    if (!env)
        why = strdup (reason ? reason : "the body is not an Envelope");
    else if (env->body_case != MAEKIN__ENVELOPE__BODY_BUS_KEYS)
        why = strdup ("the body is not a BusKeys");
    int removed = 0;
    if (!why && env->bus_keys->full) {
        removed = broker_keys_take (self->keys, env->bus_keys, &why);
        if (removed >= 0 && !self->listed)
            s_judge_held (self);
        if (removed >= 0) {
            mk_info ("broker_router: took %zu keys from the controller (%d gone)",
                     env->bus_keys->n_keys, removed);
            zframe_t *copy = zframe_dup (body);
            zframe_send (&copy, self->keys_out, ZFRAME_DONTWAIT);
            zframe_destroy (&copy);
        }
    }
    if (why) {
        s_send_error (self, client, client_size, BROKER_KEYS_SERVICE, corr, 400, why);
        free (why);
        mk_msg_free (&env);
        return;
    }
    if (removed > 0)
        s_drop_unkeyed (self, "its key was revoked");
    Maekin__BusKeys have = MAEKIN__BUS_KEYS__INIT;
    have.digest.data = (uint8_t *) broker_keys_digest (self->keys, &have.digest.len);
    Maekin__Envelope answer = MAEKIN__ENVELOPE__INIT;
    answer.version = 1;
    answer.status = 200;
    answer.body_case = MAEKIN__ENVELOPE__BODY_BUS_KEYS;
    answer.bus_keys = &have;
    zmsg_t *out = zmsg_new ();
    zmsg_addmem (out, client, client_size);
    zmsg_append (out, &(zframe_t *){mk_wire_header (MK_WIRE_REPLY)});
    zmsg_addstr (out, BROKER_KEYS_SERVICE);
    zmsg_append (out, &(zframe_t *){mk_wire_id_frame (corr)});
    zmsg_append (out, &(zframe_t *){mk_msg_pack (&answer)});
    s_send (self, &out);
    mk_msg_free (&env);
}

static void
s_handle_request (router_t *self, zframe_t *identity, zmsg_t *msg, const broker_key_t *sender,
                  const char *user)
{
    zframe_t *service_frame = zmsg_next (msg);
    zframe_t *corr_frame = zmsg_next (msg);
    zframe_t *body = zmsg_next (msg);
    byte *client = zframe_data (identity);
    size_t client_size = zframe_size (identity);
    if (self->keys && !sender && self->listed
        && !(service_frame && zframe_streq (service_frame, BROKER_ENROL_SERVICE)
             && s_may_knock (self))) {
        self->refused++; //  a stranger: not even an error
        return;
    }
    uint64_t corr = 0;
    bool corr_ok = mk_wire_id (corr_frame, &corr) == 0;
    if (zmsg_size (msg) != 5 || !corr_ok || !mk_wire_service_valid (service_frame)) {
        s_send_error (self, client, client_size, "", corr, 400,
                      "malformed request: expected service (1-63 printable bytes), "
                      "an 8-byte correlation id and a body");
        return;
    }
    char name[MK_WIRE_SERVICE_MAX + 1];
    memcpy (name, zframe_data (service_frame), zframe_size (service_frame));
    name[zframe_size (service_frame)] = 0;
    if (client_size > IDENTITY_MAX) {
        s_send_error (self, client, client_size, name, corr, 400, "client identity too long");
        return;
    }
    if (self->keys && !sender && !self->listed) {
        //  Just started: the key may well be the cloud's. Nothing is learnt from this
        //  answer that the handshake with the broker's key did not already tell.
        s_send_error (self, client, client_size, name, corr, 503,
                      "the broker has just started and has not had the bus's keys from the "
                      "controller yet; retry shortly");
        return;
    }
    if (self->keys && broker_key_is_controller (sender) && streq (name, BROKER_KEYS_SERVICE)) {
        s_handle_keys (self, client, client_size, corr, body);
        return;
    }
    if (self->keys && !broker_key_may_send (sender, name)) {
        self->refused++;
        char reason[160];
        snprintf (reason, sizeof reason, "the key '%s' may not send to '%s'",
                  broker_key_name (sender), name);
        s_send_error (self, client, client_size, name, corr, 403, reason);
        return;
    }
    service_t *service = (service_t *) zhashx_lookup (self->services, name);
    if (!service || zlistx_size (service->workers) == 0) {
        char reason[128];
        snprintf (reason, sizeof reason, "no worker serves '%s'", name);
        s_send_error (self, client, client_size, name, corr, 404, reason);
        return;
    }
    //  A worker whose connection is gone (it died; its heartbeats have not expired yet)
    //  is forgotten at the first failed send, and the next worker gets the request.
    for (int tries = 0; tries < 8; tries++) {
        worker_t *worker = s_choose (self, service);
        pending_t *slot = NULL;
        for (int probe = 0; worker && probe < PENDING_PROBES && !slot; probe++) {
            uint64_t token = self->next_token++;
            if (token == 0)
                token = self->next_token++;
            pending_t *candidate = &self->pending[token & (PENDING_SLOTS - 1)];
            if (candidate->token == 0) {
                slot = candidate;
                slot->token = token;
            }
        }
        if (!slot) {
            char reason[128];
            snprintf (reason, sizeof reason,
                      zlistx_size (service->workers)
                          ? "'%s' is busy: too many open requests; retry later"
                          : "no worker serves '%s'",
                      name);
            s_send_error (self, client, client_size, name, corr,
                          zlistx_size (service->workers) ? 429 : 404, reason);
            return;
        }
        memcpy (slot->client, client, client_size);
        slot->client_size = client_size;
        slot->corr = corr;
        slot->service = service;
        slot->worker = worker;
        slot->deadline = zclock_mono () + self->opts.timeout_ms;
        worker->pending++;
        self->open++;

        zframe_t *token = mk_wire_id_frame (slot->token);
        //  On a CURVE bus the worker hears who sent it: the key the broker let in.
        zframe_t *caller = self->keys ? zframe_new (user, strlen (user)) : NULL;
        zframe_t *frames[] = {
            worker->identity, self->headers[MK_WIRE_REQUEST], token, service_frame, body, caller};
        bool sent = s_send_frames (self, frames, caller ? 6 : 5);
        int error = zmq_errno ();
        zframe_destroy (&token);
        zframe_destroy (&caller);
        if (sent) {
            self->routed++;
            return;
        }
        s_pending_release (self, slot);
        if (error == EAGAIN) {
            s_send_error (self, client, client_size, name, corr, 429,
                          "the worker's queue is full; retry later");
            return;
        }
        s_worker_delete (self, worker, "its connection is gone", true);
        //  The service goes with its last worker: look it up again.
        service = (service_t *) zhashx_lookup (self->services, name);
        if (!service) {
            char reason[128];
            snprintf (reason, sizeof reason, "no worker serves '%s'", name);
            s_send_error (self, client, client_size, name, corr, 404, reason);
            return;
        }
    }
    s_send_error (self, client, client_size, name, corr, 503, "the workers are unreachable");
}

static void
s_handle_answer (router_t *self, worker_t *worker, int command, zmsg_t *msg)
{
    zframe_t *token_frame = zmsg_next (msg);
    zframe_t *body = zmsg_next (msg);
    uint64_t token;
    if (zmsg_size (msg) != 4 || mk_wire_id (token_frame, &token) != 0) {
        mk_warn ("broker_router: malformed %s from worker %s dropped",
                 mk_wire_command_name (command), worker->key);
        return;
    }
    pending_t *slot = &self->pending[token & (PENDING_SLOTS - 1)];
    if (token == 0 || slot->token != token || slot->worker != worker) {
        mk_debug ("broker_router: %s for an unknown request from %s dropped",
                  mk_wire_command_name (command), worker->key);
        return;
    }
    zmsg_t *out = zmsg_new ();
    zmsg_addmem (out, slot->client, slot->client_size);
    zmsg_append (out, &(zframe_t *){mk_wire_header (command)});
    zmsg_addstr (out, slot->service->name);
    zmsg_append (out, &(zframe_t *){mk_wire_id_frame (slot->corr)});
    zmsg_remove (msg, body);
    zmsg_append (out, &body);
    if (!s_send (self, &out))
        mk_debug ("broker_router: client of '%s' gone before its reply", slot->service->name);
    if (command == MK_WIRE_REPLY)
        s_pending_release (self, slot);
    else
        slot->deadline = zclock_mono () + self->opts.timeout_ms;
}

//  Until the controller's first list comes (the broker has just started), what a key it
//  does not know sends is held, at most HELD_MAX messages, and judged when the list
//  comes, so an agent of the cloud is not taken for a stranger (its READY and heartbeats
//  dropped) for the second it takes the controller to push; a request is answered 503
//  (retry) meanwhile.
#define HELD_MAX 10000

static void s_handle_message (router_t *self, zmsg_t **msg_p);

static void
s_judge_held (router_t *self)
{
    self->listed = true;
    zmsg_t *msg;
    while ((msg = (zmsg_t *) zlistx_detach (self->held, NULL))) {
        s_handle_message (self, &msg);
        zmsg_destroy (&msg);
    }
}

static void
s_handle_message (router_t *self, zmsg_t **msg_p)
{
    zmsg_t *msg = *msg_p;
    zframe_t *identity = zmsg_first (msg);
    zframe_t *header = zmsg_next (msg);
    int version = 0;
    int command = mk_wire_parse_header (header, &version);
    char key[2 * IDENTITY_MAX + 1];
    s_key (identity, key);
    //  With CURVE, who sent it (its key, as ZAP let it in) says what it may do; a
    //  stranger may only knock at the enrolment door, and hears nothing else.
    const char *user = "";
    const broker_key_t *sender = NULL;
    if (self->keys) {
        user = zframe_meta (header, "User-Id");
        user = user ? user : "";
        sender = broker_keys_find (self->keys, user, zclock_time ());
        if (!sender && !self->listed && command != MK_WIRE_REQUEST) {
            if (zlistx_size (self->held) < HELD_MAX) {
                zlistx_add_end (self->held, msg);
                *msg_p = NULL;
            }
            return;
        }
        if (!sender && command != MK_WIRE_REQUEST) {
            self->refused++;
            return;
        }
    }
    if (command == -3) {
        mk_warn ("broker_router: peer %s speaks bus version %d; refused", key, version);
        zframe_t *service = zmsg_next (msg);
        zframe_t *corr_frame = zmsg_next (msg);
        uint64_t corr = 0;
        if (zmsg_size (msg) == 5 && mk_wire_id (corr_frame, &corr) == 0
            && mk_wire_service_valid (service)) {
            char *name = zframe_strdup (service);
            s_send_error (self, zframe_data (identity), zframe_size (identity), name, corr, 505,
                          "unsupported bus protocol version; this broker speaks 1");
            free (name);
        } else
            s_send_command (self, identity, MK_WIRE_DISCONNECT);
        return;
    }
    if (command < 0) {
        mk_warn ("broker_router: malformed message from %s dropped (%zu frames, no Maekin header)",
                 key, zmsg_size (msg));
        return;
    }
    if (command == MK_WIRE_REQUEST) {
        s_handle_request (self, identity, msg, sender, user);
        return;
    }
    if (zframe_size (identity) > IDENTITY_MAX) {
        //  Worker keys hold IDENTITY_MAX bytes; a longer identity could pose as another.
        mk_warn ("broker_router: %s from a peer with an identity over %d bytes dropped",
                 mk_wire_command_name (command), IDENTITY_MAX);
        return;
    }
    if (command == MK_WIRE_READY) {
        s_handle_ready (self, identity, key, msg, sender, user);
        return;
    }
    worker_t *worker = (worker_t *) zhashx_lookup (self->workers, key);
    if (!worker) {
        //  A worker we do not know (we restarted, or expired it): ask it to register.
        if (command != MK_WIRE_DISCONNECT)
            s_send_command (self, identity, MK_WIRE_DISCONNECT);
        return;
    }
    if (self->keys && !streq (worker->user, user)) {
        //  Another key with a routing id it chose to look like this worker's.
        self->refused++;
        mk_warn ("broker_router: %s from the key '%s' posing as worker %s dropped",
                 mk_wire_command_name (command), broker_key_name (sender), key);
        return;
    }
    worker->expiry = zclock_mono () + (int64_t) self->opts.heartbeat_ms * MK_WIRE_LIVENESS;
    if (command == MK_WIRE_REPLY || command == MK_WIRE_PROGRESS)
        s_handle_answer (self, worker, command, msg);
    else if (command == MK_WIRE_DISCONNECT)
        s_worker_delete (self, worker, "disconnected", true);
    else if (command != MK_WIRE_HEARTBEAT)
        mk_warn ("broker_router: unexpected %s from worker %s dropped",
                 mk_wire_command_name (command), key);
}

//  Expiry is checked four times an interval: a silent worker is forgotten at most a
//  quarter interval after its liveness ran out.
static int64_t
s_tick_ms (router_t *self)
{
    return self->opts.heartbeat_ms >= 4 ? self->opts.heartbeat_ms / 4 : 1;
}

//  How often the broker heartbeats its workers: every MK_WIRE_BROKER_BEATS intervals, of
//  its own or the workers' default, whichever is shorter. A worker gives up on a broker
//  it has not heard for MK_WIRE_LIVENESS of those at its own interval, and a broker told
//  to expect slower workers must still be heard by those at the default.
static int64_t
s_beat_ms (router_t *self)
{
    int interval = self->opts.heartbeat_ms < MK_WIRE_HEARTBEAT_MS ? self->opts.heartbeat_ms
                                                                  : MK_WIRE_HEARTBEAT_MS;
    return (int64_t) interval * MK_WIRE_BROKER_BEATS;
}

//  Expires dead workers and requests past their deadline; heartbeats every s_beat_ms.
static void
s_tick (router_t *self)
{
    int64_t now = zclock_mono ();
    zlistx_t *dead = zlistx_new ();
    bool beat = now >= self->next_beat;
    for (worker_t *w = (worker_t *) zhashx_first (self->workers); w;
         w = (worker_t *) zhashx_next (self->workers)) {
        if (w->expiry < now)
            zlistx_add_end (dead, w);
        else if (beat)
            s_send_command (self, w->identity, MK_WIRE_HEARTBEAT);
    }
    if (beat)
        self->next_beat = now + s_beat_ms (self);
    if (self->keys && broker_keys_expire (self->keys, zclock_time ())) {
        s_drop_unkeyed (self, "its key expired");
        zstr_send (self->keys_out, "EXPIRE");
    }
    for (worker_t *w = (worker_t *) zlistx_first (dead); w; w = (worker_t *) zlistx_next (dead))
        s_worker_delete (self, w, "no heartbeat", true);
    zlistx_destroy (&dead);
    for (size_t i = 0; self->open > 0 && i < PENDING_SLOTS; i++) {
        pending_t *slot = &self->pending[i];
        if (slot->token && slot->deadline < now) {
            char reason[160];
            snprintf (reason, sizeof reason, "'%s' did not answer within %d s", slot->service->name,
                      self->opts.timeout_ms / 1000);
            s_send_error (self, slot->client, slot->client_size, slot->service->name, slot->corr,
                          504, reason);
            s_pending_release (self, slot);
        }
    }
    self->next_tick = now + s_tick_ms (self);
}

static bool
s_handle_pipe (router_t *self)
{
    char *command = zstr_recv (self->pipe);
    if (!command || streq (command, "$TERM")) {
        free (command);
        return false;
    }
    if (streq (command, "ENDPOINT")) {
        char *endpoint = mk_sock_endpoint (self->router);
        zstr_send (self->pipe, endpoint);
        free (endpoint);
    } else if (streq (command, "STATS")) {
        char numbers[4][24];
        snprintf (numbers[0], 24, "%zu", zhashx_size (self->workers));
        snprintf (numbers[1], 24, "%zu", zhashx_size (self->services));
        snprintf (numbers[2], 24, "%zu", self->open);
        snprintf (numbers[3], 24, "%" PRIu64, self->routed);
        zstr_sendx (self->pipe, numbers[0], numbers[1], numbers[2], numbers[3], NULL);
    } else if (streq (command, "SERVED")) {
        //  Whether a service has a worker now: "1" or "0" (tests wait for a READY).
        char *name = zstr_recv (self->pipe);
        zstr_send (self->pipe, name && zhashx_lookup (self->services, name) ? "1" : "0");
        free (name);
    }
    free (command);
    return true;
}

void
broker_router_actor (zsock_t *pipe, void *args)
{
    router_t self = {0};
    self.pipe = pipe;
    self.opts = *(broker_router_opts_t *) args;
    char *error = NULL;
    if (self.opts.controller_keys
        && !(self.keys = broker_keys_new (self.opts.controller_keys, &error))) {
        mk_error ("broker_router: %s", error);
        free (error);
    }
    self.router = self.keys || !self.opts.controller_keys
                      ? mk_sock_new (ZMQ_ROUTER, self.opts.endpoint)
                      : NULL;
    zsock_signal (pipe, 0);
    if (!self.router) {
        broker_keys_destroy (&self.keys);
        zstr_send (pipe, "ERROR");
        return;
    }
    zstr_send (pipe, "OK");
    self.held = zlistx_new ();
    zlistx_set_destructor (self.held, (zlistx_destructor_fn *) zmsg_destroy);
    if (self.keys) {
        self.keys_out = zsock_new (ZMQ_PUSH);
        assert (self.keys_out);
        zsock_set_sndhwm (self.keys_out, 64);
        zsock_connect (self.keys_out, BROKER_KEYS_ENDPOINT);
    }
    if (self.opts.events) {
        self.events = zsock_new (ZMQ_PUB);
        assert (self.events);
        if (zsock_connect (self.events, "%s", self.opts.events) != 0)
            mk_warn ("broker_router: cannot publish to %s; lost workers are not said",
                     self.opts.events);
    }
    self.workers = zhashx_new ();
    zhashx_set_destructor (self.workers, s_worker_free);
    self.services = zhashx_new ();
    zhashx_set_destructor (self.services, s_service_destroy);
    self.pending = (pending_t *) zmalloc (PENDING_SLOTS * sizeof (pending_t));
    self.next_token = 1;
    for (int command = MK_WIRE_READY; command <= MK_WIRE_DISCONNECT; command++)
        self.headers[command] = mk_wire_header ((mk_wire_command_t) command);
    self.knocks = BROKER_ENROL_BURST;
    self.knocked = zclock_mono ();
    self.next_tick = zclock_mono () + s_tick_ms (&self);
    self.next_beat = zclock_mono () + s_beat_ms (&self);

    zpoller_t *poller = zpoller_new (pipe, self.router, NULL);
    bool running = true;
    while (running) {
        int wait = (int) (self.next_tick - zclock_mono ());
        zsock_t *which = (zsock_t *) zpoller_wait (poller, wait > 0 ? wait : 0);
        if (which == pipe)
            running = s_handle_pipe (&self);
        else if (which == self.router) {
            //  Drain what is queued (bounded, so heartbeats still go out under load).
            for (int i = 0; i < 1024; i++) {
                zmsg_t *msg = zmsg_recv (self.router);
                if (!msg)
                    break;
                s_handle_message (&self, &msg);
                zmsg_destroy (&msg);
                if (!(zsock_events (self.router) & ZMQ_POLLIN))
                    break;
            }
        } else if (zpoller_terminated (poller))
            break;
        if (zclock_mono () >= self.next_tick)
            s_tick (&self);
    }
    //  Say goodbye so workers register again at once with the next broker.
    for (worker_t *w = (worker_t *) zhashx_first (self.workers); w;
         w = (worker_t *) zhashx_next (self.workers))
        s_send_command (&self, w->identity, MK_WIRE_DISCONNECT);
    zpoller_destroy (&poller);
    zhashx_destroy (&self.workers);
    zhashx_destroy (&self.services);
    for (int command = MK_WIRE_READY; command <= MK_WIRE_DISCONNECT; command++)
        zframe_destroy (&self.headers[command]);
    free (self.pending);
    zsock_destroy (&self.router);
    zsock_destroy (&self.events);
    zsock_destroy (&self.keys_out);
    zlistx_destroy (&self.held);
    broker_keys_destroy (&self.keys);
}

zactor_t *
broker_router_new (const broker_router_opts_t *opts)
{
    zactor_t *self = zactor_new (broker_router_actor, (void *) opts);
    char *status = zstr_recv (self);
    if (!status || !streq (status, "OK"))
        zactor_destroy (&self);
    free (status);
    return self;
}
