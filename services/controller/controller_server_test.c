/*  controller_server's self-test: the real controller on a real broker and SQLite, with
    a stand-in agent, driven through the client library. */
#include "controller_core.h"

#include "mk_limits.h"
#include "mk_testdir.h"
#include "mk_wire.h"

#include <sys/stat.h>

#include "broker_router.h"
#include "mk_fake_peer.h"

//  The stand-in agent's answer to one task, packed; a VM named bad-* fails, as an agent's
//  own error (not the broker's): the task fails, the host stays up.
static zframe_t *
s_fake_answer (const Maekin__Envelope *env)
{
    Maekin__TaskDispatchRequest *task = env->task_dispatch;
    assert (task && task->vm && task->vm->uuid && strlen (task->vm->uuid) == 36);
    static const char *after[] = {"",       "running", "running", "stopped", "running",
                                  "paused", "running", "stopped", "",        "stopped"};
    Maekin__TaskResultReply result = MAEKIN__TASK_RESULT_REPLY__INIT;
    result.task_id = task->task_id;
    result.ok = true;
    result.state = (char *) after[task->op];
    Maekin__Envelope reply = MAEKIN__ENVELOPE__INIT;
    reply.status = MK_OK;
    if (strncmp (task->vm->name, "bad-", 4) == 0) {
        reply.status = MK_NOT_FOUND;
        reply.reason = "domain not found";
    } else {
        reply.body_case = MAEKIN__ENVELOPE__BODY_TASK_RESULT;
        reply.task_result = &result;
    }
    return mk_msg_pack (&reply);
}

//  A batch for agent/fake: each item answered as on its own, in order; never a graceful
//  stop.
static void
s_fake_batch (mk_worker_t *worker, const mk_request_t *request)
{
    Maekin__TaskBatchRequest *batch = request->env->task_batch;
    assert (batch && batch->n_items >= 2);
    zframe_t **frames = (zframe_t **) zmalloc (batch->n_items * sizeof *frames);
    for (size_t i = 0; i < batch->n_items; i++) {
        assert (streq (batch->items[i]->service, "node/n1"));
        Maekin__Envelope *item =
            mk_msg_unpack (batch->items[i]->request.data, batch->items[i]->request.len, NULL);
        assert (item && item->task_dispatch->op != MAEKIN__VM_OP__VM_OP_STOP);
        frames[i] = s_fake_answer (item);
        mk_msg_free (&item);
    }
    mk_worker_reply_batch (worker, request->token, frames, batch->n_items);
    free (frames);
}

//  The stand-in agent for host "n1" (and agent/fake, for batches): answers every task at
//  once, as libvirt would, and counts the batches (its state).
static mk_fake_next_t
s_fake_handle (void *state, mk_worker_t *worker, const mk_request_t *request)
{
    if (streq (request->service, "agent/fake")) {
        (*(int *) state)++;
        s_fake_batch (worker, request);
        return MK_FAKE_ANSWERED;
    }
    zframe_t *answer = s_fake_answer (request->env);
    if (request->env->task_dispatch->op == MAEKIN__VM_OP__VM_OP_STOP) {
        Maekin__Envelope running = MAEKIN__ENVELOPE__INIT;
        running.status = MK_OK;
        mk_worker_progress (worker, request->token, &running);
    }
    mk_worker_reply_frame (worker, request->token, &answer);
    return MK_FAKE_ANSWERED;
}

//  "BATCHES": how many task batches the stand-in agent was sent.
static char *
s_fake_ask (void *state, const char *question, const char *arg)
{
    assert (streq (question, "BATCHES"));
    return zsys_sprintf ("%d", *(int *) state);
}

static Maekin__Envelope *
s_call (mk_client_t *client, Maekin__Envelope *env)
{
    return mk_client_call (client, "cloud", env, 5000, 0, NULL, NULL);
}

//  Registers host n1 (32 CPUs, 8 GiB) with its agent's service for batches, if any;
//  returns the status, and whether the controller asks for a full report.
static int
s_register_as (mk_client_t *client, bool full, size_t domains, const char *agent, bool *send_full)
{
    Maekin__Host host = MAEKIN__HOST__INIT;
    host.name = "n1";
    host.vcpus = 32;
    host.memory_mb = 8192;
    host.uri = "test:///default";
    Maekin__HostRegisterRequest report = MAEKIN__HOST_REGISTER_REQUEST__INIT;
    report.host = &host;
    report.full = full;
    report.agent = (char *) agent;
    report.n_domains = domains;
    Maekin__Domain domain = MAEKIN__DOMAIN__INIT;
    domain.name = "web-1";
    domain.state = "running";
    Maekin__Domain *list[] = {&domain};
    report.domains = list;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_HOST_REGISTER;
    env.host_register = &report;
    Maekin__Envelope *reply = s_call (client, &env);
    int status = reply->status;
    if (send_full)
        *send_full = status == MK_OK && reply->host_register_reply->send_full;
    mk_msg_free (&reply);
    return status;
}

//  A full report of `count` domains libvirt has and the cloud does not know: the status,
//  and how many the answer names.
static int
s_register_many (mk_client_t *client, size_t count, size_t *unexpected)
{
    Maekin__Host host = MAEKIN__HOST__INIT;
    host.name = "n1";
    host.vcpus = 32;
    host.memory_mb = 8192;
    host.uri = "test:///default";
    Maekin__Domain *domains = (Maekin__Domain *) zmalloc (count * sizeof (Maekin__Domain));
    Maekin__Domain **list = (Maekin__Domain **) zmalloc (count * sizeof (Maekin__Domain *));
    char (*names)[32] = (char (*)[32]) zmalloc (count * sizeof *names);
    for (size_t i = 0; i < count; i++) {
        domains[i] = (Maekin__Domain) MAEKIN__DOMAIN__INIT;
        snprintf (names[i], sizeof names[i], "stray-%zu", i);
        domains[i].name = names[i];
        domains[i].state = "running";
        list[i] = &domains[i];
    }
    Maekin__HostRegisterRequest report = MAEKIN__HOST_REGISTER_REQUEST__INIT;
    report.host = &host;
    report.full = true;
    report.domains = list;
    report.n_domains = count;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_HOST_REGISTER;
    env.host_register = &report;
    Maekin__Envelope *reply = s_call (client, &env);
    int status = reply->status;
    *unexpected = status == MK_OK ? reply->host_register_reply->n_unexpected : 0;
    mk_msg_free (&reply);
    free (names);
    free (list);
    free (domains);
    return status;
}

static void
s_register (mk_client_t *client, bool full, size_t domains)
{
    assert (s_register_as (client, full, domains, NULL, NULL) == MK_OK);
}

//  Sends a VM action; returns the status, and the task id in *task.
static int
s_action (mk_client_t *client, const char *vm, Maekin__VmOp op, uint64_t *task)
{
    Maekin__VmActionRequest action = MAEKIN__VM_ACTION_REQUEST__INIT;
    action.name = (char *) vm;
    action.op = op;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_ACTION;
    env.vm_action = &action;
    Maekin__Envelope *reply = s_call (client, &env);
    int status = reply->status;
    if (task)
        *task = status == MK_ACCEPTED ? reply->task_accepted->task_id : 0;
    mk_msg_free (&reply);
    return status;
}

//  Waits for a task to end; returns its final state's name (static).
static const char *
s_wait (mk_client_t *client, uint64_t id)
{
    Maekin__TaskWaitRequest wait = MAEKIN__TASK_WAIT_REQUEST__INIT;
    wait.id = id;
    wait.timeout_ms = 3000;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_WAIT;
    env.task_wait = &wait;
    Maekin__Envelope *reply = s_call (client, &env);
    assert (reply->status == MK_OK);
    const char *state = streq (reply->task_show_reply->task->state, "done") ? "done" : "failed";
    mk_msg_free (&reply);
    return state;
}

static char *
s_vm_state (mk_client_t *client, const char *name)
{
    Maekin__VmShowRequest show = MAEKIN__VM_SHOW_REQUEST__INIT;
    show.name = (char *) name;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_SHOW;
    env.vm_show = &show;
    Maekin__Envelope *reply = s_call (client, &env);
    char *state = strdup (reply->status == MK_OK ? reply->vm_show_reply->vm->state : "");
    mk_msg_free (&reply);
    return state;
}

static int
s_create (mk_client_t *client, const char *name, const char *template_, const char *request_id,
          uint64_t *task)
{
    Maekin__VmCreateRequest create = MAEKIN__VM_CREATE_REQUEST__INIT;
    create.name = (char *) name;
    create.template_ = (char *) template_;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.request_id = (char *) request_id;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_CREATE;
    env.vm_create = &create;
    Maekin__Envelope *reply = s_call (client, &env);
    int status = reply->status;
    if (task)
        *task = status == MK_ACCEPTED ? reply->task_accepted->task_id : 0;
    mk_msg_free (&reply);
    return status;
}

//  What the parts of the self-test share.
typedef struct {
    char *endpoint; //  the broker's
    controller_opts_t opts;
    zactor_t *controller;
    mk_fake_peer_t *agent; //  the stand-in agent, once started
    int batches;           //  task batches it was sent (its state)
    mk_client_t *client;   //  logged in as the administrator
    char token[64];        //  its session's token
    char *password_file;   //  where the controller put the administrator's password
} test_t;

//  Waits until the controller serves 'cloud' on the broker (it registers as it starts).
static void
s_until_serving (mk_client_t *client)
{
    Maekin__HostListRequest list = MAEKIN__HOST_LIST_REQUEST__INIT;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_HOST_LIST;
    env.host_list = &list;
    for (int64_t until = zclock_mono () + 30000; zclock_mono () < until; zclock_sleep (20)) {
        Maekin__Envelope *reply = s_call (client, &env);
        int status = reply->status;
        mk_msg_free (&reply);
        if (status == MK_OK)
            return;
    }
    assert (!"the controller serves 'cloud' within 30 s");
}

//  Logs in: the status, and the token into token (64 bytes) if 200.
static int
s_login (mk_client_t *client, const char *user, const char *password, char *token)
{
    Maekin__LoginRequest login = MAEKIN__LOGIN_REQUEST__INIT;
    login.user = (char *) user;
    login.password = (char *) password;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_LOGIN;
    env.login = &login;
    Maekin__Envelope *reply = s_call (client, &env);
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
static char *
s_admin_password (test_t *self)
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
static Maekin__Envelope *
s_as (mk_client_t *client, const char *token, Maekin__Envelope__BodyCase type, void *body)
{
    Maekin__Credential credential = MAEKIN__CREDENTIAL__INIT;
    credential.token = (char *) token;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.credential = &credential;
    env.body_case = type;
    env.host_list = (Maekin__HostListRequest *) body;
    return s_call (client, &env);
}

static int
s_status_as (mk_client_t *client, const char *token, Maekin__Envelope__BodyCase type, void *body,
             const char *reason)
{
    Maekin__Envelope *reply = s_as (client, token, type, body);
    int status = reply->status;
    if (reason && !(reply->reason && strstr (reply->reason, reason))) {
        fprintf (stderr, "expected '%s' in '%s'\n", reason, reply->reason ? reply->reason : "");
        assert (false);
    }
    mk_msg_free (&reply);
    return status;
}

//  Users and sessions: logins right and wrong, what a user who is not the administrator
//  may do, passwords, logout, disable, delete, and failed logins slowed down.
static void
s_test_users (test_t *self)
{
    mk_client_t *client = self->client;
    char alice[64], again[64], bad[64];
    Maekin__WhoamiRequest whoami = MAEKIN__WHOAMI_REQUEST__INIT;
    Maekin__Envelope *reply = s_as (client, self->token, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami);
    assert (reply->status == MK_OK && streq (reply->whoami_reply->user->name, "admin")
            && reply->whoami_reply->user->admin
            && streq (reply->whoami_reply->credential, "session")
            && reply->whoami_reply->user->sessions == 1 && reply->whoami_reply->user->last_login);
    mk_msg_free (&reply);
    //  Without a credential, only a login.
    Maekin__HostListRequest hosts = MAEKIN__HOST_LIST_REQUEST__INIT;
    assert (s_status_as (client, NULL, MAEKIN__ENVELOPE__BODY_HOST_LIST, &hosts, "log in")
            == MK_UNAUTHORIZED);
    //  A new user: by the administrator only, with a password long enough.
    Maekin__UserCreateRequest create = MAEKIN__USER_CREATE_REQUEST__INIT;
    create.name = "alice";
    create.password = "short";
    assert (
        s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_CREATE, &create, "at least")
        == MK_BAD_REQUEST);
    create.name = "Alice";
    create.password = "alice-secret-1";
    assert (
        s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_CREATE, &create, "user name")
        == MK_BAD_REQUEST);
    create.name = "alice";
    assert (s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_CREATE, &create, NULL)
            == MK_OK);
    assert (s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_CREATE, &create, "exists")
            == MK_CONFLICT);
    assert (s_login (client, "alice", "alice-secret-2", alice) == MK_UNAUTHORIZED);
    assert (s_login (client, "nobody", "alice-secret-1", alice) == MK_UNAUTHORIZED);
    assert (s_login (client, "alice", "alice-secret-1", alice) == MK_OK);
    //  Alice sees to herself only, for now.
    assert (s_status_as (client, alice, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami, NULL) == MK_OK);
    assert (s_status_as (client, alice, MAEKIN__ENVELOPE__BODY_HOST_LIST, &hosts,
                         "Virtual Infrastructure")
            == MK_FORBIDDEN);
    create.name = "mallory";
    assert (
        s_status_as (client, alice, MAEKIN__ENVELOPE__BODY_USER_CREATE, &create, "administrator")
        == MK_FORBIDDEN);
    Maekin__UserShowRequest show = MAEKIN__USER_SHOW_REQUEST__INIT;
    show.name = "admin";
    assert (s_status_as (client, alice, MAEKIN__ENVELOPE__BODY_USER_SHOW, &show, "administrator")
            == MK_FORBIDDEN);
    show.name = "alice";
    assert (s_status_as (client, alice, MAEKIN__ENVELOPE__BODY_USER_SHOW, &show, NULL) == MK_OK);
    //  Her own password: with the old one, which must be right; her other sessions end,
    //  the one she changed it in goes on.
    assert (s_login (client, "alice", "alice-secret-1", again) == MK_OK);
    Maekin__UserPasswdRequest passwd = MAEKIN__USER_PASSWD_REQUEST__INIT;
    passwd.password = "alice-secret-3";
    assert (s_status_as (client, alice, MAEKIN__ENVELOPE__BODY_USER_PASSWD, &passwd, "current")
            == MK_BAD_REQUEST);
    passwd.old_password = "wrong-password";
    assert (s_status_as (client, alice, MAEKIN__ENVELOPE__BODY_USER_PASSWD, &passwd, "wrong")
            == MK_FORBIDDEN);
    passwd.old_password = "alice-secret-1";
    passwd.name = "admin";
    assert (
        s_status_as (client, alice, MAEKIN__ENVELOPE__BODY_USER_PASSWD, &passwd, "administrator")
        == MK_FORBIDDEN);
    passwd.name = "";
    assert (s_status_as (client, alice, MAEKIN__ENVELOPE__BODY_USER_PASSWD, &passwd, NULL)
            == MK_OK);
    assert (s_status_as (client, again, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami, "not valid")
            == MK_UNAUTHORIZED);
    assert (s_status_as (client, alice, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami, NULL) == MK_OK);
    assert (s_login (client, "alice", "alice-secret-1", again) == MK_UNAUTHORIZED);
    //  Logout ends the session; its token is refused after.
    Maekin__LogoutRequest logout = MAEKIN__LOGOUT_REQUEST__INIT;
    assert (s_status_as (client, alice, MAEKIN__ENVELOPE__BODY_LOGOUT, &logout, NULL) == MK_OK);
    assert (s_status_as (client, alice, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami, "not valid")
            == MK_UNAUTHORIZED);
    //  Disabled: her live session is refused at once, and she cannot log in.
    assert (s_login (client, "alice", "alice-secret-3", alice) == MK_OK);
    Maekin__UserDisableRequest disable = MAEKIN__USER_DISABLE_REQUEST__INIT;
    disable.name = "admin";
    assert (
        s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_DISABLE, &disable, "yourself")
        == MK_CONFLICT);
    disable.name = "alice";
    assert (s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_DISABLE, &disable, NULL)
            == MK_OK);
    assert (s_status_as (client, alice, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami, NULL)
            == MK_UNAUTHORIZED);
    assert (s_login (client, "alice", "alice-secret-3", again) == MK_FORBIDDEN);
    disable.enable = true;
    assert (s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_DISABLE, &disable, NULL)
            == MK_OK);
    assert (s_login (client, "alice", "alice-secret-3", alice) == MK_OK);
    //  The list, paged by name.
    Maekin__ListRequest page = MAEKIN__LIST_REQUEST__INIT;
    page.limit = 1;
    Maekin__UserListRequest list = MAEKIN__USER_LIST_REQUEST__INIT;
    list.page = &page;
    reply = s_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_LIST, &list);
    assert (reply->status == MK_OK && reply->user_list_reply->n_users == 1
            && streq (reply->user_list_reply->users[0]->name, "admin")
            && streq (reply->user_list_reply->next, "admin"));
    mk_msg_free (&reply);
    page.after = "admin";
    reply = s_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_LIST, &list);
    assert (reply->status == MK_OK && reply->user_list_reply->n_users == 1
            && streq (reply->user_list_reply->users[0]->name, "alice")
            && reply->user_list_reply->users[0]->sessions == 1);
    mk_msg_free (&reply);
    //  Deleted: gone, and so are her sessions.
    Maekin__UserDeleteRequest delete_ = MAEKIN__USER_DELETE_REQUEST__INIT;
    delete_.name = "alice";
    assert (s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_DELETE, &delete_, NULL)
            == MK_OK);
    assert (
        s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_DELETE, &delete_, "no user")
        == MK_NOT_FOUND);
    assert (s_status_as (client, alice, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami, NULL)
            == MK_UNAUTHORIZED);
    //  Failed logins: five, then the next waits, even with the right password.
    char *password = s_admin_password (self);
    for (int i = 0; i < 5; i++)
        assert (s_login (client, "admin", "not-the-password", bad) == MK_UNAUTHORIZED);
    Maekin__LoginRequest login = MAEKIN__LOGIN_REQUEST__INIT;
    login.user = "admin";
    login.password = password;
    assert (s_status_as (client, NULL, MAEKIN__ENVELOPE__BODY_LOGIN, &login, "try again in")
            == MK_TOO_MANY);
    //  Bad input: a name that is no name, an over-long password, a session too long.
    login.user = "ad min";
    assert (s_status_as (client, NULL, MAEKIN__ENVELOPE__BODY_LOGIN, &login, "user name")
            == MK_BAD_REQUEST);
    login.user = "admin";
    login.ttl_s = 10;
    assert (s_status_as (client, NULL, MAEKIN__ENVELOPE__BODY_LOGIN, &login, "60 to")
            == MK_BAD_REQUEST);
    free (password);
    //  The administrator's session was never touched.
    assert (s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami, NULL)
            == MK_OK);
}

//  A new API key's secret into key (64 bytes): the status.
static int
s_key_create (test_t *self, const char *token, const char *name, const char *user, bool read_only,
              char *key)
{
    Maekin__ApiKeyCreateRequest create = MAEKIN__API_KEY_CREATE_REQUEST__INIT;
    create.name = (char *) name;
    create.user = (char *) user;
    create.read_only = read_only;
    Maekin__Envelope *reply =
        s_as (self->client, token, MAEKIN__ENVELOPE__BODY_APIKEY_CREATE, &create);
    int status = reply->status;
    if (status == MK_OK) {
        const Maekin__ApiKeyCreateReply *made = reply->apikey_create_reply;
        assert (strncmp (made->key, "mka_", 4) == 0 && strlen (made->key) == 47);
        assert (streq (made->api_key->name, name) && made->api_key->read_only == read_only
                && made->api_key->created > 0 && made->api_key->expires == 0);
        snprintf (key, 64, "%s", made->key);
    }
    mk_msg_free (&reply);
    return status;
}

//  API keys: made, used where a token is, read-only ones reading only, listed without
//  their secrets, revoked; another user's only by the administrator.
static void
s_test_keys (test_t *self)
{
    mk_client_t *client = self->client;
    char ci[64], ro[64], bobs[64], bob[64];
    assert (s_key_create (self, self->token, "ci", "", false, ci) == MK_OK);
    Maekin__WhoamiRequest whoami = MAEKIN__WHOAMI_REQUEST__INIT;
    Maekin__Envelope *reply = s_as (client, ci, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami);
    assert (reply->status == MK_OK && streq (reply->whoami_reply->credential, "apikey")
            && streq (reply->whoami_reply->user->name, "admin") && !reply->whoami_reply->expires);
    mk_msg_free (&reply);
    //  Names are the user's own; bad ones and bad lives are refused.
    assert (s_key_create (self, self->token, "ci", "", false, ro) == MK_CONFLICT);
    assert (s_key_create (self, self->token, "C I", "", false, ro) == MK_BAD_REQUEST);
    assert (s_key_create (self, self->token, "x", "nobody", false, ro) == MK_NOT_FOUND);
    Maekin__ApiKeyCreateRequest long_lived = MAEKIN__API_KEY_CREATE_REQUEST__INIT;
    long_lived.name = "forever";
    long_lived.ttl_days = 4000;
    assert (s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_APIKEY_CREATE, &long_lived,
                         "at most 3650 days")
            == MK_BAD_REQUEST);
    //  A read-only key reads, and changes nothing, not even its own user's keys.
    assert (s_key_create (self, ci, "ro", "", true, ro) == MK_OK);
    Maekin__HostListRequest hosts = MAEKIN__HOST_LIST_REQUEST__INIT;
    assert (s_status_as (client, ro, MAEKIN__ENVELOPE__BODY_HOST_LIST, &hosts, NULL) == MK_OK);
    Maekin__TemplateCreateRequest template_create = MAEKIN__TEMPLATE_CREATE_REQUEST__INIT;
    Maekin__Template template_ = MAEKIN__TEMPLATE__INIT;
    template_.name = "ro-made";
    template_.vcpus = 1;
    template_.memory_mb = 64;
    template_create.template_ = &template_;
    assert (s_status_as (client, ro, MAEKIN__ENVELOPE__BODY_TEMPLATE_CREATE, &template_create,
                         "read-only")
            == MK_FORBIDDEN);
    assert (s_key_create (self, ro, "more", "", false, bob) == MK_FORBIDDEN);
    assert (s_status_as (client, ro, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami, NULL) == MK_OK);
    //  Another user's keys: the administrator makes and revokes them; the user sees only
    //  their own.
    Maekin__UserCreateRequest user = MAEKIN__USER_CREATE_REQUEST__INIT;
    user.name = "bob";
    user.password = "bob-secret-1";
    assert (s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_CREATE, &user, NULL)
            == MK_OK);
    assert (s_key_create (self, self->token, "scraper", "bob", true, bobs) == MK_OK);
    assert (s_login (client, "bob", "bob-secret-1", bob) == MK_OK);
    assert (s_key_create (self, bob, "mine", "admin", false, ci) == MK_FORBIDDEN);
    Maekin__ApiKeyListRequest list = MAEKIN__API_KEY_LIST_REQUEST__INIT;
    reply = s_as (client, bob, MAEKIN__ENVELOPE__BODY_APIKEY_LIST, &list);
    assert (reply->status == MK_OK && reply->apikey_list_reply->n_api_keys == 1
            && streq (reply->apikey_list_reply->api_keys[0]->name, "scraper")
            && streq (reply->apikey_list_reply->api_keys[0]->user, "bob"));
    mk_msg_free (&reply);
    list.user = "admin";
    assert (s_status_as (client, bob, MAEKIN__ENVELOPE__BODY_APIKEY_LIST, &list, "administrator")
            == MK_FORBIDDEN);
    //  The administrator's list: everyone's, by user and name, paged.
    Maekin__ListRequest page = MAEKIN__LIST_REQUEST__INIT;
    page.limit = 2;
    list.page = &page;
    list.user = "";
    reply = s_as (client, self->token, MAEKIN__ENVELOPE__BODY_APIKEY_LIST, &list);
    assert (reply->status == MK_OK && reply->apikey_list_reply->n_api_keys == 2
            && streq (reply->apikey_list_reply->api_keys[0]->name, "ci")
            && streq (reply->apikey_list_reply->api_keys[1]->name, "ro")
            && streq (reply->apikey_list_reply->next, "admin/ro"));
    mk_msg_free (&reply);
    page.after = "admin/ro";
    reply = s_as (client, self->token, MAEKIN__ENVELOPE__BODY_APIKEY_LIST, &list);
    assert (reply->status == MK_OK && reply->apikey_list_reply->n_api_keys == 1
            && streq (reply->apikey_list_reply->api_keys[0]->user, "bob")
            && !*reply->apikey_list_reply->next);
    mk_msg_free (&reply);
    page.after = "no cursor";
    assert (
        s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_APIKEY_LIST, &list, "not a cursor")
        == MK_BAD_REQUEST);
    //  Revoked: refused at once; gone from the list; not revoked twice.
    Maekin__ApiKeyRevokeRequest revoke = MAEKIN__API_KEY_REVOKE_REQUEST__INIT;
    revoke.name = "ci";
    assert (s_status_as (client, bob, MAEKIN__ENVELOPE__BODY_APIKEY_REVOKE, &revoke, "no key")
            == MK_NOT_FOUND);
    assert (s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_APIKEY_REVOKE, &revoke, NULL)
            == MK_OK);
    assert (s_status_as (client, ci, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami, "not valid")
            == MK_UNAUTHORIZED);
    assert (
        s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_APIKEY_REVOKE, &revoke, "no key")
        == MK_NOT_FOUND);
    //  A disabled user's keys are refused; deleted, they go with the user.
    Maekin__UserDisableRequest disable = MAEKIN__USER_DISABLE_REQUEST__INIT;
    disable.name = "bob";
    assert (s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_DISABLE, &disable, NULL)
            == MK_OK);
    assert (s_status_as (client, bobs, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami, "disabled")
            == MK_UNAUTHORIZED);
    Maekin__UserDeleteRequest delete_ = MAEKIN__USER_DELETE_REQUEST__INIT;
    delete_.name = "bob";
    assert (s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_DELETE, &delete_, NULL)
            == MK_OK);
    assert (s_status_as (client, bobs, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami, "not valid")
            == MK_UNAUTHORIZED);
    revoke.name = "ro";
    assert (s_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_APIKEY_REVOKE, &revoke, NULL)
            == MK_OK);
}

//  The audit list as the administrator: the reply (status 200 asserted).
static Maekin__Envelope *
s_audit (test_t *self, const char *user, int64_t since, uint32_t limit, const char *after)
{
    Maekin__ListRequest page = MAEKIN__LIST_REQUEST__INIT;
    page.limit = limit;
    page.after = (char *) after;
    Maekin__AuditListRequest list = MAEKIN__AUDIT_LIST_REQUEST__INIT;
    list.page = &page;
    list.user = (char *) user;
    list.since = since;
    Maekin__Envelope *reply =
        s_as (self->client, self->token, MAEKIN__ENVELOPE__BODY_AUDIT_LIST, &list);
    assert (reply->status == MK_OK && reply->body_case == MAEKIN__ENVELOPE__BODY_AUDIT_LIST_REPLY);
    return reply;
}

//  The entry of the list that matches, or NULL.
static const Maekin__AuditEntry *
s_entry_of (const Maekin__AuditListReply *list, const char *user, const char *credential,
            const char *request, const char *subject, int status)
{
    for (size_t i = 0; i < list->n_entries; i++) {
        const Maekin__AuditEntry *entry = list->entries[i];
        if (streq (entry->user, user) && streq (entry->credential, credential)
            && streq (entry->request, request) && streq (entry->subject, subject)
            && entry->status == status)
            return entry;
    }
    return NULL;
}

//  The audit log holds what the user and key tests did, allowed and refused, newest
//  first; reads are not in it; the administrator alone reads it, by user, time, page.
static void
s_test_audit (test_t *self)
{
    //  Something refused without a credential, and a read (not recorded).
    Maekin__TemplateDeleteRequest doomed = MAEKIN__TEMPLATE_DELETE_REQUEST__INIT;
    doomed.name = "nothing";
    assert (s_status_as (self->client, NULL, MAEKIN__ENVELOPE__BODY_TEMPLATE_DELETE, &doomed, NULL)
            == MK_UNAUTHORIZED);
    assert (s_status_as (self->client, "mkt_forged", MAEKIN__ENVELOPE__BODY_TEMPLATE_DELETE,
                         &doomed, NULL)
            == MK_UNAUTHORIZED);
    Maekin__Envelope *reply = s_audit (self, "", 0, 1000, "");
    const Maekin__AuditListReply *list = reply->audit_list_reply;
    assert (list->n_entries > 20 && !*list->next);
    for (size_t i = 1; i < list->n_entries; i++)
        assert (list->entries[i - 1]->id > list->entries[i]->id
                && list->entries[i - 1]->time_us >= list->entries[i]->time_us);
    assert (s_entry_of (list, "", "none", "template_delete", "nothing", 401)
            && s_entry_of (list, "", "invalid", "template_delete", "nothing", 401)
            && s_entry_of (list, "", "none", "template_delete", "nothing", 401)
                   == list->entries[1]);
    assert (s_entry_of (list, "admin", "password", "login", "admin", 200));
    assert (s_entry_of (list, "nobody", "password", "login", "nobody", 401));
    //  A login's name that is no name: its words kept as what was asked, no one as who.
    assert (s_entry_of (list, "", "password", "login", "ad min", 400));
    assert (s_entry_of (list, "admin", "session", "user_create", "alice", 200));
    assert (s_entry_of (list, "admin", "session", "user_create", "alice", 409));
    const Maekin__AuditEntry *refused =
        s_entry_of (list, "alice", "session", "user_create", "mallory", 403);
    assert (refused && strstr (refused->reason, "administrator"));
    assert (s_entry_of (list, "alice", "session", "user_passwd", "", 200));
    assert (s_entry_of (list, "admin", "session", "user_disable", "alice", 200)
            && s_entry_of (list, "admin", "session", "user_enable", "alice", 200));
    assert (s_entry_of (list, "admin", "session", "apikey_create", "bob/scraper", 200));
    assert (s_entry_of (list, "admin", "apikey:ro", "template_create", "ro-made", 403));
    assert (s_entry_of (list, "admin", "session", "apikey_revoke", "ci", 200));
    assert (s_entry_of (list, "bob", "session", "apikey_create", "admin/mine", 403));
    for (size_t i = 0; i < list->n_entries; i++)
        assert (!strstr (list->entries[i]->request, "list")
                && !strstr (list->entries[i]->request, "whoami")
                && !strstr (list->entries[i]->request, "show"));
    size_t all = list->n_entries;
    uint64_t newest = list->entries[0]->id, second = list->entries[1]->id;
    mk_msg_free (&reply);
    //  Paged: the cursor is the last entry's id; the next page goes on from it.
    reply = s_audit (self, "", 0, 1, "");
    assert (reply->audit_list_reply->n_entries == 1
            && reply->audit_list_reply->entries[0]->id == newest);
    char after[24];
    snprintf (after, sizeof after, "%s", reply->audit_list_reply->next);
    mk_msg_free (&reply);
    reply = s_audit (self, "", 0, 1, after);
    assert (reply->audit_list_reply->entries[0]->id == second);
    mk_msg_free (&reply);
    //  By user, by time.
    reply = s_audit (self, "alice", 0, 1000, "");
    list = reply->audit_list_reply;
    assert (list->n_entries > 3 && list->n_entries < all);
    for (size_t i = 0; i < list->n_entries; i++)
        assert (streq (list->entries[i]->user, "alice"));
    mk_msg_free (&reply);
    reply = s_audit (self, "", zclock_time () / 1000 + 3600, 1000, "");
    assert (reply->audit_list_reply->n_entries == 0);
    mk_msg_free (&reply);
    //  Bad input, and a user who is not the administrator, refused.
    Maekin__ListRequest page = MAEKIN__LIST_REQUEST__INIT;
    page.after = "-3";
    Maekin__AuditListRequest bad = MAEKIN__AUDIT_LIST_REQUEST__INIT;
    bad.page = &page;
    assert (s_status_as (self->client, self->token, MAEKIN__ENVELOPE__BODY_AUDIT_LIST, &bad,
                         "not a cursor")
            == MK_BAD_REQUEST);
    page.after = "";
    bad.user = "Bad User";
    assert (s_status_as (self->client, self->token, MAEKIN__ENVELOPE__BODY_AUDIT_LIST, &bad,
                         "user name")
            == MK_BAD_REQUEST);
    bad.user = "";
    bad.since = -1;
    assert (s_status_as (self->client, self->token, MAEKIN__ENVELOPE__BODY_AUDIT_LIST, &bad,
                         "unix seconds")
            == MK_BAD_REQUEST);
    Maekin__UserCreateRequest create = MAEKIN__USER_CREATE_REQUEST__INIT;
    create.name = "carol";
    create.password = "carol-secret-1";
    char carol[64];
    assert (
        s_status_as (self->client, self->token, MAEKIN__ENVELOPE__BODY_USER_CREATE, &create, NULL)
        == MK_OK);
    assert (s_login (self->client, "carol", "carol-secret-1", carol) == MK_OK);
    bad.since = 0;
    assert (
        s_status_as (self->client, carol, MAEKIN__ENVELOPE__BODY_AUDIT_LIST, &bad, "administrator")
        == MK_FORBIDDEN);
    //  Request ids are each caller's own: the same id from two users is two requests,
    //  and a retry of one gets its first answer, not a second run.
    Maekin__Template template_ = MAEKIN__TEMPLATE__INIT;
    template_.name = "scoped";
    template_.vcpus = 1;
    template_.memory_mb = 64;
    Maekin__TemplateCreateRequest made = MAEKIN__TEMPLATE_CREATE_REQUEST__INIT;
    made.template_ = &template_;
    Maekin__UserPasswdRequest passwd = MAEKIN__USER_PASSWD_REQUEST__INIT;
    passwd.password = "carol-secret-2";
    passwd.old_password = "carol-secret-1";
    Maekin__Credential credential = MAEKIN__CREDENTIAL__INIT;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.credential = &credential;
    env.request_id = "shared-id-1";
    for (int i = 0; i < 2; i++) {
        credential.token = self->token;
        env.body_case = MAEKIN__ENVELOPE__BODY_TEMPLATE_CREATE;
        env.template_create = &made;
        reply = s_call (self->client, &env);
        assert (reply->status == MK_OK);
        mk_msg_free (&reply);
        //  Carol's second try finds her first answer: run again, the old password would
        //  be wrong.
        credential.token = carol;
        env.body_case = MAEKIN__ENVELOPE__BODY_USER_PASSWD;
        env.user_passwd = &passwd;
        reply = s_call (self->client, &env);
        assert (reply->status == MK_OK);
        mk_msg_free (&reply);
    }
}

static void
s_test_templates (test_t *self)
{
    mk_client_t *client = self->client;
    //  A template, and its mistakes.
    Maekin__Template tiny = MAEKIN__TEMPLATE__INIT;
    tiny.name = "tiny";
    tiny.vcpus = 1;
    tiny.memory_mb = 256;
    Maekin__TemplateCreateRequest tcreate = MAEKIN__TEMPLATE_CREATE_REQUEST__INIT;
    tcreate.template_ = &tiny;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TEMPLATE_CREATE;
    env.template_create = &tcreate;
    Maekin__Envelope *reply = s_call (client, &env);
    assert (reply->status == MK_OK && reply->template_create_reply->template_->vcpus == 1);
    mk_msg_free (&reply);
    reply = s_call (client, &env);
    assert (reply->status == MK_CONFLICT && strstr (reply->reason, "exists already"));
    mk_msg_free (&reply);
    tiny.name = "huge";
    tiny.vcpus = 0;
    reply = s_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, "vcpus"));
    mk_msg_free (&reply);
    tiny.vcpus = 1;
    tiny.kernel = "relative/vmlinuz";
    reply = s_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, "absolute"));
    mk_msg_free (&reply);
    //  Images, kernels and initrds come from the storage directories, nowhere else.
    tiny.name = "disk";
    tiny.kernel = "";
    const char *outside[] = {"/dev/sda",
                             "/srv/images",
                             "/srv/images/",
                             "/srv/imagesX/a",
                             "/srv/images/../../etc/shadow",
                             "/srv/images/./a",
                             "/srv/images//a",
                             "/srv/images/a/.."};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        tiny.image = (char *) outside[i];
        reply = s_call (client, &env);
        assert (reply->status == MK_BAD_REQUEST
                && strstr (reply->reason, "is not a file in a storage directory"));
        mk_msg_free (&reply);
    }
    tiny.image = "/var/lib/maekin/images/base.qcow2";
    tiny.kernel = "/dev/mem";
    reply = s_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, "kernel '/dev/mem'"));
    mk_msg_free (&reply);
    tiny.image = "/srv/images/debian/base.qcow2";
    tiny.kernel = "/var/lib/maekin/images/vmlinuz";
    tiny.initrd = "/var/lib/maekin/images/..initrd";
    reply = s_call (client, &env);
    assert (reply->status == MK_OK);
    mk_msg_free (&reply);
    tiny.image = tiny.initrd = "";

    //  A deleted template is gone for new VMs at once.
    tiny.name = "gone";
    tiny.kernel = "";
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TEMPLATE_CREATE;
    env.template_create = &tcreate;
    reply = s_call (client, &env);
    assert (reply->status == MK_OK);
    mk_msg_free (&reply);
    Maekin__TemplateDeleteRequest tdelete = MAEKIN__TEMPLATE_DELETE_REQUEST__INIT;
    tdelete.name = "gone";
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TEMPLATE_DELETE;
    env.template_delete = &tdelete;
    reply = s_call (client, &env);
    assert (reply->status == MK_OK);
    mk_msg_free (&reply);
    assert (s_create (client, "web-9", "gone", NULL, NULL) == MK_NOT_FOUND);
}

static void
s_test_vms (test_t *self, bool verbose)
{
    mk_client_t *client = self->client;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    Maekin__Envelope *reply = NULL;
    //  No host is up yet: nowhere to place a VM.
    assert (s_create (client, "web-1", "tiny", NULL, NULL) == MK_INSUFFICIENT);
    const char *services[] = {"node/n1", "agent/fake"};
    self->agent =
        mk_fake_peer_new (self->endpoint, services, 2, s_fake_handle, s_fake_ask, &self->batches);
    s_register (client, true, 0);

    //  Create, with a request id; the retry gets the first answer and makes nothing new.
    uint64_t task = 0, again = 0;
    assert (s_create (client, "web-1", "tiny", "req-create-1", &task) == MK_ACCEPTED);
    assert (s_create (client, "web-1", "tiny", "req-create-1", &again) == MK_ACCEPTED);
    assert (task && again == task);
    //  A request id MySQL would read as another (trailing blank) or a control: refused.
    assert (s_create (client, "web-8", "tiny", "req 1 ", NULL) == MK_BAD_REQUEST);
    assert (s_create (client, "web-8", "tiny", "req\t2", NULL) == MK_BAD_REQUEST);
    //  The same id with another request is refused, not answered with the first answer.
    assert (s_create (client, "web-8", "tiny", "req-create-1", NULL) == MK_UNPROCESSABLE);
    Maekin__VmActionRequest stop = MAEKIN__VM_ACTION_REQUEST__INIT;
    stop.name = "web-1";
    stop.op = MAEKIN__VM_OP__VM_OP_STOP;
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_ACTION;
    env.vm_action = &stop;
    env.request_id = "req-create-1";
    reply = s_call (client, &env);
    assert (reply->status == MK_UNPROCESSABLE
            && strstr (reply->reason, "'req-create-1' was already used for another request"));
    mk_msg_free (&reply);
    assert (streq (s_wait (client, task), "done"));
    char *state = s_vm_state (client, "web-1");
    assert (streq (state, "running"));
    free (state);
    assert (s_create (client, "web-1", "tiny", NULL, NULL) == MK_CONFLICT);
    assert (s_create (client, "Bad Name", "tiny", NULL, NULL) == MK_BAD_REQUEST);
    assert (s_create (client, "web-2", "nothing", NULL, NULL) == MK_NOT_FOUND);

    //  An agent's own 404 fails the task; it does not take the host down.
    assert (s_create (client, "bad-1", "tiny", NULL, &task) == MK_ACCEPTED);
    assert (streq (s_wait (client, task), "failed"));
    state = s_vm_state (client, "bad-1");
    assert (streq (state, "error"));
    free (state);
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_SUSPEND, &task) == MK_ACCEPTED);
    assert (streq (s_wait (client, task), "done"));
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_RESUME, &task) == MK_ACCEPTED);
    assert (streq (s_wait (client, task), "done"));

    //  The lifecycle; illegal transitions are refused with 409.
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_START, NULL) == MK_CONFLICT);
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_DELETE, NULL) == MK_CONFLICT);
    assert (s_action (client, "nothing", MAEKIN__VM_OP__VM_OP_STOP, NULL) == MK_NOT_FOUND);
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_CREATE, NULL) == MK_BAD_REQUEST);
    Maekin__VmOp ops[] = {MAEKIN__VM_OP__VM_OP_SUSPEND, MAEKIN__VM_OP__VM_OP_RESUME,
                          MAEKIN__VM_OP__VM_OP_REBOOT,  MAEKIN__VM_OP__VM_OP_STOP,
                          MAEKIN__VM_OP__VM_OP_START,   MAEKIN__VM_OP__VM_OP_DESTROY};
    const char *expect[] = {"paused", "running", "running", "stopped", "running", "stopped"};
    for (int i = 0; i < 6; i++) {
        assert (s_action (client, "web-1", ops[i], &task) == MK_ACCEPTED);
        assert (streq (s_wait (client, task), "done"));
        state = s_vm_state (client, "web-1");
        if (verbose)
            printf ("  %s -> %s\n", controller_fsm_op_name (ops[i]), state);
        assert (streq (state, expect[i]));
        free (state);
    }
}

static void
s_test_restart (test_t *self)
{
    mk_client_t *client = self->client;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    Maekin__Envelope *reply = NULL;
    char *state = NULL;
    uint64_t task = 0;
    //  The controller restarts; what it accepted is still there.
    zactor_destroy (&self->controller);
    self->controller = controller_server_new (&self->opts, NULL);
    assert (self->controller);
    s_until_serving (client);
    state = s_vm_state (client, "web-1");
    assert (streq (state, "stopped"));
    free (state);
    s_register (client, true, 0);

    //  The host lost the VM (an agent restarted on a fresh test driver): a full report
    //  without it makes the controller define it again.
    s_register (client, true, 0);
    Maekin__TaskListRequest tlist = MAEKIN__TASK_LIST_REQUEST__INIT;
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_LIST;
    env.task_list = &tlist;
    reply = s_call (client, &env);
    assert (reply->status == MK_OK && reply->task_list_reply->n_tasks >= 8);
    assert (reply->task_list_reply->tasks[0]->op == MAEKIN__VM_OP__VM_OP_DEFINE);
    mk_msg_free (&reply);

    //  Delete, then the events tell the whole story in order.
    assert (s_action (client, "web-1", MAEKIN__VM_OP__VM_OP_DELETE, &task) == MK_ACCEPTED);
    assert (streq (s_wait (client, task), "done"));
    state = s_vm_state (client, "web-1");
    assert (streq (state, ""));
    free (state);
    Maekin__EventsSinceRequest since = MAEKIN__EVENTS_SINCE_REQUEST__INIT;
    since.stream = "event.vm";
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_EVENTS_SINCE;
    env.events_since = &since;
    reply = s_call (client, &env);
    assert (reply->status == MK_OK);
    Maekin__EventsSinceReply *events = reply->events_since_reply;
    assert (events->n_events >= 14);
    for (size_t i = 0; i < events->n_events; i++)
        assert (events->events[i]->seq == i + 1);
    assert (streq (events->events[0]->state, "creating"));
    assert (streq (events->events[events->n_events - 1]->state, "deleted"));
    mk_msg_free (&reply);
}

static void
s_test_bad_input (test_t *self)
{
    mk_client_t *client = self->client;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    Maekin__Envelope *reply = NULL;
    Maekin__EventsSinceRequest since = MAEKIN__EVENTS_SINCE_REQUEST__INIT;
    Maekin__TaskListRequest tlist = MAEKIN__TASK_LIST_REQUEST__INIT;
    //  Bad input: a reply sent as a request, an unknown stream, a stranger.
    Maekin__TaskAccepted bogus = MAEKIN__TASK_ACCEPTED__INIT;
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_ACCEPTED;
    env.task_accepted = &bogus;
    reply = s_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, "not a request"));
    mk_msg_free (&reply);
    since.stream = "event.nope";
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_EVENTS_SINCE;
    env.events_since = &since;
    reply = s_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST);
    mk_msg_free (&reply);
    //  A stranger: another user's name on the administrator's token, a forged token.
    Maekin__Credential who = MAEKIN__CREDENTIAL__INIT;
    who.user = "mallory";
    who.token = self->token;
    env.credential = &who;
    reply = s_call (client, &env);
    assert (reply->status == MK_UNAUTHORIZED && strstr (reply->reason, "another user"));
    mk_msg_free (&reply);
    who.user = NULL;
    who.token = "mkt_forgedforgedforgedforgedforgedforgedfor";
    reply = s_call (client, &env);
    assert (reply->status == MK_UNAUTHORIZED && strstr (reply->reason, "not valid"));
    mk_msg_free (&reply);
    //  Lists say what they allow: a page of at most MK_LIST_MAX, a known state, a cursor
    //  of the list's own kind; events too.
    Maekin__ListRequest page = MAEKIN__LIST_REQUEST__INIT;
    Maekin__VmListRequest vlist = MAEKIN__VM_LIST_REQUEST__INIT;
    vlist.page = &page;
    struct {
        uint32_t limit;
        const char *state, *after, *expect;
    } pages[] = {{MK_LIST_MAX + 1, "", "", "at most 1000"},
                 {0, "runing", "", "no state 'runing' to filter by (creating, running"},
                 {0, "", "not a name!", "is not a cursor of this list"},
                 {MK_LIST_MAX, "running", "a", NULL}};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        page.limit = pages[i].limit;
        page.filter_state = (char *) pages[i].state;
        page.after = (char *) pages[i].after;
        env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
        env.body_case = MAEKIN__ENVELOPE__BODY_VM_LIST;
        env.vm_list = &vlist;
        reply = s_call (client, &env);
        if (pages[i].expect)
            assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, pages[i].expect));
        else
            assert (reply->status == MK_OK);
        mk_msg_free (&reply);
    }
    page = (Maekin__ListRequest) MAEKIN__LIST_REQUEST__INIT;
    page.after = "12x";
    tlist.page = &page;
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_TASK_LIST;
    env.task_list = &tlist;
    reply = s_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, "'12x' is not a cursor"));
    mk_msg_free (&reply);
    page.after = "3";
    page.filter_state = "done";
    reply = s_call (client, &env);
    assert (reply->status == MK_OK);
    for (size_t i = 0; i < reply->task_list_reply->n_tasks; i++)
        assert (reply->task_list_reply->tasks[i]->id < 3
                && streq (reply->task_list_reply->tasks[i]->state, "done"));
    mk_msg_free (&reply);
    tlist.page = NULL;
    since.stream = "event.vm";
    since.limit = MK_LIST_MAX + 1;
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_EVENTS_SINCE;
    env.events_since = &since;
    reply = s_call (client, &env);
    assert (reply->status == MK_BAD_REQUEST && strstr (reply->reason, "at most 1000 events"));
    mk_msg_free (&reply);
    //  A report's domains are capped, and the longest allowed is answered in full.
    size_t unexpected = 0;
    assert (s_register_many (client, MK_REPORT_DOMAINS_MAX + 1, &unexpected) == MK_BAD_REQUEST);
    assert (s_register_many (client, MK_REPORT_DOMAINS_MAX, &unexpected) == MK_OK);
    assert (unexpected == MK_REPORT_DOMAINS_MAX);
    //  A host that does not exist is the caller's mistake (404), not a lack of room.
    Maekin__VmCreateRequest elsewhere = MAEKIN__VM_CREATE_REQUEST__INIT;
    elsewhere.name = "web-7";
    elsewhere.template_ = "tiny";
    elsewhere.host = "node9";
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_CREATE;
    env.vm_create = &elsewhere;
    reply = s_call (client, &env);
    assert (reply->status == MK_NOT_FOUND && strstr (reply->reason, "no host named 'node9'"));
    mk_msg_free (&reply);
}

static void
s_test_batches (test_t *self, bool verbose)
{
    mk_client_t *client = self->client;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    char *state = NULL;
    //  An agent process that names its own service gets a batch's tasks in one message;
    //  each task ends on its own item's answer.
    assert (s_register_as (client, true, 0, "node/n1", NULL) == MK_BAD_REQUEST);
    assert (s_register_as (client, true, 0, "agent/", NULL) == MK_BAD_REQUEST);
    //  A light report from another agent process than the last full one's: it may have
    //  restarted on a libvirt that lost domains, so the controller asks what it has,
    //  until it hears.
    bool send_full = false;
    assert (s_register_as (client, true, 0, "agent/old", &send_full) == MK_OK && !send_full);
    assert (s_register_as (client, false, 0, "agent/old", &send_full) == MK_OK && !send_full);
    assert (s_register_as (client, false, 0, "agent/fake", &send_full) == MK_OK && send_full);
    assert (s_register_as (client, false, 0, "agent/fake", &send_full) == MK_OK && send_full);
    assert (s_register_as (client, true, 0, "agent/fake", &send_full) == MK_OK && !send_full);
    assert (s_register_as (client, false, 0, "agent/fake", &send_full) == MK_OK && !send_full);
    //  Two creates at once are one batch of the controller's unless it happened to read
    //  the first alone: a few rounds make that certain.
    long batches = 0;
    for (int round = 0; round < 10 && !batches; round++) {
        char names[2][24];
        snprintf (names[0], sizeof names[0], "b-%d", round);
        snprintf (names[1], sizeof names[1], "bad-b%d", round);
        uint64_t tasks[2];
        for (int i = 0; i < 2; i++) {
            Maekin__VmCreateRequest create = MAEKIN__VM_CREATE_REQUEST__INIT;
            create.name = names[i];
            create.template_ = "tiny";
            env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
            env.body_case = MAEKIN__ENVELOPE__BODY_VM_CREATE;
            env.vm_create = &create;
            assert (mk_client_send_as (client, "cloud", 100 + (uint64_t) i, &env) == 0);
        }
        for (int i = 0; i < 2; i++) {
            mk_reply_t answer;
            assert (mk_client_recv (client, &answer, 5000) == 0);
            assert (answer.env->status == MK_ACCEPTED);
            tasks[answer.corr - 100] = answer.env->task_accepted->task_id;
            mk_reply_clear (&answer);
        }
        assert (streq (s_wait (client, tasks[0]), "done"));
        assert (streq (s_wait (client, tasks[1]), "failed"));
        state = s_vm_state (client, names[0]);
        assert (streq (state, "running"));
        free (state);
        batches = mk_fake_peer_ask_number (self->agent, "BATCHES", NULL);
    }
    if (verbose)
        printf ("  task batches: %ld\n", batches);
    assert (batches >= 1);
}

static void
s_test_agent_gone (test_t *self)
{
    mk_client_t *client = self->client;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    Maekin__Envelope *reply = NULL;
    uint64_t task = 0;
    //  The agent goes away: the host goes down, and actions on its VMs fail clearly.
    assert (s_create (client, "web-3", "tiny", NULL, &task) == MK_ACCEPTED);
    assert (streq (s_wait (client, task), "done"));
    //  (Its host goes down by its silence, whatever the broker says of its service.)
    mk_fake_peer_destroy (&self->agent);
    Maekin__HostShowRequest hshow = MAEKIN__HOST_SHOW_REQUEST__INIT;
    hshow.name = "n1";
    env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_HOST_SHOW;
    env.host_show = &hshow;
    bool down = false;
    for (int64_t until = zclock_mono () + 30000; !down && zclock_mono () < until;) {
        reply = s_call (client, &env);
        assert (reply->status == MK_OK);
        down = streq (reply->host_show_reply->host->state, "down");
        mk_msg_free (&reply);
        if (!down)
            zclock_sleep (50);
    }
    assert (down);
    assert (s_action (client, "web-3", MAEKIN__VM_OP__VM_OP_STOP, NULL) == MK_UNAVAILABLE);
}

void
controller_server_test (bool verbose)
{
    char *dir = mk_testdir_new ("controller_server");
    char *url = zsys_sprintf ("sqlite:%s/state.db", dir);
    //  The workers' own heartbeat: a broker expecting them faster drops an idle controller
    //  (one waiting for a password's hash, say) and its client retries.
    broker_router_opts_t bopts = {"tcp://127.0.0.1:*", MK_WIRE_HEARTBEAT_MS, 1000, 30000, NULL};
    zactor_t *broker = broker_router_new (&bopts);
    zstr_send (broker, "ENDPOINT");
    test_t self = {.endpoint = zstr_recv (broker),
                   .password_file = zsys_sprintf ("%s/admin-password", dir)};
    self.opts = (controller_opts_t){.endpoint = self.endpoint,
                                    .stream_in = "inproc://controller_server_test",
                                    .db_url = url,
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
                                    .admin_password_file = self.password_file};
    self.controller = controller_server_new (&self.opts, NULL);
    assert (self.controller);
    self.client = mk_client_new (self.endpoint);
    //  The first login waits for the controller to be on the bus.
    char *password = s_admin_password (&self);
    int status = MK_NOT_FOUND;
    for (int64_t until = zclock_mono () + 30000; status != MK_OK && zclock_mono () < until;)
        if ((status = s_login (self.client, "admin", password, self.token)) != MK_OK)
            zclock_sleep (20);
    assert (status == MK_OK);
    free (password);
    mk_client_set_token (self.client, self.token);
    s_until_serving (self.client);
    s_test_users (&self);
    s_test_keys (&self);
    s_test_audit (&self);

    s_test_templates (&self);
    s_test_vms (&self, verbose);
    s_test_restart (&self);
    s_test_bad_input (&self);
    s_test_batches (&self, verbose);
    s_test_agent_gone (&self);

    mk_client_destroy (&self.client);
    zactor_destroy (&self.controller);
    zactor_destroy (&broker);
    free (self.endpoint);
    freen (self.password_file);
    freen (url);
    mk_testdir_remove (&dir);
}
