/*  mk_zap: the allow-list as a ZAP handler (mk_zap.h). */
#include "mk_zap.h"

#include "mk_actor.h"
#include "mk_curve.h"
#include "mk_log.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

struct _mk_zap_t {
    zactor_t *actor;
};

typedef struct {
    zhashx_t *keys; //  Z85 public key -> name (owned strings)
    zhashx_t *open; //  domains where any key is let in (keys only)
    uint64_t allowed, denied;
} zap_t;

//  Answers one ZAP request from the list.
static void
s_answer (zap_t *self, zsock_t *zap)
{
    zmsg_t *request = zmsg_recv (zap);
    if (!request)
        return;
    char *version = zmsg_popstr (request);
    char *sequence = zmsg_popstr (request);
    char *domain = zmsg_popstr (request);
    char *address = zmsg_popstr (request);
    char *identity = zmsg_popstr (request);
    char *mechanism = zmsg_popstr (request);
    zframe_t *credential = zmsg_pop (request);
    const char *name = NULL;
    char key[MK_CURVE_KEY_TEXT + 1] = "";
    if (mechanism && streq (mechanism, "CURVE") && credential && zframe_size (credential) == 32
        && zmq_z85_encode (key, zframe_data (credential), 32)) {
        name = (const char *) zhashx_lookup (self->keys, key);
        if (!name && domain && zhashx_lookup (self->open, domain))
            name = "a stranger";
    }
    if (name)
        self->allowed++;
    else {
        self->denied++;
        mk_debug ("zap: turned away %s from %s (%s)", *key ? key : "a client without a key",
                  address ? address : "?", mechanism ? mechanism : "?");
    }
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    zmsg_addstr (reply, sequence ? sequence : "");
    zmsg_addstr (reply, name ? "200" : "400");
    zmsg_addstr (reply, name ? "OK" : "not admitted");
    zmsg_addstr (reply, name ? key : "");
    zmsg_addmem (reply, "", 0);
    zmsg_send (&reply, zap);
    zframe_destroy (&credential);
    zstr_free (&version);
    zstr_free (&sequence);
    zstr_free (&domain);
    zstr_free (&address);
    zstr_free (&identity);
    zstr_free (&mechanism);
    zmsg_destroy (&request);
}

//  A command from the pipe; false on $TERM.
static bool
s_command (zap_t *self, zsock_t *pipe)
{
    zmsg_t *msg = zmsg_recv (pipe);
    if (!msg)
        return false;
    char *command = zmsg_popstr (msg);
    char *key = zmsg_popstr (msg);
    char *name = zmsg_popstr (msg);
    bool go_on = command && !streq (command, "$TERM");
    if (command && streq (command, "ALLOW") && key && name) {
        zhashx_update (self->keys, key, name);
        name = NULL; //  the table has it
        zsock_signal (pipe, 0);
    } else if (command && streq (command, "DENY") && key) {
        zhashx_delete (self->keys, key);
        zsock_signal (pipe, 0);
    } else if (command && streq (command, "OPEN") && key) {
        zhashx_update (self->open, key, (void *) "");
        zsock_signal (pipe, 0);
    } else if (command && streq (command, "COUNTS"))
        zsock_send (pipe, "88", self->allowed, self->denied);
    zstr_free (&command);
    zstr_free (&key);
    zstr_free (&name);
    zmsg_destroy (&msg);
    return go_on;
}

static void
s_string_free (void **item)
{
    zstr_free ((char **) item);
}

static void
s_zap_actor (zsock_t *pipe, void *args)
{
    (void) args;
    zap_t self = {zhashx_new (), zhashx_new (), 0, 0};
    zhashx_set_destructor (self.keys, s_string_free);
    zsock_t *zap = zsock_new (ZMQ_REP);
    if (!zap || zsock_bind (zap, ZAP_ENDPOINT) != 0) {
        zsock_destroy (&zap);
        zhashx_destroy (&self.keys);
        zhashx_destroy (&self.open);
        mk_actor_ready (pipe,
                        zsys_sprintf ("zap: cannot bind %s: another handler has it", ZAP_ENDPOINT));
        return;
    }
    zpoller_t *poller = zpoller_new (pipe, zap, NULL);
    mk_actor_ready (pipe, NULL);
    bool running = true;
    while (running) {
        zsock_t *which = (zsock_t *) zpoller_wait (poller, -1);
        if (which == zap)
            s_answer (&self, zap);
        else if (which == pipe)
            running = s_command (&self, pipe);
        else
            running = !zpoller_terminated (poller);
    }
    zpoller_destroy (&poller);
    zsock_unbind (zap, ZAP_ENDPOINT);
    zsock_destroy (&zap);
    zhashx_destroy (&self.keys);
    zhashx_destroy (&self.open);
}

mk_zap_t *
mk_zap_new (void)
{
    zactor_t *actor = mk_actor_start (s_zap_actor, NULL);
    if (!actor)
        return NULL;
    mk_zap_t *self = (mk_zap_t *) zmalloc (sizeof (mk_zap_t));
    assert (self);
    self->actor = actor;
    return self;
}

void
mk_zap_destroy (mk_zap_t **self_p)
{
    assert (self_p);
    mk_zap_t *self = *self_p;
    if (self) {
        zactor_destroy (&self->actor);
        free (self);
        *self_p = NULL;
    }
}

void
mk_zap_allow (mk_zap_t *self, const char *key, const char *name)
{
    zstr_sendx (self->actor, "ALLOW", key, name, NULL);
    zsock_wait (self->actor);
}

void
mk_zap_deny (mk_zap_t *self, const char *key)
{
    zstr_sendx (self->actor, "DENY", key, NULL);
    zsock_wait (self->actor);
}

void
mk_zap_open (mk_zap_t *self, const char *domain)
{
    zstr_sendx (self->actor, "OPEN", domain, NULL);
    zsock_wait (self->actor);
}

void
mk_zap_counts (mk_zap_t *self, uint64_t *allowed, uint64_t *denied)
{
    zstr_send (self->actor, "COUNTS");
    zsock_recv (self->actor, "88", allowed, denied);
}

//  One handler a process; the handshakes it decides are tested in mk_curve_test.
void
mk_zap_test (bool verbose)
{
    (void) verbose;
    mk_zap_t *zap = mk_zap_new ();
    assert (zap);
    mk_zap_t *second = mk_zap_new (); //  one handler per process
    assert (!second);
    uint64_t allowed = 1, denied = 1;
    mk_zap_counts (zap, &allowed, &denied);
    assert (allowed == 0 && denied == 0);
    mk_zap_destroy (&zap);
    zap = mk_zap_new (); //  the endpoint is free again
    assert (zap);
    mk_zap_destroy (&zap);
}
