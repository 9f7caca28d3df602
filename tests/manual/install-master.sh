#!/bin/bash
# Issue 22's master install under a real systemd, by hand (minutes, and it needs
# systemd-nspawn): a minimal Debian 12 with systemd is booted in a container
# (systemd-nspawn, this machine's network), this tree is built inside it, and
# install/maekin-install.sh master runs for real: packages, the user maekin, /etc/maekin,
# the keys, the units started by systemd and the master's own keys admitted. Then:
# every unit active; the broker, the controller, the gateway, maekin-dhcp and its
# dnsmasq running as maekin; the master's host up; the gateway answering over HTTPS; a second run changing
# nothing; a machine added with maekin-pxe getting a boot script that is maekin-dhcp's
# alone; after the controller restarts (systemd keeps its state directory) a third run
# still changing nothing.
# usage (as root): tests/manual/install-master.sh     KEEP=1 leaves the container's root
set -u
cd "$(dirname "$0")/../.." || exit 2
src=$(pwd)
[ "$(id -u)" = 0 ] || { echo "install-master.sh: run as root" >&2; exit 2; }
say() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
ok() { say "ok: $*"; }
export DEBIAN_FRONTEND=noninteractive
for tool in systemd-nspawn:systemd-container debootstrap:debootstrap; do
    command -v "${tool%%:*}" >/dev/null || apt-get install -y -qq "${tool#*:}" >/dev/null \
        || fail "cannot install ${tool#*:}"
done

# A minimal Debian 12 with systemd, made once and kept; each run on an overlay of it.
base=/var/tmp/maekin-master-base
if [ ! -x $base/lib/systemd/systemd ]; then
    say "debootstrap of Debian 12 into $base (once)"
    rm -rf $base
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,git,make,ca-certificates,procps,iproute2 \
        bookworm $base http://deb.debian.org/debian >/var/tmp/maekin-master-base.log 2>&1 \
        || fail "debootstrap failed: see /var/tmp/maekin-master-base.log"
fi
w=$(mktemp -d /var/tmp/maekin-master.XXXXXX)
mkdir -p "$w"/{upper,work,root}
mount -t overlay overlay -o lowerdir=$base,upperdir="$w/upper",workdir="$w/work" "$w/root" \
    || fail "cannot mount the overlay"
nspawn=
cleanup() {
    [ -n "$nspawn" ] && kill -TERM "$nspawn" 2>/dev/null && wait "$nspawn" 2>/dev/null
    umount "$w/root" 2>/dev/null || umount -l "$w/root"
    [ -n "${KEEP:-}" ] && say "kept $w" || rm -rf "$w"
}
trap cleanup EXIT
# This machine's own certificate authorities (a site's proxy's), and the tree.
cp /usr/local/share/ca-certificates/*.crt "$w/root/usr/local/share/ca-certificates/" 2>/dev/null
chroot "$w/root" update-ca-certificates >/dev/null 2>&1
git clone -q "$src" "$w/root/root/main" || fail "cannot clone $src"

systemd-nspawn -q --register=no --keep-unit -D "$w/root" -M maekin-master -b >"$w/console.log" 2>&1 &
nspawn=$!
inside() { nsenter -t "$pid" -a "$@"; }
pid=
for _ in $(seq 600); do
    pid=$(pgrep -P "$nspawn" | head -n 1)
    [ -n "$pid" ] && inside systemctl is-system-running 2>/dev/null | grep -qE "running|degraded" && break
    sleep 0.1
done
inside systemctl is-system-running 2>/dev/null | grep -qE "running|degraded" \
    || fail "the container's systemd did not come up: $(tail -n 5 "$w/console.log")"
ok "Debian 12 booted with systemd in a container"

inside bash -c 'cd /root/main && deploy/deps.sh >/tmp/deps.log 2>&1 && make -s programs -j"$(nproc)" >/tmp/build.log 2>&1' \
    || fail "cannot build inside: $(inside tail -n 5 /tmp/build.log)"
ok "built inside"

run_install() { inside bash -c 'cd /root/main && install/maekin-install.sh master --name master1 2>&1 | grep -v ^debconf'; }
out=$(run_install) || fail "maekin-install.sh master: $out"
say "the first run said:"
echo "$out" >&2
units="maekin-broker maekin-controller maekin-gateway maekin-dhcp maekin-agent maekin-monitor"
active() { for unit in $units; do inside systemctl is-active --quiet "$unit" || return 1; done; }
for _ in $(seq 100); do active && break; sleep 0.1; done
active || fail "not every unit is active: $(inside systemctl --no-pager list-units 'maekin-*')"
ok "every unit is active"
as() { inside ps -o user= -C "$1" | sort -u; }
for program in maekin-broker maekin-controller maekin-gateway maekin-dhcp dnsmasq; do
    [ "$(as $program)" = maekin ] || fail "$program runs as '$(as $program)', not maekin"
done
ok "the broker, the controller, the gateway, maekin-dhcp and its dnsmasq run as maekin"
# The gateway serves HTTPS with the certificate the install made.
inside bash -c 'for i in $(seq 100); do
    code=$(curl -sk -o /dev/null -w "%{http_code}" https://127.0.0.1:8443/api/v1/session)
    [ "${code:-000}" != 000 ] && exit 0; sleep 0.1; done; exit 1' \
    || fail "the gateway does not answer over HTTPS: $(inside journalctl -u maekin-gateway --no-pager | tail -n 5)"
ok "the gateway answers over HTTPS on 8443"
maekinsh() {
    inside env MAEKINSH_CONFIG=/etc/maekin/maekinsh.cfg bash -c 'cd /tmp && /root/main/deploy/login-admin.sh /usr/bin tcp://127.0.0.1:7010 /var/lib/maekin/admin-password >/dev/null && maekinsh "$@"' _ "$@"
}
for _ in $(seq 300); do maekinsh host list 2>/dev/null | grep -q "^master1 *up" && break; sleep 0.1; done
maekinsh host list | grep -q "^master1 *up" || fail "master1 is not up: $(maekinsh host list 2>&1)"
ok "the master's own host is up"

[ "$(run_install)" = "nothing to change" ] || fail "the second run changed something"
ok "a second run changes nothing"

maekinsh pool create mgmt --network 10.66.0.0/24 --bridge mkbr0 --range 10.66.0.50-10.66.0.59 >/dev/null \
    || fail "pool create"
out=$(inside env MAEKINSH_CONFIG=/etc/maekin/maekinsh.cfg bash -c 'cd /tmp && /root/main/install/maekin-pxe add node7 --mac 52:54:00:aa:00:07 --pool mgmt --master 10.66.0.1 2>&1') \
    || fail "maekin-pxe add: $out"
script=/var/lib/maekin-dhcp/tftp/maekin/52-54-00-aa-00-07.ipxe
[ "$(inside stat -c %U:%a "$script")" = maekin:640 ] && ! grep -q "readable by every" <<<"$out" \
    || fail "the boot script is $(inside stat -c %U:%a "$script"): $out"
ok "a machine added with maekin-pxe has a boot script maekin-dhcp's user alone reads"

# The administrator's database commands, as root, leave nothing the controller cannot open.
inside env MAEKINSH_CONFIG=/etc/maekin/maekinsh.cfg maekinsh admin db status >/dev/null \
    || fail "admin db status: $(inside env MAEKINSH_CONFIG=/etc/maekin/maekinsh.cfg maekinsh admin db status 2>&1)"
inside systemctl restart maekin-controller maekin-dhcp || fail "cannot restart the controller"
for _ in $(seq 300); do maekinsh host list 2>/dev/null | grep -q "^master1 *up" && break; sleep 0.1; done
maekinsh host list | grep -q "^master1 *up" || fail "after admin db and a restart, master1 is not up: $(inside journalctl -u maekin-controller --no-pager | tail -n 5)"
[ "$(inside stat -c %U /var/lib/maekin-dhcp)" = maekin ] || fail "/var/lib/maekin-dhcp is not maekin's"
[ "$(run_install)" = "nothing to change" ] || fail "a run after the restarts changed something"
ok "after the controller and maekin-dhcp restart, a third run still changes nothing"
