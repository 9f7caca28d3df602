/*  maekinsh_template: the rows of maekinsh_cmd's table for templates, the builder of
    `template create`, and how people see a list of templates. */
#include "maekinsh_cmd_def.h"

static const maekinsh_cmd_opt_t s_template_create_opts[] = {
    {"--vcpus", "N", true, "virtual CPUs"},
    {"--memory", "MB", true, "memory in MiB"},
    {"--disk", "GB", false, "size of a new empty disk in GiB (default: none)"},
    {"--image", "PATH", false, "a base disk image to use instead of an empty disk"},
    {"--os-type", "hvm|linux", false, "hvm boots a disk (default), linux boots --kernel"},
    {"--network", "NET", false, "the libvirt network of its NIC (default: none)"},
    {"--kernel", "PATH", false, "direct kernel boot: the kernel"},
    {"--initrd", "PATH", false, "direct kernel boot: the initrd"},
    {"--cmdline", "TEXT", false, "direct kernel boot: the kernel command line"},
    {"--vi", "VI", false, "VI's own, for its VMs alone (default: the cloud's; administrator)"},
    {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_template_vi_opts[] = {
    {"--vi", "VI", false, "VI's own template (default: the cloud's)"}, {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_template_list_opts[] = {
    {"--name-prefix", "P", false, "only templates whose name starts with P"},
    {"--vi", "VI", false, "only those VI may use (default: those one's VIs may use)"},
    {"--limit", "N", false, "at most N templates (1..1000), one page; default: all"},
    {NULL, NULL, false, NULL}};

const maekinsh_out_table_t maekinsh_template_table = {
    &maekin__template__descriptor,
    {{"NAME", "name", MAEKINSH_OUT_COL_TEXT},
     {"VI", "vi", MAEKINSH_OUT_COL_TEXT},
     {"VCPUS", "vcpus", MAEKINSH_OUT_COL_TEXT},
     {"MEMORY", "memory_mb", MAEKINSH_OUT_COL_MB},
     {"DISK", "disk_gb", MAEKINSH_OUT_COL_GB},
     {"IMAGE", "image", MAEKINSH_OUT_COL_TEXT},
     {"OS", "os_type", MAEKINSH_OUT_COL_TEXT},
     {"NETWORK", "network", MAEKINSH_OUT_COL_TEXT}}};

//  An absolute path without control characters: NULL, or why not (a new string).
static char *
s_path (const char *option, const char *path)
{
    if (!maekinsh_out_plain (path))
        return zsys_sprintf ("%s holds a control character or bytes that are not UTF-8", option);
    if (path[0] != '/')
        return zsys_sprintf ("%s must be an absolute path (the agent opens it on its node), "
                             "not '%s'",
                             option, path);
    return NULL;
}

//  The options that are text: the paths, the OS type, the network, the command line.
static char *
s_template_text (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args, Maekin__Template *template_)
{
    const char *value;
    char *why;
    const char *paths[] = {"--image", "--kernel", "--initrd"};
    char **fields[] = {&template_->image, &template_->kernel, &template_->initrd};
    for (int i = 0; i < 3; i++)
        if ((value = maekinsh_cmd_arg (self, args, paths[i]))) {
            if ((why = s_path (paths[i], value)))
                return why;
            *fields[i] = (char *) value;
        }
    if ((value = maekinsh_cmd_arg (self, args, "--os-type"))) {
        static const char *const os_types[] = {"hvm", "linux", NULL};
        if ((why = maekinsh_cmd_one_of ("--os-type", value, os_types)))
            return why;
        template_->os_type = (char *) value;
    }
    if ((value = maekinsh_cmd_arg (self, args, "--network"))) {
        if (!maekinsh_out_plain (value) || strchr (value, '/'))
            return zsys_sprintf ("--network must be a libvirt network name, not '%s'", value);
        template_->network = (char *) value;
    }
    if ((value = maekinsh_cmd_arg (self, args, "--cmdline"))) {
        if (!maekinsh_out_plain (value))
            return zsys_sprintf ("--cmdline holds a control character or bytes that are not "
                                 "UTF-8");
        template_->cmdline = (char *) value;
    }
    return NULL;
}

static char *
s_build_template_create (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__Template template_ = MAEKIN__TEMPLATE__INIT;
    template_.name = (char *) args->operand;
    //  Only that they are numbers: how many vCPUs and how much memory a template may
    //  have is the controller's to say.
    uint64_t number;
    char *why = maekinsh_cmd_number ("--vcpus", maekinsh_cmd_arg (self, args, "--vcpus"), 0,
                                     UINT32_MAX, &number);
    if (why)
        return why;
    template_.vcpus = (uint32_t) number;
    if ((why = maekinsh_cmd_number ("--memory", maekinsh_cmd_arg (self, args, "--memory"), 0,
                                    UINT64_MAX, &template_.memory_mb)))
        return why;
    const char *value;
    if ((value = maekinsh_cmd_arg (self, args, "--disk"))
        && (why = maekinsh_cmd_number ("--disk", value, 0, UINT64_MAX, &template_.disk_gb)))
        return why;
    if ((why = s_template_text (self, args, &template_)))
        return why;
    bool kernel = maekinsh_cmd_arg (self, args, "--kernel") != NULL;
    if (!kernel && streq (template_.os_type, "linux"))
        return maekinsh_cmd_usage_error (self->def,
                                         "--os-type linux boots a kernel: give --kernel");
    if (!kernel && (*template_.initrd || *template_.cmdline))
        return maekinsh_cmd_usage_error (self->def, "--initrd and --cmdline need --kernel");
    const char *vi = maekinsh_cmd_arg (self, args, "--vi");
    if (vi && (why = maekinsh_cmd_name ("VI", vi)))
        return why;
    template_.vi = vi ? (char *) vi : "";
    Maekin__TemplateCreateRequest create = MAEKIN__TEMPLATE_CREATE_REQUEST__INIT;
    create.template_ = &template_;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (TEMPLATE_CREATE);
    env.template_create = &create;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

const maekinsh_cmd_def_t maekinsh_template_commands[] = {
    {.group = "template",
     .verb = "create",
     .operand = "NAME",
     .subject = "template",
     .summary = "create a template: the shape of new VMs (the cloud's, or a VI's own)",
     .opts = s_template_create_opts,
     .build = s_build_template_create,
     .request = MAEKINSH_BODY (TEMPLATE_CREATE),
     .reply = MAEKINSH_BODY (TEMPLATE_CREATE_REPLY),
     .mutating = true},
    {.group = "template",
     .verb = "list",
     .summary = "list the templates",
     .opts = s_template_list_opts,
     .build = maekinsh_cmd_build_list,
     .run = MAEKINSH_CMD_LIST,
     .request = MAEKINSH_BODY (TEMPLATE_LIST),
     .reply = MAEKINSH_BODY (TEMPLATE_LIST_REPLY),
     .table = &maekinsh_template_table},
    {.group = "template",
     .verb = "show",
     .operand = "NAME",
     .subject = "template",
     .summary = "show one template",
     .opts = s_template_vi_opts,
     .build = maekinsh_cmd_build_show,
     .request = MAEKINSH_BODY (TEMPLATE_SHOW),
     .reply = MAEKINSH_BODY (TEMPLATE_SHOW_REPLY)},
    {.group = "template",
     .verb = "delete",
     .operand = "NAME",
     .subject = "template",
     .summary = "delete a template (its VMs stay)",
     .opts = s_template_vi_opts,
     .build = maekinsh_cmd_build_show,
     .request = MAEKINSH_BODY (TEMPLATE_DELETE),
     .reply = MAEKINSH_BODY (TEMPLATE_DELETE_REPLY),
     .mutating = true},
    {.group = NULL}};

void
maekinsh_template_test (bool verbose)
{
    maekinsh_cmd_t *cmd;
    const Maekin__Envelope *env;
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS (
        "template", "create", "small", "--vcpus", "2", "--memory=512", "--disk", "10", "--image",
        "/var/lib/maekin/base.qcow2", "--os-type", "hvm", "--network", "default"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (TEMPLATE_CREATE) && env->template_create->template_);
    const Maekin__Template *made = env->template_create->template_;
    assert (streq (made->name, "small") && made->vcpus == 2 && made->memory_mb == 512);
    assert (made->disk_gb == 10 && streq (made->image, "/var/lib/maekin/base.qcow2"));
    assert (streq (made->os_type, "hvm") && streq (made->network, "default"));
    assert (maekinsh_cmd_test_is_uuid (env->request_id));
    char first_id[40];
    snprintf (first_id, sizeof first_id, "%s", env->request_id);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("template", "create", "kern", "--vcpus", "1", "--memory", "64", "--os-type",
                        "linux", "--kernel", "/boot/vmlinuz", "--initrd", "/boot/initrd.img",
                        "--cmdline", "console=ttyS0 quiet"));
    env = maekinsh_cmd_request (cmd);
    made = env->template_create->template_;
    assert (streq (made->kernel, "/boot/vmlinuz") && streq (made->initrd, "/boot/initrd.img"));
    assert (streq (made->cmdline, "console=ttyS0 quiet") && made->disk_gb == 0);
    assert (maekinsh_cmd_test_is_uuid (env->request_id) && !streq (env->request_id, first_id));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("template", "create", "zero", "--vcpus", "0", "--memory", "0"));
    env = maekinsh_cmd_request (cmd);
    made = env->template_create->template_;
    assert (made->vcpus == 0 && made->memory_mb == 0);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("template", "list"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (TEMPLATE_LIST) && env->template_list->page);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("template", "show", "small"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (TEMPLATE_SHOW)
            && streq (env->template_show->name, "small"));
    assert (!*env->request_id);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("template", "delete", "small"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (TEMPLATE_DELETE));
    assert (streq (env->template_delete->name, "small")
            && maekinsh_cmd_test_is_uuid (env->request_id));
    maekinsh_cmd_destroy (&cmd);
}
