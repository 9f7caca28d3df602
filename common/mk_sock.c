/*  mk_sock: makes every bus socket Maekin uses. */
#include "mk_sock.h"

#include "mk_limits.h"

//  Generous queues: a client may keep thousands of requests in flight and the broker
//  must not drop or block on a burst; memory is bounded by the broker's own limits.
#define MK_SOCK_HWM 200000

zsock_t *
mk_sock_new (int type, const char *endpoints)
{
    zsock_t *sock = zsock_new (type);
    assert (sock);
    zsock_set_linger (sock, 200);
    zsock_set_sndhwm (sock, MK_SOCK_HWM);
    zsock_set_rcvhwm (sock, MK_SOCK_HWM);
    //  A larger message is not read into memory: ZeroMQ drops it and the connection.
    zsock_set_maxmsgsize (sock, MK_MSG_MAX);
    if (type == ZMQ_ROUTER)
        zsock_set_router_mandatory (sock, 1);
    if (type == ZMQ_DEALER || type == ZMQ_SUB || type == ZMQ_PUB) {
        zsock_set_reconnect_ivl (sock, 100);
        zsock_set_reconnect_ivl_max (sock, 2000);
    }
    if (type == ZMQ_XPUB)
        zsock_set_xpub_verbose (sock, 1);
    bool serverish = type == ZMQ_ROUTER || type == ZMQ_XPUB || type == ZMQ_XSUB;
    if (endpoints && zsock_attach (sock, endpoints, serverish) != 0) {
        mk_error ("mk_sock: cannot attach %s socket to '%s': %s", zsock_type_str (sock), endpoints,
                  zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
        return NULL;
    }
    return sock;
}

zmsg_t *
mk_sock_recv_nowait (zsock_t *sock)
{
    void *handle = zsock_resolve (sock);
    zmq_msg_t part;
    zmq_msg_init (&part);
    if (zmq_msg_recv (&part, handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&part);
        return NULL;
    }
    //  The other parts of a message arrive with its first.
    zmsg_t *msg = zmsg_new ();
    while (true) {
        zmsg_addmem (msg, zmq_msg_data (&part), zmq_msg_size (&part));
        bool more = zmq_msg_more (&part);
        zmq_msg_close (&part);
        if (!more)
            return msg;
        zmq_msg_init (&part);
        if (zmq_msg_recv (&part, handle, 0) < 0) {
            zmq_msg_close (&part);
            zmsg_destroy (&msg);
            return NULL;
        }
    }
}

char *
mk_sock_endpoint (zsock_t *sock)
{
    return zsock_last_endpoint (sock);
}

void
mk_sock_test (bool verbose)
{
    zsock_t *router = mk_sock_new (ZMQ_ROUTER, "@tcp://127.0.0.1:*");
    assert (router);
    char *endpoint = mk_sock_endpoint (router);
    assert (strncmp (endpoint, "tcp://127.0.0.1:", 16) == 0);
    zsock_t *dealer = mk_sock_new (ZMQ_DEALER, endpoint);
    assert (dealer);
    zstr_send (dealer, "hello");
    zmsg_t *msg = zmsg_recv (router);
    assert (msg && zmsg_size (msg) == 2);
    zmsg_destroy (&msg);
    //  Receiving without waiting: nothing, then a whole message of several parts (an
    //  empty one and binary ones kept as they are), then nothing again.
    int64_t start = zclock_mono ();
    assert (mk_sock_recv_nowait (router) == NULL);
    assert (zclock_mono () - start < 100);
    zmsg_t *parts = zmsg_new ();
    zmsg_addstr (parts, "one");
    zmsg_addmem (parts, "", 0);
    zmsg_addmem (parts, "\0\1\2", 3);
    assert (zmsg_send (&parts, dealer) == 0);
    zpoller_t *poller = zpoller_new (router, NULL);
    assert (zpoller_wait (poller, 2000) == router);
    zpoller_destroy (&poller);
    msg = mk_sock_recv_nowait (router);
    assert (msg && zmsg_size (msg) == 4); //  the dealer's routing id first
    zframe_destroy (&(zframe_t *){zmsg_pop (msg)});
    assert (zframe_streq (zmsg_first (msg), "one"));
    assert (zframe_size (zmsg_next (msg)) == 0);
    zframe_t *binary = zmsg_next (msg);
    assert (zframe_size (binary) == 3 && memcmp (zframe_data (binary), "\0\1\2", 3) == 0);
    zmsg_destroy (&msg);
    assert (mk_sock_recv_nowait (router) == NULL);
    //  A message over MK_MSG_MAX never arrives (ZeroMQ drops it with its connection);
    //  the dealer connects again and what it sends next does.
    zframe_t *huge = zframe_new (NULL, MK_MSG_MAX + 1);
    memset (zframe_data (huge), 'x', zframe_size (huge));
    assert (zframe_send (&huge, dealer, 0) == 0);
    zstr_send (dealer, "after");
    poller = zpoller_new (router, NULL);
    assert (zpoller_wait (poller, 10000) == router);
    zpoller_destroy (&poller);
    msg = zmsg_recv (router);
    assert (msg && zmsg_size (msg) == 2);
    assert (zframe_streq (zmsg_last (msg), "after"));
    zmsg_destroy (&msg);
    //  Bad endpoints are refused with a logged error, not an abort.
    assert (mk_sock_new (ZMQ_ROUTER, "@nonsense://x") == NULL);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
    freen (endpoint);
}
