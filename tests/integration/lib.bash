# tests/integration/lib.bash: what the integration tests share. Sourced, not run.
# Starts the real programs from $MK_BUILD on loopback with free ports, in a temp dir,
# and stops every process it started (by PID) when the test exits.
set -u
MK_BUILD=${MK_BUILD:?run through tests/run.sh, or set MK_BUILD to a build directory}
MK_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T=$(mktemp -d /tmp/maekin-it.XXXXXX)
declare -A PIDS=()
checks=0

log() { printf '%s %s\n' "$(date +%T.%3N)" "$*" >&2; }
fail() {
    log "FAIL: $*"
    for f in "$T"/*.log; do
        [ -f "$f" ] && { echo "--- last lines of $f" >&2; tail -n 15 "$f" >&2; }
    done
    exit 1
}
ok() { checks=$((checks + 1)); log "ok: $*"; }

# cleanup [STATUS]: a test's own EXIT trap that does more first passes the status on.
cleanup() {
    local rc=${1:-$?}
    for name in "${!PIDS[@]}"; do kill -TERM "${PIDS[$name]}" 2>/dev/null; done
    for name in "${!PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "${PIDS[$name]}" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "${PIDS[$name]}" 2>/dev/null
    done
    wait 2>/dev/null
    # A program built with the sanitizers that found a bug or a leak (at exit too) fails
    # the test, whatever the test saw.
    local found
    found=$(grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T"/*.log 2>/dev/null)
    if [ -n "$found" ]; then
        for f in $found; do
            log "FAIL: the sanitizers reported in $f:"
            grep -m 1 -A 12 -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$f" >&2
        done
        rc=1
    fi
    [ $rc -eq 0 ] && [ -z "${KEEP:-}" ] && rm -rf "$T"
    [ $rc -eq 0 ] && log "$checks checks passed" || log "kept $T for a look"
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# free_port: a TCP port on 127.0.0.1 that nothing listens on now, with the next two free.
free_port() {
    local p i
    for _ in $(seq 100); do
        # Below the kernel's ephemeral range (32768 up): a port there may be some
        # connection's local end, which no connect test sees but bind refuses.
        p=$((20000 + RANDOM % 12000))
        for i in 0 1 2; do
            (exec 3<>/dev/tcp/127.0.0.1/$((p + i))) 2>/dev/null && continue 2
        done
        echo $p
        return
    done
    fail "no free ports"
}

PORT=$(free_port)
BUS=tcp://127.0.0.1:$PORT
STREAM_IN=tcp://127.0.0.1:$((PORT + 1))
STREAM_OUT=tcp://127.0.0.1:$((PORT + 2))
# The bus is CURVE, as a real cloud's: every program has its key pair in $KEYS.
KEYS=$T/keys
# keys NAME...: a key pair for each (made once).
keys() {
    local name
    for name; do
        [ -f "$KEYS/$name.key_secret" ] || "$MK_BUILD/maekinsh" admin keygen "$KEYS" "$name" >/dev/null \
            || fail "cannot make the key pair $name"
    done
}
keys broker controller maekinsh
"$MK_BUILD/maekinsh" admin secret "$KEYS/multicast.key" >/dev/null || fail "cannot make the multicast key"
# bus_opts NAME: the options of a program that reaches the broker with the key pair NAME.
bus_opts() { echo "--bus-key=$KEYS/$1.key_secret --bus-broker_key=$KEYS/broker.key"; }
cat > "$T/maekinsh.cfg" <<CFG
bus
    key = "$KEYS/maekinsh.key_secret"
    broker_key = "$KEYS/broker.key"
CFG
# maekinsh keeps its session's token in $XDG_CONFIG_HOME/maekin/tokens: the test's own.
# Tools (mk_raw, the benches) find the keys in $MAEKIN_BUS_KEY and $MAEKIN_BROKER_KEY.
export MAEKIN_BUS=$BUS MAEKINSH_CONFIG=$T/maekinsh.cfg XDG_CONFIG_HOME=$T/config \
    MAEKIN_BUS_KEY=$KEYS/maekinsh.key_secret MAEKIN_BROKER_KEY=$KEYS/broker.key

# start NAME COMMAND...: runs a program in the background, logging to $T/NAME.log.
start() {
    local name=$1; shift
    "$@" >>"$T/$name.log" 2>&1 &
    PIDS[$name]=$!
}
# stop NAME [SIGNAL]: stops what start started, and waits for it.
stop() {
    local pid=${PIDS[$1]:-}
    [ -n "$pid" ] || return 0
    kill -"${2:-TERM}" "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    unset "PIDS[$1]"
}

start_broker() {
    start broker "$MK_BUILD/maekin-broker" --bus-endpoint=$BUS --bus-stream_in=$STREAM_IN \
        --bus-stream_out=$STREAM_OUT --bus-key="$KEYS/broker.key_secret" \
        --bus-controller_key="$KEYS/controller.key"
}
# start_controller [options]: the controller; the administrator's first password goes
# to $T/admin-password (see login_admin).
start_controller() {
    start controller "$MK_BUILD/maekin-controller" --bus-endpoint=$BUS --bus-stream_in=$STREAM_IN --bus-stream_out=$STREAM_OUT \
        --db-url="${DB_URL:-sqlite:$T/maekin.db}" --controller-host_timeout_ms=1500 \
        --auth-admin_password_file="$T/admin-password" $(bus_opts controller) \
        --bus-client_key="$KEYS/maekinsh.key" "$@"
}
# login_admin: maekinsh logs in as the administrator (the token kept in $T/config),
# once the controller has written the password and serves.
login_admin() {
    "$MK_SRC/deploy/login-admin.sh" "$MK_BUILD" $BUS "$T/admin-password" >/dev/null || fail "cannot log in as admin"
}
# token: the session's token maekinsh keeps for this cloud (for mk_raw and the benches).
token() { awk -v e="$BUS" '$1 == e { print $2 }' "$T/config/maekin/tokens" 2>/dev/null; }
# node NAME CPUS MEMORY_MB: a test-driver node file; prints its URI.
node() {
    "$MK_SRC/deploy/make-node.sh" "$1" "$2" "$3" > "$T/$1.xml" || fail "make-node.sh $*"
    echo "test://$T/$1.xml"
}
# node_key NAME HOSTS: the options of a program with the node key NAME, admitted (once)
# for the hosts (comma-separated), as an administrator does: an agent's or a monitor's.
node_key() {
    local name=$1 hosts=$2 out
    if [ ! -f "$KEYS/$name.key_secret" ]; then
        keys "$name"
        out=$(sh key admit "$name" "$KEYS/$name.key" --role node --hosts "$hosts" 2>&1) \
            || fail "cannot admit the node key $name: $out"
    fi
    bus_opts "$name"
}
# monitor_opts NAME HOSTS: a monitor's options: its node key (node_key) and the cloud's
# multicast key.
monitor_opts() { echo "$(node_key "$1" "$2") --multicast-key=$KEYS/multicast.key"; }
# start_agent NAME URI [options]: an agent for one host, with a node key for it.
start_agent() {
    local name=$1 uri=$2 opts; shift 2
    opts=$(node_key "agent-$name" "$name")
    start "agent-$name" "$MK_BUILD/maekin-agent" --bus-endpoint=$BUS --agent-hosts="$name=$uri" \
        --agent-report_ms=300 --agent-domain_type=test $opts "$@"
}

# start_gateway NAME PORT [options]: a gateway on 127.0.0.1:PORT with the key pair
# `gateway`, admitted as a client's (once), as an administrator does.
start_gateway() {
    local name=$1 port=$2 out; shift 2
    if [ ! -f "$KEYS/gateway.key_secret" ]; then
        keys gateway
        out=$(sh key admit gateway "$KEYS/gateway.key" --role client 2>&1) \
            || fail "cannot admit the gateway's key: $out"
    fi
    start "$name" "$MK_BUILD/maekin-gateway" --bus-endpoint=$BUS --gateway-listen=127.0.0.1:$port \
        $(bus_opts gateway) "$@"
}

# start_gateway_cloud SOURCE: a cloud behind a gateway on a free port ($HTTP_PORT): the
# broker, the controller, the gateway (with the stream), an agent for node1 (8 CPUs,
# 16 GiB) on the test driver and a monitor sampling node1 every 200 ms from SOURCE
# (synthetic:CPU:MEMORY[:VMS]); returns once node1 is up.
start_gateway_cloud() {
    HTTP_PORT=$(free_port)
    start_broker
    start_controller
    eventually 30 "the controller writes the first administrator's password" test -s "$T/admin-password"
    start_gateway gateway $HTTP_PORT --bus-stream_out=$STREAM_OUT
    start_agent node1 "$(node node1 8 16384)"
    start monitor "$MK_BUILD/maekin-monitor" --bus-stream_in=$STREAM_IN $(monitor_opts monitor node1) \
        --multicast-interface=127.0.0.1 --monitor-hosts="node1=$1" --monitor-interval_ms=200
    eventually 30 "node1 comes up" is host node1 state up
}

# start_tiny_cloud: the broker, the controller, an agent for node1 (64 CPUs, 64 GiB) on
# the test driver, and a template tiny (1 vCPU, 64 MiB); returns once node1 is up.
start_tiny_cloud() {
    start_broker
    start_controller
    eventually 30 "the controller writes the first administrator's password" test -s "$T/admin-password"
    start_agent node1 "$(node node1 64 65536)"
    eventually 30 "node1 comes up" is host node1 state up
    expect_ok "a template" sh template create tiny --vcpus 1 --memory 64
}

# netns_with_bridge NS BRIDGE CIDR: a network namespace NS, its loopback up, and in it a
# bridge BRIDGE with the address CIDR, up (the caller deletes NS).
netns_with_bridge() {
    ip netns add "$1" || fail "cannot make network namespace $1 (ip netns, as root)"
    ip -n "$1" link set lo up
    ip -n "$1" link add "$2" type bridge || fail "cannot make bridge $2 in $1"
    ip -n "$1" addr add "$3" dev "$2"
    ip -n "$1" link set "$2" up
}
# guest_kit [PACKAGE LISTS...]: the Debian packages of the lists and of the guest kit
# (tests/guest/), and the kit's kernel and initramfs built into $GUEST_DIR (build/guest,
# cached): before a test enters a namespace where Debian's mirror is not reached.
guest_kit() {
    "$MK_SRC/deploy/deps.sh" "$@" "$MK_SRC/tests/guest/packages.txt" >"$T/deps.log" 2>&1 \
        || fail "cannot install the packages: $(tail -n 3 "$T/deps.log")"
    bash "$MK_SRC/tests/guest/build-guest.sh" "${GUEST_DIR:-$MK_SRC/build/guest}" >"$T/guest-build.log" 2>&1 \
        || fail "building the guest failed: $(tail -n 5 "$T/guest-build.log")"
}
# dhcp_keys: what maekin-dhcp needs of the cloud, as an administrator makes it: a read-only
# API key of the administrator's in $T/dhcp.key (mode 600) and the key pair `dhcp`,
# admitted as a client's.
dhcp_keys() {
    local out
    sh apikey create dhcp --read-only >"$T/key.out" 2>&1 || fail "apikey create: $(cat "$T/key.out")"
    grep -o 'mka_[A-Za-z0-9_-]*' "$T/key.out" | head -n 1 >"$T/dhcp.key"
    chmod 600 "$T/dhcp.key"
    keys dhcp
    out=$(sh key admit dhcp "$KEYS/dhcp.key" --role client 2>&1) || fail "cannot admit dhcp's key: $out"
}

# sh ARGS...: maekinsh on this cloud, logged in as the administrator first if it is not.
sh() {
    [ -n "$(token)" ] || login_admin
    "$MK_BUILD/maekinsh" --bus-endpoint=$BUS "$@"
}

# expect_ok DESCRIPTION COMMAND...: the command must succeed.
expect_ok() {
    local what=$1; shift
    local out
    out=$("$@" 2>&1) || fail "$what: '$*' failed: $out"
    ok "$what"
}
# expect_fail DESCRIPTION STATUS PATTERN COMMAND...: exits with STATUS, output matches.
expect_fail() {
    local what=$1 status=$2 pattern=$3; shift 3
    local out rc
    out=$("$@" 2>&1); rc=$?
    [ $rc -eq "$status" ] || fail "$what: '$*' exited $rc, not $status: $out"
    grep -qiE -- "$pattern" <<<"$out" || fail "$what: '$*' said '$out', not /$pattern/"
    ok "$what"
}
# field KIND NAME KEY: one value from 'maekinsh KIND show NAME' (key: value lines).
field() {
    sh "$1" show "$2" 2>/dev/null | awk -F': *' -v k="$3" '$1 == k { print $2; exit }'
}
# eventually SECONDS DESCRIPTION COMMAND...: retries until the command succeeds.
eventually() {
    local limit=$1 what=$2; shift 2
    local until=$((SECONDS + limit))
    while ! "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $until ] || fail "$what: not within ${limit}s"
        sleep 0.1
    done
    ok "$what"
}
is() { [ "$(field "$1" "$2" "$3")" = "$4" ]; }

# recv_q PID: the bytes waiting unread in a (stopped) process's TCP receive queues from
# the broker: what was sent to it and not yet taken.
recv_q() {
    ss -tnpH state established "( dport = :${BUS##*:} )" 2>/dev/null \
        | grep "pid=$1," | awk '{ s += $1 } END { print s + 0 }'
}

# mysql_fresh: the private MariaDB of tests/run.sh, its tables dropped so the controller
# migrates a new schema. Sets url (for DB_URL) and server (its directory, for
# tests/mariadb.sh kill|resume), and what mysql_do needs.
mysql_fresh() {
    url=${MK_TEST_MYSQL_URL:-}
    [ -n "$url" ] || fail "MK_TEST_MYSQL_URL is not set (tests/run.sh starts a private MariaDB and sets it)"
    # mysql://USER:PASSWORD@/DATABASE?socket=PATH, as tests/mariadb.sh prints it.
    mysql_socket=$(sed -n 's|.*[?&]socket=\([^&]*\).*|\1|p' <<<"$url")
    mysql_user=$(sed -n 's|^mysql://\([^:@]*\).*|\1|p' <<<"$url")
    mysql_password=$(sed -n 's|^mysql://[^:@]*:\([^@]*\)@.*|\1|p' <<<"$url")
    mysql_database=$(sed -n 's|^mysql://[^/]*/\([^?]*\).*|\1|p' <<<"$url")
    [ -n "$mysql_socket" ] && [ -n "$mysql_user" ] && [ -n "$mysql_database" ] \
        || fail "cannot read '$url'"
    server=$(dirname "$mysql_socket")
    # Every table there is, whatever the schema's version: a new one is not forgotten.
    local tables
    tables=$(mysql_do -N -e "SELECT IFNULL(GROUP_CONCAT(table_name), '') FROM information_schema.tables
                             WHERE table_schema = DATABASE()") || fail "cannot reach the test database"
    [ -z "$tables" ] || mysql_do -e "DROP TABLE IF EXISTS $tables" || fail "cannot drop $tables"
}
# mysql_do ARGS...: the mariadb client on the test database (after mysql_fresh).
mysql_do() {
    mariadb --no-defaults --protocol=socket --socket="$mysql_socket" --user="$mysql_user" \
        --password="$mysql_password" "$mysql_database" "$@"
}

# create_until_done NAME: creates a VM from 'tiny', retrying what a restart or an
# outage answers. A retry after "nothing was changed" creates it; one after a lost
# answer finds it made ("exists already").
create_until_done() {
    local out
    for _ in $(seq 200); do
        out=$(sh --timeout-ms 1500 vm create "$1" --template tiny 2>&1) && return 0
        grep -q "exists already" <<<"$out" && return 0
        # Transient while a host's agent or the controller restarts: no host up yet.
        grep -qiE "retry|database|reach|no reply|unavailable|lost|busy|no host that is up|outcome is unknown" <<<"$out" \
            || { echo "create $1: $out" >&2; return 1; }
        sleep 0.2
    done
    echo "create $1: gave up: $out" >&2
    return 1
}
