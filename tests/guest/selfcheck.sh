#!/bin/bash
# Proves the guest kit end to end: builds the guest (cached in $GUEST_DIR, default build/guest),
# starts a private libvirtd, defines and starts a real QEMU guest from hand-written domain XML,
# waits for MAEKIN-GUEST-BOOTED on its serial console, checks it is running, destroys and
# undefines it, stops libvirtd. Prints the times taken; exits non-zero on any failure.
# usage: tests/guest/selfcheck.sh   (environment: GUEST_DIR, BOOT_TIMEOUT in s, default 60)
set -eu
. "$(dirname "$0")/common.sh"
cd "$guest_repo_dir"

[ "$(id -u)" -eq 0 ] || die "must run as root"
guest=${GUEST_DIR:-build/guest}
name=guest-1
boot_limit=${BOOT_TIMEOUT:-60}

t=$(now_ms)
bash "$guest_kit_dir/build-guest.sh" "$guest" || die "building the guest into $guest failed"
guest=$(cd "$guest" && pwd)
build_ms=$(( $(now_ms) - t ))

work=$(mktemp -d /tmp/maekin-selfcheck.XXXXXX)
lv="$work/lv"
cons="$work/consoles/$name.log"
mkdir -p "$work/consoles"
uri=""
ok=""
cleanup() {
    if [ -n "$uri" ]; then
        timeout 20 virsh -q -c "$uri" destroy "$name" >/dev/null 2>&1 || true
        timeout 20 virsh -q -c "$uri" undefine "$name" >/dev/null 2>&1 || true
    fi
    bash "$guest_kit_dir/libvirtd.sh" stop "$lv" || echo "selfcheck.sh: stopping libvirtd failed" >&2
    if [ -n "$ok" ]; then rm -rf "$work"; else echo "selfcheck.sh: kept $work for inspection" >&2; fi
}
trap cleanup EXIT
fail() {
    local f
    for f in "$cons" "$lv/log/qemu/$name.log" "$lv/libvirtd.log"; do
        [ -e "$f" ] || continue
        echo "---- last lines of $f:" >&2; tail -n 15 "$f" >&2
    done
    die "$*"
}

t=$(now_ms)
uri=$(bash "$guest_kit_dir/libvirtd.sh" start "$lv") || { uri=""; die "starting the private libvirtd failed"; }
uri=${uri##*$'\n'}
start_ms=$(( $(now_ms) - t ))
vsh() { timeout 30 virsh -q -c "$uri" "$@"; }

cat >"$work/$name.xml" <<EOF
<domain type='qemu'>
  <name>$name</name>
  <uuid>$(cat /proc/sys/kernel/random/uuid)</uuid>
  <memory unit='MiB'>256</memory>
  <currentMemory unit='MiB'>256</currentMemory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>$guest/vmlinuz</kernel><initrd>$guest/initrd.gz</initrd><cmdline>console=ttyS0</cmdline></os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <serial type='file'><source path='$cons'/><target port='0'/></serial>
    <console type='file'><source path='$cons'/><target type='serial' port='0'/></console>
  </devices>
</domain>
EOF

vsh define "$work/$name.xml" >/dev/null || fail "virsh define failed"
t=$(now_ms)
vsh start "$name" >/dev/null || fail "virsh start failed"
deadline=$(( t + boot_limit * 1000 ))
n=0
until grep -q MAEKIN-GUEST-BOOTED "$cons" 2>/dev/null; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "no MAEKIN-GUEST-BOOTED on the serial console within ${boot_limit} s"
    n=$((n + 1))
    if [ $((n % 10)) -eq 0 ]; then
        st=$(vsh domstate "$name" 2>"$work/err") || fail "virsh domstate failed: $(cat "$work/err")"
        [ "$st" = running ] || fail "the guest is '$st' before it booted"
    fi
    sleep 0.2
done
boot_ms=$(( $(now_ms) - t ))
st=$(vsh domstate "$name" 2>"$work/err") || fail "virsh domstate failed: $(cat "$work/err")"
[ "$st" = running ] || fail "the guest booted but is '$st', not running"
vsh destroy "$name" >/dev/null || fail "virsh destroy failed"
vsh undefine "$name" >/dev/null || fail "virsh undefine failed"
st=$(vsh list --all --name)
[ -z "$st" ] || fail "domains left after undefine: $st"
uri=""
bash "$guest_kit_dir/libvirtd.sh" stop "$lv" || die "stopping libvirtd failed"
ok=1
printf 'selfcheck: guest build %d.%03d s, libvirtd start %d.%03d s, boot to marker %d.%03d s: 1 passed\n' \
    $((build_ms / 1000)) $((build_ms % 1000)) $((start_ms / 1000)) $((start_ms % 1000)) \
    $((boot_ms / 1000)) $((boot_ms % 1000))
