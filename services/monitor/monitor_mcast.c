/*  monitor_mcast: the monitor's socket on the multicast group (monitor_mcast.h). */
#include "monitor_mcast.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

struct _monitor_mcast_t {
    int fd;
    struct sockaddr_in to;          //  the group and port
    monitor_dgram_filter_t *filter; //  what is read goes through it
    uint64_t cloud;
    uint64_t seq; //  the last sequence sent (microseconds)
    uint64_t sent, send_failed;
    bool keyed; //  what it sends is signed with key
    uint8_t key[MONITOR_DGRAM_KEY];
    uint8_t in[MONITOR_DGRAM_MAX];  //  the datagram read last
    uint8_t out[MONITOR_DGRAM_MAX]; //  the datagram being sent
};

static bool
s_address (const char *text, struct in_addr *address)
{
    return text && inet_pton (AF_INET, text, address) == 1;
}

char *
monitor_mcast_check (const monitor_mcast_opts_t *opts)
{
    struct in_addr group, interface;
    char *error = NULL;
    if (!s_address (opts->group, &group))
        error = zsys_sprintf ("'multicast/group' must be an IPv4 address, not '%.64s'",
                              opts->group ? opts->group : "");
    else if (opts->port < 1 || opts->port > 65535)
        error = zsys_sprintf ("'multicast/port' must be from 1 to 65535");
    else if (opts->interface && *opts->interface && !s_address (opts->interface, &interface))
        error = zsys_sprintf ("'multicast/interface' must be an IPv4 address, not '%.64s'",
                              opts->interface);
    else if (opts->window_ms < 1000)
        error = zsys_sprintf ("'multicast/window_ms' must be at least 1000");
    return error;
}

monitor_mcast_t *
monitor_mcast_new (const monitor_mcast_opts_t *opts, char **error)
{
    struct in_addr group, interface = {htonl (INADDR_ANY)};
    *error = monitor_mcast_check (opts);
    if (*error)
        return NULL;
    s_address (opts->group, &group);
    if (opts->interface && *opts->interface)
        s_address (opts->interface, &interface);
    int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *error = zsys_sprintf ("multicast: cannot open a UDP socket: %s", strerror (errno));
        return NULL;
    }
    //  Other monitors in the same network namespace listen on the same port.
    int one = 1, ttl = 1;
    struct sockaddr_in bind_to = {.sin_family = AF_INET,
                                  .sin_port = htons ((uint16_t) opts->port),
                                  .sin_addr = {htonl (INADDR_ANY)}};
    const char *step = "set SO_REUSEADDR on";
    bool ok = setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0;
    if (ok) {
        step = "bind";
        ok = bind (fd, (struct sockaddr *) &bind_to, sizeof bind_to) == 0;
    }
    if (ok && IN_MULTICAST (ntohl (group.s_addr))) {
        //  One hop: the group stays on the nodes' network. Looped back, so that two
        //  monitors on one machine hear each other.
        struct ip_mreq join = {.imr_multiaddr = group, .imr_interface = interface};
        step = "join the group on";
        ok =
            setsockopt (fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof join) == 0
            && setsockopt (fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) == 0
            && setsockopt (fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof one) == 0
            && (interface.s_addr == htonl (INADDR_ANY)
                || setsockopt (fd, IPPROTO_IP, IP_MULTICAST_IF, &interface, sizeof interface) == 0);
    }
    if (!ok) {
        *error = zsys_sprintf ("multicast: cannot %s %s:%d: %s", step, opts->group, opts->port,
                               strerror (errno));
        close (fd);
        return NULL;
    }
    monitor_mcast_t *self = (monitor_mcast_t *) zmalloc (sizeof (monitor_mcast_t));
    self->fd = fd;
    self->to = (struct sockaddr_in){
        .sin_family = AF_INET, .sin_port = htons ((uint16_t) opts->port), .sin_addr = group};
    self->cloud = opts->cloud;
    self->filter = monitor_dgram_filter_new (opts->cloud, opts->window_ms, opts->key);
    self->keyed = opts->key != NULL;
    if (opts->key)
        memcpy (self->key, opts->key, MONITOR_DGRAM_KEY);
    return self;
}

void
monitor_mcast_destroy (monitor_mcast_t **self_p)
{
    monitor_mcast_t *self = *self_p;
    if (!self)
        return;
    close (self->fd);
    monitor_dgram_filter_destroy (&self->filter);
    sodium_memzero (self->key, sizeof self->key);
    free (self);
    *self_p = NULL;
}

int
monitor_mcast_fd (monitor_mcast_t *self)
{
    return self->fd;
}

int
monitor_mcast_send (monitor_mcast_t *self, uint64_t sender, const void *payload, size_t size)
{
    //  The clock, kept strictly increasing across all this process's senders: each
    //  sender's own sequence then increases too.
    uint64_t now = (uint64_t) zclock_time () * 1000;
    self->seq = now > self->seq ? now : self->seq + 1;
    size_t n = monitor_dgram_pack (self->cloud, sender, self->seq, payload, size,
                                   self->keyed ? self->key : NULL, self->out, sizeof self->out);
    if (n == 0
        || sendto (self->fd, self->out, n, 0, (struct sockaddr *) &self->to, sizeof self->to)
               != (ssize_t) n) {
        if (self->send_failed++ % 1000 == 0)
            mk_warn ("multicast: a datagram of %zu bytes could not be sent (%s; %" PRIu64
                     " so far)",
                     n ? n : size, n ? strerror (errno) : "too big", self->send_failed);
        return -1;
    }
    self->sent++;
    return 0;
}

int
monitor_mcast_recv (monitor_mcast_t *self, const uint8_t **payload, size_t *size)
{
    //  The buffer holds the largest UDP payload there is: nothing read is cut.
    ssize_t n = recv (self->fd, self->in, sizeof self->in, 0);
    if (n < 0)
        return -1;
    return (int) monitor_dgram_filter_check (self->filter, self->in, (size_t) n,
                                             zclock_time () * 1000, payload, size);
}

uint64_t
monitor_mcast_sent (monitor_mcast_t *self)
{
    return self->sent;
}

uint64_t
monitor_mcast_send_failed (monitor_mcast_t *self)
{
    return self->send_failed;
}

monitor_dgram_filter_t *
monitor_mcast_filter (monitor_mcast_t *self)
{
    return self->filter;
}
