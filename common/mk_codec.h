/*  mk_codec: any protobuf message as JSON or XML and back, driven by protobuf-c's own
    descriptors, so a message added to proto/maekin.proto needs no code here. maekinsh's
    --output json|xml and the REST gateway speak it; proto/BUS.md ("JSON and XML") is
    the reader's copy of the mapping below.

    The mapping, the same in both directions:
    - A message is a JSON object, or an XML element with one child element per field;
      the XML document's root element is named after the message ("VmListReply").
    - Fields keep their names from the .proto ("memory_mb", "template"). Every field is
      written, default values too, so a script finds every key; unset message fields
      are JSON null and absent in XML. Reading, a field left out keeps its default, and
      JSON null means the default.
    - Integers are JSON numbers, 64-bit ones too: every 64-bit value Maekin carries (ids,
      MiB, seconds, microseconds) stays below 2^53, where any JSON reader is exact, and
      scripts compare numbers, not strings. Reading also takes a 64-bit integer as a
      string of decimal digits, as protobuf's own JSON mapping writes it, so a client
      using a protobuf library can send what it writes. In XML a number is its decimal
      text.
    - Enums by the value's name in the .proto ("VM_OP_CREATE"); a value the .proto does
      not name is written as its number, and read back from it.
    - bool is true or false; bytes are base64 (RFC 4648, with padding); float and double
      are numbers, or "NaN", "Infinity", "-Infinity".
    - A repeated field is a JSON array, or one XML element per item, in order.
    - Of a oneof, only the member set is written; reading, two members of one oneof are
      refused.
    Text that cannot be written as it is (bytes that are not UTF-8; in XML, the control
    characters XML 1.0 cannot hold) is written as U+FFFD (mk_utf8_clean): such a message
   was already invalid protobuf (string fields are UTF-8) or cannot be XML at all.

    Reading refuses, with one line saying where and why: a document over
    MK_CODEC_SIZE_MAX bytes (-1), and with -2 malformed JSON or XML, a root of another
    message or type, an unknown field, a value of the wrong type, a number out of its
    field's range, an unknown enum name, bad base64, a string holding NUL, nesting
    deeper than MK_CODEC_DEPTH_MAX, XML with a DOCTYPE, attributes, namespaces or stray
    text. JSON: a member given twice counts once, the last (json-c's rule). */
#ifndef MK_CODEC_H_INCLUDED
#define MK_CODEC_H_INCLUDED

#include "maekin.h"

//  The largest document read, in bytes.
#define MK_CODEC_SIZE_MAX (8 * 1024 * 1024)
//  The deepest nesting of messages read (an Envelope's body's Vm is at depth 3).
#define MK_CODEC_DEPTH_MAX 16

typedef enum { MK_CODEC_JSON, MK_CODEC_XML } mk_codec_format_t;

//  The message as a document (a new string). pretty: indented, one field a line, ending
//  in a newline; otherwise on one line (XML after its declaration line).
char *mk_codec_write (const ProtobufCMessage *msg, mk_codec_format_t format, bool pretty);

//  Reads a document of `size` bytes as a message of the type described: 0 and *msg_p
//  (free it with protobuf_c_message_free_unpacked (msg, NULL)); -1 if it is too big,
//  -2 if it is not a valid such message; then *error_p says why (a new string, one line).
int mk_codec_read (const ProtobufCMessageDescriptor *descriptor, mk_codec_format_t format,
                   const char *text, size_t size, ProtobufCMessage **msg_p, char **error_p);

//  The field a path names from a message type ("page.limit": a field of a message field),
//  or NULL if there is none. Only the last may be repeated.
const ProtobufCFieldDescriptor *mk_codec_field (const ProtobufCMessageDescriptor *descriptor,
                                                const char *path);

//  Sets one scalar field of msg, named by its path (mk_codec_field), from text as XML
//  gives a scalar (a number's decimal digits, an enum value's name, true or false; the
//  text itself for a string), making the messages on the way: what a query string or a
//  path segment says. 0, or -2 and *error_p (a new string, one line; the caller names
//  the field): no such field, a repeated or message field, a value its type cannot hold.
int mk_codec_set (ProtobufCMessage *msg, const char *path, const char *text, char **error_p);

//  The size of one value of a field's type as protobuf-c lays it out (an element of a
//  repeated field, say).
size_t mk_codec_value_size (ProtobufCType type);

void mk_codec_test (bool verbose);

#endif
