/*  mk_actor: the services' actor handshake and main loop (mk_actor.h). */
#include "mk_actor.h"

zactor_t *
mk_actor_start (zactor_fn *actor, void *args)
{
    zactor_t *self = zactor_new (actor, args);
    assert (self);
    char *status = NULL, *error = NULL;
    zstr_recvx (self, &status, &error, NULL);
    if (!status || !streq (status, "OK")) {
        mk_error ("%s", error ? error : "the actor did not start");
        zactor_destroy (&self);
    }
    zstr_free (&status);
    zstr_free (&error);
    return self;
}

void
mk_actor_ready (zsock_t *pipe, char *error)
{
    zsock_signal (pipe, 0);
    if (error)
        zstr_sendx (pipe, "ERROR", error, NULL);
    else
        zstr_send (pipe, "OK");
    free (error);
}

int
mk_actor_serve (const char *program, zactor_t **server_p, const char *error)
{
    if (error) {
        fprintf (stderr, "%s: %s\n", program, error);
        return 2;
    }
    if (!*server_p) {
        fprintf (stderr, "%s: cannot start (the reason is logged above)\n", program);
        return 1;
    }
    //  CZMQ's handler sets zsys_interrupted on SIGINT and SIGTERM.
    while (!zsys_interrupted)
        zclock_sleep (100);
    mk_info ("stopping");
    zactor_destroy (server_p);
    return 0;
}

//  ---------------------------------------------------------------- self-test

//  An actor that starts when its argument says "good", and echoes one word.
static void
s_echo (zsock_t *pipe, void *args)
{
    bool good = streq ((const char *) args, "good");
    mk_actor_ready (pipe, good ? NULL : strdup ("mk_actor_test: told to fail"));
    while (good) {
        char *word = zstr_recv (pipe);
        bool term = !word || streq (word, "$TERM");
        if (!term)
            zstr_send (pipe, word);
        zstr_free (&word);
        if (term)
            break;
    }
}

void
mk_actor_test (bool verbose)
{
    zactor_t *actor = mk_actor_start (s_echo, "good");
    assert (actor);
    zstr_send (actor, "hello");
    char *word = zstr_recv (actor);
    assert (word && streq (word, "hello"));
    zstr_free (&word);
    zactor_destroy (&actor);
    assert (mk_actor_start (s_echo, "bad") == NULL);
    zactor_t *none = NULL;
    assert (mk_actor_serve ("mk_actor_test", &none, "bad settings") == 2);
    assert (mk_actor_serve ("mk_actor_test", &none, NULL) == 1);
}
