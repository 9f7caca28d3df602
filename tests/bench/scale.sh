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
export XDG_CONFIG_HOME=$T/config # maekinsh keeps its token here, not in ~/.config
pids=()
agent_pids=()
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
. "$src/tests/bench/keys.bash"
bench_clients

mkdir -p "$T/nodes"
# The accept latency below pauses the agents (SIGSTOP) for 5 s of creates: the broker
# forgets a worker silent for 3 heartbeats, 2.4 s by default, and the controller takes
# its hosts down; here it waits 12 s.
"$build/maekin-broker" --bus-endpoint=$bus --bus-stream_in=$stream_in \
    --bus-stream_out=$stream_out --log-level=warn --bus-heartbeat_ms=4000 $(broker_opts) 2>>"$T/broker.log" &
pids+=($!)
"$build/maekin-controller" --bus-endpoint=$bus --bus-stream_in=$stream_in --bus-stream_out=$stream_out \
    --db-url="sqlite:$T/maekin.db?synchronous=full" --log-level=warn \
    --controller-host_timeout_ms=60000 --auth-admin_password_file="$T/admin-password" \
    $(controller_opts) 2>>"$T/controller.log" &
controller=$!
pids+=($controller)
MAEKIN_TOKEN=$("$src/deploy/login-admin.sh" "$build" $bus "$T/admin-password") \
    || { echo "scale: cannot log in"; exit 1; }
export MAEKIN_TOKEN
# Each node file made once, then copied: 2,000 runs of make-node.sh would take a while.
"$src/deploy/make-node.sh" proto 64 1048576 > "$T/node.xml"
agents=0
for first in $(seq 1 "$per_agent" "$hosts"); do
    list="" names=""
    for h in $(seq "$first" $((first + per_agent - 1))); do
        [ "$h" -le "$hosts" ] || break
        sed "s|name='proto'|name='h$h'|" "$T/node.xml" > "$T/nodes/h$h.xml"
        list="$list${list:+,}h$h=test://$T/nodes/h$h.xml"
        names="$names${names:+,}h$h"
    done
    agents=$((agents + 1))
    bench_keys "agent$agents"
    admit "agent$agents" "$names"
    "$build/maekin-agent" --bus-endpoint=$bus --agent-hosts="$list" --agent-domain_type=test \
        --log-level=warn $(bus_opts "agent$agents") 2>>"$T/agent$agents.log" &
    pids+=($!)
    agent_pids+=($!)
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

# The metric path: one monitor publishing for each of the hosts and its 50 synthetic
# guests every 5 s, the default interval (the values of 100,000 VMs, which the controller
# keeps and rolls into its history). The controller's CPU over a quiet window without
# it, then with it; the monitor's own CPU, RSS and bytes, beside what one message per VM
# would have cost; and the accept latency at 5,000 creates/s without, then with, that
# load (the agents paused, as in run.sh: the accept path alone; their tasks run after).
hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rate_field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" "$2"; }
drained() {
    [ -z "$(sh task list --state queued --limit 1 | tail -n +2)" ] &&
        [ -z "$(sh task list --state running --limit 1 | tail -n +2)" ]
}
accept_latency() { # PREFIX: 25,000 creates at 5,000/s, then their tasks run to the end
    kill -STOP "${agent_pids[@]}"
    "$build/bench/bench_tasks" -e $bus -s $stream_out -n 25000 -w 100000 -m accept -r 5000 \
        -p "$1" > "$T/lat.$1" 2>>"$T/client.log" || { kill -CONT "${agent_pids[@]}"; cat "$T/lat.$1"; exit 1; }
    kill -CONT "${agent_pids[@]}"
    SECONDS=0
    until drained; do
        [ $SECONDS -lt 300 ] || { echo "scale: the tasks of $1 did not finish"; exit 1; }
        sleep 1
    done
}
window=20
accept_latency q
before=$(ticks $controller)
sleep $window
idle=$(( $(ticks $controller) - before ))
# A node key serves at most 1,024 hosts (maekinsh key admit): the hosts are split
# between two monitor processes, whose CPU, memory and bytes are added up.
monitors=()
for m in 1 2; do
    list="" names=""
    for h in $(seq "$m" 2 "$hosts"); do
        list="$list${list:+,}h$h=synthetic:$((h % 90)):$((h % 70)):50"
        names="$names${names:+,}h$h"
    done
    bench_keys monitor$m
    admit monitor$m "$names"
    "$build/maekin-monitor" --bus-stream_in=$stream_in --multicast-mode=off $(bus_opts monitor$m) \
        --monitor-info_endpoint= --monitor-hosts="$list" \
        --monitor-interval_ms=5000 --monitor-compare_encodings=true --log-level=info \
        2>>"$T/monitor$m.log" &
    monitors+=($!)
    pids+=($!)
done
mticks() { local total=0 p; for p in "${monitors[@]}"; do total=$((total + $(ticks $p))); done; echo $total; }
sleep 6 # its first samples, and the controller's first of each host
# A whole minute with it: its history rows are written once a minute.
before=$(ticks $controller)
mbefore=$(mticks)
sleep 60
busy=$(( ($(ticks $controller) - before) * window / 60 ))
mbusy=$(( ($(mticks) - mbefore) * window / 60 ))
mrss=$(for p in "${monitors[@]}"; do awk '/VmRSS/ { print $2 }' /proc/$p/status; done | awk '{ s += $1 } END { print s }')
crss=$(awk '/VmRSS/ { print $2 }' /proc/$controller/status)
messages=$(( hosts * window / 5 ))
measured=$(sh --output json host list | grep -cE '"sampled": *"?[1-9]')
[ "$measured" -ge "$hosts" ] || { echo "scale: only $measured of $hosts hosts measured"; exit 1; }
# The minute's turn, when every subject's step closes and the history writes 100,000
# rows (and at ten minutes twice that), falls inside this run: it starts two seconds
# before it.
sleep $(( (62 - $(date +%s) % 60) % 60 ))
accept_latency m
kill -TERM "${monitors[@]}"
wait "${monitors[@]}"
bytes=$(sed -n 's/.*published \([0-9]*\) messages, \([0-9]*\) bytes.*/\1 \2/p' "$T"/monitor[12].log \
    | awk '{ m += $1; b += $2 } END { if (NR == 2) print m, b }')
per_vm=$(sed -n 's/.*one message per VM, the same values: \([0-9]*\) bytes.*/\1/p' "$T"/monitor[12].log \
    | awk '{ s += $1 } END { if (NR == 2) print s }')
[ -n "$bytes" ] && [ -n "$per_vm" ] || { echo "scale: the monitor did not count its bytes"; exit 1; }
awk -v hz=$hz -v w=$window -v idle=$idle -v busy=$busy -v m=$messages -v mb=$mbusy \
    -v hosts=$hosts -v measured=$measured -v rss="$mrss" -v crss="$crss" -v bytes="$bytes" -v per_vm="$per_vm" \
    'BEGIN {
        extra = (busy - idle) / hz; if (extra < 0) extra = 0
        split(bytes, b, " ")
        printf "scale metrics hosts=%d vms_per_host=50 measured=%d messages_per_s=%d controller_cpu_pct_without=%.2f", hosts, measured, m / w, idle * 100 / hz / w
        printf " controller_cpu_pct_with=%.2f controller_cpu_us_per_message=%.1f", busy * 100 / hz / w, extra * 1e6 / m
        printf " controller_rss_kib=%s monitor_cpu_pct=%.2f monitor_rss_kib=%s\n", crss, mb * 100 / hz / w, rss
        printf "metric path: the controller'"'"'s share of a core for it: %.2f%% (target: under 25%%)\n", extra * 100 / w
        printf "metric bytes: %d messages, %.0f bytes a message (a host and its 50 VMs); one message per VM would have taken %.2f times the bytes\n", b[1], b[2] / b[1], per_vm / b[2]
    }'
echo "accept at 5,000 creates/s without metrics: p50_us=$(rate_field accept_p50_us "$T/lat.q")" \
    "p99_us=$(rate_field accept_p99_us "$T/lat.q"); with them:" \
    "p50_us=$(rate_field accept_p50_us "$T/lat.m") p99_us=$(rate_field accept_p99_us "$T/lat.m")"

# A monitor of this machine's own /proc and of 50 guests on libvirt's test driver (the
# bulk stats call of each interval; the driver answers with the guests' state alone, so
# a QEMU guest's full values cost more to decode): its cost per sample, taken every
# 10 ms for 10 s, and what that is at the default interval; its RSS.
guests="$T/guests.xml"
{
    echo "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>64</cores><threads>1</threads><active>64</active><mhz>2000</mhz></cpu><memory>1073741824</memory>"
    for g in $(seq 50); do
        printf "<domain type='test'><name>g%d</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e%04d</uuid><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>\n" $g $g
    done
    echo "</node>"
} > "$guests"
bench_keys real
admit real real
"$build/maekin-monitor" --bus-stream_in=$stream_in $(bus_opts real) $(mcast_opts) \
    --multicast-interface=127.0.0.1 --monitor-hosts="real=proc" \
    --monitor-guests_uri="test://$guests" --monitor-interval_ms=10 --log-level=warn \
    2>>"$T/monitor.log" &
real=$!
pids+=($real)
# The baseline beside it: a process with the monitor's libraries, its stream socket and
# one stats call on the same libvirt, doing nothing else.
"$build/bench/bench_memory_floor" $stream_in "test://$guests" 2>>"$T/monitor.log" &
floor=$!
pids+=($floor)
sleep 1
before=$(ticks $real)
sleep 10
per_sample=$(( ($(ticks $real) - before) * 1000000 / hz / 1000 ))
rss=$(awk '/VmRSS/ { print $2 }' /proc/$real/status)
floor_rss=$(awk '/VmRSS/ { print $2 }' /proc/$floor/status)
echo "monitor of /proc and 50 guests: cpu_us_per_sample=$per_sample" \
    "cpu_pct_at_5s=$(awk -v u=$per_sample 'BEGIN { printf "%.3f", u / 5e6 * 100 }')" \
    "rss_kib=$rss beside the libraries' floor_rss_kib=$floor_rss: its own $((rss - floor_rss)) KiB" \
    "(targets: under 1% and 8 MB)"
