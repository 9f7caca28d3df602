#!/bin/bash
# maekin-dhcp (issue 21) with a real dnsmasq and a real DHCP client: the cloud runs in a
# network namespace of its own (the controller's node), whose bridge mkbr0 is the pool's;
# a second namespace is a guest's NIC on that bridge (a veth), where busybox udhcpc asks
# with a VM's MAC. It gets exactly the bound address, gateway and DNS server; another
# VM's binding made later is served; a MAC no VM has gets nothing, nor a deleted VM's; a
# dnsmasq that dies is started again and serves, and the controller hears of it. An IPv6
# pool's VM gets its address over DHCPv6 (ISC's dhclient).
set -u
srv=mk-dhcp-srv-$$
cli=mk-dhcp-cli-$$
if [ "${MK_DHCP_NS:-}" != 1 ]; then
    # Outside: the namespaces made, the test run inside the cloud's, both taken away.
    . "$(dirname "$0")/lib.bash"
    "$MK_SRC/deploy/deps.sh" "$MK_SRC/tests/dhcp-packages.txt" >"$T/deps.log" 2>&1 \
        || fail "cannot install dnsmasq and busybox: $(tail -n 3 "$T/deps.log")"
    cleanup_ns() { ip netns del "$srv" 2>/dev/null; ip netns del "$cli" 2>/dev/null; }
    trap 'rc=$?; cleanup_ns; cleanup $rc' EXIT
    netns_with_bridge "$srv" mkbr0 10.88.0.1/24
    ip netns add "$cli" || fail "cannot make a network namespace (ip netns, as root)"
    ip -n "$cli" link set lo up
    ip -n "$srv" link add port0 type veth peer name eth0 netns "$cli" || fail "cannot make a veth"
    ip -n "$srv" link set port0 master mkbr0 up
    ip -n "$srv" addr add fd00:88::1/64 dev mkbr0 nodad
    # The guest's link-local address usable at once (DHCPv6 is asked from it).
    ip netns exec "$cli" sysctl -q -w net.ipv6.conf.eth0.accept_dad=0
    ip -n "$cli" link set eth0 up
    MK_DHCP_NS=1 MK_DHCP_CLI=$cli ip netns exec "$srv" bash "$0" "$@" || fail "inside the namespaces"
    ok "the test inside the namespaces"
    exit 0
fi
. "$(dirname "$0")/lib.bash"
cli=$MK_DHCP_CLI

start_tiny_cloud
expect_ok "a pool on mkbr0" sh pool create lab --network 10.88.0.0/24 --bridge mkbr0 \
    --gateway 10.88.0.1 --dns 10.88.0.53 --range 10.88.0.100-10.88.0.110
expect_ok "a VI, lab, with it" sh vi create lab
expect_ok "lab may use tiny" sh vi template add lab --template tiny
expect_ok "lab's VMs take its addresses" sh vi pool lab --pool lab
dhcp_keys

json() {
    local expr=$1
    shift
    sh --output json "$@" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$expr"
}
expect_ok "web-1 made" sh vm create web-1 --vi lab --template tiny --wait
mac1=$(json 'd.get("vm", d)["mac"]' vm show web-1 --vi lab)
ip1=$(json 'd.get("vm", d)["ip"]' vm show web-1 --vi lab)
[ "$ip1" = 10.88.0.100 ] || fail "web-1's address: $ip1"

# Bad settings: each refused at start, saying what to do.
expect_fail "dhcp: no API key" 2 "dhcp/key_file is needed.*apikey create" "$MK_BUILD/maekin-dhcp" -n $(bus_opts dhcp)
cp "$T/dhcp.key" "$T/open.key" && chmod 644 "$T/open.key"
expect_fail "dhcp: a key others may read" 2 "chmod 600" "$MK_BUILD/maekin-dhcp" -n $(bus_opts dhcp) \
    --dhcp-key_file="$T/open.key"
expect_fail "dhcp: a resync too often" 2 "resync_ms must be 1000 to 3600000" "$MK_BUILD/maekin-dhcp" -n \
    $(bus_opts dhcp) --dhcp-key_file="$T/dhcp.key" --dhcp-resync_ms=10
expect_fail "dhcp: a dnsmasq that is none" 2 "cannot be run.*dnsmasq-base" "$MK_BUILD/maekin-dhcp" -n \
    $(bus_opts dhcp) --dhcp-key_file="$T/dhcp.key" --dhcp-dnsmasq=/nowhere/dnsmasq

start dhcp "$MK_BUILD/maekin-dhcp" --bus-endpoint=$BUS --bus-stream_out=$STREAM_OUT $(bus_opts dhcp) \
    --dhcp-key_file="$T/dhcp.key" --dhcp-dir="$T/dhcp" --dhcp-resync_ms=60000
eventually 30 "dnsmasq serves web-1's binding" grep -q "$mac1,10.88.0.100" "$T/dhcp/hosts"
dnsmasq_pid() { pgrep -f -- "--conf-file=$T/dhcp/dnsmasq.conf" | head -n 1; }
eventually 30 "dnsmasq runs" test -n "$(dnsmasq_pid)"

# ask MAC: udhcpc in the guest's namespace with that MAC; what it was given, in
# $T/lease ("ip router dns"), or fails.
cat >"$T/udhcpc.script" <<EOF
#!/bin/sh
[ "\$1" = bound ] && echo "\$ip \$router \$dns" > "$T/lease"
exit 0
EOF
chmod +x "$T/udhcpc.script"
ask() {
    rm -f "$T/lease"
    ip -n "$cli" link set eth0 down
    ip -n "$cli" link set eth0 address "$1"
    ip -n "$cli" link set eth0 up
    ip netns exec "$cli" busybox udhcpc -i eth0 -n -q -f -t 4 -T 1 -s "$T/udhcpc.script" >"$T/udhcpc.log" 2>&1 \
        && [ -s "$T/lease" ]
}
asked() { ask "$1" && [ "$(cat "$T/lease")" = "$2" ]; }
eventually 30 "web-1's MAC gets 10.88.0.100, its gateway and DNS server" asked "$mac1" "10.88.0.100 10.88.0.1 10.88.0.53"

ask 52:54:00:ff:ff:01 && fail "a MAC no VM has got $(cat "$T/lease")"
ok "a MAC no VM has gets nothing"

# IPv6: a pool on the same bridge, its VM's MAC asks with ISC's dhclient (a script of ours:
# the machine's resolv.conf is left alone).
expect_ok "an IPv6 pool on mkbr0" sh pool create six --network fd00:88::/64 --bridge mkbr0 \
    --gateway fd00:88::1 --dns fd00:88::53 --range fd00:88::100-fd00:88::1ff
expect_ok "a VI, lab6, with it" sh vi create lab6
expect_ok "lab6 may use tiny" sh vi template add lab6 --template tiny
expect_ok "lab6's VMs take its addresses" sh vi pool lab6 --pool six
expect_ok "v6-1 made" sh vm create v6-1 --vi lab6 --template tiny --wait
mac6=$(json 'd.get("vm", d)["mac"]' vm show v6-1 --vi lab6)
[ "$(json 'd.get("vm", d)["ip"]' vm show v6-1 --vi lab6)" = fd00:88::100 ] || fail "v6-1's address: $(sh vm show v6-1 --vi lab6)"
cat >"$T/dhclient6.script" <<EOF
#!/bin/sh
[ "\$reason" = BOUND6 ] && echo "\$new_ip6_address \$new_dhcp6_name_servers" > "$T/lease6"
exit 0
EOF
chmod +x "$T/dhclient6.script"
echo "timeout 8;" >"$T/dhclient6.conf"   # a MAC refused: given up after 8 s, not 60
# ask6 MAC: dhclient -6 in the guest's namespace with that MAC, once; what it was given in
# $T/lease6 ("address dns"), or fails.
ask6() {
    rm -f "$T/lease6" "$T/dhclient6.leases"
    ip -n "$cli" link set eth0 down
    ip -n "$cli" link set eth0 address "$1"
    ip -n "$cli" link set eth0 up
    ip netns exec "$cli" timeout 30 dhclient -6 -1 -v -cf "$T/dhclient6.conf" -sf "$T/dhclient6.script" -lf "$T/dhclient6.leases" \
        -pf "$T/dhclient6.pid" eth0 >"$T/dhclient6.out" 2>&1
    # Bound, it went on in the background to renew: stopped.
    [ -s "$T/dhclient6.pid" ] && kill "$(cat "$T/dhclient6.pid")" 2>/dev/null
    rm -f "$T/dhclient6.pid"
    [ -s "$T/lease6" ]
}
asked6() { ask6 "$1" && [ "$(cat "$T/lease6")" = "$2" ]; }
eventually 30 "v6-1's MAC gets fd00:88::100 and its DNS server over DHCPv6" asked6 "$mac6" "fd00:88::100 fd00:88::53"
ask6 52:54:00:ff:ff:02 && fail "a MAC no VM has got $(cat "$T/lease6") over DHCPv6"
grep -q "no addresses available" "$T/dhcp/dnsmasq.log" || fail "dnsmasq did not refuse the unknown MAC: $(tail -n 5 "$T/dhcp/dnsmasq.log")"
ok "a MAC no VM has gets no address over DHCPv6 either"

# A pool whose bridge is not there (yet) does not stop the others being served.
expect_ok "a pool on a bridge not there" sh pool create later --network 10.89.0.0/24 --bridge mkbr9 \
    --range 10.89.0.10-10.89.0.20

# A binding made now is served.
expect_ok "web-2 made with 10.88.0.107" sh vm create web-2 --vi lab --template tiny --ip 10.88.0.107 --wait
mac2=$(json 'd.get("vm", d)["mac"]' vm show web-2 --vi lab)
eventually 30 "web-2's MAC gets 10.88.0.107" asked "$mac2" "10.88.0.107 10.88.0.1 10.88.0.53"
grep -q "interface mkbr9 does not currently exist" "$T/dhcp/dnsmasq.log" \
    || fail "dnsmasq was not given the pool on mkbr9: $(grep -c mkbr9 "$T/dhcp/dnsmasq.conf") lines of its configuration name it"
ok "a pool whose bridge is not there does not stop dnsmasq serving the others (it waits for the bridge)"

# A deleted VM's MAC gets nothing.
expect_ok "web-1 stopped" sh vm stop web-1 --vi lab --wait
expect_ok "web-1 deleted" sh vm delete web-1 --vi lab --wait
unbound() { ! grep -q "$mac1" "$T/dhcp/hosts"; }
eventually 30 "web-1's binding leaves the hosts file" unbound
ask "$mac1" && fail "the deleted web-1's MAC got $(cat "$T/lease")"
ok "a deleted VM's MAC gets nothing"

# dnsmasq killed: started again, serving the same.
old=$(dnsmasq_pid)
kill -KILL "$old"
restarted() { local now; now=$(dnsmasq_pid); [ -n "$now" ] && [ "$now" != "$old" ]; }
eventually 30 "dnsmasq is started again" restarted
eventually 30 "... and serves web-2" asked "$mac2" "10.88.0.107 10.88.0.1 10.88.0.53"
grep -q "dnsmasq (pid $old) was killed by signal 9" "$T/dhcp.log" || fail "the death was not logged: $(tail -n 3 "$T/dhcp.log")"
ok "a dnsmasq killed is said in the log, started again, and serves"
# ... and the controller heard of it: in its log and its audit log.
node=$(hostname -s)
heard() {
    sh audit list | grep "service_report" | grep "dhcp@$node" | grep -q "dnsmasq (pid $old) was killed by signal 9"
}
eventually 30 "the controller's audit log has maekin-dhcp's report" heard
grep -q "dhcp on $node says: dnsmasq (pid $old) was killed by signal 9" "$T/controller.log" \
    || fail "the controller's log does not say it: $(grep service "$T/controller.log" | tail -n 3)"
ok "the controller heard of it: $(sh audit list | grep service_report | head -n 1)"

# The controller away: dnsmasq keeps serving what it has; back, new bindings are served.
stop controller
eventually 30 "with the controller away, web-2 is still served" asked "$mac2" "10.88.0.107 10.88.0.1 10.88.0.53"
# dnsmasq dies while the controller is away: started again at once, and the report waits.
old=$(dnsmasq_pid)
kill -KILL "$old"
eventually 30 "with the controller away, a killed dnsmasq is started again" restarted
start_controller
eventually 30 "the report made while the controller was away reaches it once it is back" heard
eventually 30 "the controller serves again" sh vm show web-2 --vi lab
eventually 30 "node1's agent has reported to it" is host node1 state up
expect_ok "web-3 made once it is back" sh vm create web-3 --vi lab --template tiny --wait
mac3=$(json 'd.get("vm", d)["mac"]' vm show web-3 --vi lab)
ip3=$(json 'd.get("vm", d)["ip"]' vm show web-3 --vi lab)
# web-1's address, given back at its delete, is the lowest free: dnsmasq forgot web-1's
# lease of it (a lease is infinite), or it would not answer web-3.
[ "$ip3" = 10.88.0.100 ] || fail "web-3's address: $ip3, not web-1's old 10.88.0.100"
eventually 60 "web-3's MAC gets web-1's old address 10.88.0.100" asked "$mac3" "10.88.0.100 10.88.0.1 10.88.0.53"
