/*  broker_stream: the metric and event streams (XSUB/XPUB). */
#include "broker_stream.h"

#include "broker_keys.h"
#include "mk_sock.h"

typedef struct {
    const char *in, *out, *controller_keys;
} stream_args_t;

typedef struct {
    zsock_t *xsub, *xpub;
    char *out;            //  where the XPUB is bound, to bind it again
    broker_keys_t *keys;  //  who may publish what (CURVE), or NULL: anyone
    zsock_t *keys_in;     //  the lists the router was pushed
    uint64_t unpublished; //  messages dropped for their publisher's key
    uint64_t unheard;     //  subscriptions dropped for their subscriber's key
    bool listed;          //  the controller's first list has come
    bool early;           //  a subscription from a key unknown before it was dropped
} stream_t;

//  Cuts every subscriber's connection (they connect again at once, and subscribe anew,
//  each subscription judged by its key): a revoked key stops hearing the streams now,
//  and a subscriber turned away before the broker had the controller's first list (it
//  had just started) is heard again. Unbinding ends the connections the listener made.
static void
s_cut_subscribers (stream_t *self)
{
    zsock_unbind (self->xpub, "%s", self->out);
    //  The listener closes in ZeroMQ's I/O thread: the port may be busy a moment.
    for (int tries = 0; tries < 500 && zsock_bind (self->xpub, "%s", self->out) < 0; tries++)
        zclock_sleep (2);
    mk_info ("broker_stream: a key was revoked or expired: subscribers reconnect");
}

//  A list from the router (or "EXPIRE"): the table follows it.
static void
s_take_keys (stream_t *self)
{
    zframe_t *frame = zframe_recv (self->keys_in);
    if (!frame)
        return;
    bool cut = false;
    if (zframe_streq (frame, "EXPIRE"))
        cut = broker_keys_expire (self->keys, zclock_time ());
    else {
        const char *reason = NULL;
        char *error = NULL;
        Maekin__Envelope *env = mk_msg_unpack (zframe_data (frame), zframe_size (frame), &reason);
        if (env && env->body_case == MAEKIN__ENVELOPE__BODY_BUS_KEYS) {
            int removed = broker_keys_take (self->keys, env->bus_keys, &error);
            //  Who subscribed before the first list was judged without it: once more.
            cut = removed > 0 || (removed == 0 && !self->listed && self->early);
            self->listed |= removed >= 0;
        }
        free (error);
        mk_msg_free (&env);
    }
    zframe_destroy (&frame);
    if (cut)
        s_cut_subscribers (self);
}

//  Whether the publisher of a message (its key, as ZAP let it in) may publish its topic.
//  A message with no key came from inside the broker (inproc: the router's "bus.gone").
static bool
s_may_publish (stream_t *self, zmsg_t *msg)
{
    zframe_t *topic = zmsg_first (msg);
    const char *user = topic ? zframe_meta (topic, "User-Id") : NULL;
    if (!user)
        return true;
    if (broker_key_may_publish (broker_keys_find (self->keys, user, zclock_time ()),
                                zframe_data (topic), zframe_size (topic)))
        return true;
    if (self->unpublished++ % 1000 == 0)
        mk_warn ("broker_stream: dropped a message on '%.*s' from a key that may not publish "
                 "it (%" PRIu64 " so far)",
                 (int) (zframe_size (topic) < 64 ? zframe_size (topic) : 64),
                 (char *) zframe_data (topic), self->unpublished);
    return false;
}

//  A subscription (or its end) from a subscriber: with keys, taken only from an admitted
//  key (the XPUB is manual: what it is not told to take, it does not). One with no key
//  came from the XPUB itself (a subscriber gone) and goes on. True to pass it upstream.
static bool
s_may_listen (stream_t *self, zmsg_t *msg)
{
    zframe_t *frame = zmsg_first (msg);
    if (!frame || zframe_size (frame) < 1 || zmsg_size (msg) != 1)
        return false;
    const char *user = zframe_meta (frame, "User-Id");
    if (user && !broker_keys_find (self->keys, user, zclock_time ())) {
        self->early |= !self->listed;
        if (self->unheard++ % 1000 == 0)
            mk_info ("broker_stream: a key not on the list may not listen (%" PRIu64 " so far)",
                     self->unheard);
        return false;
    }
    byte *data = zframe_data (frame);
    zmq_setsockopt (zsock_resolve (self->xpub), data[0] ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE, data + 1,
                    zframe_size (frame) - 1);
    return true;
}

void
broker_stream_actor (zsock_t *pipe, void *args_)
{
    stream_args_t *args = (stream_args_t *) args_;
    stream_t self = {0};
    char *error = NULL;
    if (args->controller_keys && !(self.keys = broker_keys_new (args->controller_keys, &error))) {
        mk_error ("broker_stream: %s", error);
        free (error);
    }
    bool keyed = self.keys || !args->controller_keys;
    self.xsub = keyed ? mk_sock_new (ZMQ_XSUB, args->in) : NULL;
    self.xpub = keyed ? mk_sock_new (ZMQ_XPUB, args->out) : NULL;
    zsock_signal (pipe, 0);
    if (!self.xsub || !self.xpub) {
        zsock_destroy (&self.xsub);
        zsock_destroy (&self.xpub);
        broker_keys_destroy (&self.keys);
        zstr_send (pipe, "ERROR");
        return;
    }
    self.out = mk_sock_endpoint (self.xpub);
    if (self.keys)
        zsock_set_xpub_manual (self.xpub, 1);
    zpoller_t *poller = zpoller_new (pipe, self.xsub, self.xpub, NULL);
    if (self.keys) {
        self.keys_in = zsock_new (ZMQ_PULL);
        assert (self.keys_in && zsock_bind (self.keys_in, BROKER_KEYS_ENDPOINT) == 0);
        zpoller_add (poller, self.keys_in);
    }
    zstr_send (pipe, "OK");
    while (true) {
        zsock_t *which = (zsock_t *) zpoller_wait (poller, -1);
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            bool stop = !command || streq (command, "$TERM");
            if (command && streq (command, "ENDPOINTS")) {
                char *in = mk_sock_endpoint (self.xsub);
                zstr_sendx (pipe, in, self.out, NULL);
                free (in);
            }
            free (command);
            if (stop)
                break;
        } else if (which == self.xsub || which == self.xpub) {
            //  Events one way, subscriptions the other; never blocks (XPUB drops for a
            //  subscriber past its high-water mark, which is what a stream should do).
            zmsg_t *msg = zmsg_recv (which);
            bool pass = msg
                        && (!self.keys
                            || (which == self.xsub ? s_may_publish (&self, msg)
                                                   : s_may_listen (&self, msg)));
            if (pass)
                zmsg_send (&msg, which == self.xsub ? self.xpub : self.xsub);
            zmsg_destroy (&msg);
        } else if (which && which == self.keys_in)
            s_take_keys (&self);
        else if (zpoller_terminated (poller))
            break;
    }
    zpoller_destroy (&poller);
    zsock_destroy (&self.keys_in);
    zsock_destroy (&self.xsub);
    zsock_destroy (&self.xpub);
    broker_keys_destroy (&self.keys);
    free (self.out);
}

zactor_t *
broker_stream_new (const char *in, const char *out, const char *controller_keys)
{
    stream_args_t args = {in, out, controller_keys};
    zactor_t *self = zactor_new (broker_stream_actor, &args);
    char *status = zstr_recv (self);
    if (!status || !streq (status, "OK"))
        zactor_destroy (&self);
    free (status);
    return self;
}

void
broker_stream_test (bool verbose)
{
    zactor_t *stream = broker_stream_new ("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", NULL);
    assert (stream);
    zstr_send (stream, "ENDPOINTS");
    char *in, *out;
    zstr_recvx (stream, &in, &out, NULL);
    zsock_t *pub = mk_sock_new (ZMQ_PUB, in);
    zsock_t *sub = mk_sock_new (ZMQ_SUB, out);
    zsock_set_subscribe (sub, "event.vm");
    //  The subscription must cross the proxy before anything is published.
    zsock_set_rcvtimeo (sub, 100);
    char *got = NULL;
    for (int i = 0; i < 50 && !got; i++) {
        zstr_sendx (pub, "event.host", "ignored", NULL);
        zstr_sendx (pub, "event.vm", "hello", NULL);
        char *topic = NULL;
        if (zstr_recvx (sub, &topic, &got, NULL) < 0)
            got = NULL;
        else
            assert (streq (topic, "event.vm"));
        free (topic);
    }
    assert (got && streq (got, "hello"));
    free (got);
    zsock_destroy (&pub);
    zsock_destroy (&sub);
    free (in);
    free (out);
    zactor_destroy (&stream);

    //  An endpoint that cannot be bound fails the actor's start.
    assert (broker_stream_new ("nonsense://x", "tcp://127.0.0.1:*", NULL) == NULL);
}
