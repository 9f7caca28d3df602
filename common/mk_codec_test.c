/*  mk_codec_test: mk_codec's self-test. Every message of proto/maekin.proto (the list is
    generated from protobuf-c's headers) is filled with sample values, written as JSON
    and as XML, read back, and must pack to the same bytes; then bad documents of every
    kind must be refused with -1 or -2 and a reason, never a crash. */
#include "mk_codec.h"

#include "mk_codec_int.h"

#include <inttypes.h>
#include <math.h>
#include <stddef.h>

#define MK_MESSAGE(name) &name,
static const ProtobufCMessageDescriptor *const s_messages[] = {
#include "messages.h"
};
#undef MK_MESSAGE
#define MESSAGES (sizeof s_messages / sizeof s_messages[0])

//  ------------------------------------------------------ sample messages, as wire bytes

//  Sample messages are written in protobuf's wire format and unpacked by protobuf-c, so
//  the test does not share the codec's way of laying fields out in memory.
typedef struct {
    uint8_t *data;
    size_t size;
    size_t room;
} wire_t;

static void
s_wire_put (wire_t *wire, const void *data, size_t size)
{
    if (size == 0)
        return;
    if (wire->size + size > wire->room) {
        wire->room = (wire->size + size) * 2;
        wire->data = (uint8_t *) realloc (wire->data, wire->room);
        assert (wire->data);
    }
    memcpy (wire->data + wire->size, data, size);
    wire->size += size;
}

static void
s_wire_varint (wire_t *wire, uint64_t value)
{
    uint8_t byte;
    do {
        byte = (uint8_t) (value & 0x7f);
        value >>= 7;
        if (value)
            byte |= 0x80;
        s_wire_put (wire, &byte, 1);
    } while (value);
}

//  Little-endian, as protobuf's fixed types are on the wire.
static void
s_wire_fixed (wire_t *wire, uint64_t value, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        uint8_t byte = (uint8_t) (value >> (8 * i));
        s_wire_put (wire, &byte, 1);
    }
}

static void
s_wire_bytes (wire_t *wire, uint32_t id, const void *data, size_t size)
{
    s_wire_varint (wire, (uint64_t) id << 3 | 2);
    s_wire_varint (wire, size);
    s_wire_put (wire, data, size);
}

static void s_sample (wire_t *wire, const ProtobufCMessageDescriptor *descriptor,
                      const ProtobufCFieldDescriptor *member, int depth);

//  One value of a field; item 0 has extreme values, item 1 small ones.
static void
s_sample_value (wire_t *wire, const ProtobufCFieldDescriptor *field, int item, int depth)
{
    uint32_t id = field->id;
    static const char *const texts[] = {
        "web-1 <&> \"quoted\" 'é' \xe2\x9c\x93 \\ /slash\r\n\ttab ]]> end", "second"};
    const uint8_t bytes[] = {0x00, 0xff, '<', '&', 0x80, 0x10, 0x7f};
    switch (field->type) {
    case PROTOBUF_C_TYPE_STRING:
        s_wire_bytes (wire, id, texts[item], strlen (texts[item]));
        return;
    case PROTOBUF_C_TYPE_BYTES:
        //  Lengths 1 to 7 give base64 each kind of padding.
        s_wire_bytes (wire, id, bytes, item ? 1 : 1 + id % 7);
        return;
    case PROTOBUF_C_TYPE_MESSAGE: {
        wire_t sub = {NULL, 0, 0};
        s_sample (&sub, (const ProtobufCMessageDescriptor *) field->descriptor, NULL, depth + 1);
        s_wire_bytes (wire, id, sub.data, sub.size);
        free (sub.data);
        return;
    }
    default:
        break;
    }
    int64_t low = item ? -2 : INT64_MIN;
    uint64_t high = item ? 3 : UINT64_MAX;
    const ProtobufCEnumDescriptor *named = (const ProtobufCEnumDescriptor *) field->descriptor;
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
        s_wire_varint (wire, (uint64_t) id << 3);
        s_wire_varint (wire, (uint64_t) (item ? (int64_t) -2 : (int64_t) INT32_MIN));
        return;
    case PROTOBUF_C_TYPE_INT64:
        s_wire_varint (wire, (uint64_t) id << 3);
        s_wire_varint (wire, (uint64_t) low);
        return;
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SINT64: //  zigzag
        s_wire_varint (wire, (uint64_t) id << 3);
        s_wire_varint (wire,
                       field->type == PROTOBUF_C_TYPE_SINT32 ? (item ? 3 : UINT32_MAX) : high);
        return;
    case PROTOBUF_C_TYPE_UINT32:
        s_wire_varint (wire, (uint64_t) id << 3);
        s_wire_varint (wire, item ? 3 : UINT32_MAX);
        return;
    case PROTOBUF_C_TYPE_UINT64:
        s_wire_varint (wire, (uint64_t) id << 3);
        s_wire_varint (wire, high);
        return;
    case PROTOBUF_C_TYPE_BOOL:
        s_wire_varint (wire, (uint64_t) id << 3);
        s_wire_varint (wire, 1);
        return;
    case PROTOBUF_C_TYPE_ENUM:
        //  The last value the .proto names; then one it does not name.
        s_wire_varint (wire, (uint64_t) id << 3);
        s_wire_varint (
            wire, (uint64_t) (item ? 1000 : (int64_t) named->values[named->n_values - 1].value));
        return;
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        s_wire_varint (wire, (uint64_t) id << 3 | 5);
        s_wire_fixed (wire, item ? 0x3f800000 : UINT32_MAX - 1, 4);
        return;
    default: //  fixed64, sfixed64, double
        s_wire_varint (wire, (uint64_t) id << 3 | 1);
        s_wire_fixed (wire, item ? 0x3ff0000000000000 : (uint64_t) low + 1, 8);
        return;
    }
}

//  Every field, two items of a repeated one; of a oneof, `member`, or the first.
static void
s_sample (wire_t *wire, const ProtobufCMessageDescriptor *descriptor,
          const ProtobufCFieldDescriptor *member, int depth)
{
    assert (depth < 8); //  Maekin's messages do not nest themselves
    bool oneof_done = false;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (member ? field != member : oneof_done)
                continue;
            oneof_done = true;
        }
        int items = field->label == PROTOBUF_C_LABEL_REPEATED ? 2 : 1;
        for (int item = 0; item < items; item++)
            s_sample_value (wire, field, item, depth);
    }
}

static uint8_t *
s_pack (const ProtobufCMessage *msg, size_t *size)
{
    *size = protobuf_c_message_get_packed_size (msg);
    uint8_t *data = (uint8_t *) malloc (*size + 1);
    assert (data);
    assert (protobuf_c_message_pack (msg, data) == *size);
    return data;
}

//  Written in each format, pretty and not, read back: the same bytes.
//  The direct writer says what json-c says, byte for byte.
static void
s_same_json (const ProtobufCMessage *msg)
{
    char *direct = mk_codec_json_compact (msg);
    char *tree = mk_codec_json_tree (msg, false);
    if (!streq (direct, tree))
        fprintf (stderr, "mk_codec_test: %s:\n  direct %s\n  json-c %s\n", msg->descriptor->name,
                 direct, tree);
    assert (streq (direct, tree));
    free (direct);
    free (tree);
}

static void
s_round_trip (const ProtobufCMessage *msg, bool verbose)
{
    s_same_json (msg);
    size_t size;
    uint8_t *packed = s_pack (msg, &size);
    for (int format = MK_CODEC_JSON; format <= MK_CODEC_XML; format++)
        for (int pretty = 0; pretty < 2; pretty++) {
            char *text = mk_codec_write (msg, (mk_codec_format_t) format, pretty);
            ProtobufCMessage *back = NULL;
            char *error = NULL;
            int rc = mk_codec_read (msg->descriptor, (mk_codec_format_t) format, text,
                                    strlen (text), &back, &error);
            if (rc != 0)
                fprintf (stderr, "mk_codec_test: %s: %s in\n%s\n", msg->descriptor->name, error,
                         text);
            assert (rc == 0 && back && !error);
            size_t back_size;
            uint8_t *back_packed = s_pack (back, &back_size);
            if (back_size != size || memcmp (packed, back_packed, size) != 0) {
                char *again = mk_codec_write (back, (mk_codec_format_t) format, true);
                fprintf (stderr, "mk_codec_test: %s differs:\n%s\n--- read back as\n%s\n",
                         msg->descriptor->name, text, again);
                free (again);
            }
            assert (back_size == size && memcmp (packed, back_packed, size) == 0);
            if (verbose && pretty && msg->descriptor == &maekin__task_accepted__descriptor)
                printf ("%s", text);
            free (back_packed);
            protobuf_c_message_free_unpacked (back, NULL);
            free (text);
        }
    free (packed);
}

static ProtobufCMessage *
s_sample_message (const ProtobufCMessageDescriptor *descriptor,
                  const ProtobufCFieldDescriptor *member)
{
    wire_t wire = {NULL, 0, 0};
    s_sample (&wire, descriptor, member, 0);
    ProtobufCMessage *msg = protobuf_c_message_unpack (descriptor, NULL, wire.size,
                                                       wire.data ? wire.data : (uint8_t *) "");
    assert (msg);
    free (wire.data);
    return msg;
}

//  Every message type: empty, and filled; a type with a oneof once for each member.
static int
s_test_every_message (bool verbose)
{
    int trips = 0;
    for (size_t i = 0; i < MESSAGES; i++) {
        const ProtobufCMessageDescriptor *descriptor = s_messages[i];
        assert (descriptor->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
        ProtobufCMessage *empty = s_sample_message (descriptor, NULL);
        protobuf_c_message_free_unpacked (empty, NULL);
        empty = (ProtobufCMessage *) zmalloc (descriptor->sizeof_message);
        protobuf_c_message_init (descriptor, empty);
        s_round_trip (empty, false);
        free (empty);
        trips++;
        bool oneof = false;
        for (unsigned f = 0; f < descriptor->n_fields; f++) {
            const ProtobufCFieldDescriptor *field = &descriptor->fields[f];
            if (!(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
                continue;
            oneof = true;
            ProtobufCMessage *msg = s_sample_message (descriptor, field);
            s_round_trip (msg, verbose);
            protobuf_c_message_free_unpacked (msg, NULL);
            trips++;
        }
        if (!oneof) {
            ProtobufCMessage *msg = s_sample_message (descriptor, NULL);
            s_round_trip (msg, verbose);
            protobuf_c_message_free_unpacked (msg, NULL);
            trips++;
        }
    }
    return trips;
}

//  ------------------------------------------------------------------- bad input

typedef struct {
    const ProtobufCMessageDescriptor *type; //  what is read
    mk_codec_format_t format;
    const char *text;   //  the document
    const char *expect; //  in the error
} bad_t;

static void
s_test_refused (const ProtobufCMessageDescriptor *type, mk_codec_format_t format, const char *text,
                size_t size, int expect_rc, const char *expect, bool verbose)
{
    ProtobufCMessage *msg = NULL;
    char *error = NULL;
    int rc = mk_codec_read (type, format, text, size, &msg, &error);
    bool good = rc == expect_rc && !msg && error && strstr (error, expect) && !strchr (error, '\n');
    if (!good)
        fprintf (stderr, "mk_codec_test: '%.200s' gave %d '%s', expected %d '%s'\n", text, rc,
                 error ? error : "(none)", expect_rc, expect);
    assert (good);
    if (verbose)
        printf ("  refused: %s\n", error);
    free (error);
}

#define VM         &maekin__vm__descriptor
#define JSON       MK_CODEC_JSON
#define XML        MK_CODEC_XML
#define VM_LIST    &maekin__vm_list_reply__descriptor
#define ENVELOPE   &maekin__envelope__descriptor
#define BATCH_ITEM &maekin__task_batch_item__descriptor
#define RESULT     &maekin__task_result_reply__descriptor
#define ACTION     &maekin__vm_action_request__descriptor

static const bad_t s_bad[] = {
    //  JSON
    {VM, JSON, "{\"name\": \"a\", \"bogus\": 1}", "'bogus': Vm has no field"},
    {VM, JSON, "{\"vcpus\": \"2\"}", "'vcpus': expected a number, not string"},
    {VM, JSON, "{\"vcpus\": -1}", "'vcpus': -1 is out of range for uint32"},
    {VM, JSON, "{\"vcpus\": 4294967296}", "4294967296 is out of range for uint32"},
    {VM, JSON, "{\"vcpus\": 1.5}", "expected a number, not a fraction"},
    {VM, JSON, "{\"vcpus\": null, \"memory_mb\": 18446744073709551616}", "out of the 64-bit range"},
    {VM, JSON, "{\"created\": -9223372036854775809}", "out of the 64-bit range"},
    {VM, JSON, "{\"created\": \"-9223372036854775809\"}", "out of range for int64"},
    {VM, JSON, "{\"memory_mb\": \"12a\"}", "expected a whole number (uint64)"},
    {VM, JSON, "{\"name\": 5}", "'name': expected a string, not int"},
    {VM, JSON, "{\"name\": [\"a\"]}", "expected a string, not array"},
    {VM, JSON, "{\"name\": \"a\\u0000b\"}", "NUL"},
    {VM, JSON, "{\"name\": \"\xff\"}", "invalid utf-8"},
    {VM, JSON, "{\"name\": \"a\"", "ends before its value does"},
    {VM, JSON, "", "ends before its value does"},
    {VM, JSON, "{\"name\": \"a\"} x", "malformed at byte"},
    {VM, JSON, "{\"name\": 'a'}", "malformed at byte"},
    {VM, JSON, "[1]", "expected an object (maekin.Vm), not array"},
    {VM, JSON,
     "{\"a\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
     "]]]]]]]]]]}",
     "nesting too deep"},
    {ACTION, JSON, "{\"op\": \"VM_OP_FLY\"}", "'op': 'VM_OP_FLY' is not a value of maekin.VmOp"},
    {ACTION, JSON, "{\"op\": 2147483648}", "out of range for enum"},
    {ACTION, JSON, "{\"op\": true}", "expected an enum value's name, not boolean"},
    {VM_LIST, JSON, "{\"vms\": {}}", "'vms': expected an array, not object"},
    {VM_LIST, JSON, "{\"vms\": [1]}", "'vms[0]': expected an object (maekin.Vm), not int"},
    {VM_LIST, JSON, "{\"vms\": [{}, null]}", "'vms[1]': null is not an item"},
    {VM_LIST, JSON, "{\"vms\": [{\"vcpus\": true}]}", "'vms[0].vcpus': expected a number"},
    {ENVELOPE, JSON, "{\"vm_show\": {\"name\": \"a\"}, \"vm_list\": {}}",
     "'vm_show' and 'vm_list' are members of one oneof"},
    {BATCH_ITEM, JSON, "{\"request\": \"!!!!\"}", "'request': expected base64"},
    {BATCH_ITEM, JSON, "{\"request\": \"abc\"}", "expected base64"},
    {RESULT, JSON, "{\"ok\": \"true\"}", "'ok': expected true or false, not string"},
    {RESULT, JSON, "{\"ok\": 1}", "expected true or false, not int"},
    //  XML
    {VM, XML, "<Vm><name>a</name><bogus/></Vm>", "Vm has no field <bogus>"},
    {VM, XML, "<Vm><vcpus>x</vcpus></Vm>", "'vcpus': expected a whole number (uint32)"},
    {VM, XML, "<Vm><vcpus> 2</vcpus></Vm>", "expected a whole number"},
    {VM, XML, "<Vm><vcpus>-1</vcpus></Vm>", "-1 is out of range for uint32"},
    {VM, XML, "<Vm><vcpus>4294967296</vcpus></Vm>", "out of range for uint32"},
    {VM, XML, "<Vm><memory_mb>18446744073709551616</memory_mb></Vm>", "out of range for uint64"},
    {VM, XML, "<Vm><name>a</name><name>b</name></Vm>", "<name> is given twice in <Vm>"},
    {VM, XML, "<Vm><name><x/></name></Vm>", "holds the element <x>"},
    {VM, XML, "<Vm>text<name>a</name></Vm>", "text 'text' in <Vm>"},
    {VM, XML, "<Vm id=\"1\"/>", "attributes are not read"},
    {VM, XML, "<Vm><name id=\"1\">a</name></Vm>", "attributes are not read"},
    {VM, XML, "<Vm xmlns=\"urn:x\"/>", "namespaces are not read"},
    {VM, XML, "<Host/>", "expected the root element <Vm>, not <Host>"},
    {VM, XML, "<Vm><name>a</Vm>", "malformed at line 1"},
    {VM, XML, "", "malformed"},
    {VM, XML, "<Vm/><Vm/>", "malformed"},
    {VM, XML, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Vm><name>\xff</name></Vm>", "malformed"},
    {VM, XML, "<!DOCTYPE Vm [<!ENTITY e \"x\">]><Vm><name>&e;</name></Vm>",
     "a DOCTYPE is not accepted"},
    {ACTION, XML, "<VmActionRequest><op>VM_OP_FLY</op></VmActionRequest>",
     "'VM_OP_FLY' is not a value of maekin.VmOp"},
    {ENVELOPE, XML, "<Envelope><vm_show/><vm_list/></Envelope>",
     "'vm_show' and 'vm_list' are members of one oneof"},
    {RESULT, XML, "<TaskResultReply><ok>1</ok></TaskResultReply>", "expected true or false"},
    {BATCH_ITEM, XML, "<TaskBatchItem><request>abc</request></TaskBatchItem>", "expected base64"},
    {VM_LIST, XML, "<VmListReply><vms/><vms><vcpus>x</vcpus></vms></VmListReply>",
     "'vms[1].vcpus': expected a whole number"},
};

static void
s_test_bad (bool verbose)
{
    for (size_t i = 0; i < sizeof s_bad / sizeof s_bad[0]; i++)
        s_test_refused (s_bad[i].type, s_bad[i].format, s_bad[i].text, strlen (s_bad[i].text), -2,
                        s_bad[i].expect, verbose);
    //  Too big: refused unread, -1.
    size_t size = MK_CODEC_SIZE_MAX + 1;
    char *big = (char *) malloc (size + 1);
    assert (big);
    memset (big, ' ', size);
    big[size] = 0;
    s_test_refused (VM, JSON, big, size, -1, "at most 8388608 are read", verbose);
    s_test_refused (VM, XML, big, size, -1, "at most 8388608 are read", verbose);
    free (big);
    //  Too deep for libxml2 itself.
    char *deep = NULL;
    size_t deep_size = 0;
    FILE *file = open_memstream (&deep, &deep_size);
    assert (file);
    for (int i = 0; i < 300; i++)
        fputs ("<vm>", file);
    fclose (file);
    s_test_refused (&maekin__vm_show_reply__descriptor, XML, deep, deep_size, -2, "malformed",
                    verbose);
    free (deep);
}

//  Every prefix of a document and every byte of it changed: a result or a refusal,
//  never a crash or a leak (ASan watches).
static void
s_test_mangled (const ProtobufCMessage *msg, mk_codec_format_t format)
{
    char *text = mk_codec_write (msg, format, true);
    size_t size = strlen (text);
    char *copy = (char *) malloc (size + 1);
    assert (copy);
    int refused = 0;
    for (size_t i = 0; i <= size; i++)
        for (int change = 0; change < 4; change++) {
            memcpy (copy, text, size + 1);
            size_t length = change == 0 ? i : size;
            if (change > 0 && i < size)
                copy[i] = "\"<\xff"[change - 1];
            ProtobufCMessage *back = NULL;
            char *error = NULL;
            int rc = mk_codec_read (msg->descriptor, format, copy, length, &back, &error);
            assert ((rc == 0 && back && !error) || (rc == -2 && !back && error));
            refused += rc != 0;
            if (back)
                protobuf_c_message_free_unpacked (back, NULL);
            free (error);
        }
    assert (refused > (int) size);
    free (copy);
    free (text);
}

//  ------------------------------------------------ what maekin.proto does not use

//  A message of the types maekin.proto has none of yet (float, double, sint32,
//  sfixed64, fixed32, and a proto2 optional field with its has_ flag), described by hand
//  as protoc-c would, so that the codec's handling of them is tested too.
typedef struct {
    ProtobufCMessage base;
    float f;
    double d;
    size_t n_ds;
    double *ds;
    int32_t z;
    int64_t q;
    protobuf_c_boolean has_o;
    uint32_t o;
} other_t;

static const ProtobufCMessageDescriptor s_other_descriptor;

static void
s_other_init (ProtobufCMessage *msg)
{
    static const other_t init = {
        PROTOBUF_C_MESSAGE_INIT (&s_other_descriptor), 0, 0, 0, NULL, 0, 0, 0, 0};
    memcpy (msg, &init, sizeof init);
}

#define OTHER_FIELD(name, id, label, type, quantifier)                                             \
    {                                                                                              \
#name, id, PROTOBUF_C_LABEL_##label, PROTOBUF_C_TYPE_##type, quantifier,                   \
            offsetof(other_t, name), NULL, NULL, 0, 0, NULL, NULL                                  \
    }
static const ProtobufCFieldDescriptor s_other_fields[] = {
    OTHER_FIELD (f, 1, NONE, FLOAT, 0),
    OTHER_FIELD (d, 2, NONE, DOUBLE, 0),
    OTHER_FIELD (ds, 3, REPEATED, DOUBLE, offsetof (other_t, n_ds)),
    OTHER_FIELD (z, 4, NONE, SINT32, 0),
    OTHER_FIELD (q, 5, NONE, SFIXED64, 0),
    OTHER_FIELD (o, 6, OPTIONAL, FIXED32, offsetof (other_t, has_o)),
};
static const unsigned s_other_by_name[] = {1, 2, 0, 5, 4, 3}; //  d ds f o q z
static const ProtobufCIntRange s_other_ranges[] = {{1, 0}, {0, 6}};
static const ProtobufCMessageDescriptor s_other_descriptor = {PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
                                                              "test.Other",
                                                              "Other",
                                                              "Other",
                                                              "test",
                                                              sizeof (other_t),
                                                              6,
                                                              s_other_fields,
                                                              s_other_by_name,
                                                              1,
                                                              s_other_ranges,
                                                              s_other_init,
                                                              NULL,
                                                              NULL,
                                                              NULL};

static void
s_test_other_types (bool verbose)
{
    double ds[] = {NAN, INFINITY, -INFINITY, 1e300, 5e-324, -0.1};
    other_t other;
    s_other_init (&other.base);
    other.f = 1.5f;
    other.d = -0.1;
    other.n_ds = sizeof ds / sizeof ds[0];
    other.ds = ds;
    other.z = INT32_MIN;
    other.q = INT64_MIN;
    s_round_trip (&other.base, false);
    char *text = mk_codec_write (&other.base, MK_CODEC_JSON, false);
    if (verbose)
        printf ("  %s\n", text);
    assert (strstr (text, "\"d\":-0.1,\"ds\":[\"NaN\",\"Infinity\",\"-Infinity\",1e+300,"));
    assert (!strstr (text, "\"o\"")); //  an optional field without a value
    free (text);
    other.has_o = 1;
    other.o = 7;
    s_round_trip (&other.base, false);
    text = mk_codec_write (&other.base, MK_CODEC_XML, false);
    assert (strstr (text, "<o>7</o>") && strstr (text, "<ds>NaN</ds>"));
    free (text);
    const bad_t bad[] = {
        {&s_other_descriptor, JSON, "{\"f\": 1e39}", "'f': 1e+39 is out of range for float"},
        {&s_other_descriptor, JSON, "{\"d\": \"nan\"}",
         "'d': expected a number (double), not 'nan'"},
        {&s_other_descriptor, XML, "<Other><z>2147483648</z></Other>",
         "'z': 2147483648 is out of range for sint32"},
        {&s_other_descriptor, XML, "<Other><d>1.5x</d></Other>",
         "'d': expected a number (double), not '1.5x'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        s_test_refused (bad[i].type, bad[i].format, bad[i].text, strlen (bad[i].text), -2,
                        bad[i].expect, verbose);
}

//  ------------------------------------------------------------------- the shapes

static void
s_test_expect (const char *what, const char *got, const char *expect)
{
    if (!streq (got, expect))
        fprintf (stderr, "mk_codec_test: %s:\n--- got\n%s--- expected\n%s", what, got, expect);
    assert (streq (got, expect));
}

static void
s_test_shapes (void)
{
    Maekin__Vm vm = MAEKIN__VM__INIT;
    vm.name = "web-1";
    vm.state = "running";
    vm.vcpus = 2;
    vm.memory_mb = 2048;
    vm.created = 1700000000;
    vm.last_task = UINT64_MAX;
    Maekin__TaskAccepted accepted = MAEKIN__TASK_ACCEPTED__INIT;
    accepted.task_id = 12;
    accepted.vm = &vm;
    char *text = mk_codec_write (&accepted.base, MK_CODEC_JSON, true);
    s_test_expect (
        "TaskAccepted as JSON", text,
        "{\n  \"task_id\": 12,\n  \"vm\": {\n    \"name\": \"web-1\",\n"
        "    \"uuid\": \"\",\n    \"template\": \"\",\n    \"host\": \"\",\n"
        "    \"state\": \"running\",\n    \"vcpus\": 2,\n"
        "    \"memory_mb\": 2048,\n    \"created\": 1700000000,\n"
        "    \"last_task\": 18446744073709551615,\n    \"mac\": \"\",\n    \"vi\": \"\",\n"
        "    \"ip\": \"\"\n  }\n}\n");
    free (text);
    accepted.vm = NULL;
    text = mk_codec_write (&accepted.base, MK_CODEC_JSON, false);
    s_test_expect ("without its VM", text, "{\"task_id\":12,\"vm\":null}");
    free (text);
    text = mk_codec_write (&vm.base, MK_CODEC_XML, true);
    s_test_expect ("Vm as XML", text,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Vm>\n  <name>web-1</name>\n"
                   "  <uuid></uuid>\n  <template></template>\n  <host></host>\n"
                   "  <state>running</state>\n  <vcpus>2</vcpus>\n"
                   "  <memory_mb>2048</memory_mb>\n  <created>1700000000</created>\n"
                   "  <last_task>18446744073709551615</last_task>\n  <mac></mac>\n  <vi></vi>\n"
                   "  <ip></ip>\n</Vm>\n");
    free (text);

    //  Enums by name, or by number when the .proto names none; a oneof as its member.
    Maekin__VmActionRequest action = MAEKIN__VM_ACTION_REQUEST__INIT;
    action.name = "web-1";
    action.op = MAEKIN__VM_OP__VM_OP_STOP;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.version = 1;
    env.body_case = MAEKIN__ENVELOPE__BODY_VM_ACTION;
    env.vm_action = &action;
    text = mk_codec_write (&env.base, MK_CODEC_JSON, false);
    s_test_expect (
        "an Envelope", text,
        "{\"version\":1,\"request_id\":\"\",\"credential\":null,\"status\":0,"
        "\"reason\":\"\",\"vm_action\":{\"name\":\"web-1\",\"op\":\"VM_OP_STOP\",\"vi\":\"\"}}");
    free (text);
    action.op = (Maekin__VmOp) 77;
    text = mk_codec_write (&action.base, MK_CODEC_XML, false);
    s_test_expect ("an unnamed enum value", text,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VmActionRequest><name>web-1"
                   "</name><op>77</op><vi></vi></VmActionRequest>\n");
    free (text);

    //  What writing cannot keep: bytes that are not UTF-8, controls in XML.
    vm.name = "a\x01"
              "b\xff";
    text = mk_codec_write (&vm.base, MK_CODEC_JSON, false);
    assert (strstr (text, "\"name\":\"a\\u0001b\xef\xbf\xbd\""));
    free (text);
    text = mk_codec_write (&vm.base, MK_CODEC_XML, false);
    assert (strstr (text, "<name>a\xef\xbf\xbd"
                          "b\xef\xbf\xbd</name>"));
    free (text);

    //  Reading what people write: fields in any order, some left out, null, 64-bit
    //  integers as strings, enums by number, whitespace and comments in XML.
    const char *json = " {\"op\": 3, \"vm\": null, \"task_id\": \"18446744073709551615\"} ";
    ProtobufCMessage *msg = NULL;
    char *error = NULL;
    assert (mk_codec_read (&maekin__task_dispatch_request__descriptor, MK_CODEC_JSON, json,
                           strlen (json), &msg, &error)
            == 0);
    Maekin__TaskDispatchRequest *dispatch = (Maekin__TaskDispatchRequest *) msg;
    assert (dispatch->task_id == UINT64_MAX && dispatch->op == MAEKIN__VM_OP__VM_OP_STOP);
    assert (dispatch->vm == NULL);
    protobuf_c_message_free_unpacked (msg, NULL);
    const char *xml = "<?xml version=\"1.0\"?>\n<!-- a VM -->\n<Vm>\n  <vcpus>4</vcpus>"
                      "<?pi x?><name>  spaced &amp; &#233;  </name>\n</Vm>\n";
    assert (mk_codec_read (VM, MK_CODEC_XML, xml, strlen (xml), &msg, &error) == 0);
    Maekin__Vm *read = (Maekin__Vm *) msg;
    assert (read->vcpus == 4 && streq (read->name, "  spaced & \xc3\xa9  "));
    assert (streq (read->state, ""));
    protobuf_c_message_free_unpacked (msg, NULL);
}

//  Text the writers must escape or mend, and numbers at their edges.
static void
s_test_json_edges (void)
{
    Maekin__Vm vm = MAEKIN__VM__INIT;
    vm.name = "a\x01\"b\\c/d\n\t\r\b\f\x1f\x7f \xc3\xa9 \xff\xfe end";
    vm.vcpus = UINT32_MAX;
    vm.memory_mb = UINT64_MAX;
    vm.created = INT64_MIN;
    s_same_json (&vm.base);
    Maekin__LatencyBucket bucket = MAEKIN__LATENCY_BUCKET__INIT;
    double numbers[] = {0, -0.0, 0.1, 1e300, -2.5e-300, 5e-324, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        bucket.le_s = numbers[i];
        s_same_json (&bucket.base);
    }
    Maekin__Error error = MAEKIN__ERROR__INIT;
    error.status = INT32_MIN;
    s_same_json (&error.base);
}

//  One field from its text, as a query string gives it, down a path of messages.
static void
s_test_set (void)
{
    char *error = NULL;
    ProtobufCMessage *msg = (ProtobufCMessage *) zmalloc (sizeof (Maekin__VmListRequest));
    maekin__vm_list_request__init ((Maekin__VmListRequest *) msg);
    Maekin__VmListRequest *list = (Maekin__VmListRequest *) msg;
    assert (mk_codec_field (msg->descriptor, "page.limit"));
    assert (!mk_codec_field (msg->descriptor, "page.nothing"));
    assert (!mk_codec_field (msg->descriptor, "page.limit.x"));
    assert (!mk_codec_field (msg->descriptor, ".page"));
    assert (mk_codec_set (msg, "page.limit", "250", &error) == 0 && !error);
    assert (mk_codec_set (msg, "page.filter_vi", "web", &error) == 0);
    assert (mk_codec_set (msg, "page.filter_vi", "db", &error) == 0); //  replaced, not leaked
    assert (list->page && list->page->limit == 250 && streq (list->page->filter_vi, "db"));
    //  What a field cannot hold is refused, naming the field, and changes nothing.
    assert (mk_codec_set (msg, "page.limit", "-1", &error) == -2);
    assert (streq (error, "-1 is out of range for uint32"));
    zstr_free (&error);
    assert (mk_codec_set (msg, "page.limit", "1e3", &error) == -2 && strstr (error, "whole"));
    zstr_free (&error);
    assert (mk_codec_set (msg, "page.limit", "4294967296", &error) == -2);
    zstr_free (&error);
    assert (mk_codec_set (msg, "page.nothing", "1", &error) == -2
            && strstr (error, "no field 'page.nothing'"));
    zstr_free (&error);
    assert (mk_codec_set (msg, "page", "1", &error) == -2 && strstr (error, "message"));
    zstr_free (&error);
    assert (list->page->limit == 250);
    protobuf_c_message_free_unpacked (msg, NULL);

    Maekin__VmActionRequest action = MAEKIN__VM_ACTION_REQUEST__INIT;
    msg = (ProtobufCMessage *) &action;
    assert (mk_codec_set (msg, "op", "VM_OP_STOP", &error) == 0
            && action.op == MAEKIN__VM_OP__VM_OP_STOP);
    assert (mk_codec_set (msg, "op", "VM_OP_LEAP", &error) == -2 && strstr (error, "VmOp"));
    zstr_free (&error);
    Maekin__UserDisableRequest disable = MAEKIN__USER_DISABLE_REQUEST__INIT;
    assert (mk_codec_set (&disable.base, "enable", "true", &error) == 0 && disable.enable);
    assert (mk_codec_set (&disable.base, "enable", "yes", &error) == -2);
    zstr_free (&error);
    Maekin__EventsSinceRequest since = MAEKIN__EVENTS_SINCE_REQUEST__INIT;
    assert (mk_codec_set (&since.base, "after", "18446744073709551615", &error) == 0);
    assert (since.after == UINT64_MAX);
}

void
mk_codec_test (bool verbose)
{
    s_test_set ();
    s_test_json_edges ();
    int trips = s_test_every_message (verbose);
    if (verbose)
        printf ("  %zu message types, %d samples, each through JSON and XML\n", MESSAGES, trips);
    assert (MESSAGES >= 48);
    s_test_shapes ();
    s_test_bad (verbose);
    s_test_other_types (verbose);
    for (size_t i = 0; i < MESSAGES; i++)
        if (s_messages[i] == &maekin__task_accepted__descriptor
            || s_messages[i] == &maekin__task_batch_item__descriptor) {
            ProtobufCMessage *msg = s_sample_message (s_messages[i], NULL);
            s_test_mangled (msg, MK_CODEC_JSON);
            s_test_mangled (msg, MK_CODEC_XML);
            protobuf_c_message_free_unpacked (msg, NULL);
        }
}
