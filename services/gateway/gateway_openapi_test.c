/*  gateway_openapi's self-test: the description is JSON, names every route of the table
    once with a unique operationId, and every schema it refers to is in it. */
#include "gateway_openapi.h"

#include "gateway_routes.h"

#include <json-c/json.h>

//  Every "$ref" under `node` names a schema of `schemas`; returns how many there were.
static size_t
s_check_refs (json_object *node, json_object *schemas)
{
    size_t count = 0;
    if (json_object_is_type (node, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length (node); i++)
            count += s_check_refs (json_object_array_get_idx (node, i), schemas);
    } else if (json_object_is_type (node, json_type_object)) {
        json_object_object_foreach (node, key, value)
        {
            if (streq (key, "$ref")) {
                const char *ref = json_object_get_string (value);
                assert (strncmp (ref, "#/components/schemas/", 21) == 0);
                assert (json_object_object_get_ex (schemas, ref + 21, NULL));
                count++;
            } else
                count += s_check_refs (value, schemas);
        }
    }
    return count;
}

void
gateway_openapi_test (bool verbose)
{
    char *text = gateway_openapi_document ();
    json_object *doc = json_tokener_parse (text);
    assert (doc);
    json_object *paths, *components, *schemas;
    assert (json_object_object_get_ex (doc, "paths", &paths));
    assert (json_object_object_get_ex (doc, "components", &components));
    assert (json_object_object_get_ex (components, "schemas", &schemas));
    zhashx_t *ids = zhashx_new ();
    size_t operations = 0;
    json_object_object_foreach (paths, path, item)
    {
        assert ((strncmp (path, "/api/v1/", 8) == 0 || streq (path, "/metrics"))
                && !strchr (path, ':'));
        json_object_object_foreach (item, method, operation)
        {
            json_object *id;
            assert (json_object_object_get_ex (operation, "operationId", &id));
            assert (zhashx_insert (ids, json_object_get_string (id), (void *) 1) == 0);
            //  Each path parameter of the path is declared, and no other.
            size_t braces = 0;
            for (const char *c = path; *c; c++)
                braces += *c == '{';
            json_object *parameters = NULL;
            size_t declared = 0;
            if (json_object_object_get_ex (operation, "parameters", &parameters))
                for (size_t i = 0; i < json_object_array_length (parameters); i++) {
                    json_object *in;
                    json_object_object_get_ex (json_object_array_get_idx (parameters, i), "in",
                                               &in);
                    declared += streq (json_object_get_string (in), "path");
                }
            assert (declared == braces);
            operations++;
            (void) method;
        }
    }
    //  Every route once, the description's own path, the stream and /metrics.
    assert (operations == gateway_routes_count + 3);
    for (size_t i = 0; i < gateway_routes_count; i++) {
        char want[256], verb[8];
        size_t length = 0;
        for (const char *at = gateway_routes[i].path; *at; at++)
            if (*at == ':')
                at += strcspn (at, "}") - 1;
            else
                want[length++] = *at;
        want[length] = 0;
        snprintf (verb, sizeof verb, "%s", gateway_routes[i].method);
        for (char *c = verb; *c; c++)
            *c = (char) (*c - 'A' + 'a');
        json_object *route_item;
        assert (json_object_object_get_ex (paths, want, &route_item));
        assert (json_object_object_get_ex (route_item, verb, NULL));
    }
    size_t refs = s_check_refs (doc, schemas);
    if (verbose)
        printf ("  %zu operations, %d schemas, %zu references, %zu bytes\n", operations,
                json_object_object_length (schemas), refs, strlen (text));
    zhashx_destroy (&ids);
    json_object_put (doc);
    free (text);
}
