/*  bench_memory_floor: the memory any process pays before it does a monitor's work, a
    baseline that `make bench` prints beside maekin-monitor's RSS.

    It links what the monitor links (CZMQ and libzmq, libvirt, protobuf-c, libsodium),
    connects a PUB socket to the stream, opens libvirt at URI and makes one bulk stats
    call, as the monitor does each interval, then waits to be stopped. Its RSS is the
    libraries' pages the process has touched: what is left of the monitor's RSS above it
    is the monitor's own.

    usage: bench_memory_floor STREAM_IN [URI] */

#include <czmq.h>
#include <libvirt/libvirt.h>
#include <protobuf-c/protobuf-c.h>
#include <sodium.h>
#include <stdio.h>

int
main (int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf (stderr, "usage: bench_memory_floor STREAM_IN [URI]\n");
        return 2;
    }
    zsys_init ();
    if (sodium_init () < 0 || virInitialize () < 0)
        return 1;
    //  Referenced so that the linker keeps the library, as the monitor needs it.
    fprintf (stderr, "bench_memory_floor: protobuf-c %s\n", protobuf_c_version ());
    //  Connected, as the monitor is, to the broker's publishers' endpoint.
    zsock_t *pub = zsock_new (ZMQ_PUB);
    if (pub && zsock_connect (pub, "%s", argv[1]) != 0)
        zsock_destroy (&pub);
    virConnectPtr conn = argc == 3 ? virConnectOpen (argv[2]) : NULL;
    if (!pub || (argc == 3 && !conn)) {
        fprintf (stderr, "bench_memory_floor: cannot open the stream or libvirt\n");
        return 1;
    }
    if (conn) {
        virDomainStatsRecordPtr *records = NULL;
        int count = virConnectGetAllDomainStats (conn, 0, &records,
                                                 VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
        if (count >= 0)
            virDomainStatsRecordListFree (records);
    }
    //  Waits for SIGINT or SIGTERM, which CZMQ's handler turns into zsys_interrupted.
    while (!zsys_interrupted)
        zclock_sleep (100);
    if (conn)
        virConnectClose (conn);
    zsock_destroy (&pub);
    return 0;
}
