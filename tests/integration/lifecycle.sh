#!/bin/bash
# The foundation end to end: the real broker, controller and three agents on libvirt's
# test driver, driven with maekinsh. A VM's whole life, placement until a host is full,
# an agent killed and restarted (reconcile and repair), the controller killed mid-way
# (accepted tasks still complete), a retried request that must not create twice, and
# bad input at every edge.
. "$(dirname "$0")/lib.bash"
# On MariaDB (lifecycle-mysql.sh), a schema of its own, not the one earlier tests left.
[[ ${DB_URL:-} != mysql://* ]] || mysql_fresh

start_broker
start_controller
# node1 fills first: 1 CPU at the default 400% vCPU overcommit holds four 1-vCPU VMs.
start_agent node1 "$(node node1 1 1024)"
start_agent node2 "$(node node2 2 2048)"
start_agent node3 "$(node node3 4 4096)"

up_hosts() { [ "$(sh host list --state up | tail -n +2 | wc -l)" -eq "$1" ]; }
eventually 10 "three hosts register and are up" up_hosts 3
backend=${DB_URL:-sqlite:}
grep -q "db: ${backend%%:*} database migrated" "$T/controller.log" \
    || fail "the controller does not say it migrated a ${backend%%:*} database"
ok "the controller's state is in ${backend%%:*}"
password=$(sed -n 's|^[a-z]*://[^:@/]*:\([^@]*\)@.*|\1|p' <<<"${DB_URL:-}")
if [ -n "$password" ] && grep -qF -- "$password" "$T"/*.log; then
    fail "a log shows the database password"
fi

# --- templates
expect_ok "template tiny created" sh template create tiny --vcpus 1 --memory 64
expect_fail "a second template tiny is refused" 1 "exists already" sh template create tiny --vcpus 1 --memory 64
expect_fail "a template with 0 vCPUs is refused" 1 "vcpus" sh template create zero --vcpus 0 --memory 64
expect_fail "a template without --memory is a usage error" 2 "memory" sh template create nomem --vcpus 1
expect_ok "template list shows tiny" bash -c "$MK_BUILD/maekinsh --bus-endpoint=$BUS template list | grep -q tiny"

# --- a VM's whole life
expect_ok "vm create web-1 --wait" sh vm create web-1 --template tiny --wait
[ "$(field vm web-1 state)" = running ] || fail "web-1 is $(field vm web-1 state), not running"
ok "web-1 is running"
[ "$(field vm web-1 host)" = node1 ] || fail "web-1 was placed on $(field vm web-1 host), not node1 (first fit)"
ok "web-1 is on node1 (first fit)"
expect_fail "starting a running VM is refused" 1 "already running" sh vm start web-1
for step in "suspend paused" "resume running" "reboot running" "stop stopped" "start running" "destroy stopped"; do
    set -- $step
    expect_ok "vm $1 web-1" sh vm "$1" web-1 --wait
    [ "$(field vm web-1 state)" = "$2" ] || fail "after $1, web-1 is $(field vm web-1 state), not $2"
    ok "web-1 is $2 after $1"
done
expect_ok "vm delete web-1" sh vm delete web-1 --wait
expect_fail "a deleted VM is gone" 1 "no VM named 'web-1'" sh vm show web-1
expect_fail "an unknown VM is an error" 1 "no VM named 'ghost'" sh vm stop ghost

# --- placement until a host is full
for i in 1 2 3 4 5; do expect_ok "vm create p$i" sh vm create p$i --template tiny --wait; done
for i in 1 2 3 4; do [ "$(field vm p$i host)" = node1 ] || fail "p$i is on $(field vm p$i host)"; done
[ "$(field vm p5 host)" = node2 ] || fail "p5 is on $(field vm p5 host), not node2"
ok "four VMs fill node1, the fifth goes to node2"
expect_fail "a VM asked onto the full node1 is refused" 1 "no room.*node1" sh vm create p6 --template tiny --host node1
[ "$(field host node1 vms)" = 4 ] || [ "$(sh host show node1 | grep -ciE '^vm.*: *4$')" -ge 1 ] || fail "host show node1 does not count 4 VMs: $(sh host show node1)"
ok "host show node1 counts its 4 VMs"

# --- an agent killed: its host goes down, its VMs refuse actions, then it comes back
stop agent-node2 KILL
eventually 10 "node2 goes down when its agent dies" is host node2 state down
expect_fail "an action on a VM of a down host fails clearly" 1 "node2.*down" sh vm stop p5
start_agent node2 "test://$T/node2.xml"
eventually 10 "node2 comes back up" is host node2 state up
# The restarted agent's test driver starts empty: the controller repairs p5.
eventually 10 "p5 is repaired (defined and started again) on node2" is vm p5 state running
expect_ok "the repair is a task" bash -c "$MK_BUILD/maekinsh --bus-endpoint=$BUS task list --vm p5 | grep -q create"
sh host domains node2 | grep -qE '^p5 +running ' || fail "libvirt on node2 does not run p5: $(sh host domains node2)"
ok "libvirt on node2 runs p5 again"
expect_ok "p5 can be stopped again" sh vm stop p5 --wait

# --- the controller killed with tasks accepted but not done
kill -STOP "${PIDS[agent-node3]}"
for i in 1 2 3; do expect_ok "vm create k$i accepted" sh vm create k$i --template tiny --host node3; done
stop controller KILL
# node3's agent is still stopped: a restarted controller does not know whether node3
# is up (the database says it was) until its agent reports. A long host timeout keeps
# it from going down meanwhile, whatever the machine's speed.
start_controller --controller-host_timeout_ms=600000
eventually 10 "after a restart, node3 is unknown until its agent reports" is host node3 state unknown
expect_fail "host domains of an unknown host says why" 1 "node3.*unknown.*not reported since the controller started" sh host domains node3
kill -CONT "${PIDS[agent-node3]}"
eventually 10 "node3 is up once its agent reports" is host node3 state up
for i in 1 2 3; do eventually 20 "k$i, accepted before the controller died, is running" is vm k$i state running; done

# --- a retried request (the reply lost) creates one VM, not two
kill -STOP "${PIDS[controller]}"
sh --timeout-ms 700 vm create r1 --template tiny > "$T/retry.out" 2>&1 &
retry=$!
sleep 1.6
kill -CONT "${PIDS[controller]}"
wait $retry || fail "the retried create failed: $(cat "$T/retry.out")"
[ "$(sh vm list --name-prefix r1 | tail -n +2 | wc -l)" -eq 1 ] || fail "r1 exists $(sh vm list --name-prefix r1 | tail -n +2 | wc -l) times"
[ "$(sh task list --vm r1 | tail -n +2 | wc -l)" -eq 1 ] || fail "r1 has $(sh task list --vm r1 | tail -n +2 | wc -l) tasks"
ok "a request retried after its reply was lost made one VM and one task"

# --- libvirt and the database agree, host by host: nothing missing, nothing extra
for h in node1 node2 node3; do
    in_db=$(sh vm list --host $h | tail -n +2 | awk '{ print $1 }' | sort | tr '\n' ' ')
    in_libvirt=$(sh host domains $h | tail -n +2 | awk '{ print $1 }' | sort | tr '\n' ' ')
    [ "$in_db" = "$in_libvirt" ] || fail "$h: the database has '$in_db', libvirt '$in_libvirt'"
    ok "$h: libvirt has exactly the VMs the database places there"
done
expect_fail "host domains of an unknown host" 1 "no host named 'node9'" sh host domains node9

# --- bad input at the edges
expect_fail "maekinsh: unknown command" 2 "unknown" sh fly
expect_fail "maekinsh: bad VM name" 2 "name" sh vm create "Bad Name" --template tiny
expect_fail "maekinsh: vcpus not a number" 2 "vcpus" sh template create t2 --vcpus many --memory 64
expect_fail "maekinsh: no cloud at the address" 3 "reach|no reply" "$MK_BUILD/maekinsh" --bus-endpoint=tcp://127.0.0.1:1 --timeout-ms 300 vm list
raw() { "$MK_BUILD/mk_raw" $BUS 2000 "$@"; }
expect_fail "broker: garbage gets no answer and changes nothing" 1 "no answer" raw garbage frames
expect_fail "broker: a short request is answered 400" 0 "status 400" raw hdr:REQUEST cloud short body
expect_fail "broker: another protocol version is answered 505" 0 "status 505" raw hdr9:REQUEST cloud id:5 body
expect_fail "broker: a client's key may only send to cloud (403)" 0 "status 403" raw hdr:REQUEST nowhere id:5 body
# The controller's key may send anywhere: a service nobody serves is answered 404.
MAEKIN_BUS_KEY=$KEYS/controller.key_secret expect_fail "broker: an unknown service is answered 404" 0 "status 404" \
    raw hdr:REQUEST nowhere id:5 body
expect_fail "controller: a body that is not protobuf is answered 400" 0 "envelope status 400 reason malformed" raw hdr:REQUEST cloud id:5 "not protobuf"
expect_fail "controller: an empty body is answered 400" 0 "envelope status 400 reason malformed" raw hdr:REQUEST cloud id:5 hex:
expect_fail "controller: an envelope of another version is answered 505" 0 "envelope status 505" raw hdr:REQUEST cloud id:5 hex:0802
expect_ok "the cloud still answers after all that" sh vm list
printf 'bus\n    endpiont = x\n' > "$T/bad.cfg"
expect_fail "controller: a bad configuration file is refused" 2 "unknown setting 'bus/endpiont'" "$MK_BUILD/maekin-controller" -c "$T/bad.cfg"
expect_fail "broker: a bad flag is refused" 2 "unknown option" "$MK_BUILD/maekin-broker" --bus-nothing=1
expect_fail "broker: a timeout that would wrap around is refused" 2 "timeout_s 1..604800" "$MK_BUILD/maekin-broker" -n --broker-timeout_s=4294969
expect_fail "controller: a request ttl past a year is refused" 2 "request_ttl_s' must be 60..31536000" "$MK_BUILD/maekin-controller" -n --controller-request_ttl_s=2147483647
expect_fail "controller: a number past 32 bits is refused" 2 "from 0 to 2147483647" "$MK_BUILD/maekin-controller" -n --controller-task_timeout_s=4294967297
expect_fail "agent: a bad host pair is refused" 2 "host" "$MK_BUILD/maekin-agent" --agent-hosts=Bad!=x
expect_fail "controller: -n checks and exits" 0 "configuration ok" "$MK_BUILD/maekin-controller" -n $(bus_opts controller)
expect_fail "controller: a database it cannot open stops it with the reason" 1 "cannot open '/nonexistent/dir/x.db'.*directory exist" \
    "$MK_BUILD/maekin-controller" $(bus_opts controller) --bus-endpoint=$BUS --db-url=sqlite:/nonexistent/dir/x.db
cp "$T/maekin.db" "$T/newer.db" 2>/dev/null || "$MK_BUILD/maekin-controller" -n >/dev/null
if [ -f "$T/newer.db" ] && command -v sqlite3 >/dev/null; then
    sqlite3 "$T/newer.db" "UPDATE meta SET value = '99' WHERE name = 'schema_version'"
    expect_fail "controller: a database from a newer Maekin is refused, saying so" 1 "schema version 99 is newer" \
        "$MK_BUILD/maekin-controller" $(bus_opts controller) --bus-endpoint=$BUS --db-url="sqlite:$T/newer.db"
fi
if [[ ${DB_URL:-} == mysql://* ]]; then
    wrong=$(sed 's|^\(mysql://[^:@/]*:\)[^@]*@|\1wrong-password@|' <<<"$DB_URL")
    expect_fail "controller: a wrong database password stops it, naming the user" 1 "Access denied for user" \
        "$MK_BUILD/maekin-controller" $(bus_opts controller) --bus-endpoint=$BUS --db-url="$wrong"
    expect_fail "controller: an unreachable database server stops it" 1 "cannot connect to MySQL" \
        "$MK_BUILD/maekin-controller" $(bus_opts controller) --bus-endpoint=$BUS --db-url="mysql://maekin@127.0.0.1:1/maekin"
fi
for f in "$MK_SRC"/deploy/etc/*.cfg; do
    p=maekin-$(basename "$f" .cfg)
    # The keys the file names are the installed node's: this machine's stand in.
    case $p in
        maekin-broker) keyed="--bus-key=$KEYS/broker.key_secret --bus-controller_key=$KEYS/controller.key" ;;
        maekin-controller) keyed="$(bus_opts controller) --bus-client_key=$KEYS/maekinsh.key --enrol-multicast_key=$KEYS/multicast.key" ;;
        maekin-monitor) keyed="$(bus_opts controller) --multicast-key=$KEYS/multicast.key" ;;
        # Its certificate is the site's, as the keys are: the test has none (plain HTTP).
        maekin-gateway) keyed="$(bus_opts controller) --gateway-certificate=" ;;
        # Its API key and dnsmasq are the master's: a key of the right form stands in.
        maekin-dhcp)
            printf 'mka_%043d\n' 0 >"$T/dhcp.apikey"
            chmod 600 "$T/dhcp.apikey"
            keyed="$(bus_opts controller) --dhcp-key_file=$T/dhcp.apikey --dhcp-dnsmasq=" ;;
        *) keyed=$(bus_opts controller) ;;
    esac
    expect_fail "$p: the shipped $(basename "$f") passes -n" 0 "configuration ok" "$MK_BUILD/$p" -c "$f" -n $keyed
done
expect_fail "controller: a CURVE bus without keys is refused, saying how" 2 "bus/key is not set.*keygen.*bus/security=none" \
    "$MK_BUILD/maekin-controller" -n
expect_fail "broker: without the controller's key it is refused" 2 "bus/controller_key is not set" \
    "$MK_BUILD/maekin-broker" -n --bus-key="$KEYS/broker.key_secret"
expect_fail "agent: an unknown bus security is refused" 2 "'curve' or 'none'" \
    "$MK_BUILD/maekin-agent" -n --bus-security=ssl
expect_ok "monitor: a plain bus is what it says" "$MK_BUILD/maekin-monitor" -n --bus-security=none
expect_fail "agent: -n refuses a domain type it cannot write" 2 "domain type 'xen'" "$MK_BUILD/maekin-agent" --agent-domain_type=xen -n
