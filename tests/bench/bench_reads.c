/*  bench_reads: what reading a big cloud costs through the client library maekinsh uses,
    one request at a time as a person's commands make them (not a process per call).

    usage: bench_reads -e ENDPOINT [-s SHOWS] [-x PREFIX] [-c COUNT]
    The VMs are PREFIX-0 .. PREFIX-(COUNT-1), as bench_tasks names them. Measures, in this
    order: the full VM list (every page of 1,000), SHOWS `vm show`s of VMs picked at
    random (p50 and p99 of each call), the host list (every page), and the task list's
    newest 1,000 (one page). Output, one line:
    reads vms=100000 vm_list_s=1.26 show_p50_us=310 show_p99_us=620 hosts=2000
        host_list_ms=37 task_page_ms=12 */

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "maekin.h"
#include "mk_client.h"
#include "mk_msg.h"
#include "mk_sock.h"

#define S_PAGE 1000

typedef enum { S_VMS, S_HOSTS, S_TASKS } s_list_t;

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: bench_reads -e ENDPOINT [-s SHOWS] [-x PREFIX] [-c COUNT]\n");
}

//  One call to `cloud`; exits on any answer but 200.
static Maekin__Envelope *
s_call (mk_client_t *client, Maekin__Envelope *env)
{
    Maekin__Envelope *reply = mk_client_call (client, "cloud", env, 30000, 0, NULL, NULL);
    if (reply->status != MK_OK) {
        fprintf (stderr, "bench_reads: %s: %d %s\n", mk_msg_body_name (env), reply->status,
                 reply->reason ? reply->reason : "");
        exit (1);
    }
    return reply;
}

//  Reads a list page after page (or its first page only); the items read.
static size_t
s_list (mk_client_t *client, s_list_t what, bool first_only)
{
    char *after = strdup ("");
    size_t items = 0;
    while (true) {
        Maekin__ListRequest page = MAEKIN__LIST_REQUEST__INIT;
        page.limit = S_PAGE;
        page.after = after;
        Maekin__VmListRequest vms = MAEKIN__VM_LIST_REQUEST__INIT;
        Maekin__HostListRequest hosts = MAEKIN__HOST_LIST_REQUEST__INIT;
        Maekin__TaskListRequest tasks = MAEKIN__TASK_LIST_REQUEST__INIT;
        Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
        if (what == S_VMS) {
            vms.page = &page;
            env.body_case = MAEKIN__ENVELOPE__BODY_VM_LIST;
            env.vm_list = &vms;
        } else if (what == S_HOSTS) {
            hosts.page = &page;
            env.body_case = MAEKIN__ENVELOPE__BODY_HOST_LIST;
            env.host_list = &hosts;
        } else {
            tasks.page = &page;
            env.body_case = MAEKIN__ENVELOPE__BODY_TASK_LIST;
            env.task_list = &tasks;
        }
        Maekin__Envelope *reply = s_call (client, &env);
        const char *next = "";
        if (what == S_VMS && reply->vm_list_reply) {
            items += reply->vm_list_reply->n_vms;
            next = reply->vm_list_reply->next;
        } else if (what == S_HOSTS && reply->host_list_reply) {
            items += reply->host_list_reply->n_hosts;
            next = reply->host_list_reply->next;
        } else if (reply->task_list_reply) {
            items += reply->task_list_reply->n_tasks;
            next = reply->task_list_reply->next;
        }
        free (after);
        after = strdup (next ? next : "");
        mk_msg_free (&reply);
        if (!*after || first_only)
            break;
    }
    free (after);
    return items;
}

static int
s_compare (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
    const char *endpoint = NULL, *prefix = "x";
    long shows = 2000, count = 0;
    int opt;
    while ((opt = getopt (argc, argv, "e:s:x:c:h")) != -1) {
        if (opt == 'e')
            endpoint = optarg;
        else if (opt == 's')
            shows = strtol (optarg, NULL, 10);
        else if (opt == 'x')
            prefix = optarg;
        else if (opt == 'c')
            count = strtol (optarg, NULL, 10);
        else {
            s_usage (opt == 'h' ? stdout : stderr);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (!endpoint || shows < 1 || shows > 1000000 || count < 0) {
        s_usage (stderr);
        return 2;
    }
    zsys_init ();
    char *error = NULL;
    if (mk_sock_secure_env (&error) != 0) {
        fprintf (stderr, "bench_reads: %s\n", error);
        free (error);
        return 2;
    }
    mk_client_t *client = mk_client_new (endpoint);
    mk_client_set_token (client, getenv ("MAEKIN_TOKEN")); //  the harness logs in
    int64_t start = zclock_usecs ();
    size_t vms = s_list (client, S_VMS, false);
    double vm_list_s = (double) (zclock_usecs () - start) / 1e6;
    if (count == 0)
        count = (long) vms;
    int64_t *took = (int64_t *) malloc ((size_t) shows * sizeof (int64_t));
    srandom (42);
    for (long i = 0; i < shows; i++) {
        char name[80];
        snprintf (name, sizeof name, "%s-%ld", prefix, count ? random () % count : 0);
        Maekin__VmShowRequest show = MAEKIN__VM_SHOW_REQUEST__INIT;
        show.name = name;
        Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
        env.body_case = MAEKIN__ENVELOPE__BODY_VM_SHOW;
        env.vm_show = &show;
        int64_t sent = zclock_usecs ();
        Maekin__Envelope *reply = s_call (client, &env);
        took[i] = zclock_usecs () - sent;
        mk_msg_free (&reply);
    }
    qsort (took, (size_t) shows, sizeof (int64_t), s_compare);
    start = zclock_usecs ();
    size_t hosts = s_list (client, S_HOSTS, false);
    double host_list_ms = (double) (zclock_usecs () - start) / 1e3;
    start = zclock_usecs ();
    size_t tasks = s_list (client, S_TASKS, true);
    double task_page_ms = (double) (zclock_usecs () - start) / 1e3;
    printf ("reads vms=%zu vm_list_s=%.2f show_p50_us=%" PRId64 " show_p99_us=%" PRId64
            " hosts=%zu host_list_ms=%.1f tasks=%zu task_page_ms=%.1f\n",
            vms, vm_list_s, took[shows / 2], took[shows * 99 / 100], hosts, host_list_ms, tasks,
            task_page_ms);
    free (took);
    mk_client_destroy (&client);
    return 0;
}
