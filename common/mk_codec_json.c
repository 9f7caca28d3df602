/*  mk_codec_json: compact JSON written straight from a message (mk_codec_int.h). The
    mapping is mk_codec's (mk_codec.h); the bytes are those json-c writes for the same
    message with JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, which
    mk_codec's self-test checks for every message of the protocol. */
#include "mk_codec.h"

#include "mk_codec_int.h"
#include "mk_utf8.h"

#include <inttypes.h>
#include <math.h>

typedef struct {
    char *data;
    size_t size, room;
} buf_t;

static void
s_grow (buf_t *buf, size_t more)
{
    if (buf->size + more < buf->room)
        return;
    while (buf->size + more >= buf->room)
        buf->room = buf->room ? buf->room * 2 : 1024;
    buf->data = (char *) realloc (buf->data, buf->room);
    if (!buf->data)
        abort ();
}

static void
s_put (buf_t *buf, const char *text, size_t size)
{
    s_grow (buf, size);
    memcpy (buf->data + buf->size, text, size);
    buf->size += size;
}

static void
s_char (buf_t *buf, char c)
{
    s_grow (buf, 1);
    buf->data[buf->size++] = c;
}

//  An unsigned number in decimal.
static void
s_unsigned (buf_t *buf, uint64_t value)
{
    char digits[24];
    size_t at = sizeof digits;
    do {
        digits[--at] = (char) ('0' + value % 10);
        value /= 10;
    } while (value);
    s_put (buf, digits + at, sizeof digits - at);
}

static void
s_signed (buf_t *buf, int64_t value)
{
    if (value < 0) {
        s_char (buf, '-');
        s_unsigned (buf, (uint64_t) 0 - (uint64_t) value);
    } else
        s_unsigned (buf, (uint64_t) value);
}

//  A JSON string, escaped as json-c escapes (not '/'); text that is not UTF-8 is made
//  fit first (U+FFFD), as the mapping says.
static void
s_string (buf_t *buf, const char *text)
{
    //  Most text is plain ASCII with nothing to escape: one scan and one copy.
    const unsigned char *plain = (const unsigned char *) text;
    while (*plain >= ' ' && *plain < 0x80 && *plain != '"' && *plain != '\\')
        plain++;
    if (!*plain) {
        size_t size = (size_t) (plain - (const unsigned char *) text);
        s_grow (buf, size + 2);
        buf->data[buf->size] = '"';
        memcpy (buf->data + buf->size + 1, text, size);
        buf->data[buf->size + size + 1] = '"';
        buf->size += size + 2;
        return;
    }
    static const char hex[] = "0123456789abcdef";
    char *clean = NULL;
    for (const unsigned char *c = (const unsigned char *) text; *c; c++)
        if (*c >= 0x80) { //  only text with such bytes needs a look
            clean = mk_utf8_clean (text, false);
            text = clean;
            break;
        }
    s_char (buf, '"');
    const char *run = text;
    for (const char *c = text;; c++) {
        unsigned char byte = (unsigned char) *c;
        if (byte >= ' ' && byte != '"' && byte != '\\')
            continue;
        s_put (buf, run, (size_t) (c - run));
        if (!byte)
            break;
        char escape[6] = {'\\', 'u', '0', '0', hex[byte >> 4], hex[byte & 15]};
        switch (byte) {
        case '"':
        case '\\':
            escape[1] = (char) byte;
            s_put (buf, escape, 2);
            break;
        case '\b':
            s_put (buf, "\\b", 2);
            break;
        case '\f':
            s_put (buf, "\\f", 2);
            break;
        case '\n':
            s_put (buf, "\\n", 2);
            break;
        case '\r':
            s_put (buf, "\\r", 2);
            break;
        case '\t':
            s_put (buf, "\\t", 2);
            break;
        default:
            s_put (buf, escape, 6);
        }
        run = c + 1;
    }
    s_char (buf, '"');
    free (clean);
}

static void s_message (buf_t *buf, const ProtobufCMessage *msg);

static void
s_value (buf_t *buf, const ProtobufCFieldDescriptor *field, const void *value)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        s_signed (buf, *(const int32_t *) value);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        s_unsigned (buf, *(const uint32_t *) value);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        s_signed (buf, *(const int64_t *) value);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        s_unsigned (buf, *(const uint64_t *) value);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        if (*(const protobuf_c_boolean *) value)
            s_put (buf, "true", 4);
        else
            s_put (buf, "false", 5);
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        const char *name = mk_codec_enum_name (field, *(const int *) value);
        if (name)
            s_string (buf, name);
        else
            s_signed (buf, *(const int *) value);
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *text = *(char *const *) value;
        s_string (buf, text ? text : "");
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        char *text = mk_codec_base64 ((const ProtobufCBinaryData *) value);
        s_string (buf, text);
        free (text);
        break;
    }
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        double number = field->type == PROTOBUF_C_TYPE_FLOAT ? (double) *(const float *) value
                                                             : *(const double *) value;
        if (isnan (number))
            s_string (buf, "NaN");
        else if (isinf (number))
            s_string (buf, number > 0 ? "Infinity" : "-Infinity");
        else {
            char *text = mk_codec_number_text (number, field->type == PROTOBUF_C_TYPE_FLOAT);
            s_put (buf, text, strlen (text));
            free (text);
        }
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *) value;
        if (sub)
            s_message (buf, sub);
        else
            s_put (buf, "null", 4);
        break;
    }
    }
}

static void
s_message (buf_t *buf, const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *descriptor = msg->descriptor;
    s_char (buf, '{');
    bool first = true;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        if (!mk_codec_written (msg, field))
            continue;
        if (!first)
            s_char (buf, ',');
        first = false;
        //  A field's name is an identifier: nothing in it to escape.
        size_t length = strlen (field->name);
        s_grow (buf, length + 3);
        buf->data[buf->size] = '"';
        memcpy (buf->data + buf->size + 1, field->name, length);
        memcpy (buf->data + buf->size + 1 + length, "\":", 2);
        buf->size += length + 3;
        if (field->label != PROTOBUF_C_LABEL_REPEATED) {
            s_value (buf, field, mk_codec_member (msg, field));
            continue;
        }
        size_t count = *(const size_t *) mk_codec_quantifier (msg, field);
        const char *array = *(const char *const *) mk_codec_member (msg, field);
        size_t size = mk_codec_value_size (field->type);
        s_char (buf, '[');
        for (size_t j = 0; j < count; j++) {
            if (j)
                s_char (buf, ',');
            s_value (buf, field, array + j * size);
        }
        s_char (buf, ']');
    }
    s_char (buf, '}');
}

char *
mk_codec_json_compact (const ProtobufCMessage *msg)
{
    buf_t buf = {NULL, 0, 0};
    s_message (&buf, msg);
    s_char (&buf, 0);
    return buf.data;
}
