/*  gateway_openapi: the OpenAPI 3 description from the route table and the descriptors.
    See gateway_openapi.h. */
#include "gateway_openapi.h"

#include "gateway_routes.h"

#include <ctype.h>

#include <json-c/json.h>

#define JSON_TYPES "application/json"
#define XML_TYPES  "application/xml"

static json_object *
s_ref (const ProtobufCMessageDescriptor *type)
{
    json_object *ref = json_object_new_object ();
    char *path = zsys_sprintf ("#/components/schemas/%s", type->short_name);
    json_object_object_add (ref, "$ref", json_object_new_string (path));
    free (path);
    return ref;
}

//  The schema of one value of a field (an item, for a repeated one).
static json_object *
s_value_schema (const ProtobufCFieldDescriptor *field)
{
    json_object *schema = json_object_new_object ();
    const char *type = "integer";
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        json_object_object_add (schema, "format", json_object_new_string ("int32"));
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        json_object_object_add (schema, "minimum", json_object_new_int (0));
        json_object_object_add (schema, "maximum", json_object_new_int64 (UINT32_MAX));
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        json_object_object_add (schema, "format", json_object_new_string ("int64"));
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        json_object_object_add (schema, "minimum", json_object_new_int (0));
        break;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        type = "number";
        break;
    case PROTOBUF_C_TYPE_BOOL:
        type = "boolean";
        break;
    case PROTOBUF_C_TYPE_STRING:
        type = "string";
        break;
    case PROTOBUF_C_TYPE_BYTES:
        type = "string";
        json_object_object_add (schema, "format", json_object_new_string ("byte"));
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        type = "string";
        const ProtobufCEnumDescriptor *values = (const ProtobufCEnumDescriptor *) field->descriptor;
        json_object *names = json_object_new_array ();
        for (unsigned i = 0; i < values->n_values; i++)
            json_object_array_add (names, json_object_new_string (values->values[i].name));
        json_object_object_add (schema, "enum", names);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        json_object_put (schema);
        //  An unset message is null.
        schema = json_object_new_object ();
        json_object *all = json_object_new_array ();
        json_object_array_add (all, s_ref ((const ProtobufCMessageDescriptor *) field->descriptor));
        json_object_object_add (schema, "allOf", all);
        json_object_object_add (schema, "nullable", json_object_new_boolean (1));
        return schema;
    }
    json_object_object_add (schema, "type", json_object_new_string (type));
    return schema;
}

static json_object *
s_field_schema (const ProtobufCFieldDescriptor *field)
{
    if (field->label != PROTOBUF_C_LABEL_REPEATED)
        return s_value_schema (field);
    //  In XML a list is one element per item, each named as the field.
    json_object *schema = json_object_new_object ();
    json_object *items;
    if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
        items = json_object_new_object ();
        json_object *all = json_object_new_array ();
        json_object_array_add (all, s_ref ((const ProtobufCMessageDescriptor *) field->descriptor));
        json_object_object_add (items, "allOf", all);
    } else
        items = s_value_schema (field);
    json_object *xml = json_object_new_object ();
    json_object_object_add (xml, "name", json_object_new_string (field->name));
    json_object_object_add (items, "xml", xml);
    json_object_object_add (schema, "type", json_object_new_string ("array"));
    json_object_object_add (schema, "items", items);
    return schema;
}

//  The message's schema into `schemas`, and those of the messages in it.
static void
s_add_schema (json_object *schemas, const ProtobufCMessageDescriptor *type)
{
    if (json_object_object_get_ex (schemas, type->short_name, NULL))
        return;
    json_object *schema = json_object_new_object ();
    json_object_object_add (schemas, type->short_name, schema);
    json_object_object_add (schema, "type", json_object_new_string ("object"));
    json_object *properties = json_object_new_object ();
    for (unsigned i = 0; i < type->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &type->fields[i];
        json_object_object_add (properties, field->name, s_field_schema (field));
        if (field->type == PROTOBUF_C_TYPE_MESSAGE)
            s_add_schema (schemas, (const ProtobufCMessageDescriptor *) field->descriptor);
    }
    json_object_object_add (schema, "properties", properties);
    //  Unknown fields are refused (mk_codec), so the description says so. In XML a
    //  document's root is named after the message (the schema's name), a message inside
    //  it after its field.
    json_object_object_add (schema, "additionalProperties", json_object_new_boolean (0));
}

//  {"application/json": {"schema": REF}, "application/xml": {...}}
static json_object *
s_content (json_object *schemas, const ProtobufCMessageDescriptor *type)
{
    s_add_schema (schemas, type);
    json_object *content = json_object_new_object ();
    const char *media[] = {JSON_TYPES, XML_TYPES};
    for (size_t i = 0; i < 2; i++) {
        json_object *one = json_object_new_object ();
        json_object_object_add (one, "schema", s_ref (type));
        json_object_object_add (content, media[i], one);
    }
    return content;
}

static json_object *
s_response (const char *description, json_object *content)
{
    json_object *response = json_object_new_object ();
    json_object_object_add (response, "description", json_object_new_string (description));
    if (content)
        json_object_object_add (response, "content", content);
    return response;
}

static void
s_parameter (json_object *list, const char *name, const char *in, bool required,
             json_object *schema, const char *description)
{
    json_object *parameter = json_object_new_object ();
    json_object_object_add (parameter, "name", json_object_new_string (name));
    json_object_object_add (parameter, "in", json_object_new_string (in));
    json_object_object_add (parameter, "required", json_object_new_boolean (required));
    if (description)
        json_object_object_add (parameter, "description", json_object_new_string (description));
    json_object_object_add (parameter, "schema", schema);
    json_object_array_add (list, parameter);
}

static void
s_query_param (const char *name, const ProtobufCFieldDescriptor *field, void *arg)
{
    s_parameter ((json_object *) arg, name, "query", false, s_value_schema (field), NULL);
}

//  The path's parameters: each {param} or {param:field}, typed as its field.
static void
s_path_params (json_object *list, const gateway_route_t *route)
{
    const ProtobufCFieldDescriptor *member = protobuf_c_message_descriptor_get_field_by_name (
        &maekin__envelope__descriptor, route->request);
    const ProtobufCMessageDescriptor *type =
        (const ProtobufCMessageDescriptor *) member->descriptor;
    for (const char *at = strchr (route->path, '{'); at; at = strchr (at + 1, '{')) {
        char param[64];
        snprintf (param, sizeof param, "%.*s", (int) strcspn (at + 1, "}"), at + 1);
        char *colon = strchr (param, ':');
        const char *field_path = colon ? colon + 1 : param;
        if (colon)
            *colon = 0;
        json_object *schema;
        if (streq (param, "uuid")) {
            schema = json_object_new_object ();
            json_object_object_add (schema, "type", json_object_new_string ("string"));
            json_object_object_add (schema, "format", json_object_new_string ("uuid"));
        } else
            schema = s_value_schema (mk_codec_field (type, field_path));
        s_parameter (list, param, "path", true, schema, NULL);
    }
}

//  "/api/v1/vis/{vi:page.filter_vi}/vms" as OpenAPI writes it: "/api/v1/vis/{vi}/vms".
static void
s_openapi_path (const char *path, char *out, size_t size)
{
    size_t length = 0;
    for (const char *at = path; *at && length + 1 < size; at++) {
        if (*at == ':') //  skip to the closing brace
            at += strcspn (at, "}") - 1;
        else
            out[length++] = *at;
    }
    out[length] = 0;
}

//  get_vis_vi_vms_name
static void
s_operation_id (const gateway_route_t *route, const char *path, char *out, size_t size)
{
    size_t length = 0;
    for (const char *m = route->method; *m && length + 1 < size; m++)
        out[length++] = (char) tolower ((unsigned char) *m);
    for (const char *at = path + strlen ("/api/v1"); *at && length + 1 < size; at++) {
        if (*at == '/' || *at == '-' || *at == '.')
            out[length++] = '_';
        else if (*at != '{' && *at != '}')
            out[length++] = *at;
    }
    out[length] = 0;
}

static json_object *
s_operation (json_object *schemas, const gateway_route_t *route, const char *path)
{
    json_object *operation = json_object_new_object ();
    char id[128];
    s_operation_id (route, path, id, sizeof id);
    json_object_object_add (operation, "operationId", json_object_new_string (id));
    json_object_object_add (operation, "summary", json_object_new_string (route->summary));
    char description[160];
    snprintf (description, sizeof description, "The bus request `%s` (proto/BUS.md).",
              route->request);
    json_object_object_add (operation, "description", json_object_new_string (description));
    json_object *tags = json_object_new_array ();
    char tag[32];
    snprintf (tag, sizeof tag, "%.*s", (int) strcspn (path + 8, "/"), path + 8);
    json_object_array_add (tags, json_object_new_string (tag));
    json_object_object_add (operation, "tags", tags);
    if (route->flags & GATEWAY_OPEN)
        json_object_object_add (operation, "security", json_object_new_array ());

    json_object *parameters = json_object_new_array ();
    s_path_params (parameters, route);
    gateway_routes_query_params (route, s_query_param, parameters);
    if (!streq (route->method, "GET")) {
        json_object *key = json_object_new_object ();
        json_object_object_add (key, "type", json_object_new_string ("string"));
        json_object_object_add (key, "minLength", json_object_new_int (1));
        json_object_object_add (key, "maxLength", json_object_new_int (64));
        s_parameter (parameters, "Idempotency-Key", "header", false, key,
                     "the bus's request id: a retry with the same key gets the first answer");
        if (!(route->flags & GATEWAY_OPEN)) {
            json_object *csrf = json_object_new_object ();
            json_object_object_add (csrf, "type", json_object_new_string ("string"));
            s_parameter (parameters, "X-CSRF-Token", "header", false, csrf,
                         "needed with the session cookie: given at login and by GET /session");
        }
    }
    json_object_object_add (operation, "parameters", parameters);

    const ProtobufCMessageDescriptor *body = gateway_routes_body_type (route);
    if (body) {
        json_object *request = json_object_new_object ();
        json_object_object_add (request, "content", s_content (schemas, body));
        json_object_object_add (operation, "requestBody", request);
    }

    json_object *responses = json_object_new_object ();
    const ProtobufCMessageDescriptor *result = gateway_routes_result_type (route);
    bool task = streq (route->reply, "task_accepted");
    int status = task ? 202 : route->status ? route->status : 200;
    char code[8];
    snprintf (code, sizeof code, "%d", status);
    json_object *success = s_response (status == 204   ? "done: nothing to answer"
                                       : status == 202 ? "accepted: its task runs (follow Location)"
                                       : status == 201 ? "made (its Location, where it has one)"
                                                       : "the answer",
                                       result ? s_content (schemas, result) : NULL);
    if (route->location) {
        json_object *headers = json_object_new_object ();
        json_object *location = json_object_new_object ();
        json_object *schema = json_object_new_object ();
        json_object_object_add (schema, "type", json_object_new_string ("string"));
        json_object_object_add (location, "schema", schema);
        json_object_object_add (headers, "Location", location);
        json_object_object_add (success, "headers", headers);
    }
    json_object_object_add (responses, code, success);
    if (route->flags & GATEWAY_WAIT)
        json_object_object_add (responses, "202",
                                s_response ("the wait ran out first: the task as it stands",
                                            s_content (schemas, result)));
    if (streq (route->method, "GET"))
        json_object_object_add (responses, "304",
                                s_response ("not modified (If-None-Match)", NULL));
    json_object_object_add (responses, "default",
                            s_response ("an error: its status and what to do",
                                        s_content (schemas, &maekin__error__descriptor)));
    json_object_object_add (operation, "responses", responses);
    return operation;
}

//  One GET the gateway serves outside the table: its answer's media type and what it is.
static void
s_add_get (json_object *paths, const char *path, const char *id, const char *summary,
           const char *code, const char *media, bool open)
{
    json_object *operation = json_object_new_object ();
    json_object_object_add (operation, "operationId", json_object_new_string (id));
    json_object_object_add (operation, "summary", json_object_new_string (summary));
    if (open)
        json_object_object_add (operation, "security", json_object_new_array ());
    json_object *content = json_object_new_object ();
    json_object *one = json_object_new_object ();
    json_object *schema = json_object_new_object ();
    bool json = !media || streq (media, JSON_TYPES);
    json_object_object_add (schema, "type", json_object_new_string (json ? "object" : "string"));
    json_object_object_add (one, "schema", schema);
    json_object_object_add (content, media ? media : JSON_TYPES, one);
    json_object *responses = json_object_new_object ();
    json_object_object_add (responses, code, s_response (summary, media ? content : NULL));
    if (!media)
        json_object_put (content);
    json_object_object_add (responses, "default",
                            s_response ("an error: its status and what to do", NULL));
    json_object_object_add (operation, "responses", responses);
    json_object *item = json_object_new_object ();
    json_object_object_add (item, "get", operation);
    json_object_object_add (paths, path, item);
}

char *
gateway_openapi_document (void)
{
    json_object *doc = json_object_new_object ();
    json_object_object_add (doc, "openapi", json_object_new_string ("3.0.3"));
    json_object *info = json_object_new_object ();
    json_object_object_add (info, "title", json_object_new_string ("Maekin REST API"));
    json_object_object_add (info, "version", json_object_new_string ("1"));
    json_object_object_add (
        info, "description",
        json_object_new_string ("The cloud's REST API, served by maekin-gateway: each request "
                                "is one bus request to the controller (proto/BUS.md says who "
                                "may make it). Bodies and answers in JSON or XML (Content-Type, "
                                "Accept), fields named as in proto/maekin.proto; every error "
                                "is an Error document with the status and what to do."));
    json_object_object_add (doc, "info", info);

    json_object *components = json_object_new_object ();
    json_object *schemas = json_object_new_object ();
    json_object *schemes = json_object_new_object ();
    json_object *bearer = json_object_new_object ();
    json_object_object_add (bearer, "type", json_object_new_string ("http"));
    json_object_object_add (bearer, "scheme", json_object_new_string ("bearer"));
    json_object_object_add (bearer, "description",
                            json_object_new_string ("a session's token (POST /api/v1/session) "
                                                    "or an API key"));
    json_object_object_add (schemes, "bearer", bearer);
    json_object *cookie = json_object_new_object ();
    json_object_object_add (cookie, "type", json_object_new_string ("apiKey"));
    json_object_object_add (cookie, "in", json_object_new_string ("cookie"));
    json_object_object_add (cookie, "name", json_object_new_string ("maekin_session"));
    json_object_object_add (schemes, "cookie", cookie);
    json_object_object_add (components, "securitySchemes", schemes);
    json_object_object_add (components, "schemas", schemas);
    json_object *security = json_object_new_array ();
    const char *names[] = {"bearer", "cookie"};
    for (size_t i = 0; i < 2; i++) {
        json_object *one = json_object_new_object ();
        json_object_object_add (one, names[i], json_object_new_array ());
        json_object_array_add (security, one);
    }
    json_object_object_add (doc, "security", security);

    json_object *paths = json_object_new_object ();
    for (size_t i = 0; i < gateway_routes_count; i++) {
        const gateway_route_t *route = &gateway_routes[i];
        char path[256], method[8];
        s_openapi_path (route->path, path, sizeof path);
        json_object *item;
        if (!json_object_object_get_ex (paths, path, &item)) {
            item = json_object_new_object ();
            json_object_object_add (paths, path, item);
        }
        snprintf (method, sizeof method, "%s", route->method);
        for (char *c = method; *c; c++)
            *c = (char) tolower ((unsigned char) *c);
        json_object_object_add (item, method, s_operation (schemas, route, path));
    }
    s_add_get (paths, "/api/v1/openapi.json", "get_openapi", "This description of the API", "200",
               JSON_TYPES, true);
    s_add_get (
        paths, "/api/v1/stream", "get_stream",
        "The cloud's events and metrics over WebSocket (Upgrade: websocket), each text frame "
        "a StreamMessage in JSON. Query: events=vm,task,host; after_vm=N, after_task=N, "
        "after_host=N (what was missed since, first); metrics=all or host names. A plain "
        "GET is answered 426.",
        "101", NULL, false);
    s_add_get (paths, "/metrics", "get_metrics",
               "The cloud's figures in Prometheus' text format (the administrator's credential, "
               "or none when the gateway has gateway/metrics_key_file)",
               "200", "text/plain", false);
    json_object_object_add (doc, "paths", paths);
    json_object_object_add (doc, "components", components);
    char *text = strdup (json_object_to_json_string_ext (
        doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put (doc);
    return text;
}
