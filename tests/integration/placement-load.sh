#!/bin/bash
# Placement by measured load: two hosts with room, the first in name order busy by its
# monitor's samples (95% CPU), the second idle. Creates go to the idle one while it has
# room, then to the busy one, the only one left. `host show` tells each host's measures.
. "$(dirname "$0")/lib.bash"

start_broker
start_controller
# node2 has room for four 1-vCPU VMs (one CPU, four vCPUs a CPU); node1 for many more.
start_agent node1 "$(node node1 8 16384)"
start_agent node2 "$(node node2 1 16384)"
up_hosts() { [ "$(sh host list --state up | tail -n +2 | wc -l)" -eq 2 ]; }
eventually 15 "two hosts are up" up_hosts
start monitor "$MK_BUILD/maekin-monitor" --bus-stream_in=$STREAM_IN $(monitor_opts monitor node1,node2) \
    --multicast-interface=127.0.0.1 \
    --monitor-hosts="node1=synthetic:95:30,node2=synthetic:5:30" --monitor-interval_ms=100
# Two samples make a CPU share between them; the first already says 95% since "boot".
measured() { [ "$(field host node1 cpu_busy_pct)" -ge 90 ] 2>/dev/null \
             && [ "$(field host node2 cpu_busy_pct)" -le 10 ] 2>/dev/null \
             && [ "$(field host node2 sampled)" != - ]; }
eventually 30 "the controller has both hosts' measures" measured
ok "node1: $(field host node1 cpu_busy_pct)% busy, $(field host node1 memory_used_mb) MiB used; node2: $(field host node2 cpu_busy_pct)%"
expect_ok "template tiny" sh template create tiny --vcpus 1 --memory 64
for i in 1 2 3 4; do
    expect_ok "create v$i" sh vm create "v$i" --template tiny --wait
    [ "$(field vm "v$i" host)" = node2 ] || fail "v$i went to $(field vm "v$i" host), not the idle node2"
done
ok "four creates went to the idle node2, not to node1, first by name but busy"
expect_ok "create v5" sh vm create v5 --template tiny --wait
[ "$(field vm v5 host)" = node1 ] || fail "v5 went to $(field vm v5 host): node2 is full, node1 is left"
ok "with node2 full, the busy node1 takes the fifth"

# Garbage and truncated samples on the metric stream: the controller counts them, says
# so once, and goes on taking the monitor's samples.
# (From the monitor's key: one that may publish these hosts' metrics.)
MAEKIN_BUS_KEY=$KEYS/monitor.key_secret "$MK_BUILD/mk_raw" "pub:$STREAM_IN" 2000 metric.host.node1 "not a protobuf" &
raw=$!
MAEKIN_BUS_KEY=$KEYS/monitor.key_secret "$MK_BUILD/mk_raw" "pub:$STREAM_IN" 2000 metric.host.node2 hex:0a05 &
raw2=$!
wait $raw $raw2
# (The sample's time in unix ms, from JSON: for people it is a time to the second.)
sampled() { sh --output json host show node1 | tr -d '\n' \
                | sed -n 's/.*"sampled": *"\{0,1\}\([0-9]*\).*/\1/p'; }
before=$(sampled)
[ -n "$before" ] || fail "host show node1 --output json has no sampled time"
newer() { [ "$(sampled)" != "$before" ]; }
eventually 30 "the controller goes on taking samples after the garbage" newer
grep -q "on the stream is not a host's sample" "$T/controller.log" \
    || fail "the controller does not say it ignored the garbage"
ok "garbage on the metric stream: counted, said once, ignored"
