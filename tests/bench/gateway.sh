#!/bin/bash
# The REST gateway beside its floors, in the same run, on a CURVE bus as a cloud runs it:
#   - wrk, 10 keep-alive connections, JSON: GET of one VM and of a page of 100, with 1,000
#     VMs in the cloud, beside a bare civetweb handler (bench_civetweb) answering a body
#     of the same size, and beside the bus alone (bench_tasks -m read, 10 in flight);
#     best of REPEAT, alternating;
#   - POST creates through the gateway (a wrk script: fresh names, an Idempotency-Key
#     each) beside the same creates on the bus from the client library with 10 clients
#     (bench_tasks -w 1, ten at once), accepted (202); the agents run the tasks meanwhile
#     in both (paused longer than the bus's heartbeats allow, their hosts would go down);
#   - the gateway's memory with 1,000 keep-alive connections and 100 WebSocket subscribers.
# usage: tests/bench/gateway.sh BUILD_DIR  (environment: HOSTS=100 AGENTS=2 REPEAT=3 SECONDS_EACH=8)
set -u
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
hosts=${HOSTS:-100}
agents=${AGENTS:-2}
repeat=${REPEAT:-3}
each=${SECONDS_EACH:-8}
what="gateway bench"
GATEWAY_OPTS=--gateway-max_connections=1200
command -v wrk >/dev/null || "$src/deploy/deps.sh" "$src/tests/bench/wrk-packages.txt" \
    || { echo "gateway bench: cannot install wrk"; exit 1; }
. "$src/tests/bench/gateway-cloud.bash"
bare_one=$((port + 4))
bare_page=$((port + 5))
auth="Authorization: Bearer $TOKEN"
vm=$(curl -s "$api/vms?limit=1" -H "$auth" | python3 -c 'import json,sys; print(json.load(sys.stdin)["vms"][0]["name"])')
one="$api/vis/default/vms/$vm"
page="$api/vms?limit=100"
curl -sf "$one" -H "$auth" -o "$T/one.json" && curl -sf "$page" -H "$auth" -o "$T/page.json" \
    || { echo "gateway bench: the gateway does not answer"; exit 1; }
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["vms"]))' "$T/page.json")" = 100 ] \
    || { echo "gateway bench: the page does not hold 100 VMs"; exit 1; }
"$build/bench/bench_civetweb" $bare_one "$T/one.json" 2>>"$T/bare.log" &
pids+=($!)
"$build/bench/bench_civetweb" $bare_page "$T/page.json" 2>>"$T/bare.log" &
pids+=($!)
sleep 0.5

# rate URL [wrk options]: requests a second that wrk measured (10 connections).
rate() {
    local url=$1
    shift
    wrk -t2 -c10 -d"${each}s" "$@" "$url" >"$T/wrk.out" 2>"$T/wrk.err" || { cat "$T/wrk.out" "$T/wrk.err"; exit 1; }
    head -n 2 "$T/wrk.err" >&2
    if grep -q "Non-2xx" "$T/wrk.out"; then
        echo "gateway bench: $(grep Non-2xx "$T/wrk.out") for $url" >&2
    fi
    awk '/Requests\/sec/ { printf "%d", $2 }' "$T/wrk.out"
}
best() { local v=${!1:-0}; [ "${2:-0}" -gt "$v" ] && printf -v "$1" '%s' "$2"; return 0; }
# ticks PID: its user+system clock ticks so far.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

echo "== gateway: GET through maekin-gateway ($(stat -c %s "$T/one.json") and $(stat -c %s "$T/page.json") bytes) beside a bare civetweb handler of the same body, wrk 10 connections"
for r in $(seq "$repeat"); do
    b1=$(rate "http://127.0.0.1:$bare_one/"); best bare1 "$b1"
    t0=($(ticks $gateway) $(ticks $broker) $(ticks $controller))
    g1=$(rate "$one" -H "$auth"); best gw1 "$g1"
    t1=($(ticks $gateway) $(ticks $broker) $(ticks $controller))
    served=$((g1 * each))
    cpu="gateway=$(( (t1[0] - t0[0]) * 1000000 / hz / served ))us broker=$(( (t1[1] - t0[1]) * 1000000 / hz / served ))us controller=$(( (t1[2] - t0[2]) * 1000000 / hz / served ))us"
    "$build/bench/bench_tasks" -e $bus -s $stream_out -n $((g1 * each)) -w 10 -m read >"$T/reads.out" \
        2>"$T/reads.log" || { cat "$T/reads.out" "$T/reads.log"; exit 1; }
    br=$(sed -n 's/.*answered_per_s=\([0-9]*\).*/\1/p' "$T/reads.out"); best busread "$br"
    b2=$(rate "http://127.0.0.1:$bare_page/"); best bare100 "$b2"
    t0=($(ticks $gateway) $(ticks $broker) $(ticks $controller))
    g2=$(rate "$page" -H "$auth"); best gw100 "$g2"
    t1=($(ticks $gateway) $(ticks $broker) $(ticks $controller))
    served=$((g2 * each))
    cpu100="gateway=$(( (t1[0] - t0[0]) * 1000000 / hz / served ))us broker=$(( (t1[1] - t0[1]) * 1000000 / hz / served ))us controller=$(( (t1[2] - t0[2]) * 1000000 / hz / served ))us"
    "$build/bench/bench_tasks" -e $bus -s $stream_out -n $((g2 * each)) -w 10 -m page >"$T/pages.out" \
        2>"$T/pages.log" || { cat "$T/pages.out" "$T/pages.log"; exit 1; }
    bp=$(sed -n 's/.*answered_per_s=\([0-9]*\).*/\1/p' "$T/pages.out"); best buspage "$bp"
    echo "round $r: one_vm gateway=$g1/s bare=$b1/s bus_reads_10_in_flight=$br/s (CPU a request: $cpu);" \
        "page_of_100 gateway=$g2/s bare=$b2/s bus_pages_10_in_flight=$bp/s (CPU a request: $cpu100)"
done
echo "best of $repeat: one_vm gateway=$gw1/s beside bare civetweb's $bare1/s:" \
    "$((gw1 * 100 / bare1))% (target: at least 50%); the bus alone answers $busread/s at 10 in" \
    "flight (bench_tasks -m read: the same broker and controller, no HTTP), so the gateway" \
    "reaches $((gw1 * 100 / busread))% of the bus's own rate$([ $((busread * 2)) -lt "$bare1" ] \
        && echo "; half the bare handler is above what the bus itself answers")"
echo "best of $repeat: page_of_100 gateway=$gw100/s (target: at least 5,000/s; bare $bare100/s);" \
    "the bus alone answers $buspage/s pages of 100 at 10 in flight (bench_tasks -m page), so the" \
    "gateway reaches $((gw100 * 100 / buspage))% of the bus's own rate"

# Creates accepted, the tasks running meanwhile.
echo "== gateway: creates accepted through the gateway beside the bus (10 clients each)"
for r in $(seq "$repeat"); do
    c1=$(rate "$api/vis/default/vms" -s "$src/tests/bench/create.lua"); best gwc "$c1"
    sleep 1
    per=$((c1 * each / 10 + 100))
    start=$(date +%s%N)
    clients=()
    for c in $(seq 10); do
        "$build/bench/bench_tasks" -e $bus -s $stream_out -n $per -w 1 -m accept -p "b$r-$c" \
            >"$T/bus$c.out" 2>"$T/bus$c.log" &
        clients+=($!)
    done
    failed=0
    for job in "${clients[@]}"; do wait "$job" || failed=1; done
    elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
    [ $failed -eq 0 ] || { cat "$T"/bus*.out "$T"/bus*.log; exit 1; }
    c2=$((10 * per * 1000 / elapsed)); best busc "$c2"
    echo "round $r: creates gateway=$c1/s bus=$c2/s"
    sleep 1
done
echo "best of $repeat: creates through the gateway=$gwc/s beside the bus's $busc/s:" \
    "$((gwc * 100 / busc))% (target: at least 33%)"

# Memory: 1,000 keep-alive connections (each has made a request) and 100 subscribers.
echo "== gateway: memory with 1,000 keep-alive connections and 100 WebSocket subscribers"
rss_idle=$(awk '/VmRSS/ { print $2 }' "/proc/$gateway/status")
mkfifo "$T/ready" "$T/ready.go"
PYTHONPATH="$src/tests/integration" python3 - "$http" "$TOKEN" "$T/ready" <<'PY' &
import socket, sys, time
from ws import WebSocket
port, token, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
held = []
for i in range(1000):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /api/v1/session HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token.encode() + b"\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    held.append(s)
open(ready, "w").write("connections\n")
open(ready + ".go").read()  # until the script has read the gateway's memory
subs = [WebSocket(port, "/api/v1/stream?metrics=all", {"Authorization": "Bearer " + token}) for _ in range(100)]
assert all(w.status == 101 for w in subs), [w.status for w in subs if w.status != 101][:3]
open(ready, "w").write("ready\n")
time.sleep(600)
PY
holder=$!
pids+=($holder)
read -r _ < "$T/ready"
sleep 1
rss_http=$(awk '/VmRSS/ { print $2 }' "/proc/$gateway/status")
echo go > "$T/ready.go"
read -r _ < "$T/ready"
sleep 1
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$gateway/status")
threads=$(awk '/Threads/ { print $2 }' "/proc/$gateway/status")
stats_conn=$(curl -s "http://127.0.0.1:$http/metrics" -H "$auth" | awk '/^maekin_gateway_connections / { print $2 }')
kill "$holder" 2>/dev/null
echo "gateway rss=$((rss / 1024))MiB threads=$threads connections=$stats_conn (target: under 64 MiB);" \
    "with the 1,000 connections before the subscribers: $((rss_http / 1024))MiB; idle before them: $((rss_idle / 1024))MiB"
