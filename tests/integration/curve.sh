#!/bin/bash
# The bus under CURVE, with the real programs: a key the broker does not know reaches
# nothing (not even an error), plain text reaches nothing, a node key serves and
# publishes for its own hosts only and sends no task, a revoked key is cut off at once
# (its agent's host goes down, its listener hears no more), and after a broker restart
# every program is back with its key.
. "$(dirname "$0")/lib.bash"

start_broker
start_controller
start_agent node1 "$(node node1 8 8192)"
eventually 20 "node1's agent, with its node key, brings node1 up" is host node1 state up
expect_ok "template tiny" sh template create tiny --vcpus 1 --memory 64

# raw_as KEY FRAME...: mk_raw with the key pair KEY ("" for plain text): what comes back.
raw_as() {
    local key=$1; shift
    MAEKIN_BUS_KEY=${key:+$KEYS/$key.key_secret} "$MK_BUILD/mk_raw" $BUS 1500 "$@"
}
nothing_back() { ! raw_as "$@" >/dev/null; }

# ---- Strangers and plain text
keys stranger
for what in "cloud id:1 env:vm_list" "node/node1 id:2 env:vm_list" "bus/keys id:3 hex:00" "nonexistent id:4 hex:"; do
    nothing_back stranger hdr:REQUEST $what || fail "a stranger's request to ${what%% *} was answered"
done
nothing_back stranger hdr:READY cloud || fail "a stranger's READY was answered"
nothing_back stranger hdr:HEARTBEAT || fail "a stranger's heartbeat was answered"
nothing_back stranger hdr9:REQUEST cloud id:5 hex: || fail "a stranger heard of the versions"
ok "a key the broker does not know gets no answer at all, not even an error"
nothing_back "" hdr:REQUEST cloud id:6 env:vm_list || fail "plain text was answered"
ok "a plain-text connection to the CURVE broker gets nothing"
out=$(timeout 5 "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-stream_out=$STREAM_OUT \
    --bus-key="$KEYS/stranger.key_secret" metrics tail --count 1 2>&1) \
    && fail "a stranger heard the stream: $out"
ok "a stranger hears nothing of the streams"
expect_fail "maekinsh with a stranger's key says the cloud is unreachable and why" 3 "is this one admitted" \
    "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-key="$KEYS/stranger.key_secret" --timeout-ms 300 vm list
expect_fail "maekinsh in plain text says the broker may want CURVE" 3 "CURVE broker says nothing to plain text" \
    "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-security=none --timeout-ms 300 vm list
grep -q "node/node1" "$T/broker.log" && ! grep -q "stranger" "$T/broker.log" \
    || fail "the broker's log: $(tail -n 3 "$T/broker.log")"
ok "the stranger registered nothing"

# The enrolment door is the one place a stranger reaches, and slowly: at most 20 at once
# and 10 a second from all strangers together. 60 knocks as fast as processes start.
start_ms=$(date +%s%3N) answered=0
for i in $(seq 60); do
    MAEKIN_BUS_KEY=$KEYS/stranger.key_secret "$MK_BUILD/mk_raw" $BUS 200 hdr:REQUEST enrol id:$i \
        env:vm_list >/dev/null && answered=$((answered + 1))
done
took_ms=$(($(date +%s%3N) - start_ms))
most=$((20 + 10 * (took_ms / 1000 + 1)))
[ "$answered" -ge 1 ] && [ "$answered" -le "$most" ] \
    || fail "$answered of 60 knocks answered in $took_ms ms (at most $most may be)"
ok "the enrolment door answers strangers at a bounded rate ($answered of 60 in $took_ms ms)"

# ---- What a node key may do
raw_as agent-node1 hdr:REQUEST node/node1 id:7 env:vm_list | grep -q "status 403" \
    || fail "a node key sent to node/node1 and was not refused"
raw_as agent-node1 hdr:REQUEST agent/anything id:8 env:vm_list | grep -q "status 403" \
    || fail "a node key sent to an agent's service and was not refused"
ok "a node key cannot send tasks (403 from the broker)"
raw_as agent-node1 hdr:REQUEST cloud id:9 env:vm_list | grep -q "envelope status" \
    || fail "a node key's request to cloud was not answered"
ok "a node key reaches cloud"
# An agent with node1's key that says it drives node2 is not let in for node2.
keys impostor
start impostor "$MK_BUILD/maekin-agent" --bus-endpoint=$BUS --agent-hosts="node2=$(node node2 4 4096)" \
    --agent-report_ms=300 --agent-domain_type=test $(bus_opts agent-node1)
eventually 20 "the broker refuses node1's key for node/node2" \
    grep -q "the key 'agent-node1' may not serve 'node/node2'" "$T/broker.log"
stop impostor
eventually 20 "the controller refuses its reports about node2 (a node key for node1)" \
    grep -q "host_register about a host refused: this node's key is not admitted for that host" \
    "$T/controller.log"
sh host show node2 >/dev/null 2>&1 && fail "node2 is known to the cloud: $(sh host show node2)"
ok "node2 never appeared"
raw_as agent-node1 hdr:READY cloud >/dev/null
eventually 10 "nor may a node key serve cloud" grep -q "the key 'agent-node1' may not serve 'cloud'" "$T/broker.log"
expect_ok "the controller still serves cloud alone" sh vm list

# ---- Monitors publish their own hosts' metrics only
start monitor "$MK_BUILD/maekin-monitor" --bus-stream_in=$STREAM_IN $(monitor_opts monitor node1) \
    --multicast-interface=127.0.0.1 --monitor-hosts="node1=synthetic:30:40,node9=synthetic:50:50" \
    --monitor-interval_ms=100
tail_as() { timeout 20 "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-stream_out=$STREAM_OUT "$@" metrics tail --count 10; }
out=$(tail_as) || fail "metrics tail: $out"
grep -q "node1" <<<"$out" || fail "no metrics of node1: $out"
grep -q "node9" <<<"$out" && fail "node9's metrics came through from a key admitted for node1: $out"
grep -q "dropped a message on 'metric.host.node9'" "$T/broker.log" || fail "the broker did not say it dropped node9's"
ok "a monitor's key publishes its hosts' metrics and no other's"

# ---- Revocation: a client and an agent cut off at once
keys cli2
expect_ok "an administrator admits a second client key" sh key admit cli2 "$KEYS/cli2.key" --role client
as_cli2() { "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-stream_out=$STREAM_OUT --bus-key="$KEYS/cli2.key_secret" "$@"; }
eventually 10 "the new key reaches the cloud" as_cli2 --timeout-ms 500 vm list
# It listens to the stream meanwhile (a subscriber's connection is cut too).
"$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-stream_out=$STREAM_OUT --bus-key="$KEYS/cli2.key_secret" \
    metrics tail --count 100000 >"$T/cli2-tail.out" 2>&1 &
listener=$!
PIDS[listener]=$listener
eventually 10 "the second key hears the stream" grep -q node1 "$T/cli2-tail.out"
cuts=$(grep -c "subscribers reconnect" "$T/broker.log")
expect_ok "revoke it" sh key revoke cli2
expect_fail "its next request reaches nothing" 3 "could not be reached" as_cli2 --timeout-ms 300 vm list
eventually 10 "the broker cuts the streams' listeners" \
    test "$(grep -c "subscribers reconnect" "$T/broker.log")" -gt "$cuts"
lines=$(wc -l <"$T/cli2-tail.out")
out=$(tail_as) || fail "metrics go on for the admitted: $out"
[ "$(wc -l <"$T/cli2-tail.out")" -eq "$lines" ] \
    || fail "the revoked key still hears the stream: $(tail -n 3 "$T/cli2-tail.out")"
stop listener
ok "the revoked listener heard nothing more while others did"
expect_ok "revoke the agent's key" sh key revoke agent-node1
eventually 10 "its host goes down at once (its worker is forgotten)" is host node1 state down
sh key list | grep -q "agent-node1" && fail "agent-node1 is still listed: $(sh key list)"
ok "a revoked name is gone from the list"
expect_ok "admitting the agent's key again" sh key admit agent-node1 "$KEYS/agent-node1.key" --role node --hosts node1
eventually 30 "node1 comes back once its key is admitted again" is host node1 state up

# ---- Rotation: the agent gets a new key; the old one works for its grace, then not
keys agent-node1-b
expect_ok "rotate the agent's key with 4 s of grace" \
    sh key rotate agent-node1 "$KEYS/agent-node1-b.key" --grace 4
[ "$(sh key list agent-node1 | tail -n +2 | wc -l)" -eq 2 ] || fail "two keys expected: $(sh key list)"
raw_as agent-node1 hdr:REQUEST cloud id:70 env:vm_list | grep -q "envelope status" \
    || fail "the old key stopped working before its grace ended"
ok "during the grace both keys work"
stop agent-node1
start agent-node1 "$MK_BUILD/maekin-agent" --bus-endpoint=$BUS --agent-hosts="node1=test://$T/node1.xml" \
    --agent-report_ms=300 --agent-domain_type=test $(bus_opts agent-node1-b)
eventually 20 "the agent, restarted with its new key, brings node1 up" is host node1 state up
eventually 20 "after the grace the old key reaches nothing" nothing_back agent-node1 hdr:REQUEST cloud id:71 env:vm_list
raw_as agent-node1-b hdr:REQUEST cloud id:72 env:vm_list | grep -q "envelope status" \
    || fail "the new key does not work"
eventually 10 "the old key leaves the list" test "$(sh key list agent-node1 | tail -n +2 | wc -l)" -eq 1
is host node1 state up || fail "node1 went down with the old key"
ok "node1 stayed up across the rotation"

# ---- A broker restart: everyone back with their keys
stop broker KILL
start_broker
eventually 30 "after a broker restart, the controller serves" sh --timeout-ms 500 vm list
eventually 30 "node1's agent is back" is host node1 state up
expect_ok "a VM is created through the new broker" sh vm create web-1 --template tiny --wait
out=$(tail_as) && grep -q node1 <<<"$out" || fail "no metrics after the restart: $out"
ok "the monitor publishes through the new broker"
