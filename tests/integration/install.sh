#!/bin/bash
# install/ (issue 22): maekin-install.sh on scratch roots (--prefix: no packages, no
# users, no units started) and a real cloud. The master's configuration, units and keys
# land where they belong, each program takes its configuration, and a second run
# changes nothing. A node enrols at the test's broker with a join token, and its agent,
# run with the configuration written, brings its host up; run again it changes nothing
# and does not enrol again. Bad tokens and arguments are refused, nothing written. The
# kickstarts of maekin-kickstart hold each node's values in their places and nothing
# unfilled; bad values and an unknown placeholder are refused.
. "$(dirname "$0")/lib.bash"

install=$MK_SRC/install/maekin-install.sh
kickstart=$MK_SRC/install/maekin-kickstart

# listing DIR: every file and directory under DIR with its mode and modification time,
# and every file's checksum.
listing() {
    find "$1" -printf '%p %m %T@\n' | sort
    find "$1" -type f -exec sha256sum {} + | sort
}
# has FILE LINE: FILE holds LINE, exactly.
has() { grep -qxF -- "$2" "$1" || fail "$1 has no line '$2': $(cat "$1")"; }
# mode PATH OCTAL
mode() { [ "$(stat -c %a "$1")" = "$2" ] || fail "$1 has the mode $(stat -c %a "$1"), not $2"; }

# ---- The master, on a scratch root

m=$T/master
out=$("$install" master --prefix "$m" --no-packages --bin "$MK_BUILD" --name master1 2>&1) \
    || fail "the master's install: $out"
grep -qx "not making the user maekin: --prefix" <<<"$out" || fail "the install did not say it made no user: $out"
etc=$m/etc/maekin
mode "$etc" 750
mode "$etc/keys" 700
mode "$m/var/lib/maekin" 750
for cfg in broker controller gateway dhcp agent monitor maekinsh; do
    mode "$etc/$cfg.cfg" 640
done
for unit in broker controller gateway dhcp agent monitor; do
    cmp -s "$MK_SRC/deploy/systemd/maekin-$unit.service" "$m/etc/systemd/system/maekin-$unit.service" \
        || fail "maekin-$unit.service is not deploy/'s"
done
for key in broker controller maekinsh gateway dhcp master1; do
    mode "$etc/keys/$key.key" 644
    mode "$etc/keys/$key.key_secret" 600
done
mode "$etc/keys/multicast.key" 600
mode "$etc/gateway.pem" 600
for program in maekin-broker maekin-controller maekin-gateway maekin-dhcp maekin-agent maekin-monitor maekinsh; do
    cmp -s "$MK_BUILD/$program" "$m/usr/bin/$program" && [ -x "$m/usr/bin/$program" ] \
        || fail "$m/usr/bin/$program is not $MK_BUILD's"
done
[ -f "$m/usr/lib/maekin/libmaekin-tls-compat.so" ] || fail "no libmaekin-tls-compat.so where the gateway looks"
ok "the master's configuration, units, keys (secrets 0600) and programs are where they belong"

has "$etc/broker.cfg" "    endpoint = tcp://0.0.0.0:7010"
has "$etc/broker.cfg" "    key = /etc/maekin/keys/broker.key_secret"
has "$etc/controller.cfg" "    endpoint = tcp://127.0.0.1:7010"
has "$etc/gateway.cfg" "    stream_out = tcp://127.0.0.1:7012"
has "$etc/agent.cfg" "    key = /etc/maekin/keys/master1.key_secret"
has "$etc/agent.cfg" "    hosts = master1=qemu:///system"
has "$etc/monitor.cfg" "    stream_in = tcp://127.0.0.1:7011"
has "$etc/monitor.cfg" "    hosts = master1=proc"
has "$etc/monitor.cfg" "    key = /etc/maekin/keys/multicast.key"
has "$etc/controller.cfg" "    multicast_key = /etc/maekin/keys/multicast.key"
has "$etc/maekinsh.cfg" "    key = /etc/maekin/keys/maekinsh.key_secret"
ok "the master's configuration has its endpoints, its host master1 and the key paths the system sees"

# Each program takes its file (-n), its paths in /etc/maekin given inside the prefix.
k=$etc/keys
on() { echo "--bus-key=$k/$1.key_secret --bus-broker_key=$k/broker.key"; }
printf 'mka_%043d\n' 0 >"$T/dhcp.apikey"
chmod 600 "$T/dhcp.apikey"
for check in "maekin-broker -c $etc/broker.cfg --bus-key=$k/broker.key_secret --bus-controller_key=$k/controller.key" \
    "maekin-controller -c $etc/controller.cfg $(on controller) --bus-client_key=$k/maekinsh.key --enrol-multicast_key=$k/multicast.key" \
    "maekin-gateway -c $etc/gateway.cfg $(on gateway) --gateway-certificate=$etc/gateway.pem" \
    "maekin-dhcp -c $etc/dhcp.cfg $(on dhcp) --dhcp-key_file=$T/dhcp.apikey" \
    "maekin-agent -c $etc/agent.cfg $(on master1)" \
    "maekin-monitor -c $etc/monitor.cfg $(on master1) --multicast-key=$k/multicast.key"; do
    out=$("$m/usr/bin/"$check -n 2>&1) || fail "'$check -n': $out"
done
ok "each of the master's programs takes its configuration"

before=$(listing "$m")
out=$("$install" master --prefix "$m" --no-packages --bin "$MK_BUILD" --name master1 2>&1) \
    || fail "the master's second install: $out"
grep -qx "nothing to change" <<<"$out" || fail "the second run said: $out"
[ "$(listing "$m")" = "$before" ] || fail "the second run changed: $(diff <(echo "$before") <(listing "$m"))"
ok "a second run says 'nothing to change' and changes nothing"

echo "# edited" >>"$etc/agent.cfg"
chmod 644 "$etc/keys/broker.key_secret"
secret=$(sha256sum <"$etc/keys/broker.key_secret")
out=$("$install" master --prefix "$m" --no-packages --bin "$MK_BUILD" --name master1 2>&1) \
    || fail "the master's third install: $out"
grep -qx "wrote $etc/agent.cfg" <<<"$out" && grep -qx "mode 0600 $etc/keys/broker.key_secret" <<<"$out" \
    && [ "$(grep -vc "^not making" <<<"$out")" -eq 2 ] || fail "the third run said: $out"
[ "$(sha256sum <"$etc/keys/broker.key_secret")" = "$secret" ] || fail "the broker's key was made again"
ok "a run after edits puts back what was edited, and only that, keeping the keys"

# ---- A node, enrolled at a real cloud

start_broker
# The controller gives the enrolled nodes the cloud's multicast key, as the master's does.
start_controller --enrol-multicast_key="$KEYS/multicast.key"
eventually 30 "the controller writes the first administrator's password" test -s "$T/admin-password"
out=$(sh host token node9) || fail "host token node9: $out"
token=$(awk '$1 == "token" { print $2 }' <<<"$out")
n=$T/node9
# node_install PREFIX NAME TOKEN [options]: maekin-install.sh node at the test's broker.
node_install() {
    local prefix=$1 name=$2 token=$3
    shift 3
    "$install" node --prefix "$prefix" --no-packages --bin "$MK_BUILD" --master 127.0.0.1 \
        --endpoint "$BUS" --name "$name" --token "$token" --broker-key "$KEYS/broker.key" "$@"
}
out=$(node_install "$n" node9 "$token" 2>&1) || fail "the node's install: $out"
grep -qx "enrolled as host node9 at $BUS" <<<"$out" || fail "the node's install said: $out"
sh key list node9 | grep -q "node9 .*node.*node9" || fail "key list node9: $(sh key list node9)"
[ "$(cat "$n/var/lib/maekin/enrolled")" = node9 ] || fail "no enrolled marker for node9"
ok "the node enrols: its key is admitted as the node key 'node9', for node9"

etc=$n/etc/maekin
has "$etc/agent.cfg" "    endpoint = $BUS"
has "$etc/agent.cfg" "    key = /etc/maekin/keys/node9.key_secret"
has "$etc/agent.cfg" "    broker_key = /etc/maekin/keys/broker.key"
has "$etc/agent.cfg" "    hosts = node9=qemu:///system"
has "$etc/monitor.cfg" "    stream_in = tcp://127.0.0.1:$((PORT + 1))"
has "$etc/monitor.cfg" "    hosts = node9=proc"
has "$etc/monitor.cfg" "    key = /etc/maekin/keys/multicast.key"
cmp -s "$KEYS/broker.key" "$etc/keys/broker.key" || fail "the broker's key was not copied"
cmp -s "$KEYS/multicast.key" "$etc/keys/multicast.key" || fail "the node's multicast key is not the cloud's"
mode "$etc/keys/node9.key_secret" 600
mode "$etc/keys/multicast.key" 600
for unit in agent monitor; do
    [ -f "$n/etc/systemd/system/maekin-$unit.service" ] || fail "no maekin-$unit.service"
done
[ ! -e "$n/etc/systemd/system/maekin-broker.service" ] && [ ! -e "$n/usr/bin/maekin-controller" ] \
    || fail "the node has the master's units or programs"
ok "the node's configuration has the broker's endpoints, its host, its key and the multicast key its enrolment gave"

# Its agent and monitor with those files; the key paths, as the node sees them, are in
# the prefix here, and the host is the test driver's.
node_keys="--bus-key=$etc/keys/node9.key_secret --bus-broker_key=$etc/keys/broker.key"
start agent9 "$n/usr/bin/maekin-agent" -c "$etc/agent.cfg" $node_keys \
    --agent-hosts="node9=$(node node9 4 4096)" --agent-domain_type=test --agent-report_ms=300
eventually 30 "the node's agent, with its configuration, brings node9 up" is host node9 state up
start monitor9 "$n/usr/bin/maekin-monitor" -c "$etc/monitor.cfg" $node_keys \
    --multicast-key="$etc/keys/multicast.key" --monitor-hosts=node9=synthetic:20:30 --monitor-interval_ms=200
out=$(timeout 30 "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-stream_out=$STREAM_OUT metrics tail --count 2) \
    && grep -q node9 <<<"$out" || fail "no metrics of node9: $out"
ok "the node's monitor, with its configuration, publishes node9's metrics"

before=$(listing "$n")
out=$(node_install "$n" node9 "$token" 2>&1) || fail "the node's second install: $out"
[ "$out" = "not making the user maekin: --prefix
nothing to change" ] || fail "the node's second run said: $out"
[ "$(listing "$n")" = "$before" ] || fail "the node's second run changed: $(diff <(echo "$before") <(listing "$n"))"
enrolments=$(sh --output json audit list | grep -c '"request": "enrol"')
[ "$enrolments" -eq 1 ] || fail "$enrolments enrolments in the audit log, not 1"
ok "the node's second run changes nothing and does not enrol again"

# ---- Bad input

expect_fail "a made-up token is refused with the controller's reason" 1 \
    "enrolment of node8 .*this join token is not valid" \
    node_install "$T/node8" node8 mkj_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
expect_fail "node9's token, spent, is refused" 1 "this join token is not valid" node_install "$T/node8" node8 "$token"
[ ! -e "$T/node8/var/lib/maekin/enrolled" ] || fail "a refused enrolment left the marker"
ok "a refused enrolment leaves no marker"
# A multicast key that cannot be kept: the enrolment stands (the token is spent), said.
keys node8
expect_fail "an enrolment whose multicast key cannot be written says so" 1 \
    "enrolled, but the cloud's multicast key could not be kept: cannot make $T/no/such/dir/multicast.key.new" \
    "$MK_BUILD/maekinsh" --bus-endpoint=$BUS --bus-key="$KEYS/node8.key_secret" \
    enrol "$(sh host token node8 | awk '$1 == "token" { print $2 }')" --multicast-key "$T/no/such/dir/multicast.key"
sh key list node8 | grep -q "node8 .*node.*node8" || fail "node8 is not enrolled: $(sh key list node8)"
# usage STATUS PATTERN ARGS...: maekin-install.sh exits with STATUS and one line on
# stderr matching PATTERN, and writes nothing.
usage() {
    local status=$1 pattern=$2 out rc
    shift 2
    rm -rf "$T/bad"
    out=$("$install" "$@" 2>&1 >/dev/null); rc=$?
    [ $rc -eq "$status" ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -qE -- "^maekin-install: .*$pattern" <<<"$out" \
        || fail "'maekin-install.sh $*' exited $rc, said: $out"
    [ ! -e "$T/bad" ] || fail "'maekin-install.sh $*' wrote $(find "$T/bad")"
}
common=(--prefix "$T/bad" --no-packages --bin "$MK_BUILD" --master 127.0.0.1)
usage 2 "needs --name" node "${common[@]}" --token "$token" --broker-key "$KEYS/broker.key"
usage 2 "needs --token" node "${common[@]}" --name node8 --broker-key "$KEYS/broker.key"
usage 2 "needs --broker-key" node "${common[@]}" --name node8 --token "$token"
usage 2 "needs --master" node --prefix "$T/bad" --name node8 --token "$token" --broker-key "$KEYS/broker.key"
usage 2 "is not a join token" node "${common[@]}" --name node8 --token mkj_short --broker-key "$KEYS/broker.key"
usage 2 "host name 'Node8'" node "${common[@]}" --name Node8 --token "$token" --broker-key "$KEYS/broker.key"
usage 2 "not a public key file" node "${common[@]}" --name node8 --token "$token" --broker-key "$KEYS/broker.key_secret"
usage 2 "--endpoint 'tcp://127.0.0.1' is not" node "${common[@]}" --name node8 --token "$token" \
    --broker-key "$KEYS/broker.key" --endpoint tcp://127.0.0.1
usage 2 "are for a node" master --prefix "$T/bad" --token "$token"
usage 2 "unknown option '--colour'" master --prefix "$T/bad" --colour
usage 2 "master or node, not 'worker'" worker
ok "bad arguments: exit 2, one line saying why, nothing written"

# ---- The kickstarts

# The kickstarts install the programs built here (make dist) on Rocky/AlmaLinux 9, whose
# glibc is 2.34: none may need a newer symbol of it (their other libraries are EL9's by
# the same sonames, from EPEL for czmq, zeromq and libsodium).
for program in maekin-broker maekin-controller maekin-agent maekin-monitor maekin-dhcp maekinsh; do
    newest=$(objdump -T "$MK_BUILD/$program" | grep -o 'GLIBC_2\.[0-9]*' | sort -V | tail -n 1)
    [ "$(printf '%s\n' "$newest" GLIBC_2.34 | sort -V | tail -n 1)" = GLIBC_2.34 ] \
        || fail "$program needs $newest: RHEL 9's glibc is 2.34 ($(objdump -T "$MK_BUILD/$program" | grep -F "$newest" | head -n 3))"
done
ok "the programs need glibc 2.34 at most, RHEL 9's"

mac=52:54:00:12:34:56
ks_token=mkj_Abc-DEF_ghi0123456789abcdefghijklmnopqrstuv
key='Yl/FoRMjj#>s%GbKCa&k4Y2<A(?bO)&D$]^Tvwd7'
printf 'curve\n    public-key = "%s"\n' "$key" >"$T/ks-broker.key"
ks_node() { "$kickstart" node --master 10.1.2.3 --name node9 --mac $mac --token $ks_token --broker-key "$T/ks-broker.key" "$@"; }
ks_node >"$T/node.ks" 2>"$T/ks.err" || fail "maekin-kickstart node: $(cat "$T/ks.err")"
has "$T/node.ks" "network --bootproto=dhcp --device=$mac --hostname=node9 --activate --onboot=no"
[ "$(grep -cxF "mac-address=$mac" "$T/node.ks")" -eq 2 ] || fail "the bridge and its port do not have $mac"
has "$T/node.ks" "curl -fsS --retry 5 http://10.1.2.3/maekin/maekin.tar.gz | tar -xz -C /opt/maekin"
has "$T/node.ks" "    public-key = \"$key\""
has "$T/node.ks" "token=$ks_token"
has "$T/node.ks" "/opt/maekin/install/maekin-install.sh node --master 10.1.2.3 --name node9 --token \"\$token\" \\"
! grep -nE '@[A-Z_]*@' "$T/node.ks" || fail "a placeholder is left in the node's kickstart"
ok "the node's kickstart has its MAC, name, token, master and the broker's key in their places, nothing unfilled"
# post_token KICKSTART CMDLINE: the join token the kickstart's %post takes when the
# installer's kernel command line is CMDLINE (its token lines run alone, /proc/cmdline
# that line in a mount namespace of their own).
post_token() {
    printf '%s\n' "$2" >"$T/cmdline"
    { awk '/^token=/,/^}$/' "$1"; echo 'echo "$token"'; } >"$T/post-token.sh"
    unshare -m bash -c 'mount --bind "$1" /proc/cmdline && exec bash "$2"' _ "$T/cmdline" "$T/post-token.sh"
}
pxe_token=mkj_PXE-pxe_0123456789abcdefghijklmnopqrstuvwxy
cmdline="BOOT_IMAGE=vmlinuz console=ttyS0 maekin.name=node9 maekin.token=$pxe_token maekin.master=10.1.2.3"
[ "$(post_token "$T/node.ks" "$cmdline")" = "$pxe_token" ] || fail "%post took $(post_token "$T/node.ks" "$cmdline") from $cmdline"
[ "$(post_token "$T/node.ks" "console=ttyS0")" = "$ks_token" ] || fail "%post did not take the filled token"
ks_node --token "" >"$T/node-pxe.ks" 2>"$T/ks.err" || fail "maekin-kickstart node without --token: $(cat "$T/ks.err")"
grep -x "token=" "$T/node-pxe.ks" >/dev/null && ! grep -qE "mkj_[A-Za-z0-9_-]{43}" "$T/node-pxe.ks" || fail "a kickstart made without --token holds one: $(grep -n "token=\|mkj_" "$T/node-pxe.ks")"
[ "$(post_token "$T/node-pxe.ks" "$cmdline")" = "$pxe_token" ] || fail "%post without a filled token took $(post_token "$T/node-pxe.ks" "$cmdline")"
out=$(post_token "$T/node-pxe.ks" "console=ttyS0 maekin.name=node9" 2>&1) && fail "%post went on with no token: $out"
grep -q "no join token: maekin.token= is not on the kernel command line" <<<"$out" || fail "%post with no token said: $out"
ok "%post takes the token from the kernel command line (maekin-pxe's), else the filled one, else stops saying why"
ks_node --repo https://repo.example/maekin >"$T/node.ks" 2>"$T/ks.err" \
    || fail "maekin-kickstart node --repo: $(cat "$T/ks.err")"
has "$T/node.ks" "curl -fsS --retry 5 https://repo.example/maekin/maekin.tar.gz | tar -xz -C /opt/maekin"
"$kickstart" master --repo http://10.1.2.3/maekin --name master1 >"$T/master.ks" 2>"$T/ks.err" \
    || fail "maekin-kickstart master: $(cat "$T/ks.err")"
has "$T/master.ks" "network --bootproto=dhcp --device=link --hostname=master1 --activate --onboot=no"
has "$T/master.ks" "curl -fsS --retry 5 http://10.1.2.3/maekin/maekin.tar.gz | tar -xz -C /opt/maekin"
has "$T/master.ks" "/opt/maekin/install/maekin-install.sh master --name master1"
has "$T/master.ks" "dnsmasq"
! grep -nE '@[A-Z_]*@' "$T/master.ks" || fail "a placeholder is left in the master's kickstart"
ok "the master's kickstart has its name and repository, nothing unfilled"

expect_fail "an uppercase MAC is refused" 2 "--mac '52:54:00:AB:CD:EF' is not six lowercase hex pairs" \
    ks_node --mac 52:54:00:AB:CD:EF
expect_fail "a short MAC is refused" 2 "is not six lowercase hex pairs" ks_node --mac 52:54:00:12:34
expect_fail "a bad token is refused" 2 "--token is not a join token" ks_node --token mkj_abc
expect_fail "a bad name is refused" 2 "host name '-node' is not" ks_node --name -node
expect_fail "a node's kickstart needs its MAC" 2 "needs --mac" \
    "$kickstart" node --master 10.1.2.3 --name node9 --token $ks_token --broker-key "$T/ks-broker.key"
expect_fail "the master's kickstart takes no token" 2 "are for a node's kickstart" \
    "$kickstart" master --repo http://10.1.2.3/maekin --token $ks_token
mkdir -p "$T/templates"
cp "$MK_SRC/install/kickstart/"*.ks.in "$T/templates/"
echo "# site: @SITE@" >>"$T/templates/node.ks.in"
out=$(MK_KICKSTART_DIR=$T/templates ks_node 2>"$T/ks.err"); rc=$?
[ $rc -eq 1 ] && [ -z "$out" ] && grep -q "nothing fills the placeholder @SITE@" "$T/ks.err" \
    || fail "a template with @SITE@: exit $rc, printed '$out', said: $(cat "$T/ks.err")"
ok "a template with a placeholder nothing fills is refused, naming it, and nothing is printed"
