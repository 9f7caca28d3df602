/*  gateway_routes' self-test: the table is whole and consistent, paths match as meant, and
    HTTP requests become the bus requests they should, or clear refusals. */
#include "gateway_routes.h"

#include "mk_msg.h"

//  A path's segments after /api/v1, split in place.
static size_t
s_split (char *path, char **segments)
{
    size_t count = 0;
    for (char *at = strtok (path, "/"); at; at = strtok (NULL, "/"))
        segments[count++] = at;
    return count;
}

static const gateway_route_t *
s_match (const char *method, const char *path, bool *known, char *allow)
{
    char copy[256];
    snprintf (copy, sizeof copy, "%s", path);
    char *segments[GATEWAY_SEGMENTS_MAX];
    size_t count = s_split (copy, segments);
    return gateway_routes_match (method, segments, count, known, allow, 64);
}

//  Builds a route's request from a path, query and JSON body: 0, or the refusal (error kept).
static int
s_build (const char *method, const char *path, const char *query, const char *body,
         Maekin__Envelope *env, char **error)
{
    bool known;
    char allow[64];
    const gateway_route_t *route = s_match (method, path + strlen ("/api/v1"), &known, allow);
    assert (route);
    char copy[256];
    snprintf (copy, sizeof copy, "%s", path + strlen ("/api/v1"));
    char *segments[GATEWAY_SEGMENTS_MAX];
    size_t count = s_split (copy, segments);
    gateway_input_t input = {segments,      count,      query, body, body ? strlen (body) : 0,
                             MK_CODEC_JSON, "192.0.2.7"};
    *env = (Maekin__Envelope) MAEKIN__ENVELOPE__INIT;
    return gateway_routes_build (route, &input, env, error);
}

static void
s_test_table (bool verbose)
{
    size_t params = 0;
    for (size_t i = 0; i < gateway_routes_count; i++) {
        const gateway_route_t *route = &gateway_routes[i];
        //  Paths are /api/v1/..., at most GATEWAY_SEGMENTS_MAX deep; one route a method and path.
        assert (strncmp (route->path, "/api/v1/", 8) == 0);
        size_t depth = 0;
        for (const char *c = route->path + 7; *c; c++)
            depth += *c == '/';
        assert (depth <= GATEWAY_SEGMENTS_MAX);
        for (size_t j = 0; j < i; j++) {
            //  Two routes of one method never match one path: a parameter against a
            //  literal would make the table's order matter.
            const gateway_route_t *other = &gateway_routes[j];
            if (!streq (route->method, other->method))
                continue;
            const char *a = route->path, *b = other->path;
            bool clash = true;
            while (clash && (*a || *b)) {
                if (*a != '/' || *b != '/') { //  one is longer
                    clash = false;
                    break;
                }
                size_t la = strcspn (a + 1, "/"), lb = strcspn (b + 1, "/");
                if (a[1] != '{' && b[1] != '{' && (la != lb || memcmp (a + 1, b + 1, la)))
                    clash = false;
                a += 1 + la;
                b += 1 + lb;
            }
            if (clash)
                printf ("routes clash: %s %s, %s\n", route->method, route->path, other->path);
            assert (!clash);
        }
        //  The body and result types are there; a 204 answers nothing, a 201 or 202 says where.
        assert (!route->body || gateway_routes_body_type (route));
        assert ((route->status == 204) == !gateway_routes_result_type (route));
        assert (!route->body || streq (route->method, "POST") || streq (route->method, "PUT"));
        //  Every path parameter and fixed value lands in a field: building with a sample
        //  of each succeeds.
        char copy[256];
        snprintf (copy, sizeof copy, "%s", route->path + strlen ("/api/v1"));
        char *segments[GATEWAY_SEGMENTS_MAX];
        size_t count = s_split (copy, segments);
        for (size_t s = 0; s < count; s++)
            if (*segments[s] == '{') {
                params++;
                segments[s] = strstr (segments[s], "{uuid") ? "0b6a1d3e-2c7f-4e55-9a0e-3f1e2d4c5b6a"
                              : strstr (segments[s], "{id") ? "42"
                                                            : "web-1";
            }
        gateway_input_t input = {segments, count, NULL, NULL, 0, MK_CODEC_JSON, "192.0.2.7"};
        Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
        char *error = NULL;
        if (gateway_routes_build (route, &input, &env, &error) != 0)
            printf ("%s %s: %s\n", route->method, route->path, error);
        assert (!error);
        assert (streq (mk_msg_body_name (&env), route->request));
        gateway_routes_clear (&env);
    }
    if (verbose)
        printf ("  %zu routes, %zu path parameters\n", gateway_routes_count, params);
}

static void
s_test_match (void)
{
    bool known;
    char allow[64];
    const gateway_route_t *route = s_match ("GET", "/vis/web/vms/db-1", &known, allow);
    assert (route && streq (route->request, "vm_show") && known);
    route = s_match ("POST", "/vis/web/vms/db-1/stop", &known, allow);
    assert (route && streq (route->fixed, "op=VM_OP_STOP"));
    route = s_match ("PATCH", "/vis/web/vms/db-1", &known, allow);
    assert (!route && known && streq (allow, "GET, DELETE"));
    route = s_match ("GET", "/vis/web/quota", &known, allow);
    assert (!route && known && streq (allow, "PUT"));
    route = s_match ("GET", "/vis/web/nothing", &known, allow);
    assert (!route && !known && !*allow);
    route = s_match ("GET", "/", &known, allow);
    assert (!route && !known);
}

static void
s_test_build (void)
{
    Maekin__Envelope env;
    char *error = NULL;
    //  The path's VI into the body's request; the body's own fields kept.
    assert (s_build ("POST", "/api/v1/vis/web/vms", NULL, "{\"name\": \"a\", \"template\": \"t\"}",
                     &env, &error)
            == 0);
    assert (streq (env.vm_create->vi, "web") && streq (env.vm_create->name, "a"));
    gateway_routes_clear (&env);
    assert (env.body_case == MAEKIN__ENVELOPE__BODY__NOT_SET);
    //  The same VI in the body is fine; another is refused.
    assert (s_build ("POST", "/api/v1/vis/web/vms", NULL, "{\"vi\": \"web\"}", &env, &error) == 0);
    gateway_routes_clear (&env);
    assert (s_build ("POST", "/api/v1/vis/web/vms", NULL, "{\"vi\": \"db\"}", &env, &error) == -2);
    assert (streq (error, "the path names vi 'web', the body 'db': give one, or the same"));
    zstr_free (&error);
    //  A field the route fixes cannot be said otherwise in the body.
    assert (s_build ("PUT", "/api/v1/vis/web/members/ann", NULL,
                     "{\"role\": \"viewer\", \"op\": \"VI_MEMBER_REMOVE\"}", &env, &error)
            == -2);
    assert (strstr (error, "'op'") && strstr (error, "leave it out"));
    zstr_free (&error);
    assert (
        s_build ("PUT", "/api/v1/vis/web/members/ann", NULL, "{\"role\": \"viewer\"}", &env, &error)
        == 0);
    assert (env.vi_member->op == MAEKIN__VI_MEMBER_OP__VI_MEMBER_ROLE);
    assert (streq (env.vi_member->user, "ann") && streq (env.vi_member->name, "web"));
    gateway_routes_clear (&env);
    //  A body as one field of the request, and the path into that field.
    assert (s_build ("POST", "/api/v1/vis/lab/templates", NULL,
                     "{\"name\": \"tiny\", \"vcpus\": 1}", &env, &error)
            == 0);
    assert (streq (env.template_create->template_->vi, "lab"));
    assert (env.template_create->template_->vcpus == 1);
    gateway_routes_clear (&env);
    //  Query parameters: a page's, filters by their short names, the path's VI kept.
    assert (s_build ("GET", "/api/v1/vis/web/vms", "limit=5&state=running&after=web%3Aa&name=db",
                     NULL, &env, &error)
            == 0);
    const Maekin__ListRequest *page = env.vm_list->page;
    assert (page->limit == 5 && streq (page->filter_state, "running"));
    assert (streq (page->after, "web:a") && streq (page->filter_name, "db"));
    assert (streq (page->filter_vi, "web"));
    gateway_routes_clear (&env);
    //  ... and the refusals: unknown, given twice, a bad value, one the path sets.
    assert (s_build ("GET", "/api/v1/vms", "limt=5", NULL, &env, &error) == -2);
    assert (strstr (error, "unknown query parameter 'limt'"));
    zstr_free (&error);
    assert (s_build ("GET", "/api/v1/vms", "limit=5&limit=6", NULL, &env, &error) == -2);
    assert (strstr (error, "given twice"));
    zstr_free (&error);
    assert (s_build ("GET", "/api/v1/vms", "limit=many", NULL, &env, &error) == -2);
    assert (streq (error, "query parameter 'limit': expected a whole number (uint32), not 'many'"));
    zstr_free (&error);
    assert (s_build ("GET", "/api/v1/vis/web/vms", "vi=db", NULL, &env, &error) == -2);
    zstr_free (&error);
    assert (s_build ("GET", "/api/v1/vms", "name=a%00b", NULL, &env, &error) == -2);
    zstr_free (&error);
    //  A top-level field by its name: the audit log's vi, not the page's filter.
    assert (s_build ("GET", "/api/v1/audit", "vi=web&user=ann&since=10", NULL, &env, &error) == 0);
    assert (streq (env.audit_list->vi, "web") && env.audit_list->since == 10);
    assert (!env.audit_list->page);
    gateway_routes_clear (&env);
    //  A body where none is taken, a query where a body is.
    assert (s_build ("GET", "/api/v1/vms", NULL, "{}", &env, &error) == -2);
    zstr_free (&error);
    assert (s_build ("POST", "/api/v1/vis", "name=x", "{}", &env, &error) == -2);
    zstr_free (&error);
    //  A malformed body: the codec's reason.
    assert (s_build ("POST", "/api/v1/vis", NULL, "{\"name\": 3}", &env, &error) == -2);
    assert (strstr (error, "JSON: 'name'"));
    zstr_free (&error);
    //  A UUID's path must hold one; a task's id a number.
    assert (s_build ("GET", "/api/v1/vms/web-1", NULL, NULL, &env, &error) == -2);
    assert (strstr (error, "is not a UUID"));
    zstr_free (&error);
    assert (s_build ("GET", "/api/v1/tasks/x1", NULL, NULL, &env, &error) == -2);
    assert (strstr (error, "the path's id 'x1'"));
    zstr_free (&error);
    //  A login's source is the caller's address, whatever the body says.
    assert (s_build ("POST", "/api/v1/session", NULL,
                     "{\"user\": \"ann\", \"password\": \"pw\", \"source\": \"10.0.0.1\"}", &env,
                     &error)
            == 0);
    assert (streq (env.login->source, "192.0.2.7") && streq (env.login->user, "ann"));
    gateway_routes_clear (&env);
}

static void
s_test_result (void)
{
    bool known;
    char allow[64];
    const gateway_route_t *route = s_match ("POST", "/vis/web/vms", &known, allow);
    Maekin__Vm vm = MAEKIN__VM__INIT;
    Maekin__TaskAccepted accepted = MAEKIN__TASK_ACCEPTED__INIT;
    accepted.task_id = 77;
    accepted.vm = &vm;
    Maekin__Envelope reply = MAEKIN__ENVELOPE__INIT;
    reply.status = MK_ACCEPTED;
    reply.body_case = MAEKIN__ENVELOPE__BODY_TASK_ACCEPTED;
    reply.task_accepted = &accepted;
    const ProtobufCMessage *result = gateway_routes_result (route, &reply);
    assert (result == &accepted.base);
    char *location = gateway_routes_location (route, result);
    assert (streq (location, "/api/v1/tasks/77"));
    free (location);
    //  A show answers the resource in the reply; a reply of another kind is none.
    route = s_match ("GET", "/vis/web/vms/a", &known, allow);
    Maekin__VmShowReply show = MAEKIN__VM_SHOW_REPLY__INIT;
    show.vm = &vm;
    reply.body_case = MAEKIN__ENVELOPE__BODY_VM_SHOW_REPLY;
    reply.vm_show_reply = &show;
    assert (gateway_routes_result (route, &reply) == &vm.base);
    reply.body_case = MAEKIN__ENVELOPE__BODY_TASK_ACCEPTED;
    reply.task_accepted = &accepted;
    assert (gateway_routes_result (route, &reply) == NULL);
    //  A name that must be escaped in a Location is.
    route = s_match ("POST", "/users", &known, allow);
    Maekin__User user = MAEKIN__USER__INIT;
    user.name = "a b";
    location = gateway_routes_location (route, &user.base);
    assert (streq (location, "/api/v1/users/a%20b"));
    free (location);
}

void
gateway_routes_test (bool verbose)
{
    s_test_table (verbose);
    s_test_match ();
    s_test_build ();
    s_test_result ();
}
