#!/bin/bash
# A real guest takes its address from maekin-dhcp and cannot forge another's (issue 21).
# The cloud's node is a network namespace of its own with the pool's bridge mkbr0; in it a
# private libvirtd with QEMU (software emulation), the broker, the controller, an agent and
# maekin-dhcp with its dnsmasq. A VM of a VI with a pool boots the guest kit's kernel and
# initramfs, asks for its address with udhcpc and prints what it got on its serial console:
# the address `vm show` gives. A second VM, bound to an address of its own, takes the
# first's by hand: libvirt's clean-traffic filter on its bridge port (the agent asks for it)
# drops what it sends from that address, so it reaches nothing with it, while it does from
# its own. The same for a VM with an IPv6 address, under the agent's own filter.
set -u
srv=mk-gdhcp-$$
if [ "${MK_GUEST_DHCP_NS:-}" != 1 ]; then
    # Outside: the namespace made, the test run inside it, libvirtd and the namespace taken
    # away whatever happened inside.
    . "$(dirname "$0")/lib.bash"
    # Out here, where Debian's mirror is reached: dnsmasq, the guest kit's packages (libvirt,
    # QEMU, ebtables and libvirt's filters) and the guest.
    guest_kit "$MK_SRC/tests/dhcp-packages.txt"
    lv=$T/lv
    cleanup_ns() {
        bash "$MK_SRC/tests/guest/libvirtd.sh" stop "$lv" >/dev/null 2>&1
        ip netns del "$srv" 2>/dev/null
    }
    trap 'rc=$?; cleanup_ns; cleanup $rc' EXIT
    netns_with_bridge "$srv" mkbr0 10.88.0.1/24
    ip -n "$srv" addr add fd00:88::1/64 dev mkbr0 nodad
    MK_GUEST_DHCP_NS=1 MK_GUEST_DHCP_LV=$lv ip netns exec "$srv" bash "$0" "$@" || fail "inside the namespace"
    ok "the test inside the namespace"
    exit 0
fi
. "$(dirname "$0")/lib.bash"
lv=$MK_GUEST_DHCP_LV

guest=$(cd "${GUEST_DIR:-$MK_SRC/build/guest}" && pwd)
uri=$(bash "$MK_SRC/tests/guest/libvirtd.sh" start "$lv" 2>"$T/libvirtd-start.log") \
    || fail "the private libvirtd did not start: $(tail -n 5 "$T/libvirtd-start.log")"
uri=${uri##*$'\n'}
trap 'rc=$?; bash "$MK_SRC/tests/guest/libvirtd.sh" stop "$lv" >/dev/null 2>&1; cleanup $rc' EXIT
virsh -q -c "$uri" nwfilter-list 2>&1 | grep -q clean-traffic \
    || fail "libvirtd has no clean-traffic filter: $(virsh -q -c "$uri" nwfilter-list 2>&1 | head -n 3)"
ok "a private libvirtd in the node's namespace, with libvirt's network filters"

mkdir -p "$T/consoles"
start_broker
start_controller --storage-image_dirs="$guest"
eventually 30 "the controller writes the first administrator's password" test -s "$T/admin-password"
start agent-real "$MK_BUILD/maekin-agent" --bus-endpoint=$BUS --agent-hosts="real=$uri" $(node_key agent-real real) \
    --agent-report_ms=300 --agent-domain_type=qemu --agent-console_dir="$T/consoles" \
    --agent-stop_timeout_s=5
eventually 30 "the host with a real libvirtd is up" is host real state up

expect_ok "a pool on mkbr0" sh pool create lab --network 10.88.0.0/24 --bridge mkbr0 \
    --gateway 10.88.0.1 --dns 10.88.0.53 --range 10.88.0.100-10.88.0.110
expect_ok "a VI, lab, with it" sh vi create lab
expect_ok "lab's VMs take its addresses" sh vi pool lab --pool lab
expect_ok "a template whose guest asks DHCP for its address" sh template create dhcp-guest \
    --vcpus 1 --memory 256 --kernel "$guest/vmlinuz" --initrd "$guest/initrd.gz" \
    --cmdline "console=ttyS0 maekin.net=dhcp"
expect_ok "lab may use it" sh vi template add lab --template dhcp-guest

dhcp_keys
start dhcp "$MK_BUILD/maekin-dhcp" --bus-endpoint=$BUS --bus-stream_out=$STREAM_OUT $(bus_opts dhcp) \
    --dhcp-key_file="$T/dhcp.key" --dhcp-dir="$T/dhcp" --dhcp-resync_ms=60000

json() {
    local expr=$1
    shift
    sh --output json "$@" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$expr"
}
# A VM of a VI is the domain VI:NAME, and so is its console file.
console() { cat "$T/consoles/lab:$1.log" 2>/dev/null; }
says() { console "$1" | grep -q -- "$2"; }

# The first guest: its address over DHCP, the one the cloud bound to it.
expect_ok "vm create g1 --wait" sh vm create g1 --vi lab --template dhcp-guest --wait
ip1=$(json 'd.get("vm", d)["ip"]' vm show g1 --vi lab)
mac1=$(json 'd.get("vm", d)["mac"]' vm show g1 --vi lab)
[ "$ip1" = 10.88.0.100 ] || fail "g1's address: '$ip1'"
eventually 30 "dnsmasq serves g1's binding" grep -q "$mac1,$ip1" "$T/dhcp/hosts"
eventually 120 "g1's console says it asked DHCP" says g1 "MAEKIN-DHCP"
says g1 "MAEKIN-DHCP ip=$ip1/24 router=10.88.0.1 dns=10.88.0.53" \
    || fail "g1 was given $(console g1 | grep MAEKIN-DHCP), not $ip1/24 with the pool's gateway and DNS"
ok "g1's serial console shows $ip1/24, router 10.88.0.1, DNS 10.88.0.53: what vm show gives"
dumped=$(virsh -q -c "$uri" dumpxml lab:g1)
grep -q "filterref filter='clean-traffic'" <<<"$dumped" && grep -q "name='IP' value='$ip1'" <<<"$dumped" \
    || fail "g1's domain holds no clean-traffic filter with its address: $dumped"
[ -n "$(virsh -q -c "$uri" nwfilter-binding-list 2>&1 | grep clean-traffic)" ] \
    || fail "libvirt bound no filter to g1's port: $(virsh -q -c "$uri" nwfilter-binding-list 2>&1)"
ok "libvirt holds g1's port to clean-traffic with $ip1"

# The second guest: bound to an address of its own, it takes g1's by hand.
expect_ok "a template whose guest takes g1's address by hand" sh template create forger \
    --vcpus 1 --memory 256 --kernel "$guest/vmlinuz" --initrd "$guest/initrd.gz" \
    --cmdline "console=ttyS0 maekin.net=dhcp maekin.forge=$ip1"
expect_ok "lab may use it" sh vi template add lab --template forger
expect_ok "vm create g2 --wait" sh vm create g2 --vi lab --template forger --wait
ip2=$(json 'd.get("vm", d)["ip"]' vm show g2 --vi lab)
mac2=$(json 'd.get("vm", d)["mac"]' vm show g2 --vi lab)
[ -n "$ip2" ] && [ "$ip2" != "$ip1" ] || fail "g2's address: '$ip2'"
eventually 120 "g2's console says what it reached with its own address" says g2 "MAEKIN-OWN"
says g2 "MAEKIN-OWN $ip2 reached" || fail "g2 did not reach the bridge from its own address: $(console g2 | grep MAEKIN-)"
ok "g2 reaches the bridge from its own $ip2"
eventually 60 "g2's console says what it reached with g1's address" says g2 "MAEKIN-FORGED"
says g2 "MAEKIN-FORGED $ip1 unreached" || fail "g2 reached the bridge with g1's address: $(console g2 | grep MAEKIN-)"
ip neigh show "$ip1" dev mkbr0 | grep -qi "$mac2" && fail "the bridge took g2's MAC for $ip1: $(ip neigh show "$ip1" dev mkbr0)"
ok "g2 with g1's address $ip1 reaches nothing: its packets were dropped at its port"

# IPv6: libvirt's clean-traffic holds IPv4 alone (an IPv6 address in it fails the start),
# so the agent gives libvirt a filter of its own for a VM whose address is IPv6. The guest
# sets its address by hand (busybox has no DHCPv6 client: dhcp.sh serves a real one).
expect_ok "an IPv6 pool on the same bridge" sh pool create six --network fd00:88::/64 --bridge mkbr0 \
    --gateway fd00:88::1 --dns fd00:88::53 --range fd00:88::100-fd00:88::1ff
expect_ok "a VI, lab6, with it" sh vi create lab6
expect_ok "lab6's VMs take its addresses" sh vi pool lab6 --pool six
expect_ok "a template whose guest takes fd00:88::150, then fd00:88::151 by hand" sh template create forger6 \
    --vcpus 1 --memory 256 --kernel "$guest/vmlinuz" --initrd "$guest/initrd.gz" \
    --cmdline "console=ttyS0 maekin.ip6=fd00:88::150/64 maekin.gw6=fd00:88::1 maekin.forge6=fd00:88::151"
expect_ok "lab6 may use it" sh vi template add lab6 --template forger6
expect_ok "vm create g6 --ip fd00:88::150 --wait" sh vm create g6 --vi lab6 --template forger6 --ip fd00:88::150 --wait
[ "$(json 'd.get("vm", d)["ip"]' vm show g6 --vi lab6)" = fd00:88::150 ] || fail "g6's address: $(sh vm show g6 --vi lab6)"
dumped=$(virsh -q -c "$uri" dumpxml lab6:g6)
grep -q "filterref filter='maekin-clean-traffic-ipv6'" <<<"$dumped" && grep -q "name='IPV6' value='fd00:88::150'" <<<"$dumped" \
    || fail "g6's domain holds no IPv6 filter with its address: $dumped"
ok "g6 runs, its port held to maekin-clean-traffic-ipv6 with fd00:88::150"
console6() { cat "$T/consoles/lab6:g6.log" 2>/dev/null; }
eventually 120 "g6's console says what it reached with its own address" grep -q MAEKIN-OWN6 "$T/consoles/lab6:g6.log"
console6 | grep -q "MAEKIN-OWN6 fd00:88::150 reached" || fail "g6 did not reach the bridge from its own address: $(console6 | grep MAEKIN-)"
ok "g6 reaches the bridge from its own fd00:88::150"
eventually 60 "g6's console says what it reached with another address" grep -q MAEKIN-FORGED6 "$T/consoles/lab6:g6.log"
console6 | grep -q "MAEKIN-FORGED6 fd00:88::151 unreached" || fail "g6 reached the bridge with an address not its own: $(console6 | grep MAEKIN-)"
ok "g6 with fd00:88::151, not its own, reaches nothing"

for vm in g2 g1 lab6:g6; do
    vi=lab
    case $vm in *:*) vi=${vm%%:*}; vm=${vm#*:} ;; esac
    expect_ok "vm destroy $vm" sh vm destroy "$vm" --vi $vi --wait
    expect_ok "vm delete $vm" sh vm delete "$vm" --vi $vi --wait
done
[ -z "$(virsh -q -c "$uri" list --all --name 2>&1)" ] || fail "libvirt still has: $(virsh -q -c "$uri" list --all --name)"
[ -z "$(virsh -q -c "$uri" nwfilter-binding-list 2>&1)" ] \
    || fail "filter bindings left: $(virsh -q -c "$uri" nwfilter-binding-list 2>&1)"
ok "both guests gone, and their ports' filters with them"
