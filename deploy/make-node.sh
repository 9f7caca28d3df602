#!/bin/sh
# Prints the node file of one simulated host for libvirt's test driver: NAME (kept as an
# attribute the driver ignores, so a file says which host it is), CPUS cores and
# MEMORY_MB of memory, no domains. Use it as test:///abs/path/NAME.xml.
#   usage: deploy/make-node.sh NAME CPUS MEMORY_MB > NAME.xml
#   check: virsh -c test:///abs/path/NAME.xml nodeinfo
set -eu

die() {
    echo "make-node.sh: $*" >&2
    exit 2
}

[ $# -eq 3 ] || die "usage: make-node.sh NAME CPUS MEMORY_MB"
name=$1 cpus=$2 memory_mb=$3

# A host name as common/mk_name.c has it: 1..63 of a-z 0-9 - _ . starting with a letter
# or digit. That also keeps it safe inside an XML attribute.
case $name in
    '' | [!a-z0-9]* | *[!a-z0-9._-]*) die "host name '$name' must be 1..63 of a-z, 0-9, '-', '_' and '.', starting with a letter or digit" ;;
esac
[ ${#name} -le 63 ] || die "host name '$name' is longer than 63 characters"

# Whole numbers without a sign or leading zeros, in ranges libvirt takes: up to 4096
# CPUs and 1 PiB of memory (the driver counts memory in KiB).
number() { # what value max
    case $2 in
        '' | 0* | *[!0-9]*) die "$1 must be a whole number >= 1, not '$2'" ;;
    esac
    [ ${#2} -le 10 ] && [ "$2" -le "$3" ] || die "$1 must be at most $3, not '$2'"
}
number CPUS "$cpus" 4096
number MEMORY_MB "$memory_mb" 1073741824

cat <<EOF
<node name='$name'>
  <cpu>
    <nodes>1</nodes>
    <sockets>1</sockets>
    <cores>$cpus</cores>
    <threads>1</threads>
    <active>$cpus</active>
    <mhz>2000</mhz>
    <model>x86_64</model>
  </cpu>
  <memory>$((memory_mb * 1024))</memory>
</node>
EOF
