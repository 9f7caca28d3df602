/*  gateway_routes: the REST API's table and what turns an HTTP request into a bus
    request. See gateway_routes.h; the API as a user reads it is in the README and
    /api/v1/openapi.json (gateway_openapi), both from this table. */
#include "gateway_routes.h"

#include "mk_str.h"
#include "mk_uuid.h"

#include <civetweb.h>
#include <inttypes.h>

#define TASK_LOCATION "/api/v1/tasks/{task_id}"

//  A VM's actions, on both of its paths (by VI and name, and by UUID).
#define VM_ACTION(path, verb, op, what)                                                            \
    {                                                                                              \
        "POST", path "/" verb, "vm_action", NULL, "op=" op,                                        \
            .reply = "task_accepted", .status = 0, .location = TASK_LOCATION, .summary = what      \
    }
#define VM_ACTIONS(path)                                                                           \
    VM_ACTION (path, "start", "VM_OP_START", "Start a stopped VM"),                                \
        VM_ACTION (path, "stop", "VM_OP_STOP", "Shut a VM down (forced after the stop timeout)"),  \
        VM_ACTION (path, "reboot", "VM_OP_REBOOT", "Reboot a running VM"),                         \
        VM_ACTION (path, "suspend", "VM_OP_SUSPEND", "Pause a running VM"),                        \
        VM_ACTION (path, "resume", "VM_OP_RESUME", "Resume a paused VM"),                          \
        VM_ACTION (path, "destroy", "VM_OP_DESTROY", "Power a VM off now")

const gateway_route_t gateway_routes[] = {
    //  Sessions
    {"POST", "/api/v1/session", "login", "", .reply = "login_reply", .status = 201,
     .flags = GATEWAY_LOGIN | GATEWAY_OPEN,
     .summary = "Log in: a session's token (also set as an HTTP-only cookie)"},
    {"GET", "/api/v1/session", "whoami", .reply = "whoami_reply",
     .summary = "Who the credential is (and, with the cookie, the CSRF token in X-CSRF-Token)"},
    {"DELETE", "/api/v1/session", "logout", .reply = "logout_reply", .status = 204,
     .flags = GATEWAY_LOGOUT, .summary = "Log out: the session ends and its cookie is cleared"},

    //  Hosts
    {"GET", "/api/v1/hosts", "host_list", .reply = "host_list_reply",
     .summary = "The hosts, with their latest measures"},
    {"GET", "/api/v1/hosts/{name}", "host_show", .reply = "host_show_reply", .result = "host",
     .summary = "One host and its latest measures"},
    {"GET", "/api/v1/hosts/{name}/domains", "host_domains", .reply = "domain_list_reply",
     .summary = "What libvirt on the host has, asked of its agent now"},
    {"GET", "/api/v1/hosts/{host}/history", "metrics_history", .reply = "metrics_history_reply",
     .summary = "A host's measures averaged over time"},
    {"POST", "/api/v1/hosts/{host}/token", "join_token", "", .reply = "join_token_reply",
     .status = 201, .summary = "A one-time join token for a new node (shown once)"},
    {"POST", "/api/v1/hosts", "host_add", "", .reply = "host_add_reply", .status = 201,
     .summary = "Register a machine to be a host: its MAC bound to an address of an IP pool, "
                "and a join token (shown once)"},
    {"DELETE", "/api/v1/hosts/{name}", "host_remove", .reply = "host_remove_reply",
     .summary = "Take a host with no VMs away: its address, join tokens and bus keys go"},

    //  Templates: the cloud's, and a VI's own
    {"GET", "/api/v1/templates", "template_list", .reply = "template_list_reply",
     .summary = "The templates one may use"},
    {"POST", "/api/v1/templates", "template_create", "template", .reply = "template_create_reply",
     .result = "template", .status = 201, .location = "/api/v1/templates/{name}",
     .summary = "Make a template of the cloud's"},
    {"GET", "/api/v1/templates/{name}", "template_show", .reply = "template_show_reply",
     .result = "template", .summary = "One template"},
    {"DELETE", "/api/v1/templates/{name}", "template_delete", .reply = "template_delete_reply",
     .status = 204, .summary = "Delete a template (its VMs stay)"},
    {"GET", "/api/v1/vis/{vi:page.filter_vi}/templates", "template_list",
     .reply = "template_list_reply", .summary = "The templates a VI may use"},
    {"POST", "/api/v1/vis/{vi:template.vi}/templates", "template_create", "template",
     .reply = "template_create_reply", .result = "template", .status = 201,
     .location = "/api/v1/vis/{vi}/templates/{name}", .summary = "Make a VI's own template"},
    {"GET", "/api/v1/vis/{vi}/templates/{name}", "template_show", .reply = "template_show_reply",
     .result = "template", .summary = "One template, a VI's own first"},
    {"DELETE", "/api/v1/vis/{vi}/templates/{name}", "template_delete",
     .reply = "template_delete_reply", .status = 204, .summary = "Delete a VI's own template"},

    //  VMs, by VI and name
    {"GET", "/api/v1/vms", "vm_list", .reply = "vm_list_reply",
     .summary = "The VMs of every VI one holds a role in"},
    {"GET", "/api/v1/vis/{vi:page.filter_vi}/vms", "vm_list", .reply = "vm_list_reply",
     .summary = "A VI's VMs"},
    {"POST", "/api/v1/vis/{vi}/vms", "vm_create", "", .reply = "task_accepted",
     .location = TASK_LOCATION, .summary = "Create a VM from a template: its task is accepted"},
    {"GET", "/api/v1/vis/{vi}/vms/{name}", "vm_show", .reply = "vm_show_reply", .result = "vm",
     .summary = "One VM"},
    {"DELETE", "/api/v1/vis/{vi}/vms/{name}", "vm_action", NULL, "op=VM_OP_DELETE",
     .reply = "task_accepted", .location = TASK_LOCATION,
     .summary = "Delete a stopped VM: its task is accepted"},
    VM_ACTIONS ("/api/v1/vis/{vi}/vms/{name}"),
    {"GET", "/api/v1/vis/{vi}/vms/{name:vm}/history", "metrics_history",
     .reply = "metrics_history_reply", .summary = "A VM's measures averaged over time"},

    //  VMs, by UUID
    {"GET", "/api/v1/vms/{uuid:name}", "vm_show", .reply = "vm_show_reply", .result = "vm",
     .summary = "One VM, by its UUID"},
    {"DELETE", "/api/v1/vms/{uuid:name}", "vm_action", NULL, "op=VM_OP_DELETE",
     .reply = "task_accepted", .location = TASK_LOCATION,
     .summary = "Delete a stopped VM, by its UUID"},
    VM_ACTIONS ("/api/v1/vms/{uuid:name}"),
    {"GET", "/api/v1/vms/{uuid:vm}/history", "metrics_history", .reply = "metrics_history_reply",
     .summary = "A VM's measures averaged over time, by its UUID"},

    //  Tasks and events
    {"GET", "/api/v1/tasks", "task_list", .reply = "task_list_reply",
     .summary = "Tasks, newest first"},
    {"GET", "/api/v1/tasks/{id}", "task_show", .reply = "task_show_reply", .result = "task",
     .summary = "One task"},
    {"GET", "/api/v1/tasks/{id}/wait", "task_wait", .reply = "task_show_reply", .result = "task",
     .flags = GATEWAY_WAIT,
     .summary = "Wait for a task to end (200), or for timeout_ms (202: as it stands)"},
    {"GET", "/api/v1/events", "events_since", .reply = "events_since_reply",
     .summary = "A stream's events after a sequence number"},
    {"GET", "/api/v1/audit", "audit_list", .reply = "audit_list_reply",
     .summary = "The audit log, newest first"},
    {"GET", "/api/v1/stats", "cloud_stats", .reply = "cloud_stats_reply",
     .summary = "The cloud's figures (what GET /metrics says to Prometheus)"},

    //  Virtual Infrastructures
    {"GET", "/api/v1/vis", "vi_list", .reply = "vi_list_reply",
     .summary = "The VIs one holds a role in"},
    {"POST", "/api/v1/vis", "vi_create", "", .reply = "vi_show_reply", .result = "vi",
     .status = 201, .location = "/api/v1/vis/{name}", .summary = "Make a VI"},
    {"GET", "/api/v1/vis/{name}", "vi_show", .reply = "vi_show_reply", .result = "vi",
     .summary = "One VI: quotas, use, templates, members"},
    {"DELETE", "/api/v1/vis/{name}", "vi_delete", .reply = "vi_show_reply", .result = "vi",
     .summary = "Delete a VI without VMs"},
    {"PUT", "/api/v1/vis/{name}/quota", "vi_quota", "quota", "set=15", .reply = "vi_show_reply",
     .result = "vi", .summary = "Set a VI's quotas (0: no limit)"},
    {"PUT", "/api/v1/vis/{name}/grants/{template}", "vi_template", .reply = "vi_show_reply",
     .result = "vi", .summary = "Give a VI a template of the cloud's"},
    {"DELETE", "/api/v1/vis/{name}/grants/{template}", "vi_template", NULL, "remove=true",
     .reply = "vi_show_reply", .result = "vi",
     .summary = "Take a template from a VI (its VMs stay)"},
    {"POST", "/api/v1/vis/{name}/members", "vi_member", "", "op=VI_MEMBER_ADD",
     .reply = "vi_show_reply", .result = "vi", .summary = "Add a member with a role"},
    {"PUT", "/api/v1/vis/{name}/members/{user}", "vi_member", "", "op=VI_MEMBER_ROLE",
     .reply = "vi_show_reply", .result = "vi", .summary = "Give a member another role"},
    {"DELETE", "/api/v1/vis/{name}/members/{user}", "vi_member", NULL, "op=VI_MEMBER_REMOVE",
     .reply = "vi_show_reply", .result = "vi", .summary = "Remove a member"},

    {"PUT", "/api/v1/vis/{name}/pool", "vi_pool", "", .reply = "vi_show_reply", .result = "vi",
     .summary = "Give a VI an IP pool ({\"pool\": \"\"} takes it away)"},

    //  IP pools (the administrator's)
    {"GET", "/api/v1/pools", "pool_list", .reply = "pool_list_reply",
     .summary = "The IP pools, with their use"},
    {"POST", "/api/v1/pools", "pool_create", "pool", .reply = "pool_show_reply", .result = "pool",
     .status = 201, .location = "/api/v1/pools/{name}", .summary = "Make an IP pool"},
    {"GET", "/api/v1/pools/{name}", "pool_show", .reply = "pool_show_reply", .result = "pool",
     .summary = "One IP pool: network, ranges, use, VIs"},
    {"GET", "/api/v1/pools/{name}/leases", "pool_leases", .reply = "pool_leases_reply",
     .summary = "The addresses a pool's VMs hold"},
    {"GET", "/api/v1/leases", "pool_leases", .reply = "pool_leases_reply",
     .summary = "The addresses VMs hold, every pool's (what the DHCP controller serves)"},
    {"DELETE", "/api/v1/pools/{name}", "pool_delete", .reply = "pool_show_reply", .result = "pool",
     .summary = "Delete an IP pool no VI has and no VM holds"},
    {"POST", "/api/v1/pools/{name}/ranges", "pool_range", "range", .reply = "pool_show_reply",
     .result = "pool", .summary = "Give an IP pool a range of addresses"},
    {"DELETE", "/api/v1/pools/{name}/ranges/{first:range.first}", "pool_range", NULL, "remove=true",
     .reply = "pool_show_reply", .result = "pool",
     .summary = "Take a range (by its first address) no VM holds from a pool"},

    //  Users and API keys
    {"GET", "/api/v1/users", "user_list", .reply = "user_list_reply", .summary = "The users"},
    {"POST", "/api/v1/users", "user_create", "", .reply = "user_show_reply", .result = "user",
     .status = 201, .location = "/api/v1/users/{name}", .summary = "Make a user"},
    {"GET", "/api/v1/users/{name}", "user_show", .reply = "user_show_reply", .result = "user",
     .summary = "One user"},
    {"DELETE", "/api/v1/users/{name}", "user_delete", .reply = "user_show_reply", .result = "user",
     .summary = "Delete a user: their sessions and keys end"},
    {"PUT", "/api/v1/users/{name}/password", "user_passwd", "", .reply = "user_show_reply",
     .result = "user", .summary = "Set a password (one's own with the old one)"},
    {"POST", "/api/v1/users/{name}/disable", "user_disable", .reply = "user_show_reply",
     .result = "user", .summary = "Disable a user: their sessions end, their keys are refused"},
    {"POST", "/api/v1/users/{name}/enable", "user_disable", NULL, "enable=true",
     .reply = "user_show_reply", .result = "user", .summary = "Enable a disabled user again"},
    {"GET", "/api/v1/apikeys", "apikey_list", .reply = "apikey_list_reply",
     .summary = "API keys: one's own (the administrator's: everyone's, or a user's)"},
    {"POST", "/api/v1/apikeys", "apikey_create", "", .reply = "apikey_create_reply", .status = 201,
     .summary = "Make an API key (its secret shown once)"},
    {"DELETE", "/api/v1/apikeys/{name}", "apikey_revoke", .reply = "apikey_revoke_reply",
     .result = "api_key", .summary = "Revoke an API key"},

    //  The bus's keys
    {"GET", "/api/v1/buskeys", "bus_key_list", .reply = "bus_key_list_reply",
     .summary = "The keys the bus admits"},
    {"POST", "/api/v1/buskeys", "bus_key_admit", "key", .reply = "bus_key_list_reply",
     .status = 201, .summary = "Admit a key to the bus"},
    {"DELETE", "/api/v1/buskeys/{name}", "bus_key_revoke", .reply = "bus_key_list_reply",
     .summary = "Revoke every key of a name, at once"},
    {"POST", "/api/v1/buskeys/{name}/rotate", "bus_key_rotate", "", .reply = "bus_key_list_reply",
     .summary = "A new key for a name; the old works for grace_s more"},
};

const size_t gateway_routes_count = sizeof gateway_routes / sizeof gateway_routes[0];

//  ------------------------------------------------------------------ matching

//  Whether a route's path matches the segments (after /api/v1).
static bool
s_path_matches (const char *path, char *const *segments, size_t count)
{
    const char *at = path + strlen ("/api/v1");
    for (size_t i = 0; i < count; i++) {
        if (*at != '/')
            return false;
        at++;
        size_t length = strcspn (at, "/");
        if (*at != '{' && (strlen (segments[i]) != length || memcmp (at, segments[i], length)))
            return false;
        at += length;
    }
    return *at == 0;
}

const gateway_route_t *
gateway_routes_match (const char *method, char *const *segments, size_t count, bool *path_known,
                      char *allow, size_t allow_size)
{
    *path_known = false;
    *allow = 0;
    const gateway_route_t *found = NULL;
    for (size_t i = 0; i < gateway_routes_count; i++) {
        const gateway_route_t *route = &gateway_routes[i];
        if (!s_path_matches (route->path, segments, count))
            continue;
        //  No two routes match one path and method (the self-test checks every pair).
        if (streq (route->method, method) && !found)
            found = route;
        if (!strstr (allow, route->method)) {
            size_t length = strlen (allow);
            snprintf (allow + length, allow_size - length, "%s%s", length ? ", " : "",
                      route->method);
        }
        *path_known = true;
    }
    return found;
}

//  ------------------------------------------------------------------ building

//  Calls fn (name, field path) for each {param} of a route's path and each of its fixed
//  fields (name NULL, the value in value); stops at the first that returns non-zero.
typedef int (s_field_fn) (const char *name, const char *field, const char *value, void *arg);

static int
s_each_set (const gateway_route_t *route, char *const *segments, s_field_fn *fn, void *arg)
{
    const char *at = route->path + strlen ("/api/v1");
    for (size_t index = 0; *at == '/'; index++) {
        at++;
        size_t length = strcspn (at, "/");
        if (*at == '{') {
            char param[64];
            snprintf (param, sizeof param, "%.*s", (int) (length - 2), at + 1);
            char *colon = strchr (param, ':');
            const char *field = colon ? colon + 1 : param;
            if (colon)
                *colon = 0;
            int rc = fn (param, field, segments ? segments[index] : NULL, arg);
            if (rc)
                return rc;
        }
        at += length;
    }
    for (const char *fixed = route->fixed; fixed && *fixed;) {
        size_t length = strcspn (fixed, ",");
        char pair[96];
        snprintf (pair, sizeof pair, "%.*s", (int) length, fixed);
        char *equals = strchr (pair, '=');
        assert (equals);
        *equals = 0;
        int rc = fn (NULL, pair, equals + 1, arg);
        if (rc)
            return rc;
        fixed += length + (fixed[length] == ',');
    }
    return 0;
}

static const ProtobufCFieldDescriptor *
s_envelope_field (const char *member)
{
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (&maekin__envelope__descriptor, member);
    assert (field && field->type == PROTOBUF_C_TYPE_MESSAGE);
    return field;
}

static const ProtobufCMessageDescriptor *
s_request_type (const gateway_route_t *route)
{
    return (const ProtobufCMessageDescriptor *) s_envelope_field (route->request)->descriptor;
}

//  Whether a route's path or fixed values set the field.
static int
s_is_field (const char *name, const char *field, const char *value, void *arg)
{
    return streq (field, (const char *) arg);
}

void
gateway_routes_query_params (const gateway_route_t *route, gateway_param_fn *fn, void *arg)
{
    if (route->body) //  a body says it all
        return;
    const ProtobufCMessageDescriptor *type = s_request_type (route);
    char path[96];
    for (unsigned i = 0; i < type->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &type->fields[i];
        if (field->label == PROTOBUF_C_LABEL_REPEATED)
            continue;
        if (field->type != PROTOBUF_C_TYPE_MESSAGE) {
            if (!s_each_set (route, NULL, s_is_field, (void *) field->name))
                fn (field->name, field, arg);
            continue;
        }
        //  A list's page: limit, after, and each filter_X as X (unless a field has that name).
        if (field->descriptor != &maekin__list_request__descriptor)
            continue;
        const ProtobufCMessageDescriptor *page = &maekin__list_request__descriptor;
        for (unsigned j = 0; j < page->n_fields; j++) {
            const char *name = page->fields[j].name;
            if (strncmp (name, "filter_", 7) == 0)
                name += 7;
            snprintf (path, sizeof path, "%s.%s", field->name, page->fields[j].name);
            if (!protobuf_c_message_descriptor_get_field_by_name (type, name)
                && !s_each_set (route, NULL, s_is_field, path))
                fn (name, &page->fields[j], arg);
        }
    }
}

//  The field path a query parameter fills, found as gateway_routes_query_params lists.
typedef struct {
    const char *name;
    const ProtobufCFieldDescriptor *field;
} s_param_find_t;

static void
s_param_find (const char *name, const ProtobufCFieldDescriptor *field, void *arg)
{
    s_param_find_t *find = (s_param_find_t *) arg;
    if (streq (name, find->name))
        find->field = field;
}

//  The text of a field's value in msg (by path), or NULL if it holds its default.
static const char *
s_field_text (const ProtobufCMessage *msg, const char *path, char *buf, size_t size)
{
    const char *dot;
    while (msg && (dot = strchr (path, '.'))) {
        char name[64];
        snprintf (name, sizeof name, "%.*s", (int) (dot - path), path);
        const ProtobufCFieldDescriptor *step =
            protobuf_c_message_descriptor_get_field_by_name (msg->descriptor, name);
        msg = *(const ProtobufCMessage *const *) ((const char *) msg + step->offset);
        path = dot + 1;
    }
    if (!msg)
        return NULL;
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (msg->descriptor, path);
    const void *value = (const char *) msg + field->offset;
    switch (field->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *text = *(const char *const *) value;
        return text && *text ? text : NULL;
    }
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *) value ? "true" : NULL;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *named = protobuf_c_enum_descriptor_get_value (
            (const ProtobufCEnumDescriptor *) field->descriptor, *(const int *) value);
        if (*(const int *) value == 0)
            return NULL;
        if (named)
            return named->name;
        snprintf (buf, size, "%d", *(const int *) value);
        return buf;
    }
    default: {
        uint64_t number = mk_codec_value_size (field->type) == 8 ? *(const uint64_t *) value
                                                                 : *(const uint32_t *) value;
        if (number == 0)
            return NULL;
        snprintf (buf, size, "%" PRIu64, number);
        return buf;
    }
    }
}

typedef struct {
    ProtobufCMessage *request;
    const gateway_input_t *input;
    char *error;
} s_build_t;

//  A path segment or a fixed value into its field: refused if the body said otherwise.
static int
s_set_field (const char *name, const char *field, const char *value, void *arg)
{
    s_build_t *build = (s_build_t *) arg;
    char buf[32], said[128] = "";
    const char *before = s_field_text (build->request, field, buf, sizeof buf);
    if (before) //  a copy: setting the field frees a string it held
        snprintf (said, sizeof said, "%s", before);
    if (name && streq (name, "uuid")) {
        uint8_t bytes[16];
        if (mk_uuid_parse (value, bytes) != 0) {
            build->error =
                zsys_sprintf ("'%.64s' is not a UUID (8-4-4-4-12 hexadecimal digits)", value);
            return -2;
        }
    }
    char *why = NULL;
    if (mk_codec_set (build->request, field, value, &why) != 0) {
        build->error = zsys_sprintf ("the path's %s '%.64s': %s", name ? name : field, value, why);
        free (why);
        return -2;
    }
    if (*said && !streq (said, value)) {
        build->error = name ? zsys_sprintf ("the path names %s '%.64s', the body '%.64s': give "
                                            "one, or the same",
                                            name, value, said)
                            : zsys_sprintf ("the body's '%s' is '%.64s'; this path sets it: "
                                            "leave it out",
                                            field, said);
        return -2;
    }
    return 0;
}

//  The query string into the request's fields: each parameter once, each one the route takes.
static int
s_set_query (s_build_t *build, const gateway_route_t *route, const char *query)
{
    if (!query || !*query)
        return 0;
    if (route->body) {
        build->error = strdup ("this request takes its values in its body, not in the query "
                               "string");
        return -2;
    }
    zhashx_t *seen = zhashx_new ();
    int rc = 0;
    char *copy = mk_strdup (query);
    for (char *pair = copy, *next; rc == 0 && pair; pair = next) {
        next = strchr (pair, '&');
        if (next)
            *next++ = 0;
        if (!*pair)
            continue;
        char *equals = strchr (pair, '=');
        if (equals)
            *equals = 0;
        const char *raw_value = equals ? equals + 1 : "";
        char name[64], value[1024];
        int name_size = mg_url_decode (pair, (int) strlen (pair), name, sizeof name, 1);
        int value_size =
            mg_url_decode (raw_value, (int) strlen (raw_value), value, sizeof value, 1);
        s_param_find_t find = {name, NULL};
        if (name_size >= 0 && (size_t) name_size == strlen (name))
            gateway_routes_query_params (route, s_param_find, &find);
        if (!find.field) {
            build->error = zsys_sprintf ("unknown query parameter '%.64s' (the API's description "
                                         "at /api/v1/openapi.json lists each request's)",
                                         pair);
            rc = -2;
        } else if (value_size < 0 || (size_t) value_size != strlen (value)) {
            build->error = zsys_sprintf ("query parameter '%s': the value is over 1,000 bytes, "
                                         "or holds NUL",
                                         name);
            rc = -2;
        } else if (zhashx_lookup (seen, name)) {
            build->error = zsys_sprintf ("query parameter '%s' is given twice: give it once", name);
            rc = -2;
        } else {
            zhashx_insert (seen, name, (void *) 1);
            //  The field's path: top level, or in the page.
            char path[96];
            const ProtobufCMessageDescriptor *type = build->request->descriptor;
            if (protobuf_c_message_descriptor_get_field_by_name (type, find.field->name)
                == find.field)
                snprintf (path, sizeof path, "%s", find.field->name);
            else
                snprintf (path, sizeof path, "page.%s", find.field->name);
            char *why = NULL;
            if (mk_codec_set (build->request, path, value, &why) != 0) {
                build->error = zsys_sprintf ("query parameter '%s': %s", name, why);
                free (why);
                rc = -2;
            }
        }
    }
    free (copy);
    zhashx_destroy (&seen);
    return rc;
}

//  A new message of a type, with its defaults (freed by protobuf_c_message_free_unpacked).
static ProtobufCMessage *
s_message_new (const ProtobufCMessageDescriptor *type)
{
    ProtobufCMessage *msg = (ProtobufCMessage *) zmalloc (type->sizeof_message);
    protobuf_c_message_init (type, msg);
    return msg;
}

int
gateway_routes_build (const gateway_route_t *route, const gateway_input_t *input,
                      Maekin__Envelope *env, char **error)
{
    *error = NULL;
    s_build_t build = {NULL, input, NULL};
    const ProtobufCMessageDescriptor *type = s_request_type (route);
    int rc = 0;
    if (!route->body) {
        if (input->body_size > 0) {
            *error = strdup ("this request takes no body");
            return -2;
        }
        build.request = s_message_new (type);
    } else {
        const ProtobufCMessageDescriptor *body_type = gateway_routes_body_type (route);
        ProtobufCMessage *body = NULL;
        if (input->body_size > 0)
            rc = mk_codec_read (body_type, input->format, input->body, input->body_size, &body,
                                error);
        else
            body = s_message_new (body_type);
        if (rc)
            return rc;
        if (*route->body) {
            build.request = s_message_new (type);
            const ProtobufCFieldDescriptor *field =
                protobuf_c_message_descriptor_get_field_by_name (type, route->body);
            *(ProtobufCMessage **) ((char *) build.request + field->offset) = body;
        } else
            build.request = body;
    }
    rc = s_set_query (&build, route, input->query);
    if (rc == 0)
        rc = s_each_set (route, input->segments, s_set_field, &build);
    //  A login's source is where the caller is, whatever it says.
    if (rc == 0 && (route->flags & GATEWAY_LOGIN))
        rc = mk_codec_set (build.request, "source", input->source, &build.error);
    if (rc) {
        protobuf_c_message_free_unpacked (build.request, NULL);
        *error = build.error;
        return -2;
    }
    const ProtobufCFieldDescriptor *member = s_envelope_field (route->request);
    *(ProtobufCMessage **) ((char *) env + member->offset) = build.request;
    *(uint32_t *) ((char *) env + member->quantifier_offset) = member->id;
    return 0;
}

void
gateway_routes_clear (Maekin__Envelope *env)
{
    const ProtobufCFieldDescriptor *member =
        protobuf_c_message_descriptor_get_field (&maekin__envelope__descriptor, env->body_case);
    if (!member)
        return;
    ProtobufCMessage **request = (ProtobufCMessage **) ((char *) env + member->offset);
    if (*request)
        protobuf_c_message_free_unpacked (*request, NULL);
    *request = NULL;
    env->body_case = MAEKIN__ENVELOPE__BODY__NOT_SET;
}

const ProtobufCMessage *
gateway_routes_result (const gateway_route_t *route, const Maekin__Envelope *reply)
{
    const ProtobufCFieldDescriptor *member =
        protobuf_c_message_descriptor_get_field (&maekin__envelope__descriptor, reply->body_case);
    if (!member || !streq (member->name, route->reply))
        return NULL;
    const ProtobufCMessage *body =
        *(const ProtobufCMessage *const *) ((const char *) reply + member->offset);
    if (!body || !route->result)
        return body;
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (body->descriptor, route->result);
    return *(const ProtobufCMessage *const *) ((const char *) body + field->offset);
}

char *
gateway_routes_location (const gateway_route_t *route, const ProtobufCMessage *result)
{
    if (!route->location || !result)
        return NULL;
    char location[512] = "";
    for (const char *at = route->location; *at;) {
        size_t length = strlen (location);
        if (*at != '{') {
            size_t run = strcspn (at, "{");
            snprintf (location + length, sizeof location - length, "%.*s", (int) run, at);
            at += run;
            continue;
        }
        size_t run = strcspn (at, "}");
        char name[64], buf[32];
        snprintf (name, sizeof name, "%.*s", (int) (run - 1), at + 1);
        const char *value = s_field_text (result, name, buf, sizeof buf);
        if (!value)
            return NULL; //  the result lacks it: no Location rather than a wrong one
        mg_url_encode (value, location + length, sizeof location - length);
        at += run + 1;
    }
    return strdup (location);
}

const ProtobufCMessageDescriptor *
gateway_routes_body_type (const gateway_route_t *route)
{
    if (!route->body)
        return NULL;
    const ProtobufCMessageDescriptor *type = s_request_type (route);
    if (!*route->body)
        return type;
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (type, route->body);
    assert (field && field->type == PROTOBUF_C_TYPE_MESSAGE);
    return (const ProtobufCMessageDescriptor *) field->descriptor;
}

const ProtobufCMessageDescriptor *
gateway_routes_result_type (const gateway_route_t *route)
{
    if (route->status == 204)
        return NULL;
    const ProtobufCMessageDescriptor *type =
        (const ProtobufCMessageDescriptor *) s_envelope_field (route->reply)->descriptor;
    if (!route->result)
        return type;
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (type, route->result);
    assert (field && field->type == PROTOBUF_C_TYPE_MESSAGE);
    return (const ProtobufCMessageDescriptor *) field->descriptor;
}
