/*  monitor_guests: a host's guests' samples from libvirt, on a thread of its own
    (monitor_guests.h). */
#include "monitor_guests.h"

#include "mk_str.h"

#include <libvirt/virterror.h>
#include <pthread.h>

//  What is asked of libvirt: every figure VmSample carries, no more.
#define S_STATS                                                                                    \
    (VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_BALLOON                \
     | VIR_DOMAIN_STATS_VCPU | VIR_DOMAIN_STATS_INTERFACE | VIR_DOMAIN_STATS_BLOCK)

//  How long destroy waits for a call that is out before leaving it to its thread.
#define S_GRACE_MS 500

//  A failure is logged once in this long at most.
#define S_LOG_EVERY_MS 60000

struct _monitor_guests_t {
    char *uri;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t back;   //  a call came back
    int pipe[2];           //  a byte on [0] when a sample came back
    bool asked;            //  the thread is to take a sample
    bool busy;             //  asked, and not come back yet
    bool stopping;         //  destroy was called
    bool abandoned;        //  ... while a call hung: the thread frees everything
    monitor_vms_t *result; //  came back, not taken (NULL: the call failed)
    virConnectPtr conn;    //  the thread's
    int64_t logged;        //  mono ms of the last failure logged
};

void
monitor_vms_destroy (monitor_vms_t **self_p)
{
    monitor_vms_t *self = *self_p;
    if (!self)
        return;
    free (self->vms);
    free (self);
    *self_p = NULL;
}

//  A typed parameter's value as a number, whatever its numeric type.
static uint64_t
s_number (const virTypedParameter *param)
{
    switch (param->type) {
    case VIR_TYPED_PARAM_INT:
        return param->value.i > 0 ? (uint64_t) param->value.i : 0;
    case VIR_TYPED_PARAM_UINT:
        return param->value.ui;
    case VIR_TYPED_PARAM_LLONG:
        return param->value.l > 0 ? (uint64_t) param->value.l : 0;
    case VIR_TYPED_PARAM_ULLONG:
        return param->value.ul;
    default:
        return 0;
    }
}

//  One parameter into the guest's values: "state.state", "cpu.time" (ns),
//  "balloon.current" and "balloon.rss" (kB), "vcpu.current", and each interface's and
//  disk's counters ("net.0.rx.bytes", "block.1.wr.bytes"), summed.
static void
s_take_param (monitor_vm_t *vm, const virTypedParameter *param)
{
    const char *field = param->field;
    uint64_t value = s_number (param);
    unsigned index;
    char what[24];
    if (streq (field, "state.state"))
        vm->state = (uint32_t) value;
    else if (streq (field, "cpu.time"))
        vm->cpu_ms = value / 1000000;
    else if (streq (field, "balloon.current"))
        vm->memory_kb = value;
    else if (streq (field, "balloon.rss"))
        vm->rss_kb = value;
    else if (streq (field, "vcpu.current"))
        vm->vcpus = (uint32_t) value;
    else if (sscanf (field, "net.%u.%23s", &index, what) == 2) {
        uint64_t *to = streq (what, "rx.bytes")   ? &vm->net_rx_bytes
                       : streq (what, "tx.bytes") ? &vm->net_tx_bytes
                       : streq (what, "rx.pkts")  ? &vm->net_rx_packets
                       : streq (what, "tx.pkts")  ? &vm->net_tx_packets
                                                  : NULL;
        if (to)
            *to += value;
    } else if (sscanf (field, "block.%u.%23s", &index, what) == 2) {
        if (streq (what, "rd.bytes"))
            vm->disk_read_bytes += value;
        else if (streq (what, "wr.bytes"))
            vm->disk_write_bytes += value;
    }
}

void
monitor_guests_parse (virDomainStatsRecordPtr *records, int count, monitor_vms_t *out)
{
    out->count = 0;
    out->vms = (monitor_vm_t *) calloc (count > 0 ? (size_t) count : 1, sizeof (monitor_vm_t));
    assert (out->vms);
    for (int i = 0; i < count; i++) {
        monitor_vm_t *vm = &out->vms[out->count];
        if (virDomainGetUUID (records[i]->dom, vm->uuid) != 0)
            continue; //  a domain gone under us
        for (int p = 0; p < records[i]->nparams; p++)
            s_take_param (vm, &records[i]->params[p]);
        out->count++;
    }
}

static void
s_ignore_error (void *data, virErrorPtr error)
{
}

static void
s_failed (monitor_guests_t *self, const char *what)
{
    int64_t now = zclock_mono ();
    if (self->logged && now - self->logged < S_LOG_EVERY_MS)
        return;
    self->logged = now;
    mk_warn ("monitor: %s libvirt at '%s': %s; the host's samples go on without its guests", what,
             self->uri, virGetLastErrorMessage ());
}

//  One sample of the guests, or NULL (logged) if libvirt could not be asked.
static monitor_vms_t *
s_sample (monitor_guests_t *self)
{
    if (!self->conn) {
        self->conn = virConnectOpen (self->uri);
        if (!self->conn) {
            s_failed (self, "cannot connect to");
            return NULL;
        }
    }
    virDomainStatsRecordPtr *records = NULL;
    int count = virConnectGetAllDomainStats (self->conn, S_STATS, &records,
                                             VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
    if (count < 0) {
        s_failed (self, "cannot take the guests' statistics from");
        if (virConnectIsAlive (self->conn) != 1) {
            virConnectClose (self->conn);
            self->conn = NULL;
        }
        return NULL;
    }
    monitor_vms_t *vms = (monitor_vms_t *) zmalloc (sizeof (monitor_vms_t));
    vms->time_ms = zclock_time ();
    monitor_guests_parse (records, count, vms);
    virDomainStatsRecordListFree (records);
    return vms;
}

static void
s_free (monitor_guests_t *self)
{
    if (self->conn)
        virConnectClose (self->conn);
    monitor_vms_destroy (&self->result);
    close (self->pipe[0]);
    close (self->pipe[1]);
    pthread_mutex_destroy (&self->lock);
    pthread_cond_destroy (&self->wake);
    pthread_cond_destroy (&self->back);
    free (self->uri);
    free (self);
}

static void *
s_thread (void *arg)
{
    monitor_guests_t *self = (monitor_guests_t *) arg;
    pthread_mutex_lock (&self->lock);
    while (true) {
        while (!self->asked && !self->stopping)
            pthread_cond_wait (&self->wake, &self->lock);
        if (self->stopping)
            break;
        self->asked = false;
        pthread_mutex_unlock (&self->lock);
        monitor_vms_t *vms = s_sample (self);
        pthread_mutex_lock (&self->lock);
        monitor_vms_destroy (&self->result);
        self->result = vms;
        self->busy = false;
        pthread_cond_signal (&self->back);
        if (!self->stopping && write (self->pipe[1], "", 1) != 1)
            mk_warn ("monitor: cannot signal a guest sample: %s", strerror (errno));
    }
    bool abandoned = self->abandoned;
    pthread_mutex_unlock (&self->lock);
    if (abandoned)
        s_free (self);
    return NULL;
}

monitor_guests_t *
monitor_guests_new (const char *uri)
{
    assert (uri);
    monitor_guests_t *self = (monitor_guests_t *) zmalloc (sizeof (monitor_guests_t));
    self->uri = mk_strdup (uri);
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->wake, NULL);
    pthread_cond_init (&self->back, NULL);
    if (pipe2 (self->pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        abort (); //  out of file descriptors at start: nothing sensible to do
    virSetErrorFunc (NULL, s_ignore_error);
    if (pthread_create (&self->thread, NULL, s_thread, self) != 0)
        abort ();
    return self;
}

void
monitor_guests_destroy (monitor_guests_t **self_p)
{
    monitor_guests_t *self = *self_p;
    if (!self)
        return;
    *self_p = NULL;
    pthread_mutex_lock (&self->lock);
    self->stopping = true;
    //  A call out now most likely comes back in a moment: a short grace, then it is
    //  taken as hung.
    struct timespec until;
    clock_gettime (CLOCK_REALTIME, &until);
    until.tv_nsec += S_GRACE_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    while (self->busy && pthread_cond_timedwait (&self->back, &self->lock, &until) == 0)
        ;
    bool hung = self->busy;
    self->abandoned = hung;
    pthread_cond_signal (&self->wake);
    pthread_mutex_unlock (&self->lock);
    if (hung) {
        mk_warn ("monitor: a call to libvirt at '%s' has not returned; left to its thread",
                 self->uri);
        pthread_detach (self->thread);
        return;
    }
    pthread_join (self->thread, NULL);
    s_free (self);
}

bool
monitor_guests_ask (monitor_guests_t *self)
{
    pthread_mutex_lock (&self->lock);
    bool free_to_ask = !self->busy;
    if (free_to_ask) {
        self->busy = self->asked = true;
        pthread_cond_signal (&self->wake);
    }
    pthread_mutex_unlock (&self->lock);
    return free_to_ask;
}

int
monitor_guests_fd (monitor_guests_t *self)
{
    return self->pipe[0];
}

monitor_vms_t *
monitor_guests_take (monitor_guests_t *self)
{
    char bytes[16];
    while (read (self->pipe[0], bytes, sizeof bytes) > 0)
        ;
    pthread_mutex_lock (&self->lock);
    monitor_vms_t *vms = self->result;
    self->result = NULL;
    pthread_mutex_unlock (&self->lock);
    return vms;
}

//  ---------------------------------------------------------------- self-test

//  Wait for the answer to one ask: the sample, or NULL if the call failed.
static monitor_vms_t *
s_test_wait (monitor_guests_t *guests)
{
    assert (monitor_guests_ask (guests));
    zmq_pollitem_t item = {NULL, monitor_guests_fd (guests), ZMQ_POLLIN, 0};
    assert (zmq_poll (&item, 1, 30000) == 1);
    return monitor_guests_take (guests);
}

//  The parser on records made by hand: every field VmSample carries, summed over two
//  interfaces and two disks.
static void
s_test_parse (virConnectPtr conn)
{
    virDomainPtr dom = virDomainLookupByName (conn, "test");
    assert (dom);
    virTypedParameterPtr params = NULL;
    int n = 0, max = 0;
    virTypedParamsAddInt (&params, &n, &max, "state.state", VIR_DOMAIN_RUNNING);
    virTypedParamsAddULLong (&params, &n, &max, "cpu.time", 2500000000ULL);
    virTypedParamsAddULLong (&params, &n, &max, "balloon.current", 1048576);
    virTypedParamsAddULLong (&params, &n, &max, "balloon.rss", 524288);
    virTypedParamsAddUInt (&params, &n, &max, "vcpu.current", 2);
    virTypedParamsAddULLong (&params, &n, &max, "net.0.rx.bytes", 1000);
    virTypedParamsAddULLong (&params, &n, &max, "net.1.rx.bytes", 500);
    virTypedParamsAddULLong (&params, &n, &max, "net.0.tx.pkts", 7);
    virTypedParamsAddString (&params, &n, &max, "net.0.name", "vnet0");
    virTypedParamsAddULLong (&params, &n, &max, "block.0.rd.bytes", 4096);
    virTypedParamsAddULLong (&params, &n, &max, "block.1.wr.bytes", 8192);
    virTypedParamsAddULLong (&params, &n, &max, "block.1.rd.bytes", 4096);
    virDomainStatsRecord record = {dom, params, n};
    virDomainStatsRecordPtr records[] = {&record};
    monitor_vms_t vms;
    monitor_guests_parse (records, 1, &vms);
    assert (vms.count == 1);
    monitor_vm_t *vm = &vms.vms[0];
    assert (vm->state == VIR_DOMAIN_RUNNING && vm->cpu_ms == 2500 && vm->vcpus == 2);
    assert (vm->memory_kb == 1048576 && vm->rss_kb == 524288);
    assert (vm->net_rx_bytes == 1500 && vm->net_tx_packets == 7 && vm->net_tx_bytes == 0);
    assert (vm->disk_read_bytes == 8192 && vm->disk_write_bytes == 8192);
    unsigned char uuid[16];
    assert (virDomainGetUUID (dom, uuid) == 0 && memcmp (uuid, vm->uuid, 16) == 0);
    free (vms.vms);
    virTypedParamsFree (params, n);
    virDomainFree (dom);
}

void
monitor_guests_test (bool verbose)
{
    virSetErrorFunc (NULL, s_ignore_error);
    virConnectPtr conn = virConnectOpen ("test:///default");
    assert (conn);
    s_test_parse (conn);
    virConnectClose (conn);

    //  The test driver through the thread: its one domain, with the state it answers.
    monitor_guests_t *guests = monitor_guests_new ("test:///default");
    monitor_vms_t *vms = s_test_wait (guests);
    assert (vms && vms->count == 1 && vms->vms[0].state == VIR_DOMAIN_RUNNING);
    assert (vms->time_ms > 0);
    monitor_vms_destroy (&vms);
    //  Asked again, the answer comes once, whole. (That an ask while a call is still out
    //  is refused depends on the call being slow: guest.sh holds a real libvirtd under
    //  SIGSTOP for it, where the host's samples go on without the guests'.)
    assert (monitor_guests_ask (guests));
    zmq_pollitem_t item = {NULL, monitor_guests_fd (guests), ZMQ_POLLIN, 0};
    assert (zmq_poll (&item, 1, 30000) == 1);
    vms = monitor_guests_take (guests);
    assert (vms && vms->count == 1);
    monitor_vms_destroy (&vms);
    monitor_guests_destroy (&guests);
    //  A hypervisor that is not there: the call fails, and is tried again when asked.
    guests = monitor_guests_new ("test:///no/such/file.xml");
    assert (s_test_wait (guests) == NULL);
    assert (s_test_wait (guests) == NULL);
    monitor_guests_destroy (&guests);
}
