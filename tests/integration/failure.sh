#!/bin/bash
# Failure detection across namespaces (deploy/cluster.sh, three nodes): a node whose agent
# and monitor are SIGKILLed goes down, said on event.host, and comes back up with them;
# a node whose link goes down goes down, and comes back when the link returns; with both
# cores busy for a minute no host flaps. The times are logged; the 3 s figure is the
# benchmark's (a loaded test machine gets a margin here).
. "$(dirname "$0")/lib.bash"

dir=$T/cluster
cluster() { "$MK_SRC/deploy/cluster.sh" "$@"; }
burners=()
trap 'rc=$?; for b in "${burners[@]}"; do kill "$b" 2>/dev/null; done
      cluster stop -d "$dir" >/dev/null 2>&1; cleanup $rc' EXIT
on1() { cluster exec -d "$dir" 1 "$@"; }
state() { on1 maekinsh host list | awk -v h="$1" '$1 == h { print $2 }'; }
is_state() { [ "$(state "$1")" = "$2" ]; }
# Waits for a host's state, bounded, and logs how long it took.
until_state() { # host state what
    local start=$(date +%s%3N) until=$((SECONDS + 30))
    while ! is_state "$1" "$2"; do
        [ $SECONDS -lt $until ] || fail "$3: $1 not $2 within 30 s"
        sleep 0.05
    done
    ok "$3: $1 $2 after $(( $(date +%s%3N) - start )) ms"
}
pid_of() { awk -v n="$1" '$2 == n { print $1 }' "$dir/pids"; }

out=$(cluster start -n 3 -d "$dir" -b "$MK_BUILD" 2>&1) || fail "start: $out"

# A node dies: its agent and its monitor SIGKILLed at once.
kill -KILL "$(pid_of agent2)" "$(pid_of monitor2)"
until_state node2 down "agent and monitor of node 2 killed"
events=$(on1 maekinsh event list event.host --output json) || fail "event list: $events"
grep -q '"subject": "node2"' <<<"$events" && grep -q '"down"' <<<"$events" \
    || fail "no event.host saying node2 down: $events"
grep -q "host 'node2' is down: its agent left the bus" "$dir/logs/controller.log" \
    || fail "node2 went down otherwise: $(grep node2 "$dir/logs/controller.log" | tail -n 3)"
ok "event.host says so; the controller heard it from the broker"
cluster down -d "$dir" agent2 >/dev/null 2>&1
cluster down -d "$dir" monitor2 >/dev/null 2>&1
cluster up -d "$dir" agent2 && cluster up -d "$dir" monitor2 || fail "node 2 not restarted"
until_state node2 up "node 2 started again"

# A node's link goes down, and comes back.
cluster link -d "$dir" 3 down || fail "link down"
until_state node3 down "node 3's link down"
cluster link -d "$dir" 3 up || fail "link up"
until_state node3 up "node 3's link up again"

# Both cores busy for a minute (and one more loop): nobody goes down.
downs=$(grep -c "is down" "$dir/logs/controller.log")
for _ in 1 2 3; do (while :; do :; done) & burners+=($!); done
end=$((SECONDS + 60))
while [ $SECONDS -lt $end ]; do
    for h in node1 node2 node3; do
        is_state $h up || fail "$h is $(state $h) with the cores busy"
    done
    sleep 1
done
for b in "${burners[@]}"; do kill "$b"; done
burners=()
[ "$(grep -c "is down" "$dir/logs/controller.log")" -eq "$downs" ] \
    || fail "a host flapped under load: $(grep "is down" "$dir/logs/controller.log" | tail -n 2)"
ok "a minute with every core busy: no host went down"
