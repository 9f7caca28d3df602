/*  gateway_bus: civetweb's threads ask, the actor sends and receives. See gateway_bus.h.
    One mutex guards the queue of requests to send and the table of waiting calls; a
    waiting thread sleeps on its own condition variable, on its own stack, and the actor
    touches a call only while it is in the table, under the mutex. */
#include "gateway_bus.h"

#include "mk_client.h"
#include "mk_msg.h"

#include <errno.h>
#include <pthread.h>
#include <sys/eventfd.h>

//  A thread waiting for its reply (on the thread's stack).
typedef struct {
    pthread_cond_t cond;     //  signalled when done or progressed
    Maekin__Envelope *reply; //  the reply, once done: the broker's error or ours, or
    zframe_t *body;          //  ... the service's, packed (the waiting thread unpacks it)
    bool broker;             //  the reply was made by the broker
    bool done;               //  reply is set
    bool progressed;         //  a progress message came: the wait starts again
} call_t;

//  A request queued for the actor to send.
typedef struct out_s {
    struct out_s *next;
    uint64_t corr;
    char service[64];
    zframe_t *frame; //  the packed envelope
} out_t;

struct _gateway_bus_t {
    mk_client_t *client;  //  the one bus connection; the actor's alone
    int wake_fd;          //  an eventfd: written when the queue stops being empty
    pthread_mutex_t lock; //  guards what follows
    out_t *head, *tail;   //  the requests to send, in order
    zhashx_t *waiting;    //  correlation id -> call_t *
    uint64_t next_corr;   //  the last correlation id given
    bool closed;          //  stopping: every call is answered unavailable
    uint64_t sent, taken; //  requests sent, final replies taken
};

static size_t
s_corr_hash (const void *key)
{
    uint64_t corr = (uint64_t) (uintptr_t) key;
    return (size_t) (corr * 0x9E3779B97F4A7C15ULL >> 16);
}

static int
s_corr_compare (const void *a, const void *b)
{
    return a == b ? 0 : (uintptr_t) a < (uintptr_t) b ? -1 : 1;
}

gateway_bus_t *
gateway_bus_new (const char *endpoint)
{
    gateway_bus_t *self = (gateway_bus_t *) zmalloc (sizeof (gateway_bus_t));
    self->client = mk_client_new (endpoint);
    //  Replies stay packed for the threads to unpack: the actor only hands them on.
    if (self->client)
        mk_client_set_packed (self->client, true);
    self->wake_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!self->client || self->wake_fd < 0) {
        mk_error ("gateway_bus: cannot make the bus client for '%s'", endpoint);
        gateway_bus_destroy (&self);
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    self->waiting = zhashx_new ();
    zhashx_set_key_hasher (self->waiting, s_corr_hash);
    zhashx_set_key_comparator (self->waiting, s_corr_compare);
    zhashx_set_key_duplicator (self->waiting, NULL);
    zhashx_set_key_destructor (self->waiting, NULL);
    return self;
}

void
gateway_bus_destroy (gateway_bus_t **self_p)
{
    gateway_bus_t *self = *self_p;
    if (!self)
        return;
    if (self->waiting) {
        gateway_bus_close (self);
        zhashx_destroy (&self->waiting);
        pthread_mutex_destroy (&self->lock);
    }
    while (self->head) {
        out_t *out = self->head;
        self->head = out->next;
        zframe_destroy (&out->frame);
        free (out);
    }
    if (self->wake_fd >= 0)
        close (self->wake_fd);
    mk_client_destroy (&self->client);
    free (self);
    *self_p = NULL;
}

//  Under the lock: the call waiting for corr gets its answer (taken: an envelope or a
//  packed body), if it still waits.
static void
s_answer (gateway_bus_t *self, uint64_t corr, Maekin__Envelope **reply_p, zframe_t **body_p,
          bool broker)
{
    call_t *call = (call_t *) zhashx_lookup (self->waiting, (void *) (uintptr_t) corr);
    if (call) {
        call->reply = *reply_p;
        *reply_p = NULL;
        if (body_p) {
            call->body = *body_p;
            *body_p = NULL;
        }
        call->broker = broker;
        call->done = true;
        zhashx_delete (self->waiting, (void *) (uintptr_t) corr);
        pthread_cond_signal (&call->cond);
    }
    mk_msg_free (reply_p); //  nobody waits any more: given up, or closed
    if (body_p)
        zframe_destroy (body_p);
}

static void
s_send_queued (gateway_bus_t *self)
{
    //  The wake-up is read before the queue is taken: a request queued after this
    //  writes it again, so none waits unseen.
    uint64_t count;
    if (read (self->wake_fd, &count, sizeof count) < 0 && errno != EAGAIN)
        mk_warn ("gateway_bus: reading the wake-up: %s", strerror (errno));
    pthread_mutex_lock (&self->lock);
    out_t *out = self->head;
    self->head = self->tail = NULL;
    pthread_mutex_unlock (&self->lock);
    while (out) {
        out_t *next = out->next;
        if (mk_client_send_frame_as (self->client, out->service, out->corr, &out->frame) == 0)
            self->sent++;
        else {
            Maekin__Envelope *refused = mk_msg_new_status (
                MK_UNAVAILABLE, "the gateway cannot reach the bus now; retry in a moment");
            pthread_mutex_lock (&self->lock);
            s_answer (self, out->corr, &refused, NULL, true);
            pthread_mutex_unlock (&self->lock);
        }
        zframe_destroy (&out->frame);
        free (out);
        out = next;
    }
}

static void
s_take_replies (gateway_bus_t *self)
{
    mk_reply_t reply;
    while (mk_client_recv (self->client, &reply, 0) == 0) {
        pthread_mutex_lock (&self->lock);
        if (reply.progress) {
            call_t *call =
                (call_t *) zhashx_lookup (self->waiting, (void *) (uintptr_t) reply.corr);
            if (call) {
                call->progressed = true;
                pthread_cond_signal (&call->cond);
            }
        } else {
            self->taken++;
            s_answer (self, reply.corr, &reply.env, &reply.body, reply.broker);
        }
        pthread_mutex_unlock (&self->lock);
        mk_reply_clear (&reply);
    }
}

static int
s_on_wake (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    s_send_queued ((gateway_bus_t *) arg);
    return 0;
}

static int
s_on_replies (zloop_t *loop, zsock_t *sock, void *arg)
{
    s_take_replies ((gateway_bus_t *) arg);
    return 0;
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    mk_client_tick (((gateway_bus_t *) arg)->client);
    return 0;
}

int
gateway_bus_attach (gateway_bus_t *self, zloop_t *loop)
{
    zmq_pollitem_t wake = {NULL, self->wake_fd, ZMQ_POLLIN, 0};
    if (zloop_poller (loop, &wake, s_on_wake, self) != 0
        || zloop_reader (loop, mk_client_sock (self->client), s_on_replies, self) != 0
        || zloop_timer (loop, 200, 0, s_on_tick, self) < 0)
        return -1;
    return 0;
}

//  ------------------------------------------------------------------ a reply's memory

//  A reply is unpacked into blocks of its own and freed at once (gateway_bus_reply_free):
//  a page of 100 VMs is a thousand strings, each a malloc and a free otherwise.
#define ALIGN(size) (((size) + 15) & ~(size_t) 15)

typedef struct block_s {
    struct block_s *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} block_t;

typedef struct {
    ProtobufCAllocator allocator; //  protobuf-c's view of it
    block_t *first, *current;
} arena_t;

static block_t *
s_block_new (size_t size)
{
    block_t *block = (block_t *) malloc (sizeof (block_t) + size);
    if (!block)
        abort ();
    block->next = NULL;
    block->used = 0;
    block->size = size;
    return block;
}

static void *
s_arena_alloc (void *data, size_t size)
{
    arena_t *arena = (arena_t *) data;
    size = ALIGN (size);
    block_t *block = arena->current;
    if (block->used + size > block->size) {
        block = s_block_new (size > block->size * 2 ? size : block->size * 2);
        arena->current->next = block;
        arena->current = block;
    }
    void *memory = block->data + block->used;
    block->used += size;
    return memory;
}

static void
s_arena_free (void *data, void *memory)
{
    //  Everything goes at once, with the arena.
}

//  The envelope packed in `data` unpacked into an arena: the envelope, which is the
//  arena's first allocation after the arena itself, or NULL.
static Maekin__Envelope *
s_arena_unpack (const void *data, size_t size, const char **why)
{
    block_t *block = s_block_new (ALIGN (sizeof (arena_t)) + 1024 + 8 * size);
    arena_t *arena = (arena_t *) block->data;
    block->used = ALIGN (sizeof (arena_t));
    arena->allocator = (ProtobufCAllocator){s_arena_alloc, s_arena_free, arena};
    arena->first = arena->current = block;
    Maekin__Envelope *env =
        maekin__envelope__unpack (&arena->allocator, size, (const uint8_t *) data);
    //  As mk_msg_unpack judges an envelope.
    if (!env)
        *why = "malformed protobuf envelope";
    else if (env->version == 0)
        *why = "malformed envelope: it has no version (this program speaks version 1)";
    else if (env->version != MK_MSG_VERSION)
        *why = mk_msg_other_version;
    if (env && env->version != MK_MSG_VERSION)
        env = NULL;
    if (!env) {
        Maekin__Envelope *none =
            (Maekin__Envelope *) (arena->first->data + ALIGN (sizeof (arena_t)));
        gateway_bus_reply_free (&none);
        return NULL;
    }
    assert ((unsigned char *) env == block->data + ALIGN (sizeof (arena_t)));
    return env;
}

void
gateway_bus_reply_free (Maekin__Envelope **reply_p)
{
    if (!*reply_p)
        return;
    arena_t *arena = (arena_t *) ((unsigned char *) *reply_p - ALIGN (sizeof (arena_t)));
    for (block_t *block = arena->first, *next; block; block = next) {
        next = block->next;
        free (block);
    }
    *reply_p = NULL;
}

//  An envelope made here (a status, a broker's error) into an arena, as replies are.
static Maekin__Envelope *
s_arena_copy (Maekin__Envelope **env_p)
{
    (*env_p)->version = MK_MSG_VERSION;
    size_t size = maekin__envelope__get_packed_size (*env_p);
    uint8_t *packed = (uint8_t *) malloc (size + 1);
    if (!packed)
        abort ();
    maekin__envelope__pack (*env_p, packed);
    const char *why = NULL;
    Maekin__Envelope *copy = s_arena_unpack (packed, size, &why);
    free (packed);
    assert (copy);
    mk_msg_free (env_p);
    return copy;
}

//  A deadline timeout_ms from now on CLOCK_MONOTONIC, which the calls' conditions use.
static struct timespec
s_deadline (int timeout_ms)
{
    struct timespec at;
    clock_gettime (CLOCK_MONOTONIC, &at);
    at.tv_sec += timeout_ms / 1000;
    at.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
    if (at.tv_nsec >= 1000000000L) {
        at.tv_sec++;
        at.tv_nsec -= 1000000000L;
    }
    return at;
}

Maekin__Envelope *
gateway_bus_call (gateway_bus_t *self, const char *service, Maekin__Envelope *env, int timeout_ms,
                  bool *broker)
{
    assert (self && service && env && broker);
    assert (strlen (service) < sizeof ((out_t *) 0)->service);
    *broker = false;
    out_t *out = (out_t *) zmalloc (sizeof (out_t));
    snprintf (out->service, sizeof out->service, "%s", service);
    out->frame = mk_msg_pack (env);

    call_t call;
    memset (&call, 0, sizeof call);
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_cond_init (&call.cond, &attr);
    pthread_condattr_destroy (&attr);

    pthread_mutex_lock (&self->lock);
    if (self->closed) {
        pthread_mutex_unlock (&self->lock);
        pthread_cond_destroy (&call.cond);
        zframe_destroy (&out->frame);
        free (out);
        *broker = true;
        Maekin__Envelope *stopping =
            mk_msg_new_status (MK_UNAVAILABLE, "the gateway is stopping; retry");
        return s_arena_copy (&stopping);
    }
    out->corr = ++self->next_corr;
    zhashx_insert (self->waiting, (void *) (uintptr_t) out->corr, &call);
    bool wake = self->head == NULL;
    if (self->tail)
        self->tail->next = out;
    else
        self->head = out;
    self->tail = out;
    uint64_t corr = out->corr; //  out is the actor's from here
    pthread_mutex_unlock (&self->lock);
    if (wake && write (self->wake_fd, &(uint64_t){1}, sizeof (uint64_t)) < 0)
        mk_warn ("gateway_bus: waking the actor: %s", strerror (errno));

    struct timespec deadline = s_deadline (timeout_ms);
    pthread_mutex_lock (&self->lock);
    while (!call.done) {
        int rc = pthread_cond_timedwait (&call.cond, &self->lock, &deadline);
        if (call.progressed) {
            call.progressed = false;
            deadline = s_deadline (timeout_ms);
        } else if (rc == ETIMEDOUT)
            break;
    }
    if (!call.done) //  its reply, if one comes, finds nobody waiting
        zhashx_delete (self->waiting, (void *) (uintptr_t) corr);
    pthread_mutex_unlock (&self->lock);
    pthread_cond_destroy (&call.cond);
    if (!call.done) {
        Maekin__Envelope *late =
            mk_msg_new_status (MK_TIMEOUT,
                               "the cloud did not answer within %d ms; a change may or may "
                               "not have been made: retry with the same Idempotency-Key",
                               timeout_ms);
        return s_arena_copy (&late);
    }
    *broker = call.broker;
    if (!call.body)
        return s_arena_copy (&call.reply);
    const char *why = NULL;
    Maekin__Envelope *reply =
        s_arena_unpack (zframe_data (call.body), zframe_size (call.body), &why);
    zframe_destroy (&call.body);
    if (!reply) {
        Maekin__Envelope *bad =
            mk_msg_new_status (MK_INTERNAL, "the cloud's answer is not one: %s", why);
        reply = s_arena_copy (&bad);
    }
    return reply;
}

void
gateway_bus_close (gateway_bus_t *self)
{
    pthread_mutex_lock (&self->lock);
    self->closed = true;
    zlistx_t *corrs = zhashx_keys (self->waiting);
    for (void *key = zlistx_first (corrs); key; key = zlistx_next (corrs)) {
        Maekin__Envelope *stopping =
            mk_msg_new_status (MK_UNAVAILABLE, "the gateway is stopping; retry");
        s_answer (self, (uint64_t) (uintptr_t) key, &stopping, NULL, true);
    }
    zlistx_destroy (&corrs);
    pthread_mutex_unlock (&self->lock);
}

void
gateway_bus_stats (gateway_bus_t *self, uint64_t *sent, uint64_t *taken, size_t *waiting)
{
    pthread_mutex_lock (&self->lock);
    *sent = self->sent;
    *taken = self->taken;
    *waiting = zhashx_size (self->waiting);
    pthread_mutex_unlock (&self->lock);
}
