#!/bin/bash
# A cloud of several nodes on one machine, each node in its own network and UTS
# namespace, as the paper's cluster: a hub namespace holds a bridge, each node has a
# veth on it (eth0, 10.88.0.I/24, a route for multicast), and runs its agent (libvirt's
# test driver, a node file of its own) and its monitor (a synthetic load of its own:
# nodes share the machine's CPU and memory, not their network counters; the test
# driver's domains live in the agent's process, out of the monitor's sight, so -g says
# how many synthetic guests each monitor reports in their stead). Node 1 also
# runs the broker and the controller with its SQLite database, as in the paper.
#
#   usage: deploy/cluster.sh start [-n NODES] [-d DIR] [-b BUILD] [-i MS] [-m MODE]
#          [-g "COUNT..."] [-e]
#          (3 nodes, var/cluster, build; the monitors' interval, 5000; their multicast
#          mode: fallback, only or off; -g: how many guests each node's monitor reports,
#          one count a node, default none; -e: the network alone, no Maekin process)
#          deploy/cluster.sh status [-d DIR]
#          deploy/cluster.sh exec [-d DIR] NODE COMMAND...   (e.g. 2 maekinsh host list)
#          deploy/cluster.sh run [-d DIR] NODE NAME COMMAND...   (in the background,
#          stopped with the rest: another system beside Maekin, as the benchmark's gmond)
#          deploy/cluster.sh down|up [-d DIR] PROCESS   (stop or start again: broker, agent2, ...)
#          deploy/cluster.sh link [-d DIR] NODE down|up   (its veth on the bridge)
#          deploy/cluster.sh stop [-d DIR]
#
# Needs root (network namespaces). Everything it makes is named after DIR: two clusters
# in two directories do not meet. `exec` runs a command inside a node's namespaces with
# MAEKIN_BUS set to the broker's endpoint; `maekinsh` there is the build's, given the
# broker's endpoints on node 1.
set -u

src=$(cd "$(dirname "$0")/.." && pwd)
die() {
    echo "cluster.sh: $*" >&2
    exit 2
}
usage() {
    sed -n 's/^#   usage: /usage: /p; s/^#          deploy/       deploy/p' "$0" >&2
    exit 2
}

[ $# -ge 1 ] || usage
command=$1
shift
nodes=3 dir=$src/var/cluster build=$src/build interval=5000 mode=fallback empty=0 guests=""
while getopts n:d:b:i:m:g:eh opt; do
    case $opt in
        e) empty=1 ;;
        g) guests=$OPTARG ;;
        n) nodes=$OPTARG ;;
        i) interval=$OPTARG ;;
        m) mode=$OPTARG ;;
        d) dir=$OPTARG ;;
        b) build=$OPTARG ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
case $nodes in
    '' | 0* | *[!0-9]*) die "-n takes a number of nodes from 1 to 200, not '$nodes'" ;;
esac
[ "$nodes" -le 200 ] || die "-n takes a number of nodes from 1 to 200, not '$nodes'"
case $interval in
    '' | 0* | *[!0-9]*) die "-i takes the monitors' interval in ms, not '$interval'" ;;
esac
for count in $guests; do
    case $count in
        '' | *[!0-9]*) die "-g takes guest counts (numbers, one a node), not '$guests'" ;;
    esac
done
case $mode in
    fallback | only | off) ;;
    *) die "-m takes fallback, only or off, not '$mode'" ;;
esac
[ "$(id -u)" -eq 0 ] || die "network namespaces need root: run it as root (sudo)"
command -v ip >/dev/null || die "needs 'ip' (Debian package iproute2)"
mkdir -p "$dir" || die "cannot make $dir"
dir=$(cd "$dir" && pwd)
# Namespace names from the directory: short (the kernel keeps 15 bytes of a link name,
# and ip netns names become file names) and the same at every call.
id=$(printf '%s' "$dir" | md5sum | cut -c1-6)
hub=mk$id-hub
ns() { echo "mk$id-n$1"; }
subnet=10.88.0
broker_ip=$subnet.1
bus=tcp://$broker_ip:7010 stream_in=tcp://$broker_ip:7011 stream_out=tcp://$broker_ip:7012

# Runs a program in node I's namespaces, in the background, its pid in DIR/pids.
# Its own UTS namespace (never the machine's: see TESTING.md) named nodeI.
launch() { # node name program args...
    local node=$1 name=$2
    shift 2
    # How to start it again (up): its node and arguments, one a line.
    printf '%s\n' "$node" "$@" >"$dir/cmd/$name"
    ip netns exec "$(ns "$node")" unshare -u --propagation private sh -c \
        'hostname "$0" && exec "$@"' "node$node" "$@" >>"$dir/logs/$name.log" 2>&1 &
    echo "$! $name" >>"$dir/pids"
}

stop_all() {
    if [ -f "$dir/pids" ]; then
        local pid name left
        while read -r pid name; do kill -TERM "$pid" 2>/dev/null; done <"$dir/pids"
        for _ in $(seq 100); do
            left=0
            while read -r pid name; do kill -0 "$pid" 2>/dev/null && left=1; done <"$dir/pids"
            [ $left -eq 0 ] && break
            sleep 0.1
        done
        while read -r pid name; do
            kill -0 "$pid" 2>/dev/null && { echo "cluster.sh: $name did not stop; killed" >&2; kill -KILL "$pid"; }
        done <"$dir/pids"
        rm -f "$dir/pids"
    fi
    local n
    for n in $(ip netns list | awk -v p="mk$id-" 'index($1, p) == 1 { print $1 }'); do
        ip netns del "$n" || echo "cluster.sh: cannot delete namespace $n" >&2
    done
    rm -f "$dir/nodes.count" "$dir/build" "$dir/empty"
}

no_ipv6() { # namespace
    ip netns exec "$1" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 \
        || echo "cluster.sh: cannot switch IPv6 off in $1: its own chatter adds to the" \
            "nodes' traffic" >&2
}

start_all() {
    [ "$empty" -eq 1 ] || build=$(cd "$build" 2>/dev/null && pwd) \
        || die "no build directory $build: run make first"
    [ "$empty" -eq 1 ] || for program in maekin-broker maekin-controller maekin-agent maekin-monitor maekinsh; do
        [ -x "$build/$program" ] || die "$build/$program is missing: run make first"
    done
    [ ! -f "$dir/pids" ] || die "a cluster runs from $dir already ('cluster.sh stop -d $dir' first)"
    stop_all 2>/dev/null # what a crashed launcher left
    mkdir -p "$dir/logs" "$dir/nodes" "$dir/cmd"
    ip netns add "$hub" || die "cannot add network namespace $hub"
    # IPv4 alone: IPv6's own chatter (router solicitations, listener reports from every
    # node to every node) would grow each node's traffic with the cluster's size.
    no_ipv6 "$hub"
    ip -n "$hub" link add br0 type bridge && ip -n "$hub" link set br0 up \
        && ip -n "$hub" link set lo up || die "cannot make the bridge"
    local i
    for i in $(seq "$nodes"); do
        local n
        n=$(ns "$i")
        ip netns add "$n" || die "cannot add network namespace $n"
        no_ipv6 "$n"
        ip link add "mk$id-v$i" netns "$hub" type veth peer name eth0 netns "$n" \
            && ip -n "$hub" link set "mk$id-v$i" master br0 up \
            && ip -n "$n" addr add "$subnet.$i/24" dev eth0 \
            && ip -n "$n" link set eth0 up && ip -n "$n" link set lo up \
            && ip -n "$n" route add 224.0.0.0/4 dev eth0 || die "cannot wire node $i"
        "$src/deploy/make-node.sh" "node$i" 16 32768 >"$dir/nodes/node$i.xml" || exit 2
    done
    echo "$nodes" >"$dir/nodes.count"
    echo "$build" >"$dir/build" # for status and exec: the programs it started
    if [ "$empty" -eq 1 ]; then
        touch "$dir/empty" "$dir/pids"
        echo "network of $nodes nodes up, nothing running (cluster.sh run starts a program)"
        return
    fi
    # CURVE: a key pair for the broker, the controller, maekinsh and each node (its agent
    # and monitor share it), admitted for the node's host once the administrator is in.
    local keys=$dir/keys
    for name in broker controller maekinsh $(seq -f "node%g" "$nodes"); do
        "$build/maekinsh" admin keygen "$keys" "$name" >/dev/null || die "cannot make the key pair $name"
    done
    "$build/maekinsh" admin secret "$keys/multicast.key" >/dev/null \
        || die "cannot make the multicast key"
    printf 'bus\n    key = "%s"\n    broker_key = "%s"\n' "$keys/maekinsh.key_secret" \
        "$keys/broker.key" >"$dir/maekinsh.cfg"
    launch 1 broker "$build/maekin-broker" --bus-endpoint=$bus --bus-stream_in=$stream_in \
        --bus-stream_out=$stream_out --bus-key="$keys/broker.key_secret" \
        --bus-controller_key="$keys/controller.key"
    launch 1 controller "$build/maekin-controller" --bus-endpoint=$bus \
        --bus-stream_in=$stream_in --bus-stream_out=$stream_out \
        --db-url="sqlite:$dir/maekin.db" --auth-admin_password_file="$dir/admin-password" \
        --bus-key="$keys/controller.key_secret" --bus-broker_key="$keys/broker.key" \
        --bus-client_key="$keys/maekinsh.key"
    # maekinsh in every node logs in as the administrator: its token in $dir/config.
    in_node 1 "$src/deploy/login-admin.sh" "$build" "$bus" "$dir/admin-password" >/dev/null \
        || { stop_all; exit 1; }
    local -a counts
    read -r -a counts <<<"$guests"
    for i in $(seq "$nodes"); do
        in_node 1 maekinsh key admit "node$i" "$keys/node$i.key" --role node --hosts "node$i" \
            >/dev/null || { stop_all; die "cannot admit the key of node$i"; }
    done
    for i in $(seq "$nodes"); do
        local vms=${counts[$((i - 1))]:-0}
        local keyed="--bus-key=$keys/node$i.key_secret --bus-broker_key=$keys/broker.key"
        launch "$i" "agent$i" "$build/maekin-agent" --bus-endpoint=$bus $keyed \
            --agent-hosts="node$i=test://$dir/nodes/node$i.xml" --agent-domain_type=test
        launch "$i" "monitor$i" "$build/maekin-monitor" --bus-stream_in=$stream_in $keyed \
            --monitor-interval_ms="$interval" \
            --multicast-mode="$mode" --multicast-key="$keys/multicast.key" \
            --monitor-hosts="node$i=synthetic:$((10 + i * 7 % 60)):$((20 + i * 11 % 50)):$vms"
    done
    # Up when every node's host is.
    local up=0
    for _ in $(seq 300); do
        up=$(in_node 1 "$build/maekinsh" --bus-endpoint=$bus host list --state up 2>/dev/null \
            | tail -n +2 | wc -l)
        [ "$up" -ge "$nodes" ] && break
        sleep 0.2
    done
    if [ "$up" -lt "$nodes" ]; then
        echo "cluster.sh: only $up of $nodes hosts came up; logs in $dir/logs" >&2
        stop_all
        exit 1
    fi
    echo "cluster of $nodes nodes up: broker at $bus on node 1; logs in $dir/logs"
    echo "try: deploy/cluster.sh exec -d $dir 2 maekinsh host list"
}

# A command in node I's namespaces, maekinsh found in the build directory.
in_node() { # node command...
    local node=$1
    shift
    [ "$1" = maekinsh ] && set -- "$build/maekinsh" --bus-endpoint=$bus \
        --bus-stream_out=$stream_out "${@:2}"
    XDG_CONFIG_HOME=$dir/config MAEKIN_BUS=$bus MAEKINSH_CONFIG=$dir/maekinsh.cfg \
        MAEKIN_BUS_KEY=$dir/keys/maekinsh.key_secret MAEKIN_BROKER_KEY=$dir/keys/broker.key \
        ip netns exec "$(ns "$node")" unshare -u sh -c 'hostname "$0" && exec "$@"' \
        "node$node" "$@"
}

# Stops one process, or starts it again as it was started.
down_one() { # name
    local pid
    pid=$(awk -v n="$1" '$2 == n { print $1 }' "$dir/pids")
    [ -n "$pid" ] || die "no process '$1' runs here (cluster.sh status names them)"
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    awk -v n="$1" '$2 != n' "$dir/pids" >"$dir/pids.new" && mv "$dir/pids.new" "$dir/pids"
}
up_one() { # name
    [ -f "$dir/cmd/$1" ] || die "no process '$1' was started here"
    ! awk -v n="$1" '$2 == n { found = 1 } END { exit !found }' "$dir/pids" \
        || die "'$1' runs already"
    local -a args
    mapfile -t args <"$dir/cmd/$1"
    launch "${args[0]}" "$1" "${args[@]:1}"
}

status() {
    [ -f "$dir/nodes.count" ] || { echo "no cluster runs from $dir"; return 3; }
    local count pid name rc=0
    count=$(cat "$dir/nodes.count")
    echo "cluster of $count nodes from $dir (namespaces mk$id-*)"
    while read -r pid name; do
        if kill -0 "$pid" 2>/dev/null; then
            echo "  $name: running (pid $pid)"
        else
            echo "  $name: NOT running (see $dir/logs/$name.log)"
            rc=1
        fi
    done <"$dir/pids"
    [ -f "$dir/empty" ] || in_node 1 maekinsh host list || rc=1
    return $rc
}

# Status and exec use the build the cluster was started from.
[ "$command" != start ] && [ -f "$dir/build" ] && build=$(cat "$dir/build")
case $command in
    start) start_all ;;
    stop) stop_all ;;
    status) status ;;
    exec)
        [ $# -ge 2 ] || usage
        [ -f "$dir/nodes.count" ] || die "no cluster runs from $dir"
        case $1 in '' | *[!0-9]*) die "exec takes a node number, not '$1'" ;; esac
        [ "$1" -ge 1 ] && [ "$1" -le "$(cat "$dir/nodes.count")" ] || die "no node $1 here"
        in_node "$@"
        ;;
    run)
        [ $# -ge 3 ] || usage
        [ -f "$dir/nodes.count" ] || die "no cluster runs from $dir"
        case $1 in '' | *[!0-9]*) die "run takes a node number, not '$1'" ;; esac
        [ "$1" -ge 1 ] && [ "$1" -le "$(cat "$dir/nodes.count")" ] || die "no node $1 here"
        case $2 in '' | *[!A-Za-z0-9_-]*) die "run takes a name of letters and digits, not '$2'" ;; esac
        ! awk -v n="$2" '$2 == n { found = 1 } END { exit !found }' "$dir/pids" \
            || die "'$2' runs already"
        launch "$@"
        ;;
    down | up)
        [ $# -eq 1 ] || usage
        [ -f "$dir/nodes.count" ] || die "no cluster runs from $dir"
        "${command}_one" "$1"
        ;;
    link)
        [ $# -eq 2 ] || usage
        [ -f "$dir/nodes.count" ] || die "no cluster runs from $dir"
        case $1 in '' | *[!0-9]*) die "link takes a node number, not '$1'" ;; esac
        [ "$1" -ge 1 ] && [ "$1" -le "$(cat "$dir/nodes.count")" ] || die "no node $1 here"
        case $2 in up | down) ;; *) die "link takes down or up, not '$2'" ;; esac
        ip -n "$hub" link set "mk$id-v$1" "$2" || die "cannot set node $1's link $2"
        ;;
    -h | --help | help) usage ;;
    *) die "unknown command '$command' (start, status, exec, run, down, up, link, stop)" ;;
esac
