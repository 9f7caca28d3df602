#!/bin/bash
# The broker's own key replaced while the cloud runs: every program is given both of the
# broker's public keys (the new first, bus/broker_key = NEW,OLD) and connects with the
# one the broker serves; the broker restarts with its new key and they all follow it
# (the controller, an agent, a monitor, maekinsh), while a program that knows only the
# old key is cut off. Then the old key is dropped from the settings, and all is well.
. "$(dirname "$0")/lib.bash"

keys broker-next
both="$KEYS/broker-next.key,$KEYS/broker.key"
# following NAME: the options of a program with the key pair NAME and both broker keys.
following() { echo "--bus-key=$KEYS/$1.key_secret --bus-broker_key=$both"; }
cat > "$T/maekinsh.cfg" <<CFG
bus
    key = "$KEYS/maekinsh.key_secret"
    broker_key = "$both"
CFG

start_broker
start_controller $(following controller)
login_admin
keys agent-node1 agent-node2 monitor
expect_ok "admit node1's agent" sh key admit agent-node1 "$KEYS/agent-node1.key" --role node --hosts node1
expect_ok "admit node2's agent" sh key admit agent-node2 "$KEYS/agent-node2.key" --role node --hosts node2
expect_ok "admit the monitor" sh key admit monitor "$KEYS/monitor.key" --role node --hosts node1
start agent-node1 "$MK_BUILD/maekin-agent" --bus-endpoint=$BUS --agent-hosts="node1=$(node node1 8 8192)" \
    --agent-report_ms=300 --agent-domain_type=test $(following agent-node1)
# node2's agent knows the old key alone.
start agent-node2 "$MK_BUILD/maekin-agent" --bus-endpoint=$BUS --agent-hosts="node2=$(node node2 8 8192)" \
    --agent-report_ms=300 --agent-domain_type=test $(bus_opts agent-node2)
start monitor "$MK_BUILD/maekin-monitor" --bus-stream_in=$STREAM_IN $(following monitor) \
    --multicast-key="$KEYS/multicast.key" --multicast-interface=127.0.0.1 \
    --monitor-hosts="node1=synthetic:30:40" --monitor-interval_ms=100
eventually 30 "node1's agent, with both keys, finds the broker's (the old one)" is host node1 state up
eventually 30 "node2's agent, with the old key, too" is host node2 state up
expect_ok "template tiny" sh template create tiny --vcpus 1 --memory 64
expect_ok "a VM before the change" sh vm create before --template tiny --wait
tail_metrics() { timeout 30 "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-stream_out=$STREAM_OUT metrics tail --count 3; }
out=$(tail_metrics) && grep -q node1 <<<"$out" || fail "no metrics before the change: $out"
ok "metrics flow before the change"

# The broker restarts with its new key.
stop broker
start broker "$MK_BUILD/maekin-broker" --bus-endpoint=$BUS --bus-stream_in=$STREAM_IN \
    --bus-stream_out=$STREAM_OUT --bus-key="$KEYS/broker-next.key_secret" \
    --bus-controller_key="$KEYS/controller.key"
eventually 60 "the controller follows the broker's new key" sh --timeout-ms 1000 vm list
eventually 60 "node1's agent follows it" is host node1 state up
eventually 60 "node2's agent, which knows the old key alone, is cut off" is host node2 state down
expect_ok "a VM after the change" sh vm create after --template tiny --host node1 --wait
out=$(tail_metrics) && grep -q node1 <<<"$out" || fail "no metrics after the change: $out"
ok "the monitor follows it: metrics flow"
grep -q "did not take the handshake; trying its key" "$T/agent-node1.log" \
    || fail "node1's agent did not say it changed keys"
ok "the programs say they changed the broker's key"

# The old key dropped from the settings: maekinsh with the new key alone.
expect_ok "maekinsh with the new key alone" "$MK_BUILD/maekinsh" --bus-endpoint=$BUS \
    --bus-broker_key="$KEYS/broker-next.key" vm show after
expect_fail "maekinsh with the old key alone reaches nothing" 3 "could not be reached" \
    "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-broker_key="$KEYS/broker.key" --timeout-ms 300 vm list
expect_fail "three broker keys are refused" 2 "one key, or two" \
    "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-broker_key="$both,$KEYS/broker.key" vm list
