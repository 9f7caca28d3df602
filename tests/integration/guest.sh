#!/bin/bash
# A real guest: a private libvirtd with QEMU (software emulation: KVM does not work on
# these machines), the real broker, controller and agent, and a VM created with maekinsh
# from a template that boots the Debian cloud kernel with a busybox initramfs. It must
# reach running, print its marker on the serial console, stop and be deleted cleanly.
# This proves the domain XML the agent writes is right for a real hypervisor. A monitor
# samples this machine's /proc and the guests of that libvirtd: the guest's CPU and
# network rates move in its VM metrics; and with libvirtd stopped (SIGSTOP) the host's
# samples go on.
. "$(dirname "$0")/lib.bash"

guest=${GUEST_DIR:-$MK_SRC/build/guest}
bash "$MK_SRC/tests/guest/build-guest.sh" "$guest" >"$T/guest-build.log" 2>&1 \
    || fail "building the guest failed: $(tail -n 5 "$T/guest-build.log")"
guest=$(cd "$guest" && pwd)
lv=$T/lv
uri=$(bash "$MK_SRC/tests/guest/libvirtd.sh" start "$lv" 2>"$T/libvirtd-start.log") \
    || fail "the private libvirtd did not start: $(tail -n 5 "$T/libvirtd-start.log")"
uri=${uri##*$'\n'}
stop_libvirtd() {
    virsh -q -c "$uri" net-destroy mktest >/dev/null 2>&1
    bash "$MK_SRC/tests/guest/libvirtd.sh" stop "$lv" >/dev/null 2>&1
    ip link del "mkbr$$" >/dev/null 2>&1 || true
}
trap 'rc=$?; stop_libvirtd; cleanup $rc' EXIT
ok "private libvirtd at $uri"

mkdir -p "$T/consoles"
start_broker
# The guest's kernel and initramfs live in the test's build directory: that is this
# cloud's storage directory.
start_controller --storage-image_dirs="$guest"
start agent-real "$MK_BUILD/maekin-agent" --bus-endpoint=$BUS --agent-hosts="real=$uri" $(node_key agent-real real) \
    --agent-report_ms=300 --agent-domain_type=qemu --agent-console_dir="$T/consoles" \
    --agent-stop_timeout_s=5
eventually 20 "the host with a real libvirtd is up" is host real state up

# The guest's NIC on a bridge of the test's own, through a libvirt network in bridge
# mode (no address, no dnsmasq, no firewall rules).
ip link add "mkbr$$" type bridge && ip link set "mkbr$$" up || fail "cannot make bridge mkbr$$"
cat >"$T/net.xml" <<EOF
<network><name>mktest</name><forward mode='bridge'/><bridge name='mkbr$$'/></network>
EOF
virsh -q -c "$uri" net-define "$T/net.xml" >/dev/null && virsh -q -c "$uri" net-start mktest >/dev/null \
    || fail "the libvirt network mktest could not be started"
start monitor "$MK_BUILD/maekin-monitor" --bus-stream_in=$STREAM_IN $(monitor_opts monitor real) \
    --multicast-interface=127.0.0.1 --monitor-hosts=real=proc \
    --monitor-guests_uri="$uri" --monitor-interval_ms=300
expect_ok "a template that boots the kernel and initramfs" sh template create guest \
    --vcpus 1 --memory 256 --kernel "$guest/vmlinuz" --initrd "$guest/initrd.gz" \
    --cmdline console=ttyS0 --network mktest
expect_ok "vm create g1 --wait" sh vm create g1 --template guest --wait
[ "$(field vm g1 state)" = running ] || fail "g1 is $(field vm g1 state)"
ok "g1 is running"
[ "$(virsh -q -c "$uri" domstate g1 2>&1)" = running ] || fail "libvirt says g1 is $(virsh -q -c "$uri" domstate g1 2>&1)"
ok "libvirt agrees g1 is running"
booted() { grep -q MAEKIN-GUEST-BOOTED "$T/consoles/g1.log"; }
eventually 90 "g1's serial console shows the marker its init prints" booted

# The guest's values from libvirt: its CPU busy, its NIC sending (its pings' ARP).
mtail() { [ -n "$(token)" ] || login_admin; timeout 60 "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-stream_out=$STREAM_OUT \
    metrics tail "$@"; }
vm_moves() {
    mtail --vm g1 --count 3 --output json >"$T/g1.json" 2>&1 || return 1
    grep -q '"cpu_permille": *[1-9]' "$T/g1.json" && grep -q '"net_tx_bps": *[1-9]' "$T/g1.json" \
        && grep -q '"net_tx_pps": *[1-9]' "$T/g1.json"
}
eventually 60 "g1's CPU and network rates move in its VM metrics" vm_moves
ok "g1's metrics: $(mtail --vm g1 --count 2 | tail -n 1)"

# libvirtd stopped: the monitor's libvirt call hangs on its own thread; the host's
# samples go on, without the guests' values, and the guests' come back with it.
lvpid=$(cat "$lv/libvirtd.pid")
kill -STOP "$lvpid"
trap 'rc=$?; kill -CONT "$lvpid" 2>/dev/null; stop_libvirtd; cleanup $rc' EXIT
before=$(date +%s%3N)
out=$(mtail --host real --count 10 --output json) || fail "no host samples with libvirtd stopped: $out"
[ "$(grep -c '"host": *"real"' <<<"$out")" -eq 10 ] || fail "10 samples of host real expected: $out"
last=$(tail -n 1 <<<"$out" | grep -o '"vms_time_ms": *[0-9]*' | grep -o '[0-9]*$')
[ "${last:-0}" -lt "$before" ] || fail "guest values taken while libvirtd was stopped: $last >= $before"
ok "libvirtd stopped: 10 samples of the host went on, without new guest values"
kill -CONT "$lvpid"
fresh_vms() {
    local t
    t=$(mtail --host real --count 1 --output json | grep -o '"vms_time_ms": *[0-9]*' | grep -o '[0-9]*$')
    [ "${t:-0}" -gt "$before" ]
}
eventually 60 "libvirtd continued: the guests' values come again" fresh_vms
eventually 30 "and the host is up (its agent was held too)" is host real state up

expect_ok "vm stop g1 --wait (graceful, forced after the agent's timeout)" sh vm stop g1 --wait
[ "$(field vm g1 state)" = stopped ] || fail "g1 is $(field vm g1 state) after stop"
[ "$(virsh -q -c "$uri" domstate g1 2>&1)" = "shut off" ] || fail "libvirt says g1 is $(virsh -q -c "$uri" domstate g1 2>&1)"
ok "g1 is stopped, and libvirt agrees"
expect_ok "vm delete g1 --wait" sh vm delete g1 --wait
[ -z "$(virsh -q -c "$uri" list --all --name 2>&1)" ] || fail "libvirt still has: $(virsh -q -c "$uri" list --all --name)"
ok "g1 is gone from libvirt"
expect_fail "and from the cloud" 1 "no VM named 'g1'" sh vm show g1
