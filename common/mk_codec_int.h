/*  mk_codec_int: what mk_codec's files share and nobody else uses: a message's fields in
    memory and the text of values (mk_codec_field.c), and the two JSON writers. */
#ifndef MK_CODEC_INT_H_INCLUDED
#define MK_CODEC_INT_H_INCLUDED

#include "maekin.h"

//  A field's value in a message; the count of a repeated one, a oneof's case or an
//  optional's has_ flag.
void *mk_codec_member (const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field);
void *mk_codec_quantifier (const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field);
//  A field's type held by pointer (a string, a message).
bool mk_codec_pointer_type (ProtobufCType type);
//  Whether a field is written: a oneof's member only when set, an optional only with a value.
bool mk_codec_written (const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field);
//  An enum value's name, or NULL if the .proto names none.
const char *mk_codec_enum_name (const ProtobufCFieldDescriptor *field, int value);
//  bytes as base64, a float or double as the shortest decimal that reads back the same
//  (new strings).
char *mk_codec_base64 (const ProtobufCBinaryData *data);
char *mk_codec_number_text (double number, bool single);

//  The message as compact JSON, written straight into a buffer (mk_codec_json.c): the
//  same bytes as json-c's plain output of mk_codec's tree, several times faster (a page
//  of 100 VMs is thousands of json-c objects). A new string.
char *mk_codec_json_compact (const ProtobufCMessage *msg);
//  The message as JSON through json-c's tree (mk_codec.c): the pretty form maekinsh
//  prints, and the compact one the self-test holds mk_codec_json_compact to.
char *mk_codec_json_tree (const ProtobufCMessage *msg, bool pretty);

#endif
