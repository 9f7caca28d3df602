/*  controller_sched: the hosts as the controller sees them, and placement. */
#include "controller_sched.h"

#include "mk_metric.h"

struct _controller_sched_t {
    sched_host_t **hosts; //  sorted by name, owned
    size_t count;         //  hosts known
    size_t size;          //  room in the array
    int cpu_ratio;        //  vCPU overcommit, percent
    int mem_ratio;        //  memory overcommit, percent
    int busy_pct;         //  a host's measured CPU from which it counts as busy
};

controller_sched_t *
controller_sched_new (int cpu_ratio, int mem_ratio)
{
    assert (cpu_ratio > 0 && mem_ratio > 0);
    controller_sched_t *self = (controller_sched_t *) zmalloc (sizeof (controller_sched_t));
    self->cpu_ratio = cpu_ratio;
    self->mem_ratio = mem_ratio;
    self->busy_pct = SCHED_BUSY_PCT_DEFAULT;
    return self;
}

void
controller_sched_set_busy (controller_sched_t *self, int busy_pct)
{
    self->busy_pct = busy_pct;
}

void
controller_sched_measure (controller_sched_t *self, sched_host_t *host, uint64_t busy_ms,
                          uint64_t all_ms, uint64_t memory_used_mb, uint64_t memory_mb,
                          uint32_t load1_x100, int64_t sampled)
{
    //  Counters that went back are a reboot's: no share until the next sample.
    bool later = host->sampled && all_ms > host->cpu_all_ms && busy_ms >= host->cpu_busy_ms;
    if (later)
        host->cpu_busy_pct =
            mk_metric_busy_share (host->cpu_busy_ms, host->cpu_all_ms, busy_ms, all_ms, 100);
    else if (!host->sampled)
        host->cpu_busy_pct = mk_metric_busy_share (0, 0, busy_ms, all_ms, 100);
    host->cpu_busy_ms = busy_ms;
    host->cpu_all_ms = all_ms;
    host->memory_used_mb = memory_used_mb;
    host->memory_seen_mb = memory_mb;
    host->load1_x100 = load1_x100;
    host->sampled = sampled;
    host->sampled_mono = zclock_mono ();
}

void
controller_sched_clear (controller_sched_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free (self->hosts[i]);
    self->count = 0;
}

void
controller_sched_destroy (controller_sched_t **self_p)
{
    assert (self_p);
    controller_sched_t *self = *self_p;
    if (self) {
        controller_sched_clear (self);
        free (self->hosts);
        free (self);
        *self_p = NULL;
    }
}

//  Binary search: the index of the name, or where it would go (*found false).
static size_t
s_find (controller_sched_t *self, const char *name, bool *found)
{
    size_t low = 0, high = self->count;
    while (low < high) {
        size_t mid = (low + high) / 2;
        int cmp = strcmp (self->hosts[mid]->name, name);
        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0)
            low = mid + 1;
        else
            high = mid;
    }
    *found = false;
    return low;
}

sched_host_t *
controller_sched_host (controller_sched_t *self, const char *name)
{
    bool found;
    size_t index = s_find (self, name, &found);
    return found ? self->hosts[index] : NULL;
}

sched_host_t *
controller_sched_require (controller_sched_t *self, const char *name)
{
    bool found;
    size_t index = s_find (self, name, &found);
    if (found)
        return self->hosts[index];
    if (self->count == self->size) {
        self->size = self->size ? self->size * 2 : 16;
        self->hosts = (sched_host_t **) realloc (self->hosts, self->size * sizeof (sched_host_t *));
        assert (self->hosts);
    }
    memmove (&self->hosts[index + 1], &self->hosts[index],
             (self->count - index) * sizeof (sched_host_t *));
    sched_host_t *host = (sched_host_t *) zmalloc (sizeof (sched_host_t));
    snprintf (host->name, sizeof host->name, "%s", name);
    self->hosts[index] = host;
    self->count++;
    return host;
}

void
controller_sched_account (controller_sched_t *self, sched_host_t *host, uint32_t vcpus,
                          uint64_t memory_mb, int sign)
{
    if (sign > 0) {
        host->vcpus_used += vcpus;
        host->memory_mb_used += memory_mb;
        host->vm_count++;
    } else {
        host->vcpus_used -= vcpus < host->vcpus_used ? vcpus : host->vcpus_used;
        host->memory_mb_used -= memory_mb < host->memory_mb_used ? memory_mb : host->memory_mb_used;
        host->vm_count -= host->vm_count ? 1 : 0;
    }
}

static bool
s_fits (controller_sched_t *self, sched_host_t *host, uint32_t vcpus, uint64_t memory_mb)
{
    uint64_t cpu_room = (uint64_t) host->vcpus * self->cpu_ratio / 100;
    uint64_t mem_room = host->memory_mb * self->mem_ratio / 100;
    return host->up && host->vcpus_used + vcpus <= cpu_room
           && host->memory_mb_used + memory_mb <= mem_room;
}

//  True if the host's fresh sample shows it busy for a VM of this memory.
static bool
s_busy (controller_sched_t *self, const sched_host_t *host, uint64_t memory_mb)
{
    if (!host->sampled || zclock_mono () - host->sampled_mono > SCHED_SAMPLE_FRESH_MS)
        return false;
    uint64_t available = host->memory_seen_mb > host->memory_used_mb
                             ? host->memory_seen_mb - host->memory_used_mb
                             : 0;
    return host->cpu_busy_pct >= (uint32_t) self->busy_pct || available < memory_mb;
}

sched_host_t *
controller_sched_place (controller_sched_t *self, uint32_t vcpus, uint64_t memory_mb,
                        const char *want, const char **reason)
{
    if (want && *want) {
        sched_host_t *host = controller_sched_host (self, want);
        if (!host)
            *reason = "no such host";
        else if (!host->up)
            *reason = "the host is down";
        else if (!s_fits (self, host, vcpus, memory_mb))
            *reason = "the host has not enough free vCPUs or memory";
        else
            return host;
        return NULL;
    }
    sched_host_t *busy = NULL; //  the first that fits, busy as it is
    for (size_t i = 0; i < self->count; i++)
        if (s_fits (self, self->hosts[i], vcpus, memory_mb)) {
            if (!s_busy (self, self->hosts[i], memory_mb))
                return self->hosts[i];
            if (!busy)
                busy = self->hosts[i];
        }
    if (busy)
        return busy;
    *reason = "no host that is up has enough free vCPUs and memory";
    return NULL;
}

void
controller_sched_remove (controller_sched_t *self, const char *name)
{
    bool found;
    size_t index = s_find (self, name, &found);
    if (!found)
        return;
    free (self->hosts[index]);
    memmove (&self->hosts[index], &self->hosts[index + 1],
             (self->count - index - 1) * sizeof (sched_host_t *));
    self->count--;
}

size_t
controller_sched_count (controller_sched_t *self)
{
    return self->count;
}

sched_host_t *
controller_sched_at (controller_sched_t *self, size_t index)
{
    return index < self->count ? self->hosts[index] : NULL;
}

const char *
controller_sched_state (const sched_host_t *host)
{
    return host->unknown ? "unknown" : host->up ? "up" : "down";
}

void
controller_sched_test (bool verbose)
{
    controller_sched_t *sched = controller_sched_new (100, 100);
    const char *names[] = {"node3", "node1", "node2"};
    for (int i = 0; i < 3; i++) {
        sched_host_t *host = controller_sched_require (sched, names[i]);
        host->up = true;
        host->vcpus = 2;
        host->memory_mb = 1024;
    }
    assert (controller_sched_count (sched) == 3);
    assert (streq (controller_sched_at (sched, 0)->name, "node1"));
    assert (controller_sched_require (sched, "node2") == controller_sched_host (sched, "node2"));
    assert (controller_sched_count (sched) == 3);

    //  First fit fills node1, then node2, then node3; then nothing fits.
    const char *reason = NULL;
    const char *expect[] = {"node1", "node1", "node2", "node2", "node3", "node3"};
    for (int i = 0; i < 6; i++) {
        sched_host_t *host = controller_sched_place (sched, 1, 256, NULL, &reason);
        assert (host && streq (host->name, expect[i]));
        controller_sched_account (sched, host, 1, 256, +1);
    }
    assert (controller_sched_place (sched, 1, 256, NULL, &reason) == NULL);
    assert (strstr (reason, "enough free"));
    //  Freeing a VM makes room; a down host is skipped; a wanted host is checked.
    sched_host_t *node2 = controller_sched_host (sched, "node2");
    controller_sched_account (sched, node2, 1, 256, -1);
    assert (node2->vm_count == 1 && node2->vcpus_used == 1);
    assert (controller_sched_place (sched, 1, 256, NULL, &reason) == node2);
    node2->up = false;
    assert (controller_sched_place (sched, 1, 256, NULL, &reason) == NULL);
    assert (controller_sched_place (sched, 1, 256, "node2", &reason) == NULL);
    assert (strstr (reason, "down"));
    assert (controller_sched_place (sched, 1, 256, "node9", &reason) == NULL);
    assert (strstr (reason, "no such host"));
    //  Memory counts too, and overcommit widens the room.
    controller_sched_t *over = controller_sched_new (400, 100);
    sched_host_t *big = controller_sched_require (over, "big");
    big->up = true;
    big->vcpus = 1;
    big->memory_mb = 1000;
    assert (controller_sched_place (over, 4, 1000, NULL, &reason) == big);
    assert (controller_sched_place (over, 5, 10, NULL, &reason) == NULL);
    assert (controller_sched_place (over, 1, 1001, NULL, &reason) == NULL);
    controller_sched_destroy (&over);
    //  A host removed: gone from the list, the others in order; an unknown one is nothing.
    controller_sched_remove (sched, "node2");
    controller_sched_remove (sched, "node9");
    assert (controller_sched_count (sched) == 2 && !controller_sched_host (sched, "node2"));
    assert (streq (controller_sched_at (sched, 0)->name, "node1")
            && streq (controller_sched_at (sched, 1)->name, "node3"));
    controller_sched_destroy (&sched);
    assert (sched == NULL);
    //  Measured load: a busy host is passed over while another with room is not busy.
    controller_sched_t *load = controller_sched_new (400, 100);
    const char *loaded[] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        sched_host_t *host = controller_sched_require (load, loaded[i]);
        host->up = true;
        host->vcpus = 8;
        host->memory_mb = 16384;
    }
    sched_host_t *a = controller_sched_host (load, "a"), *b = controller_sched_host (load, "b");
    assert (controller_sched_place (load, 1, 64, NULL, &reason) == a); //  none measured
    controller_sched_measure (load, a, 900, 1000, 1000, 16384, 720, 1000);
    assert (a->cpu_busy_pct == 90 && controller_sched_place (load, 1, 64, NULL, &reason) == b);
    //  Its next sample: busy 10% of the time since the last one: chosen again.
    controller_sched_measure (load, a, 1000, 2000, 1000, 16384, 80, 2000);
    assert (a->cpu_busy_pct == 10 && controller_sched_place (load, 1, 64, NULL, &reason) == a);
    //  Memory measured short for the VM makes it busy too, whatever its reservations.
    controller_sched_measure (load, a, 1100, 3000, 16000, 16384, 80, 3000);
    assert (controller_sched_place (load, 1, 512, NULL, &reason) == b);
    assert (controller_sched_place (load, 1, 256, NULL, &reason) == a);
    //  Both busy: the first with room, as without measures; counters that went back (a
    //  reboot) give no share until the next sample.
    controller_sched_measure (load, b, 950, 1000, 100, 16384, 800, 3000);
    assert (controller_sched_place (load, 1, 512, NULL, &reason) == a);
    controller_sched_measure (load, b, 10, 20, 100, 16384, 800, 4000);
    assert (b->cpu_busy_pct == 95 && b->cpu_all_ms == 20);
    controller_sched_destroy (&load);
}
