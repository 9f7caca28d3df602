/*  controller_user's self-test, with controller_apikey's and controller_audit's: users,
    sessions, API keys and the audit log on the real controller and broker
    (controller_fixture), through the client library. */
#include "controller_fixture_test.h"

typedef controller_fixture_t test_t;

//  Users and sessions: logins right and wrong, what a user who is not the administrator
//  may do, passwords, logout, disable, delete, and failed logins slowed down.
static void
s_test_users (test_t *self)
{
    mk_client_t *client = self->client;
    char alice[64], again[64], bad[64];
    Maekin__WhoamiRequest whoami = MAEKIN__WHOAMI_REQUEST__INIT;
    Maekin__Envelope *reply =
        controller_fixture_as (client, self->token, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami);
    assert (reply->status == MK_OK && streq (reply->whoami_reply->user->name, "admin")
            && reply->whoami_reply->user->admin
            && streq (reply->whoami_reply->credential, "session")
            && reply->whoami_reply->user->sessions == 1 && reply->whoami_reply->user->last_login);
    mk_msg_free (&reply);
    //  Without a credential, only a login.
    Maekin__HostListRequest hosts = MAEKIN__HOST_LIST_REQUEST__INIT;
    assert (controller_fixture_status_as (client, NULL, MAEKIN__ENVELOPE__BODY_HOST_LIST, &hosts,
                                          "log in")
            == MK_UNAUTHORIZED);
    //  A new user: by the administrator only, with a password long enough.
    Maekin__UserCreateRequest create = MAEKIN__USER_CREATE_REQUEST__INIT;
    create.name = "alice";
    create.password = "short";
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_CREATE,
                                          &create, "at least")
            == MK_BAD_REQUEST);
    create.name = "Alice";
    create.password = "alice-secret-1";
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_CREATE,
                                          &create, "user name")
            == MK_BAD_REQUEST);
    create.name = "alice";
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_CREATE,
                                          &create, NULL)
            == MK_OK);
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_CREATE,
                                          &create, "exists")
            == MK_CONFLICT);
    assert (controller_fixture_login (client, "alice", "alice-secret-2", alice) == MK_UNAUTHORIZED);
    assert (controller_fixture_login (client, "nobody", "alice-secret-1", alice)
            == MK_UNAUTHORIZED);
    assert (controller_fixture_login (client, "alice", "alice-secret-1", alice) == MK_OK);
    //  Alice sees to herself only, for now.
    assert (
        controller_fixture_status_as (client, alice, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami, NULL)
        == MK_OK);
    assert (controller_fixture_status_as (client, alice, MAEKIN__ENVELOPE__BODY_HOST_LIST, &hosts,
                                          "Virtual Infrastructure")
            == MK_FORBIDDEN);
    create.name = "mallory";
    assert (controller_fixture_status_as (client, alice, MAEKIN__ENVELOPE__BODY_USER_CREATE,
                                          &create, "administrator")
            == MK_FORBIDDEN);
    Maekin__UserShowRequest show = MAEKIN__USER_SHOW_REQUEST__INIT;
    show.name = "admin";
    assert (controller_fixture_status_as (client, alice, MAEKIN__ENVELOPE__BODY_USER_SHOW, &show,
                                          "administrator")
            == MK_FORBIDDEN);
    show.name = "alice";
    assert (
        controller_fixture_status_as (client, alice, MAEKIN__ENVELOPE__BODY_USER_SHOW, &show, NULL)
        == MK_OK);
    //  Her own password: with the old one, which must be right; her other sessions end,
    //  the one she changed it in goes on.
    assert (controller_fixture_login (client, "alice", "alice-secret-1", again) == MK_OK);
    Maekin__UserPasswdRequest passwd = MAEKIN__USER_PASSWD_REQUEST__INIT;
    passwd.password = "alice-secret-3";
    assert (controller_fixture_status_as (client, alice, MAEKIN__ENVELOPE__BODY_USER_PASSWD,
                                          &passwd, "current")
            == MK_BAD_REQUEST);
    passwd.old_password = "wrong-password";
    assert (controller_fixture_status_as (client, alice, MAEKIN__ENVELOPE__BODY_USER_PASSWD,
                                          &passwd, "wrong")
            == MK_FORBIDDEN);
    passwd.old_password = "alice-secret-1";
    passwd.name = "admin";
    assert (controller_fixture_status_as (client, alice, MAEKIN__ENVELOPE__BODY_USER_PASSWD,
                                          &passwd, "administrator")
            == MK_FORBIDDEN);
    passwd.name = "";
    assert (controller_fixture_status_as (client, alice, MAEKIN__ENVELOPE__BODY_USER_PASSWD,
                                          &passwd, NULL)
            == MK_OK);
    assert (controller_fixture_status_as (client, again, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami,
                                          "not valid")
            == MK_UNAUTHORIZED);
    assert (
        controller_fixture_status_as (client, alice, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami, NULL)
        == MK_OK);
    assert (controller_fixture_login (client, "alice", "alice-secret-1", again) == MK_UNAUTHORIZED);
    //  Logout ends the session; its token is refused after.
    Maekin__LogoutRequest logout = MAEKIN__LOGOUT_REQUEST__INIT;
    assert (
        controller_fixture_status_as (client, alice, MAEKIN__ENVELOPE__BODY_LOGOUT, &logout, NULL)
        == MK_OK);
    assert (controller_fixture_status_as (client, alice, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami,
                                          "not valid")
            == MK_UNAUTHORIZED);
    //  Disabled: her live session is refused at once, and she cannot log in.
    assert (controller_fixture_login (client, "alice", "alice-secret-3", alice) == MK_OK);
    Maekin__UserDisableRequest disable = MAEKIN__USER_DISABLE_REQUEST__INIT;
    disable.name = "admin";
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_DISABLE,
                                          &disable, "yourself")
            == MK_CONFLICT);
    disable.name = "alice";
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_DISABLE,
                                          &disable, NULL)
            == MK_OK);
    assert (
        controller_fixture_status_as (client, alice, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami, NULL)
        == MK_UNAUTHORIZED);
    assert (controller_fixture_login (client, "alice", "alice-secret-3", again) == MK_FORBIDDEN);
    disable.enable = true;
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_DISABLE,
                                          &disable, NULL)
            == MK_OK);
    assert (controller_fixture_login (client, "alice", "alice-secret-3", alice) == MK_OK);
    //  The list, paged by name.
    Maekin__ListRequest page = MAEKIN__LIST_REQUEST__INIT;
    page.limit = 1;
    Maekin__UserListRequest list = MAEKIN__USER_LIST_REQUEST__INIT;
    list.page = &page;
    reply = controller_fixture_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_LIST, &list);
    assert (reply->status == MK_OK && reply->user_list_reply->n_users == 1
            && streq (reply->user_list_reply->users[0]->name, "admin")
            && streq (reply->user_list_reply->next, "admin"));
    mk_msg_free (&reply);
    page.after = "admin";
    reply = controller_fixture_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_LIST, &list);
    assert (reply->status == MK_OK && reply->user_list_reply->n_users == 1
            && streq (reply->user_list_reply->users[0]->name, "alice")
            && reply->user_list_reply->users[0]->sessions == 1);
    mk_msg_free (&reply);
    //  Deleted: gone, and so are her sessions.
    Maekin__UserDeleteRequest delete_ = MAEKIN__USER_DELETE_REQUEST__INIT;
    delete_.name = "alice";
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_DELETE,
                                          &delete_, NULL)
            == MK_OK);
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_DELETE,
                                          &delete_, "no user")
            == MK_NOT_FOUND);
    assert (
        controller_fixture_status_as (client, alice, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami, NULL)
        == MK_UNAUTHORIZED);
    //  Failed logins: five, then the next waits, even with the right password.
    char *password = controller_fixture_admin_password (self);
    for (int i = 0; i < 5; i++)
        assert (controller_fixture_login (client, "admin", "not-the-password", bad)
                == MK_UNAUTHORIZED);
    Maekin__LoginRequest login = MAEKIN__LOGIN_REQUEST__INIT;
    login.user = "admin";
    login.password = password;
    assert (controller_fixture_status_as (client, NULL, MAEKIN__ENVELOPE__BODY_LOGIN, &login,
                                          "try again in")
            == MK_TOO_MANY);
    //  Bad input: a name that is no name, an over-long password, a session too long.
    login.user = "ad min";
    assert (controller_fixture_status_as (client, NULL, MAEKIN__ENVELOPE__BODY_LOGIN, &login,
                                          "user name")
            == MK_BAD_REQUEST);
    login.user = "admin";
    login.ttl_s = 10;
    assert (
        controller_fixture_status_as (client, NULL, MAEKIN__ENVELOPE__BODY_LOGIN, &login, "60 to")
        == MK_BAD_REQUEST);
    free (password);
    //  The administrator's session was never touched.
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_WHOAMI,
                                          &whoami, NULL)
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
        controller_fixture_as (self->client, token, MAEKIN__ENVELOPE__BODY_APIKEY_CREATE, &create);
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
    Maekin__Envelope *reply =
        controller_fixture_as (client, ci, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami);
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
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_APIKEY_CREATE,
                                          &long_lived, "at most 3650 days")
            == MK_BAD_REQUEST);
    //  A read-only key reads, and changes nothing, not even its own user's keys.
    assert (s_key_create (self, ci, "ro", "", true, ro) == MK_OK);
    Maekin__HostListRequest hosts = MAEKIN__HOST_LIST_REQUEST__INIT;
    assert (
        controller_fixture_status_as (client, ro, MAEKIN__ENVELOPE__BODY_HOST_LIST, &hosts, NULL)
        == MK_OK);
    Maekin__TemplateCreateRequest template_create = MAEKIN__TEMPLATE_CREATE_REQUEST__INIT;
    Maekin__Template template_ = MAEKIN__TEMPLATE__INIT;
    template_.name = "ro-made";
    template_.vcpus = 1;
    template_.memory_mb = 64;
    template_create.template_ = &template_;
    assert (controller_fixture_status_as (client, ro, MAEKIN__ENVELOPE__BODY_TEMPLATE_CREATE,
                                          &template_create, "read-only")
            == MK_FORBIDDEN);
    assert (s_key_create (self, ro, "more", "", false, bob) == MK_FORBIDDEN);
    //  A service's report changes nothing in the cloud: the administrator's read-only key
    //  sends it (maekin-dhcp's); bad words are refused.
    Maekin__ServiceReportRequest report = MAEKIN__SERVICE_REPORT_REQUEST__INIT;
    report.service = "dhcp";
    report.node = "node7";
    report.what = "dnsmasq (pid 41) was killed by signal 9; starting it again in 1000 ms";
    assert (controller_fixture_status_as (client, ro, MAEKIN__ENVELOPE__BODY_SERVICE_REPORT,
                                          &report, NULL)
            == MK_OK);
    const char *bad_words[][3] = {{"d hcp", "node7", "x"},
                                  {"dhcp", "", "x"},
                                  {"dhcp", "node7", ""},
                                  {"dhcp", "node7", "two\nlines"},
                                  {"dhcp", "node7", "not \xc3\x28 UTF-8"}};
    for (size_t i = 0; i < sizeof bad_words / sizeof bad_words[0]; i++) {
        report.service = (char *) bad_words[i][0];
        report.node = (char *) bad_words[i][1];
        report.what = (char *) bad_words[i][2];
        assert (controller_fixture_status_as (client, ro, MAEKIN__ENVELOPE__BODY_SERVICE_REPORT,
                                              &report,
                                              i < 2 ? "not a name" : "one line of 1 to 240")
                == MK_BAD_REQUEST);
    }
    char long_line[242];
    memset (long_line, 'a', 241);
    long_line[241] = 0;
    report.what = long_line;
    assert (controller_fixture_status_as (client, ro, MAEKIN__ENVELOPE__BODY_SERVICE_REPORT,
                                          &report, "one line")
            == MK_BAD_REQUEST);
    assert (controller_fixture_status_as (client, ro, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami, NULL)
            == MK_OK);
    //  Another user's keys: the administrator makes and revokes them; the user sees only
    //  their own.
    Maekin__UserCreateRequest user = MAEKIN__USER_CREATE_REQUEST__INIT;
    user.name = "bob";
    user.password = "bob-secret-1";
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_CREATE,
                                          &user, NULL)
            == MK_OK);
    assert (s_key_create (self, self->token, "scraper", "bob", true, bobs) == MK_OK);
    //  A report is the administrator's: not even read-only keys of others.
    report.what = "I am not the cloud's";
    assert (controller_fixture_status_as (client, bobs, MAEKIN__ENVELOPE__BODY_SERVICE_REPORT,
                                          &report, "administrator")
            == MK_FORBIDDEN);
    assert (controller_fixture_login (client, "bob", "bob-secret-1", bob) == MK_OK);
    assert (s_key_create (self, bob, "mine", "admin", false, ci) == MK_FORBIDDEN);
    Maekin__ApiKeyListRequest list = MAEKIN__API_KEY_LIST_REQUEST__INIT;
    reply = controller_fixture_as (client, bob, MAEKIN__ENVELOPE__BODY_APIKEY_LIST, &list);
    assert (reply->status == MK_OK && reply->apikey_list_reply->n_api_keys == 1
            && streq (reply->apikey_list_reply->api_keys[0]->name, "scraper")
            && streq (reply->apikey_list_reply->api_keys[0]->user, "bob"));
    mk_msg_free (&reply);
    list.user = "admin";
    assert (controller_fixture_status_as (client, bob, MAEKIN__ENVELOPE__BODY_APIKEY_LIST, &list,
                                          "administrator")
            == MK_FORBIDDEN);
    //  The administrator's list: everyone's, by user and name, paged.
    Maekin__ListRequest page = MAEKIN__LIST_REQUEST__INIT;
    page.limit = 2;
    list.page = &page;
    list.user = "";
    reply = controller_fixture_as (client, self->token, MAEKIN__ENVELOPE__BODY_APIKEY_LIST, &list);
    assert (reply->status == MK_OK && reply->apikey_list_reply->n_api_keys == 2
            && streq (reply->apikey_list_reply->api_keys[0]->name, "ci")
            && streq (reply->apikey_list_reply->api_keys[1]->name, "ro")
            && streq (reply->apikey_list_reply->next, "admin/ro"));
    mk_msg_free (&reply);
    page.after = "admin/ro";
    reply = controller_fixture_as (client, self->token, MAEKIN__ENVELOPE__BODY_APIKEY_LIST, &list);
    assert (reply->status == MK_OK && reply->apikey_list_reply->n_api_keys == 1
            && streq (reply->apikey_list_reply->api_keys[0]->user, "bob")
            && !*reply->apikey_list_reply->next);
    mk_msg_free (&reply);
    page.after = "no cursor";
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_APIKEY_LIST,
                                          &list, "not a cursor")
            == MK_BAD_REQUEST);
    //  Revoked: refused at once; gone from the list; not revoked twice.
    Maekin__ApiKeyRevokeRequest revoke = MAEKIN__API_KEY_REVOKE_REQUEST__INIT;
    revoke.name = "ci";
    assert (controller_fixture_status_as (client, bob, MAEKIN__ENVELOPE__BODY_APIKEY_REVOKE,
                                          &revoke, "no key")
            == MK_NOT_FOUND);
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_APIKEY_REVOKE,
                                          &revoke, NULL)
            == MK_OK);
    assert (controller_fixture_status_as (client, ci, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami,
                                          "not valid")
            == MK_UNAUTHORIZED);
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_APIKEY_REVOKE,
                                          &revoke, "no key")
            == MK_NOT_FOUND);
    //  A disabled user's keys are refused; deleted, they go with the user.
    Maekin__UserDisableRequest disable = MAEKIN__USER_DISABLE_REQUEST__INIT;
    disable.name = "bob";
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_DISABLE,
                                          &disable, NULL)
            == MK_OK);
    assert (controller_fixture_status_as (client, bobs, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami,
                                          "disabled")
            == MK_UNAUTHORIZED);
    Maekin__UserDeleteRequest delete_ = MAEKIN__USER_DELETE_REQUEST__INIT;
    delete_.name = "bob";
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_USER_DELETE,
                                          &delete_, NULL)
            == MK_OK);
    assert (controller_fixture_status_as (client, bobs, MAEKIN__ENVELOPE__BODY_WHOAMI, &whoami,
                                          "not valid")
            == MK_UNAUTHORIZED);
    revoke.name = "ro";
    assert (controller_fixture_status_as (client, self->token, MAEKIN__ENVELOPE__BODY_APIKEY_REVOKE,
                                          &revoke, NULL)
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
        controller_fixture_as (self->client, self->token, MAEKIN__ENVELOPE__BODY_AUDIT_LIST, &list);
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
    assert (controller_fixture_status_as (self->client, NULL,
                                          MAEKIN__ENVELOPE__BODY_TEMPLATE_DELETE, &doomed, NULL)
            == MK_UNAUTHORIZED);
    assert (controller_fixture_status_as (self->client, "mkt_forged",
                                          MAEKIN__ENVELOPE__BODY_TEMPLATE_DELETE, &doomed, NULL)
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
    //  What a service reported is the entry's reason, though it was taken.
    const Maekin__AuditEntry *said =
        s_entry_of (list, "admin", "apikey:ro", "service_report", "dhcp@node7", 200);
    assert (said
            && streq (said->reason, "dnsmasq (pid 41) was killed by signal 9; starting it "
                                    "again in 1000 ms"));
    assert (s_entry_of (list, "admin", "apikey:ro", "service_report", "d hcp", 400));
    assert (s_entry_of (list, "bob", "apikey:scraper", "service_report", "dhcp", 403));
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
    assert (controller_fixture_status_as (self->client, self->token,
                                          MAEKIN__ENVELOPE__BODY_AUDIT_LIST, &bad, "not a cursor")
            == MK_BAD_REQUEST);
    page.after = "";
    bad.user = "Bad User";
    assert (controller_fixture_status_as (self->client, self->token,
                                          MAEKIN__ENVELOPE__BODY_AUDIT_LIST, &bad, "user name")
            == MK_BAD_REQUEST);
    bad.user = "";
    bad.since = -1;
    assert (controller_fixture_status_as (self->client, self->token,
                                          MAEKIN__ENVELOPE__BODY_AUDIT_LIST, &bad, "unix seconds")
            == MK_BAD_REQUEST);
    char carol[64];
    controller_fixture_user (self->client, self->token, "carol", "carol-secret-1", carol);
    bad.since = 0;
    assert (controller_fixture_status_as (self->client, carol, MAEKIN__ENVELOPE__BODY_AUDIT_LIST,
                                          &bad, "administrator")
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
        reply = controller_fixture_call (self->client, &env);
        assert (reply->status == MK_OK);
        mk_msg_free (&reply);
        //  Carol's second try finds her first answer: run again, the old password would
        //  be wrong.
        credential.token = carol;
        env.body_case = MAEKIN__ENVELOPE__BODY_USER_PASSWD;
        env.user_passwd = &passwd;
        reply = controller_fixture_call (self->client, &env);
        assert (reply->status == MK_OK);
        mk_msg_free (&reply);
    }
}

void
controller_user_test (bool verbose)
{
    (void) verbose;
    test_t self;
    controller_fixture_start (&self, "controller_user");
    s_test_users (&self);
    s_test_keys (&self);
    s_test_audit (&self);
    controller_fixture_stop (&self);
}
