/*  controller_vis: the Virtual Infrastructures in memory. */
#include "controller_vis.h"

#include "mk_hash.h"
#include "mk_msg.h"

struct _controller_vis_t {
    zhashx_t *vis; //  name -> vi_t (owned)
};

static void
s_vi_destroy (void **item)
{
    vi_t *vi = (vi_t *) *item;
    if (vi) {
        zhashx_destroy (&vi->members);
        zhashx_destroy (&vi->templates);
        free (vi);
        *item = NULL;
    }
}

controller_vis_t *
controller_vis_new (void)
{
    controller_vis_t *self = (controller_vis_t *) zmalloc (sizeof (controller_vis_t));
    assert (self);
    self->vis = zhashx_new ();
    assert (self->vis);
    zhashx_set_destructor (self->vis, s_vi_destroy);
    return self;
}

void
controller_vis_destroy (controller_vis_t **self_p)
{
    assert (self_p);
    controller_vis_t *self = *self_p;
    if (self) {
        zhashx_destroy (&self->vis);
        free (self);
        *self_p = NULL;
    }
}

vi_t *
controller_vis_get (controller_vis_t *self, const char *name)
{
    return name ? (vi_t *) zhashx_lookup (self->vis, name) : NULL;
}

vi_t *
controller_vis_put (controller_vis_t *self, const store_vi_t *row)
{
    vi_t *vi = controller_vis_get (self, row->name);
    if (!vi) {
        vi = (vi_t *) zmalloc (sizeof (vi_t));
        assert (vi);
        vi->members = mk_hash_ids_new ();
        vi->templates = zhashx_new ();
        assert (vi->templates);
        zhashx_insert (self->vis, row->name, vi);
    }
    vi->row = *row;
    return vi;
}

void
controller_vis_drop (controller_vis_t *self, const char *name)
{
    zhashx_delete (self->vis, name);
}

size_t
controller_vis_count (controller_vis_t *self)
{
    return zhashx_size (self->vis);
}

static int
s_by_name (const void *a, const void *b)
{
    return strcmp (((const vi_t *) a)->row.name, ((const vi_t *) b)->row.name);
}

zlistx_t *
controller_vis_list (controller_vis_t *self)
{
    zlistx_t *list = zlistx_new ();
    assert (list);
    zlistx_set_comparator (list, s_by_name);
    for (vi_t *vi = (vi_t *) zhashx_first (self->vis); vi; vi = (vi_t *) zhashx_next (self->vis))
        zlistx_add_end (list, vi);
    zlistx_sort (list);
    return list;
}

//  ---------------------------------------------------------------- members

vi_role_t
controller_vis_role (const vi_t *vi, int64_t user_id)
{
    if (user_id <= 0) //  no user (enforcement off): no member, and no key of the hash
        return VI_ROLE_NONE;
    return (vi_role_t) (uintptr_t) zhashx_lookup (vi->members, MK_HASH_ID (user_id));
}

void
controller_vis_set_role (vi_t *vi, int64_t user_id, vi_role_t role)
{
    void *key = MK_HASH_ID (user_id);
    if (role == VI_ROLE_NONE)
        zhashx_delete (vi->members, key);
    else
        zhashx_update (vi->members, key, (void *) (uintptr_t) role);
}

size_t
controller_vis_owners (const vi_t *vi)
{
    size_t owners = 0;
    zlistx_t *roles = zhashx_values (vi->members);
    for (void *role = zlistx_first (roles); role; role = zlistx_next (roles))
        owners += (vi_role_t) (uintptr_t) role == VI_ROLE_OWNER;
    zlistx_destroy (&roles);
    return owners;
}

void
controller_vis_drop_user (controller_vis_t *self, int64_t user_id)
{
    for (vi_t *vi = (vi_t *) zhashx_first (self->vis); vi; vi = (vi_t *) zhashx_next (self->vis))
        controller_vis_set_role (vi, user_id, VI_ROLE_NONE);
}

size_t
controller_vis_of_user (controller_vis_t *self, int64_t user_id, const vi_t **first)
{
    size_t count = 0;
    const vi_t *least = NULL;
    for (vi_t *vi = (vi_t *) zhashx_first (self->vis); vi; vi = (vi_t *) zhashx_next (self->vis))
        if (controller_vis_role (vi, user_id) != VI_ROLE_NONE) {
            count++;
            if (!least || strcmp (vi->row.name, least->row.name) < 0)
                least = vi;
        }
    if (first)
        *first = least;
    return count;
}

//  ---------------------------------------------------------------- templates, quotas

bool
controller_vis_template_ok (const vi_t *vi, const char *template_)
{
    char owner[64];
    store_template_split (template_, owner, NULL);
    if (*owner) //  a VI's own: that VI's alone
        return streq (owner, vi->row.name);
    return streq (vi->row.name, STORE_VI_DEFAULT) || zhashx_lookup (vi->templates, template_);
}

void
controller_vis_template_set (vi_t *vi, const char *template_, bool on)
{
    if (on)
        zhashx_update (vi->templates, template_, (void *) "");
    else
        zhashx_delete (vi->templates, template_);
}

bool
controller_vis_template_offered (controller_vis_t *self, int64_t user_id, const char *template_)
{
    for (vi_t *vi = (vi_t *) zhashx_first (self->vis); vi; vi = (vi_t *) zhashx_next (self->vis))
        if (controller_vis_role (vi, user_id) != VI_ROLE_NONE
            && controller_vis_template_ok (vi, template_))
            return true;
    return false;
}

void
controller_vis_template_drop (controller_vis_t *self, const char *template_)
{
    for (vi_t *vi = (vi_t *) zhashx_first (self->vis); vi; vi = (vi_t *) zhashx_next (self->vis))
        controller_vis_template_set (vi, template_, false);
}

const char *
controller_vis_quota_check (const vi_t *vi, const store_spec_t *spec, char *why, size_t size)
{
    const store_quota_t *quota = &vi->row.quota, *used = &vi->used;
    if (quota->vms && used->vms + 1 > quota->vms)
        snprintf (why, size, "VI '%s' has %u VMs, its quota", vi->row.name, used->vms);
    else if (quota->vcpus && used->vcpus + spec->vcpus > quota->vcpus)
        snprintf (why, size, "VI '%s' uses %u of its %u vCPUs; this VM needs %u", vi->row.name,
                  used->vcpus, quota->vcpus, spec->vcpus);
    else if (quota->memory_mb && used->memory_mb + spec->memory_mb > quota->memory_mb)
        snprintf (why, size,
                  "VI '%s' uses %" PRIu64 " of its %" PRIu64 " MiB of memory; this VM needs "
                  "%" PRIu64,
                  vi->row.name, used->memory_mb, quota->memory_mb, spec->memory_mb);
    else if (quota->disk_gb && used->disk_gb + spec->disk_gb > quota->disk_gb)
        snprintf (why, size,
                  "VI '%s' uses %" PRIu64 " of its %" PRIu64 " GiB of disk; this VM needs "
                  "%" PRIu64,
                  vi->row.name, used->disk_gb, quota->disk_gb, spec->disk_gb);
    else
        return NULL;
    return why;
}

void
controller_vis_use (vi_t *vi, const store_spec_t *spec, int sign)
{
    store_quota_t *used = &vi->used;
    if (sign > 0) {
        used->vms++;
        used->vcpus += spec->vcpus;
        used->memory_mb += spec->memory_mb;
        used->disk_gb += spec->disk_gb;
    } else {
        used->vms -= used->vms ? 1 : 0;
        used->vcpus -= spec->vcpus < used->vcpus ? spec->vcpus : used->vcpus;
        used->memory_mb -= spec->memory_mb < used->memory_mb ? spec->memory_mb : used->memory_mb;
        used->disk_gb -= spec->disk_gb < used->disk_gb ? spec->disk_gb : used->disk_gb;
    }
}

//  ---------------------------------------------------------------- load

static void
s_load_vi (const void *row, void *arg)
{
    controller_vis_put ((controller_vis_t *) arg, (const store_vi_t *) row);
}

static void
s_load_member (const void *row, void *arg)
{
    const store_member_t *member = (const store_member_t *) row;
    vi_t *vi = controller_vis_get ((controller_vis_t *) arg, member->vi);
    vi_role_t role = controller_auth_role_parse (member->role);
    if (vi && role != VI_ROLE_NONE)
        controller_vis_set_role (vi, member->user_id, role);
}

static void
s_load_template (const void *row, void *arg)
{
    const store_vi_template_t *grant = (const store_vi_template_t *) row;
    vi_t *vi = controller_vis_get ((controller_vis_t *) arg, grant->vi);
    if (vi)
        controller_vis_template_set (vi, grant->template_, true);
}

static void
s_load_use (const char *name, const store_quota_t *use, void *arg)
{
    vi_t *vi = controller_vis_get ((controller_vis_t *) arg, name);
    if (vi)
        vi->used = *use;
}

int
controller_vis_load (controller_vis_t *self, mk_db_t *db)
{
    zhashx_purge (self->vis);
    if (store_vi_all (db, s_load_vi, self) < 0 || store_member_all (db, s_load_member, self) < 0
        || store_vi_template_all (db, s_load_template, self) < 0
        || store_vi_usage (db, s_load_use, self) < 0)
        return -1;
    return 0;
}

//  ---------------------------------------------------------------- self-test

void
controller_vis_test (bool verbose)
{
    (void) verbose;
    controller_vis_t *self = controller_vis_new ();
    store_vi_t row = {.name = "acme", .quota = {.vcpus = 4, .memory_mb = 1024, .vms = 3}};
    vi_t *acme = controller_vis_put (self, &row);
    vi_t *other = controller_vis_put (self, &(store_vi_t){.name = "beta"});
    vi_t *def = controller_vis_put (self, &(store_vi_t){.name = STORE_VI_DEFAULT});
    assert (controller_vis_count (self) == 3 && controller_vis_get (self, "acme") == acme);
    row.quota.vms = 2;
    assert (controller_vis_put (self, &row) == acme && acme->row.quota.vms == 2);

    //  Members and roles.
    controller_vis_set_role (acme, 7, VI_ROLE_OWNER);
    controller_vis_set_role (acme, 8, VI_ROLE_VIEWER);
    controller_vis_set_role (other, 8, VI_ROLE_OPERATOR);
    assert (controller_vis_role (acme, 7) == VI_ROLE_OWNER);
    assert (controller_vis_role (other, 7) == VI_ROLE_NONE);
    assert (controller_vis_role (acme, 0) == VI_ROLE_NONE); //  no user: no member
    assert (controller_vis_owners (acme) == 1 && controller_vis_owners (other) == 0);
    const vi_t *first = NULL;
    assert (controller_vis_of_user (self, 8, &first) == 2 && first == acme);
    assert (controller_vis_of_user (self, 9, &first) == 0 && !first);
    controller_vis_set_role (acme, 8, VI_ROLE_NONE);
    assert (controller_vis_of_user (self, 8, &first) == 1 && first == other);
    controller_vis_drop_user (self, 8);
    assert (controller_vis_of_user (self, 8, NULL) == 0);

    //  Templates: `default` may use all; the others what they were given.
    assert (controller_vis_template_ok (def, "tiny") && !controller_vis_template_ok (acme, "tiny"));
    controller_vis_template_set (acme, "tiny", true);
    assert (controller_vis_template_ok (acme, "tiny"));
    controller_vis_template_set (acme, "tiny", false);
    assert (!controller_vis_template_ok (acme, "tiny"));
    assert (controller_vis_template_ok (acme, "acme:own")
            && !controller_vis_template_ok (def, "acme:own"));
    controller_vis_template_set (acme, "tiny", true);
    assert (controller_vis_template_offered (self, 7, "tiny"));  //  acme's owner
    assert (!controller_vis_template_offered (self, 9, "tiny")); //  in no VI
    controller_vis_template_drop (self, "tiny");
    assert (!controller_vis_template_ok (acme, "tiny"));
    assert (!controller_vis_template_offered (self, 7, "tiny"));

    //  Quotas: each limit in turn, and none at all.
    char why[200];
    store_spec_t two = {.vcpus = 2, .memory_mb = 512};
    assert (!controller_vis_quota_check (acme, &two, why, sizeof why));
    controller_vis_use (acme, &two, +1);
    assert (!controller_vis_quota_check (acme, &two, why, sizeof why));
    controller_vis_use (acme, &two, +1);
    assert (controller_vis_quota_check (acme, &two, why, sizeof why) && strstr (why, "2 VMs"));
    controller_vis_use (acme, &two, -1);
    store_spec_t big = {.vcpus = 3, .memory_mb = 64};
    assert (controller_vis_quota_check (acme, &big, why, sizeof why) && strstr (why, "vCPUs"));
    store_spec_t fat = {.vcpus = 1, .memory_mb = 600};
    assert (controller_vis_quota_check (acme, &fat, why, sizeof why) && strstr (why, "MiB"));
    acme->row.quota.disk_gb = 10;
    store_spec_t disk = {.vcpus = 1, .disk_gb = 11};
    assert (controller_vis_quota_check (acme, &disk, why, sizeof why) && strstr (why, "GiB"));
    for (int i = 0; i < 1000; i++)
        controller_vis_use (other, &big, +1);
    assert (!controller_vis_quota_check (other, &big, why, sizeof why));
    controller_vis_use (acme, &two, -1);
    controller_vis_use (acme, &two, -1); //  never below nothing
    assert (acme->used.vms == 0 && acme->used.vcpus == 0 && acme->used.memory_mb == 0);

    zlistx_t *list = controller_vis_list (self);
    assert (zlistx_size (list) == 3 && zlistx_first (list) == acme && zlistx_last (list) == def);
    zlistx_destroy (&list);
    controller_vis_drop (self, "beta");
    assert (!controller_vis_get (self, "beta") && controller_vis_count (self) == 2);
    controller_vis_destroy (&self);

    //  The table of roles: each role may what the ones below it may, and more.
    const char *reason = NULL;
    assert (controller_auth_vi_check (VI_ROLE_NONE, VI_OP_SEE, &reason) == MK_FORBIDDEN && reason);
    assert (controller_auth_vi_check (VI_ROLE_VIEWER, VI_OP_SEE, &reason) == 0);
    assert (controller_auth_vi_check (VI_ROLE_VIEWER, VI_OP_OPERATE, &reason) == MK_FORBIDDEN);
    assert (controller_auth_vi_check (VI_ROLE_OPERATOR, VI_OP_OPERATE, &reason) == 0);
    assert (controller_auth_vi_check (VI_ROLE_OPERATOR, VI_OP_BUILD, &reason) == MK_FORBIDDEN);
    assert (controller_auth_vi_check (VI_ROLE_MANAGER, VI_OP_BUILD, &reason) == 0);
    assert (controller_auth_vi_check (VI_ROLE_MANAGER, VI_OP_MEMBERS, &reason) == MK_FORBIDDEN);
    assert (controller_auth_vi_check (VI_ROLE_OWNER, VI_OP_AUDIT, &reason) == 0);
    assert (controller_auth_vi_check (VI_ROLE_OWNER, VI_OP_GOVERN, &reason) == MK_FORBIDDEN);
    for (int op = 0; op < VI_OPS; op++) {
        assert (controller_auth_vi_check (VI_ROLE_ADMIN, (vi_op_t) op, &reason) == 0);
        for (int role = VI_ROLE_VIEWER; role < VI_ROLE_ADMIN; role++)
            assert (controller_auth_vi_check ((vi_role_t) role, (vi_op_t) op, &reason) != 0
                    || controller_auth_vi_check ((vi_role_t) (role + 1), (vi_op_t) op, &reason)
                           == 0);
    }
    assert (controller_auth_role_parse ("manager") == VI_ROLE_MANAGER);
    assert (controller_auth_role_parse ("admin") == VI_ROLE_NONE); //  not a member's
    assert (controller_auth_role_parse ("Owner") == VI_ROLE_NONE);
    assert (streq (controller_auth_role_name (VI_ROLE_OPERATOR), "operator"));
}
