#!/bin/bash
# A real guest: a private libvirtd with QEMU (software emulation: KVM does not work on
# these machines), the real broker, controller and agent, and a VM created with maekinsh
# from a template that boots the Debian cloud kernel with a busybox initramfs. It must
# reach running, print its marker on the serial console, stop and be deleted cleanly.
# This proves the domain XML the agent writes is right for a real hypervisor.
. "$(dirname "$0")/lib.bash"

guest=${GUEST_DIR:-$MK_SRC/build/guest}
bash "$MK_SRC/tests/guest/build-guest.sh" "$guest" >"$T/guest-build.log" 2>&1 \
    || fail "building the guest failed: $(tail -n 5 "$T/guest-build.log")"
guest=$(cd "$guest" && pwd)
lv=$T/lv
uri=$(bash "$MK_SRC/tests/guest/libvirtd.sh" start "$lv" 2>"$T/libvirtd-start.log") \
    || fail "the private libvirtd did not start: $(tail -n 5 "$T/libvirtd-start.log")"
uri=${uri##*$'\n'}
stop_libvirtd() { bash "$MK_SRC/tests/guest/libvirtd.sh" stop "$lv" >/dev/null 2>&1; }
trap 'rc=$?; stop_libvirtd; cleanup $rc' EXIT
ok "private libvirtd at $uri"

mkdir -p "$T/consoles"
start_broker
# The guest's kernel and initramfs live in the test's build directory: that is this
# cloud's storage directory.
start_controller --storage-image_dirs="$guest"
start agent-real "$MK_BUILD/maekin-agent" --bus-endpoint=$BUS --agent-hosts="real=$uri" \
    --agent-report_ms=300 --agent-domain_type=qemu --agent-console_dir="$T/consoles" \
    --agent-stop_timeout_s=5
eventually 20 "the host with a real libvirtd is up" is host real state up

expect_ok "a template that boots the kernel and initramfs" sh template create guest \
    --vcpus 1 --memory 256 --kernel "$guest/vmlinuz" --initrd "$guest/initrd.gz" \
    --cmdline console=ttyS0
expect_ok "vm create g1 --wait" sh vm create g1 --template guest --wait
[ "$(field vm g1 state)" = running ] || fail "g1 is $(field vm g1 state)"
ok "g1 is running"
[ "$(virsh -q -c "$uri" domstate g1 2>&1)" = running ] || fail "libvirt says g1 is $(virsh -q -c "$uri" domstate g1 2>&1)"
ok "libvirt agrees g1 is running"
booted() { grep -q MAEKIN-GUEST-BOOTED "$T/consoles/g1.log"; }
eventually 90 "g1's serial console shows the marker its init prints" booted

expect_ok "vm stop g1 --wait (graceful, forced after the agent's timeout)" sh vm stop g1 --wait
[ "$(field vm g1 state)" = stopped ] || fail "g1 is $(field vm g1 state) after stop"
[ "$(virsh -q -c "$uri" domstate g1 2>&1)" = "shut off" ] || fail "libvirt says g1 is $(virsh -q -c "$uri" domstate g1 2>&1)"
ok "g1 is stopped, and libvirt agrees"
expect_ok "vm delete g1 --wait" sh vm delete g1 --wait
[ -z "$(virsh -q -c "$uri" list --all --name 2>&1)" ] || fail "libvirt still has: $(virsh -q -c "$uri" list --all --name)"
ok "g1 is gone from libvirt"
expect_fail "and from the cloud" 1 "no VM named 'g1'" sh vm show g1
