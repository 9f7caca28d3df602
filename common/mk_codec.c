/*  mk_codec: protobuf messages as JSON (json-c) and XML (libxml2), both ways, from
    protobuf-c's descriptors. The mapping is written in mk_codec.h. The self-test is in
    mk_codec_test.c. */
#include "mk_codec.h"

#include "mk_codec_int.h"
#include "mk_utf8.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>

#include <json-c/json.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <sodium.h>

//  A scalar as text (a new string): numbers in decimal, floats exactly, strings made fit
//  for the format.
static char *
s_scalar_text (const ProtobufCFieldDescriptor *field, const void *value, mk_codec_format_t format)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return zsys_sprintf ("%" PRId32, *(const int32_t *) value);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return zsys_sprintf ("%" PRIu32, *(const uint32_t *) value);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return zsys_sprintf ("%" PRId64, *(const int64_t *) value);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return zsys_sprintf ("%" PRIu64, *(const uint64_t *) value);
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        double number = field->type == PROTOBUF_C_TYPE_FLOAT ? (double) *(const float *) value
                                                             : *(const double *) value;
        if (isnan (number))
            return strdup ("NaN");
        if (isinf (number))
            return strdup (number > 0 ? "Infinity" : "-Infinity");
        return mk_codec_number_text (number, field->type == PROTOBUF_C_TYPE_FLOAT);
    }
    case PROTOBUF_C_TYPE_BOOL:
        return strdup (*(const protobuf_c_boolean *) value ? "true" : "false");
    case PROTOBUF_C_TYPE_ENUM: {
        const char *name = mk_codec_enum_name (field, *(const int *) value);
        return name ? strdup (name) : zsys_sprintf ("%d", *(const int *) value);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *text = *(char *const *) value;
        return mk_utf8_clean (text ? text : "", format == MK_CODEC_XML);
    }
    case PROTOBUF_C_TYPE_BYTES:
        return mk_codec_base64 ((const ProtobufCBinaryData *) value);
    default:
        assert (false); //  messages are not scalars
        return NULL;
    }
}

//  ------------------------------------------------------------------ writing JSON

static json_object *s_json_message (const ProtobufCMessage *msg);

static json_object *
s_json_value (const ProtobufCFieldDescriptor *field, const void *value)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_object_new_int64 (*(const int32_t *) value);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_object_new_int64 (*(const uint32_t *) value);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return json_object_new_int64 (*(const int64_t *) value);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return json_object_new_uint64 (*(const uint64_t *) value);
    case PROTOBUF_C_TYPE_BOOL:
        return json_object_new_boolean (*(const protobuf_c_boolean *) value);
    case PROTOBUF_C_TYPE_ENUM: {
        const char *name = mk_codec_enum_name (field, *(const int *) value);
        return name ? json_object_new_string (name) : json_object_new_int64 (*(const int *) value);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *) value;
        return sub ? s_json_message (sub) : NULL;
    }
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        double number = field->type == PROTOBUF_C_TYPE_FLOAT ? (double) *(const float *) value
                                                             : *(const double *) value;
        if (isfinite (number)) {
            char *text = mk_codec_number_text (number, field->type == PROTOBUF_C_TYPE_FLOAT);
            json_object *json = json_object_new_double_s (number, text);
            free (text);
            return json;
        }
        break; //  NaN and the infinities are strings, as text
    }
    default:
        break;
    }
    //  Strings, bytes, NaN and infinities: as their text.
    char *text = s_scalar_text (field, value, MK_CODEC_JSON);
    json_object *string = json_object_new_string (text);
    free (text);
    return string;
}

static json_object *
s_json_message (const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *descriptor = msg->descriptor;
    json_object *object = json_object_new_object ();
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        if (!mk_codec_written (msg, field))
            continue;
        json_object *value;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *) mk_codec_quantifier (msg, field);
            const char *array = *(const char *const *) mk_codec_member (msg, field);
            value = json_object_new_array_ext ((int) count);
            for (size_t j = 0; j < count; j++)
                json_object_array_add (
                    value, s_json_value (field, array + j * mk_codec_value_size (field->type)));
        } else
            value = s_json_value (field, mk_codec_member (msg, field));
        json_object_object_add (object, field->name, value);
    }
    return object;
}

//  JSON strings are escaped by json-c, which passes bytes that are not UTF-8 as they
//  are: strings are made fit before they are added.
char *
mk_codec_json_tree (const ProtobufCMessage *msg, bool pretty)
{
    json_object *object = s_json_message (msg);
    int flags =
        JSON_C_TO_STRING_NOSLASHESCAPE
        | (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
    const char *text = json_object_to_json_string_ext (object, flags);
    char *copy = zsys_sprintf ("%s%s", text, pretty ? "\n" : "");
    json_object_put (object);
    return copy;
}

//  ------------------------------------------------------------------- writing XML

static void s_xml_fields (xmlNodePtr node, const ProtobufCMessage *msg);

static void
s_xml_value (xmlNodePtr parent, const ProtobufCFieldDescriptor *field, const void *value)
{
    if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *) value;
        if (sub)
            s_xml_fields (xmlNewChild (parent, NULL, BAD_CAST field->name, NULL), sub);
        return;
    }
    char *text = s_scalar_text (field, value, MK_CODEC_XML);
    xmlNewTextChild (parent, NULL, BAD_CAST field->name, BAD_CAST text);
    free (text);
}

static void
s_xml_fields (xmlNodePtr node, const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *descriptor = msg->descriptor;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        if (!mk_codec_written (msg, field))
            continue;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *) mk_codec_quantifier (msg, field);
            const char *array = *(const char *const *) mk_codec_member (msg, field);
            for (size_t j = 0; j < count; j++)
                s_xml_value (node, field, array + j * mk_codec_value_size (field->type));
        } else
            s_xml_value (node, field, mk_codec_member (msg, field));
    }
}

static char *
s_xml_write (const ProtobufCMessage *msg, bool pretty)
{
    xmlDocPtr doc = xmlNewDoc (BAD_CAST "1.0");
    xmlNodePtr root = xmlNewNode (NULL, BAD_CAST msg->descriptor->short_name);
    xmlDocSetRootElement (doc, root);
    s_xml_fields (root, msg);
    xmlChar *text = NULL;
    int size = 0;
    xmlDocDumpFormatMemoryEnc (doc, &text, &size, "UTF-8", pretty ? 1 : 0);
    if (!text)
        abort (); //  libxml2 fails here only when out of memory
    char *copy = strdup ((const char *) text);
    xmlFree (text);
    xmlFreeDoc (doc);
    return copy;
}

char *
mk_codec_write (const ProtobufCMessage *msg, mk_codec_format_t format, bool pretty)
{
    assert (msg && msg->descriptor);
    if (format == MK_CODEC_JSON)
        return pretty ? mk_codec_json_tree (msg, true) : mk_codec_json_compact (msg);
    return s_xml_write (msg, pretty);
}

//  ------------------------------------------------------------------ reading: values

//  A read in progress: where it is, for errors, and the first error.
typedef struct {
    mk_codec_format_t format; //  what is read
    char path[256];           //  "vms[1].vcpus"
    char *error;              //  why the read failed, or NULL
    bool bare;                //  the error says why alone (a value set, not a document read)
} reader_t;

static int s_fail (reader_t *self, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

//  Records why the read fails (the first reason counts) and returns -2.
static int
s_fail (reader_t *self, const char *format, ...)
{
    if (self->error)
        return -2;
    va_list args;
    va_start (args, format);
    char *why = zsys_vprintf (format, args);
    va_end (args);
    if (self->bare)
        self->error = why;
    else if (*self->path)
        self->error = zsys_sprintf ("%s: '%s': %s", self->format == MK_CODEC_JSON ? "JSON" : "XML",
                                    self->path, why);
    else
        self->error = zsys_sprintf ("%s: %s", self->format == MK_CODEC_JSON ? "JSON" : "XML", why);
    if (!self->bare)
        free (why);
    return -2;
}

//  Adds ".name" or "[index]" to the path; returns the length to go back to.
static size_t
s_path_push (reader_t *self, const char *name, long index)
{
    size_t length = strlen (self->path);
    char *end = self->path + length;
    size_t room = sizeof self->path - length;
    if (name)
        snprintf (end, room, "%s%s", length ? "." : "", name);
    else
        snprintf (end, room, "[%ld]", index);
    return length;
}

static void
s_path_pop (reader_t *self, size_t length)
{
    self->path[length] = 0;
}

static const char *
s_type_name (const ProtobufCFieldDescriptor *field)
{
    static const char *const names[] = {"int32",    "sint32", "sfixed32", "int64",  "sint64",
                                        "sfixed64", "uint32", "fixed32",  "uint64", "fixed64",
                                        "float",    "double", "bool",     "enum",   "string",
                                        "bytes",    "message"};
    return (unsigned) field->type < sizeof names / sizeof names[0] ? names[field->type] : "?";
}

//  An integer given as its sign and magnitude, into a field of an integer type or an
//  enum (as its number), if it is in the field's range.
static int
s_set_integer (reader_t *self, const ProtobufCFieldDescriptor *field, bool negative,
               uint64_t magnitude, void *to)
{
    uint64_t max_positive;
    uint64_t max_negative; //  the magnitude of the least value
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        max_positive = INT32_MAX;
        max_negative = (uint64_t) INT32_MAX + 1;
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        max_positive = UINT32_MAX;
        max_negative = 0;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        max_positive = INT64_MAX;
        max_negative = (uint64_t) INT64_MAX + 1;
        break;
    default:
        max_positive = UINT64_MAX;
        max_negative = 0;
    }
    if (negative ? magnitude > max_negative : magnitude > max_positive)
        return s_fail (self, "%s%" PRIu64 " is out of range for %s", negative ? "-" : "", magnitude,
                       s_type_name (field));
    //  Two's complement, as the field's own type holds it.
    uint64_t bits = negative ? (uint64_t) 0 - magnitude : magnitude;
    if (mk_codec_value_size (field->type) == sizeof (uint64_t))
        *(uint64_t *) to = bits;
    else if (field->type == PROTOBUF_C_TYPE_ENUM)
        *(int *) to = (int) (int32_t) (uint32_t) bits;
    else
        *(uint32_t *) to = (uint32_t) bits;
    return 0;
}

//  An integer written in decimal: "-"? digits, nothing else.
static int
s_set_integer_text (reader_t *self, const ProtobufCFieldDescriptor *field, const char *text,
                    void *to)
{
    bool negative = text[0] == '-';
    const char *digits = text + negative;
    if (!*digits || strspn (digits, "0123456789") != strlen (digits))
        return s_fail (self, "expected a whole number (%s), not '%.40s'", s_type_name (field),
                       text);
    uint64_t magnitude = 0;
    for (const char *c = digits; *c; c++) {
        if (magnitude > (UINT64_MAX - (uint64_t) (*c - '0')) / 10)
            return s_fail (self, "%.40s is out of range for %s", text, s_type_name (field));
        magnitude = magnitude * 10 + (uint64_t) (*c - '0');
    }
    return s_set_integer (self, field, negative, magnitude, to);
}

static int
s_set_double (reader_t *self, const ProtobufCFieldDescriptor *field, double number, void *to)
{
    if (field->type == PROTOBUF_C_TYPE_FLOAT) {
        if (isfinite (number) && fabs (number) > FLT_MAX)
            return s_fail (self, "%g is out of range for float", number);
        *(float *) to = (float) number;
    } else
        *(double *) to = number;
    return 0;
}

//  A scalar from its text: what XML gives for every scalar, and JSON for strings,
//  bytes, enum names, 64-bit integers as strings, and NaN and the infinities.
static int
s_set_text (reader_t *self, const ProtobufCFieldDescriptor *field, const char *text, size_t length,
            void *to)
{
    if (strlen (text) != length)
        return s_fail (self, "a string holding NUL is not accepted");
    switch (field->type) {
    //  A field is read once (XML refuses a second, json-c keeps the last), so what it
    //  holds before is its default, which is not freed.
    case PROTOBUF_C_TYPE_STRING:
        *(char **) to = strdup (text);
        return 0;
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *data = (ProtobufCBinaryData *) to;
        size_t room = length / 4 * 3 + 3;
        unsigned char *bin = (unsigned char *) malloc (room);
        const char *end = NULL;
        size_t size = 0;
        if (!bin)
            abort ();
        if (sodium_base642bin (bin, room, text, length, NULL, &size, &end,
                               sodium_base64_VARIANT_ORIGINAL)
                != 0
            || end != text + length) {
            free (bin);
            return s_fail (self, "expected base64 (RFC 4648, with padding)");
        }
        data->data = bin;
        data->len = size;
        return 0;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (streq (text, "true") || streq (text, "false")) {
            *(protobuf_c_boolean *) to = streq (text, "true");
            return 0;
        }
        return s_fail (self, "expected true or false, not '%.40s'", text);
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *value = protobuf_c_enum_descriptor_get_value_by_name (
            (const ProtobufCEnumDescriptor *) field->descriptor, text);
        if (value) {
            *(int *) to = value->value;
            return 0;
        }
        if (*text == '-' || isdigit ((unsigned char) *text))
            return s_set_integer_text (self, field, text, to);
        return s_fail (self, "'%.40s' is not a value of %s", text,
                       ((const ProtobufCEnumDescriptor *) field->descriptor)->name);
    }
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        if (streq (text, "NaN") || streq (text, "Infinity") || streq (text, "-Infinity"))
            return s_set_double (self, field,
                                 streq (text, "NaN") ? NAN
                                 : *text == '-'      ? -INFINITY
                                                     : INFINITY,
                                 to);
        char *end = NULL;
        errno = 0;
        double number = strtod (text, &end);
        if (!*text || *end || isspace ((unsigned char) *text) || !isfinite (number))
            return s_fail (self, "expected a number (%s), not '%.40s'", s_type_name (field), text);
        return s_set_double (self, field, number, to);
    }
    default:
        return s_set_integer_text (self, field, text, to);
    }
}

//  A new message of the type, with its defaults; freed by free_unpacked.
static ProtobufCMessage *
s_message_new (const ProtobufCMessageDescriptor *descriptor)
{
    ProtobufCMessage *msg = (ProtobufCMessage *) zmalloc (descriptor->sizeof_message);
    protobuf_c_message_init (descriptor, msg);
    return msg;
}

//  Marks a field as given: a oneof's case (refusing a second member), an optional's
//  has_ flag.
static int
s_given (reader_t *self, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *which = (uint32_t *) mk_codec_quantifier (msg, field);
        if (*which && *which != field->id) {
            const ProtobufCFieldDescriptor *other =
                protobuf_c_message_descriptor_get_field (msg->descriptor, *which);
            return s_fail (self, "'%s' and '%s' are members of one oneof: give one",
                           other ? other->name : "?", field->name);
        }
        *which = field->id;
    } else if (field->label == PROTOBUF_C_LABEL_OPTIONAL && !mk_codec_pointer_type (field->type))
        *(protobuf_c_boolean *) mk_codec_quantifier (msg, field) = 1;
    return 0;
}

//  Room for `count` items of a repeated field, zeroed; its count stays 0 until items are
//  read, so that a message freed half-read frees only what it holds.
static void *
s_repeated_alloc (ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field, size_t count)
{
    void **array = (void **) mk_codec_member (msg, field);
    assert (*array == NULL);
    *array = count ? zmalloc (count * mk_codec_value_size (field->type)) : NULL;
    *(size_t *) mk_codec_quantifier (msg, field) = 0;
    return *array;
}

//  --------------------------------------------------------------- reading JSON

//  json-c clamps an integer beyond 64 bits to the nearest 64-bit value: such numbers
//  are found in the text first. Skips strings; NULL, or the first number out of range.
static const char *
s_json_huge_number (const char *text, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        if (text[i] == '"') {
            for (i++; i < size && text[i] != '"'; i++)
                if (text[i] == '\\')
                    i++;
            continue;
        }
        if (text[i] != '-' && !isdigit ((unsigned char) text[i]))
            continue;
        size_t start = i;
        bool negative = text[i] == '-';
        i += negative;
        uint64_t magnitude = 0;
        bool over = false;
        for (; i < size && isdigit ((unsigned char) text[i]); i++) {
            unsigned digit = (unsigned) (text[i] - '0');
            over |= magnitude > (UINT64_MAX - digit) / 10;
            magnitude = magnitude * 10 + digit;
        }
        bool fraction = i < size && strchr (".eE", text[i]) && text[i];
        if (!fraction && (over || (negative && magnitude > (uint64_t) INT64_MAX + 1)))
            return text + start;
        i--; //  the loop steps past the number's end
    }
    return NULL;
}

static int s_json_read_message (reader_t *self, ProtobufCMessage *msg, json_object *object,
                                int depth);

//  One value of a field from JSON.
static int
s_json_read_value (reader_t *self, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field,
                   json_object *value, void *to, int depth)
{
    json_type type = json_object_get_type (value);
    if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
        if (type != json_type_object)
            return s_fail (self, "expected an object (%s), not %s",
                           ((const ProtobufCMessageDescriptor *) field->descriptor)->name,
                           json_type_to_name (type));
        ProtobufCMessage *sub =
            s_message_new ((const ProtobufCMessageDescriptor *) field->descriptor);
        *(ProtobufCMessage **) to = sub;
        return s_json_read_message (self, sub, value, depth + 1);
    }
    //  Strings, bytes, enum names, 64-bit integers as strings, NaN and infinities.
    bool textual = field->type == PROTOBUF_C_TYPE_STRING || field->type == PROTOBUF_C_TYPE_BYTES
                   || field->type == PROTOBUF_C_TYPE_ENUM || field->type == PROTOBUF_C_TYPE_FLOAT
                   || field->type == PROTOBUF_C_TYPE_DOUBLE
                   || (mk_codec_value_size (field->type) == sizeof (uint64_t)
                       && field->type != PROTOBUF_C_TYPE_DOUBLE);
    if (type == json_type_string) {
        if (textual)
            return s_set_text (self, field, json_object_get_string (value),
                               (size_t) json_object_get_string_len (value), to);
    } else if (type == json_type_int && field->type != PROTOBUF_C_TYPE_STRING
               && field->type != PROTOBUF_C_TYPE_BYTES && field->type != PROTOBUF_C_TYPE_BOOL) {
        if (field->type == PROTOBUF_C_TYPE_FLOAT || field->type == PROTOBUF_C_TYPE_DOUBLE)
            return s_set_double (self, field, json_object_get_double (value), to);
        int64_t signed_value = json_object_get_int64 (value);
        if (signed_value < 0)
            return s_set_integer (self, field, true, (uint64_t) 0 - (uint64_t) signed_value, to);
        return s_set_integer (self, field, false, json_object_get_uint64 (value), to);
    } else if (type == json_type_double
               && (field->type == PROTOBUF_C_TYPE_FLOAT || field->type == PROTOBUF_C_TYPE_DOUBLE))
        return s_set_double (self, field, json_object_get_double (value), to);
    else if (type == json_type_boolean && field->type == PROTOBUF_C_TYPE_BOOL) {
        *(protobuf_c_boolean *) to = json_object_get_boolean (value);
        return 0;
    }
    return s_fail (self, "expected %s, not %s",
                   field->type == PROTOBUF_C_TYPE_BOOL     ? "true or false"
                   : field->type == PROTOBUF_C_TYPE_STRING ? "a string"
                   : field->type == PROTOBUF_C_TYPE_BYTES  ? "a base64 string"
                   : field->type == PROTOBUF_C_TYPE_ENUM   ? "an enum value's name"
                                                           : "a number",
                   type == json_type_double ? "a fraction" : json_type_to_name (type));
}

static int
s_json_read_field (reader_t *self, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field,
                   json_object *value, int depth)
{
    if (s_given (self, msg, field))
        return -2;
    if (field->label != PROTOBUF_C_LABEL_REPEATED) {
        if (!value) //  null: the default
            return 0;
        return s_json_read_value (self, msg, field, value, mk_codec_member (msg, field), depth);
    }
    if (!value)
        return 0;
    if (!json_object_is_type (value, json_type_array))
        return s_fail (self, "expected an array, not %s",
                       json_type_to_name (json_object_get_type (value)));
    size_t count = json_object_array_length (value);
    char *array = (char *) s_repeated_alloc (msg, field, count);
    size_t *done = (size_t *) mk_codec_quantifier (msg, field);
    for (size_t i = 0; i < count; i++) {
        json_object *item = json_object_array_get_idx (value, i);
        size_t back = s_path_push (self, NULL, (long) i);
        int rc = item ? s_json_read_value (self, msg, field, item,
                                           array + i * mk_codec_value_size (field->type), depth)
                      : s_fail (self, "null is not an item");
        *done = i + 1; //  what it holds is freed with the message, read or half read
        s_path_pop (self, back);
        if (rc)
            return rc;
    }
    return 0;
}

static int
s_json_read_message (reader_t *self, ProtobufCMessage *msg, json_object *object, int depth)
{
    if (depth > MK_CODEC_DEPTH_MAX)
        return s_fail (self, "nested deeper than %d messages", MK_CODEC_DEPTH_MAX);
    json_object_object_foreach (object, key, value)
    {
        const ProtobufCFieldDescriptor *field =
            protobuf_c_message_descriptor_get_field_by_name (msg->descriptor, key);
        size_t back = s_path_push (self, key, 0);
        int rc = field ? s_json_read_field (self, msg, field, value, depth)
                       : s_fail (self, "%s has no field of this name", msg->descriptor->short_name);
        s_path_pop (self, back);
        if (rc)
            return rc;
    }
    return 0;
}

static int
s_json_read (reader_t *self, const ProtobufCMessageDescriptor *descriptor, const char *text,
             size_t size, ProtobufCMessage **msg_p)
{
    const char *huge = s_json_huge_number (text, size);
    if (huge)
        return s_fail (self, "the number at byte %zu is out of the 64-bit range",
                       (size_t) (huge - text));
    //  An object, in an array of a repeated field, is two levels of JSON a message.
    json_tokener *tokener = json_tokener_new_ex (2 * MK_CODEC_DEPTH_MAX + 2);
    if (!tokener)
        abort ();
    json_tokener_set_flags (tokener, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *root = json_tokener_parse_ex (tokener, text, (int) size);
    enum json_tokener_error status = json_tokener_get_error (tokener);
    size_t end = json_tokener_get_parse_end (tokener);
    json_tokener_free (tokener);
    int rc = 0;
    if (status == json_tokener_continue)
        rc = s_fail (self, "the document ends before its value does");
    else if (status != json_tokener_success)
        rc = s_fail (self, "malformed at byte %zu: %s", end, json_tokener_error_desc (status));
    else {
        while (end < size && isspace ((unsigned char) text[end]))
            end++;
        if (end < size)
            rc = s_fail (self, "malformed at byte %zu: more after the document", end);
        else if (!json_object_is_type (root, json_type_object))
            rc = s_fail (self, "expected an object (%s), not %s", descriptor->name,
                         json_type_to_name (json_object_get_type (root)));
    }
    if (rc == 0) {
        *msg_p = s_message_new (descriptor);
        rc = s_json_read_message (self, *msg_p, root, 1);
    }
    json_object_put (root);
    return rc;
}

//  ---------------------------------------------------------------- reading XML

static int s_xml_read_message (reader_t *self, ProtobufCMessage *msg, xmlNodePtr node, int depth);

//  Neither attributes nor namespaces carry anything in this mapping.
static int
s_xml_plain_element (reader_t *self, xmlNodePtr node)
{
    if (node->properties)
        return s_fail (self, "attributes are not read ('%s' on <%s>)",
                       (const char *) node->properties->name, (const char *) node->name);
    if (node->ns || node->nsDef)
        return s_fail (self, "namespaces are not read (on <%s>)", (const char *) node->name);
    return 0;
}

//  The text of an element that holds a scalar (a new string): text only, no elements.
static int
s_xml_text (reader_t *self, xmlNodePtr node, char **text_p)
{
    for (xmlNodePtr child = node->children; child; child = child->next)
        if (child->type == XML_ELEMENT_NODE)
            return s_fail (self, "holds the element <%s> where a value is expected",
                           (const char *) child->name);
        else if (child->type == XML_ENTITY_REF_NODE)
            return s_fail (self, "holds an entity reference");
    xmlChar *content = xmlNodeGetContent (node);
    *text_p = strdup (content ? (const char *) content : "");
    xmlFree (content);
    return 0;
}

static int
s_xml_read_value (reader_t *self, const ProtobufCFieldDescriptor *field, xmlNodePtr node, void *to,
                  int depth)
{
    int rc = s_xml_plain_element (self, node);
    if (rc)
        return rc;
    if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
        ProtobufCMessage *sub =
            s_message_new ((const ProtobufCMessageDescriptor *) field->descriptor);
        *(ProtobufCMessage **) to = sub;
        return s_xml_read_message (self, sub, node, depth + 1);
    }
    char *text = NULL;
    rc = s_xml_text (self, node, &text);
    if (rc == 0)
        rc = s_set_text (self, field, text, strlen (text), to);
    free (text);
    return rc;
}

//  The field a child element names, or NULL after an error; checks what is not an
//  element (whitespace, comments and processing instructions are let be).
static const ProtobufCFieldDescriptor *
s_xml_child_field (reader_t *self, const ProtobufCMessage *msg, xmlNodePtr child, bool *skip)
{
    *skip = true;
    if (child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE) {
        const xmlChar *text = child->content;
        while (text && *text && isspace (*text))
            text++;
        if (text && *text)
            s_fail (self, "text '%.20s' in <%s>, which holds elements only", (const char *) text,
                    msg->descriptor->short_name);
        return NULL;
    }
    if (child->type == XML_ENTITY_REF_NODE) {
        s_fail (self, "an entity reference in <%s>", msg->descriptor->short_name);
        return NULL;
    }
    if (child->type != XML_ELEMENT_NODE)
        return NULL;
    *skip = false;
    const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field_by_name (
        msg->descriptor, (const char *) child->name);
    if (!field)
        s_fail (self, "%s has no field <%s>", msg->descriptor->short_name,
                (const char *) child->name);
    return field;
}

//  The children, twice: first to count each repeated field's items and allocate them
//  once, then to read them.
static int
s_xml_read_message (reader_t *self, ProtobufCMessage *msg, xmlNodePtr node, int depth)
{
    if (depth > MK_CODEC_DEPTH_MAX)
        return s_fail (self, "nested deeper than %d messages", MK_CODEC_DEPTH_MAX);
    const ProtobufCMessageDescriptor *descriptor = msg->descriptor;
    size_t *counts = (size_t *) zmalloc ((descriptor->n_fields + 1) * sizeof (size_t));
    int rc = 0;
    bool skip;
    for (xmlNodePtr child = node->children; child && rc == 0; child = child->next) {
        const ProtobufCFieldDescriptor *field = s_xml_child_field (self, msg, child, &skip);
        if (self->error)
            rc = -2;
        else if (!skip && counts[field - descriptor->fields]++
                 && field->label != PROTOBUF_C_LABEL_REPEATED)
            rc = s_fail (self, "<%s> is given twice in <%s>", field->name, descriptor->short_name);
    }
    for (unsigned i = 0; i < descriptor->n_fields && rc == 0; i++)
        if (descriptor->fields[i].label == PROTOBUF_C_LABEL_REPEATED)
            s_repeated_alloc (msg, &descriptor->fields[i], counts[i]);
    for (xmlNodePtr child = node->children; child && rc == 0; child = child->next) {
        const ProtobufCFieldDescriptor *field = s_xml_child_field (self, msg, child, &skip);
        if (skip)
            continue;
        size_t back = s_path_push (self, field->name, 0);
        void *to = mk_codec_member (msg, field);
        size_t *done = NULL;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            done = (size_t *) mk_codec_quantifier (msg, field);
            s_path_push (self, NULL, (long) *done);
            to = *(char **) to + *done * mk_codec_value_size (field->type);
        }
        rc = s_given (self, msg, field);
        if (rc == 0)
            rc = s_xml_read_value (self, field, child, to, depth);
        if (done)
            ++*done; //  what it holds is freed with the message, read or half read
        s_path_pop (self, back);
    }
    free (counts);
    return rc;
}

static int
s_xml_read (reader_t *self, const ProtobufCMessageDescriptor *descriptor, const char *text,
            size_t size, ProtobufCMessage **msg_p)
{
    xmlParserCtxtPtr context = xmlNewParserCtxt ();
    if (!context)
        abort ();
    xmlDocPtr doc = xmlCtxtReadMemory (context, text, (int) size, NULL, NULL,
                                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    int rc = 0;
    if (!doc) {
        xmlErrorPtr error = xmlCtxtGetLastError (context);
        char *message = strdup (error && error->message ? error->message : "unknown");
        message[strcspn (message, "\n")] = 0;
        rc = s_fail (self, "malformed at line %d: %s", error ? error->line : 0, message);
        free (message);
    }
    xmlFreeParserCtxt (context);
    if (rc)
        return rc;
    xmlNodePtr root = xmlDocGetRootElement (doc);
    if (doc->intSubset || doc->extSubset)
        rc = s_fail (self, "a DOCTYPE is not accepted");
    else if (!root || !streq ((const char *) root->name, descriptor->short_name))
        rc = s_fail (self, "expected the root element <%s>, not <%s>", descriptor->short_name,
                     root ? (const char *) root->name : "");
    else
        rc = s_xml_plain_element (self, root);
    if (rc == 0) {
        *msg_p = s_message_new (descriptor);
        rc = s_xml_read_message (self, *msg_p, root, 1);
    }
    xmlFreeDoc (doc);
    return rc;
}

const ProtobufCFieldDescriptor *
mk_codec_field (const ProtobufCMessageDescriptor *descriptor, const char *path)
{
    char name[64];
    while (descriptor) {
        size_t length = strcspn (path, ".");
        if (length == 0 || length >= sizeof name)
            return NULL;
        memcpy (name, path, length);
        name[length] = 0;
        const ProtobufCFieldDescriptor *field =
            protobuf_c_message_descriptor_get_field_by_name (descriptor, name);
        if (!field || !path[length])
            return field;
        if (field->type != PROTOBUF_C_TYPE_MESSAGE || field->label == PROTOBUF_C_LABEL_REPEATED)
            return NULL;
        descriptor = (const ProtobufCMessageDescriptor *) field->descriptor;
        path += length + 1;
    }
    return NULL;
}

int
mk_codec_set (ProtobufCMessage *msg, const char *path, const char *text, char **error_p)
{
    assert (msg && path && text && error_p);
    reader_t reader;
    memset (&reader, 0, sizeof reader);
    reader.format = MK_CODEC_XML;
    reader.bare = true;
    const ProtobufCFieldDescriptor *field = mk_codec_field (msg->descriptor, path);
    int rc = 0;
    if (!field)
        rc = s_fail (&reader, "%s has no field '%.64s'", msg->descriptor->short_name, path);
    else if (field->label == PROTOBUF_C_LABEL_REPEATED || field->type == PROTOBUF_C_TYPE_MESSAGE)
        rc = s_fail (&reader, "a %s is not one value",
                     field->label == PROTOBUF_C_LABEL_REPEATED ? "list" : "message");
    //  Down the path, making each message on the way.
    for (const char *rest = path; rc == 0 && strchr (rest, '.'); rest = strchr (rest, '.') + 1) {
        char name[64];
        size_t length = strcspn (rest, ".");
        memcpy (name, rest, length);
        name[length] = 0;
        const ProtobufCFieldDescriptor *step =
            protobuf_c_message_descriptor_get_field_by_name (msg->descriptor, name);
        ProtobufCMessage **sub = (ProtobufCMessage **) mk_codec_member (msg, step);
        if (!*sub)
            *sub = s_message_new ((const ProtobufCMessageDescriptor *) step->descriptor);
        msg = *sub;
    }
    //  The value replaces what the field held (a string's or bytes' own copy is freed).
    void *to = rc == 0 ? mk_codec_member (msg, field) : NULL;
    void *old = NULL;
    if (rc == 0 && field->type == PROTOBUF_C_TYPE_STRING && *(char **) to != field->default_value)
        old = *(char **) to;
    else if (rc == 0 && field->type == PROTOBUF_C_TYPE_BYTES)
        old = ((ProtobufCBinaryData *) to)->data;
    if (rc == 0)
        rc = s_set_text (&reader, field, text, strlen (text), to);
    if (rc == 0) {
        free (old);
        rc = s_given (&reader, msg, field);
    }
    *error_p = rc ? reader.error : NULL;
    return rc;
}

int
mk_codec_read (const ProtobufCMessageDescriptor *descriptor, mk_codec_format_t format,
               const char *text, size_t size, ProtobufCMessage **msg_p, char **error_p)
{
    assert (descriptor && text && msg_p && error_p);
    *msg_p = NULL;
    *error_p = NULL;
    reader_t reader;
    memset (&reader, 0, sizeof reader);
    reader.format = format;
    if (size > MK_CODEC_SIZE_MAX) {
        *error_p = zsys_sprintf ("%s: the document is %zu bytes; at most %d are read",
                                 format == MK_CODEC_JSON ? "JSON" : "XML", size, MK_CODEC_SIZE_MAX);
        return -1;
    }
    int rc = format == MK_CODEC_JSON ? s_json_read (&reader, descriptor, text, size, msg_p)
                                     : s_xml_read (&reader, descriptor, text, size, msg_p);
    if (rc) {
        if (*msg_p)
            protobuf_c_message_free_unpacked (*msg_p, NULL);
        *msg_p = NULL;
        *error_p = reader.error;
        assert (*error_p);
        return rc;
    }
    return 0;
}
