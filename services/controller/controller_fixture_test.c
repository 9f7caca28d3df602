/*  controller_fixture: what the controller's self-tests share: a real broker and the
    real controller on SQLite in a test directory, with authorisation on, and the
    administrator logged in; and the calls they make. Test code only. */
#include "controller_fixture_test.h"

#include "mk_sock.h"
#include "mk_testdir.h"
#include "mk_wire.h"

#include <sys/stat.h>

Maekin__Envelope *
controller_fixture_call (mk_client_t *client, Maekin__Envelope *env)
{
    return mk_client_call (client, "cloud", env, 5000, 0, NULL, NULL);
}

//  Waits until the controller serves 'cloud' on the broker (it registers as it starts).
void
controller_fixture_until_serving (mk_client_t *client)
{
    Maekin__HostListRequest list = MAEKIN__HOST_LIST_REQUEST__INIT;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_HOST_LIST;
    env.host_list = &list;
    for (int64_t until = zclock_mono () + 30000; zclock_mono () < until; zclock_sleep (20)) {
        Maekin__Envelope *reply = controller_fixture_call (client, &env);
        int status = reply->status;
        mk_msg_free (&reply);
        if (status == MK_OK)
            return;
    }
    assert (!"the controller serves 'cloud' within 30 s");
}

Maekin__Envelope *
controller_fixture_audit (mk_client_t *client, const char *token)
{
    Maekin__ListRequest page = MAEKIN__LIST_REQUEST__INIT;
    page.limit = 1000;
    Maekin__AuditListRequest audit = MAEKIN__AUDIT_LIST_REQUEST__INIT;
    audit.page = &page;
    Maekin__Envelope *reply =
        controller_fixture_as (client, token, MAEKIN__ENVELOPE__BODY_AUDIT_LIST, &audit);
    assert (reply->status == MK_OK && reply->body_case == MAEKIN__ENVELOPE__BODY_AUDIT_LIST_REPLY);
    return reply;
}

void
controller_fixture_user (mk_client_t *client, const char *admin_token, const char *user,
                         const char *password, char *token)
{
    Maekin__UserCreateRequest create = MAEKIN__USER_CREATE_REQUEST__INIT;
    create.name = (char *) user;
    create.password = (char *) password;
    assert (controller_fixture_status_as (client, admin_token, MAEKIN__ENVELOPE__BODY_USER_CREATE,
                                          &create, NULL)
            == MK_OK);
    assert (controller_fixture_login (client, user, password, token) == MK_OK);
}

//  Logs in: the status, and the token into token (64 bytes) if 200.
int
controller_fixture_login (mk_client_t *client, const char *user, const char *password, char *token)
{
    Maekin__LoginRequest login = MAEKIN__LOGIN_REQUEST__INIT;
    login.user = (char *) user;
    login.password = (char *) password;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_LOGIN;
    env.login = &login;
    Maekin__Envelope *reply = controller_fixture_call (client, &env);
    int status = reply->status;
    if (status == MK_OK) {
        assert (reply->body_case == MAEKIN__ENVELOPE__BODY_LOGIN_REPLY
                && strncmp (reply->login_reply->token, "mkt_", 4) == 0
                && strlen (reply->login_reply->token) == 47 && reply->login_reply->expires > 0
                && streq (reply->login_reply->user->name, user));
        snprintf (token, 64, "%s", reply->login_reply->token);
    }
    mk_msg_free (&reply);
    return status;
}

//  The administrator's password, as the controller wrote it at its first start.
char *
controller_fixture_admin_password (controller_fixture_t *self)
{
    struct stat st;
    assert (stat (self->password_file, &st) == 0 && (st.st_mode & 0777) == 0600);
    FILE *file = fopen (self->password_file, "r");
    assert (file);
    char line[128] = "";
    assert (fgets (line, sizeof line, file));
    fclose (file);
    line[strcspn (line, "\n")] = 0;
    assert (strlen (line) == 24);
    return strdup (line);
}

//  Sends one request with a body of `type`, as `token`; the reply.
Maekin__Envelope *
controller_fixture_as (mk_client_t *client, const char *token, Maekin__Envelope__BodyCase type,
                       void *body)
{
    Maekin__Credential credential = MAEKIN__CREDENTIAL__INIT;
    credential.token = (char *) token;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.credential = &credential;
    env.body_case = type;
    env.host_list = (Maekin__HostListRequest *) body;
    return controller_fixture_call (client, &env);
}

int
controller_fixture_status_as (mk_client_t *client, const char *token,
                              Maekin__Envelope__BodyCase type, void *body, const char *reason)
{
    Maekin__Envelope *reply = controller_fixture_as (client, token, type, body);
    int status = reply->status;
    if (reason && !(reply->reason && strstr (reply->reason, reason))) {
        fprintf (stderr, "expected '%s' in '%s'\n", reason, reply->reason ? reply->reason : "");
        assert (false);
    }
    mk_msg_free (&reply);
    return status;
}

controller_opts_t
controller_fixture_opts (const char *endpoint, const char *stream_in, const char *db_url,
                         const char *password_file)
{
    return (controller_opts_t){.endpoint = endpoint,
                               .stream_in = stream_in,
                               .db_url = db_url,
                               .host_timeout_ms = 1000,
                               .task_timeout_ms = 5000,
                               .cpu_ratio = 100,
                               .mem_ratio = 100,
                               .batch_max = 256,
                               .request_ttl_s = 3600,
                               .image_dirs = "/srv/images/:/var/lib/maekin/images",
                               .enforce = true,
                               .session_ttl_s = 3600,
                               .audit_keep_days = 30,
                               .admin_password_file = password_file};
}

static void
s_start (controller_fixture_t *self, const char *name, bool curve)
{
    memset (self, 0, sizeof *self);
    if (curve) {
        //  Every socket made from here takes the process's key pair at its making: the
        //  broker's serve with its own, the controller's (and the client's) connect with
        //  the controller's.
        self->broker_cert = zcert_new ();
        self->controller_cert = zcert_new ();
        self->zap = mk_zap_new ();
        assert (self->zap);
        mk_zap_open (self->zap, MK_SOCK_ZAP_REQUESTS);
        mk_sock_secure (zcert_dup (self->broker_cert), NULL, true);
    }
    self->dir = mk_testdir_new (name);
    self->url = zsys_sprintf ("sqlite:%s/state.db", self->dir);
    self->stream_in = zsys_sprintf ("inproc://%s", name);
    //  The workers' own heartbeat: a broker expecting them faster drops an idle controller
    //  (one waiting for a password's hash, say) and its client retries.
    broker_router_opts_t bopts = {
        "tcp://127.0.0.1:*", MK_WIRE_HEARTBEAT_MS, 1000, 30000, NULL, NULL};
    if (curve)
        bopts.controller_keys = zcert_public_txt (self->controller_cert);
    self->broker = broker_router_new (&bopts);
    assert (self->broker);
    zstr_send (self->broker, "ENDPOINT");
    self->endpoint = zstr_recv (self->broker);
    if (curve)
        mk_sock_secure (zcert_dup (self->controller_cert), zcert_public_txt (self->broker_cert),
                        false);
    self->password_file = zsys_sprintf ("%s/admin-password", self->dir);
    self->opts =
        controller_fixture_opts (self->endpoint, self->stream_in, self->url, self->password_file);
    self->opts.multicast_key = curve ? controller_fixture_multicast_key : NULL;
    self->controller = controller_server_new (&self->opts, NULL);
    assert (self->controller);
    self->client = mk_client_new (self->endpoint);
    //  The first login waits for the controller to be on the bus.
    char *password = controller_fixture_admin_password (self);
    int status = MK_NOT_FOUND;
    for (int64_t until = zclock_mono () + 30000; status != MK_OK && zclock_mono () < until;)
        if ((status = controller_fixture_login (self->client, "admin", password, self->token))
            != MK_OK)
            zclock_sleep (20);
    assert (status == MK_OK);
    free (password);
    mk_client_set_token (self->client, self->token);
    controller_fixture_until_serving (self->client);
}

const uint8_t controller_fixture_multicast_key[MK_CURVE_SECRET] = {
    0x6d, 0x61, 0x65, 0x6b, 0x69, 0x6e, 0x2d, 0x6d, 0x75, 0x6c, 0x74, 0x69, 0x63, 0x61, 0x73, 0x74,
    0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x66, 0x6f, 0x72, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x73, 0x2e, 0x0a};

void
controller_fixture_start (controller_fixture_t *self, const char *name)
{
    s_start (self, name, false);
}

void
controller_fixture_start_curve (controller_fixture_t *self, const char *name)
{
    s_start (self, name, true);
}

mk_client_t *
controller_fixture_client (controller_fixture_t *self, zcert_t *cert)
{
    assert (self->broker_cert);
    mk_sock_secure (zcert_dup (cert), zcert_public_txt (self->broker_cert), false);
    mk_client_t *client = mk_client_new (self->endpoint);
    assert (client);
    return client;
}

void
controller_fixture_stop (controller_fixture_t *self)
{
    mk_client_destroy (&self->client);
    zactor_destroy (&self->controller);
    zactor_destroy (&self->broker);
    freen (self->endpoint);
    freen (self->password_file);
    freen (self->stream_in);
    freen (self->url);
    mk_testdir_remove (&self->dir);
    if (self->zap) {
        mk_sock_secure (NULL, NULL, false);
        mk_zap_destroy (&self->zap);
        zcert_destroy (&self->broker_cert);
        zcert_destroy (&self->controller_cert);
    }
}
