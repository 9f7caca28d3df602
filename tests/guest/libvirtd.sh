#!/bin/bash
# A private libvirtd (QEMU driver) and virtlogd for tests, leaving any system instance alone.
#
#   uri=$(tests/guest/libvirtd.sh start DIR)   # stdout: only the URI, e.g.
#                                              # qemu:///system?socket=DIR/run/libvirt-sock
#   virsh -c "$uri" ...
#   tests/guest/libvirtd.sh stop DIR           # destroys its domains, stops the daemons
#
# The daemons run in a mount namespace of their own where DIR's subdirectories are bound over
# libvirt's fixed system paths, so their config, sockets, state, caches and logs all live in
# DIR and two runs with different DIRs never meet:
#   DIR/etc -> /etc/libvirt        config (libvirtd.conf, qemu.conf, virtlogd.conf), domain XML,
#                                  network filters (copies of the machine's /etc/libvirt/nwfilter)
#   DIR/run -> /run/libvirt        sockets, running-domain state, QEMU pid files
#   DIR/lib -> /var/lib/libvirt    per-domain QEMU monitor sockets
#   DIR/cache -> /var/cache/libvirt  QEMU capability cache
#   DIR/log -> /var/log/libvirt    QEMU logs: DIR/log/qemu/NAME.log
# Daemon logs: DIR/libvirtd.log, DIR/virtlogd.log. The URI is also written to DIR/uri.
# File paths in domain XML (kernel, initrd, serial files) are seen by QEMU as on the host,
# except under the five system paths above.
# If the machine has no user 'libvirt-qemu', private copies of /etc/passwd and /etc/group that
# have it are bound too. The machine gets only the five mount points, as empty directories.
# start on a DIR that is running answers with its URI; start on a stale DIR (daemons killed,
# guests left over) cleans it first. stop keeps the logs; the caller removes DIR.
# Environment: LIBVIRTD_START_TIMEOUT (s, default 60: an uncached first start probes QEMU for
# about 8 s), QEMU_CAPS_CACHE (shared QEMU capability cache, default build/libvirt-qemu-caps).
set -eu
. "$(dirname "$0")/common.sh"

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] && [ -n "$2" ] || usage
[[ $2 =~ ^[A-Za-z0-9/._+-]+$ ]] || die "DIR '$2' must contain only letters, digits and / . _ + - (it goes into a URI)"
action=$1
case $action in start|stop) ;; *) usage ;; esac
[ "$(id -u)" -eq 0 ] || die "must run as root (private mount namespace, QEMU as root)"

if [ "$action" = stop ] && [ ! -d "$2" ]; then exit 0; fi
mkdir -p "$2" || die "cannot create $2"
d=$(cd "$2" && pwd -P)
[ "$d" != / ] || die "refusing to use / as DIR"
[[ $d =~ ^/[A-Za-z0-9/._+-]+$ ]] || die "DIR '$d' must contain only letters, digits and / . _ + - (it goes into a URI)"
[ ${#d} -le 80 ] || die "DIR '$d' is too long for a unix socket path (at most 80 characters)"
marker="$d/.maekin-libvirtd"
if [ ! -e "$marker" ]; then
    [ "$action" = stop ] && exit 0
    [ -z "$(ls -A "$d")" ] || die "DIR '$d' is not empty and was not made by $0; give an empty or new directory"
fi
uri="qemu:///system?socket=$d/run/libvirt-sock"
# name in the daemon's namespace : name in DIR
binds="etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt cache:/var/cache/libvirt log:/var/log/libvirt"

# pid in FILE if that process is alive (not a zombie) and its command name starts with NAME
pid_from() {
    local f=$1 name=$2 pid comm
    [ -s "$f" ] || return 1
    pid=$(tr -dc 0-9 <"$f")
    [ -n "$pid" ] && alive "$pid" || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    case $comm in "$name"*) echo "$pid" ;; *) return 1 ;; esac
}
alive() {
    local st
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "${st%% *}" != Z ]
}
# true if the daemon answers with its QEMU driver within $1 seconds (default 5)
answers() { timeout "${1:-5}" virsh -q -c "$uri" version 2>/dev/null | grep -q 'hypervisor: QEMU'; }

# Destroys the domains, then ends libvirtd, virtlogd, QEMU and anything else in their private
# mount namespace (only this script puts processes there), first politely, then with KILL.
stop_all() {
    local lpid pids="" p ns nss="" self_ns dom i
    self_ns=$(readlink /proc/$$/ns/mnt)
    if lpid=$(pid_from "$d/libvirtd.pid" libvirtd) && answers; then
        for dom in $(timeout 15 virsh -q -c "$uri" list --name 2>/dev/null); do
            timeout 15 virsh -q -c "$uri" destroy "$dom" >/dev/null 2>&1 || say "could not destroy domain $dom; killing it"
        done
    fi
    for p in $(pid_from "$d/libvirtd.pid" libvirtd) $(pid_from "$d/virtlogd.pid" virtlogd); do
        pids="$pids $p"
    done
    for f in "$d"/run/qemu/*.pid; do
        [ -e "$f" ] || continue
        p=$(pid_from "$f" qemu-system) && pids="$pids $p"
    done
    for p in $pids; do
        ns=$(readlink "/proc/$p/ns/mnt" 2>/dev/null) || continue
        [ "$ns" != "$self_ns" ] && case " $nss " in *" $ns "*) ;; *) nss="$nss $ns" ;; esac
    done
    for ns in $nss; do
        for p in /proc/[0-9]*; do
            [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] && pids="$pids ${p#/proc/}"
        done
    done
    pids=$(echo $pids | tr ' ' '\n' | sort -un | tr '\n' ' ')
    [ -n "${pids// /}" ] || return 0
    kill -TERM $pids 2>/dev/null || true
    for i in $(seq 100); do                       # up to 10 s
        left=""; for p in $pids; do alive "$p" && left="$left $p"; done
        [ -n "$left" ] || return 0
        sleep 0.1
    done
    say "still running after 10 s, killing:$left"
    pids=$left
    kill -KILL $pids 2>/dev/null || true
    for i in $(seq 50); do
        left=""; for p in $pids; do alive "$p" && left="$left $p"; done
        [ -n "$left" ] || return 0
        sleep 0.1
    done
    die "processes$left would not die"
}

clean_state() {   # everything but the logs
    rm -rf "$d/etc" "$d/run" "$d/lib" "$d/cache" "$d/libvirtd.pid" "$d/virtlogd.pid" "$d/uri" \
           "$d/passwd" "$d/group"
}

if [ "$action" = stop ]; then
    stop_all
    clean_state
    exit 0
fi

# ---- start
if pid_from "$d/libvirtd.pid" libvirtd >/dev/null && answers; then
    echo "$uri"; exit 0
fi
guest_need_packages
for b in $binds; do
    [ -d "${b#*:}" ] || mkdir -p "${b#*:}" || die "cannot create mount point ${b#*:}"
done
command -v unshare >/dev/null || die "unshare (util-linux) not found"
stop_all
clean_state
rm -rf "$d/log" "$d/libvirtd.log" "$d/virtlogd.log" "$d/daemon.out"
touch "$marker"
mkdir -p "$d/etc" "$d/run" "$d/lib" "$d/cache/qemu/capabilities" "$d/log"
# libvirt's own network filters (clean-traffic and those it uses), as a system instance has
# them from libvirt-daemon-config-nwfilter: a VM on an IP pool's bridge refers to clean-traffic.
if [ -d /etc/libvirt/nwfilter ]; then
    mkdir -p "$d/etc/nwfilter"
    cp /etc/libvirt/nwfilter/*.xml "$d/etc/nwfilter/" || die "cannot copy libvirt's network filters"
fi
# libvirtd probes every QEMU binary at start (about 7 s on our machines). Its results are
# kept in a shared cache, seeded into each private instance; libvirtd itself checks them
# against the QEMU binaries, libvirt and the kernel, and probes again when they are stale.
caps=${QEMU_CAPS_CACHE:-$guest_repo_dir/build/libvirt-qemu-caps}
if [ -d "$caps" ]; then
    cp "$caps"/*.xml "$d/cache/qemu/capabilities/" 2>/dev/null || true
fi

cat >"$d/etc/libvirtd.conf" <<EOF
# Private test instance made by tests/guest/libvirtd.sh. $d/run is /run/libvirt for the daemon.
unix_sock_dir = "$d/run"
unix_sock_rw_perms = "0700"
unix_sock_ro_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
listen_tls = 0
listen_tcp = 0
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
log_outputs = "3:file:$d/libvirtd.log"
EOF
cat >"$d/etc/qemu.conf" <<EOF
# Private test instance made by tests/guest/libvirtd.sh: QEMU as root, no labels, no cgroups.
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
EOF
cat >"$d/etc/virtlogd.conf" <<EOF
log_outputs = "3:file:$d/virtlogd.log"
EOF

# libvirtd's QEMU driver looks up its built-in user and group 'libvirt-qemu' before it reads
# qemu.conf, and fails without them (user = "root" there does not help). Rather than install
# libvirt-daemon-system (which would start system daemons) or add users to the machine, the
# daemons get private copies of /etc/passwd and /etc/group that have them.
filebinds=""
if ! getent passwd libvirt-qemu >/dev/null || ! getent group libvirt-qemu >/dev/null; then
    cp /etc/passwd "$d/passwd"; cp /etc/group "$d/group"
    grep -q '^libvirt-qemu:' "$d/group" || echo 'libvirt-qemu:x:64055:' >>"$d/group"
    grep -q '^libvirt-qemu:' "$d/passwd" ||
        echo 'libvirt-qemu:x:64055:64055:libvirt QEMU (maekin tests):/var/lib/libvirt:/usr/sbin/nologin' >>"$d/passwd"
    filebinds="passwd:/etc/passwd group:/etc/group"
fi

t0=$(now_ms)
# The namespace lives as long as a process is in it; both daemons fork into the background.
if ! MK_D="$d" MK_BINDS="$binds $filebinds" timeout 30 unshare -m --propagation private /bin/sh -c '
    set -e
    for b in $MK_BINDS; do mount --bind "$MK_D/${b%%:*}" "${b#*:}"; done
    virtlogd -d -f /etc/libvirt/virtlogd.conf -p "$MK_D/virtlogd.pid"
    libvirtd -d -f /etc/libvirt/libvirtd.conf -p "$MK_D/libvirtd.pid"
' >"$d/daemon.out" 2>&1; then
    cat "$d/daemon.out" >&2
    [ -e "$d/libvirtd.log" ] && tail -n 20 "$d/libvirtd.log" >&2
    stop_all || true
    die "could not start the daemons in a private mount namespace (see above)"
fi
# A first start probes the QEMU binaries (about 8 s); later ones answer in well under 1 s.
limit=${LIBVIRTD_START_TIMEOUT:-60}
deadline=$(( t0 + limit * 1000 ))
ok=""
while left=$(( (deadline - $(now_ms)) / 1000 )) && [ "$left" -ge 1 ]; do
    if answers "$left"; then ok=1; break; fi
    pid_from "$d/libvirtd.pid" libvirtd >/dev/null || break
    sleep 0.2
done
if [ -z "$ok" ]; then
    echo "---- $d/daemon.out:" >&2; cat "$d/daemon.out" >&2
    echo "---- tail of $d/libvirtd.log:" >&2; tail -n 30 "$d/libvirtd.log" >&2 2>/dev/null || true
    stop_all || true
    die "libvirtd did not answer 'virsh -c $uri version' with its QEMU driver within $limit s"
fi
echo "$uri" >"$d/uri"
if mkdir -p "$caps" 2>/dev/null; then
    for f in "$d"/cache/qemu/capabilities/*.xml; do
        [ -e "$f" ] || continue
        cmp -s "$f" "$caps/${f##*/}" && continue
        cp "$f" "$caps/.${f##*/}.$$" && mv -f "$caps/.${f##*/}.$$" "$caps/${f##*/}" || true
    done
fi
say "libvirtd ready in $(( $(now_ms) - t0 )) ms (pid $(cat "$d/libvirtd.pid")), logs in $d"
echo "$uri"
