/*  controller_reply: the replies a batch builds, the arena their messages live in until
    they are packed, messages made from rows, and the one way every list is answered. */
#include "controller_core.h"

#include <stdarg.h>
#include <stddef.h>

#define BLOCK_SIZE (64 * 1024)

typedef struct controller_block_s {
    struct controller_block_s *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} block_t;

//  `size` bytes from the blocks, not zeroed.
static void *
s_bump (controller_t *self, size_t size)
{
    size = (size + 15) & ~(size_t) 15;
    block_t *block = self->blocks;
    if (!block || block->used + size > block->size) {
        size_t room = size > BLOCK_SIZE ? size : BLOCK_SIZE;
        block_t *fresh = (block_t *) malloc (sizeof (block_t) + room);
        if (!fresh)
            abort ();
        fresh->used = 0;
        fresh->size = room;
        fresh->next = block; //  the newest first
        self->blocks = block = fresh;
    }
    void *memory = block->data + block->used;
    block->used += size;
    return memory;
}

void *
controller_arena_new (controller_t *self, size_t size)
{
    return memset (s_bump (self, size), 0, size);
}

char *
controller_arena_str (controller_t *self, const char *text)
{
    size_t length = text ? strlen (text) : 0;
    char *copy = (char *) s_bump (self, length + 1);
    memcpy (copy, text ? text : "", length);
    copy[length] = 0;
    return copy;
}

char *
controller_arena_strf (controller_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    int length = vsnprintf (NULL, 0, format, args);
    va_end (args);
    assert (length >= 0);
    char *text = (char *) s_bump (self, (size_t) length + 1);
    va_start (args, format);
    vsnprintf (text, (size_t) length + 1, format, args);
    va_end (args);
    return text;
}

void
controller_arena_reset (controller_t *self)
{
    zlistx_purge (self->arena);
    //  The oldest block stays for the next reply: most replies fit in it.
    while (self->blocks && self->blocks->next) {
        block_t *next = self->blocks->next;
        free (self->blocks);
        self->blocks = next;
    }
    if (self->blocks)
        self->blocks->used = 0;
}

void
controller_arena_destroy (controller_t *self)
{
    zlistx_destroy (&self->arena);
    while (self->blocks) {
        block_t *next = self->blocks->next;
        free (self->blocks);
        self->blocks = next;
    }
}

void
controller_reply_queue (controller_t *self, uint64_t token, zframe_t **body_p)
{
    outgoing_t *out = (outgoing_t *) zmalloc (sizeof (outgoing_t));
    out->token = token;
    out->body = *body_p;
    *body_p = NULL;
    zlistx_add_end (self->out, out);
}

const char *
controller_request_key (controller_t *self, const Maekin__Envelope *env, char *key)
{
    const char *id = env->request_id ? env->request_id : "";
    if (!self->caller.user)
        return id;
    //  The user's id and the request id: one user's ids can neither meet nor reveal
    //  another's. Not hashed: ids a client gives in order (maekinsh's are time-ordered
    //  UUIDs) stay in order in the requests table's index, whose inserts then touch few
    //  pages; a hash would scatter every insert over the whole index.
    snprintf (key, CONTROLLER_REQUEST_KEY_MAX, "%" PRId64 "/%s", self->caller.user->id, id);
    return key;
}

//  Queue the reply to a request; a mutating request's answer is remembered by its id.
void
controller_reply (controller_t *self, const mk_request_t *request, Maekin__Envelope *reply)
{
    reply->version = MK_MSG_VERSION;
    if (self->audited)
        controller_audit_write (self, reply->status, reply->reason);
    zframe_t *frame = mk_msg_pack (reply);
    char scoped[CONTROLLER_REQUEST_KEY_MAX];
    const char *id = controller_request_key (self, request->env, scoped);
    if (self->fingerprint && reply->status < 500) {
        if (store_request_save (self->db, id, self->fingerprint, zframe_data (frame),
                                zframe_size (frame))
            == -1)
            self->failed = true;
        mk_bloom_add (self->request_ids, id);
    }
    controller_reply_queue (self, request->token, &frame);
    controller_arena_reset (self);
}

//  Queue a reply holding one message of the envelope's oneof. protobuf-c keeps the oneof's
//  members in one union, so the message is stored once whatever its type; body says which.
_Static_assert(offsetof (Maekin__Envelope, host_list)
                   == offsetof (Maekin__Envelope, events_since_reply),
               "the envelope's oneof members share one place");

void
controller_reply_body (controller_t *self, const mk_request_t *request, int status,
                       Maekin__Envelope__BodyCase body, void *message)
{
    Maekin__Envelope reply = MAEKIN__ENVELOPE__INIT;
    reply.status = status;
    reply.body_case = body;
    reply.host_list = (Maekin__HostListRequest *) message;
    controller_reply (self, request, &reply);
}

void
controller_reply_status (controller_t *self, const mk_request_t *request, int status,
                         const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *reason = zsys_vprintf (format, args);
    va_end (args);
    Maekin__Envelope reply = MAEKIN__ENVELOPE__INIT;
    reply.status = status;
    reply.reason = reason;
    controller_reply (self, request, &reply);
    free (reason);
}

//  A database error: the batch will be rolled back; the client hears 503 then.
void
controller_reply_db_error (controller_t *self, const mk_request_t *request)
{
    self->failed = true;
    controller_reply_status (self, request, MK_UNAVAILABLE, "database error: %s",
                             mk_db_error (self->db));
}

//  ---------------------------------------------------------------- messages from rows

Maekin__Task *
controller_msg_task (controller_t *self, const store_task_t *row)
{
    Maekin__Task *task = (Maekin__Task *) controller_arena_new (self, sizeof (Maekin__Task));
    maekin__task__init (task);
    task->id = row->id;
    char vi[64];
    const char *name;
    store_vm_split (row->vm, vi, &name);
    task->vm = controller_arena_str (self, name);
    task->vi = controller_arena_str (self, vi);
    task->host = controller_arena_str (self, row->host);
    task->op = (Maekin__VmOp) row->op;
    task->state = controller_arena_str (self, row->state);
    //  An open task's state and attempts as the controller holds them (see
    //  controller_task_progress).
    const inflight_t *open = (const inflight_t *) zhashx_lookup (self->inflight, ID_KEY (row->id));
    if (open) {
        task->state = (char *) controller_fsm_task_name (open->state);
        task->attempts = open->attempts;
    }
    task->error = controller_arena_str (self, row->error);
    task->created = row->created;
    task->updated = row->updated;
    if (!open)
        task->attempts = row->attempts;
    return task;
}

Maekin__Vm *
controller_msg_vm (controller_t *self, const store_vm_t *row)
{
    Maekin__Vm *vm = (Maekin__Vm *) controller_arena_new (self, sizeof (Maekin__Vm));
    maekin__vm__init (vm);
    char vi[64];
    const char *name;
    store_vm_split (row->name, vi, &name);
    vm->name = controller_arena_str (self, name);
    vm->vi = controller_arena_str (self, vi);
    vm->uuid = controller_arena_str (self, row->uuid);
    vm->template_ = controller_arena_str (self, row->template_);
    vm->host = controller_arena_str (self, row->host);
    vm->state = controller_arena_str (self, row->state);
    vm->vcpus = row->spec.vcpus;
    vm->memory_mb = row->spec.memory_mb;
    vm->created = row->created;
    vm->last_task = row->last_task;
    vm->mac = controller_arena_str (self, row->mac);
    const char *ip = controller_pools_ip_of (self->pools, row->name, NULL);
    vm->ip = ip ? controller_arena_str (self, ip) : (char *) "";
    return vm;
}

Maekin__Template *
controller_msg_template (controller_t *self, const store_template_t *row)
{
    Maekin__Template *t =
        (Maekin__Template *) controller_arena_new (self, sizeof (Maekin__Template));
    maekin__template__init (t);
    char vi[64];
    const char *name;
    store_template_split (row->name, vi, &name);
    t->name = controller_arena_str (self, name);
    t->vi = controller_arena_str (self, vi);
    t->vcpus = row->spec.vcpus;
    t->memory_mb = row->spec.memory_mb;
    t->disk_gb = row->spec.disk_gb;
    t->image = controller_arena_str (self, row->spec.image);
    t->os_type = controller_arena_str (self, row->spec.os_type);
    t->network = controller_arena_str (self, row->spec.network);
    t->kernel = controller_arena_str (self, row->spec.kernel);
    t->initrd = controller_arena_str (self, row->spec.initrd);
    t->cmdline = controller_arena_str (self, row->spec.cmdline);
    t->created = row->created;
    return t;
}

Maekin__Host *
controller_msg_host (controller_t *self, const sched_host_t *row)
{
    Maekin__Host *host = (Maekin__Host *) controller_arena_new (self, sizeof (Maekin__Host));
    maekin__host__init (host);
    host->name = controller_arena_str (self, row->name);
    host->state = controller_arena_str (self, controller_sched_state (row));
    host->vcpus = row->vcpus;
    host->memory_mb = row->memory_mb;
    host->vcpus_used = row->vcpus_used;
    host->memory_mb_used = row->memory_mb_used;
    host->vm_count = row->vm_count;
    host->last_seen = row->last_seen;
    host->uri = controller_arena_str (self, row->uri);
    host->cpu_busy_pct = row->cpu_busy_pct;
    host->memory_used_mb = row->memory_used_mb;
    host->load1_x100 = row->load1_x100;
    host->sampled = row->sampled;
    return host;
}

//  ---------------------------------------------------------------- lists

int
controller_list_page (controller_t *self, const mk_request_t *request,
                      const Maekin__ListRequest *page, const char *const *states,
                      bool (*cursor_ok) (const char *), store_page_t *result)
{
    *result = (store_page_t){.limit = MK_LIST_DEFAULT, .after = "", .state = ""};
    if (!page)
        return 0;
    if (page->limit > MK_LIST_MAX) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "a page holds at most %d items; %u asked", MK_LIST_MAX,
                                 page->limit);
        return -1;
    }
    const char *state = page->filter_state ? page->filter_state : "";
    if (*state) {
        bool known = false;
        for (const char *const *s = states; s && *s && !known; s++)
            known = streq (*s, state);
        if (!known) {
            char *allowed = NULL;
            for (const char *const *s = states; s && *s; s++) {
                char *longer =
                    zsys_sprintf ("%s%s%s", allowed ? allowed : "", allowed ? ", " : "", *s);
                free (allowed);
                allowed = longer;
            }
            controller_reply_status (self, request, MK_BAD_REQUEST,
                                     "no state '%.64s' to filter by (%s)", state,
                                     allowed ? allowed : "this list has no states");
            free (allowed);
            return -1;
        }
    }
    const char *after = page->after ? page->after : "";
    if (*after && !cursor_ok (after)) {
        controller_reply_status (self, request, MK_BAD_REQUEST,
                                 "'%.64s' is not a cursor of this list: give the 'next' of "
                                 "the page before, or none for the first page",
                                 after);
        return -1;
    }
    if (page->limit)
        result->limit = page->limit;
    result->after = after;
    result->host = page->filter_host;
    result->state = state;
    result->prefix = page->filter_name;
    return 0;
}

typedef struct {
    controller_t *self;
    controller_msg_fn *msg;
    void **items;
    size_t count;
} collect_t;

static void
s_collect (const void *row, void *arg)
{
    collect_t *c = (collect_t *) arg;
    c->items[c->count++] = c->msg (c->self, row);
}

//  The reply's repeated field of items and its `next`, found by protobuf-c's descriptor:
//  every list reply is such a message, so a new list needs no code here.
void
controller_list_reply (controller_t *self, const mk_request_t *request, const store_page_t *page,
                       controller_list_fn *list, controller_msg_fn *msg,
                       controller_cursor_fn *cursor, Maekin__Envelope__BodyCase body)
{
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field (&maekin__envelope__descriptor, (unsigned) body);
    assert (field && field->type == PROTOBUF_C_TYPE_MESSAGE);
    const ProtobufCMessageDescriptor *type = (const ProtobufCMessageDescriptor *) field->descriptor;
    const ProtobufCFieldDescriptor *items = NULL, *next = NULL;
    for (unsigned i = 0; i < type->n_fields; i++) {
        if (type->fields[i].label == PROTOBUF_C_LABEL_REPEATED)
            items = &type->fields[i];
        else if (streq (type->fields[i].name, "next"))
            next = &type->fields[i];
    }
    assert (items && next && next->type == PROTOBUF_C_TYPE_STRING);
    collect_t c = {self, msg, (void **) controller_arena_new (self, page->limit * sizeof (void *)),
                   0};
    if (list (self->db, page, s_collect, &c) < 0) {
        controller_reply_db_error (self, request);
        return;
    }
    ProtobufCMessage *reply =
        (ProtobufCMessage *) controller_arena_new (self, type->sizeof_message);
    protobuf_c_message_init (type, reply);
    *(size_t *) ((char *) reply + items->quantifier_offset) = c.count;
    *(void ***) ((char *) reply + items->offset) = c.items;
    if (c.count == page->limit)
        *(char **) ((char *) reply + next->offset) = cursor (self, c.items[c.count - 1]);
    controller_reply_body (self, request, MK_OK, body, reply);
}
