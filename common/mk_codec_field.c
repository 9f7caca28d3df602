/*  mk_codec_field: a message's fields in memory as protobuf-c lays them out, and the text
    of the values the mapping writes alike in JSON and XML (mk_codec_int.h): what
    mk_codec's reader and its two writers share. */
#include "mk_codec.h"

#include "mk_codec_int.h"

#include <inttypes.h>
#include <math.h>

#include <sodium.h>

//  ------------------------------------------------------------- fields in memory

void *
mk_codec_member (const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
    return (char *) msg + field->offset;
}

//  The count of a repeated field, the case of a oneof, or the has_ flag of an optional.
void *
mk_codec_quantifier (const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
    return (char *) msg + field->quantifier_offset;
}

bool
mk_codec_pointer_type (ProtobufCType type)
{
    return type == PROTOBUF_C_TYPE_STRING || type == PROTOBUF_C_TYPE_MESSAGE;
}

size_t
mk_codec_value_size (ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof (uint64_t);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof (double);
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof (float);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof (protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof (int);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof (void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof (ProtobufCBinaryData);
    default:
        return sizeof (uint32_t);
    }
}

//  Whether a field is written: a oneof member only when it is the one set, an optional
//  one only when it has a value; every other field always.
bool
mk_codec_written (const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        if (*(const uint32_t *) mk_codec_quantifier (msg, field) != field->id)
            return false;
        //  protobuf-c does not pack a oneof message or string that is NULL.
        return !mk_codec_pointer_type (field->type) || *(void **) mk_codec_member (msg, field);
    }
    if (field->label == PROTOBUF_C_LABEL_OPTIONAL) {
        if (mk_codec_pointer_type (field->type))
            return *(void **) mk_codec_member (msg, field) != NULL;
        return *(const protobuf_c_boolean *) mk_codec_quantifier (msg, field);
    }
    return true;
}

//  The name of an enum value, or NULL if the .proto names none.
const char *
mk_codec_enum_name (const ProtobufCFieldDescriptor *field, int value)
{
    const ProtobufCEnumValue *found = protobuf_c_enum_descriptor_get_value (
        (const ProtobufCEnumDescriptor *) field->descriptor, value);
    return found ? found->name : NULL;
}

char *
mk_codec_base64 (const ProtobufCBinaryData *data)
{
    size_t size = sodium_base64_ENCODED_LEN (data->len, sodium_base64_VARIANT_ORIGINAL);
    char *text = (char *) malloc (size);
    if (!text)
        abort ();
    sodium_bin2base64 (text, size, data->data, data->len, sodium_base64_VARIANT_ORIGINAL);
    return text;
}

//  The shortest decimal that reads back as the same float or double (a new string).
char *
mk_codec_number_text (double number, bool single)
{
    for (int digits = single ? 6 : 15;; digits++) {
        char *text = zsys_sprintf ("%.*g", digits, number);
        double back = strtod (text, NULL);
        if (digits >= 17 || (single ? (float) back == (float) number : back == number))
            return text;
        free (text);
    }
}
