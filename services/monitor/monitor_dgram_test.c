/*  monitor_dgram's self-test: a datagram packed and taken; then every way a datagram can
    be wrong (malformed, truncated at every length, from another cloud, replayed, stale,
    a flood of new senders; with the cloud's key, unsigned or forged) is dropped and
    counted, and the filter goes on taking good ones. */
#include "monitor_dgram.h"

#include <sodium.h>

static size_t
s_pack (uint64_t cloud, uint64_t sender, uint64_t seq, uint8_t *out, size_t size)
{
    static const char payload[] = "a host's sample";
    return monitor_dgram_pack (cloud, sender, seq, payload, sizeof payload, NULL, out, size);
}

//  The verdict on a datagram, and that it was counted.
static monitor_dgram_verdict_t
s_verdict (monitor_dgram_filter_t *filter, const uint8_t *data, size_t size, int64_t now_us)
{
    const uint8_t *payload;
    size_t payload_size;
    uint64_t before[MONITOR_DGRAM_VERDICTS];
    for (int v = 0; v < MONITOR_DGRAM_VERDICTS; v++)
        before[v] = monitor_dgram_filter_count (filter, (monitor_dgram_verdict_t) v);
    monitor_dgram_verdict_t verdict =
        monitor_dgram_filter_check (filter, data, size, now_us, &payload, &payload_size);
    for (int v = 0; v < MONITOR_DGRAM_VERDICTS; v++)
        assert (monitor_dgram_filter_count (filter, (monitor_dgram_verdict_t) v)
                == before[v] + (v == (int) verdict));
    assert ((verdict == MONITOR_DGRAM_OK) == (payload != NULL));
    return verdict;
}

//  With the cloud's key: signed datagrams alone are taken, a forged one moves nothing.
static void
s_test_signed (uint64_t cloud, int64_t now, bool verbose)
{
    static const char payload[] = "a signed sample";
    uint8_t key[MONITOR_DGRAM_KEY], other[MONITOR_DGRAM_KEY];
    randombytes_buf (key, sizeof key);
    randombytes_buf (other, sizeof other);
    monitor_dgram_filter_t *filter = monitor_dgram_filter_new (cloud, 30000, key);
    uint64_t node = monitor_dgram_sender ("node1");
    uint8_t dgram[256], bad[256];
    size_t size = monitor_dgram_pack (cloud, node, (uint64_t) now, payload, sizeof payload, key,
                                      dgram, sizeof dgram);
    assert (size == MONITOR_DGRAM_HEADER + sizeof payload + 2 + MONITOR_DGRAM_SIG);
    assert (dgram[3] == 0x01 && dgram[size - MONITOR_DGRAM_SIG - 1] == MONITOR_DGRAM_SIG);
    assert (s_verdict (filter, dgram, size, now) == MONITOR_DGRAM_OK);
    //  Unsigned, signed with another key, and every byte changed in turn: not taken.
    size_t n = monitor_dgram_pack (cloud, node, (uint64_t) now + 1, payload, sizeof payload, NULL,
                                   bad, sizeof bad);
    assert (s_verdict (filter, bad, n, now) == MONITOR_DGRAM_UNSIGNED);
    n = monitor_dgram_pack (cloud, node, (uint64_t) now + 1, payload, sizeof payload, other, bad,
                            sizeof bad);
    assert (s_verdict (filter, bad, n, now) == MONITOR_DGRAM_FORGED);
    size = monitor_dgram_pack (cloud, node, (uint64_t) now + 2, payload, sizeof payload, key, dgram,
                               sizeof dgram);
    for (size_t at = 4; at < size; at++) {
        memcpy (bad, dgram, size);
        bad[at] ^= 0x20;
        monitor_dgram_verdict_t verdict = s_verdict (filter, bad, size, now);
        assert (verdict != MONITOR_DGRAM_OK);
    }
    //  A forged datagram far ahead did not move the sender's sequence: the real one, older,
    //  is taken; cut inside its signature, it is truncated.
    n = monitor_dgram_pack (cloud, node, (uint64_t) now + 1000, payload, sizeof payload, other, bad,
                            sizeof bad);
    assert (s_verdict (filter, bad, n, now) == MONITOR_DGRAM_FORGED);
    assert (s_verdict (filter, dgram, size - 1, now) == MONITOR_DGRAM_TRUNCATED);
    assert (s_verdict (filter, dgram, size, now) == MONITOR_DGRAM_OK);
    assert (monitor_dgram_filter_count (filter, MONITOR_DGRAM_FORGED) >= 2);
    monitor_dgram_filter_destroy (&filter);
    //  A receiver without the key takes signed and unsigned ones alike.
    filter = monitor_dgram_filter_new (cloud, 30000, NULL);
    assert (s_verdict (filter, dgram, size, now) == MONITOR_DGRAM_OK);
    monitor_dgram_filter_destroy (&filter);
    if (verbose)
        printf (" * signed: taken; unsigned, forged, changed: dropped and counted\n");
}

void
monitor_dgram_test (bool verbose)
{
    uint64_t cloud = monitor_dgram_cloud ("maekin"), other = monitor_dgram_cloud ("elsewhere");
    uint64_t node1 = monitor_dgram_sender ("node1"), node2 = monitor_dgram_sender ("node2");
    assert (cloud != other && node1 != node2 && monitor_dgram_sender ("maekin") != cloud);
    assert (node1 == monitor_dgram_sender ("node1"));
    int64_t now = zclock_time () * 1000;
    monitor_dgram_filter_t *filter = monitor_dgram_filter_new (cloud, 30000, NULL);

    //  Packed and taken: the payload comes back as it went.
    uint8_t dgram[256];
    size_t size = s_pack (cloud, node1, (uint64_t) now, dgram, sizeof dgram);
    assert (size == MONITOR_DGRAM_HEADER + 16 + 2 && memcmp (dgram, "MK\x01\x00", 4) == 0);
    const uint8_t *payload;
    size_t payload_size;
    assert (monitor_dgram_filter_check (filter, dgram, size, now, &payload, &payload_size)
            == MONITOR_DGRAM_OK);
    assert (payload_size == 16 && streq ((const char *) payload, "a host's sample"));

    //  The same again is a replay, and so is an older one; a newer one is taken.
    assert (s_verdict (filter, dgram, size, now) == MONITOR_DGRAM_REPLAYED);
    size = s_pack (cloud, node1, (uint64_t) now - 1, dgram, sizeof dgram);
    assert (s_verdict (filter, dgram, size, now) == MONITOR_DGRAM_REPLAYED);
    size = s_pack (cloud, node1, (uint64_t) now + 1, dgram, sizeof dgram);
    assert (s_verdict (filter, dgram, size, now) == MONITOR_DGRAM_OK);
    //  Each sender has its own sequence.
    size = s_pack (cloud, node2, (uint64_t) now, dgram, sizeof dgram);
    assert (s_verdict (filter, dgram, size, now) == MONITOR_DGRAM_OK);

    //  Another cloud's, and one sent a minute ago or ahead (a replay after the receiver
    //  restarted, or a clock far off), are not taken.
    size = s_pack (other, node1, (uint64_t) now + 2, dgram, sizeof dgram);
    assert (s_verdict (filter, dgram, size, now) == MONITOR_DGRAM_FOREIGN);
    size = s_pack (cloud, node1, (uint64_t) (now - 60000000), dgram, sizeof dgram);
    assert (s_verdict (filter, dgram, size, now) == MONITOR_DGRAM_STALE);
    size = s_pack (cloud, monitor_dgram_sender ("node3"), (uint64_t) (now + 60000000), dgram,
                   sizeof dgram);
    assert (s_verdict (filter, dgram, size, now) == MONITOR_DGRAM_STALE);
    size = s_pack (cloud, node1, UINT64_MAX, dgram, sizeof dgram);
    assert (s_verdict (filter, dgram, size, now) == MONITOR_DGRAM_STALE);

    //  Cut at every length short of whole: truncated (or, under 2 bytes, not ours).
    size = s_pack (cloud, node1, (uint64_t) now + 10, dgram, sizeof dgram);
    for (size_t cut = 0; cut < size; cut++) {
        monitor_dgram_verdict_t verdict = s_verdict (filter, cut ? dgram : NULL, cut, now);
        assert (verdict == (cut < 2 ? MONITOR_DGRAM_MALFORMED : MONITOR_DGRAM_TRUNCATED));
    }
    //  Malformed: magic, version, unknown flags, said signed with no signature, a trailer
    //  where none may be, bytes after the end. Each from a good datagram, one byte off.
    const struct {
        size_t at;
        uint8_t value;
    } wrong[] = {{0, 'X'}, {1, 'X'}, {2, 2}, {3, 0x80}, {3, 0x01}, {size - 1, 4}};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        uint8_t bad[256];
        memcpy (bad, dgram, size);
        bad[wrong[i].at] = wrong[i].value;
        size_t bad_size = wrong[i].at == size - 1 ? size + 4 : size; //  the trailer is there
        if (bad_size > size)
            memset (bad + size, 0, 4);
        assert (s_verdict (filter, bad, bad_size, now) == MONITOR_DGRAM_MALFORMED);
    }
    uint8_t longer[256];
    memcpy (longer, dgram, size);
    longer[size] = 0;
    assert (s_verdict (filter, longer, size + 1, now) == MONITOR_DGRAM_MALFORMED);
    //  Random bytes: never taken, never a crash.
    for (int i = 0; i < 2000; i++) {
        uint8_t noise[128];
        randombytes_buf (noise, sizeof noise);
        size_t n = randombytes_uniform (sizeof noise + 1);
        if (i % 2)
            memcpy (noise, "MK\x01\x00", n < 4 ? n : 4); //  past the magic, at least
        assert (s_verdict (filter, n ? noise : NULL, n, now) != MONITOR_DGRAM_OK);
    }
    //  After all that, the good datagram is still taken.
    assert (s_verdict (filter, dgram, size, now) == MONITOR_DGRAM_OK);

    //  A flood of new senders fills the table, then is refused, until the window passes
    //  and the quiet ones are forgotten.
    for (uint64_t i = 0; i < MONITOR_DGRAM_SENDERS_MAX; i++) {
        size = s_pack (cloud, i << 32, (uint64_t) now, dgram, sizeof dgram);
        monitor_dgram_verdict_t verdict = s_verdict (filter, dgram, size, now);
        assert (verdict == MONITOR_DGRAM_OK || verdict == MONITOR_DGRAM_CROWDED);
    }
    size = s_pack (cloud, UINT64_MAX, (uint64_t) now, dgram, sizeof dgram);
    assert (s_verdict (filter, dgram, size, now) == MONITOR_DGRAM_CROWDED);
    int64_t later = now + 31000000;
    size = s_pack (cloud, UINT64_MAX, (uint64_t) later, dgram, sizeof dgram);
    assert (s_verdict (filter, dgram, size, later) == MONITOR_DGRAM_OK);

    //  Too big for a datagram: not packed.
    uint8_t *big = (uint8_t *) zmalloc (MONITOR_DGRAM_MAX + 100);
    assert (monitor_dgram_pack (cloud, node1, 1, big, MONITOR_DGRAM_MAX, NULL, big,
                                MONITOR_DGRAM_MAX + 100)
            == 0);
    assert (monitor_dgram_pack (cloud, node1, 1, big, 10, NULL, big + 1000, 20) == 0); //  no room
    free (big);
    if (verbose)
        for (int v = 0; v < MONITOR_DGRAM_VERDICTS; v++)
            printf (" * %s: %" PRIu64 "\n",
                    monitor_dgram_verdict_name ((monitor_dgram_verdict_t) v),
                    monitor_dgram_filter_count (filter, (monitor_dgram_verdict_t) v));
    monitor_dgram_filter_destroy (&filter);
    s_test_signed (cloud, now, verbose);
}
