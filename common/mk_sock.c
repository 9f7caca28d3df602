/*  mk_sock: makes every bus socket Maekin uses. */
#include "mk_sock.h"

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
        mk_error ("mk_sock: cannot attach %s socket to '%s': %s", zsock_type_str (sock),
                  endpoints, zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
        return NULL;
    }
    return sock;
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
    //  Bad endpoints are refused with a logged error, not an abort.
    assert (mk_sock_new (ZMQ_ROUTER, "@nonsense://x") == NULL);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
    freen (endpoint);
}
