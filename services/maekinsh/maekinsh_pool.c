/*  maekinsh_pool: the rows of maekinsh_cmd's table for IP pools (issue 21, the
    administrator's): pool create, list, show, delete, range add and remove; their
    builders, and how people see a list of pools. A VI is given a pool with `vi pool`. */
#include "maekinsh_cmd_def.h"

#include "mk_ip.h"

static const maekinsh_cmd_opt_t s_create_opts[] = {
    {"--network", "CIDR", true, "its network: 10.88.0.0/24, fd00:88::/64"},
    {"--bridge", "BR", true, "the host bridge its VMs attach to"},
    {"--gateway", "IP", false, "the gateway its VMs are told of (in the network)"},
    {"--dns", "IP,IP", false, "the DNS servers its VMs are told of (at most 4)"},
    {"--range", "FIRST-LAST", false, "addresses it hands out (more: pool range add)"},
    {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_list_opts[] = {
    {"--limit", "N", false, "at most N pools (1..1000), one page; default: all"},
    {NULL, NULL, false, NULL}};
static const maekinsh_cmd_opt_t s_range_opts[] = {
    {"--range", "FIRST-LAST", true, "the addresses, both counted: 10.88.0.100-10.88.0.199"},
    {NULL, NULL, false, NULL}};

const maekinsh_out_table_t maekinsh_pool_table = {&maekin__pool__descriptor,
                                                  {{"NAME", "name", MAEKINSH_OUT_COL_TEXT},
                                                   {"NETWORK", "network", MAEKINSH_OUT_COL_TEXT},
                                                   {"GATEWAY", "gateway", MAEKINSH_OUT_COL_TEXT},
                                                   {"BRIDGE", "bridge", MAEKINSH_OUT_COL_TEXT},
                                                   {"USED", "used", MAEKINSH_OUT_COL_TEXT},
                                                   {"SIZE", "size", MAEKINSH_OUT_COL_TEXT}}};

const maekinsh_out_table_t maekinsh_lease_table = {&maekin__lease__descriptor,
                                                   {{"IP", "ip", MAEKINSH_OUT_COL_TEXT},
                                                    {"MAC", "mac", MAEKINSH_OUT_COL_TEXT},
                                                    {"VM", "vm", MAEKINSH_OUT_COL_TEXT},
                                                    {"VI", "vi", MAEKINSH_OUT_COL_TEXT},
                                                    {"HOST", "host", MAEKINSH_OUT_COL_TEXT},
                                                    {"POOL", "pool", MAEKINSH_OUT_COL_TEXT}}};

static char *
s_build_leases (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    char *why = maekinsh_cmd_build_list (self, args);
    if (why)
        return why;
    //  The page is built: add the pool (none: every pool's).
    Maekin__PoolLeasesRequest leases = *maekinsh_cmd_request (self)->pool_leases;
    leases.name = args->operand ? (char *) args->operand : "";
    Maekin__Envelope env = *maekinsh_cmd_request (self);
    env.pool_leases = &leases;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

//  FIRST-LAST into range (its texts into first and last, MK_IP_TEXT bytes each): NULL, or
//  why not. An IPv6 address has no '-', so the first '-' splits them.
static char *
s_range (const char *text, Maekin__IpRange *range, char *first, char *last)
{
    const char *dash = text ? strchr (text, '-') : NULL;
    mk_ip_t a, b;
    if (!dash || (size_t) (dash - text) >= MK_IP_TEXT || strlen (dash + 1) >= MK_IP_TEXT)
        return zsys_sprintf ("--range is FIRST-LAST, two addresses: 10.88.0.100-10.88.0.199");
    memcpy (first, text, (size_t) (dash - text));
    first[dash - text] = 0;
    snprintf (last, MK_IP_TEXT, "%s", dash + 1);
    if (mk_ip_parse (first, &a) != 0 || mk_ip_parse (last, &b) != 0)
        return zsys_sprintf ("--range %s: both ends must be IPv4 or IPv6 addresses", text);
    range->first = first;
    range->last = last;
    return NULL;
}

static char *
s_build_create (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__Pool pool = MAEKIN__POOL__INIT;
    pool.name = (char *) args->operand;
    pool.network = (char *) maekinsh_cmd_arg (self, args, "--network");
    pool.bridge = (char *) maekinsh_cmd_arg (self, args, "--bridge");
    const char *gateway = maekinsh_cmd_arg (self, args, "--gateway");
    pool.gateway = gateway ? (char *) gateway : "";
    //  The controller checks what a pool may be; here only what the words must be.
    char dns[4 * MK_IP_TEXT + 8] = "";
    const char *servers = maekinsh_cmd_arg (self, args, "--dns");
    if (servers && strlen (servers) >= sizeof dns)
        return zsys_sprintf ("--dns names at most 4 servers");
    char *list[5];
    if (servers) {
        snprintf (dns, sizeof dns, "%s", servers);
        for (char *save = NULL, *one = strtok_r (dns, ",", &save); one;
             one = strtok_r (NULL, ",", &save)) {
            if (pool.n_dns == 4)
                return zsys_sprintf ("--dns names at most 4 servers");
            list[pool.n_dns++] = one;
        }
        pool.dns = list;
    }
    Maekin__IpRange range = MAEKIN__IP_RANGE__INIT;
    Maekin__IpRange *ranges[1] = {&range};
    char first[MK_IP_TEXT], last[MK_IP_TEXT];
    const char *text = maekinsh_cmd_arg (self, args, "--range");
    if (text) {
        char *why = s_range (text, &range, first, last);
        if (why)
            return why;
        pool.ranges = ranges;
        pool.n_ranges = 1;
    }
    Maekin__PoolCreateRequest create = MAEKIN__POOL_CREATE_REQUEST__INIT;
    create.pool = &pool;
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (POOL_CREATE);
    env.pool_create = &create;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

static char *
s_build_range (maekinsh_cmd_t *self, const maekinsh_cmd_args_t *args)
{
    Maekin__IpRange range = MAEKIN__IP_RANGE__INIT;
    char first[MK_IP_TEXT], last[MK_IP_TEXT];
    char *why = s_range (maekinsh_cmd_arg (self, args, "--range"), &range, first, last);
    if (why)
        return why;
    Maekin__PoolRangeRequest change = MAEKIN__POOL_RANGE_REQUEST__INIT;
    change.name = (char *) args->operand;
    change.range = &range;
    change.remove = streq (self->def->verb, "range remove");
    Maekin__Envelope env = MAEKIN__ENVELOPE__INIT;
    env.body_case = MAEKINSH_BODY (POOL_RANGE);
    env.pool_range = &change;
    maekinsh_cmd_finish (self, &env);
    return NULL;
}

//  The rows that change a pool and answer it as it is now.
#define POOL_CHANGE(verb_, summary_, opts_, build_, body_)                                         \
    {                                                                                              \
        .group = "pool", .verb = verb_, .operand = "NAME", .subject = "pool", .summary = summary_, \
        .opts = opts_, .build = build_, .request = MAEKINSH_BODY (body_),                          \
        .reply = MAEKINSH_BODY (POOL_SHOW_REPLY), .mutating = true                                 \
    }

const maekinsh_cmd_def_t maekinsh_pool_commands[] = {
    POOL_CHANGE ("create", "create an IP pool (administrator only)", s_create_opts, s_build_create,
                 POOL_CREATE),
    {.group = "pool",
     .verb = "list",
     .summary = "list the IP pools, with their use (administrator only)",
     .opts = s_list_opts,
     .build = maekinsh_cmd_build_list,
     .run = MAEKINSH_CMD_LIST,
     .request = MAEKINSH_BODY (POOL_LIST),
     .reply = MAEKINSH_BODY (POOL_LIST_REPLY),
     .table = &maekinsh_pool_table},
    {.group = "pool",
     .verb = "show",
     .operand = "NAME",
     .subject = "pool",
     .summary = "show an IP pool: its network, ranges, use and VIs (administrator only)",
     .opts = maekinsh_cmd_no_opts,
     .build = maekinsh_cmd_build_show,
     .request = MAEKINSH_BODY (POOL_SHOW),
     .reply = MAEKINSH_BODY (POOL_SHOW_REPLY)},
    {.group = "pool",
     .verb = "leases",
     .operand = "NAME",
     .optional = true,
     .subject = "pool",
     .summary =
         "the addresses VMs and added hosts hold: one pool's, or every pool's (administrator only)",
     .opts = s_list_opts,
     .build = s_build_leases,
     .run = MAEKINSH_CMD_LIST,
     .request = MAEKINSH_BODY (POOL_LEASES),
     .reply = MAEKINSH_BODY (POOL_LEASES_REPLY),
     .table = &maekinsh_lease_table},
    POOL_CHANGE ("delete", "delete an IP pool no VI has and no VM holds (administrator only)",
                 maekinsh_cmd_no_opts, maekinsh_cmd_build_show, POOL_DELETE),
    POOL_CHANGE ("range add", "give an IP pool more addresses (administrator only)", s_range_opts,
                 s_build_range, POOL_RANGE),
    POOL_CHANGE ("range remove", "take a range no VM holds from a pool (administrator only)",
                 s_range_opts, s_build_range, POOL_RANGE),
    {.group = NULL}};

void
maekinsh_pool_test (bool verbose)
{
    (void) verbose;
    maekinsh_cmd_t *cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS (
        "pool", "create", "lab", "--network", "10.88.0.0/24", "--bridge", "mkbr0", "--gateway",
        "10.88.0.1", "--dns", "10.88.0.1,fd00::53", "--range", "10.88.0.100-10.88.0.199"));
    const Maekin__Envelope *env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (POOL_CREATE));
    const Maekin__Pool *pool = env->pool_create->pool;
    assert (streq (pool->name, "lab") && streq (pool->network, "10.88.0.0/24"));
    assert (streq (pool->bridge, "mkbr0") && streq (pool->gateway, "10.88.0.1"));
    assert (pool->n_dns == 2 && streq (pool->dns[1], "fd00::53"));
    assert (pool->n_ranges == 1 && streq (pool->ranges[0]->first, "10.88.0.100"));
    assert (streq (pool->ranges[0]->last, "10.88.0.199"));
    assert (maekinsh_cmd_test_is_uuid (env->request_id));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (
        MAEKINSH_WORDS ("pool", "range", "remove", "six", "--range", "fd00::10-fd00::1f"));
    env = maekinsh_cmd_request (cmd);
    assert (env->pool_range->remove && streq (env->pool_range->range->first, "fd00::10"));
    assert (streq (env->pool_range->range->last, "fd00::1f"));
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("pool", "leases", "lab", "--limit", "5"));
    env = maekinsh_cmd_request (cmd);
    assert (env->body_case == MAEKINSH_BODY (POOL_LEASES) && streq (env->pool_leases->name, "lab"));
    assert (env->pool_leases->page && env->pool_leases->page->limit == 5);
    maekinsh_cmd_destroy (&cmd);
    cmd = maekinsh_cmd_test_good (MAEKINSH_WORDS ("pool", "leases"));
    assert (streq (maekinsh_cmd_request (cmd)->pool_leases->name, ""));
    maekinsh_cmd_destroy (&cmd);
    maekinsh_cmd_test_bad (MAEKINSH_WORDS ("pool", "create", "lab", "--bridge", "mkbr0"),
                           "--network");
    maekinsh_cmd_test_bad (MAEKINSH_WORDS ("pool", "range", "add", "lab", "--range", "10.88.0.1"),
                           "FIRST-LAST");
    maekinsh_cmd_test_bad (
        MAEKINSH_WORDS ("pool", "range", "add", "lab", "--range", "10.88.0.1-ten"), "both ends");
    maekinsh_cmd_test_bad (MAEKINSH_WORDS ("pool", "create", "lab", "--network", "10.0.0.0/8",
                                           "--bridge", "b", "--dns", "1.1.1.1,2,3,4,5"),
                           "at most 4");
}
