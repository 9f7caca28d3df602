/*  mk_curve: the bus's keys (mk_curve.h). */
#include "mk_curve.h"

#include "mk_testdir.h"
#include "mk_zap.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>

//  The secret key of a certificate loaded without one.
#define NO_SECRET "0000000000000000000000000000000000000000"

//  NAME.key from a path to either file of a pair (a new string).
static char *
s_public_path (const char *path)
{
    size_t length = strlen (path);
    const char *suffix = "_secret";
    if (length > strlen (suffix) && streq (path + length - strlen (suffix), suffix))
        return zsys_sprintf ("%.*s", (int) (length - strlen (suffix)), path);
    return strdup (path);
}

int
mk_curve_keygen (const char *dir, const char *name, char **error)
{
    *error = NULL;
    if (mkdir (dir, 0700) != 0 && errno != EEXIST) {
        *error = zsys_sprintf ("cannot make the key directory %s: %s", dir, strerror (errno));
        return -1;
    }
    char *path = zsys_sprintf ("%s/%s.key", dir, name);
    char *secret = zsys_sprintf ("%s_secret", path);
    struct stat info;
    if (stat (path, &info) == 0 || stat (secret, &info) == 0)
        *error = zsys_sprintf ("%s has a key pair already (%s): remove it first to make "
                               "another",
                               name, secret);
    else {
        zcert_t *cert = zcert_new ();
        zcert_set_meta (cert, "name", "%s", name);
        //  The secret file is the owner's alone from the start (the umask of a library is
        //  not ours to change): made empty with mode 0600, then written over.
        int fd = open (secret, O_CREAT | O_EXCL | O_WRONLY, 0600);
        if (fd < 0 || close (fd) != 0 || zcert_save (cert, path) != 0 || chmod (secret, 0600) != 0)
            *error = zsys_sprintf ("cannot write the key pair %s: %s", path, strerror (errno));
        zcert_destroy (&cert);
    }
    free (path);
    free (secret);
    return *error ? -1 : 0;
}

zcert_t *
mk_curve_load (const char *secret_path, char **error)
{
    *error = NULL;
    char *path = s_public_path (secret_path);
    char *secret = zsys_sprintf ("%s_secret", path);
    struct stat info;
    zcert_t *cert = NULL;
    if (stat (secret, &info) != 0)
        *error = zsys_sprintf ("no secret key at %s: %s", secret, strerror (errno));
    else if (info.st_mode & 077)
        *error = zsys_sprintf ("the secret key %s may be read by others (mode %04o): chmod 600 "
                               "%s",
                               secret, (unsigned) (info.st_mode & 07777), secret);
    else if (!(cert = zcert_load (path)) || streq (zcert_secret_txt (cert), NO_SECRET))
        *error = zsys_sprintf ("%s is not a key pair of CZMQ's form", secret);
    if (*error)
        zcert_destroy (&cert);
    free (path);
    free (secret);
    return cert;
}

int
mk_curve_public (const char *file_or_key, char *key, char **error)
{
    *error = NULL;
    //  A file first: a path of 40 characters may well be Z85 too ('/' and '.' are in its
    //  alphabet), as /tmp/maekin-bench.XXXXXX/keys/broker.key is.
    uint8_t bytes[32];
    struct stat info;
    if (stat (file_or_key, &info) != 0 && strlen (file_or_key) == MK_CURVE_KEY_TEXT
        && zmq_z85_decode (bytes, file_or_key)) {
        memcpy (key, file_or_key, MK_CURVE_KEY_TEXT + 1);
        return 0;
    }
    char *path = s_public_path (file_or_key);
    zcert_t *cert = zcert_load (path);
    if (cert)
        memcpy (key, zcert_public_txt (cert), MK_CURVE_KEY_TEXT + 1);
    else
        *error = zsys_sprintf ("'%s' is neither a public key (40 characters of Z85) nor a key "
                               "file",
                               file_or_key);
    zcert_destroy (&cert);
    free (path);
    return *error ? -1 : 0;
}

//  Writes the secret as hex into path, a file made now (0600, never over another):
//  0, or -1 and *error.
static int
s_secret_write (const char *path, const uint8_t *secret, char **error)
{
    char hex[2 * MK_CURVE_SECRET + 1];
    sodium_bin2hex (hex, sizeof hex, secret, MK_CURVE_SECRET);
    int fd = open (path, O_CREAT | O_EXCL | O_WRONLY, 0600);
    if (fd < 0)
        *error = zsys_sprintf ("cannot make %s: %s%s", path, strerror (errno),
                               errno == EEXIST ? " (remove it first to make another)" : "");
    else {
        bool written =
            write (fd, hex, strlen (hex)) == (ssize_t) strlen (hex) && write (fd, "\n", 1) == 1;
        if (close (fd) != 0 || !written)
            *error = zsys_sprintf ("cannot write %s: %s", path, strerror (errno));
    }
    sodium_memzero (hex, sizeof hex);
    return *error ? -1 : 0;
}

int
mk_curve_secret_new (const char *path, char **error)
{
    *error = NULL;
    uint8_t secret[MK_CURVE_SECRET];
    randombytes_buf (secret, sizeof secret);
    int rc = s_secret_write (path, secret, error);
    sodium_memzero (secret, sizeof secret);
    return rc;
}

int
mk_curve_secret_save (const char *path, const uint8_t *secret, char **error)
{
    *error = NULL;
    char *temporary = zsys_sprintf ("%s.new", path);
    unlink (temporary); //  one left by a crash
    int rc = s_secret_write (temporary, secret, error);
    if (rc == 0 && rename (temporary, path) != 0) {
        *error = zsys_sprintf ("cannot write %s: %s", path, strerror (errno));
        rc = -1;
    }
    if (rc != 0)
        unlink (temporary);
    free (temporary);
    return rc;
}

int
mk_curve_secret_load (const char *path, uint8_t *secret, char **error)
{
    *error = NULL;
    struct stat info;
    char hex[2 * MK_CURVE_SECRET + 2] = "";
    FILE *file = NULL;
    if (stat (path, &info) != 0)
        *error = zsys_sprintf ("no secret at %s: %s", path, strerror (errno));
    else if (info.st_mode & 077)
        *error = zsys_sprintf ("the secret %s may be read by others (mode %04o): chmod 600 %s",
                               path, (unsigned) (info.st_mode & 07777), path);
    else if (!(file = fopen (path, "r")) || !fgets (hex, sizeof hex, file))
        *error = zsys_sprintf ("cannot read the secret %s", path);
    size_t length = strcspn (hex, "\n");
    size_t bytes = 0;
    if (!*error
        && (length != 2 * MK_CURVE_SECRET
            || sodium_hex2bin (secret, MK_CURVE_SECRET, hex, length, NULL, &bytes, NULL) != 0
            || bytes != MK_CURVE_SECRET))
        *error =
            zsys_sprintf ("%s does not hold a secret of %d bytes in hex", path, MK_CURVE_SECRET);
    if (file)
        fclose (file);
    sodium_memzero (hex, sizeof hex);
    return *error ? -1 : 0;
}

void
mk_curve_server (zsock_t *sock, zcert_t *cert, const char *domain)
{
    zsock_set_zap_domain (sock, domain);
    zcert_apply (cert, sock);
    zsock_set_curve_server (sock, 1);
}

void
mk_curve_client (zsock_t *sock, zcert_t *cert, const char *server_key)
{
    zcert_apply (cert, sock);
    zsock_set_curve_serverkey (sock, server_key);
}

//  ---------------------------------------------------------------- self-test

//  A client DEALER with a key pair (NULL: plain text) connected to the server.
static zsock_t *
s_client (zcert_t *cert, const char *server_key, const char *endpoint)
{
    zsock_t *client = zsock_new (ZMQ_DEALER);
    assert (client);
    if (cert)
        mk_curve_client (client, cert, server_key);
    assert (zsock_connect (client, "%s", endpoint) == 0);
    return client;
}

//  Waits until the handler has turned away `denied` connections (a connection is refused
//  in the handshake, before any message could pass).
static void
s_wait_denied (mk_zap_t *zap, uint64_t denied)
{
    uint64_t allowed, now = 0;
    for (int i = 0; i < 5000 && now < denied; i++) {
        mk_zap_counts (zap, &allowed, &now);
        if (now < denied)
            zclock_sleep (2);
    }
    assert (now >= denied);
}

void
mk_curve_test (bool verbose)
{
    char *dir = mk_testdir_new ("mk_curve");
    char *keys = zsys_sprintf ("%s/keys", dir);
    char *error = NULL;
    const char *names[] = {"broker", "alice", "mallory"};
    for (int i = 0; i < 3; i++)
        assert (mk_curve_keygen (keys, names[i], &error) == 0 && !error);
    assert (mk_curve_keygen (keys, "alice", &error) == -1 && strstr (error, "remove it first"));
    zstr_free (&error);
    struct stat info;
    char *alice_secret = zsys_sprintf ("%s/alice.key_secret", keys);
    assert (stat (alice_secret, &info) == 0 && (info.st_mode & 0777) == 0600);
    assert (stat (keys, &info) == 0 && (info.st_mode & 0777) == 0700);
    //  A secret others may read is refused; a missing one says how to make one.
    assert (chmod (alice_secret, 0644) == 0);
    assert (!mk_curve_load (alice_secret, &error) && strstr (error, "chmod 600"));
    zstr_free (&error);
    assert (chmod (alice_secret, 0600) == 0);
    assert (!mk_curve_load ("/nonexistent/x.key", &error) && strstr (error, "no secret key"));
    zstr_free (&error);
    char *path = zsys_sprintf ("%s/broker.key", keys);
    zcert_t *broker = mk_curve_load (path, &error);
    zcert_t *alice = mk_curve_load (alice_secret, &error);
    char *mallory_path = zsys_sprintf ("%s/mallory.key_secret", keys);
    zcert_t *mallory = mk_curve_load (mallory_path, &error);
    assert (broker && alice && mallory && !error);
    char key[MK_CURVE_KEY_TEXT + 1];
    assert (mk_curve_public (path, key, &error) == 0 && streq (key, zcert_public_txt (broker)));
    assert (mk_curve_public (zcert_public_txt (alice), key, &error) == 0);
    assert (mk_curve_public ("not a key", key, &error) == -1 && strstr (error, "Z85"));
    zstr_free (&error);
    //  A key file whose path is 40 characters of Z85 is still the file (when the test's
    //  directory leaves room for such a name).
    if (strlen (keys) + 6 < MK_CURVE_KEY_TEXT) {
        char *forty =
            zsys_sprintf ("%s/%0*d.key", keys, (int) (MK_CURVE_KEY_TEXT - strlen (keys) - 5), 7);
        assert (strlen (forty) == MK_CURVE_KEY_TEXT);
        assert (zcert_save_public (broker, forty) == 0);
        assert (mk_curve_public (forty, key, &error) == 0
                && streq (key, zcert_public_txt (broker)));
        free (forty);
    }

    //  A shared secret: made once, read back, refused when others may read it.
    char *shared = zsys_sprintf ("%s/multicast.key", keys);
    uint8_t secret[MK_CURVE_SECRET], reread[MK_CURVE_SECRET];
    assert (mk_curve_secret_new (shared, &error) == 0);
    assert (mk_curve_secret_new (shared, &error) == -1 && strstr (error, "remove it first"));
    zstr_free (&error);
    assert (mk_curve_secret_load (shared, secret, &error) == 0);
    assert (mk_curve_secret_load (shared, reread, &error) == 0 && !memcmp (secret, reread, 32));
    assert (chmod (shared, 0640) == 0);
    assert (mk_curve_secret_load (shared, secret, &error) == -1 && strstr (error, "chmod 600"));
    zstr_free (&error);
    assert (mk_curve_secret_load (alice_secret, secret, &error) == -1 && strstr (error, "in hex"));
    zstr_free (&error);
    //  A secret given is saved over what was there, its owner's alone again.
    assert (chmod (shared, 0644) == 0);
    uint8_t given[MK_CURVE_SECRET];
    memset (given, 0xa5, sizeof given);
    assert (mk_curve_secret_save (shared, given, &error) == 0 && !error);
    assert (mk_curve_secret_load (shared, reread, &error) == 0 && !memcmp (given, reread, 32));
    char *stale = zsys_sprintf ("%s.new", shared);
    assert (access (stale, F_OK) != 0);
    free (stale);
    char *nowhere = zsys_sprintf ("%s/no/such/dir/secret", dir);
    assert (mk_curve_secret_save (nowhere, given, &error) == -1 && strstr (error, "cannot make"));
    zstr_free (&error);
    free (nowhere);
    free (shared);

    //  A server with the broker's key; alice on the list, mallory not.
    mk_zap_t *zap = mk_zap_new ();
    assert (zap);
    mk_zap_allow (zap, zcert_public_txt (alice), "alice");
    zsock_t *server = zsock_new (ZMQ_ROUTER);
    assert (server);
    mk_curve_server (server, broker, "listed");
    assert (zsock_bind (server, "tcp://127.0.0.1:*") > 0);
    char *endpoint = zsock_last_endpoint (server);
    const char *server_key = zcert_public_txt (broker);

    //  Alice is let in, and the server knows her messages are hers.
    zsock_t *client = s_client (alice, server_key, endpoint);
    zstr_send (client, "hello");
    zsock_set_rcvtimeo (server, 10000);
    zmsg_t *msg = zmsg_recv (server);
    assert (msg && zmsg_size (msg) == 2);
    zframe_t *body = zmsg_last (msg);
    assert (zframe_streq (body, "hello")
            && streq (zframe_meta (body, "User-Id"), zcert_public_txt (alice)));
    zmsg_destroy (&msg);
    if (verbose)
        printf (" * an admitted key is let in, its messages marked with it\n");

    //  Mallory, and a client in plain text, are turned away: nothing of theirs arrives.
    zsock_t *stranger = s_client (mallory, server_key, endpoint);
    zstr_send (stranger, "let me in");
    s_wait_denied (zap, 1);
    zsock_t *plain = s_client (NULL, NULL, endpoint);
    zstr_send (plain, "plain text");
    //  Alice's next message arrives after anything the others could have sent.
    zstr_send (client, "again");
    msg = zmsg_recv (server);
    assert (msg && zframe_streq (zmsg_last (msg), "again"));
    zmsg_destroy (&msg);
    zsock_set_rcvtimeo (server, 0);
    assert (!zmsg_recv (server));

    //  Revoked: her next connection is turned away (the one she has is the broker's to
    //  close).
    mk_zap_deny (zap, zcert_public_txt (alice));
    zsock_t *again = s_client (alice, server_key, endpoint);
    zstr_send (again, "still me");
    s_wait_denied (zap, 2);
    uint64_t allowed, denied;
    mk_zap_counts (zap, &allowed, &denied);
    assert (allowed == 1 && denied >= 2);
    if (verbose)
        printf (" * unknown, plain-text and revoked clients get nothing\n");

    //  In an open domain any key is let in, marked with it; plain text is not.
    mk_zap_open (zap, "open");
    zsock_t *door = zsock_new (ZMQ_ROUTER);
    mk_curve_server (door, broker, "open");
    assert (zsock_bind (door, "tcp://127.0.0.1:*") > 0);
    char *door_endpoint = zsock_last_endpoint (door);
    zsock_t *knocking = s_client (mallory, server_key, door_endpoint);
    zsock_t *plain_knock = s_client (NULL, NULL, door_endpoint);
    zstr_send (plain_knock, "plain");
    zstr_send (knocking, "knock");
    zsock_set_rcvtimeo (door, 10000);
    msg = zmsg_recv (door);
    assert (msg && zframe_streq (zmsg_last (msg), "knock")
            && streq (zframe_meta (zmsg_last (msg), "User-Id"), zcert_public_txt (mallory)));
    zmsg_destroy (&msg);
    zsock_destroy (&plain_knock);
    zsock_destroy (&knocking);
    zsock_destroy (&door);
    zstr_free (&door_endpoint);

    zsock_destroy (&again);
    zsock_destroy (&plain);
    zsock_destroy (&stranger);
    zsock_destroy (&client);
    zsock_destroy (&server);
    mk_zap_destroy (&zap);
    zstr_free (&endpoint);
    zcert_destroy (&broker);
    zcert_destroy (&alice);
    zcert_destroy (&mallory);
    free (mallory_path);
    free (path);
    free (alice_secret);
    free (keys);
    mk_testdir_remove (&dir);
}
