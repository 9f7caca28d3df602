/*  maekinsh_vi: the rows of maekinsh_cmd's table for Virtual Infrastructures: vi create,
    list, show, delete and quota (the administrator's), template add and remove (the
    administrator's), member add, role and remove (a VI's owners'); their builders, and
    how people see a list of VIs. */
#include "maekinsh_cmd_def.h"

static const maekinsh_cmd_opt_t s_create_opts[] = {
    {"--description", "TEXT", false, "what the VI is for (a company, a department, a class)"},
    {"--owner", "USER", false, "make USER its owner at once"},
    {"--vcpus", "N", false, "at most N vCPUs for its VMs (default: no limit)"},
    {"--memory", "MB", false, "at most this much memory in MiB (default: no limit)"},
    {"--disk", "GB", false, "at most this much disk in GiB, as templates declare it"},
    {"--vms", "N", false, "at most N VMs (default: no limit)"},
    {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_quota_opts[] = {
    {"--vcpus", "N", false, "at most N vCPUs (0: no limit)"},
    {"--memory", "MB", false, "at most this much memory in MiB (0: no limit)"},
    {"--disk", "GB", false, "at most this much disk in GiB (0: no limit)"},
    {"--vms", "N", false, "at most N VMs (0: no limit)"},
    {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_list_opts[] = {
    {"--limit", "N", false, "at most N VIs (1..1000), one page; default: all"},
    {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_template_opts[] = {{"--template", "T", true, "the template"},
                                                     {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_pool_opts[] = {
    {"--pool", "P", false, "the IP pool its new VMs take addresses from"},
    {"--none", NULL, false, "no pool: its new VMs take no address"},
    {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_member_opts[] = {
    {"--user", "U", true, "the user"},
    {"--role", "R", false, "owner, manager, operator or viewer"},
    {NULL, NULL, false, NULL}};

const maekinsh_out_table_t maekinsh_vi_table = {
    &maekin__vi__descriptor,
    {{"NAME", "name", MAEKINSH_OUT_COL_TEXT},
     {"ROLE", "role", MAEKINSH_OUT_COL_TEXT},
     {"VMS", "used.vms", MAEKINSH_OUT_COL_TEXT},
     {"VCPUS", "used.vcpus", MAEKINSH_OUT_COL_TEXT},
     {"MEMORY", "used.memory_mb", MAEKINSH_OUT_COL_MB},
     {"DESCRIPTION", "description", MAEKINSH_OUT_COL_TEXT}}};

//  The quotas given as options into quota, and which into *set (ViQuotaRequest's bits).
static char *
s_quota (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args, Maekin__ViQuota *quota,
         uint32_t *set)
{
    const char *names[] = {"--vcpus", "--memory", "--disk", "--vms"};
    uint64_t values[4] = {0};
    const uint64_t max[] = {UINT32_MAX, UINT64_MAX / 2, UINT64_MAX / 2, UINT32_MAX};
    *set = 0;
    for (int i = 0; i < 4; i++) {
        const char *value = maekinsh_cmd_arg (self, args, names[i]);
        char *why = value ? maekinsh_cmd_number (names[i], value, 0, max[i], &values[i]) : NULL;
        if (why)
            return why;
        *set |= value ? 1u << i : 0;
    }
    quota->vcpus = (uint32_t) values[0];
    quota->memory_mb = values[1];
    quota->disk_gb = values[2];
    quota->vms = (uint32_t) values[3];
    return NULL;
}

static char *
s_build_create (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__ViCreateRequest create = MAEKIN__VI_CREATE_REQUEST__INIT;
    Maekin__ViQuota quota = MAEKIN__VI_QUOTA__INIT;
    uint32_t set;
    char *why = s_quota (self, args, &quota, &set);
    if (why)
        return why;
    const char *owner = maekinsh_cmd_arg (self, args, "--owner");
    if (owner && (why = maekinsh_cmd_name ("user", owner)))
        return why;
    const char *description = maekinsh_cmd_arg (self, args, "--description");
    create.name = (char *) args->operand;
    create.owner = owner ? (char *) owner : "";
    create.description = description ? (char *) description : "";
    create.quota = &quota;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (VI_CREATE);
    env.vi_create = &create;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

static char *
s_build_quota (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__ViQuotaRequest change = MAEKIN__VI_QUOTA_REQUEST__INIT;
    Maekin__ViQuota quota = MAEKIN__VI_QUOTA__INIT;
    char *why = s_quota (self, args, &quota, &change.set);
    if (why)
        return why;
    if (!change.set)
        return maekinsh_cmd_usage_error (self->def, "give at least one of --vcpus, --memory, "
                                                    "--disk, --vms");
    change.name = (char *) args->operand;
    change.quota = &quota;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (VI_QUOTA);
    env.vi_quota = &change;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

static char *
s_build_template (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__ViTemplateRequest change = MAEKIN__VI_TEMPLATE_REQUEST__INIT;
    change.name = (char *) args->operand;
    change.template_ = (char *) maekinsh_cmd_arg (self, args, "--template");
    char *why = maekinsh_cmd_name ("template", change.template_);
    if (why)
        return why;
    change.remove = streq (self->def->verb, "template remove");
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (VI_TEMPLATE);
    env.vi_template = &change;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

static char *
s_build_member (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__ViMemberRequest change = MAEKIN__VI_MEMBER_REQUEST__INIT;
    change.name = (char *) args->operand;
    change.user = (char *) maekinsh_cmd_arg (self, args, "--user");
    char *why = maekinsh_cmd_name ("user", change.user);
    if (why)
        return why;
    const char *verb = self->def->verb;
    change.op = streq (verb, "member add")    ? MAEKIN__VI_MEMBER_OP__VI_MEMBER_ADD
                : streq (verb, "member role") ? MAEKIN__VI_MEMBER_OP__VI_MEMBER_ROLE
                                              : MAEKIN__VI_MEMBER_OP__VI_MEMBER_REMOVE;
    const char *role = maekinsh_cmd_arg (self, args, "--role");
    static const char *const roles[] = {"owner", "manager", "operator", "viewer", NULL};
    bool needs_role = change.op != MAEKIN__VI_MEMBER_OP__VI_MEMBER_REMOVE;
    if (needs_role && !role)
        return maekinsh_cmd_usage_error (self->def, "missing --role");
    if (!needs_role && role)
        return maekinsh_cmd_usage_error (self->def, "a member removed has no --role");
    if (role && (why = maekinsh_cmd_one_of ("--role", role, roles)))
        return why;
    change.role = role ? (char *) role : "";
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (VI_MEMBER);
    env.vi_member = &change;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

static char *
s_build_pool (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__ViPoolRequest change = MAEKIN__VI_POOL_REQUEST__INIT;
    change.name = (char *) args->operand;
    const char *pool = maekinsh_cmd_arg (self, args, "--pool");
    bool none = maekinsh_cmd_arg (self, args, "--none") != NULL;
    if (!pool == !none)
        return maekinsh_cmd_usage_error (self->def, "give --pool P, or --none");
    char *why = pool ? maekinsh_cmd_name ("pool", pool) : NULL;
    if (why)
        return why;
    change.pool = pool ? (char *) pool : "";
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (VI_POOL);
    env.vi_pool = &change;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

//  The rows that change a VI and answer it as it is now.
#define VI_CHANGE(verb_, summary_, opts_, build_, body_)                                           \
    {                                                                                              \
        .group = "vi", .verb = verb_, .operand = "NAME", .subject = "VI", .summary = summary_,     \
        .opts = opts_, .build = build_, .request = MAEKINSH_BODY (body_),                          \
        .reply = MAEKINSH_BODY (VI_SHOW_REPLY), .mutating = true                                   \
    }

const maekinsh_cmd_def_t maekinsh_vi_commands[] = {
    VI_CHANGE ("create", "create a Virtual Infrastructure (administrator only)", s_create_opts,
               s_build_create, VI_CREATE),
    {.group = "vi",
     .verb = "list",
     .summary = "list the VIs one holds a role in (the administrator: all)",
     .opts = s_list_opts,
     .build = maekinsh_cmd_build_list,
     .run = MAEKINSH_CMD_LIST,
     .request = MAEKINSH_BODY (VI_LIST),
     .reply = MAEKINSH_BODY (VI_LIST_REPLY),
     .table = &maekinsh_vi_table},
    {.group = "vi",
     .verb = "show",
     .operand = "NAME",
     .subject = "VI",
     .summary = "show a VI: its quotas and use, templates and members",
     .opts = maekinsh_cmd_no_opts,
     .build = maekinsh_cmd_build_show,
     .request = MAEKINSH_BODY (VI_SHOW),
     .reply = MAEKINSH_BODY (VI_SHOW_REPLY)},
    VI_CHANGE ("delete", "delete a VI that has no VMs (administrator only)", maekinsh_cmd_no_opts,
               maekinsh_cmd_build_show, VI_DELETE),
    VI_CHANGE ("quota", "set a VI's quotas (administrator only)", s_quota_opts, s_build_quota,
               VI_QUOTA),
    VI_CHANGE ("template add", "let a VI use a template (administrator only)", s_template_opts,
               s_build_template, VI_TEMPLATE),
    VI_CHANGE ("template remove", "take a template from a VI; its VMs stay (administrator only)",
               s_template_opts, s_build_template, VI_TEMPLATE),
    VI_CHANGE ("pool", "give a VI an IP pool, or take it away (administrator only)", s_pool_opts,
               s_build_pool, VI_POOL),
    VI_CHANGE ("member add", "invite a user into a VI with a role (its owners)", s_member_opts,
               s_build_member, VI_MEMBER),
    VI_CHANGE ("member role", "change a member's role (its owners)", s_member_opts, s_build_member,
               VI_MEMBER),
    VI_CHANGE ("member remove", "take a member out of a VI (its owners)", s_member_opts,
               s_build_member, VI_MEMBER),
    {.group = NULL}};

void
maekinsh_vi_test (bool verbose)
{
    (void) verbose;
    maekinsh_cmd_t *cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("vi", "create", "acme", "--owner", "bob", "--vcpus", "8", "--memory",
                        "16384", "--vms", "4", "--description", "the ACME company"));
    const Maekin__Envelope *env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (VI_CREATE) && streq (env->vi_create->name, "acme"));
    assert (streq (env->vi_create->owner, "bob") && env->vi_create->quota->vcpus == 8);
    assert (env->vi_create->quota->memory_mb == 16384 && env->vi_create->quota->vms == 4);
    assert (env->vi_create->quota->disk_gb == 0 && maekinsh_cmd_test_is_uuid (env->request_id));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("vi", "quota", "acme", "--disk", "0"));
    env = maekinsh_cmd_request (cmd);
    assert (env->vi_quota->set == 4 && env->vi_quota->quota->disk_gb == 0);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("vi", "template", "remove", "acme", "--template", "small"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (VI_TEMPLATE) && env->vi_template->remove);
    assert (streq (env->vi_template->template_, "small"));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("vi", "member", "role", "acme", "--user", "bob", "--role", "viewer"));
    env = maekinsh_cmd_request (cmd);
    assert (env->vi_member->op == MAEKIN__VI_MEMBER_OP__VI_MEMBER_ROLE);
    assert (streq (env->vi_member->user, "bob") && streq (env->vi_member->role, "viewer"));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("vi", "member", "remove", "acme", "--user", "b"));
    assert (maekinsh_cmd_request (cmd)->vi_member->op == MAEKIN__VI_MEMBER_OP__VI_MEMBER_REMOVE);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("vi", "pool", "acme", "--pool", "lab"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (VI_POOL) && streq (env->vi_pool->pool, "lab"));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("vi", "pool", "acme", "--none"));
    assert (streq (maekinsh_cmd_request (cmd)->vi_pool->pool, ""));
    maekinsh_cmd_destroy (&cmd);
    maekinsh_cmd_test_bad (MAEKINSH_WORDS ("vi", "pool", "acme"), "--pool P, or --none");
    maekinsh_cmd_test_bad (MAEKINSH_WORDS ("vi", "pool", "acme", "--pool", "lab", "--none"),
                           "--pool P, or --none");
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("vi", "delete", "acme"));
    assert (streq (maekinsh_cmd_request (cmd)->vi_delete->name, "acme"));
    maekinsh_cmd_destroy (&cmd);
}
