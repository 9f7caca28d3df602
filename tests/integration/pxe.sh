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
# The broker listens where the nodes reach it, the bridge's address, as on a master.
BUS=tcp://10.66.0.1:$PORT STREAM_IN=tcp://10.66.0.1:$((PORT + 1)) STREAM_OUT=tcp://10.66.0.1:$((PORT + 2))
export MAEKIN_BUS=$BUS

start_broker
# The nodes are emulated machines running sanitized programs: their reports may come late.
start_controller --controller-host_timeout_ms=15000 --enrol-multicast_key="$KEYS/multicast.key"
eventually 30 "the controller writes the first administrator's password" test -s "$T/admin-password"
expect_ok "a pool for the nodes' network" sh pool create mgmt --network 10.66.0.0/24 --bridge mkbr0 \
    --gateway 10.66.0.1 --range 10.66.0.50-10.66.0.59
dhcp_keys
# maekin-dhcp as its unit runs it: not root, but a user of its own (here nobody) with the
# unit's ambient capabilities alone, which dnsmasq inherits; its files that user's.
caps=$(sed -n 's/^AmbientCapabilities=//p' "$MK_SRC/deploy/systemd/maekin-dhcp.service" \
    | tr ' ' '\n' | sed 's/^CAP_/+/' | tr 'A-Z' 'a-z' | paste -sd, -)
[ -n "$caps" ] || fail "maekin-dhcp's unit has no AmbientCapabilities"
mkdir -p "$T/dhcp"
chmod o+x "$T" "$KEYS"
chown nobody:nogroup "$T/dhcp" "$T/dhcp.key" "$KEYS/dhcp.key_secret"
start dhcp setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps="$caps" --ambient-caps="$caps" \
    "$MK_BUILD/maekin-dhcp" --bus-endpoint=$BUS --bus-stream_out=$STREAM_OUT $(bus_opts dhcp) \
    --dhcp-key_file="$T/dhcp.key" --dhcp-dir="$T/dhcp" --dhcp-resync_ms=60000
tftp=$T/dhcp/tftp
eventually 30 "maekin-dhcp makes its TFTP root" test -s "$tftp/boot.ipxe"
# What the master serves its nodes: a kernel, the node's image, the broker's public key.
# (dnsmasq's tftp-secure serves its user's files alone).
mkdir -p "$tftp/node" && cp "$guest/vmlinuz" "$KEYS/broker.key" "$tftp/node/"
bash "$MK_SRC/tests/guest/build-node.sh" "$guest" "$MK_BUILD" "$tftp/node/initrd.gz" >"$T/node-build.log" 2>&1 \
    || fail "building the node's image failed: $(tail -n 5 "$T/node-build.log")"
chown -R nobody:nogroup "$tftp/node"
ok "the node's image: $(tail -n 1 "$T/node-build.log")"

pxe() { "$MK_SRC/install/maekin-pxe" "$@" --maekinsh "$MK_BUILD/maekinsh" --tftp "$tftp"; }
expect_fail "maekin-pxe without --master" 2 "--master is needed" pxe add node30 --mac 52:54:00:aa:00:30 --pool mgmt
expect_fail "maekin-pxe with a MAC that is none" 1 "six pairs of hex digits" \
    pxe add node30 --mac 52:54:00:aa --pool mgmt --master 10.66.0.1
[ -z "$(ls "$tftp/maekin")" ] || fail "a refused add wrote: $(ls "$tftp/maekin")"
# add NAME MAC: the machine added as the administrator does, with nothing else by hand.
add() {
    local out script="$tftp/maekin/${2//:/-}.ipxe"
    out=$(pxe add "$1" --mac "${2^^}" --pool mgmt --master 10.66.0.1 --bus "$BUS" 2>&1) || fail "maekin-pxe add $1: $out"
    [ "$(stat -c %U:%a "$script")" = nobody:640 ] && ! grep -q "readable by every" <<<"$out" \
        || fail "$1's boot script is $(stat -c %U:%a "$script"), not maekin-dhcp's user's alone: $out"
    grep -q "^kernel tftp://\${next-server}/node/vmlinuz .*maekin.name=$1 maekin.token=mkj_[A-Za-z0-9_-]\{43\} maekin.master=10.66.0.1 maekin.bus=$BUS$" "$script" \
        || fail "$1's boot script: $(cat "$script")"
    ok "maekin-pxe adds $1 and writes its boot script: $out"
    eventually 30 "dnsmasq serves $1's binding, tagged to boot" grep -q "^$2,set:maekin-host,10.66.0." "$T/dhcp/hosts"
}

# power_on NAME MAC TAP MACHINE [firmware options]: a diskless QEMU machine of that type
# booting from its NIC.
power_on() {
    local name=$1 mac=$2 tap=$3 machine=$4
    shift 4
    rm -f "$T/$name.serial"
    start "qemu-$name" qemu-system-x86_64 -machine "$machine,accel=tcg" "$@" -m 1024 -nographic -no-reboot \
        -netdev tap,id=n0,ifname="$tap",script=no,downscript=no \
        -device virtio-net-pci,netdev=n0,mac="$mac" -boot n \
        -serial file:"$T/$name.serial" -monitor none -display none
}
said() { grep -q "$2" "$T/$1.serial" 2>/dev/null; }
# up NAME SERIAL: the node is up in host list, or its console said why not.
up() {
    said "$2" MAEKIN-NODE-FAILED && fail "$1 failed: $(grep -A5 MAEKIN-NODE-FAILED "$T/$2.serial")"
    is host "$1" state up
}

# BIOS: iPXE from Debian's ipxe-qemu, QEMU's default firmware.
add node30 52:54:00:aa:00:30
t0=$(date +%s%3N)
power_on bios 52:54:00:aa:00:30 mktap0 pc
eventually 300 "node30 boots from the network (BIOS), enrols and comes up" up node30 bios
ok "BIOS: node30 up $(( $(date +%s%3N) - t0 )) ms after power-on"
grep -q "Command line:.*maekin.name=node30 maekin.token=mkj_" "$T/bios.serial" \
    || fail "the kernel's command line lacks node30's name and token: $(grep 'Command line' "$T/bios.serial")"
grep -q "sent $tftp/maekin/52-54-00-aa-00-30.ipxe to 10.66.0.50" "$T/dhcp/dnsmasq.log" \
    && grep -q "sent $tftp/node/vmlinuz to 10.66.0.50" "$T/dhcp/dnsmasq.log" \
    || fail "dnsmasq's log does not show node30's files sent: $(grep tftp "$T/dhcp/dnsmasq.log" | tail -n 5)"
said bios "MAEKIN-NODE-ENROLLED enrolled: host node30, key 'node30'" \
    && said bios "^the cloud's multicast key is in /etc/maekin/keys/multicast.key" \
    || fail "node30's console: $(grep -A1 MAEKIN- "$T/bios.serial")"
ok "it took 10.66.0.50, boot.ipxe, its script, the kernel and image, enrolled with its token and was given the multicast key"
out=$(timeout 120 "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-stream_out=$STREAM_OUT metrics tail --host node30 --count 1 2>&1) \
    || fail "no metrics from node30's monitor: $out $(grep -A5 MAEKIN-NODE-FAILED "$T/bios.serial")"
ok "node30's monitor, multicast key and all, publishes its host's metrics: $(tail -n 1 <<<"$out")"
# Enrolled, it boots from its own disk from now on: its MAC keeps its address without a
# boot file, and its boot script, with the spent token in it, goes.
forgotten() {
    grep -qx "52:54:00:aa:00:30,10.66.0.50,infinite" "$T/dhcp/hosts" \
        && [ ! -e "$tftp/maekin/52-54-00-aa-00-30.ipxe" ]
}
eventually 30 "node30, enrolled, is given no boot file any more, and its boot script is gone" forgotten

# A MAC that was not added: no address, so no boot file.
power_on stranger 52:54:00:aa:00:99 mktap1 pc
asked() { [ "$(grep -c "DHCPDISCOVER(mkbr0) 52:54:00:aa:00:99 no address available" "$T/dhcp/dnsmasq.log")" -ge 2 ]; }
eventually 120 "a machine whose MAC was not added asks twice and is given no address" asked
stop qemu-stranger
grep -q "DHCPOFFER(mkbr0) .*52:54:00:aa:00:99" "$T/dhcp/dnsmasq.log" \
    && fail "the stranger was offered an address: $(grep 00:99 "$T/dhcp/dnsmasq.log" | tail -n 3)"
ok "a machine whose MAC was not added gets no address and no boot file"

# UEFI: OVMF, its variables a copy of Debian's empty store; another machine, node31.
add node31 52:54:00:aa:00:31
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$T/vars.fd"
t0=$(date +%s%3N)
power_on uefi 52:54:00:aa:00:31 mktap1 q35 \
    -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
    -drive if=pflash,format=raw,file="$T/vars.fd"
eventually 300 "node31 boots from the network (UEFI), enrols and comes up" up node31 uefi
ok "UEFI: node31 up $(( $(date +%s%3N) - t0 )) ms after power-on"
