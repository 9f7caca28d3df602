/*  maekinsh_out_test: maekinsh_out's self-test. Each kind of reply printed for people and
    for programs; documents are read back by Python's JSON parser and by libxml2, or by
    mk_codec; text that could fool a terminal or break a document is escaped. */
#include "maekinsh_cmd_def.h"

#include "mk_codec.h"
#include "mk_msg.h"

#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

//  A heap copy of an envelope built on the stack, as if it had come over the bus.
static Maekin__Envelope *
s_test_heap (Maekin__Envelope *env)
{
    zframe_t *frame = mk_msg_pack (env);
    const char *why;
    Maekin__Envelope *copy = mk_msg_unpack (zframe_data (frame), zframe_size (frame), &why);
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
    assert (write (fd, json, strlen (json)) == (ssize_t) strlen (json));
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
    xmlDocPtr doc = xmlReadMemory (xml, (int) strlen (xml), "out.xml", "UTF-8",
                                   XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return NULL;
    xmlNodePtr node = xmlDocGetRootElement (doc);
    char *result = NULL;
    if (node && streq ((const char *) node->name, root_name)) {
        //  path: element names separated by '/', each the first child of that name.
        char *copy = strdup (path);
        char *rest = copy;
        char *step;
        while (node && (step = strsep (&rest, "/")) && *step) {
            xmlNodePtr child = node->children;
            while (
                child
                && !(child->type == XML_ELEMENT_NODE && streq ((const char *) child->name, step)))
                child = child->next;
            node = child;
        }
        free (copy);
        if (node) {
            xmlChar *text = xmlNodeGetContent (node);
            result = strdup ((const char *) text);
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
        fprintf (stderr, "maekinsh_out_test: <%s>/%s is '%s', not '%s' in:\n%s\n", root, path,
                 got ? got : "(none)", expect, xml);
    assert (got && streq (got, expect));
    free (got);
}

//  Prints a reply in a format: what came out on out (a new string), err into *err_p.
static char *
s_test_print (maekinsh_out_format_t format, const maekinsh_out_table_t *table,
              Maekin__Envelope **pages, size_t count, char **err_p)
{
    capture_t capture;
    s_capture_open (&capture, format);
    maekinsh_out_set_table (capture.self, table);
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
        fprintf (stderr, "maekinsh_out_test: %s:\n--- got\n%s--- expected\n%s", what, got, expect);
    assert (streq (got, expect));
}

//  Three VMs, as a list shows them.
static void
s_test_vms (Maekin__Vm vms[3])
{
    const char *vm_names[] = {"web-1", "db-1", "web-2"};
    const char *vm_states[] = {"running", "stopped", "running"};
    const char *vm_hosts[] = {"node1", "", "node2"};
    const char *vm_templates[] = {"small", "tiny", "big"};
    uint32_t vm_vcpus[] = {2, 1, 4};
    uint64_t vm_memory[] = {2048, 512, 1536};
    for (int i = 0; i < 3; i++) {
        maekin__vm__init (&vms[i]);
        vms[i].name = (char *) vm_names[i];
        vms[i].uuid = "6f1c2a4e-0d1b-4a55-9a63-0c3f3e1f9a01";
        vms[i].state = (char *) vm_states[i];
        vms[i].host = (char *) vm_hosts[i];
        vms[i].template_ = (char *) vm_templates[i];
        vms[i].vcpus = vm_vcpus[i];
        vms[i].memory_mb = vm_memory[i];
        vms[i].created = 1700000000;
        vms[i].last_task = (uint64_t) i + 1;
    }
}

//  A task whose error holds quotes, a backslash, a newline, a control character and
//  characters beyond ASCII.
static void
s_test_task (Maekin__Task *task)
{
    maekin__task__init (task);
    task->id = 12;
    task->vm = "web-1";
    task->host = "node1";
    task->op = MAEKIN__VM_OP__VM_OP_CREATE;
    task->state = "failed";
    task->error = "disk \"vda\": a\\b\nline 2\x01 \xc3\xa9 \xe2\x9c\x93";
    task->created = 1700000000;
    task->updated = 1700000060;
    task->attempts = 1;
    task->vi = "acme";
}

static void
s_test_basics (void)
{
    assert (maekinsh_out_format_parse ("json") == MAEKINSH_OUT_JSON);
    assert (maekinsh_out_format_parse ("xml") == MAEKINSH_OUT_XML);
    assert (maekinsh_out_format_parse ("table") == MAEKINSH_OUT_TABLE);
    assert (maekinsh_out_format_parse ("yaml") == -1);
    char name[32];
    assert (streq (maekinsh_out_enum (&maekin__vm_op__descriptor, MAEKIN__VM_OP__VM_OP_CREATE, name,
                                      sizeof name),
                   "create"));
    assert (streq (maekinsh_out_enum (&maekin__vm_op__descriptor, 99, name, sizeof name), "99"));
    assert (maekinsh_out_plain ("/var/lib/maekin/é.img"));
    assert (!maekinsh_out_plain ("a\nb") && !maekinsh_out_plain ("\xff")
            && !maekinsh_out_plain ("\xc0\xaf") && !maekinsh_out_plain ("\xc2\x9b"));
}

//  A VM list in two pages makes one table, one list reply; an empty list.
static void
s_test_vm_lists (bool verbose)
{
    Maekin__Vm vms[3];
    s_test_vms (vms);
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

    char *text = s_test_print (MAEKINSH_OUT_TABLE, &maekinsh_vm_table, vm_list, 2, NULL);
    s_test_expect ("vm list table", text,
                   "NAME   VI  STATE    HOST   VCPUS  MEMORY  TEMPLATE\n"
                   "web-1  -   running  node1  2      2G      small\n"
                   "db-1   -   stopped  -      1      512M    tiny\n"
                   "web-2  -   running  node2  4      1.5G    big\n");
    if (verbose)
        printf ("%s", text);
    free (text);
    text = s_test_print (MAEKINSH_OUT_JSON, &maekinsh_vm_table, vm_list, 2, NULL);
    //  The reply of the list's type, with every page's items and the last page's cursor.
    s_test_json_is (text, "(len (d['vms']), d['next'], len (d))", "[3, \"\", 2]");
    s_test_json_is (text, "d['vms'][2]",
                    "{\"name\": \"web-2\", \"uuid\": "
                    "\"6f1c2a4e-0d1b-4a55-9a63-0c3f3e1f9a01\", \"template\": \"big\", "
                    "\"host\": \"node2\", \"state\": \"running\", \"vcpus\": 4, "
                    "\"memory_mb\": 1536, \"created\": 1700000000, \"last_task\": 3, "
                    "\"mac\": \"\", \"vi\": \"\", \"ip\": \"\"}");
    if (verbose)
        printf ("%s", text);
    free (text);
    text = s_test_print (MAEKINSH_OUT_XML, &maekinsh_vm_table, vm_list, 2, NULL);
    s_test_xml_is (text, "VmListReply", "vms/name", "web-1");
    s_test_xml_is (text, "VmListReply", "vms/memory_mb", "2048");
    s_test_xml_is (text, "VmListReply", "vms/template", "small");
    s_test_xml_is (text, "VmListReply", "next", "");
    xmlDocPtr doc = xmlReadMemory (text, (int) strlen (text), NULL, NULL, 0);
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
    text = s_test_print (MAEKINSH_OUT_TABLE, &maekinsh_vm_table, empty, 1, NULL);
    s_test_expect ("empty table", text, "no vms\n");
    free (text);
    text = s_test_print (MAEKINSH_OUT_JSON, &maekinsh_vm_table, empty, 1, NULL);
    s_test_expect ("empty json", text, "{\n  \"vms\": [\n  ],\n  \"next\": \"\"\n}\n");
    free (text);
    text = s_test_print (MAEKINSH_OUT_XML, &maekinsh_vm_table, empty, 1, NULL);
    s_test_expect ("empty xml", text,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VmListReply>\n"
                   "  <next></next>\n</VmListReply>\n");
    free (text);
}

//  A column may show a field of a message in the row (a VI's use), "-" if it has none.
static void
s_test_nested (void)
{
    Maekin__ViQuota used = MAEKIN__VI_QUOTA__INIT;
    used.vms = 2;
    used.vcpus = 3;
    used.memory_mb = 1536;
    Maekin__Vi acme = MAEKIN__VI__INIT, bare = MAEKIN__VI__INIT;
    acme.name = "acme";
    acme.role = "owner";
    acme.used = &used;
    bare.name = "beta";
    bare.role = "viewer";
    Maekin__Vi *vis[] = {&acme, &bare};
    Maekin__ViListReply list = MAEKIN__VI_LIST_REPLY__INIT;
    list.n_vis = 2;
    list.vis = vis;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKIN__ENVELOPE__BODY_VI_LIST_REPLY;
    env.vi_list_reply = &list;
    Maekin__Envelope *pages[] = {&env};
    char *text = s_test_print (MAEKINSH_OUT_TABLE, &maekinsh_vi_table, pages, 1, NULL);
    s_test_expect ("vi table", text,
                   "NAME  ROLE    VMS  VCPUS  MEMORY  DESCRIPTION\n"
                   "acme  owner   2    3      1.5G    -\n"
                   "beta  viewer  -    -      -       -\n");
    free (text);
}

static void
s_test_tasks (bool verbose)
{
    char *text;
    Maekin__Task task;
    s_test_task (&task);
    Maekin__TaskShowReply task_show = MAEKIN__TASK_SHOW_REPLY__INIT;
    task_show.task = &task;
    Maekin__Envelope task_env = MAEKIN__ENVELOPE__INIT;
    task_env.body_case = MAEKIN__ENVELOPE__BODY_TASK_SHOW_REPLY;
    task_env.task_show_reply = &task_show;
    Maekin__Envelope *task_reply[] = {&task_env};
    text = s_test_print (MAEKINSH_OUT_TABLE, NULL, task_reply, 1, NULL);
    s_test_expect ("task lines", text,
                   "id: 12\nvm: web-1\nhost: node1\nop: create\nstate: failed\n"
                   "error: disk \"vda\": a\\b\\nline 2\\x01 \xc3\xa9 \xe2\x9c\x93\n"
                   "created: 2023-11-14 22:13:20\nupdated: 2023-11-14 22:14:20\n"
                   "attempts: 1\nvi: acme\n");
    free (text);
    text = s_test_print (MAEKINSH_OUT_JSON, NULL, task_reply, 1, NULL);
    s_test_expect ("task json", text,
                   "{\n  \"id\": 12,\n  \"vm\": \"web-1\",\n  \"host\": \"node1\",\n"
                   "  \"op\": \"VM_OP_CREATE\",\n  \"state\": \"failed\",\n"
                   "  \"error\": \"disk \\\"vda\\\": a\\\\b\\nline 2\\u0001 \xc3\xa9 "
                   "\xe2\x9c\x93\",\n"
                   "  \"created\": 1700000000,\n  \"updated\": 1700000060,\n"
                   "  \"attempts\": 1,\n  \"vi\": \"acme\"\n}\n");
    s_test_json_is (text, "d['error']",
                    "\"disk \\\"vda\\\": a\\\\b\\nline 2\\u0001 \\u00e9 \\u2713\"");
    free (text);
    text = s_test_print (MAEKINSH_OUT_XML, NULL, task_reply, 1, NULL);
    s_test_xml_is (text, "Task", "op", "VM_OP_CREATE");
    //  XML cannot hold U+0001 in any form: it is replaced, the rest kept.
    s_test_xml_is (text, "Task", "error",
                   "disk \"vda\": a\\b\nline 2\xef\xbf\xbd \xc3\xa9 \xe2\x9c\x93");
    if (verbose)
        printf ("%s", text);
    free (text);

    //  Bytes that are not UTF-8 never reach a document as they are.
    task.error = "bad \xff\xc0\xaf byte";
    text = s_test_print (MAEKINSH_OUT_JSON, NULL, task_reply, 1, NULL);
    s_test_json_is (text, "d['error']", "\"bad \\ufffd\\ufffd\\ufffd byte\"");
    free (text);
    text = s_test_print (MAEKINSH_OUT_XML, NULL, task_reply, 1, NULL);
    s_test_xml_is (text, "Task", "error", "bad \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd byte");
    free (text);
    text = s_test_print (MAEKINSH_OUT_TABLE, NULL, task_reply, 1, NULL);
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
    text = s_test_print (MAEKINSH_OUT_TABLE, &maekinsh_task_table, task_pages, 1, NULL);
    s_test_expect ("task table", text,
                   "ID  STATE   OP      VM     VI    HOST   UPDATED              ERROR\n"
                   "13  queued  start   web-1  acme  -      2023-11-14 22:15:20  -\n"
                   "12  failed  create  web-1  acme  node1  2023-11-14 22:14:20  disk \"vda\": "
                   "a\\b\\nline 2\\x01 \xc3\xa9 \xe2\x9c\x93\n");
    free (text);
}

static void
s_test_hosts (void)
{
    char *text;
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
    text = s_test_print (MAEKINSH_OUT_TABLE, &maekinsh_host_table, host_pages, 1, NULL);
    s_test_expect ("host table", text,
                   "NAME   STATE  VCPUS  USED  MEMORY  USED  VMS\n"
                   "node1  up     8      3     16G     2.5G  2\n"
                   "node2  down   4      0     8G      0M    0\n");
    free (text);
    text = s_test_print (MAEKINSH_OUT_JSON, &maekinsh_host_table, host_pages, 1, NULL);
    s_test_json_is (text, "[h['name'] for h in d['hosts']]", "[\"node1\", \"node2\"]");
    s_test_json_is (text, "d['hosts'][0]['memory_mb_used']", "2560");
    s_test_json_is (text, "d['hosts'][0]['uri']", "\"test:///var/maekin/node1.xml\"");
    free (text);
    text = s_test_print (MAEKINSH_OUT_XML, &maekinsh_host_table, host_pages, 1, NULL);
    s_test_xml_is (text, "HostListReply", "hosts/vcpus_used", "3");
    s_test_xml_is (text, "HostListReply", "hosts/last_seen", "1700000000");
    free (text);
}

static void
s_test_templates (void)
{
    char *text;
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
    text = s_test_print (MAEKINSH_OUT_TABLE, &maekinsh_template_table, created_reply, 1, NULL);
    s_test_expect ("template created", text, "created: template tiny\n");
    free (text);
    Maekin__TemplateShowReply shown = MAEKIN__TEMPLATE_SHOW_REPLY__INIT;
    shown.template_ = &tiny;
    Maekin__Envelope shown_env = MAEKIN__ENVELOPE__INIT;
    shown_env.body_case = MAEKIN__ENVELOPE__BODY_TEMPLATE_SHOW_REPLY;
    shown_env.template_show_reply = &shown;
    Maekin__Envelope *shown_reply[] = {&shown_env};
    text = s_test_print (MAEKINSH_OUT_TABLE, &maekinsh_template_table, shown_reply, 1, NULL);
    s_test_expect ("template lines", text,
                   "name: tiny\nvcpus: 1\nmemory_mb: 64\ndisk_gb: 0\nimage: \n"
                   "os_type: linux\nnetwork: \nkernel: /boot/vmlinuz\n"
                   "initrd: /boot/initrd.img\ncmdline: console=ttyS0 quiet\n"
                   "created: 2023-11-14 22:13:20\nvi: \n");
    free (text);
    text = s_test_print (MAEKINSH_OUT_JSON, &maekinsh_template_table, shown_reply, 1, NULL);
    s_test_json_is (text,
                    "(d['name'], d['memory_mb'], d['cmdline'], d['template'] "
                    "if 'template' in d else None)",
                    "[\"tiny\", 64, \"console=ttyS0 quiet\", null]");
    free (text);
    text = s_test_print (MAEKINSH_OUT_XML, &maekinsh_template_table, shown_reply, 1, NULL);
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
    text = s_test_print (MAEKINSH_OUT_TABLE, &maekinsh_template_table, template_pages, 1, NULL);
    s_test_expect ("template table", text,
                   "NAME  VI  VCPUS  MEMORY  DISK  IMAGE  OS     NETWORK\n"
                   "tiny  -   1      64M     -     -      linux  -\n");
    free (text);
    text = s_test_print (MAEKINSH_OUT_XML, &maekinsh_template_table, template_pages, 1, NULL);
    s_test_xml_is (text, "TemplateListReply", "templates/os_type", "linux");
    free (text);
}

static void
s_test_events_errors (void)
{
    char *text;
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
    text = s_test_print (MAEKINSH_OUT_TABLE, &maekinsh_event_table, since_pages, 1, NULL);
    s_test_expect ("event table", text,
                   "SEQ  TIME                 SUBJECT  STATE    TASK  DETAIL\n"
                   "7    2023-11-14 22:13:20  web-1    running  12    -\n");
    free (text);
    text = s_test_print (MAEKINSH_OUT_JSON, &maekinsh_event_table, since_pages, 1, NULL);
    s_test_json_is (text, "(d['events'][0]['time_us'], d['last'])", "[1700000000123456, 7]");
    free (text);

    //  An error: one line on err; a document too for programs.
    capture_t capture;
    maekinsh_out_format_t formats[] = {MAEKINSH_OUT_TABLE, MAEKINSH_OUT_JSON, MAEKINSH_OUT_XML};
    for (int i = 0; i < 3; i++) {
        s_capture_open (&capture, formats[i]);
        maekinsh_out_error (capture.self, 404, "no vm '%s'\n(in \"%s\")", "ghost", "vi\x1b[2J");
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
}

//  Accepted, progress, the end of a wait, a deletion.
static void
s_test_ends (void)
{
    Maekin__Vm vms[3];
    s_test_vms (vms);
    Maekin__Task task;
    s_test_task (&task);
    capture_t capture;
    Maekin__Vm placed = vms[0];
    placed.state = "creating";
    Maekin__TaskAccepted accepted = MAEKIN__TASK_ACCEPTED__INIT;
    accepted.task_id = 12;
    accepted.vm = &placed;
    s_capture_open (&capture, MAEKINSH_OUT_TABLE);
    maekinsh_out_accepted (capture.self, MAEKIN__VM_OP__VM_OP_CREATE, "web-1", &accepted, false);
    accepted.vm = NULL;
    maekinsh_out_accepted (capture.self, MAEKIN__VM_OP__VM_OP_STOP, "web-1", &accepted, true);
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
    s_test_expect ("progress and failures", capture.err_text,
                   "task 12 (create web-1): dispatched\n"
                   "maekinsh: task 12 (create web-1 on node1) failed: libvirt: no space left\n"
                   "maekinsh: task 12 (create web-1 on node1) is still running after 300 s; "
                   "it goes on: follow it with `maekinsh task wait 12`\n");
    s_capture_free (&capture);

    accepted.vm = &placed;
    s_capture_open (&capture, MAEKINSH_OUT_JSON);
    maekinsh_out_accepted (capture.self, MAEKIN__VM_OP__VM_OP_CREATE, "web-1", &accepted, false);
    s_capture_close (&capture);
    s_test_json_is (capture.out_text, "(d['task_id'], d['vm']['name'], d['vm']['host'])",
                    "[12, \"web-1\", \"node1\"]");
    //  What maekinsh prints for programs, mk_codec reads back as the message it was.
    ProtobufCMessage *read = NULL;
    char *why = NULL;
    assert (mk_codec_read (&maekin__task_accepted__descriptor, MK_CODEC_JSON, capture.out_text,
                           capture.out_size, &read, &why)
            == 0);
    assert (((Maekin__TaskAccepted *) read)->task_id == 12);
    assert (streq (((Maekin__TaskAccepted *) read)->vm->state, "creating"));
    protobuf_c_message_free_unpacked (read, NULL);
    s_capture_free (&capture);
    s_capture_open (&capture, MAEKINSH_OUT_XML);
    maekinsh_out_accepted (capture.self, MAEKIN__VM_OP__VM_OP_CREATE, "web-1", &accepted, false);
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
    s_test_json_is (capture.out_text, "d",
                    "{\"kind\": \"template\", \"name\": \"tiny\", "
                    "\"deleted\": true}");
    s_capture_free (&capture);
}

void
maekinsh_out_test (bool verbose)
{
    //  Times are shown in local time: make it the same everywhere.
    char *saved_tz = getenv ("TZ") ? strdup (getenv ("TZ")) : NULL;
    setenv ("TZ", "UTC", 1);
    tzset ();
    s_test_basics ();
    s_test_vm_lists (verbose);
    s_test_tasks (verbose);
    s_test_nested ();
    s_test_hosts ();
    s_test_templates ();
    s_test_events_errors ();
    s_test_ends ();
    if (saved_tz)
        setenv ("TZ", saved_tz, 1);
    else
        unsetenv ("TZ");
    tzset ();
    free (saved_tz);
}
