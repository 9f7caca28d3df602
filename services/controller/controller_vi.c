/*  controller_vi: the Virtual Infrastructure requests, and how every request that acts in
    a VI finds it and the caller's role there. A VI is created, deleted and given quotas
    and templates by the administrator; its owners change its members. Each change is
    written in the batch's transaction, then made in memory (controller_vis); a batch
    that fails is rolled back and the VIs read again. */
#include "controller_core.h"

#include "mk_name.h"
#include "mk_uuid.h"

//  ---------------------------------------------------------------- finding a VI

static const char s_no_role[] =
    "you hold no role in any Virtual Infrastructure yet: ask the administrator";

bool
controller_vi_any_role (controller_t *self, const mk_request_t *request)
{
    const store_user_t *user = self->caller.user;
    if (!user || user->admin || controller_vis_of_user (self->vis, user->id, NULL) > 0)
        return true;
    controller_reply_status (self, request, MK_FORBIDDEN, "%s", s_no_role);
    return false;
}

//  The VI a request names, before the caller's role in it is checked: NULL having
//  answered if there is none they may know of.
static vi_t *
s_named (controller_t *self, const mk_request_t *request, const char *name)
{
    const store_user_t *user = self->caller.user;
    bool admin = !user || user->admin;
    if ((!name || !*name) && admin)
        name = STORE_VI_DEFAULT; //  found, or answered, below
    if (!name || !*name) {
        const vi_t *only = NULL;
        size_t count = controller_vis_of_user (self->vis, user->id, &only);
        if (count == 1)
            return (vi_t *) only;
        if (count == 0)
            controller_reply_status (self, request, MK_FORBIDDEN, "%s", s_no_role);
        else
            controller_reply_status (self, request, MK_BAD_REQUEST,
                                     "you hold roles in %zu Virtual Infrastructures: name one "
                                     "(--vi; maekinsh vi list)",
                                     count);
        return NULL;
    }
    const char *why = mk_name_check (name);
    if (why) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "VI name %s", why);
        return NULL;
    }
    snprintf (self->audit_vi, sizeof self->audit_vi, "%s", name);
    vi_t *vi = controller_vis_get (self->vis, name);
    //  A VI the caller holds no role in is one they cannot tell from none.
    if (!vi || (!admin && controller_vis_role (vi, user->id) == VI_ROLE_NONE)) {
        controller_reply_status (self, request, MK_NOT_FOUND,
                                 "no Virtual Infrastructure named '%s'%s (maekinsh vi list)", name,
                                 admin ? "" : " that you hold a role in");
        return NULL;
    }
    return vi;
}

//  Whether the caller may do op in vi: true, or false having answered 403.
static bool
s_may (controller_t *self, const mk_request_t *request, const vi_t *vi, vi_op_t op)
{
    int64_t id = self->caller.user ? self->caller.user->id : 0;
    vi_role_t role = controller_auth_vi_role (&self->caller, controller_vis_role (vi, id));
    const char *reason = NULL;
    if (controller_auth_vi_check (role, op, &reason) == 0)
        return true;
    controller_reply_status (self, request, MK_FORBIDDEN, "%s '%s'%s%s%s", reason, vi->row.name,
                             role != VI_ROLE_NONE ? " (your role: " : "",
                             controller_auth_role_name (role), role != VI_ROLE_NONE ? ")" : "");
    return false;
}

vi_t *
controller_vi_resolve (controller_t *self, const mk_request_t *request, const char *name,
                       vi_op_t op)
{
    vi_t *vi = s_named (self, request, name);
    if (vi)
        snprintf (self->audit_vi, sizeof self->audit_vi, "%s", vi->row.name);
    return vi && s_may (self, request, vi, op) ? vi : NULL;
}

bool
controller_vi_vm (controller_t *self, const mk_request_t *request, const char *vi_name,
                  const char *name, vi_op_t op, store_vm_t *vm, vi_t **vi_p)
{
    name = name ? name : "";
    uint8_t uuid[16];
    if (mk_uuid_parse (name, uuid) == 0) {
        int rc = store_vm_get_uuid (self->db, name, vm);
        vi_t *vi = rc == 1 ? controller_vis_get (self->vis, vm->vi) : NULL;
        int64_t id = self->caller.user ? self->caller.user->id : 0;
        if (vi
            && controller_auth_vi_role (&self->caller, controller_vis_role (vi, id))
                   == VI_ROLE_NONE)
            vi = NULL; //  another VI's VM: not to be told from none
        if (rc < 0)
            controller_reply_db_error (self, request);
        else if (!vi)
            controller_reply_status (self, request, MK_NOT_FOUND, "no VM with UUID %s", name);
        else {
            snprintf (self->audit_vi, sizeof self->audit_vi, "%s", vi->row.name);
            *vi_p = vi;
            return s_may (self, request, vi, op);
        }
        return false;
    }
    const char *why = mk_name_check (name);
    if (why) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "VM name %s", why);
        return false;
    }
    vi_t *vi = controller_vi_resolve (self, request, vi_name, op);
    if (!vi)
        return false;
    char key[STORE_VM_KEY_MAX];
    store_vm_key (key, sizeof key, vi->row.name, name);
    int rc = store_vm_get (self->db, key, vm);
    if (rc < 0)
        controller_reply_db_error (self, request);
    else if (rc == 0)
        controller_reply_status (self, request, MK_NOT_FOUND,
                                 "no VM named '%s' in VI '%s' (maekinsh vm list)", name,
                                 vi->row.name);
    *vi_p = vi;
    return rc == 1;
}

int
controller_vi_scope (controller_t *self, const mk_request_t *request,
                     const Maekin__ListRequest *page, store_page_t *result, char *key)
{
    const char *name = page && page->filter_vi ? page->filter_vi : "";
    const store_user_t *user = self->caller.user;
    const vi_t *vi = NULL;
    size_t count = 0;
    if (*name) {
        if (!(vi = controller_vi_resolve (self, request, name, VI_OP_SEE)))
            return -1;
    } else if (user && !user->admin) {
        count = controller_vis_of_user (self->vis, user->id, &vi);
        if (count == 0) {
            controller_reply_status (self, request, MK_FORBIDDEN, "%s", s_no_role);
            return -1;
        }
        if (count > 1) { //  every VI of theirs
            vi = NULL;
            result->member = user->id;
        }
    }
    if (vi)
        result->vi = vi->row.name;
    //  A VM named (or a prefix of names) is its key in the VI: the one named, the caller's
    //  own, `default` for the administrator. A key given whole is taken as it is.
    const char *vm = result->prefix;
    if (key && vm && *vm && !strchr (vm, ':')) {
        if (count > 1) {
            controller_reply_status (self, request, MK_BAD_REQUEST,
                                     "you hold roles in %zu Virtual Infrastructures: name the "
                                     "VM's (--vi)",
                                     count);
            return -1;
        }
        store_vm_key (key, STORE_VM_KEY_MAX, vi ? vi->row.name : STORE_VI_DEFAULT, vm);
        result->prefix = key;
    }
    return 0;
}

bool
controller_vi_sees (controller_t *self, const char *key)
{
    if (!self->caller.user || self->caller.user->admin)
        return true;
    char name[64];
    store_vm_split (key, name, NULL);
    const vi_t *vi = controller_vis_get (self->vis, name);
    return vi && controller_vis_role (vi, self->caller.user->id) != VI_ROLE_NONE;
}

bool
controller_vi_key_ok (const char *text)
{
    char vi[64];
    const char *name;
    store_vm_split (text, vi, &name);
    return strlen (text) < STORE_VM_KEY_MAX && !mk_name_check (vi) && !mk_name_check (name);
}

int
controller_vi_init (controller_t *self)
{
    if (controller_vis_get (self->vis, STORE_VI_DEFAULT))
        return 0;
    store_vi_t row = {.name = STORE_VI_DEFAULT, .created = zclock_time () / 1000};
    snprintf (row.description, sizeof row.description, "the cloud's first VI");
    if (mk_db_begin (self->db) != 0 || store_vi_insert (self->db, &row) != 1
        || mk_db_commit (self->db) != 0) {
        mk_db_rollback (self->db);
        mk_error ("controller: cannot make the default Virtual Infrastructure");
        return -1;
    }
    controller_vis_put (self->vis, &row);
    return 0;
}

//  The VI an administrator's or owner's request names: it must name one.
static vi_t *
s_resolve_named (controller_t *self, const mk_request_t *request, const char *name, vi_op_t op)
{
    if (!name || !*name) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "name the Virtual Infrastructure (maekinsh vi list)");
        return NULL;
    }
    return controller_vi_resolve (self, request, name, op);
}

//  ---------------------------------------------------------------- messages

static Maekin__ViQuota *
s_msg_quota (controller_t *self, const store_quota_t *q)
{
    Maekin__ViQuota *quota =
        (Maekin__ViQuota *) controller_arena_new (self, sizeof (Maekin__ViQuota));
    maekin__vi_quota__init (quota);
    quota->vcpus = q->vcpus;
    quota->memory_mb = q->memory_mb;
    quota->disk_gb = q->disk_gb;
    quota->vms = q->vms;
    return quota;
}

static int
s_by_name (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
s_by_user (const void *a, const void *b)
{
    return strcmp ((*(Maekin__ViMember *const *) a)->user, (*(Maekin__ViMember *const *) b)->user);
}

static Maekin__Vi *
s_msg_vi (controller_t *self, const vi_t *vi, bool detail)
{
    Maekin__Vi *msg = (Maekin__Vi *) controller_arena_new (self, sizeof (Maekin__Vi));
    maekin__vi__init (msg);
    msg->name = controller_arena_str (self, vi->row.name);
    msg->description = controller_arena_str (self, vi->row.description);
    msg->quota = s_msg_quota (self, &vi->row.quota);
    msg->used = s_msg_quota (self, &vi->used);
    msg->created = vi->row.created;
    msg->pool = controller_arena_str (self, vi->row.pool);
    int64_t id = self->caller.user ? self->caller.user->id : 0;
    msg->role = (char *) controller_auth_role_name (
        controller_auth_vi_role (&self->caller, controller_vis_role (vi, id)));
    if (!detail)
        return msg;
    size_t count = zhashx_size (vi->templates);
    msg->templates = (char **) controller_arena_new (self, (count + 1) * sizeof (char *));
    for (void *item = zhashx_first (vi->templates); item; item = zhashx_next (vi->templates))
        msg->templates[msg->n_templates++] =
            controller_arena_str (self, (const char *) zhashx_cursor (vi->templates));
    qsort (msg->templates, msg->n_templates, sizeof (char *), s_by_name);
    count = zhashx_size (vi->members);
    msg->members = (Maekin__ViMember **) controller_arena_new (self, (count + 1) * sizeof (void *));
    for (void *role = zhashx_first (vi->members); role; role = zhashx_next (vi->members)) {
        int64_t user_id = (int64_t) (uintptr_t) zhashx_cursor (vi->members);
        const store_user_t *user = controller_auth_user_id (self->auth, user_id);
        if (!user)
            continue;
        Maekin__ViMember *member =
            (Maekin__ViMember *) controller_arena_new (self, sizeof (Maekin__ViMember));
        maekin__vi_member__init (member);
        member->user = controller_arena_str (self, user->name);
        member->role = (char *) controller_auth_role_name ((vi_role_t) (uintptr_t) role);
        msg->members[msg->n_members++] = member;
    }
    qsort (msg->members, msg->n_members, sizeof (void *), s_by_user);
    return msg;
}

static void
s_reply_vi (controller_t *self, const mk_request_t *request, const vi_t *vi)
{
    Maekin__ViShowReply show = MAEKIN__VI_SHOW_REPLY__INIT;
    show.vi = s_msg_vi (self, vi, true);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_VI_SHOW_REPLY, &show);
}

//  ---------------------------------------------------------------- requests

void
controller_vi_create (controller_t *self, const mk_request_t *request)
{
    const Maekin__ViCreateRequest *create = request->env->vi_create;
    const char *why = mk_name_check (create->name);
    if (why) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "VI name %s", why);
        return;
    }
    snprintf (self->audit_vi, sizeof self->audit_vi, "%s", create->name);
    if (strlen (create->description) >= sizeof ((store_vi_t *) 0)->description) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "a VI's description is at most 255 bytes");
        return;
    }
    if (controller_vis_get (self->vis, create->name)) {
        controller_reply_status (self, request, MK_CONFLICT,
                                 "a Virtual Infrastructure named '%s' exists already",
                                 create->name);
        return;
    }
    const store_user_t *owner =
        *create->owner ? controller_auth_user (self->auth, create->owner) : NULL;
    if (*create->owner && !owner) {
        controller_reply_status (self, request, MK_NOT_FOUND,
                                 "no user named '%.64s' to own it (maekinsh user list)",
                                 create->owner);
        return;
    }
    store_vi_t row = {.created = self->now};
    snprintf (row.name, sizeof row.name, "%s", create->name);
    snprintf (row.description, sizeof row.description, "%s", create->description);
    if (create->quota)
        row.quota = (store_quota_t){create->quota->vcpus, create->quota->memory_mb,
                                    create->quota->disk_gb, create->quota->vms};
    store_member_t member = {.user_id = owner ? owner->id : 0};
    snprintf (member.vi, sizeof member.vi, "%s", row.name);
    snprintf (member.role, sizeof member.role, "owner");
    if (store_vi_insert (self->db, &row) != 1
        || (owner && store_member_insert (self->db, &member) != 1)) {
        controller_reply_db_error (self, request);
        return;
    }
    vi_t *vi = controller_vis_put (self->vis, &row);
    if (owner)
        controller_vis_set_role (vi, owner->id, VI_ROLE_OWNER);
    s_reply_vi (self, request, vi);
}

void
controller_vi_show (controller_t *self, const mk_request_t *request)
{
    vi_t *vi = s_resolve_named (self, request, request->env->vi_show->name, VI_OP_SEE);
    if (vi)
        s_reply_vi (self, request, vi);
}

static bool
s_cursor_ok (const char *after)
{
    return mk_name_check (after) == NULL;
}

void
controller_vi_list (controller_t *self, const mk_request_t *request)
{
    store_page_t page;
    if (controller_list_page (self, request, request->env->vi_list->page, NULL, s_cursor_ok, &page)
        != 0)
        return;
    const char *prefix = page.prefix ? page.prefix : "";
    const store_user_t *user = self->caller.user;
    Maekin__ViListReply reply = MAEKIN__VI_LIST_REPLY__INIT;
    reply.vis = (Maekin__Vi **) controller_arena_new (self, page.limit * sizeof (Maekin__Vi *));
    zlistx_t *all = controller_vis_list (self->vis);
    for (vi_t *vi = (vi_t *) zlistx_first (all); vi; vi = (vi_t *) zlistx_next (all)) {
        if (strcmp (vi->row.name, page.after) <= 0
            || strncmp (vi->row.name, prefix, strlen (prefix)) != 0
            || (user && !user->admin && controller_vis_role (vi, user->id) == VI_ROLE_NONE))
            continue;
        if (reply.n_vis == page.limit) {
            reply.next = reply.vis[reply.n_vis - 1]->name;
            break;
        }
        reply.vis[reply.n_vis++] = s_msg_vi (self, vi, false);
    }
    zlistx_destroy (&all);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_VI_LIST_REPLY, &reply);
}

void
controller_vi_delete (controller_t *self, const mk_request_t *request)
{
    const char *name = request->env->vi_delete->name;
    vi_t *vi = s_resolve_named (self, request, name, VI_OP_GOVERN);
    if (!vi)
        return;
    if (streq (vi->row.name, STORE_VI_DEFAULT)) {
        controller_reply_status (self, request, MK_CONFLICT,
                                 "the default Virtual Infrastructure stays");
        return;
    }
    if (vi->used.vms) {
        controller_reply_status (self, request, MK_CONFLICT,
                                 "VI '%s' still has %u VM%s: delete them first (maekinsh vm "
                                 "list --vi %s)",
                                 vi->row.name, vi->used.vms, vi->used.vms == 1 ? "" : "s",
                                 vi->row.name);
        return;
    }
    if (store_vi_delete (self->db, vi->row.name) != 1) {
        controller_reply_db_error (self, request);
        return;
    }
    s_reply_vi (self, request, vi); //  as it was
    controller_vis_drop (self->vis, vi->row.name);
}

//  The bits of ViQuotaRequest.set.
enum { SET_VCPUS = 1, SET_MEMORY = 2, SET_DISK = 4, SET_VMS = 8 };

void
controller_vi_quota (controller_t *self, const mk_request_t *request)
{
    const Maekin__ViQuotaRequest *change = request->env->vi_quota;
    vi_t *vi = s_resolve_named (self, request, change->name, VI_OP_GOVERN);
    if (!vi)
        return;
    if (!change->quota || !change->set || (change->set & ~15u)) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "say which quotas to set: vcpus, memory, disk, vms");
        return;
    }
    store_vi_t row = vi->row;
    const Maekin__ViQuota *q = change->quota;
    if (change->set & SET_VCPUS)
        row.quota.vcpus = q->vcpus;
    if (change->set & SET_MEMORY)
        row.quota.memory_mb = q->memory_mb;
    if (change->set & SET_DISK)
        row.quota.disk_gb = q->disk_gb;
    if (change->set & SET_VMS)
        row.quota.vms = q->vms;
    const store_quota_t *used = &vi->used, *want = &row.quota;
    const char *below = want->vcpus && want->vcpus < used->vcpus               ? "vCPUs"
                        : want->memory_mb && want->memory_mb < used->memory_mb ? "memory"
                        : want->disk_gb && want->disk_gb < used->disk_gb       ? "disk"
                        : want->vms && want->vms < used->vms                   ? "VMs"
                                                                               : NULL;
    if (below) {
        controller_reply_status (self, request, MK_CONFLICT,
                                 "VI '%s' uses more %s than that now (maekinsh vi show %s): "
                                 "delete VMs first, or give it more",
                                 vi->row.name, below, vi->row.name);
        return;
    }
    if (store_vi_update (self->db, &row) != 1) {
        controller_reply_db_error (self, request);
        return;
    }
    controller_vis_put (self->vis, &row);
    s_reply_vi (self, request, vi);
}

void
controller_vi_template (controller_t *self, const mk_request_t *request)
{
    const Maekin__ViTemplateRequest *change = request->env->vi_template;
    vi_t *vi = s_resolve_named (self, request, change->name, VI_OP_GOVERN);
    if (!vi)
        return;
    const char *name = change->template_;
    bool given = zhashx_lookup (vi->templates, name) != NULL;
    int rc = 0;
    if (streq (vi->row.name, STORE_VI_DEFAULT))
        controller_reply_status (self, request, MK_CONFLICT,
                                 "the default VI may use every template");
    else if (change->remove && !given)
        controller_reply_status (self, request, MK_NOT_FOUND,
                                 "VI '%s' was not given template '%.64s'", vi->row.name, name);
    else if (!change->remove && !zhashx_lookup (self->templates, name))
        controller_reply_status (self, request, MK_NOT_FOUND,
                                 "no template named '%.64s' (maekinsh template list)", name);
    else if (!change->remove && given)
        controller_reply_status (self, request, MK_CONFLICT, "VI '%s' may use '%s' already",
                                 vi->row.name, name);
    else if ((rc = change->remove ? store_vi_template_delete (self->db, vi->row.name, name)
                                  : store_vi_template_insert (self->db, vi->row.name, name))
             != 1)
        controller_reply_db_error (self, request);
    else {
        controller_vis_template_set (vi, name, !change->remove);
        s_reply_vi (self, request, vi);
    }
}

void
controller_vi_pool (controller_t *self, const mk_request_t *request)
{
    const Maekin__ViPoolRequest *change = request->env->vi_pool;
    vi_t *vi = s_resolve_named (self, request, change->name, VI_OP_GOVERN);
    if (!vi)
        return;
    const char *pool = change->pool ? change->pool : "";
    if (*pool && !controller_pools_get (self->pools, pool)) {
        controller_reply_status (self, request, MK_NOT_FOUND,
                                 "no IP pool named '%.64s' (maekinsh pool list)", pool);
        return;
    }
    if (streq (vi->row.pool, pool)) {
        controller_reply_status (self, request, MK_CONFLICT,
                                 *pool ? "VI '%s' has pool '%s' already" : "VI '%s' has no pool",
                                 vi->row.name, pool);
        return;
    }
    //  Its VMs keep the addresses they hold; those made from now on take the new pool's.
    if (store_vi_set_pool (self->db, vi->row.name, pool) != 1) {
        controller_reply_db_error (self, request);
        return;
    }
    snprintf (vi->row.pool, sizeof vi->row.pool, "%s", pool);
    s_reply_vi (self, request, vi);
}

void
controller_vi_member (controller_t *self, const mk_request_t *request)
{
    const Maekin__ViMemberRequest *change = request->env->vi_member;
    vi_t *vi = s_resolve_named (self, request, change->name, VI_OP_MEMBERS);
    if (!vi)
        return;
    const store_user_t *user = controller_auth_user (self->auth, change->user);
    if (!user) {
        controller_reply_status (self, request, MK_NOT_FOUND,
                                 "no user named '%.64s' (maekinsh user list)", change->user);
        return;
    }
    vi_role_t now = controller_vis_role (vi, user->id);
    vi_role_t role = change->op == MAEKIN__VI_MEMBER_OP__VI_MEMBER_REMOVE
                         ? VI_ROLE_NONE
                         : controller_auth_role_parse (change->role);
    store_member_t member = {.user_id = user->id};
    snprintf (member.vi, sizeof member.vi, "%s", vi->row.name);
    snprintf (member.role, sizeof member.role, "%s", controller_auth_role_name (role));
    int rc = 0;
    if (change->op > MAEKIN__VI_MEMBER_OP__VI_MEMBER_REMOVE)
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "unknown member operation %d (add, role or remove)",
                                 (int) change->op);
    else if (change->op != MAEKIN__VI_MEMBER_OP__VI_MEMBER_REMOVE && role == VI_ROLE_NONE)
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "no role '%.32s': a member is an owner, manager, operator or "
                                 "viewer",
                                 change->role);
    else if (change->op == MAEKIN__VI_MEMBER_OP__VI_MEMBER_ADD && now != VI_ROLE_NONE)
        controller_reply_status (self, request, MK_CONFLICT,
                                 "'%s' is a member of VI '%s' already (%s): change their role "
                                 "instead",
                                 user->name, vi->row.name, controller_auth_role_name (now));
    else if (change->op != MAEKIN__VI_MEMBER_OP__VI_MEMBER_ADD && now == VI_ROLE_NONE)
        controller_reply_status (self, request, MK_NOT_FOUND, "'%s' is not a member of VI '%s'",
                                 user->name, vi->row.name);
    else if (now == VI_ROLE_OWNER && role != VI_ROLE_OWNER && controller_vis_owners (vi) == 1)
        controller_reply_status (self, request, MK_CONFLICT,
                                 "'%s' is the only owner of VI '%s': make another owner first",
                                 user->name, vi->row.name);
    else if ((rc = change->op == MAEKIN__VI_MEMBER_OP__VI_MEMBER_ADD
                       ? store_member_insert (self->db, &member)
                   : role == VI_ROLE_NONE ? store_member_delete (self->db, vi->row.name, user->id)
                                          : store_member_update (self->db, &member))
             != 1)
        controller_reply_db_error (self, request);
    else {
        controller_vis_set_role (vi, user->id, role);
        s_reply_vi (self, request, vi);
    }
}
