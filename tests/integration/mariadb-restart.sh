#!/bin/bash
# The database service dies under load and comes back: 200 VM creations from eight
# clients while the MariaDB server is SIGKILLed and restarted on its data. The
# controller must fail what it cannot commit with a clear "retry" (never half-apply),
# reconnect, and drain: at the end every VM exists once, is running, and has exactly
# one create task, done; no task is left open.
. "$(dirname "$0")/lib.bash"

mysql_fresh
# Whatever happens, leave the server running for the tests after this one.
trap 'rc=$?; "$MK_SRC/tests/mariadb.sh" resume "$server" >/dev/null 2>&1; cleanup $rc' EXIT

DB_URL=$url
start_broker
start_controller
start_agent node1 "$(node node1 64 65536)"
start_agent node2 "$(node node2 64 65536)"
up_hosts() { [ "$(sh host list --state up | tail -n +2 | wc -l)" -eq 2 ]; }
eventually 10 "two hosts are up" up_hosts
expect_ok "template tiny" sh template create tiny --vcpus 1 --memory 64

clients=()
for c in $(seq 0 7); do
    ( for i in $(seq 0 24); do create_until_done "v$((c * 25 + i))" || exit 1; done ) 2>>"$T/clients.log" &
    clients+=($!)
done
sleep 1.5
"$MK_SRC/tests/mariadb.sh" kill "$server" 2>>"$T/mariadb.log" || fail "cannot kill mariadbd"
ok "MariaDB SIGKILLed under load"
sleep 1
"$MK_SRC/tests/mariadb.sh" resume "$server" 2>>"$T/mariadb.log" || fail "cannot restart mariadbd"
ok "MariaDB restarted on its data"
for pid in "${clients[@]}"; do
    wait "$pid" || fail "a client could not create its VMs: $(tail -n 3 "$T/clients.log")"
done
ok "every create was answered done, or retried until it was"

no_open() { [ "$(sh task list --state queued | tail -n +2 | wc -l)" -eq 0 ] \
    && [ "$(sh task list --state dispatched | tail -n +2 | wc -l)" -eq 0 ] \
    && [ "$(sh task list --state running | tail -n +2 | wc -l)" -eq 0 ]; }
eventually 60 "no task is left open" no_open
[ "$(sh vm list | tail -n +2 | wc -l)" -eq 200 ] || fail "$(sh vm list | tail -n +2 | wc -l) VMs, not 200"
ok "200 VMs, each once"
[ "$(sh vm list --state running | tail -n +2 | wc -l)" -eq 200 ] \
    || fail "not all running: $(sh vm list | awk 'NR > 1 && $2 != "running"' | head -5)"
ok "all 200 running"
creates=$(sh --output json task list | grep -c '"op": "VM_OP_CREATE"')
done_creates=$(sh --output json task list --state done | grep -c '"op": "VM_OP_CREATE"')
[ "$creates" -eq 200 ] && [ "$done_creates" -eq 200 ] || fail "$creates create tasks, $done_creates done, not 200 and 200"
ok "exactly one create task per VM, each done"
grep -qiE "lost|gone|rolled back|cannot" "$T/controller.log" || fail "the controller's log does not show the outage"
ok "the controller's log shows the outage and carries on"
