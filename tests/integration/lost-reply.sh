#!/bin/bash
# A create the controller committed whose answer was lost with the broker: the client
# retries with the same request id into the new broker's "no worker serves 'cloud'"
# (the controller not registered yet) and must keep trying until the controller answers
# with the first answer, not say the cloud could not be reached. Then one VM, one task.
. "$(dirname "$0")/lib.bash"

start_broker
start_controller
start_agent node1 "$(node node1 8 8192)"
eventually 10 "node1 is up" is host node1 state up
expect_ok "template tiny" sh template create tiny --vcpus 1 --memory 64

ctl=${PIDS[controller]}
kill -STOP "$ctl"
sh --timeout-ms 10000 vm create u1 --template tiny > "$T/u1.out" 2>&1 &
client=$!
# The request waits in the stopped controller's socket buffer (its receive queue grows).
queued() { ss -tnpH state established "( dport = :${BUS##*:} )" 2>/dev/null \
               | grep "pid=$ctl," | awk '{ s += $1 } END { exit !(s > 0) }'; }
eventually 30 "the create waits at the stopped controller" queued
stop broker KILL
# The controller takes the request and commits it; its answer goes nowhere.
kill -CONT "$ctl"
committed() { [ "$(sqlite3 "$T/maekin.db" "SELECT count(*) FROM vms WHERE name = 'u1'")" = 1 ]; }
eventually 30 "the controller committed u1 with no broker to answer through" committed
# Stopped again, it cannot register with the new broker: the client's retries meet
# "no worker serves 'cloud'" for a while.
kill -STOP "$ctl"
start_broker
sleep 1
kill -CONT "$ctl"
wait $client || fail "the create whose answer was lost failed: $(cat "$T/u1.out")"
ok "the client kept retrying with its request id until the controller answered: $(head -n 1 "$T/u1.out")"
[ "$(sh vm list --name-prefix u1 | tail -n +2 | wc -l)" -eq 1 ] || fail "u1 exists $(sh vm list --name-prefix u1 | tail -n +2 | wc -l) times"
[ "$(sh task list --vm u1 | tail -n +2 | wc -l)" -eq 1 ] || fail "u1 has $(sh task list --vm u1 | tail -n +2 | wc -l) tasks"
ok "one VM, one task"
eventually 30 "u1 runs" is vm u1 state running
