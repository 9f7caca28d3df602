/*  maekinsh_out: what maekinsh prints.

    JSON and XML documents of replies are mk_codec's, the mapping the gateway speaks too,
    so every field appears under its proto name and a field added to the proto appears
    without a change here. Tables pick their columns from the tables below. */
#include "maekinsh_out.h"

#include "mk_codec.h"
#include "mk_msg.h"

#include <json-c/json.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

struct _maekinsh_out_t {
    maekinsh_out_format_t format; //  table, json or xml
    FILE *out;                    //  documents and tables, borrowed
    FILE *err;                    //  errors and progress, borrowed
    Maekin__Envelope **replies;   //  kept until flush, owned
    size_t count;                 //  how many are kept
    size_t room;                  //  how many fit
};

//  How a table shows a field.
typedef enum {
    COL_TEXT,    //  as it is; "-" for an empty string
    COL_ID,      //  a number; "-" for 0 (none)
    COL_MB,      //  MiB, shown as 512M, 2G, 1.5G
    COL_GB,      //  GiB, shown as 20G; "-" for 0 (none)
    COL_TIME,    //  unix seconds, shown as local time
    COL_TIME_US, //  unix microseconds, shown as local time
} col_kind_t;

typedef struct {
    const char *header; //  the column's title
    const char *field;  //  the proto field it shows
    col_kind_t kind;    //  how
} col_t;

#define COLS_MAX 8

typedef struct {
    const ProtobufCMessageDescriptor *item; //  the message of a row
    col_t cols[COLS_MAX];                   //  terminated by a NULL header
} table_t;

static const table_t s_tables[] = {
    {&maekin__vm__descriptor,
     {{"NAME", "name", COL_TEXT},
      {"STATE", "state", COL_TEXT},
      {"HOST", "host", COL_TEXT},
      {"VCPUS", "vcpus", COL_TEXT},
      {"MEMORY", "memory_mb", COL_MB},
      {"TEMPLATE", "template", COL_TEXT}}},
    {&maekin__task__descriptor,
     {{"ID", "id", COL_TEXT},
      {"STATE", "state", COL_TEXT},
      {"OP", "op", COL_TEXT},
      {"VM", "vm", COL_TEXT},
      {"HOST", "host", COL_TEXT},
      {"UPDATED", "updated", COL_TIME},
      {"ERROR", "error", COL_TEXT}}},
    {&maekin__host__descriptor,
     {{"NAME", "name", COL_TEXT},
      {"STATE", "state", COL_TEXT},
      {"VCPUS", "vcpus", COL_TEXT},
      {"USED", "vcpus_used", COL_TEXT},
      {"MEMORY", "memory_mb", COL_MB},
      {"USED", "memory_mb_used", COL_MB},
      {"VMS", "vm_count", COL_TEXT}}},
    {&maekin__template__descriptor,
     {{"NAME", "name", COL_TEXT},
      {"VCPUS", "vcpus", COL_TEXT},
      {"MEMORY", "memory_mb", COL_MB},
      {"DISK", "disk_gb", COL_GB},
      {"IMAGE", "image", COL_TEXT},
      {"OS", "os_type", COL_TEXT},
      {"NETWORK", "network", COL_TEXT}}},
    {&maekin__domain__descriptor,
     {{"NAME", "name", COL_TEXT}, {"STATE", "state", COL_TEXT}, {"UUID", "uuid", COL_TEXT}}},
    {&maekin__event__descriptor,
     {{"SEQ", "seq", COL_TEXT},
      {"TIME", "time_us", COL_TIME_US},
      {"SUBJECT", "subject", COL_TEXT},
      {"STATE", "state", COL_TEXT},
      {"TASK", "task_id", COL_ID},
      {"DETAIL", "detail", COL_TEXT}}},
};

//  -------------------------------------------------------------------------- text

//  A string built in memory; out of memory aborts, as everywhere in Maekin.
typedef struct {
    char *data;
    size_t size;
    FILE *file;
} buf_t;

static void
s_buf_open (buf_t *buf)
{
    buf->file = open_memstream (&buf->data, &buf->size);
    if (!buf->file)
        abort ();
}

//  Closes the buffer and returns its text (the caller frees it).
static char *
s_buf_close (buf_t *buf)
{
    if (fclose (buf->file) != 0)
        abort ();
    return buf->data;
}

//  C0 and C1 controls and DEL: what a terminal may act on instead of showing.
static bool
s_is_control (int32_t code)
{
    return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

bool
maekinsh_out_plain (const char *text)
{
    const unsigned char *cursor = (const unsigned char *)text;
    while (*cursor) {
        int size;
        int32_t code = mk_codec_utf8 (cursor, &size);
        if (code < 0 || s_is_control (code))
            return false;
        cursor += size;
    }
    return true;
}

//  Text fit for a terminal (a new string): controls escaped C-style, so a reply can
//  neither move the cursor nor break a line in two; bytes that are not UTF-8 as \xHH.
static char *
s_term_text (const char *text)
{
    buf_t buf;
    s_buf_open (&buf);
    const unsigned char *cursor = (const unsigned char *)text;
    while (*cursor) {
        int size;
        int32_t code = mk_codec_utf8 (cursor, &size);
        if (code == '\n')
            fputs ("\\n", buf.file);
        else if (code == '\t')
            fputs ("\\t", buf.file);
        else if (code == '\r')
            fputs ("\\r", buf.file);
        else if (code < 0 || code < 0x20 || code == 0x7f)
            fprintf (buf.file, "\\x%02x", *cursor);
        else if (s_is_control (code))
            fprintf (buf.file, "\\u%04x", (unsigned)code);
        else
            fwrite (cursor, 1, (size_t)size, buf.file);
        cursor += size;
    }
    return s_buf_close (&buf);
}

//  Characters on a terminal (what a column's width counts).
static size_t
s_width (const char *text)
{
    size_t width = 0;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        width += (*c & 0xc0) != 0x80;
    return width;
}

//  ------------------------------------------------------------------- field values

const char *
maekinsh_out_enum (const ProtobufCEnumDescriptor *descriptor, int value, char *buf,
                   size_t size)
{
    const ProtobufCEnumValue *found =
        protobuf_c_enum_descriptor_get_value (descriptor, value);
    if (!found || descriptor->n_values == 0) {
        snprintf (buf, size, "%d", value);
        return buf;
    }
    //  Every value of an enum starts with the same prefix (VM_OP_); it says nothing.
    const char *first = descriptor->values[0].name;
    size_t prefix = strlen (first);
    for (unsigned i = 1; i < descriptor->n_values; i++) {
        size_t same = 0;
        while (same < prefix && descriptor->values[i].name[same] == first[same])
            same++;
        prefix = same;
    }
    while (prefix > 0 && first[prefix - 1] != '_')
        prefix--;
    snprintf (buf, size, "%s", found->name + prefix);
    for (char *c = buf; *c; c++)
        *c = (char)tolower ((unsigned char)*c);
    return buf;
}

//  The size of one element of a repeated field.
static size_t
s_element_size (ProtobufCType type)
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

//  A scalar value as text: a string field's own text, or buf holding the number, bool or
//  enum name. *quoted says whether JSON writes it as a string.
static const char *
s_scalar (const ProtobufCFieldDescriptor *field, const void *value, char *buf,
          size_t size, bool *quoted)
{
    *quoted = false;
    switch (field->type) {
    case PROTOBUF_C_TYPE_STRING:
        *quoted = true;
        return *(char *const *)value ? *(char *const *)value : "";
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        snprintf (buf, size, "%" PRId32, *(const int32_t *)value);
        return buf;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        snprintf (buf, size, "%" PRIu32, *(const uint32_t *)value);
        return buf;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf (buf, size, "%" PRId64, *(const int64_t *)value);
        return buf;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf (buf, size, "%" PRIu64, *(const uint64_t *)value);
        return buf;
    case PROTOBUF_C_TYPE_FLOAT:
        snprintf (buf, size, "%g", (double)*(const float *)value);
        return buf;
    case PROTOBUF_C_TYPE_DOUBLE:
        snprintf (buf, size, "%g", *(const double *)value);
        return buf;
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *)value ? "true" : "false";
    case PROTOBUF_C_TYPE_ENUM:
        *quoted = true;
        return maekinsh_out_enum ((const ProtobufCEnumDescriptor *)field->descriptor,
                                  *(const int *)value, buf, size);
    default:
        //  Bytes and messages are not scalars; no reply maekinsh prints has bytes.
        *quoted = true;
        return "";
    }
}

//  False for a oneof member that is not the one set; true for every other field.
static bool
s_present (const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
    if (!(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
        return true;
    return *(const uint32_t *)((const char *)msg + field->quantifier_offset) == field->id;
}

static const void *
s_member (const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
    return (const char *)msg + field->offset;
}

static size_t
s_repeated_count (const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
    return *(const size_t *)((const char *)msg + field->quantifier_offset);
}

//  The i-th element of a repeated field.
static const void *
s_element (const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field, size_t i)
{
    const char *array = *(const char *const *)s_member (msg, field);
    return array + i * s_element_size (field->type);
}

//  Local time for unix seconds; "-" for 0 (never).
static const char *
s_time (int64_t seconds, char *buf, size_t size)
{
    if (seconds == 0)
        return "-";
    time_t when = (time_t)seconds;
    struct tm tm;
    if (!localtime_r (&when, &tm) || strftime (buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf (buf, size, "%" PRId64, seconds);
    return buf;
}

//  Fields that hold a time, shown as local time to people (as numbers to programs).
static bool
s_is_time (const ProtobufCFieldDescriptor *field, bool *micro)
{
    *micro = streq (field->name, "time_us");
    return *micro || streq (field->name, "created") || streq (field->name, "updated") ||
           streq (field->name, "last_seen");
}

static const char *
s_megabytes (uint64_t mb, char *buf, size_t size)
{
    if (mb >= 1024 && mb % 1024 == 0)
        snprintf (buf, size, "%" PRIu64 "G", mb / 1024);
    else if (mb >= 1024)
        snprintf (buf, size, "%.1fG", (double)mb / 1024);
    else
        snprintf (buf, size, "%" PRIu64 "M", mb);
    return buf;
}

//  A table cell (a new string, escaped for a terminal).
static char *
s_cell (const ProtobufCMessage *row, const col_t *col)
{
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (row->descriptor, col->field);
    assert (field); //  the tables name fields that exist
    char buf[64];
    bool quoted;
    const char *text = s_scalar (field, s_member (row, field), buf, sizeof buf, &quoted);
    uint64_t number = strtoull (text, NULL, 10);
    char formatted[64];
    switch (col->kind) {
    case COL_ID:
        text = number ? text : "-";
        break;
    case COL_MB:
        text = s_megabytes (number, formatted, sizeof formatted);
        break;
    case COL_GB:
        if (number)
            snprintf (formatted, sizeof formatted, "%" PRIu64 "G", number);
        text = number ? formatted : "-";
        break;
    case COL_TIME:
        text = s_time (strtoll (text, NULL, 10), formatted, sizeof formatted);
        break;
    case COL_TIME_US:
        text = s_time (strtoll (text, NULL, 10) / 1000000, formatted, sizeof formatted);
        break;
    case COL_TEXT:
        text = *text ? text : "-";
        break;
    }
    return s_term_text (text);
}

//  "task 12 (create web-1)", with " on node1" if with_host and the host is known.
static char *
s_task_label (uint64_t id, int op, const char *vm, const char *host, bool with_host)
{
    char op_name[32];
    maekinsh_out_enum (&maekin__vm_op__descriptor, op, op_name, sizeof op_name);
    char *vm_text = s_term_text (vm ? vm : "");
    char *host_text = s_term_text (host ? host : "");
    char *label;
    if (with_host && *host_text)
        label = zsys_sprintf ("task %" PRIu64 " (%s %s on %s)", id, op_name, vm_text,
                              host_text);
    else
        label = zsys_sprintf ("task %" PRIu64 " (%s %s)", id, op_name, vm_text);
    free (vm_text);
    free (host_text);
    return label;
}

//  ----------------------------------------------------------- people: key: value

static void s_lines_message (FILE *file, const ProtobufCMessage *msg, const char *prefix);

static void
s_lines_value (FILE *file, const ProtobufCFieldDescriptor *field, const void *value,
               const char *key)
{
    if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)value;
        if (sub) {
            char prefix[128];
            snprintf (prefix, sizeof prefix, "%s.", key);
            s_lines_message (file, sub, prefix);
        }
        return;
    }
    char buf[64], when[64];
    bool quoted, micro;
    const char *text = s_scalar (field, value, buf, sizeof buf, &quoted);
    if (s_is_time (field, &micro)) {
        int64_t number = strtoll (text, NULL, 10);
        text = s_time (micro ? number / 1000000 : number, when, sizeof when);
    }
    char *clean = s_term_text (text);
    fprintf (file, "%s: %s\n", key, clean);
    free (clean);
}

static void
s_lines_message (FILE *file, const ProtobufCMessage *msg, const char *prefix)
{
    const ProtobufCMessageDescriptor *descriptor = msg->descriptor;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        if (!s_present (msg, field))
            continue;
        char key[160];
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            for (size_t j = 0; j < s_repeated_count (msg, field); j++) {
                snprintf (key, sizeof key, "%s%s[%zu]", prefix, field->name, j);
                s_lines_value (file, field, s_element (msg, field, j), key);
            }
        } else {
            snprintf (key, sizeof key, "%s%s", prefix, field->name);
            s_lines_value (file, field, s_member (msg, field), key);
        }
    }
}

//  ------------------------------------------------------------ programs: documents

//  A message as mk_codec writes it.
static void
s_print_document (maekinsh_out_t *self, const ProtobufCMessage *msg)
{
    char *text = mk_codec_write (
        msg, self->format == MAEKINSH_OUT_JSON ? MK_CODEC_JSON : MK_CODEC_XML, true);
    fputs (text, self->out);
    free (text);
}

static json_object *
s_record_value (const char *value)
{
    if (*value && strlen (value) < 20 && strspn (value, "0123456789") == strlen (value))
        return json_object_new_uint64 (strtoull (value, NULL, 10));
    if (streq (value, "true") || streq (value, "false"))
        return json_object_new_boolean (streq (value, "true"));
    char *clean = mk_codec_text (value, MK_CODEC_JSON);
    json_object *string = json_object_new_string (clean);
    free (clean);
    return string;
}

//  What is not a message (an error, a deletion, a database's status) as one document,
//  built with json-c or libxml2 as mk_codec builds a message's.
static void
s_print_record (maekinsh_out_t *self, const char *root, const char *const *keys,
                const char *const *values, size_t count)
{
    if (self->format == MAEKINSH_OUT_JSON) {
        json_object *object = json_object_new_object ();
        for (size_t i = 0; i < count; i++)
            json_object_object_add (object, keys[i], s_record_value (values[i]));
        fprintf (self->out, "%s\n",
                 json_object_to_json_string_ext (object, JSON_C_TO_STRING_PRETTY |
                                                             JSON_C_TO_STRING_SPACED |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put (object);
        return;
    }
    xmlDocPtr doc = xmlNewDoc (BAD_CAST "1.0");
    xmlNodePtr node = xmlNewNode (NULL, BAD_CAST root);
    xmlDocSetRootElement (doc, node);
    for (size_t i = 0; i < count; i++) {
        char *clean = mk_codec_text (values[i], MK_CODEC_XML);
        xmlNewTextChild (node, NULL, BAD_CAST keys[i], BAD_CAST clean);
        free (clean);
    }
    xmlChar *text = NULL;
    int size = 0;
    xmlDocDumpFormatMemoryEnc (doc, &text, &size, "UTF-8", 1);
    if (!text)
        abort (); //  libxml2 fails here only when out of memory
    fwrite (text, 1, (size_t)size, self->out);
    xmlFree (text);
    xmlFreeDoc (doc);
}

//  -------------------------------------------------------------------- the class

maekinsh_out_t *
maekinsh_out_new (maekinsh_out_format_t format, FILE *out, FILE *err)
{
    assert (out && err);
    maekinsh_out_t *self = (maekinsh_out_t *)zmalloc (sizeof (maekinsh_out_t));
    self->format = format;
    self->out = out;
    self->err = err;
    return self;
}

static void
s_forget (maekinsh_out_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        mk_msg_free (&self->replies[i]);
    self->count = 0;
}

void
maekinsh_out_destroy (maekinsh_out_t **self_p)
{
    assert (self_p);
    maekinsh_out_t *self = *self_p;
    if (self) {
        s_forget (self);
        free (self->replies);
        free (self);
        *self_p = NULL;
    }
}

int
maekinsh_out_format_parse (const char *name)
{
    if (streq (name, "table"))
        return MAEKINSH_OUT_TABLE;
    if (streq (name, "json"))
        return MAEKINSH_OUT_JSON;
    if (streq (name, "xml"))
        return MAEKINSH_OUT_XML;
    return -1;
}

void
maekinsh_out_add (maekinsh_out_t *self, Maekin__Envelope **reply_p)
{
    assert (reply_p && *reply_p);
    if (self->count == self->room) {
        self->room = self->room ? self->room * 2 : 4;
        self->replies = (Maekin__Envelope **)realloc (
            self->replies, self->room * sizeof (Maekin__Envelope *));
        if (!self->replies)
            abort ();
    }
    self->replies[self->count++] = *reply_p;
    *reply_p = NULL;
}

//  The message in an envelope's body, or NULL if it has none.
static const ProtobufCMessage *
s_body (const Maekin__Envelope *env)
{
    if (env->body_case == MAEKIN__ENVELOPE__BODY__NOT_SET)
        return NULL;
    const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field (
        &maekin__envelope__descriptor, (unsigned)env->body_case);
    if (!field || field->type != PROTOBUF_C_TYPE_MESSAGE)
        return NULL;
    return *(const ProtobufCMessage *const *)s_member (&env->base, field);
}

//  What a reply carries: its first message field (vms in a VmListReply, vm in a
//  VmShowReply); NULL if it carries none.
static const ProtobufCFieldDescriptor *
s_payload (const ProtobufCMessage *body)
{
    for (unsigned i = 0; body && i < body->descriptor->n_fields; i++)
        if (body->descriptor->fields[i].type == PROTOBUF_C_TYPE_MESSAGE)
            return &body->descriptor->fields[i];
    return NULL;
}

static const table_t *
s_table (const ProtobufCMessageDescriptor *item)
{
    for (size_t i = 0; i < sizeof s_tables / sizeof s_tables[0]; i++)
        if (s_tables[i].item == item)
            return &s_tables[i];
    return NULL;
}

//  Rows under a header, each column as wide as its widest cell, two spaces apart.
static void
s_print_table (FILE *file, const table_t *table, const ProtobufCMessage **items,
               size_t count)
{
    size_t cols = 0;
    while (cols < COLS_MAX && table->cols[cols].header)
        cols++;
    char **cells = (char **)zmalloc ((count + 1) * cols * sizeof (char *));
    size_t width[COLS_MAX] = {0};
    for (size_t c = 0; c < cols; c++) {
        cells[c] = strdup (table->cols[c].header);
        width[c] = s_width (cells[c]);
    }
    for (size_t r = 0; r < count; r++)
        for (size_t c = 0; c < cols; c++) {
            char *cell = s_cell (items[r], &table->cols[c]);
            cells[(r + 1) * cols + c] = cell;
            if (s_width (cell) > width[c])
                width[c] = s_width (cell);
        }
    for (size_t r = 0; r <= count; r++) {
        for (size_t c = 0; c < cols; c++) {
            const char *cell = cells[r * cols + c];
            fputs (cell, file);
            if (c + 1 < cols)
                fprintf (file, "%*s", (int)(width[c] - s_width (cell) + 2), "");
            free (cells[r * cols + c]);
        }
        fputc ('\n', file);
    }
    free (cells);
}

//  The pages kept, as one list: a table, or one reply of the list's type holding every
//  page's items, its other fields (the cursor, EventsSinceReply.last) from the last page.
static void
s_print_list (maekinsh_out_t *self, const ProtobufCMessageDescriptor *page,
              const ProtobufCFieldDescriptor *payload)
{
    size_t count = 0;
    for (size_t i = 0; i < self->count; i++) {
        const ProtobufCMessage *body = s_body (self->replies[i]);
        if (body && body->descriptor == page)
            count += s_repeated_count (body, payload);
    }
    const ProtobufCMessage **items =
        (const ProtobufCMessage **)zmalloc ((count + 1) * sizeof (ProtobufCMessage *));
    size_t at = 0;
    const ProtobufCMessage *last = NULL;
    for (size_t i = 0; i < self->count; i++) {
        const ProtobufCMessage *body = s_body (self->replies[i]);
        if (!body || body->descriptor != page)
            continue;
        last = body;
        for (size_t j = 0; j < s_repeated_count (body, payload); j++)
            items[at++] = *(const ProtobufCMessage *const *)s_element (body, payload, j);
    }
    if (self->format == MAEKINSH_OUT_TABLE) {
        const table_t *table =
            s_table ((const ProtobufCMessageDescriptor *)payload->descriptor);
        if (count == 0)
            fprintf (self->out, "no %s\n", payload->name);
        else if (table)
            s_print_table (self->out, table, items, count);
        else
            for (size_t i = 0; i < count; i++) {
                fputs (i ? "\n" : "", self->out);
                s_lines_message (self->out, items[i], "");
            }
    } else {
        //  A shallow copy of the last page, borrowing everything, with all the items.
        ProtobufCMessage *merged = (ProtobufCMessage *)zmalloc (page->sizeof_message);
        memcpy (merged, last, page->sizeof_message);
        *(size_t *)((char *)merged + payload->quantifier_offset) = count;
        *(const ProtobufCMessage ***)((char *)merged + payload->offset) = items;
        s_print_document (self, merged);
        free (merged);
    }
    free (items);
}

//  One object: `key: value` lines, or its document. A create reply tells people what was
//  created rather than all of it.
static void
s_print_object (maekinsh_out_t *self, const char *name, const ProtobufCMessage *msg,
                bool created)
{
    if (self->format == MAEKINSH_OUT_TABLE) {
        const ProtobufCFieldDescriptor *field =
            msg ? protobuf_c_message_descriptor_get_field_by_name (msg->descriptor,
                                                                   "name")
                : NULL;
        if (created && field && field->type == PROTOBUF_C_TYPE_STRING) {
            char *text = s_term_text (*(char *const *)s_member (msg, field));
            fprintf (self->out, "created: %s %s\n", name, text);
            free (text);
        } else if (msg)
            s_lines_message (self->out, msg, "");
    } else if (msg)
        s_print_document (self, msg);
    else if (self->format == MAEKINSH_OUT_JSON)
        fputs ("null\n", self->out); //  a reply without its object
    else
        s_print_record (self, name, NULL, NULL, 0);
}

int
maekinsh_out_flush (maekinsh_out_t *self)
{
    if (self->count > 0) {
        const Maekin__Envelope *first = self->replies[0];
        const ProtobufCMessage *body = s_body (first);
        const ProtobufCFieldDescriptor *payload = s_payload (body);
        if (payload && payload->label == PROTOBUF_C_LABEL_REPEATED)
            s_print_list (self, body->descriptor, payload);
        else if (payload) {
            bool created = strstr (mk_msg_body_name (first), "_create_reply") != NULL;
            s_print_object (
                self, payload->name,
                *(const ProtobufCMessage *const *)s_member (body, payload), created);
        }
        s_forget (self);
    }
    return fflush (self->out) == 0 && !ferror (self->out) ? 0 : -1;
}

void
maekinsh_out_accepted (maekinsh_out_t *self, Maekin__VmOp op, const char *vm,
                       const Maekin__TaskAccepted *accepted, bool waiting)
{
    if (self->format == MAEKINSH_OUT_TABLE) {
        const Maekin__Vm *known = accepted->vm;
        char *label =
            s_task_label (accepted->task_id, op, known && *known->name ? known->name : vm,
                          known ? known->host : NULL, true);
        fprintf (self->out, "accepted: %s\n", label);
        free (label);
    } else if (!waiting)
        s_print_document (self, &accepted->base);
}

void
maekinsh_out_deleted (maekinsh_out_t *self, const char *kind, const char *name)
{
    if (self->format == MAEKINSH_OUT_TABLE) {
        char *text = s_term_text (name);
        fprintf (self->out, "deleted: %s %s\n", kind, text);
        free (text);
    } else {
        const char *keys[] = {"kind", "name", "deleted"};
        const char *values[] = {kind, name, "true"};
        s_print_record (self, "deleted", keys, values, 3);
    }
}

void
maekinsh_out_record (maekinsh_out_t *self, const char *root, const char *const *keys,
                     const char *const *values, size_t count)
{
    if (self->format == MAEKINSH_OUT_TABLE) {
        for (size_t i = 0; i < count; i++) {
            char *text = s_term_text (values[i]);
            fprintf (self->out, "%-10s %s\n", keys[i], text);
            free (text);
        }
    } else
        s_print_record (self, root, keys, values, count);
}

void
maekinsh_out_progress (maekinsh_out_t *self, const Maekin__Task *task)
{
    char *label = s_task_label (task->id, task->op, task->vm, task->host, false);
    char *state = s_term_text (task->state);
    fprintf (self->err, "%s: %s\n", label, state);
    fflush (self->err);
    free (label);
    free (state);
}

void
maekinsh_out_task_end (maekinsh_out_t *self, const Maekin__Task *task,
                       const Maekin__Vm *vm, int gave_up_s)
{
    bool done = gave_up_s == 0 && streq (task->state, "done");
    if (self->format != MAEKINSH_OUT_TABLE)
        s_print_document (self, &task->base);
    else if (done) {
        char *label = s_task_label (task->id, task->op, task->vm, task->host, false);
        if (vm && *vm->state) {
            char *state = s_term_text (vm->state);
            char *host = s_term_text (vm->host);
            fprintf (self->out, "done: %s: %s%s%s\n", label, state, *host ? " on " : "",
                     host);
            free (state);
            free (host);
        } else
            fprintf (self->out, "done: %s\n", label);
        free (label);
    }
    if (done)
        return;
    char *label = s_task_label (task->id, task->op, task->vm, task->host, true);
    char *state = s_term_text (task->state);
    char *error = s_term_text (task->error);
    if (gave_up_s)
        fprintf (self->err,
                 "maekinsh: %s is still %s after %d s; it goes on: follow it with "
                 "`maekinsh task wait %" PRIu64 "`\n",
                 label, state, gave_up_s, task->id);
    else if (streq (task->state, "failed"))
        fprintf (self->err, "maekinsh: %s failed: %s\n", label,
                 *error ? error : "the cloud gave no reason");
    else if (streq (task->state, "cancelled"))
        fprintf (self->err, "maekinsh: %s was cancelled%s%s\n", label, *error ? ": " : "",
                 error);
    else
        fprintf (self->err, "maekinsh: %s ended as '%s'\n", label, state);
    fflush (self->err);
    free (label);
    free (state);
    free (error);
}

void
maekinsh_out_error (maekinsh_out_t *self, int status, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *reason = zsys_vprintf (format, args);
    va_end (args);
    if (!reason)
        abort ();
    char *clean = s_term_text (reason);
    fprintf (self->err, "maekinsh: %s\n", clean);
    fflush (self->err);
    free (clean);
    if (self->format != MAEKINSH_OUT_TABLE) {
        char number[16];
        snprintf (number, sizeof number, "%d", status);
        const char *keys[] = {"status", "reason"};
        const char *values[] = {number, reason};
        s_print_record (self, "error", keys, values, 2);
    }
    free (reason);
}

//  --------------------------------------------------------------------- self-test

//  A heap copy of an envelope built on the stack, as if it had come over the bus.
static Maekin__Envelope *
s_test_heap (Maekin__Envelope *env)
{
    zframe_t *frame = mk_msg_pack (env);
    const char *why;
    Maekin__Envelope *copy =
        mk_msg_unpack (zframe_data (frame), zframe_size (frame), &why);
    assert (copy);
    zframe_destroy (&frame);
    return copy;
}

//  An output class writing into memory.
typedef struct {
    char *out_text;
    char *err_text;
    size_t out_size;
    size_t err_size;
    FILE *out;
    FILE *err;
    maekinsh_out_t *self;
} capture_t;

static void
s_capture_open (capture_t *capture, maekinsh_out_format_t format)
{
    memset (capture, 0, sizeof *capture);
    capture->out = open_memstream (&capture->out_text, &capture->out_size);
    capture->err = open_memstream (&capture->err_text, &capture->err_size);
    assert (capture->out && capture->err);
    capture->self = maekinsh_out_new (format, capture->out, capture->err);
}

//  Ends the capture; out_text and err_text stay until s_capture_free.
static void
s_capture_close (capture_t *capture)
{
    maekinsh_out_destroy (&capture->self);
    fclose (capture->out);
    fclose (capture->err);
}

static void
s_capture_free (capture_t *capture)
{
    free (capture->out_text);
    free (capture->err_text);
}

//  Python's own JSON parser reads the text (strictly, as UTF-8) and prints
//  json.dumps (eval (expr)) where d is the document: a new string, or NULL if the text
//  is not JSON.
static char *
s_test_python (const char *json, const char *expr)
{
    char path[] = "/tmp/maekinsh_out_test.XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    assert (write (fd, json, strlen (json)) == (ssize_t)strlen (json));
    close (fd);
    setenv ("MK_TEST_EXPR", expr, 1);
    char command[512];
    snprintf (command, sizeof command,
              "python3 -c 'import json, os, sys; "
              "d = json.load (open (sys.argv[1], encoding=\"utf-8\")); "
              "print (json.dumps (eval (os.environ[\"MK_TEST_EXPR\"])))' %s 2>&1",
              path);
    FILE *pipe = popen (command, "r");
    assert (pipe);
    char line[1024] = "";
    char *got = fgets (line, sizeof line, pipe);
    int status = pclose (pipe);
    unlink (path);
    unsetenv ("MK_TEST_EXPR");
    if (!got || status != 0) {
        fprintf (stderr, "maekinsh_out_test: python3 says: %s", line);
        return NULL;
    }
    line[strcspn (line, "\n")] = 0;
    return strdup (line);
}

static void
s_test_json_is (const char *json, const char *expr, const char *expect)
{
    char *got = s_test_python (json, expr);
    if (!got || !streq (got, expect))
        fprintf (stderr, "maekinsh_out_test: %s gave %s, not %s in:\n%s\n", expr,
                 got ? got : "(no JSON)", expect, json);
    assert (got && streq (got, expect));
    free (got);
}

//  The text of the first element called `name` under the root, found by libxml2 after it
//  parsed the document back (a new string), or NULL.
static char *
s_test_xml (const char *xml, const char *root_name, const char *path)
{
    xmlDocPtr doc =
        xmlReadMemory (xml, (int)strlen (xml), "out.xml", "UTF-8",
                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return NULL;
    xmlNodePtr node = xmlDocGetRootElement (doc);
    char *result = NULL;
    if (node && streq ((const char *)node->name, root_name)) {
        //  path: element names separated by '/', each the first child of that name.
        char *copy = strdup (path);
        char *rest = copy;
        char *step;
        while (node && (step = strsep (&rest, "/")) && *step) {
            xmlNodePtr child = node->children;
            while (child && !(child->type == XML_ELEMENT_NODE &&
                              streq ((const char *)child->name, step)))
                child = child->next;
            node = child;
        }
        free (copy);
        if (node) {
            xmlChar *text = xmlNodeGetContent (node);
            result = strdup ((const char *)text);
            xmlFree (text);
        }
    }
    xmlFreeDoc (doc);
    return result;
}

static void
s_test_xml_is (const char *xml, const char *root, const char *path, const char *expect)
{
    char *got = s_test_xml (xml, root, path);
    if (!got || !streq (got, expect))
        fprintf (stderr, "maekinsh_out_test: <%s>/%s is '%s', not '%s' in:\n%s\n", root,
                 path, got ? got : "(none)", expect, xml);
    assert (got && streq (got, expect));
    free (got);
}

//  Prints a reply in a format: what came out on out (a new string), err into *err_p.
static char *
s_test_print (maekinsh_out_format_t format, Maekin__Envelope **pages, size_t count,
              char **err_p)
{
    capture_t capture;
    s_capture_open (&capture, format);
    for (size_t i = 0; i < count; i++) {
        Maekin__Envelope *copy = s_test_heap (pages[i]);
        maekinsh_out_add (capture.self, &copy);
        assert (copy == NULL);
    }
    assert (maekinsh_out_flush (capture.self) == 0);
    s_capture_close (&capture);
    if (err_p)
        *err_p = capture.err_text;
    else {
        assert (capture.err_size == 0);
        free (capture.err_text);
    }
    return capture.out_text;
}

static void
s_test_expect (const char *what, const char *got, const char *expect)
{
    if (!streq (got, expect))
        fprintf (stderr, "maekinsh_out_test: %s:\n--- got\n%s--- expected\n%s", what, got,
                 expect);
    assert (streq (got, expect));
}

void
maekinsh_out_test (bool verbose)
{
    //  Times are shown in local time: make it the same everywhere.
    char *saved_tz = getenv ("TZ") ? strdup (getenv ("TZ")) : NULL;
    setenv ("TZ", "UTC", 1);
    tzset ();

    assert (maekinsh_out_format_parse ("json") == MAEKINSH_OUT_JSON);
    assert (maekinsh_out_format_parse ("xml") == MAEKINSH_OUT_XML);
    assert (maekinsh_out_format_parse ("table") == MAEKINSH_OUT_TABLE);
    assert (maekinsh_out_format_parse ("yaml") == -1);
    char name[32];
    assert (streq (maekinsh_out_enum (&maekin__vm_op__descriptor,
                                      MAEKIN__VM_OP__VM_OP_CREATE, name, sizeof name),
                   "create"));
    assert (streq (maekinsh_out_enum (&maekin__vm_op__descriptor, 99, name, sizeof name),
                   "99"));
    assert (maekinsh_out_plain ("/var/lib/maekin/é.img"));
    assert (!maekinsh_out_plain ("a\nb") && !maekinsh_out_plain ("\xff") &&
            !maekinsh_out_plain ("\xc0\xaf") && !maekinsh_out_plain ("\xc2\x9b"));

    //  A VM list in two pages makes one table, one array, one <vms>.
    Maekin__Vm vms[3];
    const char *vm_names[] = {"web-1", "db-1", "web-2"};
    const char *vm_states[] = {"running", "stopped", "running"};
    const char *vm_hosts[] = {"node1", "", "node2"};
    const char *vm_templates[] = {"small", "tiny", "big"};
    uint32_t vm_vcpus[] = {2, 1, 4};
    uint64_t vm_memory[] = {2048, 512, 1536};
    for (int i = 0; i < 3; i++) {
        maekin__vm__init (&vms[i]);
        vms[i].name = (char *)vm_names[i];
        vms[i].uuid = "6f1c2a4e-0d1b-4a55-9a63-0c3f3e1f9a01";
        vms[i].state = (char *)vm_states[i];
        vms[i].host = (char *)vm_hosts[i];
        vms[i].template_ = (char *)vm_templates[i];
        vms[i].vcpus = vm_vcpus[i];
        vms[i].memory_mb = vm_memory[i];
        vms[i].created = 1700000000;
        vms[i].last_task = (uint64_t)i + 1;
    }
    Maekin__Vm *page1_vms[] = {&vms[0], &vms[1]};
    Maekin__Vm *page2_vms[] = {&vms[2]};
    Maekin__VmListReply page1 = MAEKIN__VM_LIST_REPLY__INIT;
    page1.n_vms = 2;
    page1.vms = page1_vms;
    page1.next = "db-1";
    Maekin__VmListReply page2 = MAEKIN__VM_LIST_REPLY__INIT;
    page2.n_vms = 1;
    page2.vms = page2_vms;
    Maekin__Envelope vm_pages[2];
    for (int i = 0; i < 2; i++) {
        maekin__envelope__init (&vm_pages[i]);
        vm_pages[i].status = 200;
        vm_pages[i].body_case = MAEKIN__ENVELOPE__BODY_VM_LIST_REPLY;
    }
    vm_pages[0].vm_list_reply = &page1;
    vm_pages[1].vm_list_reply = &page2;
    Maekin__Envelope *vm_list[] = {&vm_pages[0], &vm_pages[1]};

    char *text = s_test_print (MAEKINSH_OUT_TABLE, vm_list, 2, NULL);
    s_test_expect ("vm list table", text,
                   "NAME   STATE    HOST   VCPUS  MEMORY  TEMPLATE\n"
                   "web-1  running  node1  2      2G      small\n"
                   "db-1   stopped  -      1      512M    tiny\n"
                   "web-2  running  node2  4      1.5G    big\n");
    if (verbose)
        printf ("%s", text);
    free (text);
    text = s_test_print (MAEKINSH_OUT_JSON, vm_list, 2, NULL);
    //  The reply of the list's type, with every page's items and the last page's cursor.
    s_test_json_is (text, "(len (d['vms']), d['next'], len (d))", "[3, \"\", 2]");
    s_test_json_is (text, "d['vms'][2]",
                    "{\"name\": \"web-2\", \"uuid\": "
                    "\"6f1c2a4e-0d1b-4a55-9a63-0c3f3e1f9a01\", \"template\": \"big\", "
                    "\"host\": \"node2\", \"state\": \"running\", \"vcpus\": 4, "
                    "\"memory_mb\": 1536, \"created\": 1700000000, \"last_task\": 3, "
                    "\"mac\": \"\"}");
    if (verbose)
        printf ("%s", text);
    free (text);
    text = s_test_print (MAEKINSH_OUT_XML, vm_list, 2, NULL);
    s_test_xml_is (text, "VmListReply", "vms/name", "web-1");
    s_test_xml_is (text, "VmListReply", "vms/memory_mb", "2048");
    s_test_xml_is (text, "VmListReply", "vms/template", "small");
    s_test_xml_is (text, "VmListReply", "next", "");
    xmlDocPtr doc = xmlReadMemory (text, (int)strlen (text), NULL, NULL, 0);
    assert (doc && xmlChildElementCount (xmlDocGetRootElement (doc)) == 4);
    xmlFreeDoc (doc);
    if (verbose)
        printf ("%s", text);
    free (text);

    //  An empty list.
    Maekin__VmListReply none = MAEKIN__VM_LIST_REPLY__INIT;
    Maekin__Envelope none_env = MAEKIN__ENVELOPE__INIT;
    none_env.body_case = MAEKIN__ENVELOPE__BODY_VM_LIST_REPLY;
    none_env.vm_list_reply = &none;
    Maekin__Envelope *empty[] = {&none_env};
    text = s_test_print (MAEKINSH_OUT_TABLE, empty, 1, NULL);
    s_test_expect ("empty table", text, "no vms\n");
    free (text);
    text = s_test_print (MAEKINSH_OUT_JSON, empty, 1, NULL);
    s_test_expect ("empty json", text, "{\n  \"vms\": [\n  ],\n  \"next\": \"\"\n}\n");
    free (text);
    text = s_test_print (MAEKINSH_OUT_XML, empty, 1, NULL);
    s_test_expect ("empty xml", text,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VmListReply>\n"
                   "  <next></next>\n</VmListReply>\n");
    free (text);

    //  A task whose error holds quotes, a backslash, a newline, a control character and
    //  characters beyond ASCII.
    Maekin__Task task = MAEKIN__TASK__INIT;
    task.id = 12;
    task.vm = "web-1";
    task.host = "node1";
    task.op = MAEKIN__VM_OP__VM_OP_CREATE;
    task.state = "failed";
    task.error = "disk \"vda\": a\\b\nline 2\x01 \xc3\xa9 \xe2\x9c\x93";
    task.created = 1700000000;
    task.updated = 1700000060;
    task.attempts = 1;
    Maekin__TaskShowReply task_show = MAEKIN__TASK_SHOW_REPLY__INIT;
    task_show.task = &task;
    Maekin__Envelope task_env = MAEKIN__ENVELOPE__INIT;
    task_env.body_case = MAEKIN__ENVELOPE__BODY_TASK_SHOW_REPLY;
    task_env.task_show_reply = &task_show;
    Maekin__Envelope *task_reply[] = {&task_env};
    text = s_test_print (MAEKINSH_OUT_TABLE, task_reply, 1, NULL);
    s_test_expect ("task lines", text,
                   "id: 12\nvm: web-1\nhost: node1\nop: create\nstate: failed\n"
                   "error: disk \"vda\": a\\b\\nline 2\\x01 \xc3\xa9 \xe2\x9c\x93\n"
                   "created: 2023-11-14 22:13:20\nupdated: 2023-11-14 22:14:20\n"
                   "attempts: 1\n");
    free (text);
    text = s_test_print (MAEKINSH_OUT_JSON, task_reply, 1, NULL);
    s_test_expect ("task json", text,
                   "{\n  \"id\": 12,\n  \"vm\": \"web-1\",\n  \"host\": \"node1\",\n"
                   "  \"op\": \"VM_OP_CREATE\",\n  \"state\": \"failed\",\n"
                   "  \"error\": \"disk \\\"vda\\\": a\\\\b\\nline 2\\u0001 \xc3\xa9 "
                   "\xe2\x9c\x93\",\n"
                   "  \"created\": 1700000000,\n  \"updated\": 1700000060,\n"
                   "  \"attempts\": 1\n}\n");
    s_test_json_is (text, "d['error']",
                    "\"disk \\\"vda\\\": a\\\\b\\nline 2\\u0001 \\u00e9 \\u2713\"");
    free (text);
    text = s_test_print (MAEKINSH_OUT_XML, task_reply, 1, NULL);
    s_test_xml_is (text, "Task", "op", "VM_OP_CREATE");
    //  XML cannot hold U+0001 in any form: it is replaced, the rest kept.
    s_test_xml_is (text, "Task", "error",
                   "disk \"vda\": a\\b\nline 2\xef\xbf\xbd \xc3\xa9 \xe2\x9c\x93");
    if (verbose)
        printf ("%s", text);
    free (text);

    //  Bytes that are not UTF-8 never reach a document as they are.
    task.error = "bad \xff\xc0\xaf byte";
    text = s_test_print (MAEKINSH_OUT_JSON, task_reply, 1, NULL);
    s_test_json_is (text, "d['error']", "\"bad \\ufffd\\ufffd\\ufffd byte\"");
    free (text);
    text = s_test_print (MAEKINSH_OUT_XML, task_reply, 1, NULL);
    s_test_xml_is (text, "Task", "error",
                   "bad \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd byte");
    free (text);
    text = s_test_print (MAEKINSH_OUT_TABLE, task_reply, 1, NULL);
    assert (strstr (text, "error: bad \\xff\\xc0\\xaf byte\n"));
    free (text);
    task.error = "disk \"vda\": a\\b\nline 2\x01 \xc3\xa9 \xe2\x9c\x93";

    //  A task list.
    Maekin__Task task2 = task;
    task2.id = 13;
    task2.op = MAEKIN__VM_OP__VM_OP_START;
    task2.state = "queued";
    task2.host = "";
    task2.error = "";
    task2.updated = 1700000120;
    Maekin__Task *tasks[] = {&task2, &task};
    Maekin__TaskListReply task_list = MAEKIN__TASK_LIST_REPLY__INIT;
    task_list.n_tasks = 2;
    task_list.tasks = tasks;
    Maekin__Envelope task_list_env = MAEKIN__ENVELOPE__INIT;
    task_list_env.body_case = MAEKIN__ENVELOPE__BODY_TASK_LIST_REPLY;
    task_list_env.task_list_reply = &task_list;
    Maekin__Envelope *task_pages[] = {&task_list_env};
    text = s_test_print (MAEKINSH_OUT_TABLE, task_pages, 1, NULL);
    s_test_expect ("task table", text,
                   "ID  STATE   OP      VM     HOST   UPDATED              ERROR\n"
                   "13  queued  start   web-1  -      2023-11-14 22:15:20  -\n"
                   "12  failed  create  web-1  node1  2023-11-14 22:14:20  disk \"vda\": "
                   "a\\b\\nline 2\\x01 \xc3\xa9 \xe2\x9c\x93\n");
    free (text);

    //  A host list.
    Maekin__Host hosts[2];
    for (int i = 0; i < 2; i++)
        maekin__host__init (&hosts[i]);
    hosts[0].name = "node1";
    hosts[0].state = "up";
    hosts[0].vcpus = 8;
    hosts[0].memory_mb = 16384;
    hosts[0].vcpus_used = 3;
    hosts[0].memory_mb_used = 2560;
    hosts[0].vm_count = 2;
    hosts[0].last_seen = 1700000000;
    hosts[0].uri = "test:///var/maekin/node1.xml";
    hosts[1].name = "node2";
    hosts[1].state = "down";
    hosts[1].vcpus = 4;
    hosts[1].memory_mb = 8192;
    Maekin__Host *host_items[] = {&hosts[0], &hosts[1]};
    Maekin__HostListReply host_list = MAEKIN__HOST_LIST_REPLY__INIT;
    host_list.n_hosts = 2;
    host_list.hosts = host_items;
    Maekin__Envelope host_env = MAEKIN__ENVELOPE__INIT;
    host_env.body_case = MAEKIN__ENVELOPE__BODY_HOST_LIST_REPLY;
    host_env.host_list_reply = &host_list;
    Maekin__Envelope *host_pages[] = {&host_env};
    text = s_test_print (MAEKINSH_OUT_TABLE, host_pages, 1, NULL);
    s_test_expect ("host table", text,
                   "NAME   STATE  VCPUS  USED  MEMORY  USED  VMS\n"
                   "node1  up     8      3     16G     2.5G  2\n"
                   "node2  down   4      0     8G      0M    0\n");
    free (text);
    text = s_test_print (MAEKINSH_OUT_JSON, host_pages, 1, NULL);
    s_test_json_is (text, "[h['name'] for h in d['hosts']]", "[\"node1\", \"node2\"]");
    s_test_json_is (text, "d['hosts'][0]['memory_mb_used']", "2560");
    s_test_json_is (text, "d['hosts'][0]['uri']", "\"test:///var/maekin/node1.xml\"");
    free (text);
    text = s_test_print (MAEKINSH_OUT_XML, host_pages, 1, NULL);
    s_test_xml_is (text, "HostListReply", "hosts/vcpus_used", "3");
    s_test_xml_is (text, "HostListReply", "hosts/last_seen", "1700000000");
    free (text);

    //  A template: created, shown, listed.
    Maekin__Template tiny = MAEKIN__TEMPLATE__INIT;
    tiny.name = "tiny";
    tiny.vcpus = 1;
    tiny.memory_mb = 64;
    tiny.os_type = "linux";
    tiny.kernel = "/boot/vmlinuz";
    tiny.initrd = "/boot/initrd.img";
    tiny.cmdline = "console=ttyS0 quiet";
    tiny.created = 1700000000;
    Maekin__TemplateCreateReply created = MAEKIN__TEMPLATE_CREATE_REPLY__INIT;
    created.template_ = &tiny;
    Maekin__Envelope created_env = MAEKIN__ENVELOPE__INIT;
    created_env.body_case = MAEKIN__ENVELOPE__BODY_TEMPLATE_CREATE_REPLY;
    created_env.template_create_reply = &created;
    Maekin__Envelope *created_reply[] = {&created_env};
    text = s_test_print (MAEKINSH_OUT_TABLE, created_reply, 1, NULL);
    s_test_expect ("template created", text, "created: template tiny\n");
    free (text);
    Maekin__TemplateShowReply shown = MAEKIN__TEMPLATE_SHOW_REPLY__INIT;
    shown.template_ = &tiny;
    Maekin__Envelope shown_env = MAEKIN__ENVELOPE__INIT;
    shown_env.body_case = MAEKIN__ENVELOPE__BODY_TEMPLATE_SHOW_REPLY;
    shown_env.template_show_reply = &shown;
    Maekin__Envelope *shown_reply[] = {&shown_env};
    text = s_test_print (MAEKINSH_OUT_TABLE, shown_reply, 1, NULL);
    s_test_expect ("template lines", text,
                   "name: tiny\nvcpus: 1\nmemory_mb: 64\ndisk_gb: 0\nimage: \n"
                   "os_type: linux\nnetwork: \nkernel: /boot/vmlinuz\n"
                   "initrd: /boot/initrd.img\ncmdline: console=ttyS0 quiet\n"
                   "created: 2023-11-14 22:13:20\n");
    free (text);
    text = s_test_print (MAEKINSH_OUT_JSON, shown_reply, 1, NULL);
    s_test_json_is (text,
                    "(d['name'], d['memory_mb'], d['cmdline'], d['template'] "
                    "if 'template' in d else None)",
                    "[\"tiny\", 64, \"console=ttyS0 quiet\", null]");
    free (text);
    text = s_test_print (MAEKINSH_OUT_XML, shown_reply, 1, NULL);
    s_test_xml_is (text, "Template", "kernel", "/boot/vmlinuz");
    s_test_xml_is (text, "Template", "image", "");
    free (text);
    Maekin__Template *templates[] = {&tiny};
    Maekin__TemplateListReply template_list = MAEKIN__TEMPLATE_LIST_REPLY__INIT;
    template_list.n_templates = 1;
    template_list.templates = templates;
    Maekin__Envelope template_env = MAEKIN__ENVELOPE__INIT;
    template_env.body_case = MAEKIN__ENVELOPE__BODY_TEMPLATE_LIST_REPLY;
    template_env.template_list_reply = &template_list;
    Maekin__Envelope *template_pages[] = {&template_env};
    text = s_test_print (MAEKINSH_OUT_TABLE, template_pages, 1, NULL);
    s_test_expect ("template table", text,
                   "NAME  VCPUS  MEMORY  DISK  IMAGE  OS     NETWORK\n"
                   "tiny  1      64M     -     -      linux  -\n");
    free (text);
    text = s_test_print (MAEKINSH_OUT_XML, template_pages, 1, NULL);
    s_test_xml_is (text, "TemplateListReply", "templates/os_type", "linux");
    free (text);

    //  Events.
    Maekin__Event event = MAEKIN__EVENT__INIT;
    event.stream = "event.vm";
    event.seq = 7;
    event.time_us = 1700000000123456;
    event.subject = "web-1";
    event.state = "running";
    event.task_id = 12;
    Maekin__Event *events[] = {&event};
    Maekin__EventsSinceReply since = MAEKIN__EVENTS_SINCE_REPLY__INIT;
    since.n_events = 1;
    since.events = events;
    since.last = 7;
    Maekin__Envelope since_env = MAEKIN__ENVELOPE__INIT;
    since_env.body_case = MAEKIN__ENVELOPE__BODY_EVENTS_SINCE_REPLY;
    since_env.events_since_reply = &since;
    Maekin__Envelope *since_pages[] = {&since_env};
    text = s_test_print (MAEKINSH_OUT_TABLE, since_pages, 1, NULL);
    s_test_expect ("event table", text,
                   "SEQ  TIME                 SUBJECT  STATE    TASK  DETAIL\n"
                   "7    2023-11-14 22:13:20  web-1    running  12    -\n");
    free (text);
    text = s_test_print (MAEKINSH_OUT_JSON, since_pages, 1, NULL);
    s_test_json_is (text, "(d['events'][0]['time_us'], d['last'])", "[1700000000123456, 7]");
    free (text);

    //  An error: one line on err; a document too for programs.
    capture_t capture;
    maekinsh_out_format_t formats[] = {MAEKINSH_OUT_TABLE, MAEKINSH_OUT_JSON,
                                       MAEKINSH_OUT_XML};
    for (int i = 0; i < 3; i++) {
        s_capture_open (&capture, formats[i]);
        maekinsh_out_error (capture.self, 404, "no vm '%s'\n(in \"%s\")", "ghost",
                            "vi\x1b[2J");
        s_capture_close (&capture);
        s_test_expect ("error line", capture.err_text,
                       "maekinsh: no vm 'ghost'\\n(in \"vi\\x1b[2J\")\n");
        if (formats[i] == MAEKINSH_OUT_TABLE)
            assert (capture.out_size == 0);
        else if (formats[i] == MAEKINSH_OUT_JSON) {
            s_test_json_is (capture.out_text, "d['status']", "404");
            s_test_json_is (capture.out_text, "d['reason']",
                            "\"no vm 'ghost'\\n(in \\\"vi\\u001b[2J\\\")\"");
        } else {
            s_test_xml_is (capture.out_text, "error", "status", "404");
            s_test_xml_is (capture.out_text, "error", "reason",
                           "no vm 'ghost'\n(in \"vi\xef\xbf\xbd[2J\")");
        }
        s_capture_free (&capture);
    }

    //  Accepted, progress, the end of a wait, a deletion.
    Maekin__Vm placed = vms[0];
    placed.state = "creating";
    Maekin__TaskAccepted accepted = MAEKIN__TASK_ACCEPTED__INIT;
    accepted.task_id = 12;
    accepted.vm = &placed;
    s_capture_open (&capture, MAEKINSH_OUT_TABLE);
    maekinsh_out_accepted (capture.self, MAEKIN__VM_OP__VM_OP_CREATE, "web-1", &accepted,
                           false);
    accepted.vm = NULL;
    maekinsh_out_accepted (capture.self, MAEKIN__VM_OP__VM_OP_STOP, "web-1", &accepted,
                           true);
    task.state = "dispatched";
    maekinsh_out_progress (capture.self, &task);
    task.state = "done";
    Maekin__Vm running = vms[0];
    maekinsh_out_task_end (capture.self, &task, &running, 0);
    task.op = MAEKIN__VM_OP__VM_OP_DELETE;
    maekinsh_out_task_end (capture.self, &task, NULL, 0);
    task.op = MAEKIN__VM_OP__VM_OP_CREATE;
    task.state = "failed";
    task.error = "libvirt: no space left";
    maekinsh_out_task_end (capture.self, &task, NULL, 0);
    task.state = "running";
    maekinsh_out_task_end (capture.self, &task, NULL, 300);
    maekinsh_out_deleted (capture.self, "template", "tiny");
    assert (maekinsh_out_flush (capture.self) == 0);
    s_capture_close (&capture);
    s_test_expect ("accepted and done", capture.out_text,
                   "accepted: task 12 (create web-1 on node1)\n"
                   "accepted: task 12 (stop web-1)\n"
                   "done: task 12 (create web-1): running on node1\n"
                   "done: task 12 (delete web-1)\n"
                   "deleted: template tiny\n");
    s_test_expect (
        "progress and failures", capture.err_text,
        "task 12 (create web-1): dispatched\n"
        "maekinsh: task 12 (create web-1 on node1) failed: libvirt: no space left\n"
        "maekinsh: task 12 (create web-1 on node1) is still running after 300 s; "
        "it goes on: follow it with `maekinsh task wait 12`\n");
    s_capture_free (&capture);

    accepted.vm = &placed;
    s_capture_open (&capture, MAEKINSH_OUT_JSON);
    maekinsh_out_accepted (capture.self, MAEKIN__VM_OP__VM_OP_CREATE, "web-1", &accepted,
                           false);
    s_capture_close (&capture);
    s_test_json_is (capture.out_text, "(d['task_id'], d['vm']['name'], d['vm']['host'])",
                    "[12, \"web-1\", \"node1\"]");
    //  What maekinsh prints for programs, mk_codec reads back as the message it was.
    ProtobufCMessage *read = NULL;
    char *why = NULL;
    assert (mk_codec_read (&maekin__task_accepted__descriptor, MK_CODEC_JSON,
                           capture.out_text, capture.out_size, &read, &why) == 0);
    assert (((Maekin__TaskAccepted *)read)->task_id == 12);
    assert (streq (((Maekin__TaskAccepted *)read)->vm->state, "creating"));
    protobuf_c_message_free_unpacked (read, NULL);
    s_capture_free (&capture);
    s_capture_open (&capture, MAEKINSH_OUT_XML);
    maekinsh_out_accepted (capture.self, MAEKIN__VM_OP__VM_OP_CREATE, "web-1", &accepted,
                           false);
    s_capture_close (&capture);
    s_test_xml_is (capture.out_text, "TaskAccepted", "task_id", "12");
    s_test_xml_is (capture.out_text, "TaskAccepted", "vm/state", "creating");
    s_capture_free (&capture);

    s_capture_open (&capture, MAEKINSH_OUT_JSON);
    maekinsh_out_task_end (capture.self, &task, NULL, 0);
    s_capture_close (&capture);
    s_test_json_is (capture.out_text, "d['state']", "\"running\"");
    assert (strstr (capture.err_text, "ended as 'running'"));
    s_capture_free (&capture);
    s_capture_open (&capture, MAEKINSH_OUT_XML);
    maekinsh_out_deleted (capture.self, "template", "tiny");
    s_capture_close (&capture);
    s_test_xml_is (capture.out_text, "deleted", "name", "tiny");
    s_capture_free (&capture);
    s_capture_open (&capture, MAEKINSH_OUT_JSON);
    maekinsh_out_deleted (capture.self, "template", "tiny");
    s_capture_close (&capture);
    s_test_json_is (capture.out_text, "d", "{\"kind\": \"template\", \"name\": \"tiny\", "
                    "\"deleted\": true}");
    s_capture_free (&capture);

    if (saved_tz)
        setenv ("TZ", saved_tz, 1);
    else
        unsetenv ("TZ");
    tzset ();
    free (saved_tz);
}
