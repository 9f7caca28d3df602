#!/bin/bash
# MariaDB SIGKILLed in the middle of a multi-row batch. The controller writes a batch's
# rows as one bulk statement per table; here it has run them (many creates' tasks, VMs
# and request ids, uncommitted) and waits on a row lock before its commit when the
# server dies. Nothing of that batch may stay and nothing may be lost: once the server
# is back, every create is retried until it is done, and each VM exists once with one
# create task, done.
. "$(dirname "$0")/lib.bash"

mysql_fresh
trap 'rc=$?; "$MK_SRC/tests/mariadb.sh" resume "$server" >/dev/null 2>&1; cleanup $rc' EXIT
DB_URL=$url
start_broker
start_controller
start_agent node1 "$(node node1 64 65536)"
eventually 10 "node1 is up" is host node1 state up
expect_ok "template tiny" sh template create tiny --vcpus 1 --memory 64
# The first create stores the MAC counter, the row every batch with a create writes last.
expect_ok "a first VM" sh vm create first --template tiny --wait

# Another session holds that row, so the next batch waits there, its bulk rows run.
mysql_do -e "BEGIN; SELECT value FROM meta WHERE name = 'mac_next' FOR UPDATE;
             SELECT SLEEP(600)" >>"$T/lock.log" 2>&1 &
locker=$!
PIDS[locker]=$locker # a failure's cleanup stops it, not waits out its ten minutes
holds() { [ "$(mysql_do -N -e "SELECT count(*) FROM information_schema.processlist
                               WHERE state = 'User sleep'")" -ge 1 ]; }
eventually 10 "another session holds the MAC counter's row" holds

# Forty creates wait at the stopped controller, so that one batch takes them all. The
# agent is held meanwhile: its reports (108 bytes each) would count as creates (111
# bytes each with the session's token; 3,990 bytes are at least 36 of them).
[ -n "$(token)" ] || login_admin
ctl=${PIDS[controller]}
agent=${PIDS[agent-node1]}
kill -STOP "$agent" "$ctl"
before=$(recv_q "$ctl")
MAEKIN_TOKEN=$(token) timeout 120 "$MK_BUILD/bench/bench_tasks" -e "$BUS" -s "$STREAM_OUT" -n 40 -w 64 -m accept \
    -p b >"$T/burst.log" 2>&1 &
burst=$!
queued() { [ $(( $(recv_q "$ctl") - before )) -ge 3990 ]; }
eventually 30 "40 creates wait at the stopped controller" queued
kill -CONT "$agent"
kill -CONT "$ctl"
# The batch's rows, written and not committed: read through the dirty-read level.
dirty() { mysql_do -N -e "SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED;
                          SELECT count(*) FROM tasks WHERE vm LIKE 'b-%'"; }
committed() { mysql_do -N -e "SELECT count(*) FROM tasks WHERE vm LIKE 'b-%'"; }
waiting() { [ "$(dirty)" -ge 2 ]; }
eventually 30 "a batch of creates has written its rows and waits to commit" waiting
[ "$(committed)" -eq 0 ] || fail "$(committed) tasks of the burst committed past the held row"
ok "the batch waits to commit with $(dirty) creates' rows written in bulk"
"$MK_SRC/tests/mariadb.sh" kill "$server" 2>>"$T/mariadb.log" || fail "cannot kill mariadbd"
ok "MariaDB SIGKILLed in the middle of the batch"
wait "$locker" 2>/dev/null
unset "PIDS[locker]"
"$MK_SRC/tests/mariadb.sh" resume "$server" 2>>"$T/mariadb.log" || fail "cannot restart mariadbd"
ok "MariaDB restarted on its data"
wait "$burst" # its creates failed or were answered; each is made again below if need be

[ "$(mysql_do -N -e "SELECT count(*) FROM tasks WHERE vm LIKE 'b-%'")" \
  = "$(mysql_do -N -e "SELECT count(*) FROM vms WHERE name LIKE 'b-%'")" ] \
    || fail "tasks and VMs of the burst differ in number: a batch was kept in part"
ok "no part of the killed batch stayed: as many tasks as VMs"
for i in $(seq 0 39); do create_until_done "b-$i" 2>>"$T/clients.log" || fail "b-$i: $(tail -n 2 "$T/clients.log")"; done
ok "every create of the burst done, or retried until it was"
no_open() { [ "$(mysql_do -N -e "SELECT count(*) FROM tasks WHERE state IN ('queued', 'dispatched', 'running')")" -eq 0 ]; }
eventually 60 "no task is left open" no_open
[ "$(sh vm list --name-prefix b- | tail -n +2 | wc -l)" -eq 40 ] || fail "$(sh vm list --name-prefix b- | tail -n +2 | wc -l) VMs, not 40"
creates=$(mysql_do -N -e "SELECT count(*) FROM tasks WHERE vm LIKE 'b-%' AND op = 1")
done_creates=$(mysql_do -N -e "SELECT count(*) FROM tasks WHERE vm LIKE 'b-%' AND op = 1 AND state = 'done'")
[ "$creates" -eq 40 ] && [ "$done_creates" -eq 40 ] || fail "$creates create tasks, $done_creates done, not 40 and 40"
ok "40 VMs, each once, each with one create task, done"
