#!/bin/bash
# The paper's one experiment (section 4, Table 1, Figure 3): each node's received and
# transmitted bytes a second on its interface (the counters count Ethernet, IP and
# TCP/UDP headers), over a window after a warm-up, at the monitors' default interval,
# for clouds of N nodes in network namespaces (deploy/cluster.sh). Five VMs placed as in
# Table 1 for N = 1..5, one VM a node beyond. Two modes of Maekin: the broker path (the
# default: multicast only while the broker is away) and multicast-only monitors (the
# paper's), the agents on the broker in both. Node 1, which holds the broker, the
# controller and the database and hears everyone, is printed apart.
# (Ganglia's gmond beside it, in the same topology, is still to come: issue 16.)
#
# usage: tests/bench/traffic.sh BUILD_DIR   (as root; environment: NODES="1 2 3 4 5 8"
#        WINDOW=60 seconds, WARMUP=15 seconds)
set -u
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
nodes_list=${NODES:-1 2 3 4 5 8 16 32}
window=${WINDOW:-60}
warmup=${WARMUP:-15}
[ "$(id -u)" -eq 0 ] || { echo "traffic.sh: needs root (network namespaces)"; exit 2; }
T=$(mktemp -d /tmp/maekin-traffic.XXXXXX)
cluster() { "$src/deploy/cluster.sh" "$@"; }
trap 'cluster stop -d "$T/c" >/dev/null 2>&1; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

# Table 1: how many of the five VMs each host holds, for N = 1..5.
placement() { # n -> a count a host
    case $1 in
        1) echo 5 ;; 2) echo 1 4 ;; 3) echo 1 2 2 ;; 4) echo 1 1 1 2 ;; 5) echo 1 1 1 1 1 ;;
        *) local i; for i in $(seq "$1"); do printf '1 '; done; echo ;;
    esac
}
# Every node's interface counters: "node rx tx" lines.
counters() { # n
    local i id
    id=$(printf '%s' "$T/c" | md5sum | cut -c1-6)
    for i in $(seq "$1"); do
        echo "$i $(ip netns exec "mk$id-n$i" cat /sys/class/net/eth0/statistics/rx_bytes)" \
            "$(ip netns exec "mk$id-n$i" cat /sys/class/net/eth0/statistics/tx_bytes)"
    done
}

printf '%-10s %5s %14s %14s %22s %22s\n' mode nodes "node1 rx B/s" "node1 tx B/s" \
    "others rx B/s avg/max" "others tx B/s avg/max"
for mode in fallback only; do
    for n in $nodes_list; do
        out=$(cluster start -n "$n" -d "$T/c" -b "$build" -m "$mode" 2>&1) \
            || { echo "traffic.sh: $out"; exit 1; }
        cluster exec -d "$T/c" 1 maekinsh template create tiny --vcpus 1 --memory 64 >/dev/null \
            || { echo "traffic.sh: no template"; exit 1; }
        host=0 vm=0
        for count in $(placement "$n"); do
            host=$((host + 1))
            for _ in $(seq "$count"); do
                vm=$((vm + 1))
                cluster exec -d "$T/c" 1 maekinsh vm create "vm$vm" --template tiny \
                    --host "node$host" --wait >/dev/null || { echo "traffic.sh: vm$vm"; exit 1; }
            done
        done
        sleep "$warmup"
        counters "$n" >"$T/before"
        sleep "$window"
        counters "$n" >"$T/after"
        cluster stop -d "$T/c" >/dev/null
        rm -rf "$T/c" # a new cloud each time: its database too
        paste "$T/before" "$T/after" | awk -v w="$window" -v mode="$mode" -v n="$n" '
            { rx = ($5 - $2) / w; tx = ($6 - $3) / w
              if ($1 == 1) { r1 = rx; t1 = tx; next }
              others++; srx += rx; stx += tx
              if (rx > mrx) mrx = rx
              if (tx > mtx) mtx = tx }
            END { if (others)
                      printf "%-10s %5d %14.0f %14.0f %14.0f / %-6.0f %14.0f / %-6.0f\n",
                             mode, n, r1, t1, srx / others, mrx, stx / others, mtx
                  else
                      printf "%-10s %5d %14.0f %14.0f %22s %22s\n", mode, n, r1, t1, "-", "-" }'
    done
done
echo "target: at most 500 B/s each way on every node but node 1, flat as N grows on the broker path"
