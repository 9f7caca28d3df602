#!/bin/bash
# Virtual Infrastructures through maekinsh, on the real controller and an agent on
# libvirt's test driver: VIs made and given templates and quotas by the administrator;
# two VIs each with a VM named web-1, each user seeing and driving only their own; the
# table of roles, every role against every operation, a refusal changing nothing and
# standing in the audit log; a VI's owner reading its audit log; quotas that many
# concurrent creates from several clients never pass; a VI with VMs not deleted; bad
# input. On SQLite, and on MariaDB as vis-mysql.sh.
set -u
. "$(dirname "$0")/lib.bash"
[[ ${DB_URL:-} != mysql://* ]] || mysql_fresh

# as WHO ARGS...: maekinsh with WHO's own session (logged in by add_user).
as() {
    local who=$1
    shift
    if [ "$who" = admin ]; then sh "$@"; else XDG_CONFIG_HOME=$T/as-$who "$MK_BUILD/maekinsh" --bus-endpoint=$BUS "$@"; fi
}
# add_user NAME: a user with a password, logged in.
add_user() {
    printf '%s\n' "pw-of-$1-123" >"$T/$1.pw"
    sh user create "$1" --password-file "$T/$1.pw" >/dev/null || fail "user create $1"
    as "$1" login "$1" --password-file "$T/$1.pw" >/dev/null || fail "login $1"
}
# state VI VM: the VM's state, as the administrator sees it ("" if there is none).
state() { sh vm show "$2" --vi "$1" 2>/dev/null | awk -F': *' '$1 == "state" { print $2 }'; }
# members VI: "user:role ..." of the VI.
members() {
    sh --output json vi show "$1" \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("vi", d); print(" ".join(m["user"]+":"+m["role"] for m in d.get("members", [])))'
}
# used VI FIELD: what the VI's VMs take now.
used() {
    sh --output json vi show "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("vi", d)["used"][sys.argv[1]])' "$2"
}

start_broker
start_controller
start_agent node1 "$(node node1 64 65536)"
eventually 30 "the host is up" is host node1 state up
expect_ok "template tiny" sh template create tiny --vcpus 1 --memory 64 --disk 2
expect_ok "template big" sh template create big --vcpus 4 --memory 512
expect_fail "the cloud starts with the default VI" 0 "^default +admin" sh vi list

# --- VIs, as the administrator makes them
for u in olivia mark oscar vera bob eve racer1 racer2 racer3 racer4; do add_user "$u"; done
ok "users made and logged in"
expect_fail "vi create acme, owned by olivia" 0 "name: acme" \
    sh vi create acme --owner olivia --vcpus 8 --vms 3 --description "the ACME company"
expect_fail "a second acme is refused" 1 "exists already" sh vi create acme
expect_fail "a VI owned by no such user is refused" 1 "no user named 'nobody'" sh vi create gamma --owner nobody
expect_fail "a bad VI name is refused before anything is sent" 2 "not a valid VI name" sh vi create "Bad VI"
expect_ok "vi create beta, owned by bob" sh vi create beta --owner bob
[ "$(sh vi list | tail -n +2 | awk '{ print $1 }' | tr '\n' ' ')" = "acme beta default " ] \
    || fail "vi list: $(sh vi list)"
ok "vi list: acme, beta, default"
expect_fail "a VI may use no template until given one" 1 "may not use template 'tiny'" \
    as olivia vm create web-1 --vi acme --template tiny
expect_fail "vi template add" 0 "templates\[0\]: tiny" sh vi template add acme --template tiny
expect_fail "a template given twice is refused" 1 "may use 'tiny' already" sh vi template add acme --template tiny
expect_fail "no such template" 1 "no template named 'huge'" sh vi template add acme --template huge
expect_ok "beta may use tiny and big" bash -c "'$MK_BUILD/maekinsh' --bus-endpoint=$BUS vi template add beta --template tiny && '$MK_BUILD/maekinsh' --bus-endpoint=$BUS vi template add beta --template big"
expect_fail "the default VI uses every template" 1 "every template" sh vi template add default --template tiny
names() { tail -n +2 | awk '{ print $1 }' | tr '\n' ' '; }
[ "$(as olivia template list | names)" = "tiny " ] && [ "$(as bob template list | names)" = "big tiny " ] \
    && [ "$(sh template list --vi acme | names)" = "tiny " ] && [ "$(sh template list | names)" = "big tiny " ] \
    || fail "template lists: olivia '$(as olivia template list | names)', acme's '$(sh template list --vi acme | names)'"
ok "each sees the templates their VIs may use; the administrator all"

# --- members, as the owner makes them
expect_ok "olivia invites mark as manager" as olivia vi member add acme --user mark --role manager
expect_ok "... oscar as operator" as olivia vi member add acme --user oscar --role operator
expect_ok "... vera as viewer" as olivia vi member add acme --user vera --role viewer
expect_fail "a member is not added twice" 1 "a member of VI 'acme' already" \
    as olivia vi member add acme --user vera --role operator
expect_fail "the only owner stays an owner" 1 "the only owner of VI 'acme'" \
    as olivia vi member role acme --user olivia --role viewer
expect_fail "no role 'boss'" 2 "--role must be one of" as olivia vi member add acme --user eve --role boss
[ "$(members acme)" = "mark:manager olivia:owner oscar:operator vera:viewer" ] \
    || fail "acme's members: $(members acme)"
ok "acme's members and their roles"
expect_fail "eve holds no role: she sees no VI" 0 "^no vis" as eve vi list
expect_fail "eve cannot tell acme from no VI" 1 "no Virtual Infrastructure named 'acme' that you hold a role in" \
    as eve vi show acme
expect_fail "eve may not read VMs" 1 "no role in any Virtual Infrastructure" as eve vm list

# --- two VIs, each with its web-1
expect_ok "mark creates web-1 in acme (his only VI: no --vi needed)" as mark vm create web-1 --template tiny --wait
expect_ok "bob creates web-1 in beta" as bob vm create web-1 --template tiny --wait
[ "$(state acme web-1)" = running ] && [ "$(state beta web-1)" = running ] \
    || fail "web-1 is '$(state acme web-1)' in acme and '$(state beta web-1)' in beta"
ok "two VMs named web-1, one in each VI, both running"
domains=$(sh host domains node1 | tail -n +2 | awk '{ print $1 }' | sort | tr '\n' ' ')
[ "$domains" = "acme:web-1 beta:web-1 " ] || fail "libvirt's domains: $domains"
ok "libvirt knows them as acme:web-1 and beta:web-1"
[ "$(as mark vm list | tail -n +2 | awk '{ print $1 "/" $2 }' | tr '\n' ' ')" = "web-1/acme " ] \
    || fail "mark's vm list: $(as mark vm list)"
[ "$(as bob vm list | tail -n +2 | awk '{ print $1 "/" $2 }' | tr '\n' ' ')" = "web-1/beta " ] \
    || fail "bob's vm list: $(as bob vm list)"
[ "$(sh vm list | tail -n +2 | awk '{ print $1 "/" $2 }' | tr '\n' ' ')" = "web-1/acme web-1/beta " ] \
    || fail "the administrator's vm list: $(sh vm list)"
ok "each sees their own web-1; the administrator both"
beta_uuid=$(sh vm show web-1 --vi beta | awk -F': *' '$1 == "uuid" { print $2 }')
expect_fail "mark cannot see beta's web-1 by name" 1 "no Virtual Infrastructure named 'beta' that you hold a role in" \
    as mark vm show web-1 --vi beta
expect_fail "nor stop it by its UUID" 1 "no VM with UUID $beta_uuid" as mark vm stop "$beta_uuid"
expect_fail "bob finds his by UUID" 0 "vi: beta" as bob vm show "$beta_uuid"
[ "$(state beta web-1)" = running ] || fail "beta's web-1 is $(state beta web-1) after mark's tries"
beta_task=$(as bob task list | awk 'NR == 2 { print $1 }')
expect_fail "mark cannot see bob's task" 1 "no task $beta_task" as mark task show "$beta_task"
[ "$(as mark task list | tail -n +2 | awk '{ print $5 }' | sort -u)" = acme ] || fail "mark's task list: $(as mark task list)"
ok "mark's task list holds acme's tasks only"
[ "$(as mark task list --vm web-1 | tail -n +2 | awk '{ print $4 "/" $5 }' | sort -u)" = web-1/acme ] \
    || fail "mark's task list --vm web-1: $(as mark task list --vm web-1)"
[ "$(as mark vm list --name-prefix web | tail -n +2 | awk '{ print $1 "/" $2 }')" = web-1/acme ] \
    || fail "mark's vm list --name-prefix web: $(as mark vm list --name-prefix web)"
ok "a VM named in a list is in one's own VI"

# --- the table of roles: every role against every operation
# try ROLE-USER OP: runs the operation as the user; 0 if it was allowed, 1 if refused
# (then it must say why, and change nothing).
try() {
    local who=$1 op=$2 out
    case $op in
        see) out=$(as "$who" vm show web-1 --vi acme 2>&1) ;;
        operate)
            out=$(as "$who" vm stop web-1 --vi acme --wait 2>&1) \
                && { as "$who" vm start web-1 --vi acme --wait >/dev/null 2>&1 || fail "$who: start after stop"; } ;;
        build)
            out=$(as "$who" vm create "t-$who" --vi acme --template tiny --wait 2>&1) \
                && { as "$who" vm stop "t-$who" --vi acme --wait >/dev/null 2>&1 \
                    && as "$who" vm delete "t-$who" --vi acme --wait >/dev/null 2>&1 || fail "$who: stop and delete t-$who"; } ;;
        members)
            out=$(as "$who" vi member add acme --user eve --role viewer 2>&1) \
                && { as "$who" vi member remove acme --user eve >/dev/null 2>&1 || fail "$who: remove eve"; } ;;
        audit) out=$(as "$who" audit list --vi acme --limit 5 2>&1) ;;
        govern) out=$(as "$who" vi quota acme --vms 3 2>&1) ;;
        templates)
            out=$(as "$who" template create "t-$who" --vi acme --vcpus 1 --memory 64 2>&1) \
                && { as "$who" template delete "t-$who" --vi acme >/dev/null 2>&1 || fail "$who: template delete t-$who"; } ;;
    esac
    local rc=$?
    [ $rc -eq 0 ] && return 0
    [ $rc -eq 1 ] || fail "$who $op: exit $rc: $out"
    grep -qE "needs the operator role|needs the manager role|only the VI's owners|only the cloud's administrator|no role in this Virtual" <<<"$out" \
        || fail "$who $op: refused without the reason: $out"
    return 1
}
#            see operate build members audit govern templates
declare -A may=(
    [vera]="1 0 0 0 0 0 0"
    [oscar]="1 1 0 0 0 0 0"
    [mark]="1 1 1 0 0 0 1"
    [olivia]="1 1 1 1 1 0 1"
    [admin]="1 1 1 1 1 1 1")
ops=(see operate build members audit govern templates)
for who in vera oscar mark olivia admin; do
    read -ra want <<<"${may[$who]}"
    for i in "${!ops[@]}"; do
        op=${ops[$i]}
        try "$who" "$op" && got=1 || got=0
        [ "$got" = "${want[$i]}" ] || fail "$who $op: $([ "$got" = 1 ] && echo allowed || echo refused), the table says otherwise"
    done
    ok "the table of roles holds for $who"
done
# The table the docs print is the one enforced.
"$MK_BUILD/maekin-controller" --roles >"$T/roles.md" || fail "maekin-controller --roles"
[ "$(wc -l <"$T/roles.md")" -eq 8 ] || fail "maekin-controller --roles: $(cat "$T/roles.md")"
while IFS= read -r line; do
    grep -qxF -- "$line" "$MK_SRC/README.md" || fail "README's table of roles lacks: $line"
done <"$T/roles.md"
ok "README prints the table maekin-controller enforces"
# Refusals changed nothing, and stand in the audit log.
[ "$(state acme web-1)" = running ] || fail "acme's web-1 is $(state acme web-1)"
[ -z "$(state acme t-vera)$(state acme t-oscar)" ] || fail "a refused create made a VM"
[ "$(members acme)" = "mark:manager olivia:owner oscar:operator vera:viewer" ] || fail "members: $(members acme)"
log=$(sh audit list --vi acme) || fail "audit list --vi acme"
grep -qE " vera +session +vm_stop +acme +web-1 +403 +starting and stopping VMs needs the operator role" <<<"$log" \
    || fail "vera's refused stop is not in the audit log: $log"
grep -qE " oscar +session +vm_create +acme +t-oscar +403 " <<<"$log" || fail "oscar's refused create is not logged"
grep -qE " mark +session +vi_member_add +acme +eve +403 " <<<"$log" || fail "mark's refused member add is not logged"
grep -qE " olivia +session +vi_quota +acme +acme +403 " <<<"$log" || fail "olivia's refused quota is not logged"
grep -qE " mark +session +vm_create +acme +t-mark +202 " <<<"$log" || fail "mark's create is not logged"
ok "every refusal stands in the audit log, with its reason"
expect_fail "an owner reads her VI's audit log only" 1 "only the cloud's administrator reads the whole" as olivia audit list
expect_fail "... not another VI's" 1 "no Virtual Infrastructure named 'beta'" as olivia audit list --vi beta

# --- a VI's own templates
expect_ok "mark makes acme's own template" as mark template create own --vi acme --vcpus 1 --memory 128
expect_fail "not one for the whole cloud" 1 "only the cloud's administrator changes the cloud's templates" \
    as mark template create everyone --vcpus 1 --memory 64
expect_fail "a viewer makes none" 1 "needs the manager role" as vera template create v --vi acme --vcpus 1 --memory 64
[ "$(as mark template list | tail -n +2 | awk '{ print $1 "/" $2 }' | tr '\n' ' ')" = "own/acme tiny/- " ] \
    || fail "mark's templates: $(as mark template list)"
[ "$(as bob template list | names)" = "big tiny " ] || fail "bob's templates: $(as bob template list)"
ok "acme's own template is in acme's list alone"
expect_fail "mark's VM from it" 0 "accepted" as mark vm create w-own --template own
expect_fail "bob has no template 'own'" 1 "no template named 'own'" as bob vm create w-own --template own
expect_fail "nor may he name it across VIs" 2 "not a valid template name" as bob vm create w-own --template acme:own
expect_fail "its VM says which template" 0 "template: acme:own" sh vm show w-own --vi acme

# --- quotas
expect_ok "acme may use big" sh vi template add acme --template big
expect_fail "acme may have 10 VMs" 0 "quota.vms: 10" sh vi quota acme --vms 10
expect_fail "a VM over acme's vCPUs is refused" 1 "over quota: VI 'acme' uses 6 of its 8 vCPUs; this VM needs 4" \
    bash -c "'$MK_BUILD/maekinsh' --bus-endpoint=$BUS vm create b1 --vi acme --template big >/dev/null && XDG_CONFIG_HOME=$T/as-mark '$MK_BUILD/maekinsh' --bus-endpoint=$BUS vm create b2 --template big"
[ "$(used acme vcpus)" = 6 ] || fail "acme uses $(used acme vcpus) vCPUs, not 6"
expect_fail "a quota below what is used is refused" 1 "uses more vCPUs than that now" sh vi quota acme --vcpus 4
expect_fail "the VM count is a quota too" 1 "VI 'acme' has 3 VMs, its quota" \
    bash -c "'$MK_BUILD/maekinsh' --bus-endpoint=$BUS vi quota acme --vms 3 >/dev/null && XDG_CONFIG_HOME=$T/as-mark '$MK_BUILD/maekinsh' --bus-endpoint=$BUS vm create t3 --template tiny"
expect_ok "no limit again" sh vi quota acme --vms 0 --vcpus 0

# Many concurrent creates from several clients against a nearly full quota.
expect_ok "vi race, 5 VMs at most" sh vi create race --vms 5
expect_ok "race may use tiny" sh vi template add race --template tiny
for r in racer1 racer2 racer3 racer4; do as admin vi member add race --user $r --role manager >/dev/null || fail "member $r"; done
expect_ok "one VM in race already" as racer1 vm create r0 --template tiny
racing=()
for r in racer1 racer2 racer3 racer4; do
    for i in 1 2 3 4 5; do
        as $r vm create "$r-$i" --template tiny >"$T/race-$r-$i.out" 2>&1 &
        racing+=($!)
    done
done
wait "${racing[@]}"
accepted=$(grep -l "accepted" "$T"/race-*.out | wc -l)
refused=$(grep -l "over quota: VI 'race' has 5 VMs" "$T"/race-*.out | wc -l)
[ "$accepted" -eq 4 ] && [ "$refused" -eq 16 ] || fail "20 concurrent creates: $accepted accepted, $refused refused over quota: $(cat "$T"/race-*.out)"
[ "$(sh vm list --vi race | tail -n +2 | wc -l)" -eq 5 ] && [ "$(used race vms)" = 5 ] \
    || fail "race holds $(sh vm list --vi race | tail -n +2 | wc -l) VMs, uses $(used race vms)"
ok "20 concurrent creates from 4 clients: exactly the quota's 4 more, the rest refused"
expect_ok "mark views race too" sh vi member add race --user mark --role viewer
[ "$(as mark vm list | tail -n +2 | awk '{ print $2 }' | sort -u | tr '\n' ' ')" = "acme race " ] \
    || fail "mark's VMs in two VIs: $(as mark vm list)"
ok "one in two VIs lists the VMs of both"
expect_fail "... and names the VI of a VM he names" 1 "you hold roles in 2 Virtual Infrastructures: name" \
    as mark task list --vm web-1
expect_fail "... or of a VM he creates" 1 "you hold roles in 2 Virtual Infrastructures: name one" \
    as mark vm create web-9 --template tiny
expect_ok "mark leaves race" sh vi member remove race --user mark

# --- a VI with VMs is not deleted; the default VI stays
expect_fail "beta has a VM: not deleted" 1 "VI 'beta' still has 1 VM: delete them first" sh vi delete beta
[ "$(state beta web-1)" = running ] || fail "beta's web-1 is $(state beta web-1)"
expect_fail "the default VI stays" 1 "default Virtual Infrastructure stays" sh vi delete default
expect_fail "only the administrator deletes a VI" 1 "only the cloud's administrator" as bob vi delete beta
expect_ok "bob stops his web-1" as bob vm stop web-1 --wait
expect_ok "... and deletes it" as bob vm delete web-1 --wait
expect_fail "an empty VI is deleted" 0 "name: beta" sh vi delete beta
expect_fail "its owner holds no role any more" 1 "no role in any Virtual Infrastructure" as bob vm list
expect_fail "a deleted VI is gone" 1 "no Virtual Infrastructure named 'beta'" sh vi show beta

# --- bad input changes nothing
expect_fail "a member who is not one" 1 "'eve' is not a member of VI 'acme'" as olivia vi member remove acme --user eve
expect_fail "a VM name that is no name" 2 "not a valid VM name" as mark vm create "Web 2" --template tiny
expect_fail "a VI that is no name" 2 "not a valid VI name" as mark vm list --vi "a:b"
expect_fail "vm show of no VM" 1 "no VM named 'nope' in VI 'acme'" as mark vm show nope
expect_fail "a VM name shaped like a UUID" 1 "may not have a UUID's form" \
    as mark vm create 01234567-89ab-7def-8123-456789abcdef --template tiny
[ "$(members acme)" = "mark:manager olivia:owner oscar:operator vera:viewer" ] || fail "members: $(members acme)"
ok "nothing changed"
expect_ok "a user deleted" sh user delete vera
[ "$(members acme)" = "mark:manager olivia:owner oscar:operator" ] || fail "members after vera's delete: $(members acme)"
ok "... is no member any more"

# --- authorisation off (a closed lab, a benchmark): every request is the administrator's
stop controller
start_controller --auth-enforce=false
nocred() { MAEKIN_TOKEN= XDG_CONFIG_HOME=$T/nobody "$MK_BUILD/maekinsh" --bus-endpoint=$BUS "$@"; }
eventually 30 "with authorisation off, a request without a credential is served" nocred vi list
host_up() { nocred host show node1 | grep -q "^state: up"; }
eventually 30 "the host reports to the new controller" host_up
expect_ok "a VM in default, without a credential" nocred vm create lab-1 --template tiny
expect_ok "a VM in acme, without a credential" nocred vm create lab-2 --vi acme --template tiny
[ "$(nocred vm list | tail -n +2 | awk '{ print $1 "/" $2 }' | grep -c lab-)" -eq 2 ] || fail "lab VMs: $(nocred vm list)"
ok "both are listed"

log "$checks checks passed"
