/*  mk_msg: the protobuf Envelope on the wire. Packing, unpacking and freeing happen here
    and nowhere else, so a malformed message is rejected in one place. */
#ifndef MK_MSG_H_INCLUDED
#define MK_MSG_H_INCLUDED

#include "maekin.h"

#define MK_MSG_VERSION 1

//  Status codes carried in Envelope.status (HTTP's meanings, so the gateway maps 1:1).
enum {
    MK_OK = 200,
    MK_ACCEPTED = 202,
    MK_BAD_REQUEST = 400,
    MK_UNAUTHORIZED = 401,
    MK_FORBIDDEN = 403,
    MK_NOT_FOUND = 404,
    MK_CONFLICT = 409,
    MK_GONE = 410,
    MK_UNPROCESSABLE = 422,
    MK_TOO_MANY = 429,
    MK_INTERNAL = 500,
    MK_UNAVAILABLE = 503,
    MK_TIMEOUT = 504,
    MK_VERSION_UNSUPPORTED = 505,
    MK_INSUFFICIENT = 507,
};

//  Unpack an envelope. NULL if the bytes are not a valid Envelope or carry a version
//  this program does not speak; *reason (static text) says which.
Maekin__Envelope *mk_msg_unpack (const void *data, size_t size, const char **reason);
//  The reason mk_msg_unpack gives for an envelope of another version (answered 505; any
//  other refusal is malformed input, 400).
extern const char mk_msg_other_version[];

//  Pack an envelope into a new frame. Sets the version if it is 0.
zframe_t *mk_msg_pack (Maekin__Envelope *env);

//  Free an unpacked envelope and null the pointer.
void mk_msg_free (Maekin__Envelope **env_p);

//  A new heap envelope holding only a status and a reason (for errors made locally).
Maekin__Envelope *mk_msg_new_status (int status, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  The name of the envelope's body, e.g. "vm_create", for logs and errors.
const char *mk_msg_body_name (const Maekin__Envelope *env);

void mk_msg_test (bool verbose);

#endif
