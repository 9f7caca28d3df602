/*  mk_actor: how Maekin's service actors start and how a program serves one until it is
    told to stop: the one handshake (after its signal the actor says "OK", or "ERROR" and
    why it could not start) and the one main loop (until SIGINT or SIGTERM). */
#ifndef MK_ACTOR_H_INCLUDED
#define MK_ACTOR_H_INCLUDED

#include "maekin.h"

//  Start an actor that answers with mk_actor_ready: the actor, or NULL with its reason
//  logged.
zactor_t *mk_actor_start (zactor_fn *actor, void *args);

//  In the actor, once it is set up or has failed: signal, then say "OK" (error NULL)
//  or "ERROR" and error (taken: freed here).
void mk_actor_ready (zsock_t *pipe, char *error);

//  The end of a program's main: with `error` (its settings are wrong) print it and
//  return 2; without a server (it could not start, the reason logged) return 1; else
//  serve until SIGINT or SIGTERM, stop the server and return 0.
int mk_actor_serve (const char *program, zactor_t **server_p, const char *error);

void mk_actor_test (bool verbose);

#endif
