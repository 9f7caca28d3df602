/*  maekinsh_out: what maekinsh prints.

    JSON and XML documents of replies are mk_codec's, the mapping the gateway speaks too,
    so every field appears under its proto name and a field added to the proto appears
    without a change here. Tables pick their columns from the tables below. */
#include "maekinsh_out.h"

#include "mk_codec.h"
#include "mk_msg.h"
#include "mk_utf8.h"

#include <json-c/json.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

struct _maekinsh_out_t {
    maekinsh_out_format_t format;      //  table, json or xml
    FILE *out;                         //  documents and tables, borrowed
    FILE *err;                         //  errors and progress, borrowed
    const maekinsh_out_table_t *table; //  a list's columns for people, or NULL
    Maekin__Envelope **replies;        //  kept until flush, owned
    size_t count;                      //  how many are kept
    size_t room;                       //  how many fit
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
    const unsigned char *cursor = (const unsigned char *) text;
    while (*cursor) {
        int size;
        int32_t code = mk_utf8_decode (cursor, &size);
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
    const unsigned char *cursor = (const unsigned char *) text;
    while (*cursor) {
        int size;
        int32_t code = mk_utf8_decode (cursor, &size);
        if (code == '\n')
            fputs ("\\n", buf.file);
        else if (code == '\t')
            fputs ("\\t", buf.file);
        else if (code == '\r')
            fputs ("\\r", buf.file);
        else if (code < 0 || code < 0x20 || code == 0x7f)
            fprintf (buf.file, "\\x%02x", *cursor);
        else if (s_is_control (code))
            fprintf (buf.file, "\\u%04x", (unsigned) code);
        else
            fwrite (cursor, 1, (size_t) size, buf.file);
        cursor += size;
    }
    return s_buf_close (&buf);
}

//  Characters on a terminal (what a column's width counts).
static size_t
s_width (const char *text)
{
    size_t width = 0;
    for (const unsigned char *c = (const unsigned char *) text; *c; c++)
        width += (*c & 0xc0) != 0x80;
    return width;
}

//  ------------------------------------------------------------------- field values

const char *
maekinsh_out_enum (const ProtobufCEnumDescriptor *descriptor, int value, char *buf, size_t size)
{
    const ProtobufCEnumValue *found = protobuf_c_enum_descriptor_get_value (descriptor, value);
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
        *c = (char) tolower ((unsigned char) *c);
    return buf;
}

//  A scalar value as text: a string field's own text, or buf holding the number, bool or
//  enum name. *quoted says whether JSON writes it as a string.
static const char *
s_scalar (const ProtobufCFieldDescriptor *field, const void *value, char *buf, size_t size,
          bool *quoted)
{
    *quoted = false;
    switch (field->type) {
    case PROTOBUF_C_TYPE_STRING:
        *quoted = true;
        return *(char *const *) value ? *(char *const *) value : "";
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        snprintf (buf, size, "%" PRId32, *(const int32_t *) value);
        return buf;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        snprintf (buf, size, "%" PRIu32, *(const uint32_t *) value);
        return buf;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf (buf, size, "%" PRId64, *(const int64_t *) value);
        return buf;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf (buf, size, "%" PRIu64, *(const uint64_t *) value);
        return buf;
    case PROTOBUF_C_TYPE_FLOAT:
        snprintf (buf, size, "%g", (double) *(const float *) value);
        return buf;
    case PROTOBUF_C_TYPE_DOUBLE:
        snprintf (buf, size, "%g", *(const double *) value);
        return buf;
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *) value ? "true" : "false";
    case PROTOBUF_C_TYPE_ENUM:
        *quoted = true;
        return maekinsh_out_enum ((const ProtobufCEnumDescriptor *) field->descriptor,
                                  *(const int *) value, buf, size);
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
    return *(const uint32_t *) ((const char *) msg + field->quantifier_offset) == field->id;
}

static const void *
s_member (const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
    return (const char *) msg + field->offset;
}

static size_t
s_repeated_count (const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
    return *(const size_t *) ((const char *) msg + field->quantifier_offset);
}

//  The i-th element of a repeated field.
static const void *
s_element (const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field, size_t i)
{
    const char *array = *(const char *const *) s_member (msg, field);
    return array + i * mk_codec_value_size (field->type);
}

//  Local time for unix seconds; "-" for 0 (never).
static const char *
s_time (int64_t seconds, char *buf, size_t size)
{
    if (seconds == 0)
        return "-";
    time_t when = (time_t) seconds;
    struct tm tm;
    if (!localtime_r (&when, &tm) || strftime (buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf (buf, size, "%" PRId64, seconds);
    return buf;
}

//  Fields that hold a time, shown as local time to people (as numbers to programs): how
//  many of their units make a second, or 0 for a field that is no time.
static int64_t
s_time_unit (const ProtobufCFieldDescriptor *field)
{
    if (streq (field->name, "time_us"))
        return 1000000;
    if (streq (field->name, "time_ms") || streq (field->name, "sampled"))
        return 1000;
    return streq (field->name, "created") || streq (field->name, "updated")
                   || streq (field->name, "last_seen") || streq (field->name, "last_login")
               ? 1
               : 0;
}

static const char *
s_megabytes (uint64_t mb, char *buf, size_t size)
{
    if (mb >= 1024 && mb % 1024 == 0)
        snprintf (buf, size, "%" PRIu64 "G", mb / 1024);
    else if (mb >= 1024)
        snprintf (buf, size, "%.1fG", (double) mb / 1024);
    else
        snprintf (buf, size, "%" PRIu64 "M", mb);
    return buf;
}

//  A table cell (a new string, escaped for a terminal).
static char *
s_cell (const ProtobufCMessage *row, const maekinsh_out_col_t *col)
{
    //  A field of a message inside the row: "used.vms".
    const char *name = col->field, *dot = strchr (name, '.');
    if (dot) {
        char outer[64];
        snprintf (outer, sizeof outer, "%.*s", (int) (dot - name), name);
        const ProtobufCFieldDescriptor *holder =
            protobuf_c_message_descriptor_get_field_by_name (row->descriptor, outer);
        assert (holder && holder->type == PROTOBUF_C_TYPE_MESSAGE);
        row = *(const ProtobufCMessage *const *) s_member (row, holder);
        if (!row)
            return strdup ("-");
        name = dot + 1;
    }
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (row->descriptor, name);
    assert (field); //  the tables name fields that exist
    if (field->label == PROTOBUF_C_LABEL_REPEATED) {
        assert (field->type == PROTOBUF_C_TYPE_STRING); //  a list of names
        char *joined = NULL;
        size_t size = 0;
        FILE *file = open_memstream (&joined, &size);
        if (!file)
            abort ();
        for (size_t i = 0; i < s_repeated_count (row, field); i++)
            fprintf (file, "%s%s", i ? "," : "", *(char *const *) s_element (row, field, i));
        fclose (file);
        char *text = s_term_text (*joined ? joined : "-");
        free (joined);
        return text;
    }
    char buf[64];
    bool quoted;
    const char *text = s_scalar (field, s_member (row, field), buf, sizeof buf, &quoted);
    uint64_t number = strtoull (text, NULL, 10);
    char formatted[64];
    switch (col->kind) {
    case MAEKINSH_OUT_COL_ID:
        text = number ? text : "-";
        break;
    case MAEKINSH_OUT_COL_MB:
        text = s_megabytes (number, formatted, sizeof formatted);
        break;
    case MAEKINSH_OUT_COL_GB:
        if (number)
            snprintf (formatted, sizeof formatted, "%" PRIu64 "G", number);
        text = number ? formatted : "-";
        break;
    case MAEKINSH_OUT_COL_TIME:
        text = s_time (strtoll (text, NULL, 10), formatted, sizeof formatted);
        break;
    case MAEKINSH_OUT_COL_TIME_US:
        text = s_time (strtoll (text, NULL, 10) / 1000000, formatted, sizeof formatted);
        break;
    case MAEKINSH_OUT_COL_TIME_MS:
        text = s_time (strtoll (text, NULL, 10) / 1000, formatted, sizeof formatted);
        break;
    case MAEKINSH_OUT_COL_TEXT:
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
        label = zsys_sprintf ("task %" PRIu64 " (%s %s on %s)", id, op_name, vm_text, host_text);
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
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *) value;
        if (sub) {
            char prefix[128];
            snprintf (prefix, sizeof prefix, "%s.", key);
            s_lines_message (file, sub, prefix);
        }
        return;
    }
    char buf[64], when[64];
    bool quoted;
    const char *text = s_scalar (field, value, buf, sizeof buf, &quoted);
    int64_t unit = s_time_unit (field);
    if (unit) {
        int64_t number = strtoll (text, NULL, 10);
        text = number ? s_time (number / unit, when, sizeof when) : "-";
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
    char *clean = mk_utf8_clean (value, false);
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
                 json_object_to_json_string_ext (object, JSON_C_TO_STRING_PRETTY
                                                             | JSON_C_TO_STRING_SPACED
                                                             | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put (object);
        return;
    }
    xmlDocPtr doc = xmlNewDoc (BAD_CAST "1.0");
    xmlNodePtr node = xmlNewNode (NULL, BAD_CAST root);
    xmlDocSetRootElement (doc, node);
    for (size_t i = 0; i < count; i++) {
        char *clean = mk_utf8_clean (values[i], true);
        xmlNewTextChild (node, NULL, BAD_CAST keys[i], BAD_CAST clean);
        free (clean);
    }
    xmlChar *text = NULL;
    int size = 0;
    xmlDocDumpFormatMemoryEnc (doc, &text, &size, "UTF-8", 1);
    if (!text)
        abort (); //  libxml2 fails here only when out of memory
    fwrite (text, 1, (size_t) size, self->out);
    xmlFree (text);
    xmlFreeDoc (doc);
}

//  -------------------------------------------------------------------- the class

maekinsh_out_t *
maekinsh_out_new (maekinsh_out_format_t format, FILE *out, FILE *err)
{
    assert (out && err);
    maekinsh_out_t *self = (maekinsh_out_t *) zmalloc (sizeof (maekinsh_out_t));
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
        self->replies =
            (Maekin__Envelope **) realloc (self->replies, self->room * sizeof (Maekin__Envelope *));
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
        &maekin__envelope__descriptor, (unsigned) env->body_case);
    if (!field || field->type != PROTOBUF_C_TYPE_MESSAGE)
        return NULL;
    return *(const ProtobufCMessage *const *) s_member (&env->base, field);
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

void
maekinsh_out_set_table (maekinsh_out_t *self, const maekinsh_out_table_t *table)
{
    self->table = table;
}

//  The table for a list's items, if one was given for their type.
static const maekinsh_out_table_t *
s_table (maekinsh_out_t *self, const ProtobufCMessageDescriptor *item)
{
    return self->table && self->table->item == item ? self->table : NULL;
}

//  Rows under a header, each column as wide as its widest cell, two spaces apart.
static void
s_print_table (FILE *file, const maekinsh_out_table_t *table, const ProtobufCMessage **items,
               size_t count)
{
    size_t cols = 0;
    while (cols < MAEKINSH_OUT_COLS_MAX && table->cols[cols].header)
        cols++;
    char **cells = (char **) zmalloc ((count + 1) * cols * sizeof (char *));
    size_t width[MAEKINSH_OUT_COLS_MAX] = {0};
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
                fprintf (file, "%*s", (int) (width[c] - s_width (cell) + 2), "");
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
        (const ProtobufCMessage **) zmalloc ((count + 1) * sizeof (ProtobufCMessage *));
    size_t at = 0;
    const ProtobufCMessage *last = NULL;
    for (size_t i = 0; i < self->count; i++) {
        const ProtobufCMessage *body = s_body (self->replies[i]);
        if (!body || body->descriptor != page)
            continue;
        last = body;
        for (size_t j = 0; j < s_repeated_count (body, payload); j++)
            items[at++] = *(const ProtobufCMessage *const *) s_element (body, payload, j);
    }
    if (self->format == MAEKINSH_OUT_TABLE) {
        const maekinsh_out_table_t *table =
            s_table (self, (const ProtobufCMessageDescriptor *) payload->descriptor);
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
        ProtobufCMessage *merged = (ProtobufCMessage *) zmalloc (page->sizeof_message);
        memcpy (merged, last, page->sizeof_message);
        *(size_t *) ((char *) merged + payload->quantifier_offset) = count;
        *(const ProtobufCMessage ***) ((char *) merged + payload->offset) = items;
        s_print_document (self, merged);
        free (merged);
    }
    free (items);
}

//  One object: `key: value` lines, or its document. A create reply tells people what was
//  created rather than all of it.
static void
s_print_object (maekinsh_out_t *self, const char *name, const ProtobufCMessage *msg, bool created)
{
    if (self->format == MAEKINSH_OUT_TABLE) {
        const ProtobufCFieldDescriptor *field =
            msg ? protobuf_c_message_descriptor_get_field_by_name (msg->descriptor, "name") : NULL;
        if (created && field && field->type == PROTOBUF_C_TYPE_STRING) {
            char *text = s_term_text (*(char *const *) s_member (msg, field));
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
            s_print_object (self, payload->name,
                            *(const ProtobufCMessage *const *) s_member (body, payload), created);
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
        char *label = s_task_label (accepted->task_id, op, known && *known->name ? known->name : vm,
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
maekinsh_out_task_end (maekinsh_out_t *self, const Maekin__Task *task, const Maekin__Vm *vm,
                       int gave_up_s)
{
    bool done = gave_up_s == 0 && streq (task->state, "done");
    if (self->format != MAEKINSH_OUT_TABLE)
        s_print_document (self, &task->base);
    else if (done) {
        char *label = s_task_label (task->id, task->op, task->vm, task->host, false);
        if (vm && *vm->state) {
            char *state = s_term_text (vm->state);
            char *host = s_term_text (vm->host);
            fprintf (self->out, "done: %s: %s%s%s\n", label, state, *host ? " on " : "", host);
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
        fprintf (self->err, "maekinsh: %s was cancelled%s%s\n", label, *error ? ": " : "", error);
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

maekinsh_out_format_t
maekinsh_out_format (maekinsh_out_t *self)
{
    return self->format;
}

int
maekinsh_out_line (maekinsh_out_t *self, const char *line)
{
    return fprintf (self->out, "%s\n", line) < 0 || fflush (self->out) != 0 ? -1 : 0;
}
