/*  monitor_dgram: the monitor's multicast datagrams (monitor_dgram.h). */
#include "monitor_dgram.h"

#include "mk_hash.h"

#include <sodium.h>

#define S_VERSION     1
#define S_FLAG_SIGNED 0x01

static void
s_put64 (uint8_t *at, uint64_t value)
{
    for (int i = 7; i >= 0; i--, value >>= 8)
        at[i] = (uint8_t) value;
}

static uint64_t
s_get64 (const uint8_t *at)
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value = value << 8 | at[i];
    return value;
}

static uint64_t
s_hash64 (const char *kind, const char *name)
{
    //  Kind and name both hashed, so that a cloud and a node of one name differ.
    crypto_generichash_state state;
    uint8_t digest[crypto_generichash_BYTES_MIN];
    crypto_generichash_init (&state, NULL, 0, sizeof digest);
    crypto_generichash_update (&state, (const unsigned char *) kind, strlen (kind) + 1);
    crypto_generichash_update (&state, (const unsigned char *) name, strlen (name));
    crypto_generichash_final (&state, digest, sizeof digest);
    return s_get64 (digest);
}

uint64_t
monitor_dgram_sender (const char *node)
{
    return s_hash64 ("node", node);
}

uint64_t
monitor_dgram_cloud (const char *name)
{
    return s_hash64 ("cloud", name);
}

size_t
monitor_dgram_pack (uint64_t cloud, uint64_t sender, uint64_t seq, const void *payload,
                    size_t payload_size, const uint8_t *key, uint8_t *out, size_t size)
{
    size_t signed_size = MONITOR_DGRAM_HEADER + payload_size + 2;
    size_t total = signed_size + (key ? MONITOR_DGRAM_SIG : 0);
    if (payload_size > UINT16_MAX || total > MONITOR_DGRAM_MAX || total > size)
        return 0;
    out[0] = 'M';
    out[1] = 'K';
    out[2] = S_VERSION;
    out[3] = key ? S_FLAG_SIGNED : 0;
    s_put64 (out + 4, cloud);
    s_put64 (out + 12, sender);
    s_put64 (out + 20, seq);
    out[28] = (uint8_t) (payload_size >> 8);
    out[29] = (uint8_t) payload_size;
    memcpy (out + MONITOR_DGRAM_HEADER, payload, payload_size);
    out[MONITOR_DGRAM_HEADER + payload_size] = 0;
    out[MONITOR_DGRAM_HEADER + payload_size + 1] = key ? MONITOR_DGRAM_SIG : 0;
    if (key)
        crypto_auth (out + signed_size, out, signed_size, key);
    return total;
}

//  ---------------------------------------------------------------- the filter

typedef struct {
    uint64_t id;      //  the key: the table hashes and compares these 8 bytes
    uint64_t seq;     //  the last sequence taken from it
    int64_t heard_us; //  when (the receiver's clock)
} s_sender_t;

struct _monitor_dgram_filter_t {
    uint64_t cloud;
    bool keyed; //  signatures checked with key
    uint8_t key[MONITOR_DGRAM_KEY];
    int64_t window_us;
    zhashx_t *senders; //  id -> s_sender_t
    uint64_t counts[MONITOR_DGRAM_VERDICTS];
};

//  Anyone on the group chooses the ids it sends: mk_hash, so that none can pile its ids
//  into one chain of the table.
static size_t
s_id_hash (const void *key)
{
    return mk_hash (key, sizeof (uint64_t));
}

static int
s_id_compare (const void *a, const void *b)
{
    return memcmp (a, b, sizeof (uint64_t));
}

monitor_dgram_filter_t *
monitor_dgram_filter_new (uint64_t cloud, int64_t window_ms, const uint8_t *key)
{
    assert (window_ms > 0);
    monitor_dgram_filter_t *self = (monitor_dgram_filter_t *) zmalloc (sizeof (*self));
    self->cloud = cloud;
    self->keyed = key != NULL;
    if (key)
        memcpy (self->key, key, MONITOR_DGRAM_KEY);
    self->window_us = window_ms * 1000;
    self->senders = zhashx_new ();
    zhashx_set_key_hasher (self->senders, s_id_hash);
    zhashx_set_key_comparator (self->senders, s_id_compare);
    zhashx_set_key_duplicator (self->senders, NULL);
    zhashx_set_key_destructor (self->senders, NULL);
    zhashx_set_destructor (self->senders, (zhashx_destructor_fn *) zstr_free);
    return self;
}

void
monitor_dgram_filter_destroy (monitor_dgram_filter_t **self_p)
{
    monitor_dgram_filter_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->senders);
    sodium_memzero (self->key, sizeof self->key);
    free (self);
    *self_p = NULL;
}

//  Forgets the senders not heard within the window: their next datagram would be stale
//  or newer than anything they sent before, so nothing is lost by forgetting them.
static void
s_forget_quiet (monitor_dgram_filter_t *self, int64_t now_us)
{
    zlistx_t *quiet = zlistx_new ();
    for (s_sender_t *sender = (s_sender_t *) zhashx_first (self->senders); sender;
         sender = (s_sender_t *) zhashx_next (self->senders))
        if (now_us - sender->heard_us > self->window_us)
            zlistx_add_end (quiet, sender);
    for (s_sender_t *sender = (s_sender_t *) zlistx_first (quiet); sender;
         sender = (s_sender_t *) zlistx_next (quiet)) {
        uint64_t id = sender->id; //  a copy: the item holding the key goes on the way
        zhashx_delete (self->senders, &id);
    }
    zlistx_destroy (&quiet);
}

static monitor_dgram_verdict_t
s_check (monitor_dgram_filter_t *self, const uint8_t *data, size_t size, int64_t now_us,
         const uint8_t **payload, size_t *payload_size)
{
    if (size < 4)
        return size >= 2 && data[0] == 'M' && data[1] == 'K' ? MONITOR_DGRAM_TRUNCATED
                                                             : MONITOR_DGRAM_MALFORMED;
    if (data[0] != 'M' || data[1] != 'K' || data[2] != S_VERSION || (data[3] & ~S_FLAG_SIGNED))
        return MONITOR_DGRAM_MALFORMED;
    bool signed_ = data[3] & S_FLAG_SIGNED;
    if (size < MONITOR_DGRAM_HEADER)
        return MONITOR_DGRAM_TRUNCATED;
    size_t n = (size_t) data[28] << 8 | data[29];
    if (size < MONITOR_DGRAM_HEADER + n + 2)
        return MONITOR_DGRAM_TRUNCATED;
    size_t m = (size_t) data[MONITOR_DGRAM_HEADER + n] << 8 | data[MONITOR_DGRAM_HEADER + n + 1];
    if (size < MONITOR_DGRAM_HEADER + n + 2 + m)
        return MONITOR_DGRAM_TRUNCATED;
    if (size > MONITOR_DGRAM_HEADER + n + 2 + m || m != (signed_ ? MONITOR_DGRAM_SIG : 0))
        return MONITOR_DGRAM_MALFORMED; //  bytes after the trailer, or a trailer unlike the flag
    if (s_get64 (data + 4) != self->cloud)
        return MONITOR_DGRAM_FOREIGN;
    if (self->keyed && !signed_)
        return MONITOR_DGRAM_UNSIGNED;
    if (self->keyed
        && crypto_auth_verify (data + MONITOR_DGRAM_HEADER + n + 2, data,
                               MONITOR_DGRAM_HEADER + n + 2, self->key)
               != 0)
        return MONITOR_DGRAM_FORGED;
    uint64_t id = s_get64 (data + 12), seq = s_get64 (data + 20);
    //  The sequence is the sender's clock: far from ours, it is a replay (or a clock
    //  that needs fixing, which the count shows).
    if (seq > (uint64_t) INT64_MAX || llabs ((int64_t) seq - now_us) > self->window_us)
        return MONITOR_DGRAM_STALE;
    s_sender_t *sender = (s_sender_t *) zhashx_lookup (self->senders, &id);
    if (sender && seq <= sender->seq)
        return MONITOR_DGRAM_REPLAYED;
    if (!sender) {
        if (zhashx_size (self->senders) >= MONITOR_DGRAM_SENDERS_MAX)
            s_forget_quiet (self, now_us);
        if (zhashx_size (self->senders) >= MONITOR_DGRAM_SENDERS_MAX)
            return MONITOR_DGRAM_CROWDED;
        sender = (s_sender_t *) zmalloc (sizeof (s_sender_t));
        sender->id = id;
        zhashx_insert (self->senders, &sender->id, sender);
    }
    sender->seq = seq;
    sender->heard_us = now_us;
    *payload = data + MONITOR_DGRAM_HEADER;
    *payload_size = n;
    return MONITOR_DGRAM_OK;
}

monitor_dgram_verdict_t
monitor_dgram_filter_check (monitor_dgram_filter_t *self, const uint8_t *data, size_t size,
                            int64_t now_us, const uint8_t **payload, size_t *payload_size)
{
    assert (self && (data || size == 0) && payload && payload_size);
    *payload = NULL;
    *payload_size = 0;
    monitor_dgram_verdict_t verdict = s_check (self, data, size, now_us, payload, payload_size);
    self->counts[verdict]++;
    return verdict;
}

uint64_t
monitor_dgram_filter_count (monitor_dgram_filter_t *self, monitor_dgram_verdict_t verdict)
{
    assert (verdict < MONITOR_DGRAM_VERDICTS);
    return self->counts[verdict];
}

const char *
monitor_dgram_verdict_name (monitor_dgram_verdict_t verdict)
{
    static const char *names[] = {"taken", "malformed", "truncated", "foreign", "replayed",
                                  "stale", "crowded",   "unsigned",  "forged"};
    return verdict < MONITOR_DGRAM_VERDICTS ? names[verdict] : "?";
}
