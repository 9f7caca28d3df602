/*  monitor_encode: a host's samples as small messages (monitor_encode.h). */
#include "monitor_encode.h"

#include "mk_msg.h"
#include "mk_str.h"
#include "mk_uuid.h"

//  A VM's values left out while they stay within these of the values last sent.
#define S_CPU_PERMILLE 10   //  1 point of its vCPUs' time
#define S_RSS_KB       1024 //  or 2% of it, the larger
#define S_BPS          4096 //  or 10% of the rate, the larger
#define S_PPS          10   //  or 10% of the rate, the larger

//  What the encoder keeps of a VM.
typedef struct {
    uint8_t uuid[16];
    monitor_vm_t prev;     //  its counters at the previous sample
    int64_t prev_ms;       //  that sample's time
    bool sent_once;        //  sent is set
    Maekin__VmSample sent; //  the values last sent
    Maekin__VmSample now;  //  this sample's (uuid points at the uuid above)
    uint64_t mark;
} s_vm_t;

struct _monitor_encoder_t {
    char *host, *source, *topic;
    int interval_ms;
    unsigned full_every, since_full; //  a full message is due when since_full reaches 0
    zhashx_t *vms;                   //  16-byte UUID -> s_vm_t
    uint64_t mark;
    uint32_t vm_count;
};

monitor_encoder_t *
monitor_encoder_new (const char *host, const char *source, int interval_ms, unsigned full_every)
{
    assert (host && source && full_every >= 1);
    monitor_encoder_t *self = (monitor_encoder_t *) zmalloc (sizeof (monitor_encoder_t));
    self->host = mk_strdup (host);
    self->source = mk_strdup (source);
    self->topic = zsys_sprintf ("metric.host.%s", host);
    self->interval_ms = interval_ms;
    self->full_every = full_every;
    self->vms = mk_uuid_table_new ();
    return self;
}

void
monitor_encoder_destroy (monitor_encoder_t **self_p)
{
    monitor_encoder_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->vms);
    free (self->host);
    free (self->source);
    free (self->topic);
    free (self);
    *self_p = NULL;
}

//  ---------------------------------------------------------------- the host's values

//  The host's own values as the message carries them: pointers into sample and parts.
typedef struct {
    Maekin__HostSample msg;
    Maekin__CpuTimes cpu;
    Maekin__FsSample fs[MONITOR_FS_MAX];
    Maekin__FsSample *fs_p[MONITOR_FS_MAX];
    Maekin__DiskSample disks[MONITOR_DISK_MAX];
    Maekin__DiskSample *disks_p[MONITOR_DISK_MAX];
    Maekin__NetSample nets[MONITOR_NET_MAX];
    Maekin__NetSample *nets_p[MONITOR_NET_MAX];
} s_host_msg_t;

static void
s_host_lists (s_host_msg_t *m, const monitor_sample_t *sample)
{
    for (size_t i = 0; i < sample->fs_count; i++) {
        maekin__fs_sample__init (&m->fs[i]);
        m->fs[i].mount = (char *) sample->fs[i].name;
        m->fs[i].total_kb = sample->fs[i].a;
        m->fs[i].free_kb = sample->fs[i].b;
        m->fs_p[i] = &m->fs[i];
    }
    m->msg.n_filesystems = sample->fs_count;
    m->msg.filesystems = m->fs_p;
    for (size_t i = 0; i < sample->disk_count; i++) {
        maekin__disk_sample__init (&m->disks[i]);
        m->disks[i].name = (char *) sample->disks[i].name;
        m->disks[i].read_bytes = sample->disks[i].a;
        m->disks[i].write_bytes = sample->disks[i].b;
        m->disks[i].reads = sample->disks[i].c;
        m->disks[i].writes = sample->disks[i].d;
        m->disks_p[i] = &m->disks[i];
    }
    m->msg.n_disks = sample->disk_count;
    m->msg.disks = m->disks_p;
    for (size_t i = 0; i < sample->net_count; i++) {
        maekin__net_sample__init (&m->nets[i]);
        m->nets[i].name = (char *) sample->nets[i].name;
        m->nets[i].rx_bytes = sample->nets[i].a;
        m->nets[i].tx_bytes = sample->nets[i].b;
        m->nets[i].rx_packets = sample->nets[i].c;
        m->nets[i].tx_packets = sample->nets[i].d;
        m->nets_p[i] = &m->nets[i];
    }
    m->msg.n_interfaces = sample->net_count;
    m->msg.interfaces = m->nets_p;
}

static void
s_host_msg (s_host_msg_t *m, monitor_encoder_t *self, int64_t time_ms,
            const monitor_sample_t *sample)
{
    maekin__host_sample__init (&m->msg);
    maekin__cpu_times__init (&m->cpu);
    m->msg.host = self->host;
    m->msg.source = self->source;
    m->msg.time_ms = time_ms;
    m->msg.interval_ms = (uint32_t) self->interval_ms;
    m->msg.cpus = sample->cpus;
    uint64_t *cpu[] = {&m->cpu.user,   &m->cpu.nice, &m->cpu.system,  &m->cpu.idle,
                       &m->cpu.iowait, &m->cpu.irq,  &m->cpu.softirq, &m->cpu.steal};
    for (int i = 0; i < 8; i++)
        *cpu[i] = sample->cpu_ms[i];
    m->msg.cpu = &m->cpu;
    m->msg.load1_x100 = sample->load_x100[0];
    m->msg.load5_x100 = sample->load_x100[1];
    m->msg.load15_x100 = sample->load_x100[2];
    m->msg.memory_total_kb = sample->memory_total_kb;
    m->msg.memory_available_kb = sample->memory_available_kb;
    m->msg.swap_total_kb = sample->swap_total_kb;
    m->msg.swap_free_kb = sample->swap_free_kb;
    s_host_lists (m, sample);
}

//  ---------------------------------------------------------------- the VMs' values

//  A rate a second between two counters' values (0 if one went back: a restart).
static uint64_t
s_rate (uint64_t before, uint64_t after, int64_t ms)
{
    return after >= before ? (after - before) * 1000 / (uint64_t) ms : 0;
}

//  This sample's values of the VM, from its counters and those of the sample before.
static void
s_vm_now (s_vm_t *state, const monitor_vm_t *vm, int64_t time_ms)
{
    Maekin__VmSample *now = &state->now;
    maekin__vm_sample__init (now);
    now->uuid.data = state->uuid;
    now->uuid.len = 16;
    now->state = vm->state;
    now->vcpus = vm->vcpus;
    now->memory_kb = vm->memory_kb;
    now->rss_kb = vm->rss_kb;
    const monitor_vm_t *prev = &state->prev;
    int64_t ms = time_ms - state->prev_ms;
    if (state->prev_ms && ms > 0) {
        uint64_t cpu = s_rate (prev->cpu_ms, vm->cpu_ms, ms); //  ms a second
        now->cpu_permille = (uint32_t) (cpu / (vm->vcpus ? vm->vcpus : 1));
        now->disk_read_bps = s_rate (prev->disk_read_bytes, vm->disk_read_bytes, ms);
        now->disk_write_bps = s_rate (prev->disk_write_bytes, vm->disk_write_bytes, ms);
        now->net_rx_bps = s_rate (prev->net_rx_bytes, vm->net_rx_bytes, ms);
        now->net_tx_bps = s_rate (prev->net_tx_bytes, vm->net_tx_bytes, ms);
        now->net_rx_pps = (uint32_t) s_rate (prev->net_rx_packets, vm->net_rx_packets, ms);
        now->net_tx_pps = (uint32_t) s_rate (prev->net_tx_packets, vm->net_tx_packets, ms);
    }
    state->prev = *vm;
    state->prev_ms = time_ms;
}

//  True if a and b differ by more than floor, or than share of a, the larger.
static bool
s_beyond (uint64_t a, uint64_t b, uint64_t floor, unsigned share_pct)
{
    uint64_t diff = a > b ? a - b : b - a;
    uint64_t allowed = a * share_pct / 100;
    return diff > (allowed > floor ? allowed : floor);
}

//  True if the VM's values moved beyond the thresholds since they were last sent.
static bool
s_moved (const Maekin__VmSample *sent, const Maekin__VmSample *now)
{
    return sent->state != now->state || sent->vcpus != now->vcpus
           || sent->memory_kb != now->memory_kb
           || s_beyond (sent->cpu_permille, now->cpu_permille, S_CPU_PERMILLE, 0)
           || s_beyond (sent->rss_kb, now->rss_kb, S_RSS_KB, 2)
           || s_beyond (sent->disk_read_bps, now->disk_read_bps, S_BPS, 10)
           || s_beyond (sent->disk_write_bps, now->disk_write_bps, S_BPS, 10)
           || s_beyond (sent->net_rx_bps, now->net_rx_bps, S_BPS, 10)
           || s_beyond (sent->net_tx_bps, now->net_tx_bps, S_BPS, 10)
           || s_beyond (sent->net_rx_pps, now->net_rx_pps, S_PPS, 10)
           || s_beyond (sent->net_tx_pps, now->net_tx_pps, S_PPS, 10);
}

//  The VMs' entries of this message into *entries (malloc'd; gone ones point into
//  *gone, malloc'd too): each VM that is new or moved (all of them if full), then each
//  gone since. Returns how many entries.
static size_t
s_vm_entries (monitor_encoder_t *self, const monitor_vms_t *vms, bool full,
              Maekin__VmSample ***entries, Maekin__VmSample **gone, size_t *gone_count,
              monitor_encode_stats_t *stats)
{
    self->mark++;
    size_t most = vms->count + zhashx_size (self->vms);
    *entries = (Maekin__VmSample **) malloc ((most ? most : 1) * sizeof (Maekin__VmSample *));
    *gone = NULL;
    assert (*entries);
    size_t n = 0;
    for (size_t i = 0; i < vms->count; i++) {
        s_vm_t *state = (s_vm_t *) zhashx_lookup (self->vms, vms->vms[i].uuid);
        if (!state) {
            state = (s_vm_t *) zmalloc (sizeof (s_vm_t));
            memcpy (state->uuid, vms->vms[i].uuid, 16);
            zhashx_insert (self->vms, state->uuid, state);
        } else if (state->mark == self->mark)
            continue; //  the same UUID twice in one answer: the first counts
        state->mark = self->mark;
        s_vm_now (state, &vms->vms[i], vms->time_ms);
        if (full || !state->sent_once || s_moved (&state->sent, &state->now)) {
            (*entries)[n++] = &state->now;
            state->sent = state->now;
            state->sent_once = true;
        } else
            stats->vms_left_out++;
    }
    self->vm_count = (uint32_t) zhashx_size (self->vms);
    //  The gone: named in a delta (a full message leaves them out), then forgotten.
    *gone_count = 0;
    for (s_vm_t *state = (s_vm_t *) zhashx_first (self->vms); state;
         state = (s_vm_t *) zhashx_next (self->vms))
        *gone_count += state->mark != self->mark;
    if (*gone_count) {
        *gone = (Maekin__VmSample *) calloc (*gone_count, sizeof (Maekin__VmSample));
        assert (*gone);
        size_t g = 0;
        for (s_vm_t *state = (s_vm_t *) zhashx_first (self->vms); state;
             state = (s_vm_t *) zhashx_next (self->vms))
            if (state->mark != self->mark) {
                Maekin__VmSample *entry = &(*gone)[g++];
                maekin__vm_sample__init (entry);
                entry->uuid.data = (uint8_t *) malloc (16);
                assert (entry->uuid.data);
                memcpy (entry->uuid.data, state->uuid, 16);
                entry->uuid.len = 16;
                entry->gone = true;
                if (!full)
                    (*entries)[n++] = entry;
            }
        for (g = 0; g < *gone_count; g++)
            zhashx_delete (self->vms, (*gone)[g].uuid.data);
        self->vm_count -= (uint32_t) *gone_count;
    }
    stats->vms_sent += n;
    return n;
}

//  The metric values a message holds: its numbers and its nested messages' numbers,
//  less the times it was taken and the interval (they date the values; they are not
//  values). A gone VM's entry holds none.
static uint64_t
s_values (const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (d == &maekin__vm_sample__descriptor && ((const Maekin__VmSample *) m)->gone)
        return 0;
    uint64_t values = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *at = (const char *) m + f->offset;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                size_t n = *(const size_t *) ((const char *) m + f->quantifier_offset);
                ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *) at;
                for (size_t j = 0; j < n; j++)
                    values += s_values (items[j]);
            } else if (*(ProtobufCMessage *const *) at)
                values += s_values (*(ProtobufCMessage *const *) at);
            continue;
        }
        bool number = f->type != PROTOBUF_C_TYPE_BOOL && f->type != PROTOBUF_C_TYPE_STRING
                      && f->type != PROTOBUF_C_TYPE_BYTES;
        bool dating = streq (f->name, "time_ms") || streq (f->name, "vms_time_ms")
                      || streq (f->name, "interval_ms");
        values += number && !dating && f->label != PROTOBUF_C_LABEL_REPEATED;
    }
    return values;
}

//  What the VM entries would cost as one message each (topic "metric.vm.<uuid>", an
//  Envelope holding the host, the time and the one VM), for the benchmark's comparison.
static uint64_t
s_per_vm_bytes (Maekin__HostSample *msg, Maekin__VmSample **entries, size_t n)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        Maekin__HostSample one = MAEKIN__HOST_SAMPLE__INIT;
        one.host = msg->host;
        one.time_ms = msg->time_ms;
        one.vms_time_ms = msg->vms_time_ms;
        one.n_vms = 1;
        one.vms = &entries[i];
        Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
        env.body_case = MAEKIN__ENVELOPE__BODY_HOST_SAMPLE;
        env.host_sample = &one;
        bytes += strlen ("metric.vm.") + 36 + protobuf_c_message_get_packed_size (&env.base) + 4;
    }
    return bytes;
}

static void
s_free_gone (Maekin__VmSample *gone, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free (gone[i].uuid.data);
    free (gone);
}

zmsg_t *
monitor_encoder_message (monitor_encoder_t *self, int64_t time_ms, const monitor_sample_t *sample,
                         const monitor_vms_t *vms, monitor_encode_stats_t *stats, bool compare)
{
    s_host_msg_t *m = (s_host_msg_t *) malloc (sizeof (s_host_msg_t));
    assert (m);
    uint64_t left_out = stats->vms_left_out;
    s_host_msg (m, self, time_ms, sample);
    Maekin__VmSample **entries = NULL, *gone = NULL;
    size_t gone_count = 0;
    if (vms) {
        //  Full when due, only with the VMs' values in hand.
        m->msg.full = self->since_full == 0;
        self->since_full = (self->since_full + 1) % self->full_every;
        m->msg.vms_time_ms = vms->time_ms;
        m->msg.n_vms = s_vm_entries (self, vms, m->msg.full, &entries, &gone, &gone_count, stats);
        m->msg.vms = entries;
    }
    m->msg.vm_count = self->vm_count;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.status = MK_OK;
    env.body_case = MAEKIN__ENVELOPE__BODY_HOST_SAMPLE;
    env.host_sample = &m->msg;
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, self->topic);
    zframe_t *body = mk_msg_pack (&env);
    uint64_t bytes = strlen (self->topic) + zframe_size (body) + 4; //  + ZMTP frame headers
    zmsg_append (msg, &body);
    stats->messages++;
    stats->full += m->msg.full;
    stats->bytes += bytes;
    //  A VM left out stands for its last values: the receiver has them.
    Maekin__VmSample any = MAEKIN__VM_SAMPLE__INIT;
    stats->values +=
        s_values (&m->msg.base) + (stats->vms_left_out - left_out) * s_values (&any.base);
    if (compare) {
        //  The host's values alone, then one message per VM entry.
        size_t n = m->msg.n_vms;
        m->msg.n_vms = 0;
        stats->per_vm_bytes += strlen (self->topic) + 4
                               + protobuf_c_message_get_packed_size (&env.base)
                               + s_per_vm_bytes (&m->msg, entries, n);
    }
    s_free_gone (gone, gone_count);
    free (entries);
    free (m);
    return msg;
}
