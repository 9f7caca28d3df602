#!/bin/bash
# Runs every test: each class's self-test in its own process, then the integration
# tests in tests/integration/. usage: tests/run.sh BUILD_DIR [NAME ...]
set -u
build=${1:?usage: tests/run.sh BUILD_DIR}
shift
here=$(cd "$(dirname "$0")" && pwd)
export MK_BUILD=$(cd "$build" && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0}
logs=$MK_BUILD/test-logs
rm -rf "$logs"; mkdir -p "$logs"
passed=0; failed=0; failures=""

run_one() {   # name timeout command...
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    if timeout --kill-after=10 "$limit" "$@" >"$logs/$name.log" 2>&1; then
        passed=$((passed + 1)); echo "ok   $name ($((SECONDS - start))s)"
    else
        failed=$((failed + 1)); failures="$failures $name"
        echo "FAIL $name ($((SECONDS - start))s), last lines of $logs/$name.log:"
        tail -n 25 "$logs/$name.log" | sed 's/^/     | /'
    fi
}

# The MySQL backend's self-tests use a private MariaDB server (tests/mariadb.sh).
if [ -x "$here/mariadb.sh" ] && [ -z "${MK_TEST_MYSQL_URL:-}" ]; then
    if url=$("$here/mariadb.sh" start "$MK_BUILD/mariadb" 2>"$logs/mariadb.log" | tail -n 1) \
        && [ -n "$url" ]; then
        export MK_TEST_MYSQL_URL=$url
        trap '"$here/mariadb.sh" stop "$MK_BUILD/mariadb" 2>>"$logs/mariadb.log"' EXIT
    else
        failed=$((failed + 1)); failures="$failures mariadb"
        echo "FAIL mariadb: the private server did not start; see $logs/mariadb.log"
        tail -n 5 "$logs/mariadb.log" | sed 's/^/     | /'
    fi
fi

selected() { [ $# -eq 0 ] && return 0; local n; for n in $wanted; do [ "$n" = "$1" ] && return 0; done; return 1; }
wanted="$*"

# The house style, checked first: it takes a second.
if [ -z "$wanted" ] || selected format $wanted; then
    run_one format 300 bash "$here/format.sh"
fi
for t in $("$MK_BUILD/mk_selftest" --list); do
    [ -z "$wanted" ] || selected "$t" $wanted || continue
    run_one "$t" 300 "$MK_BUILD/mk_selftest" -v "$t"
done
for t in "$here"/integration/*.sh; do
    [ -e "$t" ] || continue
    name=$(basename "$t" .sh)
    [ -z "$wanted" ] || selected "$name" $wanted || continue
    run_one "$name" 900 bash "$t"
done
echo
[ -z "$failures" ] || echo "failed:$failures (logs in $logs)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
