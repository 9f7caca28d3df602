/*  gateway_openapi: the REST API's OpenAPI 3 description, made from what serves it: the
    paths, methods, parameters and bodies from the route table (gateway_routes), the
    schemas from protobuf-c's descriptors of maekin.proto, in the mapping mk_codec
    reads and writes (fields by their .proto names, enums by value names, 64-bit
    integers as numbers). So the description cannot list a route the gateway lacks, nor
    leave one out; tests/integration/openapi.sh checks it against the running gateway
    and an OpenAPI validator. */
#ifndef GATEWAY_OPENAPI_H_INCLUDED
#define GATEWAY_OPENAPI_H_INCLUDED

#include "maekin.h"

//  The description as JSON (a new string).
char *gateway_openapi_document (void);

void gateway_openapi_test (bool verbose);

#endif
