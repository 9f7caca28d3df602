/*  controller_template: the template requests. Templates are few and read by every
    create, so the controller keeps them in memory as well (self->templates), by key: a
    cloud's template by its name, a VI's own by "VI:NAME". The administrator makes the
    cloud's and gives them to VIs; a VI's managers make its own. */
#include "controller_core.h"

#include "mk_name.h"

//  ---------------------------------------------------------------- requests: templates

//  Checks a template; a static reason or NULL.
static const char *
s_template_check (const Maekin__Template *t)
{
    if (t->vcpus < 1 || t->vcpus > MK_VCPUS_MAX)
        return "vcpus must be 1 to " MK_STRINGIFY (MK_VCPUS_MAX);
    if (t->memory_mb < MK_MEMORY_MIN_MB || t->memory_mb > MK_MEMORY_MAX_MB)
        return "memory must be " MK_STRINGIFY (MK_MEMORY_MIN_MB) " to " MK_STRINGIFY (
            MK_MEMORY_MAX_MB) " MiB";
    const char *os = t->os_type ? t->os_type : "";
    if (*os && !streq (os, "hvm") && !streq (os, "linux"))
        return "os type must be hvm or linux";
    const char *paths[] = {t->image, t->kernel, t->initrd};
    for (int i = 0; i < 3; i++) {
        if (paths[i] && *paths[i] && paths[i][0] != '/')
            return "image, kernel and initrd must be absolute paths";
        if (paths[i] && strlen (paths[i]) >= STORE_PATH_MAX)
            return "a path is longer than 511 bytes";
    }
    if (t->cmdline && strlen (t->cmdline) >= STORE_CMDLINE_MAX)
        return "the kernel command line is longer than 1023 bytes";
    if (t->network && *t->network && mk_name_check (t->network))
        return "the network name is not a valid name";
    bool kernel = t->kernel && *t->kernel;
    if (!kernel && ((t->initrd && *t->initrd) || (t->cmdline && *t->cmdline)))
        return "an initrd or a command line needs a kernel";
    if (streq (os, "linux") && !kernel)
        return "os type linux boots a kernel directly: give --kernel";
    return NULL;
}

//  Whether a path names a file inside one of the storage directories (a list separated
//  by ':'): no empty, '.' or '..' component, under a directory and not the directory.
//  Without this, a template could hand a guest any file or device of a host.
static bool
s_in_storage (const char *path, const char *dirs)
{
    for (const char *c = path; *c; c++)
        if (*c == '/'
            && (c[1] == '/' || c[1] == '\0' || (c[1] == '.' && (c[2] == '/' || !c[2]))
                || (c[1] == '.' && c[2] == '.' && (c[3] == '/' || !c[3]))))
            return false;
    while (dirs && *dirs) {
        const char *end = strchr (dirs, ':');
        size_t length = end ? (size_t) (end - dirs) : strlen (dirs);
        while (length > 1 && dirs[length - 1] == '/')
            length--;
        if (length && strncmp (path, dirs, length) == 0 && path[length] == '/' && path[length + 1])
            return true;
        dirs = end ? end + 1 : NULL;
    }
    return false;
}

//  The key of the template a request names (into key, STORE_VM_KEY_MAX bytes): a VI's own
//  when it names a VI where the caller may do `op`, else one of the cloud's, which only
//  the administrator changes (`changes`). False having answered.
static bool
s_key (controller_t *self, const mk_request_t *request, const char *vi, const char *name,
       vi_op_t op, bool changes, char *key)
{
    const char *why = mk_name_check (name ? name : "");
    if (why) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "template name %s", why);
        return false;
    }
    const store_user_t *user = self->caller.user;
    if (vi && *vi) {
        vi_t *owner = controller_vi_resolve (self, request, vi, op);
        if (!owner)
            return false;
        store_template_key (key, STORE_VM_KEY_MAX, owner->row.name, name);
        return true;
    }
    if (changes && user && !user->admin) {
        controller_reply_status (self, request, MK_FORBIDDEN,
                                 "only the cloud's administrator changes the cloud's templates; "
                                 "a VI's managers make its own (--vi)");
        return false;
    }
    if (!changes && !controller_vi_any_role (self, request))
        return false;
    store_template_key (key, STORE_VM_KEY_MAX, "", name);
    return true;
}

void
controller_template_create (controller_t *self, const mk_request_t *request)
{
    const Maekin__Template *t = request->env->template_create->template_;
    char key[STORE_VM_KEY_MAX];
    if (!t) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "template name is missing");
        return;
    }
    if (!s_key (self, request, t->vi, t->name, VI_OP_BUILD, true, key))
        return;
    const char *why;
    if ((why = s_template_check (t))) {
        controller_reply_status (self, request, MK_BAD_REQUEST, "template '%s': %s", t->name, why);
        return;
    }
    const char *paths[][2] = {{"image", t->image}, {"kernel", t->kernel}, {"initrd", t->initrd}};
    for (int i = 0; i < 3; i++)
        if (paths[i][1] && *paths[i][1] && !s_in_storage (paths[i][1], self->opts.image_dirs)) {
            controller_reply_status (self, request, MK_BAD_REQUEST,
                                     "template '%s': %s '%s' is not a file in a storage "
                                     "directory of this cloud (%s; the controller's "
                                     "storage/image_dirs)",
                                     t->name, paths[i][0], paths[i][1], self->opts.image_dirs);
            return;
        }
    store_template_t row = {.created = self->now};
    snprintf (row.name, sizeof row.name, "%s", key);
    row.spec.vcpus = t->vcpus;
    row.spec.memory_mb = t->memory_mb;
    row.spec.disk_gb = t->disk_gb;
    snprintf (row.spec.image, sizeof row.spec.image, "%s", t->image ? t->image : "");
    snprintf (row.spec.os_type, sizeof row.spec.os_type, "%s", t->os_type ? t->os_type : "");
    snprintf (row.spec.network, sizeof row.spec.network, "%s", t->network ? t->network : "");
    snprintf (row.spec.kernel, sizeof row.spec.kernel, "%s", t->kernel ? t->kernel : "");
    snprintf (row.spec.initrd, sizeof row.spec.initrd, "%s", t->initrd ? t->initrd : "");
    snprintf (row.spec.cmdline, sizeof row.spec.cmdline, "%s", t->cmdline ? t->cmdline : "");
    int rc = store_template_insert (self->db, &row);
    if (rc == MK_DB_CONSTRAINT) {
        controller_reply_status (self, request, MK_CONFLICT, "a template named '%s' exists already",
                                 t->name);
        return;
    }
    if (rc != 1) {
        controller_reply_db_error (self, request);
        return;
    }
    store_template_t *copy = (store_template_t *) malloc (sizeof (store_template_t));
    *copy = row;
    zhashx_update (self->templates, row.name, copy);
    Maekin__TemplateCreateReply created = MAEKIN__TEMPLATE_CREATE_REPLY__INIT;
    created.template_ = controller_msg_template (self, &row);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_TEMPLATE_CREATE_REPLY,
                           &created);
}

void
controller_template_show (controller_t *self, const mk_request_t *request)
{
    const Maekin__TemplateShowRequest *ask = request->env->template_show;
    const char *name = ask->name;
    char key[STORE_VM_KEY_MAX];
    if (!s_key (self, request, ask->vi, name, VI_OP_SEE, false, key))
        return;
    store_template_t row;
    int rc = store_template_get (self->db, key, &row);
    if (rc < 0) {
        controller_reply_db_error (self, request);
        return;
    }
    if (rc == 0) {
        controller_reply_status (self, request, MK_NOT_FOUND,
                                 "no template named '%s' (maekinsh template list)",
                                 name ? name : "");
        return;
    }
    Maekin__TemplateShowReply show = MAEKIN__TEMPLATE_SHOW_REPLY__INIT;
    show.template_ = controller_msg_template (self, &row);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_TEMPLATE_SHOW_REPLY, &show);
}

void
controller_template_delete (controller_t *self, const mk_request_t *request)
{
    const Maekin__TemplateDeleteRequest *ask = request->env->template_delete;
    const char *name = ask->name;
    char key[STORE_VM_KEY_MAX];
    if (!s_key (self, request, ask->vi, name, VI_OP_BUILD, true, key))
        return;
    //  One of the cloud's goes from the VIs it was given to as well.
    int rc = strchr (key, ':') ? 0 : store_vi_template_drop (self->db, key);
    if (rc >= 0)
        rc = store_template_delete (self->db, key);
    if (rc < 0) {
        controller_reply_db_error (self, request);
        return;
    }
    if (rc == 0) {
        controller_reply_status (self, request, MK_NOT_FOUND, "no template named '%s'",
                                 name ? name : "");
        return;
    }
    zhashx_delete (self->templates, key);
    controller_vis_template_drop (self->vis, key);
    Maekin__TemplateDeleteReply deleted = MAEKIN__TEMPLATE_DELETE_REPLY__INIT;
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_TEMPLATE_DELETE_REPLY,
                           &deleted);
}

static void *
s_template_item (controller_t *self, const void *row)
{
    return controller_msg_template (self, (const store_template_t *) row);
}

//  Templates are listed by key: the cursor is the last one's.
static char *
s_template_cursor (controller_t *self, const void *message)
{
    const Maekin__Template *t = (const Maekin__Template *) message;
    char key[STORE_VM_KEY_MAX];
    store_template_key (key, sizeof key, t->vi, t->name);
    return controller_arena_str (self, key);
}

static bool
s_name_cursor_ok (const char *text)
{
    return mk_name_check (text) == NULL || controller_vi_key_ok (text);
}

static int
s_by_name (const void *a, const void *b)
{
    return strcmp ((*(const store_template_t *const *) a)->name,
                   (*(const store_template_t *const *) b)->name);
}

//  Whether the VI named, or one the caller holds a role in, may use a template.
static bool
s_offered (controller_t *self, const vi_t *only, const char *name)
{
    return only ? controller_vis_template_ok (only, name)
                : controller_vis_template_offered (self->vis, self->caller.user->id, name);
}

//  The templates a VI may use, or (another user than the administrator) those their VIs
//  may: few, and held in memory.
static void
s_list_offered (controller_t *self, const mk_request_t *request, const store_page_t *page,
                const vi_t *only)
{
    size_t count = zhashx_size (self->templates), kept = 0;
    const store_template_t **all =
        (const store_template_t **) controller_arena_new (self, (count + 1) * sizeof (void *));
    const char *prefix = page->prefix ? page->prefix : "";
    for (store_template_t *t = (store_template_t *) zhashx_first (self->templates); t;
         t = (store_template_t *) zhashx_next (self->templates))
        if (strcmp (t->name, page->after) > 0 && strncmp (t->name, prefix, strlen (prefix)) == 0
            && s_offered (self, only, t->name))
            all[kept++] = t;
    qsort (all, kept, sizeof (void *), s_by_name);
    Maekin__TemplateListReply reply = MAEKIN__TEMPLATE_LIST_REPLY__INIT;
    reply.templates =
        (Maekin__Template **) controller_arena_new (self, page->limit * sizeof (void *));
    for (size_t i = 0; i < kept && reply.n_templates < page->limit; i++)
        reply.templates[reply.n_templates++] = controller_msg_template (self, all[i]);
    if (kept > page->limit)
        reply.next = s_template_cursor (self, reply.templates[page->limit - 1]);
    controller_reply_body (self, request, MK_OK, MAEKIN__ENVELOPE__BODY_TEMPLATE_LIST_REPLY,
                           &reply);
}

void
controller_template_list (controller_t *self, const mk_request_t *request)
{
    store_page_t page;
    const Maekin__ListRequest *ask = request->env->template_list->page;
    if (controller_list_page (self, request, ask, NULL, s_name_cursor_ok, &page) != 0)
        return;
    const char *vi_name = ask && ask->filter_vi ? ask->filter_vi : "";
    const vi_t *only = *vi_name ? controller_vi_resolve (self, request, vi_name, VI_OP_SEE) : NULL;
    if (*vi_name && !only)
        return;
    const store_user_t *user = self->caller.user;
    if (only || (user && !user->admin))
        s_list_offered (self, request, &page, only);
    else
        controller_list_reply (self, request, &page, store_template_list, s_template_item,
                               s_template_cursor, MAEKIN__ENVELOPE__BODY_TEMPLATE_LIST_REPLY);
}
