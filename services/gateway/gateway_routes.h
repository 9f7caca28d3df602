/*  gateway_routes: the REST API as a table. Each route names an HTTP method and a path,
    the bus request it becomes (the Envelope's body member) and how the request's fields
    are filled: from the path's segments, from the query string, from the HTTP body (a
    JSON or XML document read by mk_codec as the request, or as one message field of it)
    and from values the route fixes. The answer is the reply, or one message field of it
    (the resource: a Vm, a Task). So a route is one line, the OpenAPI description is made
    from the same table, and nothing here knows HTTP beyond paths and query strings. */
#ifndef GATEWAY_ROUTES_H_INCLUDED
#define GATEWAY_ROUTES_H_INCLUDED

#include "maekin.h"

#include "mk_codec.h"

//  What a route does besides the usual.
enum {
    GATEWAY_LOGIN = 1,  //  the answer's token becomes the session cookie; `source` is the caller's
    GATEWAY_LOGOUT = 2, //  the session cookie is cleared
    GATEWAY_WAIT = 4,   //  waits for up to the request's timeout_ms (a task wait)
    GATEWAY_OPEN = 8,   //  needs no credential (login)
};

typedef struct {
    const char *method;   //  GET, POST, PUT or DELETE
    const char *path;     //  "/api/v1/vis/{vi}/vms/{name}": {param} fills the request's field
                          //  of that name, {param:field.path} another field
    const char *request;  //  the Envelope's body member: "vm_show"
    const char *body;     //  the HTTP body is read as: "" the request itself, "template" that
                          //  message field of it; NULL: the route takes no body
    const char *fixed;    //  "op=VM_OP_START,remove=true": fields the route sets; NULL none
    const char *reply;    //  the Envelope's body member of the answer: "vm_show_reply"
    const char *result;   //  the reply's message field answered ("vm"); NULL: the reply
    int status;           //  the HTTP status of a bus 200: 0 (200), 201, or 204 (no body)
    const char *location; //  with 201 or 202: "/api/v1/tasks/{task_id}", from the result's fields
    int flags;            //  GATEWAY_*
    const char *summary;  //  one line, for the OpenAPI description
} gateway_route_t;

//  Every route, in the order the OpenAPI description lists them.
extern const gateway_route_t gateway_routes[];
extern const size_t gateway_routes_count;

//  The longest path served, in segments.
#define GATEWAY_SEGMENTS_MAX 12

//  The route for a method and a path (its segments, decoded, without "api" "v1"), or
//  NULL: then *path_known says whether another method serves that path, and `allow`
//  holds those methods ("GET, DELETE") for the 405's Allow header.
const gateway_route_t *gateway_routes_match (const char *method, char *const *segments,
                                             size_t count, bool *path_known, char *allow,
                                             size_t allow_size);

//  What an HTTP request gives a route.
typedef struct {
    char *const *segments;    //  the path's segments, decoded (as matched)
    size_t count;             //
    const char *query;        //  the query string, undecoded, or NULL
    const char *body;         //  the HTTP body, or NULL
    size_t body_size;         //
    mk_codec_format_t format; //  the body's
    const char *source;       //  the client's address (a login's `source`)
} gateway_input_t;

//  The bus request of a route: sets env's body to a new request message (freed with
//  gateway_routes_clear). 0; or -1 the body is too big (413), -2 the request is not
//  right (400), and *error says why in one line (a new string).
int gateway_routes_build (const gateway_route_t *route, const gateway_input_t *input,
                          Maekin__Envelope *env, char **error);

//  Frees the request gateway_routes_build put into env.
void gateway_routes_clear (Maekin__Envelope *env);

//  What the route answers of a reply: its body, or the message field the route names;
//  NULL if the reply holds none.
const ProtobufCMessage *gateway_routes_result (const gateway_route_t *route,
                                               const Maekin__Envelope *reply);

//  The route's Location for a result (a new string), or NULL if it has none.
char *gateway_routes_location (const gateway_route_t *route, const ProtobufCMessage *result);

//  The message type a route's HTTP body is read as (NULL: it takes none), and the
//  type it answers (NULL: nothing, a 204).
const ProtobufCMessageDescriptor *gateway_routes_body_type (const gateway_route_t *route);
const ProtobufCMessageDescriptor *gateway_routes_result_type (const gateway_route_t *route);

//  The query parameters a route takes, each with the field it fills: calls fn for each.
typedef void (gateway_param_fn) (const char *name, const ProtobufCFieldDescriptor *field,
                                 void *arg);
void gateway_routes_query_params (const gateway_route_t *route, gateway_param_fn *fn, void *arg);

void gateway_routes_test (bool verbose);

#endif
