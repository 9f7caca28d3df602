#!/bin/bash
# Issue 22's check by hand, too slow and too intrusive for make check: on a fresh Debian 12,
#   ../shared/tools/fresh-debian12 "bash tests/manual/install-node.sh"
# a master's broker and controller run here (from build/), and install/maekin-install.sh
# node runs for real, as root, as an administrator would run it: Debian's packages
# installed with apt-get, the user maekin made, /etc/maekin, /var/lib/maekin and the
# units written, the programs in /usr/bin, the node enrolled with its join token. A
# second run changes nothing. Then the node's agent and monitor run as their units say
# (ExecStartPre's check, then ExecStart, with the unit's user), the agent against a real
# libvirtd, and the host comes up in host list with its monitor's samples.
# Not for a machine you care about: it installs packages and writes /etc and /usr/bin.
set -u
cd "$(dirname "$0")/../.." || exit 2
[ "$(id -u)" = 0 ] || { echo "install-node.sh: run as root, on a scratch machine (fresh-debian12)" >&2; exit 2; }
make -s build/.deps && make -s programs -j"$(nproc)" || { echo "install-node.sh: cannot build" >&2; exit 1; }
MK_BUILD=build
. tests/integration/lib.bash
trap 'rc=$?; pkill -x libvirtd; cleanup $rc' EXIT

start_broker
# As a master's: its agents report every 10 s, so a host is down after 30 s without one.
start_controller --enrol-multicast_key="$KEYS/multicast.key" --controller-host_timeout_ms=30000
eventually 30 "the controller writes the first administrator's password" test -s "$T/admin-password"
out=$(sh host token node1) || fail "host token node1: $out"
token=$(awk '$1 == "token" { print $2 }' <<<"$out")
install_node() {
    install/maekin-install.sh node --no-start --master 127.0.0.1 --endpoint "$BUS" --name node1 \
        --token "$token" --broker-key "$KEYS/broker.key"
}

t0=$(date +%s)
install_node >"$T/install1.out" 2>&1 || fail "maekin-install.sh node: $(cat "$T/install1.out")"
log "the first run ($(($(date +%s) - t0)) s) said:"
cat "$T/install1.out" >&2
grep -qx "enrolled as host node1 at $BUS" "$T/install1.out" || fail "no enrolment in what it said"
for p in libvirt-daemon-system qemu-system-x86 libczmq4; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || fail "the package $p is not installed"
done
getent passwd maekin >/dev/null || fail "no user maekin"
for f in /etc/maekin/agent.cfg /etc/maekin/monitor.cfg /etc/maekin/keys/node1.key_secret \
    /etc/maekin/keys/broker.key /usr/bin/maekin-agent /usr/bin/maekin-monitor /var/lib/maekin/enrolled; do
    [ -e "$f" ] || fail "the install did not write $f"
done
[ -f /etc/systemd/system/maekin-agent.service ] && [ -f /etc/systemd/system/maekin-monitor.service ] \
    || fail "the agent's and the monitor's units are not installed"
cmp -s "$KEYS/multicast.key" /etc/maekin/keys/multicast.key || fail "the node has not the cloud's multicast key"
sh key list node1 | grep -q "node1 .*node.*node1" || fail "key list node1: $(sh key list node1)"
ok "maekin-install.sh node installs the packages, the user, the files and units, and enrols node1"

install_node >"$T/install2.out" 2>&1 || fail "the second run: $(cat "$T/install2.out")"
[ "$(cat "$T/install2.out")" = "nothing to change" ] || fail "the second run said: $(cat "$T/install2.out")"
ok "a second run changes nothing (and spends no token)"

# The units as systemd would run them (a chroot has no systemd).
unit_line() { sed -n "s/^$2=//p" "/etc/systemd/system/$1.service"; }
mkdir -p /run/libvirt
libvirtd -d || fail "libvirtd does not start"
eventually 30 "libvirtd answers" virsh -c qemu:///system version
for unit in maekin-agent maekin-monitor; do
    user=$(unit_line "$unit" User)
    as=()
    [ -z "$user" ] || as=(setpriv --reuid="$user" --regid="$user" --init-groups)
    pre=$(unit_line "$unit" ExecStartPre)
    [ -z "$pre" ] || "${as[@]}" ${pre#-} >"$T/$unit.pre" 2>&1 || fail "$unit's ExecStartPre: $(cat "$T/$unit.pre")"
    # shellcheck disable=SC2046
    start "$unit" "${as[@]}" $(unit_line "$unit" ExecStart)
done
eventually 60 "node1's agent, as its unit runs it, brings node1 up" is host node1 state up
out=$(timeout 60 "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-stream_out=$STREAM_OUT metrics tail --host node1 --count 1 2>&1) || fail "metrics tail --host node1: $out"
ok "node1 is up, on a real libvirtd, and its monitor's samples arrive: $(tail -n 1 <<<"$out")"
sh host list >&2
log "the agent was asked for a full report $(grep -c "asks for a full report" "$T/maekin-agent.log") times"
