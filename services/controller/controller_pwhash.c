/*  controller_pwhash: passwords checked and hashed on a thread of their own.
    On the pipe, a job is [job id (8 bytes)] [hash] [password] [fresh], a missing part an
    empty frame with the first byte of a flag frame saying which are there; a result is
    [job id] [ok: 1 byte] [hash or empty]. Frames that held a password are wiped before
    they are freed. */
#include "controller_pwhash.h"

#include "mk_secret.h"

#include <sodium.h>

enum { HAS_PASSWORD = 1, HAS_FRESH = 2 };

static void
s_wipe (zframe_t **frame_p)
{
    if (*frame_p)
        sodium_memzero (zframe_data (*frame_p), zframe_size (*frame_p));
    zframe_destroy (frame_p);
}

//  A frame's text as a new string (the frame may hold NULs: cut at the first).
static char *
s_text (zframe_t *frame)
{
    size_t size = zframe_size (frame);
    char *text = (char *) zmalloc (size + 1);
    memcpy (text, zframe_data (frame), size);
    return text;
}

static void
s_free_secret (char **text_p)
{
    if (*text_p)
        sodium_memzero (*text_p, strlen (*text_p));
    zstr_free (text_p);
}

//  One job, read from the pipe and answered on it.
static void
s_job (zsock_t *pipe, zmsg_t *msg)
{
    zframe_t *id = zmsg_pop (msg);
    zframe_t *flags = zmsg_pop (msg);
    zframe_t *hash_frame = zmsg_pop (msg);
    zframe_t *password_frame = zmsg_pop (msg);
    zframe_t *fresh_frame = zmsg_pop (msg);
    if (!id || zframe_size (id) != 8 || !flags || zframe_size (flags) != 1 || !fresh_frame) {
        mk_error ("pwhash: a malformed job; dropped");
        zframe_destroy (&id);
        zframe_destroy (&flags);
        zframe_destroy (&hash_frame);
        s_wipe (&password_frame);
        s_wipe (&fresh_frame);
        return;
    }
    uint8_t which = zframe_data (flags)[0];
    char *hash = s_text (hash_frame);
    char *password = s_text (password_frame);
    char *fresh = s_text (fresh_frame);
    s_wipe (&password_frame);
    s_wipe (&fresh_frame);
    zframe_destroy (&hash_frame);
    zframe_destroy (&flags);
    bool ok = true;
    if (which & HAS_PASSWORD)
        ok = mk_secret_password_check (hash, password);
    char *new_hash = NULL;
    if (ok && (which & HAS_FRESH)) {
        const char *why = NULL;
        new_hash = mk_secret_password_hash (fresh, &why);
        if (!new_hash) {
            mk_error ("pwhash: cannot hash a password: %s", why);
            ok = false;
        }
    }
    free (hash);
    s_free_secret (&password);
    s_free_secret (&fresh);
    uint8_t byte = ok;
    zmsg_t *result = zmsg_new ();
    zmsg_append (result, &id);
    zmsg_addmem (result, &byte, 1);
    zmsg_addstr (result, new_hash ? new_hash : "");
    free (new_hash);
    zmsg_send (&result, pipe);
}

static void
s_actor (zsock_t *pipe, void *args)
{
    zsock_signal (pipe, 0);
    while (true) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg)
            break;
        char *command = zmsg_size (msg) == 1 ? zmsg_popstr (msg) : NULL;
        if (command && streq (command, "$TERM")) {
            zstr_free (&command);
            zmsg_destroy (&msg);
            break;
        }
        zstr_free (&command);
        s_job (pipe, msg);
        zmsg_destroy (&msg);
    }
}

zactor_t *
controller_pwhash_new (void)
{
    return zactor_new (s_actor, NULL);
}

int
controller_pwhash_send (zactor_t *self, uint64_t job, const char *hash, const char *password,
                        const char *fresh)
{
    uint8_t which = (password ? HAS_PASSWORD : 0) | (fresh ? HAS_FRESH : 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, &job, sizeof job);
    zmsg_addmem (msg, &which, 1);
    zmsg_addstr (msg, hash ? hash : "");
    zmsg_addstr (msg, password ? password : "");
    zmsg_addstr (msg, fresh ? fresh : "");
    return zmsg_send (&msg, self);
}

int
controller_pwhash_recv (zactor_t *self, controller_pwhash_result_t *result)
{
    zsock_t *sock = zactor_sock (self);
    if (!(zsock_events (sock) & ZMQ_POLLIN))
        return -1;
    zmsg_t *msg = zmsg_recv (sock);
    if (!msg)
        return -1;
    zframe_t *id = zmsg_pop (msg);
    zframe_t *ok = zmsg_pop (msg);
    char *hash = zmsg_popstr (msg);
    assert (id && zframe_size (id) == 8 && ok && zframe_size (ok) == 1 && hash);
    memcpy (&result->job, zframe_data (id), 8);
    result->ok = zframe_data (ok)[0] != 0;
    result->hash = *hash ? hash : NULL;
    if (!*hash)
        free (hash);
    zframe_destroy (&id);
    zframe_destroy (&ok);
    zmsg_destroy (&msg);
    return 0;
}

//  The next result, waiting for it.
static void
s_wait (zactor_t *self, controller_pwhash_result_t *result)
{
    zpoller_t *poller = zpoller_new (self, NULL);
    assert (zpoller_wait (poller, 30000) == self);
    zpoller_destroy (&poller);
    assert (controller_pwhash_recv (self, result) == 0);
}

void
controller_pwhash_test (bool verbose)
{
    zactor_t *self = controller_pwhash_new ();
    controller_pwhash_result_t result;
    assert (controller_pwhash_recv (self, &result) == -1);
    //  A hash, then checks against it, in order.
    assert (controller_pwhash_send (self, 1, NULL, NULL, "correct horse") == 0);
    s_wait (self, &result);
    assert (result.job == 1 && result.ok && result.hash
            && strncmp (result.hash, "$argon2id$", 10) == 0);
    char *hash = result.hash;
    assert (controller_pwhash_send (self, 2, hash, "correct horse", NULL) == 0);
    assert (controller_pwhash_send (self, 3, hash, "wrong horse", NULL) == 0);
    assert (controller_pwhash_send (self, 4, "", "correct horse", NULL) == 0);
    s_wait (self, &result);
    assert (result.job == 2 && result.ok && !result.hash);
    s_wait (self, &result);
    assert (result.job == 3 && !result.ok && !result.hash);
    s_wait (self, &result);
    assert (result.job == 4 && !result.ok);
    //  A change: the new hash only if the old password is right.
    assert (controller_pwhash_send (self, 5, hash, "wrong horse", "battery staple") == 0);
    assert (controller_pwhash_send (self, 6, hash, "correct horse", "battery staple") == 0);
    s_wait (self, &result);
    assert (result.job == 5 && !result.ok && !result.hash);
    s_wait (self, &result);
    assert (result.job == 6 && result.ok && result.hash
            && mk_secret_password_check (result.hash, "battery staple"));
    free (result.hash);
    free (hash);
    //  A malformed job is dropped; the actor goes on.
    zstr_send (zactor_sock (self), "nonsense");
    assert (controller_pwhash_send (self, 7, NULL, NULL, "x") == 0);
    s_wait (self, &result);
    assert (result.job == 7);
    free (result.hash);
    zactor_destroy (&self);
}
