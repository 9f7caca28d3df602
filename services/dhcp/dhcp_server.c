/*  dhcp_server: maekin-dhcp's actor. See dhcp_server.h. */
#include "dhcp_server.h"

#include "dhcp_files.h"
#include "mk_actor.h"
#include "mk_client.h"
#include "mk_msg.h"
#include "mk_name.h"
#include "mk_sock.h"

#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>

#define SYNC_GAP_MS 1000 //  VM events coalesced: at most one sync (and SIGHUP) a second
#define CALL_MS     5000 //  one bus request's wait
#define RESTART_MS  1000 //  a dnsmasq that died is started again after this
#define RETRY_MS    2000 //  a sync the cloud did not answer is tried again after this
#define REPORTS_MAX 8    //  reports kept for a controller that is away (the newest)

typedef struct {
    dhcp_opts_t opts;
    zsock_t *pipe;
    mk_client_t *client;
    zsock_t *stream;
    bool dirty;          //  a VM event came since the last sync
    int64_t last_sync;   //  mono ms
    int64_t next_resync; //  mono ms
    pid_t dnsmasq;       //  running, or 0
    int64_t restart_at;  //  mono ms when a dead dnsmasq is started again (0: none due)
    bool conf_ready;     //  the configuration was written once
    char *hosts_served;  //  the hosts file dnsmasq read last (NULL: not known)
    uint64_t syncs, writes, signals, starts;
    size_t bindings;
    char node[64];              //  this machine's name, as the reports say it
    char *reports[REPORTS_MAX]; //  what the controller has not heard yet, oldest first
    size_t report_count;
    uint64_t reports_dropped; //  older reports let go while the controller was away
    int64_t report_at;        //  mono ms when the next is sent
} server_t;

//  What a sync read: the pools served and their bindings, grown page by page.
typedef struct {
    dhcp_pool_t *pools;
    size_t pool_count;
    dhcp_binding_t *bindings;
    size_t binding_count;
} found_t;

static bool s_served (const server_t *self, const char *pool);

//  One page of pools or of leases: what is served, added to found.
static void
s_take_page (server_t *self, const Maekin__Envelope *reply, found_t *found)
{
    //  A oneof: only the member body_case names may be read.
    bool is_pools = reply->body_case == MAEKIN__ENVELOPE__BODY_POOL_LIST_REPLY;
    bool is_leases = reply->body_case == MAEKIN__ENVELOPE__BODY_POOL_LEASES_REPLY;
    const Maekin__PoolListReply *pools = is_pools ? reply->pool_list_reply : NULL;
    for (size_t i = 0; pools && i < pools->n_pools; i++) {
        const Maekin__Pool *pool = pools->pools[i];
        if (!s_served (self, pool->name))
            continue;
        found->pools =
            (dhcp_pool_t *) realloc (found->pools, (found->pool_count + 1) * sizeof (dhcp_pool_t));
        dhcp_pool_t *to = &found->pools[found->pool_count++];
        memset (to, 0, sizeof *to);
        snprintf (to->name, sizeof to->name, "%s", pool->name);
        snprintf (to->network, sizeof to->network, "%s", pool->network);
        snprintf (to->gateway, sizeof to->gateway, "%s", pool->gateway ? pool->gateway : "");
        snprintf (to->bridge, sizeof to->bridge, "%s", pool->bridge);
        for (size_t d = 0; d < pool->n_dns && d < 4; d++)
            snprintf (to->dns[d], sizeof to->dns[d], "%s", pool->dns[d]);
    }
    const Maekin__PoolLeasesReply *leases = is_leases ? reply->pool_leases_reply : NULL;
    for (size_t i = 0; leases && i < leases->n_leases; i++) {
        const Maekin__Lease *lease = leases->leases[i];
        if (!s_served (self, lease->pool) || !*lease->mac)
            continue;
        found->bindings = (dhcp_binding_t *) realloc (
            found->bindings, (found->binding_count + 1) * sizeof (dhcp_binding_t));
        dhcp_binding_t *to = &found->bindings[found->binding_count++];
        snprintf (to->ip, sizeof to->ip, "%s", lease->ip);
        snprintf (to->mac, sizeof to->mac, "%s", lease->mac);
        to->host = *lease->host && !lease->enrolled;
        to->enrolled = *lease->host && lease->enrolled;
    }
}

//  Every page of a list request (pool_list or pool_leases) into found: 0, or -1 (logged)
//  if the cloud did not answer.
static int
s_read_pages (server_t *self, Maekin__Envelope__BodyCase body, found_t *found)
{
    char after[256] = "";
    do {
        Maekin__ListRequest page = MAEKIN__LIST_REQUEST__INIT;
        page.limit = 1000;
        page.after = after;
        Maekin__PoolListRequest pools = MAEKIN__POOL_LIST_REQUEST__INIT;
        Maekin__PoolLeasesRequest leases = MAEKIN__POOL_LEASES_REQUEST__INIT;
        pools.page = leases.page = &page;
        Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
        env.body_case = body;
        if (body == MAEKIN__ENVELOPE__BODY_POOL_LEASES)
            env.pool_leases = &leases;
        else
            env.pool_list = &pools;
        Maekin__Envelope *reply =
            mk_client_call (self->client, "cloud", &env, CALL_MS, 1, NULL, NULL);
        if (reply->status != MK_OK) {
            mk_warn ("dhcp: the cloud answered %d: %s (what is served stays as it is)",
                     reply->status, reply->reason ? reply->reason : "");
            mk_msg_free (&reply);
            return -1;
        }
        s_take_page (self, reply, found);
        const char *next = reply->body_case == MAEKIN__ENVELOPE__BODY_POOL_LIST_REPLY
                               ? reply->pool_list_reply->next
                           : reply->body_case == MAEKIN__ENVELOPE__BODY_POOL_LEASES_REPLY
                               ? reply->pool_leases_reply->next
                               : "";
        snprintf (after, sizeof after, "%s", next ? next : "");
        mk_msg_free (&reply);
    } while (*after);
    return 0;
}

//  Whether a pool is one this server serves.
static bool
s_served (const server_t *self, const char *pool)
{
    const char *list = self->opts.pools;
    if (!list || !*list)
        return true;
    size_t length = strlen (pool);
    for (const char *at = list; *at;) {
        size_t item = strcspn (at, ",");
        if (item == length && strncmp (at, pool, length) == 0)
            return true;
        at += item + (at[item] == ',');
    }
    return false;
}

//  Starts dnsmasq on the configuration: its output to dnsmasq.log.
static void
s_start_dnsmasq (server_t *self)
{
    if (!*self->opts.dnsmasq)
        return;
    char *conf = zsys_sprintf ("--conf-file=%s/dnsmasq.conf", self->opts.dir);
    char *log = zsys_sprintf ("%s/dnsmasq.log", self->opts.dir);
    pid_t pid = fork ();
    if (pid == 0) {
        int fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0640);
        if (fd >= 0) {
            dup2 (fd, 1);
            dup2 (fd, 2);
        }
        execl (self->opts.dnsmasq, "dnsmasq", "--keep-in-foreground", "--log-facility=-", conf,
               (char *) NULL);
        _exit (127);
    }
    if (pid < 0)
        mk_error ("dhcp: cannot start dnsmasq: %s", strerror (errno));
    else {
        self->dnsmasq = pid;
        self->starts++;
        mk_info ("dhcp: dnsmasq started (pid %d), its log in %s", (int) pid, log);
    }
    free (conf);
    free (log);
}

static void
s_stop_dnsmasq (server_t *self)
{
    if (!self->dnsmasq)
        return;
    kill (self->dnsmasq, SIGTERM);
    waitpid (self->dnsmasq, NULL, 0);
    self->dnsmasq = 0;
}

//  Whether a line of `before` is not in `after` (a binding taken away); false when before
//  is not known.
static bool
s_lines_gone (const char *before, const char *after)
{
    for (const char *line = before; line && *line;) {
        size_t length = strcspn (line, "\n");
        bool found = false;
        for (const char *at = after; at && *at && !found;) {
            found = strncmp (at, line, length) == 0 && (at[length] == '\n' || !at[length]);
            const char *next = strchr (at, '\n');
            at = next ? next + 1 : NULL;
        }
        if (!found)
            return true;
        line += length + (line[length] == '\n');
    }
    return false;
}

//  The boot script install/maekin-pxe wrote for a MAC (tftp/maekin/MAC.ipxe, the MAC's
//  colons dashes) removed, if it is there.
static void
s_forget_script (server_t *self, const char *mac)
{
    char name[20];
    snprintf (name, sizeof name, "%s", mac);
    for (char *c = name; *c; c++)
        if (*c == ':')
            *c = '-';
    char *path = zsys_sprintf ("%s/tftp/maekin/%s.ipxe", self->opts.dir, name);
    if (unlink (path) == 0)
        mk_info ("dhcp: the host of %s enrolled and boots from its disk: %s removed", mac, path);
    else if (errno != ENOENT)
        mk_warn ("dhcp: cannot remove %s, the boot script of an enrolled host: %s", path,
                 strerror (errno));
    free (path);
}

//  The pools and leases read, the files written, dnsmasq told: 0, or -1 (logged) if the
//  cloud did not answer.
static int
s_sync (server_t *self)
{
    self->dirty = false;
    self->last_sync = zclock_mono ();
    self->next_resync = self->last_sync + self->opts.resync_ms;
    found_t found = {NULL, 0, NULL, 0};
    if (s_read_pages (self, MAEKIN__ENVELOPE__BODY_POOL_LIST, &found) != 0
        || s_read_pages (self, MAEKIN__ENVELOPE__BODY_POOL_LEASES, &found) != 0) {
        //  The cloud away (not started yet, restarting): asked again soon, not at resync_ms.
        self->next_resync = self->last_sync + RETRY_MS;
        free (found.pools);
        free (found.bindings);
        return -1;
    }
    dhcp_pool_t *pools = found.pools;
    dhcp_binding_t *bindings = found.bindings;
    size_t served = found.pool_count, bound = found.binding_count;

    char *error = NULL;
    //  dnsmasq, once bound, runs as this program's user: the files are this user's.
    struct passwd *me = getpwuid (geteuid ());
    char *conf = dhcp_files_conf (pools, served, self->opts.dir, me ? me->pw_name : "root",
                                  self->opts.pxe, &error);
    char *path = zsys_sprintf ("%s/dnsmasq.conf", self->opts.dir);
    int conf_changed = conf ? dhcp_files_write (path, conf, &error) : -1;
    free (path);
    free (conf);
    char *hosts = dhcp_files_hosts (bindings, bound);
    path = zsys_sprintf ("%s/hosts", self->opts.dir);
    //  The hosts file first: a dnsmasq started for a new configuration reads it whole.
    int hosts_changed = dhcp_files_write (path, hosts, &error);
    free (path);
    bool removed = hosts_changed > 0 && s_lines_gone (self->hosts_served, hosts);
    if (hosts_changed >= 0) {
        free (self->hosts_served);
        self->hosts_served = hosts;
    } else
        free (hosts);
    //  A host that enrolled boots from its own disk: its boot script, spent token and all,
    //  goes.
    for (size_t i = 0; self->opts.pxe && i < bound; i++)
        if (bindings[i].enrolled)
            s_forget_script (self, bindings[i].mac);
    free (pools);
    free (bindings);
    if (conf_changed < 0 || hosts_changed < 0) {
        mk_error ("dhcp: %s", error ? error : "cannot write dnsmasq's files");
        free (error);
        return -1;
    }
    self->syncs++;
    self->bindings = bound;
    self->writes += hosts_changed;
    self->conf_ready = true;
    if (conf_changed || (removed && self->dnsmasq)) {
        //  Other pools, other interfaces: dnsmasq reads those only when it starts; and a
        //  binding taken away must take its lease (in dnsmasq's memory) with it.
        s_stop_dnsmasq (self);
        s_start_dnsmasq (self);
    } else if (hosts_changed && self->dnsmasq) {
        kill (self->dnsmasq, SIGHUP);
        self->signals++;
    }
    if (conf_changed || hosts_changed)
        mk_info ("dhcp: %zu pools, %zu bindings served", served, bound);
    return 0;
}

//  A report for the controller (service_report): sent on the next tick, kept (the newest
//  REPORTS_MAX) while the controller is away.
static void
s_report (server_t *self, char *what)
{
    if (self->report_count == REPORTS_MAX) {
        free (self->reports[0]);
        memmove (self->reports, self->reports + 1, (REPORTS_MAX - 1) * sizeof (char *));
        self->report_count--;
        self->reports_dropped++;
    }
    self->reports[self->report_count++] = what;
}

//  Tells the controller what it has not heard, oldest first; stops at the first the cloud
//  does not answer, and tries again in RETRY_MS.
static void
s_send_reports (server_t *self, int64_t now)
{
    while (self->report_count && now >= self->report_at) {
        char *what = self->reports[0];
        char line[241];
        if (self->reports_dropped)
            snprintf (line, sizeof line, "%s (and %" PRIu64 " earlier reports were lost)", what,
                      self->reports_dropped);
        else
            snprintf (line, sizeof line, "%s", what);
        Maekin__ServiceReportRequest report = MAEKIN__SERVICE_REPORT_REQUEST__INIT;
        report.service = "dhcp";
        report.node = self->node;
        report.what = line;
        Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
        env.body_case = MAEKIN__ENVELOPE__BODY_SERVICE_REPORT;
        env.service_report = &report;
        Maekin__Envelope *reply =
            mk_client_call (self->client, "cloud", &env, CALL_MS, 1, NULL, NULL);
        int status = reply->status;
        //  Refused for what it is, or for whose it is: let go. Not answered (the broker's
        //  404 while no controller serves, a timeout, a 5xx): tried again.
        bool refused =
            status == MK_BAD_REQUEST || status == MK_UNAUTHORIZED || status == MK_FORBIDDEN;
        if (status != MK_OK)
            mk_warn ("dhcp: the controller did not take a report (%d: %s); %s", status,
                     reply->reason ? reply->reason : "", refused ? "let go" : "trying again");
        mk_msg_free (&reply);
        if (status != MK_OK && !refused) {
            self->report_at = now + RETRY_MS;
            return;
        }
        self->reports_dropped = 0;
        free (what);
        memmove (self->reports, self->reports + 1, --self->report_count * sizeof (char *));
    }
}

//  A file copied if it is not there as it is: 0, or -1 (logged).
static int
s_copy_file (const char *from, const char *to)
{
    zchunk_t *data = zchunk_slurp (from, 0);
    if (!data)
        return -1;
    zchunk_t *there = zchunk_slurp (to, 0);
    bool same = there && zchunk_size (there) == zchunk_size (data)
                && memcmp (zchunk_data (there), zchunk_data (data), zchunk_size (data)) == 0;
    zchunk_destroy (&there);
    int rc = 0;
    if (!same) {
        char *temporary = zsys_sprintf ("%s.new", to);
        FILE *file = fopen (temporary, "wb");
        bool good =
            file && fwrite (zchunk_data (data), 1, zchunk_size (data), file) == zchunk_size (data);
        good = file && fclose (file) == 0 && good;
        if (!good || rename (temporary, to) != 0) {
            mk_error ("dhcp: cannot write '%s': %s", to, strerror (errno));
            unlink (temporary);
            rc = -1;
        }
        free (temporary);
    }
    zchunk_destroy (&data);
    return rc;
}

//  iPXE's boot files for plain PXE ROMs into the TFTP root, when ipxe_dir has them (QEMU's
//  NICs run iPXE already: said, not refused).
static void
s_ipxe_files (server_t *self, const char *root)
{
    const char *files[] = {"undionly.kpxe", "ipxe.efi"};
    size_t copied = 0;
    for (size_t i = 0; i < 2; i++) {
        char *from = zsys_sprintf ("%s/%s", self->opts.ipxe_dir, files[i]);
        char *to = zsys_sprintf ("%s/%s", root, files[i]);
        copied += access (from, R_OK) == 0 && s_copy_file (from, to) == 0;
        free (from);
        free (to);
    }
    if (copied < 2)
        mk_warn ("dhcp: no iPXE boot files in %s (Debian's ipxe has them): machines whose NIC "
                 "runs plain PXE cannot boot; iPXE's (QEMU's) can",
                 self->opts.ipxe_dir);
}

//  The TFTP root, dir/tftp: its maekin/ for the hosts' scripts, boot.ipxe, iPXE's files.
//  NULL, or why not (a new string).
static char *
s_tftp_root (server_t *self)
{
    char *root = zsys_sprintf ("%s/tftp", self->opts.dir);
    char *scripts = zsys_sprintf ("%s/maekin", root);
    char *boot = zsys_sprintf ("%s/boot.ipxe", root);
    char *error = NULL;
    if ((mkdir (root, 0750) != 0 && errno != EEXIST)
        || (mkdir (scripts, 0750) != 0 && errno != EEXIST))
        error = zsys_sprintf ("cannot make '%s': %s", scripts, strerror (errno));
    if (!error && dhcp_files_write (boot, dhcp_files_boot_ipxe, &error) >= 0)
        s_ipxe_files (self, root);
    free (root);
    free (scripts);
    free (boot);
    return error;
}

static int
s_on_stream (zloop_t *loop, zsock_t *reader, void *arg)
{
    server_t *self = (server_t *) arg;
    zmsg_t *msg = zmsg_recv (reader);
    zmsg_destroy (&msg);
    self->dirty = true;
    return 0;
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    server_t *self = (server_t *) arg;
    int64_t now = zclock_mono ();
    //  dnsmasq gone: said, and started again after a pause.
    if (self->dnsmasq) {
        int status;
        pid_t pid = waitpid (self->dnsmasq, &status, WNOHANG);
        if (pid == self->dnsmasq) {
            char *what = zsys_sprintf (
                "dnsmasq (pid %d) %s %d; starting it again in %d ms", (int) pid,
                WIFSIGNALED (status) ? "was killed by signal" : "exited with",
                WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status), RESTART_MS);
            mk_error ("dhcp: %s (see %s/dnsmasq.log)", what, self->opts.dir);
            s_report (self, what);
            self->dnsmasq = 0;
            self->restart_at = now + RESTART_MS;
        }
    }
    if (!self->dnsmasq && self->restart_at && now >= self->restart_at) {
        self->restart_at = 0;
        s_start_dnsmasq (self);
    }
    if ((self->dirty && now - self->last_sync >= SYNC_GAP_MS) || now >= self->next_resync)
        s_sync (self);
    s_send_reports (self, now);
    return 0;
}

static int
s_on_pipe (zloop_t *loop, zsock_t *pipe, void *arg)
{
    server_t *self = (server_t *) arg;
    char *command = zstr_recv (pipe);
    if (!command || streq (command, "$TERM")) {
        free (command);
        return -1;
    }
    if (streq (command, "STATS"))
        zstr_sendf (pipe, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %zu", self->syncs,
                    self->writes, self->signals, self->starts, self->bindings);
    free (command);
    return 0;
}

static void
s_actor (zsock_t *pipe, void *args)
{
    server_t self;
    memset (&self, 0, sizeof self);
    self.opts = *(const dhcp_opts_t *) args;
    self.pipe = pipe;
    //  The reports' node: this machine's name, its first label.
    if (gethostname (self.node, sizeof self.node) != 0)
        self.node[0] = 0;
    self.node[sizeof self.node - 1] = 0;
    self.node[strcspn (self.node, ".")] = 0;
    if (mk_name_check (self.node))
        snprintf (self.node, sizeof self.node, "controller");
    char *error = NULL;
    if (mkdir (self.opts.dir, 0750) != 0 && errno != EEXIST)
        error = zsys_sprintf ("dhcp/dir '%s': %s", self.opts.dir, strerror (errno));
    if (!error && self.opts.pxe)
        error = s_tftp_root (&self);
    if (!error && !(self.client = mk_client_new (self.opts.endpoint)))
        error = zsys_sprintf ("cannot reach the bus at '%s'", self.opts.endpoint);
    if (self.client)
        mk_client_set_token (self.client, self.opts.token);
    zloop_t *loop = zloop_new ();
    if (!error && self.opts.stream_out && *self.opts.stream_out) {
        self.stream = mk_sock_new (ZMQ_SUB, self.opts.stream_out);
        if (!self.stream)
            error = zsys_sprintf ("cannot reach the broker's stream at '%s'", self.opts.stream_out);
        else {
            zsock_set_subscribe (self.stream, "event.vm");
            zsock_set_subscribe (self.stream, "event.host"); //  hosts added and removed
            zloop_reader (loop, self.stream, s_on_stream, &self);
        }
    }
    bool good = !error;
    mk_actor_ready (pipe, error);
    if (good) {
        //  What was served before this start is served until the cloud answers.
        char *conf = zsys_sprintf ("%s/dnsmasq.conf", self.opts.dir);
        if (access (conf, R_OK) == 0)
            s_start_dnsmasq (&self);
        free (conf);
        s_sync (&self);
        zloop_reader (loop, pipe, s_on_pipe, &self);
        zloop_timer (loop, 100, 0, s_on_tick, &self);
        zloop_start (loop);
    }
    s_stop_dnsmasq (&self);
    for (size_t i = 0; i < self.report_count; i++)
        free (self.reports[i]);
    free (self.hosts_served);
    zloop_destroy (&loop);
    mk_sock_destroy (&self.stream);
    mk_client_destroy (&self.client);
}

zactor_t *
dhcp_server_new (const dhcp_opts_t *opts)
{
    return mk_actor_start (s_actor, (void *) opts);
}
