/*  mk_wire: the bus frames of proto/BUS.md: the 4-byte header and the commands. */
#ifndef MK_WIRE_H_INCLUDED
#define MK_WIRE_H_INCLUDED

#include "maekin.h"

#define MK_WIRE_VERSION      1
#define MK_WIRE_SERVICE_MAX  63 //  bytes in a service name
#define MK_WIRE_SERVICES_MAX 64 //  services in one READY
//  Liveness (proto/BUS.md): a worker heartbeats every MK_WIRE_HEARTBEAT_MS it sent
//  nothing else, and the broker forgets a worker silent for MK_WIRE_LIVENESS of those
//  (2.4 s: a dead node is down within 3 s). The broker needs only to be heard now and
//  then, so it heartbeats each worker every MK_WIRE_BROKER_BEATS intervals, and a worker
//  that hears nothing for MK_WIRE_LIVENESS of those registers again. A dead broker is
//  found sooner anyway: the next broker answers a stranger's heartbeat with DISCONNECT.
#define MK_WIRE_HEARTBEAT_MS 800
#define MK_WIRE_LIVENESS     3
#define MK_WIRE_BROKER_BEATS 4

typedef enum {
    MK_WIRE_READY = 1,
    MK_WIRE_REQUEST = 2,
    MK_WIRE_REPLY = 3,
    MK_WIRE_PROGRESS = 4,
    MK_WIRE_ERROR = 5,
    MK_WIRE_HEARTBEAT = 6,
    MK_WIRE_DISCONNECT = 7,
} mk_wire_command_t;

//  A new header frame for a command.
zframe_t *mk_wire_header (mk_wire_command_t command);

//  Read a header frame: the command, or -2 if it is not a Maekin header at all, or -3 if
//  it is one of another protocol version (*version says which).
int mk_wire_parse_header (zframe_t *frame, int *version);

//  An 8-byte frame holding a correlation id or token, and reading one back (-2 if the
//  frame is not 8 bytes).
zframe_t *mk_wire_id_frame (uint64_t id);
int mk_wire_id (zframe_t *frame, uint64_t *id);

//  A service name frame is valid: 1..MK_WIRE_SERVICE_MAX printable bytes.
bool mk_wire_service_valid (zframe_t *frame);
//  The same for a name as a string.
bool mk_wire_service_name_valid (const char *name);

const char *mk_wire_command_name (int command);

void mk_wire_test (bool verbose);

#endif
