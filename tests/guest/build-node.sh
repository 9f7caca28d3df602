#!/bin/bash
# Builds the image a node boots over the network in the tests (issue 22): the guest kit's
# initramfs (busybox, virtio modules) with a second archive laid over it, holding the
# Maekin programs of BUILD (maekin-agent, maekin-monitor, maekinsh) with every library
# they load, a test-driver node file, and an /init that plays the installed node:
#   network by DHCP (udhcpc) on eth0; the broker's public key fetched from the master
#   over TFTP (node/broker.key); the node's own key pair made; enrolled with the join
#   token of its kernel command line (maekin.name, maekin.token, maekin.master and
#   maekin.bus, as install/maekin-pxe writes them), keeping the cloud's multicast key the
#   enrolment gives; then the agent (libvirt's test driver: the image has no hypervisor)
#   and the monitor (multicast from its address with that key, if given) started with
#   its key.
# On the serial console: MAEKIN-NODE-NET ip=A, MAEKIN-NODE-ENROLLED (or
# MAEKIN-NODE-FAILED what), MAEKIN-NODE-STARTED.
# The kernel unpacks the two archives in turn; the second's /init replaces the first's.
# usage: tests/guest/build-node.sh GUEST_DIR BUILD OUT   (OUT: the image, gzip'd cpio)
set -eu
. "$(dirname "$0")/common.sh"

[ $# -eq 3 ] || { echo "usage: $0 GUEST_DIR BUILD OUT" >&2; exit 2; }
guest=$1 build=$2 out=$3
[ -s "$guest/initrd.gz" ] || die "no $guest/initrd.gz: build the guest kit first (build-guest.sh)"
programs="maekin-agent maekin-monitor maekinsh"
for p in $programs; do
    [ -x "$build/$p" ] || die "no $build/$p: build the programs first"
done

tmp=$(mktemp -d /tmp/maekin-node-build.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root"/{maekin/bin,etc/maekin/keys,var/lib/maekin,lib64}
for p in $programs; do
    cp "$build/$p" "$root/maekin/bin/"
done
# Every library the programs load, where the dynamic loader looks for it.
libs=$(for p in $programs; do ldd "$build/$p"; done | awk '/=> \// { print $3 } /^\t\/lib64\// { print $1 }' | sort -u)
for lib in $libs; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done
[ -e "$root/lib64/ld-linux-x86-64.so.2" ] || cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
"$guest_repo_dir/deploy/make-node.sh" node 4 4096 >"$root/etc/maekin/node.xml"

cat >"$root/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp
exec </dev/console >/dev/console 2>&1
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net; do
    insmod /lib/modules/$m.ko || echo "maekin-node: insmod $m failed"
done
say() { echo "$*" >/dev/ttyS0; }
failed() { say "MAEKIN-NODE-FAILED $*"; exec sleep 100000; }
name=; token=; master=; bus=
for w in $(cat /proc/cmdline); do
    case $w in
    maekin.name=*) name=${w#maekin.name=} ;;
    maekin.token=*) token=${w#maekin.token=} ;;
    maekin.master=*) master=${w#maekin.master=} ;;
    maekin.bus=*) bus=${w#maekin.bus=} ;;
    esac
done
[ -n "$name" ] && [ -n "$token" ] && [ -n "$master" ] || failed "no maekin.name, maekin.token or maekin.master on the kernel command line"
[ -n "$bus" ] || bus=tcp://$master:7010
port=${bus##*:}
stream_in=${bus%:*}:$((port + 1))
ip link set lo up
ip link set eth0 up
udhcpc -i eth0 -f -q -n -t 30 -T 1 -s /bin/udhcpc.script >/dev/null 2>&1 && [ -s /tmp/lease ] || failed "no address over DHCP"
. /tmp/lease
say "MAEKIN-NODE-NET ip=$ip"
keys=/etc/maekin/keys
tftp -g -r node/broker.key -l $keys/broker.key "$master" || failed "no node/broker.key from $master over TFTP"
/maekin/bin/maekinsh admin keygen $keys "$name" >/dev/null || failed "keygen"
out=$(/maekin/bin/maekinsh --bus-endpoint="$bus" --bus-key=$keys/$name.key_secret \
      --bus-broker_key=$keys/broker.key enrol "$token" --multicast-key $keys/multicast.key 2>&1) \
    || failed "enrol: $out"
say "MAEKIN-NODE-ENROLLED $out"
/maekin/bin/maekin-agent --bus-endpoint="$bus" --bus-key=$keys/$name.key_secret \
    --bus-broker_key=$keys/broker.key --agent-hosts="$name=test:///etc/maekin/node.xml" \
    --agent-domain_type=test --agent-report_ms=1000 >/tmp/agent.log 2>&1 &
agent=$!
multicast=--multicast-mode=off
[ -s $keys/multicast.key ] && multicast="--multicast-key=$keys/multicast.key --multicast-interface=$ip"
/maekin/bin/maekin-monitor --bus-stream_in="$stream_in" --bus-key=$keys/$name.key_secret \
    --bus-broker_key=$keys/broker.key --monitor-hosts="$name=proc" $multicast \
    --monitor-interval_ms=1000 >/tmp/monitor.log 2>&1 &
monitor=$!
say "MAEKIN-NODE-STARTED"
while :; do
    sleep 5
    kill -0 $agent 2>/dev/null || { say "MAEKIN-NODE-FAILED the agent stopped:"; tail -n 5 /tmp/agent.log >/dev/ttyS0; exec sleep 100000; }
    kill -0 $monitor 2>/dev/null || { say "MAEKIN-NODE-FAILED the monitor stopped:"; tail -n 5 /tmp/monitor.log >/dev/ttyS0; exec sleep 100000; }
done
EOF
chmod 755 "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$tmp/node.cpio.gz" \
    || die "building the node's archive failed"
cat "$guest/initrd.gz" "$tmp/node.cpio.gz" >"$out.new"
mv -f "$out.new" "$out"
say "built $out ($(du -h "$out" | cut -f1))"
