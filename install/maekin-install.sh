#!/bin/bash
# Installs Maekin on an existing Debian 12 or RHEL 9 host (Rocky, AlmaLinux), as the
# master (broker, controller, gateway, DHCP, and an agent and a monitor for the master's
# own host) or as a node (an agent and a monitor) that enrols with a join token. It
# writes a file only when its content differs and never makes a key again, so a second
# run with the same arguments changes nothing; it prints one line per change.
# usage: install/maekin-install.sh master|node [options]   (--help)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
. "$here/maekin-checks.sh"
compat=libmaekin-tls-compat.so

usage() {
    cat <<'TEXT'
usage: maekin-install.sh master|node [options]
Installs Maekin on this Debian 12 or RHEL 9 host: packages, the user maekin, the
configuration in /etc/maekin, state in /var/lib/maekin, keys, the systemd units; a
node enrols with its join token. A second run with the same arguments changes nothing.

  --prefix DIR          write every file under DIR (a scratch root: no packages are
                        installed, no user is made, no unit started)
  --no-packages         do not install packages
  --no-start            do not run systemctl
  --bin DIR             where the programs are (default: ../build beside this script,
                        else /usr/bin)
  --name NAME           the host this machine serves (master: default its host name)
  --endpoint URL        the broker's request endpoint, tcp://HOST:PORT (master:
                        default tcp://127.0.0.1:7010; node: tcp://MASTER:7010); its
                        streams are on PORT+1 and PORT+2
node only:
  --master HOST         the master's host name or address
  --token TOKEN         the join token ('maekinsh host token NAME' on the master)
  --broker-key FILE     the broker's public key: the master's /etc/maekin/keys/broker.key
  --multicast-key FILE  the cloud's multicast key (default: the one the cloud gives at
                        the enrolment; with neither, the monitor has no multicast)
  -h, --help            this help
TEXT
}

die() {
    echo "maekin-install: $*" >&2
    exit 1
}
usage_error() {
    echo "maekin-install: $* (see --help)" >&2
    exit 2
}

changes=0
# change WHAT: says what this run changed.
change() {
    echo "$*"
    changes=$((changes + 1))
}

# ---- Arguments, all checked before anything is written

role="" prefix="" packages=1 start=1 bin="" name="" endpoint="" master=""
token="" broker_key="" multicast_key=""
parse_args() {
    [ $# -gt 0 ] || usage_error "master or node?"
    case $1 in
        -h | --help) usage; exit 0 ;;
        master | node) role=$1 ;;
        *) usage_error "the first argument is master or node, not '$1'" ;;
    esac
    shift
    while [ $# -gt 0 ]; do
        case $1 in
            -h | --help) usage; exit 0 ;;
            --no-packages) packages=0; shift; continue ;;
            --no-start) start=0; shift; continue ;;
            --prefix | --bin | --name | --endpoint | --master | --token | --broker-key | --multicast-key)
                [ $# -ge 2 ] || usage_error "$1 needs a value" ;;
            *) usage_error "unknown option '$1'" ;;
        esac
        case $1 in
            --prefix) prefix=$2 ;;
            --bin) bin=$2 ;;
            --name) name=$2 ;;
            --endpoint) endpoint=$2 ;;
            --master) master=$2 ;;
            --token) token=$2 ;;
            --broker-key) broker_key=$2 ;;
            --multicast-key) multicast_key=$2 ;;
        esac
        shift 2
    done
}

check_args() {
    if [ $role = master ]; then
        [ -z "$master$token$broker_key$multicast_key" ] \
            || usage_error "--master, --token, --broker-key and --multicast-key are for a node (the master makes its keys)"
        [ -n "$name" ] || name=$(hostname -s | tr '[:upper:]' '[:lower:]')
        [ -n "$endpoint" ] || endpoint=tcp://127.0.0.1:7010
    else
        [ -n "$master" ] || usage_error "a node needs --master HOST"
        maekin_valid_host "$master" || usage_error "--master '$master' is not a host name or an IPv4 address"
        [ -n "$name" ] || usage_error "a node needs --name NAME (the host it serves)"
        [ -n "$token" ] || usage_error "a node needs --token TOKEN ('maekinsh host token NAME' on the master)"
        maekin_valid_token "$token" || usage_error "--token is not a join token (mkj_ and 43 characters)"
        [ -n "$broker_key" ] || usage_error "a node needs --broker-key FILE (the master's /etc/maekin/keys/broker.key)"
        [ -n "$endpoint" ] || endpoint=tcp://$master:7010
    fi
    maekin_valid_name "$name" \
        || usage_error "the host name '$name' is not 1..63 of a-z, 0-9, '.', '_' and '-' starting with a letter or digit"
    endpoint_host=$(sed -n 's|^tcp://\(.*\):[1-9][0-9]\{0,4\}$|\1|p' <<<"$endpoint")
    port=${endpoint##*:}
    if ! maekin_valid_host "$endpoint_host" || [ "$port" -gt 65533 ]; then
        usage_error "--endpoint '$endpoint' is not tcp://HOST:PORT (PORT up to 65533)"
    fi
    if [ -n "$broker_key" ]; then
        [ -r "$broker_key" ] || usage_error "--broker-key '$broker_key' cannot be read"
        maekin_broker_key "$broker_key" >/dev/null \
            || usage_error "--broker-key '$broker_key' is not a public key file (broker.key)"
    fi
    [ -z "$multicast_key" ] || [ -r "$multicast_key" ] || usage_error "--multicast-key '$multicast_key' cannot be read"
    if [ -n "$prefix" ]; then
        [ "${prefix:0:1}" = / ] || prefix=$(pwd)/$prefix
        prefix=${prefix%/}
        # A scratch root is no system to start services in.
        start=0
    elif [ "$(id -u)" -ne 0 ]; then
        usage_error "run as root (or give --prefix DIR)"
    fi
    if [ -z "$bin" ]; then
        bin=$src/build
        [ -x "$bin/maekinsh" ] || bin=/usr/bin
    fi
    if [ $role = master ]; then
        programs="maekin-broker maekin-controller maekin-gateway maekin-dhcp maekin-agent maekin-monitor maekinsh"
    else
        programs="maekin-agent maekin-monitor maekinsh"
    fi
    local program
    for program in $programs; do
        [ -x "$bin/$program" ] || usage_error "--bin '$bin' has no $program (make programs builds it)"
    done
    if [ $role = master ]; then
        compat_file=$(beside "$compat" "../lib/maekin/$compat")
        [ -n "$compat_file" ] || usage_error "--bin '$bin' has no $compat beside its programs (make programs)"
    fi
}

# beside PATH ALTERNATIVE: PATH in $bin (a build directory), else ALTERNATIVE from $bin
# (an installed tree: usr/bin, usr/lib/maekin, usr/share/maekin); nothing if neither is.
beside() {
    if [ -e "$bin/$1" ]; then
        echo "$bin/$1"
    elif [ -e "$bin/$2" ]; then
        echo "$bin/$2"
    fi
}

# ---- Files: written only when they differ

# place NEW DEST MODE [OWNER]: DEST takes the content of the file NEW, by a rename,
# when it differs (true when it did); then its mode and owner.
place() {
    local new=$1 dest=$2 mode=$3 owner=${4:-} tmp
    if cmp -s "$new" "$dest"; then
        mode_and_owner "$dest" "$mode" "$owner" say
        return 1
    fi
    tmp=$(mktemp "$dest.XXXXXX")
    cat "$new" >"$tmp"
    mv -f "$tmp" "$dest"
    mode_and_owner "$dest" "$mode" "$owner" quiet
}
# write DEST MODE [OWNER]: DEST takes standard input, as place does, saying so.
write() {
    local new
    new=$(mktemp "$scratch/new.XXXXXX")
    cat >"$new"
    if place "$new" "$1" "$2" "${3:-}"; then change "wrote $1"; fi
    rm -f "$new"
}
# copy FILE DEST MODE: DEST is a copy of FILE, as place does, saying so.
copy() {
    if place "$1" "$2" "$3"; then change "installed $2"; fi
}
# mode_and_owner PATH MODE OWNER say|quiet: sets them where they differ, saying so
# unless quiet (a file just written). OWNER only on the real root, where maekin is.
mode_and_owner() {
    local path=$1 mode=$2 owner=$3 how=$4
    if [ "$(stat -c %a "$path")" != "${mode#0}" ]; then
        chmod "$mode" "$path"
        [ "$how" = quiet ] || change "mode $mode $path"
    fi
    if [ -n "$owner" ] && [ -z "$prefix" ] && [ "$(stat -c %U:%G "$path")" != "$owner" ]; then
        chown "$owner" "$path"
        [ "$how" = quiet ] || change "owner $owner $path"
    fi
}
# directory DIR MODE [OWNER]
directory() {
    local how=say
    if [ ! -d "$1" ]; then
        mkdir -p "$1"
        change "made $1"
        how=quiet
    fi
    mode_and_owner "$1" "$2" "${3:-}" $how
}

# ---- The steps

install_packages() {
    local system list missing="" pkg
    system=$(. /etc/os-release && echo " $ID ${ID_LIKE:-} ")
    # What the programs need at run time besides the base system (deploy/packages.txt
    # has what they are built with).
    case "$system $role" in
        *" debian "*)
            list="libvirt-daemon-system qemu-system-x86 libczmq4 libzmq5 libprotobuf-c1 libsodium23
                  libxml2 libjson-c5 libsqlite3-0 libmariadb3 libssl3"
            # ipxe: the boot files maekin-dhcp gives plain PXE ROMs (dhcp/ipxe_dir).
            [ $role = node ] || list="$list dnsmasq-base libcivetweb1 openssl ipxe"
            for pkg in $list; do
                dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed$" || missing="$missing $pkg"
            done
            [ -n "$missing" ] || return 0
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null \
                || die "apt-get could not install$missing"
            ;;
        *" rhel "* | *" fedora "*)
            # CZMQ, ZeroMQ and libsodium are in EPEL: epel-release first.
            rpm -q epel-release >/dev/null 2>&1 || dnf install -y -q epel-release >/dev/null \
                || die "dnf could not install epel-release"
            list="libvirt qemu-kvm czmq protobuf-c libsodium libxml2 json-c sqlite-libs mariadb-connector-c openssl-libs"
            [ $role = node ] || list="$list dnsmasq openssl"
            for pkg in $list; do
                rpm -q "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
            done
            [ -n "$missing" ] || return 0
            dnf install -y -q $missing >/dev/null || die "dnf could not install$missing"
            ;;
        *) die "this system is neither Debian nor RHEL:$system: install the packages yourself and give --no-packages" ;;
    esac
    change "installed the packages$missing"
}

# The broker runs as maekin (its unit's dynamic user could not read its key in
# /etc/maekin/keys, which maekin owns); the other services run as root.
make_user() {
    if [ -n "$prefix" ]; then
        echo "not making the user maekin: --prefix"
        return
    fi
    getent passwd maekin >/dev/null && return
    useradd --system --user-group --home-dir /var/lib/maekin --no-create-home \
        --shell /usr/sbin/nologin --comment Maekin maekin || die "cannot make the user maekin"
    change "made the user maekin"
}

make_directories() {
    directory "$etc" 0750 root:maekin
    directory "$keys" 0700 maekin:maekin
    # The controller's (its unit's StateDirectory, owned as systemd keeps it: a directory
    # of another owner would be chowned back, all it holds with it). maekin-dhcp has a
    # directory of its own, which its unit makes.
    directory "$prefix/var/lib/maekin" 0750 maekin:maekin
    directory "$prefix/usr/bin" 0755
    directory "$prefix/etc/systemd/system" 0755
}

install_programs() {
    local program web file
    for program in $programs; do
        copy "$bin/$program" "$prefix/usr/bin/$program" 0755
    done
    [ $role = master ] || return 0
    # The gateway finds these from /usr/bin: ../lib/maekin and ../share/maekin/web.
    directory "$prefix/usr/lib/maekin" 0755
    copy "$compat_file" "$prefix/usr/lib/maekin/$compat" 0644
    web=$(beside web ../share/maekin/web)
    [ -n "$web" ] || return 0
    directory "$prefix/usr/share/maekin/web" 0755
    while read -r file; do
        directory "$prefix/usr/share/maekin/web/$file" 0755
    done < <(find "$web" -mindepth 1 -type d -printf '%P\n')
    while read -r file; do
        copy "$web/$file" "$prefix/usr/share/maekin/web/$file" 0644
    done < <(find "$web" -type f -printf '%P\n')
}

# key NAME: the key pair NAME, made once; its modes kept.
key() {
    local how=say
    if [ ! -f "$keys/$1.key_secret" ]; then
        "$bin/maekinsh" admin keygen "$keys" "$1" >/dev/null || die "cannot make the key pair $1 in $keys"
        change "made the key pair $keys/$1"
        how=quiet
    fi
    mode_and_owner "$keys/$1.key" 0644 maekin:maekin $how
    mode_and_owner "$keys/$1.key_secret" 0600 maekin:maekin $how
}

make_keys() {
    key "$name"
    if [ $role = node ]; then
        write "$keys/broker.key" 0644 maekin:maekin <"$broker_key"
        [ -z "$multicast_key" ] || write "$keys/multicast.key" 0600 maekin:maekin <"$multicast_key"
        return
    fi
    key broker
    key controller
    key maekinsh
    key gateway
    key dhcp
    if [ ! -f "$keys/multicast.key" ]; then
        "$bin/maekinsh" admin secret "$keys/multicast.key" >/dev/null || die "cannot make the multicast key"
        change "made the multicast key $keys/multicast.key"
    fi
    mode_and_owner "$keys/multicast.key" 0600 maekin:maekin say
    # The gateway's HTTPS certificate, self-signed, made once (a site's own certificate
    # may take its place).
    if [ ! -f "$etc/gateway.pem" ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$name" \
            -keyout "$scratch/gateway.key" -out "$scratch/gateway.crt" 2>/dev/null \
            || die "openssl could not make the gateway's certificate"
        cat "$scratch/gateway.crt" "$scratch/gateway.key" >"$scratch/gateway.pem"
        place "$scratch/gateway.pem" "$etc/gateway.pem" 0600 maekin:maekin
        change "made the gateway's certificate $etc/gateway.pem"
    fi
    mode_and_owner "$etc/gateway.pem" 0600 maekin:maekin say
}

# mark: the marker that this host's key is admitted (it holds the host's name).
mark() {
    echo "$name" >"$scratch/enrolled"
    place "$scratch/enrolled" "$prefix/var/lib/maekin/enrolled" 0640 || true
}
marked() { [ "$(cat "$prefix/var/lib/maekin/enrolled" 2>/dev/null)" = "$name" ]; }

# The node's key admitted for its host with the join token, once: a token works once.
# The cloud gives the node its multicast key then (when its controller has one), which
# the monitor signs with, unless --multicast-key gave one.
enrol() {
    local out
    marked && return
    # -c /dev/null: no maekinsh.cfg of this machine's (another key) plays a part.
    out=$("$bin/maekinsh" -c /dev/null --bus-endpoint="$endpoint" --bus-key="$keys/$name.key_secret" \
        --bus-broker_key="$keys/broker.key" enrol "$token" --multicast-key "$scratch/multicast.key" 2>&1) \
        || die "the enrolment of $name at $endpoint failed: $out"
    [ "$(head -n 1 <<<"$out")" = "enrolled: host $name, key '$name'" ] || die "the enrolment of $name said: $out"
    mark
    change "enrolled as host $name at $endpoint"
    if [ -z "$multicast_key" ] && [ -s "$scratch/multicast.key" ]; then
        write "$keys/multicast.key" 0600 maekin:maekin <"$scratch/multicast.key"
    fi
}

# fill TEMPLATE: a configuration file of deploy/etc with this install's values: the
# broker's endpoints, the host's name and its key. Paths are as the installed system
# sees them, whatever the prefix.
fill() {
    local stream_in=tcp://$endpoint_host:$((port + 1)) stream_out=tcp://$endpoint_host:$((port + 2))
    sed -e "s|tcp://0\.0\.0\.0:7010|tcp://0.0.0.0:$port|; s|tcp://0\.0\.0\.0:7011|tcp://0.0.0.0:$((port + 1))|" \
        -e "s|tcp://0\.0\.0\.0:7012|tcp://0.0.0.0:$((port + 2))|" \
        -e "s#tcp://\(master\|127\.0\.0\.1\):7010#$endpoint#; s#tcp://\(master\|127\.0\.0\.1\):7011#$stream_in#" \
        -e "s#tcp://\(master\|127\.0\.0\.1\):7012#$stream_out#" \
        -e "s|/etc/maekin/keys/node1\.key_secret|/etc/maekin/keys/$name.key_secret|" \
        -e "s|^\( *hosts = \)node1=|\1$name=|" "$src/deploy/etc/$1"
}

write_configuration() {
    local cfg
    if [ $role = node ]; then
        write "$etc/agent.cfg" 0640 root:maekin < <(fill agent.cfg)
        if [ -f "$keys/multicast.key" ]; then
            write "$etc/monitor.cfg" 0640 root:maekin < <(fill monitor.cfg)
        else
            # Without the cloud's key the monitor's datagrams could not be signed.
            write "$etc/monitor.cfg" 0640 root:maekin \
                < <(fill monitor.cfg | sed "s|^\( *\)key = /etc/maekin/keys/multicast\.key$|\1mode = off|")
        fi
        return
    fi
    for cfg in broker controller gateway dhcp agent monitor; do
        write "$etc/$cfg.cfg" 0640 root:maekin < <(fill $cfg.cfg)
    done
    write "$etc/maekinsh.cfg" 0640 root:maekin <<CFG
# maekinsh on the master (written by maekin-install.sh): the broker, the site's key
# (the controller admits it at its first start), and the database for 'admin db'.
bus
    endpoint = $endpoint
    stream_out = tcp://$endpoint_host:$((port + 2))
    key = /etc/maekin/keys/maekinsh.key_secret
    broker_key = /etc/maekin/keys/broker.key
db
    url = sqlite:/var/lib/maekin/maekin.db
CFG
}

install_units() {
    local unit
    for unit in $core_units $units; do
        copy "$src/deploy/systemd/$unit.service" "$prefix/etc/systemd/system/$unit.service" 0644
    done
}

# enable_units UNIT...: each enabled, to start at boot (in a chroot, as a kickstart's
# %post is, nothing runs).
enable_units() {
    local unit
    for unit; do
        systemctl is-enabled --quiet "$unit" && continue
        systemctl enable --quiet "$unit" || die "cannot enable $unit"
        change "enabled $unit"
    done
}
# start_units UNIT...: each enabled and running, restarted if this run changed files.
start_units() {
    local unit
    for unit; do
        if systemctl is-enabled --quiet "$unit" && systemctl is-active --quiet "$unit"; then
            [ "$files_changed" = 0 ] && continue
            systemctl restart "$unit" || die "cannot restart $unit: see journalctl -u $unit"
            change "restarted $unit"
        else
            # A unit that gave up before its key was admitted (at first boot) starts again.
            if systemctl is-failed --quiet "$unit"; then systemctl reset-failed "$unit"; fi
            systemctl enable --quiet --now "$unit" || die "cannot start $unit: see journalctl -u $unit"
            change "started $unit"
        fi
    done
}

# The master's own keys admitted, once the controller runs: the gateway's and
# maekin-dhcp's as clients', its host's (the agent's and the monitor's) for that host
# alone, and a read-only API key for maekin-dhcp; as the administrator, with the first
# password.
admit_own_keys() {
    marked && return
    if ! systemctl is-active --quiet maekin-controller.service; then
        echo "maekin-controller is not running (journalctl -u maekin-controller): run this again once it is, to admit the master's own keys"
        return
    fi
    mkdir -p "$scratch/config"
    export MAEKINSH_CONFIG=$etc/maekinsh.cfg XDG_CONFIG_HOME=$scratch/config
    "$src/deploy/login-admin.sh" "$bin" "$endpoint" /var/lib/maekin/admin-password >/dev/null \
        || die "cannot log in as admin to admit the master's own keys"
    admit gateway --role client
    admit dhcp --role client
    admit "$name" --role node --hosts "$name"
    if [ ! -s "$etc/dhcp.apikey" ]; then
        write "$etc/dhcp.apikey" 0600 maekin:maekin < <(mk apikey create dhcp --read-only | grep -o 'mka_[A-Za-z0-9_-]*')
        [ -s "$etc/dhcp.apikey" ] || die "could not make maekin-dhcp's API key"
    fi
    mk logout >/dev/null
    mark
}
mk() { "$bin/maekinsh" --bus-endpoint="$endpoint" "$@"; }
# admit KEY OPTIONS...: the key pair KEY's public key on the bus's list, once.
admit() {
    local key=$1 out
    shift
    mk key list "$key" 2>/dev/null | grep -q "^$key " && return
    out=$(mk key admit "$key" "$keys/$key.key" "$@" 2>&1) || die "cannot admit the key $key: $out"
    change "admitted the key $key"
}

main() {
    parse_args "$@"
    check_args
    etc=$prefix/etc/maekin
    keys=$etc/keys
    # The core's units start first on the master: the others' keys are admitted through it.
    if [ $role = master ]; then
        core_units="maekin-broker maekin-controller"
        units="maekin-gateway maekin-dhcp maekin-agent maekin-monitor"
    else
        core_units=""
        units="maekin-agent maekin-monitor"
    fi
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    [ $packages = 0 ] || [ -n "$prefix" ] || install_packages
    make_user
    make_directories
    install_programs
    make_keys
    [ $role = master ] || enrol
    write_configuration
    install_units
    if [ $start = 1 ] && systemd-detect-virt --quiet --chroot; then
        enable_units $core_units $units
        [ $role = node ] || echo "in a chroot: run this again once the controller runs, to admit the master's own keys"
    elif [ $start = 1 ]; then
        files_changed=$changes
        [ "$files_changed" = 0 ] || systemctl daemon-reload
        if [ $role = master ]; then
            start_units $core_units
            admit_own_keys
        fi
        start_units $units
    fi
    [ $changes -gt 0 ] || echo "nothing to change"
}

main "$@"
