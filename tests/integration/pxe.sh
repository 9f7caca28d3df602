#!/bin/bash
# A machine added to be a host boots from the network (issue 22): the master's node is a
# network namespace of its own with the nodes' bridge mkbr0, where the programs and
# maekin-dhcp with its dnsmasq run. install/maekin-pxe adds the machine (its MAC bound to
# an address, a join token) and writes its boot script; a diskless QEMU machine with
# that MAC and no configuration (software emulation) gets its address, iPXE (QEMU's NIC
# firmware) is given boot.ipxe, which chains the machine's script, and the kernel and
# initramfs it names boot with the host's name and token on their command line: once
# with BIOS, once with UEFI (OVMF). A machine whose MAC was not added gets nothing.
set -u
srv=mk-pxe-$$
if [ "${MK_PXE_NS:-}" != 1 ]; then
    # Out here, where Debian's mirror is reached: dnsmasq, QEMU with iPXE and OVMF, the
    # guest kit's kernel and initramfs (which play the node's image).
    . "$(dirname "$0")/lib.bash"
    guest_kit "$MK_SRC/tests/dhcp-packages.txt" "$MK_SRC/tests/pxe-packages.txt"
    trap 'rc=$?; ip netns del "$srv" 2>/dev/null; cleanup $rc' EXIT
    netns_with_bridge "$srv" mkbr0 10.66.0.1/24
    for tap in 0 1; do
        ip -n "$srv" tuntap add dev "mktap$tap" mode tap && ip -n "$srv" link set "mktap$tap" master mkbr0 up \
            || fail "cannot make a tap device"
    done
    MK_PXE_NS=1 ip netns exec "$srv" bash "$0" "$@" || fail "inside the namespace"
    ok "the test inside the namespace"
    exit 0
fi
. "$(dirname "$0")/lib.bash"
guest=$(cd "${GUEST_DIR:-$MK_SRC/build/guest}" && pwd)

start_tiny_cloud
expect_ok "a pool for the nodes' network" sh pool create mgmt --network 10.66.0.0/24 --bridge mkbr0 \
    --gateway 10.66.0.1 --range 10.66.0.50-10.66.0.59
dhcp_keys
start dhcp "$MK_BUILD/maekin-dhcp" --bus-endpoint=$BUS --bus-stream_out=$STREAM_OUT $(bus_opts dhcp) \
    --dhcp-key_file="$T/dhcp.key" --dhcp-dir="$T/dhcp" --dhcp-resync_ms=60000
tftp=$T/dhcp/tftp
eventually 30 "maekin-dhcp makes its TFTP root" test -s "$tftp/boot.ipxe"
mkdir -p "$tftp/node" && cp "$guest/vmlinuz" "$guest/initrd.gz" "$tftp/node/"

mac=52:54:00:aa:00:30
pxe() { "$MK_SRC/install/maekin-pxe" "$@" --maekinsh "$MK_BUILD/maekinsh" --tftp "$tftp"; }
expect_fail "maekin-pxe without --master" 2 "--master is needed" pxe add node30 --mac $mac --pool mgmt
expect_fail "maekin-pxe with a MAC that is none" 1 "six pairs of hex digits" \
    pxe add node30 --mac 52:54:00:aa --pool mgmt --master 10.66.0.1
[ -z "$(ls "$tftp/maekin")" ] || fail "a refused add wrote: $(ls "$tftp/maekin")"
out=$(pxe add node30 --mac 52:54:00:AA:00:30 --pool mgmt --master 10.66.0.1) || fail "maekin-pxe add: $out"
script=$tftp/maekin/52-54-00-aa-00-30.ipxe
grep -q "^kernel tftp://\${next-server}/node/vmlinuz .*maekin.name=node30 maekin.token=mkj_[A-Za-z0-9_-]\{43\} maekin.master=10.66.0.1$" "$script" \
    || fail "node30's boot script: $(cat "$script")"
ok "maekin-pxe adds node30 and writes its boot script: $out"
eventually 30 "dnsmasq serves node30's binding, tagged to boot" grep -q "^$mac,set:maekin-host,10.66.0.50," "$T/dhcp/hosts"

# power_on NAME MAC TAP MACHINE [firmware options]: a diskless QEMU machine of that type
# booting from its NIC.
power_on() {
    local name=$1 mac=$2 tap=$3 machine=$4
    shift 4
    rm -f "$T/$name.serial"
    start "qemu-$name" qemu-system-x86_64 -machine "$machine,accel=tcg" "$@" -m 512 -nographic -no-reboot \
        -netdev tap,id=n0,ifname="$tap",script=no,downscript=no \
        -device virtio-net-pci,netdev=n0,mac="$mac" -boot n \
        -serial file:"$T/$name.serial" -monitor none -display none
}
booted() { grep -q MAEKIN-GUEST-BOOTED "$T/$1.serial" 2>/dev/null; }
# The kernel's own command line, as the node's image reads it.
cmdline_has() { grep -q "Command line:.*maekin.name=node30 maekin.token=mkj_" "$T/$1.serial"; }

# BIOS: iPXE from Debian's ipxe-qemu, QEMU's default firmware.
t0=$(date +%s%3N)
power_on bios $mac mktap0 pc
eventually 240 "node30 boots from the network with BIOS" booted bios
ok "BIOS: power-on to the image's init in $(( $(date +%s%3N) - t0 )) ms"
cmdline_has bios || fail "the kernel's command line lacks node30's name and token: $(grep 'Command line' "$T/bios.serial")"
grep -q "sent $tftp/maekin/52-54-00-aa-00-30.ipxe to 10.66.0.50" "$T/dhcp/dnsmasq.log" \
    && grep -q "sent $tftp/node/vmlinuz to 10.66.0.50" "$T/dhcp/dnsmasq.log" \
    || fail "dnsmasq's log does not show node30's files sent: $(grep tftp "$T/dhcp/dnsmasq.log" | tail -n 5)"
ok "it took its address 10.66.0.50, boot.ipxe, its own script, the kernel and initramfs"
stop qemu-bios

# A MAC that was not added: no address, so no boot file.
power_on stranger 52:54:00:aa:00:99 mktap1 pc
asked() { [ "$(grep -c "DHCPDISCOVER(mkbr0) 52:54:00:aa:00:99 no address available" "$T/dhcp/dnsmasq.log")" -ge 2 ]; }
eventually 120 "a machine whose MAC was not added asks twice and is given no address" asked
stop qemu-stranger
grep -q "DHCPOFFER(mkbr0) .*52:54:00:aa:00:99" "$T/dhcp/dnsmasq.log" \
    && fail "the stranger was offered an address: $(grep 00:99 "$T/dhcp/dnsmasq.log" | tail -n 3)"
booted stranger && fail "the stranger booted"
ok "a machine whose MAC was not added gets no address and no boot file"

# UEFI: OVMF, its variables a copy of Debian's empty store.
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$T/vars.fd"
t0=$(date +%s%3N)
power_on uefi $mac mktap0 q35 \
    -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
    -drive if=pflash,format=raw,file="$T/vars.fd"
eventually 300 "node30 boots from the network with UEFI" booted uefi
ok "UEFI: power-on to the image's init in $(( $(date +%s%3N) - t0 )) ms"
cmdline_has uefi || fail "the kernel's command line lacks node30's name and token (UEFI)"
stop qemu-uefi
