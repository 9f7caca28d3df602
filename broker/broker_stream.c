/*  broker_stream: the metric and event streams (XSUB/XPUB). */
#include "broker_stream.h"

#include "mk_sock.h"

void
broker_stream_actor (zsock_t *pipe, void *args)
{
    const char **endpoints = (const char **) args;
    zsock_t *xsub = mk_sock_new (ZMQ_XSUB, endpoints[0]);
    zsock_t *xpub = mk_sock_new (ZMQ_XPUB, endpoints[1]);
    zsock_signal (pipe, 0);
    if (!xsub || !xpub) {
        zsock_destroy (&xsub);
        zsock_destroy (&xpub);
        zstr_send (pipe, "ERROR");
        return;
    }
    zstr_send (pipe, "OK");
    zpoller_t *poller = zpoller_new (pipe, xsub, xpub, NULL);
    while (true) {
        zsock_t *which = (zsock_t *) zpoller_wait (poller, -1);
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            bool stop = !command || streq (command, "$TERM");
            if (command && streq (command, "ENDPOINTS")) {
                char *in = mk_sock_endpoint (xsub), *out = mk_sock_endpoint (xpub);
                zstr_sendx (pipe, in, out, NULL);
                free (in);
                free (out);
            }
            free (command);
            if (stop)
                break;
        } else if (which == xsub || which == xpub) {
            //  Events one way, subscriptions the other; never blocks (XPUB drops for a
            //  subscriber past its high-water mark, which is what a stream should do).
            zmsg_t *msg = zmsg_recv (which);
            if (msg)
                zmsg_send (&msg, which == xsub ? xpub : xsub);
        } else if (zpoller_terminated (poller))
            break;
    }
    zpoller_destroy (&poller);
    zsock_destroy (&xsub);
    zsock_destroy (&xpub);
}

zactor_t *
broker_stream_new (const char *in, const char *out)
{
    const char *endpoints[] = {in, out};
    zactor_t *self = zactor_new (broker_stream_actor, endpoints);
    char *status = zstr_recv (self);
    if (!status || !streq (status, "OK"))
        zactor_destroy (&self);
    free (status);
    return self;
}

void
broker_stream_test (bool verbose)
{
    zactor_t *stream = broker_stream_new ("tcp://127.0.0.1:*", "tcp://127.0.0.1:*");
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
    assert (broker_stream_new ("nonsense://x", "tcp://127.0.0.1:*") == NULL);
}
