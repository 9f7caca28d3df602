/*  monitor_mcast's self-test, on loopback (the multicast group itself is tested across
    namespaces by tests/integration/multicast.sh): a datagram sent is read back whole
    from the socket, garbage and replays sent by a plain UDP socket are dropped and
    counted, and bad options are refused with one line. */
#include "monitor_mcast.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

//  The next datagram's verdict, waiting for it up to 5 s.
static int
s_next (monitor_mcast_t *mcast, const uint8_t **payload, size_t *size)
{
    struct pollfd fd = {monitor_mcast_fd (mcast), POLLIN, 0};
    assert (poll (&fd, 1, 5000) == 1);
    return monitor_mcast_recv (mcast, payload, size);
}

void
monitor_mcast_test (bool verbose)
{
    char *error = NULL;
    monitor_mcast_opts_t opts = {"127.0.0.1", 0, NULL, monitor_dgram_cloud ("test"), 30000, NULL};
    monitor_mcast_t *mcast = monitor_mcast_new (&opts, &error);
    assert (!mcast && strstr (error, "'multicast/port'"));
    zstr_free (&error);
    opts.port = 7020;
    opts.group = "239.1.2";
    assert (!monitor_mcast_new (&opts, &error) && strstr (error, "IPv4 address, not '239.1.2'"));
    zstr_free (&error);
    opts.group = "127.0.0.1";
    opts.interface = "eth0";
    assert (!monitor_mcast_new (&opts, &error) && strstr (error, "'multicast/interface'"));
    zstr_free (&error);
    opts.interface = NULL;

    //  A free port: sent to itself, on loopback.
    for (int tries = 0; !mcast && tries < 20; tries++) {
        opts.port = 40000 + (int) randombytes_uniform (20000);
        mcast = monitor_mcast_new (&opts, &error);
        zstr_free (&error);
    }
    assert (mcast);
    uint64_t sender = monitor_dgram_sender ("n1");
    const uint8_t *payload;
    size_t size;
    assert (monitor_mcast_recv (mcast, &payload, &size) == -1); //  nothing yet
    assert (monitor_mcast_send (mcast, sender, "first", 5) == 0);
    assert (monitor_mcast_send (mcast, sender, "second", 6) == 0);
    assert (s_next (mcast, &payload, &size) == MONITOR_DGRAM_OK && size == 5
            && memcmp (payload, "first", 5) == 0);
    assert (s_next (mcast, &payload, &size) == MONITOR_DGRAM_OK && size == 6);
    assert (monitor_mcast_sent (mcast) == 2);
    //  Too big for a datagram: not sent, counted.
    uint8_t *big = (uint8_t *) zmalloc (70000);
    assert (monitor_mcast_send (mcast, sender, big, 70000) == -1);
    assert (monitor_mcast_send_failed (mcast) == 1);
    free (big);

    //  From a plain socket: garbage, another cloud's, and a replay of a datagram taken.
    int raw = socket (AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons ((uint16_t) opts.port)};
    inet_pton (AF_INET, "127.0.0.1", &to.sin_addr);
    uint8_t dgram[64];
    uint64_t seq = (uint64_t) zclock_time () * 1000 + 5000000; //  ahead of what was sent
    size_t n = monitor_dgram_pack (opts.cloud, sender, seq, "third", 5, NULL, dgram, sizeof dgram);
    const struct {
        const void *data;
        size_t size;
        int verdict;
    } cases[] = {{"garbage", 7, MONITOR_DGRAM_MALFORMED},
                 {dgram, n - 3, MONITOR_DGRAM_TRUNCATED},
                 {dgram, n, MONITOR_DGRAM_OK},
                 {dgram, n, MONITOR_DGRAM_REPLAYED}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert (sendto (raw, cases[i].data, cases[i].size, 0, (struct sockaddr *) &to, sizeof to)
                == (ssize_t) cases[i].size);
        assert (s_next (mcast, &payload, &size) == cases[i].verdict);
    }
    uint8_t foreign[64];
    n = monitor_dgram_pack (monitor_dgram_cloud ("other"), sender, seq + 1, "x", 1, NULL, foreign,
                            sizeof foreign);
    assert (sendto (raw, foreign, n, 0, (struct sockaddr *) &to, sizeof to) == (ssize_t) n);
    assert (s_next (mcast, &payload, &size) == MONITOR_DGRAM_FOREIGN);
    close (raw);
    monitor_dgram_filter_t *filter = monitor_mcast_filter (mcast);
    assert (monitor_dgram_filter_count (filter, MONITOR_DGRAM_OK) == 3);
    assert (monitor_dgram_filter_count (filter, MONITOR_DGRAM_MALFORMED) == 1);
    if (verbose)
        printf (" * on 127.0.0.1:%d: 3 taken, 4 dropped and counted\n", opts.port);
    monitor_mcast_destroy (&mcast);
}
