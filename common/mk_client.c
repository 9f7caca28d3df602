/*  mk_client: a client of the bus (proto/BUS.md), pipelined by correlation id. */
#include "mk_client.h"

#include "mk_msg.h"
#include "mk_sock.h"
#include "mk_wire.h"

struct _mk_client_t {
    zsock_t *sock;      //  DEALER connected to the broker
    char *endpoint;     //  the broker's request endpoint, for error messages
    uint64_t next_corr; //  the next correlation id to use
    bool last_broker;   //  the last call's answer came from the broker
    bool last_unknown;  //  the last call may have been carried out, unanswered
    char *token;        //  the credential requests carry unless they name their own
    bool packed;        //  replies keep their body packed (mk_client_set_packed)
};

mk_client_t *
mk_client_new (const char *endpoint)
{
    zsock_t *sock = mk_sock_new (ZMQ_DEALER, endpoint);
    if (!sock)
        return NULL;
    mk_client_t *self = (mk_client_t *) zmalloc (sizeof (mk_client_t));
    self->sock = sock;
    self->endpoint = strdup (endpoint);
    //  Start at a random point so that a restarted client never matches a stale reply.
    self->next_corr = ((uint64_t) randof (1 << 30) << 32) | 1;
    return self;
}

void
mk_client_destroy (mk_client_t **self_p)
{
    assert (self_p);
    mk_client_t *self = *self_p;
    if (self) {
        mk_sock_destroy (&self->sock);
        free (self->endpoint);
        mk_client_set_token (self, NULL);
        free (self);
        *self_p = NULL;
    }
}

void
mk_client_set_token (mk_client_t *self, const char *token)
{
    if (self->token)
        memset (self->token, 0, strlen (self->token));
    free (self->token);
    self->token = token && *token ? strdup (token) : NULL;
}

zsock_t *
mk_client_sock (mk_client_t *self)
{
    return self->sock;
}

void
mk_client_tick (mk_client_t *self)
{
    mk_sock_rekey (self->sock);
}

uint64_t
mk_client_send (mk_client_t *self, const char *service, Maekin__Envelope *env)
{
    uint64_t corr = self->next_corr++;
    return mk_client_send_as (self, service, corr, env) == 0 ? corr : 0;
}

int
mk_client_send_as (mk_client_t *self, const char *service, uint64_t corr, Maekin__Envelope *env)
{
    Maekin__Credential credential = MAEKIN__CREDENTIAL__INIT;
    bool stamp = self->token && !env->credential;
    if (stamp) {
        credential.token = self->token;
        env->credential = &credential;
    }
    zframe_t *body = mk_msg_pack (env);
    if (stamp)
        env->credential = NULL;
    return mk_client_send_frame_as (self, service, corr, &body);
}

int
mk_client_send_frame_as (mk_client_t *self, const char *service, uint64_t corr, zframe_t **body_p)
{
    assert (corr);
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){mk_wire_header (MK_WIRE_REQUEST)});
    zmsg_addstr (msg, service);
    zmsg_append (msg, &(zframe_t *){mk_wire_id_frame (corr)});
    zmsg_append (msg, body_p);
    //  Never blocks: a DEALER waits for a peer forever, and one whose connection ZeroMQ
    //  gave up on (a handshake refused: plain text to a CURVE broker, a wrong broker key)
    //  has none. A full queue fails the same way. The parts of a message go together.
    void *handle = zsock_resolve (self->sock);
    size_t count = zmsg_size (msg);
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        zframe_t *frame = zmsg_pop (msg);
        rc = zframe_send (&frame, handle, ZFRAME_DONTWAIT | (i + 1 < count ? ZFRAME_MORE : 0));
        zframe_destroy (&frame);
    }
    zmsg_destroy (&msg);
    return rc == 0 ? 0 : -1;
}

//  Turns a received bus message into a reply; -2 if it is not one. With `packed`, a
//  service's answer keeps its body as it came (taken out of msg).
static int
s_parse_reply (zmsg_t *msg, mk_reply_t *reply, bool packed)
{
    zframe_t *header = zmsg_first (msg);
    int command = mk_wire_parse_header (header, NULL);
    zframe_t *service = zmsg_next (msg);
    zframe_t *corr = zmsg_next (msg);
    if (!service || zframe_size (service) >= sizeof reply->service
        || mk_wire_id (corr, &reply->corr) != 0)
        return -2;
    memcpy (reply->service, zframe_data (service), zframe_size (service));
    reply->service[zframe_size (service)] = 0;
    if (command == MK_WIRE_ERROR && zmsg_size (msg) == 5) {
        zframe_t *status = zmsg_next (msg);
        zframe_t *reason = zmsg_next (msg);
        if (zframe_size (status) != 2)
            return -2;
        byte *s = zframe_data (status);
        char *text = zframe_strdup (reason);
        reply->env = mk_msg_new_status ((s[0] << 8) | s[1], "%s", text);
        free (text);
        reply->progress = false;
        reply->broker = true;
        return 0;
    }
    if ((command == MK_WIRE_REPLY || command == MK_WIRE_PROGRESS) && zmsg_size (msg) == 4) {
        zframe_t *body = zmsg_next (msg);
        reply->progress = command == MK_WIRE_PROGRESS;
        if (packed) {
            zmsg_remove (msg, body);
            reply->body = body;
            return 0;
        }
        const char *why = NULL;
        reply->env = mk_msg_unpack (zframe_data (body), zframe_size (body), &why);
        if (!reply->env)
            reply->env =
                mk_msg_new_status (MK_INTERNAL, "bad reply from '%s': %s", reply->service, why);
        reply->progress = command == MK_WIRE_PROGRESS;
        return 0;
    }
    return -2;
}

int
mk_client_recv (mk_client_t *self, mk_reply_t *reply, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : zclock_mono () + timeout_ms;
    while (true) {
        zmsg_t *msg;
        if (timeout_ms == 0) //  without a poll, which costs system calls each time
            msg = mk_sock_recv_nowait (self->sock);
        else {
            int wait = deadline < 0 ? -1 : (int) (deadline - zclock_mono ());
            if (deadline >= 0 && wait < 0)
                wait = 0;
            zmq_pollitem_t item = {zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0};
            if (zmq_poll (&item, 1, wait) <= 0)
                return -1;
            msg = zmsg_recv (self->sock);
        }
        if (!msg)
            return -1;
        memset (reply, 0, sizeof *reply);
        int rc = s_parse_reply (msg, reply, self->packed);
        zmsg_destroy (&msg);
        if (rc == 0)
            return 0;
        mk_warn ("mk_client: dropped a malformed message from the broker at '%s'", self->endpoint);
    }
}

void
mk_reply_clear (mk_reply_t *reply)
{
    mk_msg_free (&reply->env);
    zframe_destroy (&reply->body);
}

void
mk_client_set_packed (mk_client_t *self, bool packed)
{
    self->packed = packed;
}

//  One call's state across its attempts.
typedef struct {
    int timeout_ms;              //  how long one attempt waits
    mk_progress_fn *progress;    //  told of each progress reply, or NULL
    void *arg;                   //  progress's argument
    uint64_t sent[32];           //  the correlation ids of the attempts so far
    int attempts;                //  how many were sent
    int timeouts;                //  how many went unanswered
    int64_t give_up;             //  when the whole call ends (monotonic ms)
    Maekin__Envelope *answer;    //  the answer, once there is one
    Maekin__Envelope *transient; //  the last transient error, if it comes to that
    //  The request may have reached the service: an attempt went unanswered, or the
    //  broker lost the worker that held it. From then on only the service's own answer
    //  (the first answer again, by the request id) says what happened, so the broker's
    //  "no worker" (the service restarting) is tried again too.
    bool delivered;
    bool heard; //  the bus answered something of ours: it is there
} call_t;

//  Takes one reply to one of the call's attempts: an answer, or a transient error of the
//  broker's. Returns true if the call is to be tried again.
static bool
s_call_take (mk_client_t *self, call_t *call, mk_reply_t *reply)
{
    int status = reply->env->status;
    if (reply->broker
        && (status == MK_UNAVAILABLE || status == MK_TOO_MANY
            || (call->delivered && status == MK_NOT_FOUND))) {
        //  The service went away or is busy: try again shortly, same id.
        call->delivered |= status == MK_UNAVAILABLE;
        mk_msg_free (&call->transient);
        call->transient = reply->env;
        reply->env = NULL;
        return true;
    }
    call->answer = reply->env;
    reply->env = NULL;
    self->last_broker = reply->broker;
    return false;
}

//  Waits for the answer to the call's attempts until the last one times out. Returns
//  true if a transient error says to try again.
static bool
s_call_wait (mk_client_t *self, call_t *call)
{
    int64_t deadline = zclock_mono () + call->timeout_ms;
    if (deadline > call->give_up)
        deadline = call->give_up;
    bool retry = false;
    while (!call->answer && !retry) {
        int64_t left = deadline - zclock_mono ();
        mk_reply_t reply;
        //  In slices: while the broker's key changes, a socket that connected anew sends
        //  again at once (what it held for the old connection went with it).
        int slice = left > 200 ? 200 : (int) left;
        if (left <= 0 || mk_client_recv (self, &reply, slice) != 0) {
            if (mk_sock_rekey (self->sock)) {
                retry = true;
                break;
            }
            if (left > slice)
                continue;
            call->timeouts++;
            call->delivered = true;
            break;
        }
        bool ours = false;
        for (int i = 0; i < call->attempts; i++)
            ours |= reply.corr == call->sent[i];
        call->heard |= ours;
        if (ours && reply.progress) {
            if (call->progress)
                call->progress (reply.env, call->arg);
            deadline = zclock_mono () + call->timeout_ms;
        } else if (ours)
            retry = s_call_take (self, call, &reply);
        mk_reply_clear (&reply);
    }
    return retry;
}

Maekin__Envelope *
mk_client_call (mk_client_t *self, const char *service, Maekin__Envelope *env, int timeout_ms,
                int retries, mk_progress_fn *progress, void *arg)
{
    assert (!self->packed);
    char request_id[40];
    if (!env->request_id || !*env->request_id) {
        zuuid_t *uuid = zuuid_new ();
        snprintf (request_id, sizeof request_id, "%s", zuuid_str_canonical (uuid));
        zuuid_destroy (&uuid);
        env->request_id = request_id;
    }
    //  A late reply to an earlier attempt is as good as the reply to the last one. The
    //  whole call takes at most (retries + 1) * timeout_ms: silence costs one attempt;
    //  the broker's transient errors are tried again within that time, pausing longer
    //  each time.
    call_t call = {.timeout_ms = timeout_ms, .progress = progress, .arg = arg};
    call.give_up = zclock_mono () + (int64_t) (retries + 1) * timeout_ms;
    int pause = 50;
    self->last_broker = false;
    self->last_unknown = false;
    while (!call.answer && call.timeouts <= retries && call.attempts < 32
           && zclock_mono () < call.give_up) {
        uint64_t corr = mk_client_send (self, service, env);
        if (corr == 0)
            break;
        call.sent[call.attempts++] = corr;
        bool retry = s_call_wait (self, &call);
        if (retry && zclock_mono () + pause < call.give_up) {
            zclock_sleep (pause);
            pause = pause < 800 ? pause * 2 : 1000;
        }
        if (!call.answer)
            mk_debug ("mk_client: no answer from '%s' yet (attempt %d), retrying", service,
                      call.attempts);
    }
    Maekin__Envelope *answer = call.answer;
    int attempts = call.attempts;
    if (!answer && call.delivered && call.heard) {
        //  Time is up and the service may have done it: say so, not "unreachable" (the
        //  bus is there: it answered).
        self->last_unknown = true;
        answer = mk_msg_new_status (
            MK_TIMEOUT,
            "no answer from '%s' within %d ms (%d attempt%s, the last: %s); the request may "
            "have been carried out",
            service, (retries + 1) * timeout_ms, attempts, attempts == 1 ? "" : "s",
            call.transient ? call.transient->reason : "no reply");
    }
    if (!answer && call.transient) {
        answer = call.transient;
        call.transient = NULL;
        self->last_broker = true;
    }
    mk_msg_free (&call.transient);
    if (env->request_id == request_id)
        env->request_id = NULL;
    if (!answer)
        answer = mk_msg_new_status (
            MK_TIMEOUT,
            "no reply from '%s' within %d ms after %d attempt%s (is maekin-broker running at %s?)",
            service, timeout_ms, attempts, attempts == 1 ? "" : "s", self->endpoint);
    return answer;
}

bool
mk_client_last_broker (mk_client_t *self)
{
    return self->last_broker;
}

bool
mk_client_last_unknown (mk_client_t *self)
{
    return self->last_unknown;
}

//  A broker that answers each request of a script in turn: 0 stays silent, a status
//  answers that as the broker's error, MK_OK answers as the service would.
static void
s_scripted_broker (zsock_t *pipe, void *args)
{
    const int *script = (const int *) args;
    zsock_t *router = mk_sock_new (ZMQ_ROUTER, "@tcp://127.0.0.1:*");
    char *endpoint = mk_sock_endpoint (router);
    zsock_signal (pipe, 0);
    zstr_send (pipe, endpoint);
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    for (int i = 0; script[i] >= 0;) {
        void *which = zpoller_wait (poller, -1);
        if (which != router)
            break;
        zmsg_t *msg = zmsg_recv (router);
        zframe_t *identity = zmsg_pop (msg);
        zframe_destroy (&(zframe_t *){zmsg_pop (msg)}); //  header
        char *service = zmsg_popstr (msg);
        zframe_t *corr = zmsg_pop (msg);
        zmsg_destroy (&msg);
        int status = script[i++];
        if (status) {
            zmsg_t *answer = zmsg_new ();
            zmsg_append (answer, &identity);
            zmsg_append (answer, &(zframe_t *){mk_wire_header (status == MK_OK ? MK_WIRE_REPLY
                                                                               : MK_WIRE_ERROR)});
            zmsg_addstr (answer, service);
            zmsg_append (answer, &corr);
            if (status == MK_OK) {
                Maekin__Envelope ok = MAEKIN__ENVELOPE__INIT;
                ok.status = MK_OK;
                zmsg_append (answer, &(zframe_t *){mk_msg_pack (&ok)});
            } else {
                uint8_t code[2] = {(uint8_t) (status >> 8), (uint8_t) status};
                zmsg_addmem (answer, code, 2);
                zmsg_addstr (answer, "no worker serves 'cloud'");
            }
            zmsg_send (&answer, router);
        }
        zframe_destroy (&identity);
        zframe_destroy (&corr);
        free (service);
    }
    if (!zsys_interrupted)
        free (zstr_recv (pipe)); //  $TERM
    zpoller_destroy (&poller);
    freen (endpoint);
    zsock_destroy (&router);
}

//  A call against a scripted broker: its answer's status, and whether its outcome was
//  unknown.
static int
s_scripted_call (const int *script, int timeout_ms, int retries, bool *unknown)
{
    zactor_t *broker = zactor_new (s_scripted_broker, (void *) script);
    char *endpoint = zstr_recv (broker);
    mk_client_t *client = mk_client_new (endpoint);
    Maekin__VmCreateRequest create = MAEKIN__VM_CREATE_REQUEST__INIT;
    create.name = "web-1";
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_CREATE;
    env.vm_create = &create;
    Maekin__Envelope *answer =
        mk_client_call (client, "cloud", &env, timeout_ms, retries, NULL, NULL);
    int status = answer->status;
    *unknown = mk_client_last_unknown (client);
    if (*unknown)
        assert (strstr (answer->reason, "may have been carried out"));
    mk_msg_free (&answer);
    mk_client_destroy (&client);
    zactor_destroy (&broker);
    freen (endpoint);
    return status;
}

//  The self-test plays the broker with a ROUTER: it answers, errs, and stays silent.
//  A request that may have reached the service is tried until the service answers:
//  after a silent attempt, the broker's "no worker" (the service restarting) is not
//  the answer. Before any attempt could have reached it, it is.
static void
s_test_retries (void)
{
    bool unknown = false;
    assert (
        s_scripted_call ((const int[]){0, MK_NOT_FOUND, MK_NOT_FOUND, MK_OK, -1}, 300, 3, &unknown)
            == MK_OK
        && !unknown);
    assert (s_scripted_call ((const int[]){MK_NOT_FOUND, -1}, 300, 3, &unknown) == MK_NOT_FOUND
            && !unknown);
    assert (
        s_scripted_call ((const int[]){MK_UNAVAILABLE, MK_NOT_FOUND, MK_OK, -1}, 300, 3, &unknown)
            == MK_OK
        && !unknown);
    //  Time runs out with the service silent, or gone: the outcome is unknown, and the
    //  answer says so rather than "unreachable".
    assert (s_scripted_call ((const int[]){0, MK_NOT_FOUND, MK_NOT_FOUND, MK_NOT_FOUND,
                                           MK_NOT_FOUND, MK_NOT_FOUND, MK_NOT_FOUND, MK_NOT_FOUND,
                                           MK_NOT_FOUND, MK_NOT_FOUND, -1},
                             100, 1, &unknown)
                == MK_TIMEOUT
            && unknown);
}

//  What the tests against a hand-driven broker share: the broker's ROUTER, a client of
//  it, and the request the client sent as the broker received it.
typedef struct {
    zsock_t *router;            //  the broker, played by hand
    char *endpoint;             //  its endpoint
    mk_client_t *client;        //  the client under test
    Maekin__VmShowRequest show; //  the request's body
    Maekin__Envelope env;       //  the request
    uint64_t corr;              //  the request's correlation id
    zframe_t *identity;         //  the client's identity at the router
    zframe_t *header;           //  the request's header frame
    char *service;              //  the service the request named
    zframe_t *corr_frame;       //  the request's correlation frame
} fixture_t;

//  A request arrives at the broker as five frames: identity, header, service,
//  correlation id, body.
static void
s_test_request (fixture_t *fx)
{
    Maekin__VmShowRequest show = MAEKIN__VM_SHOW_REQUEST__INIT;
    fx->show = show;
    fx->show.name = "web-1";
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    fx->env = env;
    fx->env.body_case = MAEKIN__ENVELOPE__BODY_VM_SHOW;
    fx->env.vm_show = &fx->show;
    fx->corr = mk_client_send (fx->client, "cloud", &fx->env);
    assert (fx->corr);

    zmsg_t *msg = zmsg_recv (fx->router);
    assert (zmsg_size (msg) == 5);
    fx->identity = zmsg_pop (msg);
    fx->header = zmsg_pop (msg);
    assert (mk_wire_parse_header (fx->header, NULL) == MK_WIRE_REQUEST);
    fx->service = zmsg_popstr (msg);
    assert (streq (fx->service, "cloud"));
    fx->corr_frame = zmsg_pop (msg);
    zmsg_destroy (&msg);
}

//  A progress message, then the reply.
static void
s_test_progress (fixture_t *fx)
{
    Maekin__Envelope answer = MAEKIN__ENVELOPE__INIT;
    answer.status = MK_OK;
    mk_wire_command_t commands[] = {MK_WIRE_PROGRESS, MK_WIRE_REPLY};
    for (int i = 0; i < 2; i++) {
        zmsg_t *msg = zmsg_new ();
        zmsg_append (msg, &(zframe_t *){zframe_dup (fx->identity)});
        zmsg_append (msg, &(zframe_t *){mk_wire_header (commands[i])});
        zmsg_addstr (msg, fx->service);
        zmsg_append (msg, &(zframe_t *){zframe_dup (fx->corr_frame)});
        zmsg_append (msg, &(zframe_t *){mk_msg_pack (&answer)});
        zmsg_send (&msg, fx->router);
    }
    mk_reply_t reply;
    assert (mk_client_recv (fx->client, &reply, 1000) == 0);
    assert (reply.progress && reply.corr == fx->corr);
    mk_reply_clear (&reply);
    assert (mk_client_recv (fx->client, &reply, 1000) == 0);
    assert (!reply.progress && reply.corr == fx->corr && reply.env->status == MK_OK);
    assert (streq (reply.service, "cloud"));
    mk_reply_clear (&reply);
    //  Packed: the service's answer as it came, for the caller to unpack.
    mk_client_set_packed (fx->client, true);
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){zframe_dup (fx->identity)});
    zmsg_append (msg, &(zframe_t *){mk_wire_header (MK_WIRE_REPLY)});
    zmsg_addstr (msg, fx->service);
    zmsg_append (msg, &(zframe_t *){zframe_dup (fx->corr_frame)});
    zmsg_append (msg, &(zframe_t *){mk_msg_pack (&answer)});
    zmsg_send (&msg, fx->router);
    assert (mk_client_recv (fx->client, &reply, 1000) == 0);
    assert (!reply.env && reply.body && reply.corr == fx->corr);
    const char *why = NULL;
    Maekin__Envelope *unpacked =
        mk_msg_unpack (zframe_data (reply.body), zframe_size (reply.body), &why);
    assert (unpacked && unpacked->status == MK_OK);
    mk_msg_free (&unpacked);
    mk_reply_clear (&reply);
    assert (!reply.body);
    mk_client_set_packed (fx->client, false);
}

//  A broker error arrives as an envelope with status and reason; garbage from the broker
//  is skipped, not trusted.
static void
s_test_broker_error (fixture_t *fx)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){zframe_dup (fx->identity)});
    zmsg_append (msg, &(zframe_t *){mk_wire_header (MK_WIRE_ERROR)});
    zmsg_addstr (msg, "cloud");
    zmsg_append (msg, &(zframe_t *){zframe_dup (fx->corr_frame)});
    zmsg_addmem (msg, "\x01\x94", 2);
    zmsg_addstr (msg, "no worker serves 'cloud'");
    zmsg_send (&msg, fx->router);
    //  Garbage from the broker is skipped, not trusted.
    msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){zframe_dup (fx->identity)});
    zmsg_addstr (msg, "garbage");
    zmsg_send (&msg, fx->router);
    mk_reply_t reply;
    assert (mk_client_recv (fx->client, &reply, 1000) == 0);
    assert (reply.env->status == 404 && strstr (reply.env->reason, "no worker"));
    assert (reply.broker);
    mk_reply_clear (&reply);
    assert (mk_client_recv (fx->client, &reply, 50) == -1);
}

//  A call with no answer times out after its retries, keeping its request id. The
//  whole call is bounded by (retries + 1) x timeout: a machine that stalls may fit fewer
//  attempts in it, so the reason is read for how many were sent.
static void
s_test_call_timeout (fixture_t *fx)
{
    int64_t start = zclock_mono ();
    Maekin__Envelope *result = mk_client_call (fx->client, "cloud", &fx->env, 200, 2, NULL, NULL);
    const char *after = result->reason ? strstr (result->reason, " ms after ") : NULL;
    int attempts = 0;
    assert (result->status == MK_TIMEOUT && after
            && sscanf (after, " ms after %d attempt", &attempts) == 1);
    assert (attempts >= 2 && attempts <= 3);
    assert (zclock_mono () - start < 5000); //  bounded, whatever the machine's speed
    assert (zclock_mono () - start >= 600);
    mk_msg_free (&result);
    char *ids[3] = {NULL, NULL, NULL};
    for (int i = 0; i < attempts; i++) {
        zmsg_t *msg = zmsg_recv (fx->router);
        assert (zmsg_size (msg) == 5);
        zframe_t *body = zmsg_last (msg);
        const char *why;
        Maekin__Envelope *got = mk_msg_unpack (zframe_data (body), zframe_size (body), &why);
        ids[i] = strdup (got->request_id);
        mk_msg_free (&got);
        zmsg_destroy (&msg);
    }
    assert (strlen (ids[0]) == 36 && streq (ids[0], ids[1]) && (!ids[2] || streq (ids[1], ids[2])));
    for (int i = 0; i < 3; i++)
        free (ids[i]);
    assert (fx->env.request_id == NULL);
}

void
mk_client_test (bool verbose)
{
    s_test_retries ();

    fixture_t fx = {NULL};
    fx.router = mk_sock_new (ZMQ_ROUTER, "@tcp://127.0.0.1:*");
    fx.endpoint = mk_sock_endpoint (fx.router);
    fx.client = mk_client_new (fx.endpoint);
    assert (fx.client);

    s_test_request (&fx);
    s_test_progress (&fx);
    s_test_broker_error (&fx);
    s_test_call_timeout (&fx);

    freen (fx.service);
    zframe_destroy (&fx.corr_frame);
    zframe_destroy (&fx.header);
    zframe_destroy (&fx.identity);
    mk_client_destroy (&fx.client);
    zsock_destroy (&fx.router);
    freen (fx.endpoint);
}
