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
# Names of the longest kind make a create (199 bytes on the wire) larger than anything
# else that reaches the stopped controller: the broker's heartbeats (6 bytes every
# 3.2 s) and the agent's reports (108 bytes each, so the agent is held while the create
# goes in; one report may still be on its way). 160 bytes queued is the create.
tpl=tiny-$(printf 't%.0s' $(seq 58))
expect_ok "template $tpl" sh template create "$tpl" --vcpus 1 --memory 64

ctl=${PIDS[controller]}
agent=${PIDS[agent-node1]}
vm=u1-$(printf 'x%.0s' $(seq 60))
queued() { [ $(( $(recv_q "$ctl") - before )) -ge 160 ]; }
kill -STOP "$agent" "$ctl"
before=$(recv_q "$ctl")
sh -v --timeout-ms 4000 vm create "$vm" --template "$tpl" > "$T/u1.out" 2> "$T/u1.err" &
client=$!
eventually 30 "the create waits at the stopped controller" queued
kill -CONT "$agent"
stop broker KILL
# The controller takes the request and commits it; its answer goes nowhere.
kill -CONT "$ctl"
committed() { [ "$(sqlite3 "$T/maekin.db" "SELECT count(*) FROM vms WHERE name = '$vm'")" = 1 ]; }
eventually 30 "the controller committed u1 with no broker to answer through" committed
# Stopped again, it cannot register with the new broker: the client's first attempt
# times out and its retry meets "no worker serves 'cloud'". That is not the answer: the
# request may have been carried out (it was). The controller goes on once the client
# has met the 404 and tried again (or, as a client without the fix did, given up).
kill -STOP "$ctl"
start_broker
met_404() { grep -q "(attempt 2), retrying" "$T/u1.err" || ! kill -0 $client 2>/dev/null; }
eventually 60 "the client retries into a broker without a controller" met_404
kill -CONT "$ctl"
wait $client || fail "the create whose answer was lost failed: $(cat "$T/u1.out" "$T/u1.err" | grep -v ' debug: ')"
ok "the client kept retrying with its request id until the controller answered: $(head -n 1 "$T/u1.out")"
[ "$(sh vm list --name-prefix u1 | tail -n +2 | wc -l)" -eq 1 ] || fail "the VM exists $(sh vm list --name-prefix u1 | tail -n +2 | wc -l) times"
[ "$(sh task list --vm "$vm" | tail -n +2 | wc -l)" -eq 1 ] || fail "the VM has $(sh task list --vm "$vm" | tail -n +2 | wc -l) tasks"
ok "one VM, one task"
eventually 30 "the VM runs" is vm "$vm" state running

# The same, but the controller does not come back within the client's time: the client
# says the outcome is unknown (exit 4) and how to find it, not that the cloud could not
# be reached; the VM was made once.
vm2=u2-$(printf 'y%.0s' $(seq 60))
kill -STOP "$agent" "$ctl"
before=$(recv_q "$ctl")
sh --timeout-ms 5000 vm create "$vm2" --template "$tpl" > "$T/u2.out" 2>&1 &
client=$!
eventually 30 "the second create waits at the stopped controller" queued
kill -CONT "$agent"
stop broker KILL
kill -CONT "$ctl"
committed2() { [ "$(sqlite3 "$T/maekin.db" "SELECT count(*) FROM vms WHERE name = '$vm2'")" = 1 ]; }
eventually 30 "the controller committed it with no broker to answer through" committed2
kill -STOP "$ctl"
start_broker
wait $client
rc=$?
[ $rc -eq 4 ] && grep -q "the outcome is unknown.*maekinsh task list.*maekinsh vm show $vm2" "$T/u2.out" \
    || fail "a create committed and never answered exited $rc: $(cat "$T/u2.out")"
ok "a create committed and never answered in time: exit 4, '$(cut -c1-60 "$T/u2.out")...'"
kill -CONT "$ctl"
eventually 30 "the controller serves again" sh vm show "$vm2"
[ "$(sh task list --vm "$vm2" | tail -n +2 | wc -l)" -eq 1 ] || fail "the second VM has $(sh task list --vm "$vm2" | tail -n +2 | wc -l) tasks"
ok "it was made once"
