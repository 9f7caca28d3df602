#!/bin/bash
# The paper's one experiment (section 4, Table 1, Figure 3): each node's received and
# transmitted bytes a second on its interface (the counters count Ethernet, IP and
# TCP/UDP headers), over a window after a warm-up, at the monitors' default interval,
# for clouds of N nodes in network namespaces (deploy/cluster.sh). Five VMs placed as in
# Table 1 for N = 1..5, one VM a node beyond. Two modes of Maekin: the broker path (the
# default: multicast only while the broker is away) and multicast-only monitors (the
# paper's), the agents on the broker in both; everything counts (heartbeats, reports,
# the database's node). Node 1, which holds the broker, the controller and the database
# and hears everyone, is printed apart. Beside them, in the same topology, Ganglia's
# gmond with its stock configuration (multicast; it knows no VMs).
#
# Bytes per delivered metric value: the monitoring traffic's bytes as received (every
# frame of the broker's metric stream, samples and ACKs, once; a datagram on a group
# once for each node that hears it), counted by tests/bench/sniff.py on node 1, over
# the metric values that crossed the network to someone who keeps them: the controller
# (broker path), or every other node (multicast). A value left out because it did not
# change counts as delivered, for both: each Maekin monitor counts the values its
# messages stand for; gmond takes each of its metrics every collect_every seconds of
# its configuration and sends it only when it moved past value_threshold (or
# time_threshold passed), so its delivered values are those it takes. Its value
# datagrams alone are printed too.
#
# gmond's warm-up is longer: at its start every gmond sends all its metadata and asks
# the others for theirs, and it sends its values 20 to 90 s apart; two minutes in, its
# traffic is what it will be.
#
# usage: tests/bench/traffic.sh BUILD_DIR   (as root; environment: NODES="1 2 3 4 5 8"
#        WINDOW=60 seconds, WARMUP=15 seconds, GMOND_WARMUP=120 seconds,
#        SYSTEMS="fallback only gmond")
name=traffic.sh
. "$(dirname "$0")/cluster.bash"
nodes_list=${NODES:-1 2 3 4 5 8 16 32}
systems=${SYSTEMS:-fallback only gmond}
window=${WINDOW:-60}
warmup=${WARMUP:-15}
gmond_warmup=${GMOND_WARMUP:-120}
interval=5000 # the monitors' default
case " $systems " in
    *" gmond "*)
        # Its daemon is not started by the package: we start one a node.
        DEPS_NO_DAEMONS=1 "$src/deploy/deps.sh" "$src/tests/bench/gmond-packages.txt" >&2 \
            || { echo "traffic.sh: cannot install ganglia-monitor"; exit 1; }
        ;;
esac

# Table 1: how many of the five VMs each host holds, for N = 1..5.
placement() { # n -> a count a host
    case $1 in
        1) echo 5 ;; 2) echo 1 4 ;; 3) echo 1 2 2 ;; 4) echo 1 1 1 2 ;; 5) echo 1 1 1 1 1 ;;
        *) local i; for i in $(seq "$1"); do printf '1 '; done; echo ;;
    esac
}
# Every node's interface counters: "node rx tx" lines.
counters() { # n
    local i
    for i in $(seq "$1"); do
        echo "$i $(cluster exec -d "$T/c" "$i" cat /sys/class/net/eth0/statistics/rx_bytes)" \
            "$(cluster exec -d "$T/c" "$i" cat /sys/class/net/eth0/statistics/tx_bytes)"
    done
}
# The values a second one gmond takes, from its configuration: each metric of a
# collection group every collect_every seconds (collect_once ones: every time_threshold,
# when it sends them again).
gmond_takes() {
    sed 's,/\*.*\*/,,' /etc/ganglia/gmond.conf | awk '
        /^[ \t]*collection_group/ { group = 1; every = 0; once = 0; threshold = 0; metrics = 0 }
        group && /collect_every/ { every = $3 }
        group && /collect_once/ { once = 1 }
        group && /time_threshold/ { threshold = $3 }
        group && /^[ \t]*metric[ \t]*{/ { metrics++ }
        group && /^}/ { period = once ? threshold : every
                        if (period > 0) rate += metrics / period
                        group = 0 }
        END { printf "%.4f\n", rate }'
}
# The metric values a second each monitor stands for, from its closing log line.
monitor_rates() { # n
    local i
    for i in $(seq "$1"); do
        sed -n 's/.*published \([0-9]*\) messages,.* \([0-9]*\) metric values.*/\1 \2/p' \
            "$T/c/logs/monitor$i.log" | awk -v i="$i" -v ms="$interval" \
            '$1 > 0 { printf "%d %.3f\n", i, $2 / $1 * 1000 / ms }'
    done
}

start_maekin() { # mode n
    cluster start -n "$2" -d "$T/c" -b "$build" -m "$1" -g "$(placement "$2")" \
        >"$T/start.log" 2>&1 \
        || { echo "traffic.sh: $(cat "$T/start.log")"; exit 1; }
    cluster exec -d "$T/c" 1 maekinsh template create tiny --vcpus 1 --memory 64 >/dev/null \
        || { echo "traffic.sh: no template"; exit 1; }
    local host=0 vm=0 count
    for count in $(placement "$2"); do
        host=$((host + 1))
        for _ in $(seq "$count"); do
            vm=$((vm + 1))
            cluster exec -d "$T/c" 1 maekinsh vm create "vm$vm" --template tiny \
                --host "node$host" --wait >/dev/null || { echo "traffic.sh: vm$vm"; exit 1; }
        done
    done
}
start_gmond() { # n
    cluster start -e -n "$1" -d "$T/c" -b "$build" >"$T/start.log" 2>&1 \
        || { echo "traffic.sh: $(cat "$T/start.log")"; exit 1; }
    local i
    for i in $(seq "$1"); do
        cluster run -d "$T/c" "$i" "gmond$i" gmond -f -c /etc/ganglia/gmond.conf \
            || { echo "traffic.sh: gmond on node $i"; exit 1; }
    done
}

printf '%-10s %5s %12s %12s %20s %20s %12s\n' system nodes "node1 rx B/s" "node1 tx B/s" \
    "others rx avg/max" "others tx avg/max" "B/value"
for system in $systems; do
    for n in $nodes_list; do
        if [ "$system" = gmond ]; then start_gmond "$n"; else start_maekin "$system" "$n"; fi
        if [ "$system" = gmond ]; then sleep "$gmond_warmup"; else sleep "$warmup"; fi
        counters "$n" >"$T/before"
        cluster exec -d "$T/c" 1 python3 "$src/tests/bench/sniff.py" eth0 "$window" >"$T/sniffed" \
            || { echo "traffic.sh: sniff.py failed"; exit 1; }
        counters "$n" >"$T/after"
        cluster stop -d "$T/c" >/dev/null
        # The metric bytes received and the values delivered across the network, over
        # the window.
        read -r stream mcast gmond sent sent_bytes <"$T/sniffed"
        case $system in
            fallback)
                bytes=$stream
                delivered=$(monitor_rates "$n" | awk -v w="$window" '$1 > 1 { s += $2 } END { print s * w }') ;;
            only)
                bytes=$((stream + mcast * (n - 1)))
                delivered=$(monitor_rates "$n" | awk -v n="$n" -v w="$window" '{ s += $2 } END { print s * (n - 1) * w }') ;;
            gmond)
                bytes=$((gmond * (n - 1)))
                delivered=$(awk -v r="$(gmond_takes)" -v n="$n" -v w="$window" 'BEGIN { print r * n * (n - 1) * w }')
                [ "$n" -gt 1 ] && echo "$n $sent_bytes $sent" >>"$T/gmond-datagrams" ;;
        esac
        rm -rf "$T/c" # a new cloud each time: its database too
        echo "$system $bytes $delivered" >>"$T/pooled"
        paste "$T/before" "$T/after" | awk -v w="$window" -v name="$system" -v n="$n" \
            -v delivered="$delivered" -v bytes="$bytes" '
            { rx = ($5 - $2) / w; tx = ($6 - $3) / w
              if ($1 == 1) { r1 = rx; t1 = tx; next }
              others++; srx += rx; stx += tx
              if (rx > mrx) mrx = rx
              if (tx > mtx) mtx = tx }
            END { per = delivered > 0 ? sprintf("%.1f", bytes / delivered) : "-"
                  if (others)
                      printf "%-10s %5d %12.0f %12.0f %12.0f / %-6.0f %12.0f / %-6.0f %12s\n",
                             name, n, r1, t1, srx / others, mrx, stx / others, mtx, per
                  else
                      printf "%-10s %5d %12.0f %12.0f %20s %20s %12s\n", name, n, r1, t1,
                             "-", "-", per }'
    done
done
# Over all of a system's runs: gmond sends each value 20 to 90 s apart, so one minute of
# it at one size is a sample, and all its minutes together are its figure.
awk '$3 > 0 { bytes[$1] += $2; values[$1] += $3 }
     END { for (s in bytes) printf "%s over all its runs: %.1f bytes a delivered value\n", s, bytes[s] / values[s] }' \
    "$T/pooled" | sort
[ -f "$T/gmond-datagrams" ] && awk -v r="$(gmond_takes)" '
    { bytes += $2; values += $3 }
    END { if (values) printf "gmond takes %.2f values a second a host; a value datagram is %.1f bytes on the wire\n", r, bytes / values }' \
    "$T/gmond-datagrams"
echo "fallback: Maekin, the broker path (its default); only: Maekin's monitors on multicast"
echo "alone; gmond: Ganglia's, stock configuration. B/value: the monitoring traffic's bytes"
echo "as received over the metric values delivered across the network (those left out as"
echo "unchanged count)."
echo "targets: Maekin at most 500 B/s each way on every node but node 1, flat as N grows on"
echo "the broker path; at 32 nodes below gmond's received bytes; B/value at most a quarter"
echo "of gmond's"
