/*  controller_audit: the audit log's entries. Every request that would change the cloud
    (its row in controller_request writes, and it is not an agent's report), allowed or
    refused, and every login, is one row written with its answer (controller_reply calls
    controller_audit_write), in the same batch and transaction as what it changed: who,
    with which credential, what, on what, when, and how it ended. Rows older than
    auth/audit_keep_days are forgotten (controller_server's tick); the administrator reads
    them with controller_audit_read. A batch's entries wait in memory and are written
    together just before its commit (controller_audit_flush). */
#include "controller_core.h"

#include "mk_name.h"

#include <ctype.h>

//  Copies text into a field, cut to fit (every entry has a handful: no printf).
static void
s_copy (char *to, size_t size, const char *from)
{
    size_t length = strnlen (from ? from : "", size - 1);
    memcpy (to, from ? from : "", length);
    to[length] = 0;
}

//  What the request does, in a word: its body's name, or for a VM action the action's
//  (vm_stop), for user_disable with enable user_enable.
static void
s_request_name (const Maekin__Envelope *env, char *name, size_t size)
{
    if (env->body_case == MAEKIN__ENVELOPE__BODY_VM_ACTION) {
        const ProtobufCEnumValue *op =
            protobuf_c_enum_descriptor_get_value (&maekin__vm_op__descriptor, env->vm_action->op);
        snprintf (name, size, "vm_%s", op ? op->name + strlen ("VM_OP_") : "action");
        for (char *c = name; *c; c++)
            *c = (char) tolower ((unsigned char) *c);
    } else if (env->body_case == MAEKIN__ENVELOPE__BODY_VI_MEMBER) {
        static const char *ops[] = {"add", "role", "remove"};
        unsigned op = (unsigned) env->vi_member->op;
        snprintf (name, size, "vi_member_%s", op < 3 ? ops[op] : "change");
    } else if (env->body_case == MAEKIN__ENVELOPE__BODY_VI_TEMPLATE)
        snprintf (name, size, "vi_template_%s", env->vi_template->remove ? "remove" : "add");
    else if (env->body_case == MAEKIN__ENVELOPE__BODY_POOL_RANGE)
        snprintf (name, size, "pool_range_%s", env->pool_range->remove ? "remove" : "add");
    else if (env->body_case == MAEKIN__ENVELOPE__BODY_USER_DISABLE)
        snprintf (name, size, "user_%s", env->user_disable->enable ? "enable" : "disable");
    else
        s_copy (name, size, mk_msg_body_name (env));
}

//  What a request is about, as its body says: a name, the user owning it (another's API
//  key) and the VI it names ("" for none of them).
typedef struct {
    const char *name, *user, *vi;
} about_t;

static about_t
s_about (const Maekin__Envelope *env)
{
    about_t about = {"", "", ""};
    const Maekin__Template *t = NULL;
    switch (env->body_case) {
    case MAEKIN__ENVELOPE__BODY_VM_CREATE:
        about = (about_t){env->vm_create->name, "", env->vm_create->vi};
        break;
    case MAEKIN__ENVELOPE__BODY_VM_ACTION:
        about = (about_t){env->vm_action->name, "", env->vm_action->vi};
        break;
    case MAEKIN__ENVELOPE__BODY_TEMPLATE_CREATE:
        t = env->template_create->template_;
        about = (about_t){t ? t->name : "", "", t ? t->vi : ""};
        break;
    case MAEKIN__ENVELOPE__BODY_TEMPLATE_DELETE:
        about = (about_t){env->template_delete->name, "", env->template_delete->vi};
        break;
    case MAEKIN__ENVELOPE__BODY_LOGIN:
        about.name = env->login->user;
        break;
    case MAEKIN__ENVELOPE__BODY_USER_CREATE:
        about.name = env->user_create->name;
        break;
    case MAEKIN__ENVELOPE__BODY_USER_PASSWD:
        about.name = env->user_passwd->name;
        break;
    case MAEKIN__ENVELOPE__BODY_USER_DISABLE:
        about.name = env->user_disable->name;
        break;
    case MAEKIN__ENVELOPE__BODY_USER_DELETE:
        about.name = env->user_delete->name;
        break;
    case MAEKIN__ENVELOPE__BODY_APIKEY_CREATE:
        about = (about_t){env->apikey_create->name, env->apikey_create->user, ""};
        break;
    case MAEKIN__ENVELOPE__BODY_APIKEY_REVOKE:
        about = (about_t){env->apikey_revoke->name, env->apikey_revoke->user, ""};
        break;
    case MAEKIN__ENVELOPE__BODY_VI_CREATE:
        about = (about_t){env->vi_create->name, "", env->vi_create->name};
        break;
    case MAEKIN__ENVELOPE__BODY_VI_DELETE:
        about = (about_t){env->vi_delete->name, "", env->vi_delete->name};
        break;
    case MAEKIN__ENVELOPE__BODY_VI_QUOTA:
        about = (about_t){env->vi_quota->name, "", env->vi_quota->name};
        break;
    case MAEKIN__ENVELOPE__BODY_VI_TEMPLATE:
        about = (about_t){env->vi_template->template_, "", env->vi_template->name};
        break;
    case MAEKIN__ENVELOPE__BODY_VI_MEMBER:
        about = (about_t){env->vi_member->user, "", env->vi_member->name};
        break;
    case MAEKIN__ENVELOPE__BODY_BUS_KEY_ADMIT:
        about.name = env->bus_key_admit->key ? env->bus_key_admit->key->name : "";
        break;
    case MAEKIN__ENVELOPE__BODY_BUS_KEY_REVOKE:
        about.name = env->bus_key_revoke->name;
        break;
    case MAEKIN__ENVELOPE__BODY_BUS_KEY_ROTATE:
        about.name = env->bus_key_rotate->name;
        break;
    case MAEKIN__ENVELOPE__BODY_JOIN_TOKEN:
        about.name = env->join_token->host;
        break;
    case MAEKIN__ENVELOPE__BODY_HOST_ADD:
        about.name = env->host_add->name;
        break;
    case MAEKIN__ENVELOPE__BODY_HOST_REMOVE:
        about.name = env->host_remove->name;
        break;
    case MAEKIN__ENVELOPE__BODY_POOL_CREATE:
        about.name = env->pool_create->pool ? env->pool_create->pool->name : "";
        break;
    case MAEKIN__ENVELOPE__BODY_POOL_DELETE:
        about.name = env->pool_delete->name;
        break;
    case MAEKIN__ENVELOPE__BODY_POOL_RANGE:
        about.name = env->pool_range->name;
        break;
    case MAEKIN__ENVELOPE__BODY_VI_POOL:
        about = (about_t){env->vi_pool->pool, "", env->vi_pool->name};
        break;
    case MAEKIN__ENVELOPE__BODY_SERVICE_REPORT:
        about.name = env->service_report->service;
        break;
    default:
        break;
    }
    //  What a caller typed is kept only if it is a name.
    if (!about.vi || mk_name_check (about.vi))
        about.vi = "";
    return about;
}

//  The credential of the caller, in words.
static void
s_credential (controller_t *self, const Maekin__Envelope *env, char *text, size_t size)
{
    const store_cred_t *cred = self->caller.cred;
    if (!cred && self->caller_digest[0])
        cred = controller_auth_cred (self->auth, self->caller_digest);
    if (env->body_case == MAEKIN__ENVELOPE__BODY_LOGIN)
        s_copy (text, size, "password");
    else if (cred && cred->kind == STORE_CRED_APIKEY)
        snprintf (text, size, "apikey:%s", cred->name);
    else if (cred || self->caller.user)
        s_copy (text, size, "session");
    else
        snprintf (text, size, "%s",
                  env->credential && env->credential->token && *env->credential->token ? "invalid"
                                                                                       : "none");
}

void
controller_audit_write (controller_t *self, int status, const char *reason)
{
    const Maekin__Envelope *env = self->audited;
    self->audited = NULL; //  one entry a request
    if (!env)
        return;
    store_audit_t entry = {.time_us = zclock_time () * 1000, .status = status};
    const char *actor = self->caller.user                                ? self->caller.user->name
                        : env->body_case == MAEKIN__ENVELOPE__BODY_LOGIN ? env->login->user
                                                                         : "";
    //  A login's user name is what someone typed: kept only if it is a name.
    if (mk_name_check (actor))
        actor = "";
    s_copy (entry.actor, sizeof entry.actor, actor);
    s_credential (self, env, entry.credential, sizeof entry.credential);
    s_request_name (env, entry.request, sizeof entry.request);
    about_t about = s_about (env);
    if (*self->audit_subject)
        s_copy (entry.subject, sizeof entry.subject, self->audit_subject);
    else if (about.user && *about.user)
        snprintf (entry.subject, sizeof entry.subject, "%s/%s", about.user, about.name);
    else
        s_copy (entry.subject, sizeof entry.subject, about.name);
    //  A refusal's reason; what a service reported, though it was taken.
    const char *said = env->body_case == MAEKIN__ENVELOPE__BODY_SERVICE_REPORT && status < 300
                           ? env->service_report->what
                           : "";
    s_copy (entry.reason, sizeof entry.reason, status >= 300 && reason ? reason : said);
    //  The VI the request was found to be about, else the one it names (a request refused
    //  before the VI was looked up).
    s_copy (entry.vi, sizeof entry.vi, *self->audit_vi ? self->audit_vi : about.vi);
    if (self->audit_count == self->audit_size) {
        self->audit_size = self->audit_size ? 2 * self->audit_size : 64;
        self->audit_rows =
            (store_audit_t *) realloc (self->audit_rows, self->audit_size * sizeof entry);
        assert (self->audit_rows);
    }
    self->audit_rows[self->audit_count++] = entry;
}

int
controller_audit_flush (controller_t *self)
{
    size_t count = self->audit_count;
    self->audit_count = 0;
    return count ? store_audit_insert_many (self->db, self->audit_rows, count) : 0;
}
