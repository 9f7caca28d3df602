#!/bin/bash
# The controller's history of the monitors' samples: with steps of a second (fine) and
# five (coarse), kept ten and sixty seconds, `maekinsh metrics history` shows a host's
# and a VM's averages, the table holds no more rows than the steps kept, and bad
# questions get one line and change nothing.
. "$(dirname "$0")/lib.bash"

start_broker
start_controller --metrics-fine_step_s=1 --metrics-fine_keep_s=10 --metrics-coarse_step_s=5 \
    --metrics-coarse_keep_s=60 --metrics-raw_points=5
start_agent node1 "$(node node1 8 8192)"
eventually 10 "node1 is up" is host node1 state up
start monitor "$MK_BUILD/maekin-monitor" --bus-stream_in=$STREAM_IN $(monitor_opts monitor node1) \
    --multicast-interface=127.0.0.1 \
    --monitor-hosts="node1=synthetic:80:50:2" --monitor-interval_ms=100 --monitor-full_every=5

hist() { sh metrics history "$@"; }
# Points whose step is over (a whole second of samples): node1 at its 80% (800
# thousandths), half its memory in use.
whole() { hist --host node1 --since 20s --step 1s | awk 'NR > 2 && $3 >= 8' | head -n -1; }
points() { [ "$(whole | wc -l)" -ge 3 ]; }
eventually 60 "three whole seconds of node1 in its history" points
out=$(whole)
awk '$4 < 780 || $4 > 820 { bad = 1 } END { exit bad }' <<<"$out" \
    || fail "node1 runs at 800 thousandths of its CPUs: $out"
ok "metrics history --host node1 --step 1s: $(wc -l <<<"$out") points at 80%: $(head -n 1 <<<"$out")"

# A guest's history, by its UUID (a host's message carries it as bytes; JSON as base64).
b64=$(timeout 60 "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-stream_out=$STREAM_OUT \
    metrics tail --host node1 --count 6 --output json | grep -o '"uuid": *"[^"]*"' | head -n 1 \
    | sed 's/.*: *"\(.*\)"/\1/')
uuid=$(python3 -c "import base64, sys, uuid; print(uuid.UUID(bytes=base64.b64decode(sys.argv[1])))" "$b64") \
    || fail "a guest's UUID expected in node1's samples"
vm_points() { [ "$(hist --vm "$uuid" --since 20s --step 1s | tail -n +3 | wc -l)" -ge 2 ]; }
eventually 30 "the guest's history has points" vm_points
out=$(hist --vm "$uuid" --since 20s --step 1s --output json) || fail "history json: $out"
grep -q "\"vm\": *\"$uuid\"" <<<"$out" && grep -q '"cpu_permille"' <<<"$out" \
    || fail "the guest's history in JSON, with its CPU: $out"
ok "metrics history --vm UUID: the guest's points, in JSON too"
# The coarse steps: five seconds each, asked for by a multiple.
coarse() { [ "$(hist --host node1 --since 60s --step 5s | awk 'NR > 2 && $3 >= 40' | wc -l)" -ge 1 ]; }
eventually 60 "a whole five-second step of node1" coarse

# Rows expire: the fine ones kept ten seconds, the table bounded.
db=$T/maekin.db
first=$(sqlite3 "$db" "SELECT min(t) FROM metrics WHERE step = 1")
expired() { [ "$(sqlite3 "$db" "SELECT min(t) FROM metrics WHERE step = 1")" -gt "$first" ]; }
eventually 60 "the first fine rows expire" expired
fine=$(sqlite3 "$db" "SELECT count(*) FROM metrics WHERE step = 1")
subjects=$(sqlite3 "$db" "SELECT count(DISTINCT subject) FROM metrics WHERE step = 1")
[ "$fine" -le $(( subjects * 14 )) ] || fail "$fine fine rows for $subjects subjects kept 10 s"
ok "fine rows expire: $fine rows for $subjects subjects"

# Bad questions: one line each, nothing changed (a step that fits no kept one cannot
# be asked with a fine step of a second, nor too many points of ten seconds kept: the
# self-test asks them).
rows=$(sqlite3 "$db" "SELECT count(*) FROM hosts")
expect_fail "both a host and a VM" 2 "one of them" hist --host node1 --vm "$uuid"
expect_fail "neither" 2 "one of them" hist
expect_fail "a bad duration" 2 "duration" hist --host node1 --since 5x
expect_fail "no such host" 1 "no host named 'nope'" hist --host nope
expect_fail "no such VM" 1 "no VM named 'nope'" hist --vm nope
expect_fail "a step over ten days" 2 "duration" hist --host node1 --step 11d
[ "$(sqlite3 "$db" "SELECT count(*) FROM hosts")" = "$rows" ] || fail "a bad question changed the hosts"
