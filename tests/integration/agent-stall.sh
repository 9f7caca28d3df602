#!/bin/bash
# One agent process, two hosts: 'real' on a private libvirtd with QEMU (tests/guest/
# libvirtd.sh, as guest.sh starts it) and 'sim' on libvirt's test driver. The private
# libvirtd is stopped with SIGSTOP: a task for 'real' fails with the agent's libvirt
# deadline error, 'sim' creates VMs meanwhile, and neither host goes down while the
# agent answers. With SIGCONT, 'real' works again.
. "$(dirname "$0")/lib.bash"

guest=${GUEST_DIR:-$MK_SRC/build/guest}
bash "$MK_SRC/tests/guest/build-guest.sh" "$guest" >"$T/guest-build.log" 2>&1 \
    || fail "building the guest failed: $(tail -n 5 "$T/guest-build.log")"
guest=$(cd "$guest" && pwd)
lv=$T/lv
uri=$(bash "$MK_SRC/tests/guest/libvirtd.sh" start "$lv" 2>"$T/libvirtd-start.log") \
    || fail "the private libvirtd did not start: $(tail -n 5 "$T/libvirtd-start.log")"
uri=${uri##*$'\n'}
lvpid=$(cat "$lv/libvirtd.pid")
[ -n "$lvpid" ] || fail "no pid in $lv/libvirtd.pid"
monitor=""
finish() {
    local rc=$?
    kill -CONT "$lvpid" 2>/dev/null
    [ -n "$monitor" ] && { kill "$monitor" 2>/dev/null; wait "$monitor" 2>/dev/null; }
    bash "$MK_SRC/tests/guest/libvirtd.sh" stop "$lv" >/dev/null 2>&1
    cleanup $rc
}
trap finish EXIT
ok "private libvirtd at $uri (pid $lvpid)"

# Long enough for QEMU to start a guest on a slow machine, short for the test.
deadline_ms=10000
mkdir -p "$T/consoles"
start_broker
start_controller --storage-image_dirs="$guest"
sim=$(node sim 16 65536)
start agent "$MK_BUILD/maekin-agent" --bus-endpoint=$BUS --agent-hosts="real=$uri,sim=$sim" $(node_key agent real,sim) \
    --agent-report_ms=300 --agent-domain_type=qemu --agent-console_dir="$T/consoles" \
    --agent-stop_timeout_s=5 --agent-libvirt_timeout_ms=$deadline_ms
eventually 30 "both hosts of the agent are up" is host real state up
eventually 10 "... sim too" is host sim state up

expect_fail "a libvirt deadline out of range is refused" 2 "'agent/libvirt_timeout_ms' must be at least 100" \
    "$MK_BUILD/maekin-agent" --agent-hosts="x=test:///default" --agent-libvirt_timeout_ms=5 -n
expect_ok "a template that boots the kernel and initramfs" sh template create guest \
    --vcpus 1 --memory 256 --kernel "$guest/vmlinuz" --initrd "$guest/initrd.gz" \
    --cmdline console=ttyS0
expect_ok "vm create r1 on real --wait, before the stall" sh vm create r1 --template guest --host real --wait

# From here until the end, 'host list' is polled: no host may ever be down.
(
    while :; do
        "$MK_BUILD/maekinsh" --bus-endpoint=$BUS host list >>"$T/host-list.log" 2>&1
        echo "-- $(date +%T.%3N)" >>"$T/host-list.log"
        sleep 0.2
    done
) &
monitor=$!

kill -STOP "$lvpid" || fail "cannot stop libvirtd"
ok "libvirtd stopped (SIGSTOP)"
# r2 waits on the stalled libvirtd while sim creates: the stall lasts about the
# deadline, well within libvirt's keepalive (30 s), which would close the connection.
start r2 "$MK_BUILD/maekinsh" --bus-endpoint=$BUS vm create r2 --template guest --host real \
    --wait --timeout 120
for i in 1 2 3 4 5; do
    expect_ok "vm create s$i on sim --wait, while a task waits on real's stopped libvirtd" \
        sh vm create s$i --template guest --host sim --wait --timeout 60
done
r2_pid=${PIDS[r2]}
r2_done() { ! kill -0 "$r2_pid" 2>/dev/null; }
eventually $((deadline_ms / 1000 + 60)) "vm create r2 on the stalled host has its answer" r2_done
wait "$r2_pid"; rc=$?
unset "PIDS[r2]"
out=$(cat "$T/r2.log")
[ $rc -ne 0 ] || fail "vm create r2 on the stalled host succeeded: $out"
grep -q "libvirt on host 'real' did not answer within $((deadline_ms / 1000)) s" <<<"$out" \
    || fail "vm create r2 on the stalled host: '$out', not the deadline's error"
ok "a task for the stalled host fails: $out"
for i in 1 2 3 4 5; do
    [ "$(field vm s$i state)" = running ] || fail "s$i is $(field vm s$i state)"
done
ok "s1..s5 run on sim"
up_both() { [ "$(sh host list --state up | tail -n +2 | wc -l)" -eq 2 ]; }
up_both || fail "not both hosts up while real's libvirtd is stopped: $(sh host list)"
ok "both hosts are up while real's libvirtd is stopped"
kill -CONT "$lvpid" || fail "cannot continue libvirtd"
ok "libvirtd continued (SIGCONT)"
eventually 60 "the agent says libvirt on 'real' answered again" \
    grep -q "libvirt on host 'real' answered again" "$T/agent.log"
expect_ok "vm create r4 on real --wait, after the stall" \
    sh vm create r4 --template guest --host real --wait --timeout 120
[ "$(field vm r4 state)" = running ] || fail "r4 is $(field vm r4 state)"
[ "$(virsh -q -c "$uri" domstate r4 2>&1)" = running ] || fail "libvirt says r4 is $(virsh -q -c "$uri" domstate r4 2>&1)"
ok "r4 runs on real, and libvirt agrees"
expect_ok "vm destroy r4 --wait" sh vm destroy r4 --wait
expect_ok "vm delete r4 --wait" sh vm delete r4 --wait

kill "$monitor"; wait "$monitor" 2>/dev/null; monitor=""
polls=$(grep -c '^-- ' "$T/host-list.log")
[ "$polls" -ge 5 ] || fail "host list was polled only $polls times"
if grep -E '^(real|sim) .*down' "$T/host-list.log" >/dev/null; then
    fail "a host went down: $(grep -E '^(real|sim) .*down' "$T/host-list.log" | head -3)"
fi
ok "no host was ever down in $polls polls of host list"

# The agent itself stopped and continued (a signal interrupts its host threads' waits):
# it still serves both hosts, and a SIGTERM ends it.
kill -STOP "${PIDS[agent]}"; kill -CONT "${PIDS[agent]}"
expect_ok "vm create s6 on sim --wait, after the agent was stopped and continued" \
    sh vm create s6 --template guest --host sim --wait --timeout 60
expect_ok "vm create r5 on real --wait, after the agent was stopped and continued" \
    sh vm create r5 --template guest --host real --wait --timeout 120
agent_pid=${PIDS[agent]}
kill -TERM "$agent_pid"
gone() { ! kill -0 "$agent_pid" 2>/dev/null; }
eventually 30 "the agent ends on SIGTERM" gone
wait "$agent_pid" 2>/dev/null; rc=$?
unset "PIDS[agent]"
[ $rc -eq 0 ] || fail "the agent exited with status $rc on SIGTERM"
ok "the agent exited with status 0"
