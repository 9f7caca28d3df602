#!/bin/bash
# One controller per database. A second controller on a database in use is refused and
# says who holds it; so are 'admin db restore' and 'migrate'. A controller that stood
# still longer than its claim lasts (SIGSTOP here; a hung disk in life) finds, when it
# moves again, that another took over: it stops with status 1, changing nothing. One
# killed by SIGKILL is taken over at once by the next; one stopped cleanly gives the
# claim up.
set -u
. "$(dirname "$0")/lib.bash"
admin() { "$MK_BUILD/maekinsh" --db-url="sqlite:$T/maekin.db" admin db "$@"; }

start_broker
start_controller
start_agent node1 "$(node node1 64 65536)"
eventually 10 "node1 is up" is host node1 state up
expect_ok "template tiny" sh template create tiny --vcpus 1 --memory 64
expect_ok "a VM" sh vm create first --template tiny --wait
expect_ok "a backup" admin backup "$T/backup.db"

first=${PIDS[controller]}
expect_fail "a second controller on the same database is refused" 1 \
    "another controller holds this database \(process $first on [^ ]+, renewed" \
    timeout 10 "$MK_BUILD/maekin-controller" --bus-endpoint=$BUS --bus-stream_in=$STREAM_IN \
    --db-url="sqlite:$T/maekin.db"
expect_ok "the first still serves" sh vm create second --template tiny --wait
admin status | grep -qE "^controller +process $first on " || fail "status does not name the controller: $(admin status)"
ok "admin db status names the controller"
expect_fail "restore is refused while it runs" 1 \
    "a controller runs on this database \(process $first .*stop it before 'admin db restore'" \
    admin restore "$T/backup.db" --replace
expect_fail "migrate is refused while it runs" 1 "stop it before 'admin db migrate'" admin migrate
expect_ok "the VMs are all still there" sh vm show second

# It stands still past the claim's lapse (10 s) and another takes over.
kill -STOP "$first"
sleep 10.5
start controller2 "$MK_BUILD/maekin-controller" --bus-endpoint=$BUS --bus-stream_in=$STREAM_IN \
    --db-url="sqlite:$T/maekin.db" --controller-host_timeout_ms=1500
eventually 10 "the second controller serves" sh vm show second
expect_ok "and writes" sh vm create third --template tiny --wait
kill -CONT "$first"
for _ in $(seq 50); do kill -0 "$first" 2>/dev/null || break; sleep 0.1; done
kill -0 "$first" 2>/dev/null && fail "the first controller runs on after losing its database"
wait "$first"; rc=$?
unset "PIDS[controller]"
[ $rc -eq 1 ] || fail "the first controller exited $rc, not 1"
grep -q "another controller holds the database now (process ${PIDS[controller2]} " "$T/controller.log" \
    || fail "the first controller's log does not say why it stopped: $(tail -n 3 "$T/controller.log")"
ok "the first controller, moving again, found it taken over and stopped (status 1)"
expect_ok "the cloud goes on under the second" sh vm create fourth --template tiny --wait
[ "$(sh vm list | tail -n +2 | wc -l)" -eq 4 ] || fail "not four VMs: $(sh vm list)"
ok "four VMs, each once"

# Killed, it is taken over at once; stopped cleanly, it gives the claim up.
stop controller2 KILL
start_controller
eventually 5 "a controller started after a SIGKILL takes over at once" sh vm show fourth
stop controller
admin status | grep -qE "^controller +none" || fail "the claim outlived a clean stop: $(admin status)"
ok "a clean stop gives the claim up"
expect_ok "restore works once it is stopped" admin restore "$T/backup.db" --replace
