/*  mk_sock: makes every bus socket Maekin uses, so that socket options and security are
    set in one place. Every socket takes messages of at most MK_MSG_MAX bytes
    (mk_limits.h). Endpoints follow CZMQ: "@tcp://..." binds, ">tcp://..." connects, a
    plain endpoint uses the socket type's usual direction.

    Security is the process's, set once at its start from its configuration (the
    settings of MK_SOCK_CFG_ITEMS): with CURVE, every bus socket made after is encrypted
    and authenticated: the broker's serve with its key pair (the request socket in the
    ZAP domain MK_SOCK_ZAP_REQUESTS, the streams in MK_SOCK_ZAP_STREAMS), everyone
    else's connect with theirs to the broker's public key. A socket a client binds (the
    monitor's local view, on a private IPC endpoint) stays plain; inproc never has any. */
#ifndef MK_SOCK_H_INCLUDED
#define MK_SOCK_H_INCLUDED

#include "maekin.h"
#include "mk_cfg.h"

#define MK_SOCK_ZAP_REQUESTS "maekin"
#define MK_SOCK_ZAP_STREAMS  "maekin.stream"

//  The settings every program that reaches the broker has (in its schema).
#define MK_SOCK_CFG_ITEMS                                                                          \
    {"bus/security", MK_CFG_STR, "curve",                                                          \
     "curve: the bus encrypted and every key checked; none: plain text, for benchmarks"},          \
        {"bus/key", MK_CFG_STR, "",                                                                \
         "this program's key pair: NAME.key_secret, made by 'maekinsh admin keygen DIR NAME'"},    \
    {                                                                                              \
        "bus/broker_key", MK_CFG_STR, "",                                                          \
            "the broker's public key: its broker.key file, or its 40 characters of Z85"            \
    }

//  The process's security from its settings (MK_SOCK_CFG_ITEMS): 0, or -1 and *error (a
//  new string saying what to set). The broker serves (server), needing no broker_key.
//  CURVE without a key is refused: a bus without encryption must say bus/security=none.
int mk_sock_secure_cfg (mk_cfg_t *cfg, bool server, char **error);

//  mk_sock_secure_cfg for a program's main: false, said on stderr, if it fails.
bool mk_sock_secure_main (mk_cfg_t *cfg, const char *program);

//  For tools and benchmarks with no configuration file: CURVE when $MAEKIN_BUS_KEY names
//  a key pair (with the broker's public key in $MAEKIN_BROKER_KEY), else plain text.
//  0, or -1 and *error.
int mk_sock_secure_env (char **error);

//  The same from a key pair (taken; NULL: plain text) and the broker's public keys (one,
//  or two comma-separated; NULL when serving). Tests switch it as they need.
void mk_sock_secure (zcert_t *cert, const char *broker_key, bool server);

//  The process's key pair, or NULL when the bus is plain text.
zcert_t *mk_sock_cert (void);

//  A new socket of a ZeroMQ type (ZMQ_DEALER, ZMQ_ROUTER, ZMQ_PUB, ...) attached to the
//  endpoint(s) (comma-separated). NULL and a logged error if an endpoint is invalid or
//  cannot be bound.
zsock_t *mk_sock_new (int type, const char *endpoints);

//  Destroys a socket mk_sock_new made (and what mk_sock_rekey keeps for it).
void mk_sock_destroy (zsock_t **sock_p);

//  While the broker's key changes, bus/broker_key lists two (the new first): a client
//  socket connects with the first, and its owner calls this now and then (at its tick).
//  When the broker has ended two handshakes running with the key in use (it serves the
//  other), the socket connects again with the other one: true then (a worker says READY
//  again). Cheap, and false, with one broker key.
bool mk_sock_rekey (zsock_t *sock);

//  The same for a socket its owner watches with a socket monitor of its own (a socket
//  has one): made with no endpoint, then mk_sock_rekey_follow before it connects, and
//  each event of MK_SOCK_REKEY_EVENTS told to mk_sock_rekey_note (true: it switched).
#define MK_SOCK_REKEY_EVENTS                                                                       \
    (ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED                  \
     | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL                  \
     | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
void mk_sock_rekey_follow (zsock_t *sock, const char *endpoint);
bool mk_sock_rekey_note (zsock_t *sock, int event);

//  The real endpoint of a socket bound to an ephemeral port ("tcp://127.0.0.1:*").
//  A new string; the caller frees it.
char *mk_sock_endpoint (zsock_t *sock);

//  The next message waiting on the socket, or NULL if none is: never blocks. Cheaper
//  than asking ZMQ_EVENTS first, which costs two system calls every time.
zmsg_t *mk_sock_recv_nowait (zsock_t *sock);

void mk_sock_test (bool verbose);

#endif
