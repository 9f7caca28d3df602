# tests/bench/gateway-cloud.bash: the cloud a benchmark of the gateway runs against,
# sourced by gateway.sh and dashboard.sh (after they set $src, $build, $hosts, $agents
# and $what, the benchmark's name for its messages): on a CURVE bus as a cloud runs it, a
# broker, a controller (SQLite, synchronous=full), agents for $hosts simulated hosts on
# libvirt's test driver, the gateway on $http (with $GATEWAY_OPTS), a template tiny and
# 1,000 VMs v-0..v-999 running; $TOKEN is the administrator's session at the gateway,
# $api its API's address. Everything it starts is stopped when the script exits.
T=$(mktemp -d /tmp/maekin-bench.XXXXXX)
export XDG_CONFIG_HOME=$T/config
pids=()
cleanup() {
    local rc=$?
    for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
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
http=$((port + 3))
sh() { "$build/maekinsh" --bus-endpoint=$bus "$@"; }
. "$src/tests/bench/keys.bash"
bench_clients
bench_keys gateway $(seq -f 'agent%g' "$agents")

mkdir -p "$T/nodes"
"$build/maekin-broker" --bus-endpoint=$bus --bus-stream_in=$stream_in \
    --bus-stream_out=$stream_out --log-level=warn $(broker_opts) 2>>"$T/broker.log" &
broker=$!
pids+=($broker)
"$build/maekin-controller" --bus-endpoint=$bus --bus-stream_in=$stream_in --bus-stream_out=$stream_out \
    --db-url="sqlite:$T/maekin.db?synchronous=full" --log-level=warn \
    --controller-host_timeout_ms=60000 --auth-admin_password_file="$T/admin-password" \
    --sched-cpu_ratio=10000 $(controller_opts) 2>>"$T/controller.log" &
controller=$!
pids+=($controller)
MAEKIN_TOKEN=$("$src/deploy/login-admin.sh" "$build" $bus "$T/admin-password") \
    || { echo "$what: cannot log in"; exit 1; }
export MAEKIN_TOKEN
for a in $(seq "$agents"); do
    list="" names=""
    for h in $(seq "$a" "$agents" "$hosts"); do
        "$src/deploy/make-node.sh" "h$h" 64 1048576 > "$T/nodes/h$h.xml"
        list="$list${list:+,}h$h=test://$T/nodes/h$h.xml"
        names="$names${names:+,}h$h"
    done
    admit "agent$a" "$names"
    "$build/maekin-agent" --bus-endpoint=$bus --agent-hosts="$list" --agent-domain_type=test \
        --log-level=warn $(bus_opts "agent$a") 2>>"$T/agent$a.log" &
    pids+=($!)
done
[ -n "${PLAIN:-}" ] || sh key admit gateway "$keys/gateway.key" --role client >/dev/null \
    || { echo "$what: cannot admit the gateway's key"; exit 1; }
"$build/maekin-gateway" --bus-endpoint=$bus --bus-stream_out=$stream_out --log-level=warn \
    --gateway-listen=127.0.0.1:$http ${GATEWAY_OPTS:-} $(bus_opts gateway) \
    2>>"$T/gateway.log" &
gateway=$!
pids+=($gateway)
for _ in $(seq 100); do
    [ "$(sh host list --state up 2>/dev/null | tail -n +2 | wc -l)" -ge "$hosts" ] && break
    sleep 0.2
done
sh template create tiny --vcpus 1 --memory 64 >/dev/null || { echo "$what: no cloud"; exit 1; }
"$build/bench/bench_tasks" -e $bus -s $stream_out -n 1000 -w 256 -m done -p v >"$T/fill.out" \
    2>"$T/fill.log" || { cat "$T/fill.out"; exit 1; }

api=http://127.0.0.1:$http/api/v1
TOKEN=$(curl -s -X POST "$api/session" -H 'Content-Type: application/json' \
    --data "{\"user\": \"admin\", \"password\": \"$(cat "$T/admin-password")\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') \
    || { echo "$what: cannot log in through the gateway"; exit 1; }
export TOKEN
