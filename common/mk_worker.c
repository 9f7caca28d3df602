/*  mk_worker: a worker on the bus (proto/BUS.md). */
#include "mk_worker.h"

#include "mk_msg.h"
#include "mk_sock.h"
#include "mk_wire.h"

struct _mk_worker_t {
    zsock_t *sock;      //  DEALER connected to the broker
    char **services;    //  the services offered, for READY
    size_t count;       //  how many
    int heartbeat_ms;   //  heartbeat interval
    int64_t last_sent;  //  when we last sent anything (mono ms)
    int64_t last_heard; //  when we last heard the broker (mono ms)
    int64_t last_ready; //  when we last sent READY
    uint64_t readies;   //  how many READYs we sent
};

static int
s_send (mk_worker_t *self, zmsg_t **msg_p)
{
    self->last_sent = zclock_mono ();
    int rc = zmsg_send (msg_p, self->sock);
    if (rc != 0)
        zmsg_destroy (msg_p);
    return rc;
}

static void
s_send_command (mk_worker_t *self, mk_wire_command_t command)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){mk_wire_header (command)});
    if (command == MK_WIRE_READY) {
        for (size_t i = 0; i < self->count; i++)
            zmsg_addstr (msg, self->services[i]);
        self->last_ready = zclock_mono ();
        self->readies++;
    }
    s_send (self, &msg);
}

mk_worker_t *
mk_worker_new (const char *endpoint, const char **services, size_t count)
{
    assert (count >= 1 && count <= MK_WIRE_SERVICES_MAX);
    zsock_t *sock = mk_sock_new (ZMQ_DEALER, endpoint);
    if (!sock)
        return NULL;
    mk_worker_t *self = (mk_worker_t *) zmalloc (sizeof (mk_worker_t));
    self->sock = sock;
    self->services = (char **) zmalloc (count * sizeof (char *));
    for (size_t i = 0; i < count; i++) {
        //  A name the broker would refuse is a bug of the program, not input.
        assert (mk_wire_service_name_valid (services[i]));
        self->services[i] = strdup (services[i]);
    }
    self->count = count;
    self->heartbeat_ms = MK_WIRE_HEARTBEAT_MS;
    self->last_heard = zclock_mono ();
    s_send_command (self, MK_WIRE_READY);
    return self;
}

void
mk_worker_destroy (mk_worker_t **self_p)
{
    assert (self_p);
    mk_worker_t *self = *self_p;
    if (self) {
        s_send_command (self, MK_WIRE_DISCONNECT);
        mk_sock_destroy (&self->sock);
        for (size_t i = 0; i < self->count; i++)
            free (self->services[i]);
        free (self->services);
        free (self);
        *self_p = NULL;
    }
}

zsock_t *
mk_worker_sock (mk_worker_t *self)
{
    return self->sock;
}

bool
mk_worker_pending (mk_worker_t *self)
{
    return (zsock_events (self->sock) & ZMQ_POLLIN) != 0;
}

static int
s_send_answer (mk_worker_t *self, mk_wire_command_t command, uint64_t token, Maekin__Envelope *env)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){mk_wire_header (command)});
    zmsg_append (msg, &(zframe_t *){mk_wire_id_frame (token)});
    zmsg_append (msg, &(zframe_t *){mk_msg_pack (env)});
    return s_send (self, &msg);
}

int
mk_worker_reply (mk_worker_t *self, uint64_t token, Maekin__Envelope *env)
{
    return s_send_answer (self, MK_WIRE_REPLY, token, env);
}

int
mk_worker_reply_batch (mk_worker_t *self, uint64_t token, zframe_t **answers, size_t count)
{
    ProtobufCBinaryData *replies =
        (ProtobufCBinaryData *) zmalloc ((count + 1) * sizeof (ProtobufCBinaryData));
    for (size_t i = 0; i < count; i++) {
        replies[i].data = zframe_data (answers[i]);
        replies[i].len = zframe_size (answers[i]);
    }
    Maekin__TaskBatchReply batch = MAEKIN__TASK_BATCH_REPLY__INIT;
    batch.replies = replies;
    batch.n_replies = count;
    Maekin__Envelope reply = MAEKIN__ENVELOPE__INIT;
    reply.status = MK_OK;
    reply.body_case = MAEKIN__ENVELOPE__BODY_TASK_BATCH_REPLY;
    reply.task_batch_reply = &batch;
    int rc = mk_worker_reply (self, token, &reply);
    for (size_t i = 0; i < count; i++)
        zframe_destroy (&answers[i]);
    free (replies);
    return rc;
}

int
mk_worker_progress (mk_worker_t *self, uint64_t token, Maekin__Envelope *env)
{
    return s_send_answer (self, MK_WIRE_PROGRESS, token, env);
}

int
mk_worker_reply_frame (mk_worker_t *self, uint64_t token, zframe_t **body_p)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){mk_wire_header (MK_WIRE_REPLY)});
    zmsg_append (msg, &(zframe_t *){mk_wire_id_frame (token)});
    zmsg_append (msg, body_p);
    return s_send (self, &msg);
}

static void
s_reply_status (mk_worker_t *self, uint64_t token, int status, const char *reason)
{
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.status = status;
    env.reason = (char *) reason;
    mk_worker_reply (self, token, &env);
}

//  A message from the broker, taken: 1 and *request filled if it is a request, else 0.
static int
s_take (mk_worker_t *self, zmsg_t *msg, mk_request_t *request)
{
    self->last_heard = zclock_mono ();
    int command = mk_wire_parse_header (zmsg_first (msg), NULL);
    int rc = 0;
    if (command == MK_WIRE_REQUEST && (zmsg_size (msg) == 4 || zmsg_size (msg) == 5)) {
        memset (request, 0, sizeof *request);
        zframe_t *token = zmsg_next (msg);
        zframe_t *service = zmsg_next (msg);
        zframe_t *body = zmsg_next (msg);
        zframe_t *caller = zmsg_next (msg); //  on a CURVE bus: who sent it
        if (mk_wire_id (token, &request->token) == 0
            && zframe_size (service) < sizeof request->service
            && (!caller || zframe_size (caller) == sizeof request->caller - 1)) {
            if (caller)
                memcpy (request->caller, zframe_data (caller), zframe_size (caller));
            memcpy (request->service, zframe_data (service), zframe_size (service));
            const char *why = NULL;
            request->env = mk_msg_unpack (zframe_data (body), zframe_size (body), &why);
            if (request->env)
                rc = 1;
            else {
                mk_warn ("mk_worker: request to '%s' refused: %s", request->service, why);
                s_reply_status (
                    self, request->token,
                    why == mk_msg_other_version ? MK_VERSION_UNSUPPORTED : MK_BAD_REQUEST, why);
            }
        } else
            mk_warn ("mk_worker: dropped a malformed request from the broker");
    } else if (command == MK_WIRE_DISCONNECT) {
        //  The broker does not know us (it restarted, or thought us dead): register again.
        mk_info ("mk_worker: the broker asked us to register again");
        s_send_command (self, MK_WIRE_READY);
    } else if (command != MK_WIRE_HEARTBEAT)
        mk_warn ("mk_worker: dropped an unexpected %s message from the broker",
                 mk_wire_command_name (command));
    zmsg_destroy (&msg);
    return rc;
}

int
mk_worker_recv (mk_worker_t *self, mk_request_t *request)
{
    zmsg_t *msg = zmsg_recv (self->sock);
    return msg ? s_take (self, msg, request) : -1;
}

int
mk_worker_recv_nowait (mk_worker_t *self, mk_request_t *request)
{
    zmsg_t *msg = mk_sock_recv_nowait (self->sock);
    return msg ? s_take (self, msg, request) : -1;
}

//  How long the broker may be silent: it heartbeats every MK_WIRE_BROKER_BEATS intervals.
static int64_t
s_broker_silence_ms (mk_worker_t *self)
{
    return (int64_t) self->heartbeat_ms * MK_WIRE_BROKER_BEATS * MK_WIRE_LIVENESS;
}

void
mk_worker_tick (mk_worker_t *self)
{
    //  The broker's key changing: connected again with the other one, register at once.
    if (mk_sock_rekey (self->sock))
        s_send_command (self, MK_WIRE_READY);
    int64_t now = zclock_mono ();
    int64_t dead_after = s_broker_silence_ms (self);
    if (now - self->last_heard > dead_after && now - self->last_ready > dead_after) {
        mk_debug ("mk_worker: broker silent for %d ms, registering again",
                  (int) (now - self->last_heard));
        s_send_command (self, MK_WIRE_READY);
    } else if (now - self->last_sent >= self->heartbeat_ms)
        s_send_command (self, MK_WIRE_HEARTBEAT);
}

bool
mk_worker_connected (mk_worker_t *self)
{
    return zclock_mono () - self->last_heard <= s_broker_silence_ms (self);
}

uint64_t
mk_worker_readies (mk_worker_t *self)
{
    return self->readies;
}

void
mk_worker_set_heartbeat (mk_worker_t *self, int interval_ms)
{
    assert (interval_ms > 0);
    self->heartbeat_ms = interval_ms;
}

void
mk_request_clear (mk_request_t *request)
{
    mk_msg_free (&request->env);
}

//  Reads one message from the playing broker, checks its command, returns it.
static zmsg_t *
s_expect (zsock_t *router, mk_wire_command_t command)
{
    zmsg_t *msg = zmsg_recv (router);
    assert (msg);
    zframe_t *identity = zmsg_first (msg);
    (void) identity;
    assert (mk_wire_parse_header (zmsg_next (msg), NULL) == (int) command);
    return msg;
}

//  The self-test plays the broker with a ROUTER.
void
mk_worker_test (bool verbose)
{
    zsock_t *router = mk_sock_new (ZMQ_ROUTER, "@tcp://127.0.0.1:*");
    char *endpoint = mk_sock_endpoint (router);
    const char *services[] = {"node/a", "node/b"};
    mk_worker_t *worker = mk_worker_new (endpoint, services, 2);
    mk_worker_set_heartbeat (worker, 50);

    zmsg_t *msg = s_expect (router, MK_WIRE_READY);
    assert (zmsg_size (msg) == 4);
    zframe_t *identity = zmsg_pop (msg);
    zmsg_destroy (&msg);

    //  A request with a good body comes through; a malformed one is answered with 400.
    Maekin__VmShowRequest show = MAEKIN__VM_SHOW_REQUEST__INIT;
    show.name = "web-1";
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_SHOW;
    env.vm_show = &show;
    for (int i = 0; i < 2; i++) {
        msg = zmsg_new ();
        zmsg_append (msg, &(zframe_t *){zframe_dup (identity)});
        zmsg_append (msg, &(zframe_t *){mk_wire_header (MK_WIRE_REQUEST)});
        zmsg_append (msg, &(zframe_t *){mk_wire_id_frame (100 + i)});
        zmsg_addstr (msg, "node/b");
        if (i == 0)
            zmsg_append (msg, &(zframe_t *){mk_msg_pack (&env)});
        else
            zmsg_addstr (msg, "\xff\xff not protobuf");
        zmsg_send (&msg, router);
    }
    mk_request_t request;
    assert (mk_worker_recv (worker, &request) == 1);
    assert (request.token == 100 && streq (request.service, "node/b"));
    assert (streq (request.env->vm_show->name, "web-1"));
    Maekin__Envelope answer = MAEKIN__ENVELOPE__INIT;
    answer.status = MK_OK;
    assert (mk_worker_progress (worker, request.token, &answer) == 0);
    zframe_t *packed = mk_msg_pack (&answer);
    assert (mk_worker_reply_frame (worker, request.token, &packed) == 0 && !packed);
    mk_request_clear (&request);
    assert (request.env == NULL);
    msg = s_expect (router, MK_WIRE_PROGRESS);
    zmsg_destroy (&msg);
    msg = s_expect (router, MK_WIRE_REPLY);
    zmsg_destroy (&msg);

    assert (mk_worker_recv (worker, &request) == 0);
    msg = s_expect (router, MK_WIRE_REPLY);
    assert (zmsg_size (msg) == 4);
    zframe_t *body = zmsg_last (msg);
    const char *why;
    Maekin__Envelope *status = mk_msg_unpack (zframe_data (body), zframe_size (body), &why);
    assert (status->status == MK_BAD_REQUEST && strstr (status->reason, "malformed"));
    mk_msg_free (&status);
    zmsg_destroy (&msg);

    //  Idle, it heartbeats; with the broker silent past liveness, it says READY again.
    zclock_sleep (60);
    mk_worker_tick (worker);
    msg = s_expect (router, MK_WIRE_HEARTBEAT);
    zmsg_destroy (&msg);
    assert (mk_worker_connected (worker));
    zclock_sleep (50 * MK_WIRE_BROKER_BEATS * MK_WIRE_LIVENESS + 10);
    assert (!mk_worker_connected (worker));
    mk_worker_tick (worker);
    msg = s_expect (router, MK_WIRE_READY);
    zmsg_destroy (&msg);

    //  DISCONNECT from the broker makes it register again at once.
    msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){zframe_dup (identity)});
    zmsg_append (msg, &(zframe_t *){mk_wire_header (MK_WIRE_DISCONNECT)});
    zmsg_send (&msg, router);
    assert (mk_worker_recv (worker, &request) == 0);
    msg = s_expect (router, MK_WIRE_READY);
    zmsg_destroy (&msg);

    mk_worker_destroy (&worker);
    msg = s_expect (router, MK_WIRE_DISCONNECT);
    zmsg_destroy (&msg);
    zframe_destroy (&identity);
    zsock_destroy (&router);
    freen (endpoint);
}
