#!/bin/bash
# One controller at 100,000 VMs: 2,000 simulated hosts on libvirt's test driver, served
# by agent processes of 50 hosts each, and VMS creations through the whole path; then
# what reading that cloud costs through the client library (bench_reads: the full VM
# list, `vm show` p50/p99, the host list, the newest 1,000 tasks) and the controller's
# memory. The controller on SQLite (synchronous=FULL), as `make run` has it.
# usage: tests/bench/scale.sh BUILD_DIR   (environment: HOSTS=2000 PER_AGENT=50 VMS=100000)
set -u
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
hosts=${HOSTS:-2000}
per_agent=${PER_AGENT:-50}
vms=${VMS:-100000}
T=$(mktemp -d /tmp/maekin-scale.XXXXXX)
pids=()
cleanup() {
    local rc=$?
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ $rc -ne 0 ] && for f in "$T"/*.log; do echo "--- $f"; tail -n 5 "$f"; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port=$((20000 + RANDOM % 12000))
bus=tcp://127.0.0.1:$port
stream_in=tcp://127.0.0.1:$((port + 1))
stream_out=tcp://127.0.0.1:$((port + 2))
sh() { "$build/maekinsh" --bus-endpoint=$bus "$@"; }

mkdir -p "$T/nodes"
"$build/maekin-broker" --bus-endpoint=$bus --bus-stream_in=$stream_in \
    --bus-stream_out=$stream_out --log-level=warn 2>>"$T/broker.log" &
pids+=($!)
"$build/maekin-controller" --bus-endpoint=$bus --bus-stream_in=$stream_in --bus-stream_out=$stream_out \
    --db-url="sqlite:$T/maekin.db?synchronous=full" --log-level=warn \
    --controller-host_timeout_ms=60000 2>>"$T/controller.log" &
controller=$!
pids+=($controller)
# Each node file made once, then copied: 2,000 runs of make-node.sh would take a while.
"$src/deploy/make-node.sh" proto 64 1048576 > "$T/node.xml"
agents=0
for first in $(seq 1 "$per_agent" "$hosts"); do
    list=""
    for h in $(seq "$first" $((first + per_agent - 1))); do
        [ "$h" -le "$hosts" ] || break
        sed "s|name='proto'|name='h$h'|" "$T/node.xml" > "$T/nodes/h$h.xml"
        list="$list${list:+,}h$h=test://$T/nodes/h$h.xml"
    done
    agents=$((agents + 1))
    "$build/maekin-agent" --bus-endpoint=$bus --agent-hosts="$list" --agent-domain_type=test \
        --log-level=warn 2>>"$T/agent$agents.log" &
    pids+=($!)
done
SECONDS=0
until [ "$(sh host list --state up 2>/dev/null | tail -n +2 | wc -l)" -ge "$hosts" ]; do
    [ $SECONDS -lt 300 ] || { echo "scale: not every host came up"; exit 1; }
    sleep 0.5
done
sh template create tiny --vcpus 1 --memory 64 >/dev/null || { echo "scale: no cloud"; exit 1; }
echo "== one controller at $vms VMs: $hosts simulated hosts, $agents agent processes of $per_agent"
"$build/bench/bench_tasks" -e $bus -s $stream_out -n "$vms" -w 256 -p x > "$T/out" \
    2>"$T/client.log" || { cat "$T/out"; exit 1; }
echo "scale creates $(cat "$T/out")"
"$build/bench/bench_reads" -e $bus -x x -c "$vms" || exit 1
echo "scale controller_rss_kib=$(awk '/VmRSS/ { print $2 }' /proc/$controller/status)" \
    "peak_kib=$(awk '/VmHWM/ { print $2 }' /proc/$controller/status)"

# The metric path (issue 15, its first part: host samples): one monitor publishing a
# synthetic sample for each of the hosts every 5 s, the default interval. The
# controller's CPU over a quiet window without it, then with it; the monitor's own CPU
# and RSS. The full benchmark (50 VMs a host, accept latency under it) comes with the
# guests' samples.
hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
window=20
before=$(ticks $controller)
sleep $window
idle=$(( $(ticks $controller) - before ))
list=""
for h in $(seq "$hosts"); do list="$list${list:+,}h$h=synthetic:$((h % 90)):$((h % 70))"; done
"$build/maekin-monitor" --bus-stream_in=$stream_in --monitor-hosts="$list" \
    --monitor-interval_ms=5000 --log-level=warn 2>>"$T/monitor.log" &
monitor=$!
pids+=($monitor)
sleep 6 # its first samples, and the controller's first of each host
before=$(ticks $controller)
mbefore=$(ticks $monitor)
sleep $window
busy=$(( $(ticks $controller) - before ))
mbusy=$(( $(ticks $monitor) - mbefore ))
messages=$(( hosts * window / 5 ))
measured=$(sh --output json host list | grep -cE '"sampled": *"?[1-9]')
[ "$measured" -ge "$hosts" ] || { echo "scale: only $measured of $hosts hosts measured"; exit 1; }
awk -v hz=$hz -v w=$window -v idle=$idle -v busy=$busy -v m=$messages -v mb=$mbusy \
    -v hosts=$hosts -v measured=$measured -v rss="$(awk '/VmRSS/ { print $2 }' /proc/$monitor/status)" \
    'BEGIN {
        extra = (busy - idle) / hz; if (extra < 0) extra = 0
        printf "scale metrics hosts=%d measured=%d messages_per_s=%d controller_cpu_pct_without=%.2f", hosts, measured, m / w, idle * 100 / hz / w
        printf " controller_cpu_pct_with=%.2f controller_cpu_us_per_message=%.1f", busy * 100 / hz / w, extra * 1e6 / m
        printf " monitor_cpu_pct=%.2f monitor_rss_kib=%s\n", mb * 100 / hz / w, rss
        printf "metric path: the controller'"'"'s share of a core for it: %.2f%% (target: under 25%%)\n", extra * 100 / w
    }'

# A monitor of this machine's own /proc (no guests yet): its cost per sample, taken every
# 10 ms for 10 s, and what that is at the default interval; its RSS.
"$build/maekin-monitor" --bus-stream_in=$stream_in --monitor-hosts="real=proc" \
    --monitor-interval_ms=10 --log-level=warn 2>>"$T/monitor.log" &
real=$!
pids+=($real)
sleep 1
before=$(ticks $real)
sleep 10
per_sample=$(( ($(ticks $real) - before) * 1000000 / hz / 1000 ))
echo "monitor of /proc: cpu_us_per_sample=$per_sample" \
    "cpu_pct_at_5s=$(awk -v u=$per_sample 'BEGIN { printf "%.3f", u / 5e6 * 100 }')" \
    "rss_kib=$(awk '/VmRSS/ { print $2 }' /proc/$real/status) (targets: under 1% and 8 MB)"
