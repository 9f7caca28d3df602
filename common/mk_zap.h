/*  mk_zap: the broker's allow-list, as ZeroMQ's authentication protocol (ZAP, RFC 27)
    asks it. A CURVE server socket in this process asks the handler about each client's
    public key before the connection is made; a key on the list is let in (a message's
    "User-Id" property is the key that sent it, as Z85 text), any other is turned away:
    the client gets no connection, no reply, nothing to learn from. The list changes while
    the handler runs, so admitting or revoking a key needs no restart (a key taken off the
    list keeps the connections it has; the broker closes those itself).

    One handler per process: it binds inproc://zeromq.zap.01 in CZMQ's context. */
#ifndef MK_ZAP_H_INCLUDED
#define MK_ZAP_H_INCLUDED

#include "maekin.h"

typedef struct _mk_zap_t mk_zap_t;

//  Starts the handler; NULL (logged) if another one is bound already.
mk_zap_t *mk_zap_new (void);
void mk_zap_destroy (mk_zap_t **self_p);

//  Lets the key (Z85 text) in under name; takes it off the list. Take effect for the next
//  connection: the handler has them when these return.
void mk_zap_allow (mk_zap_t *self, const char *key, const char *name);
void mk_zap_deny (mk_zap_t *self, const char *key);

//  In this ZAP domain any CURVE key is let in (still under its key, so that what each
//  message may do can be decided by who sent it): the broker's request socket, where
//  a stranger may reach the enrolment door alone. Plain text is still turned away.
void mk_zap_open (mk_zap_t *self, const char *domain);

//  Connections let in and turned away so far.
void mk_zap_counts (mk_zap_t *self, uint64_t *allowed, uint64_t *denied);

void mk_zap_test (bool verbose);

#endif
