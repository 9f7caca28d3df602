#!/bin/bash
# Metrics from the monitor to `maekinsh metrics tail`: a monitor for two simulated hosts
# of different loads (one with four synthetic guests) publishes through the real
# broker's stream; the tail shows each host's samples, and a VM's, as lines for people
# and as JSON; garbage on the stream is counted and ignored; bad settings and arguments
# are refused with one line and nothing runs.
. "$(dirname "$0")/lib.bash"

start_broker
start_controller
start monitor "$MK_BUILD/maekin-monitor" --bus-stream_in=$STREAM_IN $(monitor_opts monitor node1,node2) \
    --multicast-interface=127.0.0.1 \
    --monitor-hosts="node1=synthetic:80:50:4,node2=synthetic:10:20" --monitor-interval_ms=100 \
    --monitor-full_every=5
mtail() { [ -n "$(token)" ] || login_admin; timeout 60 "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-stream_out=$STREAM_OUT \
    metrics tail "$@"; }

out=$(mtail --count 6) || fail "metrics tail: $out"
[ "$(wc -l <<<"$out")" -eq 6 ] || fail "6 samples asked, $(wc -l <<<"$out") lines: $out"
grep -q "  node1  cpu " <<<"$out" && grep -q "  node2  cpu " <<<"$out" \
    || fail "both hosts' samples expected: $out"
ok "metrics tail: six samples, both hosts: $(head -n 1 <<<"$out")"
# A host's second sample onwards shows its load since the one before.
out=$(mtail --host node1 --count 3) || fail "metrics tail --host: $out"
! grep -qv "  node1  " <<<"$out" || fail "--host node1 showed another host: $out"
grep -qE "node1  cpu  (79|80|81)%" <<<"$(tail -n +2 <<<"$out")" \
    || fail "node1 runs at 80%: $out"
ok "metrics tail --host node1: only node1, at its 80%"
json=$(mtail --host node2 --count 1 --output json) || fail "metrics tail json: $json"
grep -q '"host": *"node2"' <<<"$json" && grep -q '"source": *"synthetic:10:20"' <<<"$json" \
    || fail "a JSON sample of node2 expected: $json"
[ "$(wc -l <<<"$json")" -eq 1 ] || fail "one JSON object a line expected: $json"
ok "metrics tail --output json: one object a line"

# node1's guests: every fifth message names all four, the others only those that moved.
json=$(mtail --host node1 --count 10 --output json) || fail "metrics tail json: $json"
grep -q '"full": *true' <<<"$json" && grep -q '"full": *false' <<<"$json" \
    || fail "full and delta messages expected among ten: $json"
grep '"full": *true' <<<"$json" | grep -q '"vm_count": *4' || fail "4 VMs expected: $json"
# A guest's UUID (base64 in JSON) as text, then its own tail.
b64=$(grep -o '"uuid": *"[^"]*"' <<<"$json" | head -n 1 | sed 's/.*: *"\(.*\)"/\1/')
hex=$(base64 -d <<<"$b64" | od -An -tx1 | tr -d ' \n')
[ ${#hex} -eq 32 ] || fail "a 16-byte UUID expected, got '$b64'"
uuid="${hex:0:8}-${hex:8:4}-${hex:12:4}-${hex:16:4}-${hex:20:12}"
out=$(mtail --vm "$uuid" --count 4) || fail "metrics tail --vm: $out"
[ "$(grep -c "  $uuid on node1  cpu " <<<"$out")" -eq 4 ] || fail "4 lines of $uuid expected: $out"
grep -qE "cpu +[1-9][0-9]*\.[0-9]%" <<<"$(tail -n 1 <<<"$out")" || fail "its CPU is busy: $out"
grep -q "mem 1.0G used of 2.0G" <<<"$out" || fail "its memory: $out"
ok "metrics tail --vm $uuid: a line each interval: $(tail -n 1 <<<"$out")"
json=$(mtail --vm "$uuid" --count 1 --output json) || fail "metrics tail --vm json: $json"
grep -q '"vms": *\[{"uuid": *"'"$b64"'"' <<<"$json" || fail "the VM alone expected: $json"
ok "metrics tail --vm --output json: the host's sample holding that VM alone"
expect_fail "tail --vm of a VM the cloud does not have" 1 "no VM named 'nosuch'" mtail --vm nosuch

# Garbage on the stream under the same topic (from the monitor's key: one that may
# publish node1's metrics): counted, ignored, the tail goes on.
MAEKIN_BUS_KEY=$KEYS/monitor.key_secret "$MK_BUILD/mk_raw" "pub:$STREAM_IN" 3000 metric.host.node1 "not a protobuf" &
raw=$!
out=$(mtail --host node1 --count 5 2>"$T/tail.err") || fail "metrics tail with garbage: $out"
wait $raw
[ "$(wc -l <<<"$out")" -eq 5 ] || fail "5 samples expected beside the garbage: $out"
grep -qE "[0-9]+ messages? on the stream (was|were) not a host's sample; ignored" "$T/tail.err" \
    || fail "the garbage is not counted: $(cat "$T/tail.err")"
ok "garbage on the stream: $(cat "$T/tail.err")"

# Bad input: one line, exit 2, nothing runs.
expect_fail "tail --count 0" 2 "--count" mtail --count 0
expect_fail "tail --host Bad!" 2 "host" mtail --host 'Bad!'
expect_fail "tail --vm Bad!" 2 "VM" mtail --vm 'Bad!'
expect_fail "a monitor source that is none" 2 "synthetic:CPU:MEMORY" \
    "$MK_BUILD/maekin-monitor" --monitor-hosts=a=bogus -n
expect_fail "a monitor interval too short" 2 "interval_ms" \
    "$MK_BUILD/maekin-monitor" --monitor-hosts=a=proc --monitor-interval_ms=1 -n
expect_fail "a monitor host without a source" 2 "name=source" \
    "$MK_BUILD/maekin-monitor" --monitor-hosts=a -n
expect_fail "a synthetic host with too many guests" 2 "VMS from 0 to 4096" \
    "$MK_BUILD/maekin-monitor" --monitor-hosts=a=synthetic:1:1:5000 -n
expect_fail "a full refresh never" 2 "full_every" \
    "$MK_BUILD/maekin-monitor" --monitor-hosts=a=proc --monitor-full_every=0 -n
expect_fail "a multicast mode that is none" 2 "off, fallback or only" \
    "$MK_BUILD/maekin-monitor" --monitor-hosts=a=proc --multicast-mode=sometimes -n
expect_fail "a multicast group that is no address" 2 "'multicast/group' must be an IPv4" \
    "$MK_BUILD/maekin-monitor" --monitor-hosts=a=proc --multicast-group=239.1 -n
expect_fail "a multicast port out of range" 2 "'multicast/port'" \
    "$MK_BUILD/maekin-monitor" --monitor-hosts=a=proc --multicast-port=70000 -n
