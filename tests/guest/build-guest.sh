#!/bin/bash
# Builds a tiny real guest for integration tests: OUTDIR/vmlinuz (the Debian 12 cloud kernel)
# and OUTDIR/initrd.gz (busybox + virtio modules + an /init that writes MAEKIN-GUEST-BOOTED to
# /dev/ttyS0, then prints "maekin-guest alive N" there every second until the domain is destroyed;
# with a NIC, it brings eth0 up as 10.99.0.2/24 and pings 10.99.0.1 each second, so the guest's
# network counters move whether or not anything answers).
# On the kernel command line, maekin.net=dhcp asks for eth0's address with busybox udhcpc instead
# and prints "MAEKIN-DHCP ip=A/BITS router=R dns=D" (or MAEKIN-DHCP-FAILED), then pings R; with
# maekin.forge=IP as well it then checks it reaches R from its own address (MAEKIN-OWN A reached|
# unreached), takes IP by hand in place of its own and tries again (MAEKIN-FORGED IP reached|
# unreached), and goes back to its own address. maekin.ip6=A/BITS, maekin.gw6=R and
# maekin.forge6=IP do the same with IPv6, the address set by hand (MAEKIN-OWN6, MAEKIN-FORGED6).
# Installs what it needs. Cached: with both files newer than this script it does nothing.
# usage: tests/guest/build-guest.sh OUTDIR
set -eu
. "$(dirname "$0")/common.sh"

[ $# -eq 1 ] && [ -n "$1" ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1" || die "cannot create $1"
out=$(cd "$1" && pwd)
self="$guest_kit_dir/build-guest.sh"

fresh() { [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.gz" ] &&
          [ "$out/vmlinuz" -nt "$self" ] && [ "$out/initrd.gz" -nt "$self" ]; }
fresh && exit 0

# One builder at a time per OUTDIR; a second caller waits, then finds the files fresh.
exec 9>"$out/.build.lock"
flock -w 900 9 || die "timed out waiting for another build in $out"
fresh && exit 0

[ "$(id -u)" -eq 0 ] || die "must run as root (installs packages)"
guest_need_packages

# Modules inserted by /init, in this order (virtio_blk last, for tests that add disks).
modules="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net virtio_blk"

tmp=$(mktemp -d /tmp/maekin-guest-build.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The exact kernel package behind linux-image-cloud-amd64; refresh apt's lists once if needed.
kernel_pkg() { apt-cache depends linux-image-cloud-amd64 2>/dev/null |
               sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n1; }
kpkg=$(kernel_pkg)
if [ -z "$kpkg" ]; then
    timeout 600 apt-get update -qq >&2 || die "apt-get update failed"
    kpkg=$(kernel_pkg)
fi
[ -n "$kpkg" ] || die "apt-cache depends linux-image-cloud-amd64 names no linux-image-*-cloud-amd64 package"
kver=${kpkg#linux-image-}

download() {
    (cd "$tmp" && timeout 600 apt-get -q -o APT::Sandbox::User=root download "$kpkg" busybox-static) >"$tmp/download.log" 2>&1
}
if ! download; then
    timeout 600 apt-get update -qq >&2 || die "apt-get update failed"
    download || { tail -n 5 "$tmp/download.log" >&2; die "apt-get download $kpkg busybox-static failed"; }
fi
mkdir "$tmp/x"
for deb in "$tmp"/*.deb; do
    dpkg-deb -x "$deb" "$tmp/x" || die "dpkg-deb -x $deb failed"
done
[ -s "$tmp/x/boot/vmlinuz-$kver" ] || die "no boot/vmlinuz-$kver in $kpkg"
[ -x "$tmp/x/bin/busybox" ] || die "no bin/busybox in busybox-static"

root="$tmp/root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules}
cp "$tmp/x/bin/busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
moddir="$tmp/x/lib/modules/$kver/kernel"
for m in $modules; do
    f=$(find "$moddir" -name "$m.ko" -print -quit)
    [ -n "$f" ] || die "module $m.ko not found in $kpkg (compressed modules are not supported)"
    cp "$f" "$root/lib/modules/"
done

cat >"$root/init" <<EOF
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
for m in $modules; do
    insmod /lib/modules/\$m.ko || echo "maekin-guest: insmod \$m failed"
done
net=; forge=; ip6=; gw6=; forge6=
for w in \$(cat /proc/cmdline); do
    case \$w in
    maekin.net=*) net=\${w#maekin.net=} ;;
    maekin.forge=*) forge=\${w#maekin.forge=} ;;
    maekin.ip6=*) ip6=\${w#maekin.ip6=} ;;
    maekin.gw6=*) gw6=\${w#maekin.gw6=} ;;
    maekin.forge6=*) forge6=\${w#maekin.forge6=} ;;
    esac
done
gw=10.99.0.1
if [ -e /sys/class/net/eth0 ]; then
    ip link set eth0 up
    if [ "\$net" = dhcp ]; then
        if udhcpc -i eth0 -f -q -n -t 30 -T 1 -s /bin/udhcpc.script >/dev/null 2>&1 && [ -s /tmp/lease ]; then
            . /tmp/lease
            echo "MAEKIN-DHCP ip=\$ip/\$mask router=\$router dns=\$dns" >/dev/ttyS0
            gw=\$router
        else
            echo MAEKIN-DHCP-FAILED >/dev/ttyS0
        fi
    elif [ -n "\$ip6" ]; then
        echo 0 >/proc/sys/net/ipv6/conf/eth0/accept_dad   # no wait before the address is usable
        ip -6 addr add \$ip6 dev eth0
        gw=\$gw6
    else
        ip addr add 10.99.0.2/24 dev eth0
    fi
fi
echo MAEKIN-GUEST-BOOTED >/dev/ttyS0
reach() { ping -c 3 -W 2 \$gw >/dev/null 2>&1 && echo reached || echo unreached; }
if [ -n "\$forge" ] && [ -s /tmp/lease ]; then
    echo "MAEKIN-OWN \$ip \$(reach)" >/dev/ttyS0
    ip addr del \$ip/\$mask dev eth0
    ip addr add \$forge/\$mask dev eth0
    echo "MAEKIN-FORGED \$forge \$(reach)" >/dev/ttyS0
    ip addr del \$forge/\$mask dev eth0
    ip addr add \$ip/\$mask dev eth0
fi
if [ -n "\$forge6" ] && [ -n "\$ip6" ]; then
    echo "MAEKIN-OWN6 \${ip6%/*} \$(reach)" >/dev/ttyS0
    ip -6 addr del \$ip6 dev eth0
    ip -6 addr add \$forge6/\${ip6#*/} dev eth0
    echo "MAEKIN-FORGED6 \$forge6 \$(reach)" >/dev/ttyS0
    ip -6 addr del \$forge6/\${ip6#*/} dev eth0
    ip -6 addr add \$ip6 dev eth0
fi
n=0
while :; do
    sleep 1
    n=\$((n + 1))
    echo "maekin-guest alive \$n" >/dev/ttyS0
    [ -e /sys/class/net/eth0 ] && ping -c 1 -W 1 \$gw >/dev/null 2>&1
done
EOF
chmod 755 "$root/init"
# udhcpc's script: on a lease, eth0 takes it and /tmp/lease keeps it for /init.
cat >"$root/bin/udhcpc.script" <<'EOF'
#!/bin/sh
case $1 in
bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    echo "ip=$ip mask=$mask router=$router dns='$dns'" >/tmp/lease
    ;;
esac
exit 0
EOF
chmod 755 "$root/bin/udhcpc.script"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9 >"$tmp/initrd.gz" ||
    die "building the initramfs failed"
cp "$tmp/x/boot/vmlinuz-$kver" "$tmp/vmlinuz"
echo "kernel=$kver busybox=$(dpkg-deb -f "$tmp"/busybox-static_*.deb Version) modules=$modules" >"$out/guest.info"
# initrd first, vmlinuz last: both must be there for the cache to count as fresh.
mv -f "$tmp/initrd.gz" "$out/initrd.gz"
mv -f "$tmp/vmlinuz" "$out/vmlinuz"
say "built $out/vmlinuz and $out/initrd.gz (kernel $kver)"
