/*  bench_db_floor: the database floor, a baseline that `make bench` prints beside the
    controller's durable accept rate on the same database.

    One client writes what the controller writes for each accepted create (the VM's
    row, its task's row, its request id's remembered answer), through the controller's
    own SQL (controller_store) and mk_db's queued rows, BATCH creates per transaction,
    and commits: the most a controller that batches as it does could reach on that
    database, with no bus, no broker, no placement and no replies.

    usage: bench_db_floor -u URL [-n COUNT] [-b BATCH]
    The database must be empty (the tables are made here). Output, one line:
    db_floor backend=mysql batch=256 n=20000 seconds=0.61 creates_per_s=32700
        commits_per_s=128 */

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "maekin.h"
#include "mk_db.h"

#include "controller_store.h"

//  A reply of the size the controller remembers for a create (a TaskAccepted with its
//  VM, packed): about 200 bytes.
#define S_REPLY_SIZE 200

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: bench_db_floor -u URL [-n COUNT] [-b BATCH]\n");
}

//  Queues create i's three rows; 0 or -1.
static int
s_create (mk_db_t *db, uint64_t i, int64_t now, const uint8_t *reply)
{
    store_vm_t vm = {.spec = {.vcpus = 1, .memory_mb = 64}, .last_task = i, .created = now};
    snprintf (vm.name, sizeof vm.name, "floor-%" PRIu64, i);
    snprintf (vm.uuid, sizeof vm.uuid, "00000000-0000-4000-8000-%012" PRIx64, i);
    snprintf (vm.template_, sizeof vm.template_, "tiny");
    snprintf (vm.host, sizeof vm.host, "h%" PRIu64, i % 100);
    snprintf (vm.state, sizeof vm.state, "creating");
    snprintf (vm.mac, sizeof vm.mac, "52:54:00:%02x:%02x:%02x", (unsigned) (i >> 16) & 0xff,
              (unsigned) (i >> 8) & 0xff, (unsigned) i & 0xff);
    store_task_t task = {.id = i, .op = 1};
    snprintf (task.vm, sizeof task.vm, "%s", vm.name);
    snprintf (task.host, sizeof task.host, "%s", vm.host);
    snprintf (task.state, sizeof task.state, "queued");
    char request[32];
    snprintf (request, sizeof request, "floor-request-%" PRIu64, i);
    if (store_task_insert (db, &task, now) != 1 || store_vm_insert (db, &vm, now) != 1
        || store_request_save (db, request, i, reply, S_REPLY_SIZE) != 1)
        return -1;
    return 0;
}

int
main (int argc, char **argv)
{
    const char *url = NULL;
    long count = 20000, batch = 256;
    int opt;
    while ((opt = getopt (argc, argv, "u:n:b:h")) != -1) {
        if (opt == 'u')
            url = optarg;
        else if (opt == 'n')
            count = strtol (optarg, NULL, 10);
        else if (opt == 'b')
            batch = strtol (optarg, NULL, 10);
        else {
            s_usage (opt == 'h' ? stdout : stderr);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (!url || count < 1 || count > 10000000 || batch < 1 || batch > 65536) {
        s_usage (stderr);
        fprintf (stderr, "bench_db_floor: -u URL is needed; 1 <= COUNT <= 10000000, "
                         "1 <= BATCH <= 65536\n");
        return 2;
    }
    zsys_init ();
    mk_db_library_init ();
    char *error = NULL;
    mk_db_t *db = mk_db_open (url, &error);
    if (!db || mk_db_migrate (db, &error) != 0) {
        fprintf (stderr, "bench_db_floor: %s\n", error ? error : "cannot open the database");
        free (error);
        mk_db_destroy (&db);
        return 1;
    }
    uint8_t reply[S_REPLY_SIZE];
    for (size_t i = 0; i < sizeof reply; i++)
        reply[i] = (uint8_t) i;
    int64_t now = zclock_time () / 1000;
    int64_t start = zclock_usecs ();
    long commits = 0;
    int rc = 0;
    for (long done = 0; rc == 0 && done < count; commits++) {
        rc = mk_db_begin (db);
        for (long i = 0; rc == 0 && i < batch && done < count; i++, done++)
            rc = s_create (db, (uint64_t) done + 1, now, reply);
        if (rc == 0)
            rc = mk_db_commit (db);
    }
    double seconds = (double) (zclock_usecs () - start) / 1e6;
    if (rc != 0) {
        fprintf (stderr, "bench_db_floor: %s\n", mk_db_error (db));
        mk_db_destroy (&db);
        return 1;
    }
    printf ("db_floor backend=%s batch=%ld n=%ld seconds=%.2f creates_per_s=%.0f "
            "commits_per_s=%.0f\n",
            mk_db_backend (db), batch, count, seconds, (double) count / seconds,
            (double) commits / seconds);
    mk_db_destroy (&db);
    return 0;
}
