#!/bin/bash
# A private MariaDB server for the tests of the MySQL backend, on a unix socket in DIR
# and nowhere else (no TCP, no system instance touched).
#
#   tests/mariadb.sh start DIR   install what is missing, make a fresh datadir in DIR,
#                                start mariadbd, create the database maekin_test and its
#                                user; the last line printed is the URL to give mk_db_open
#   tests/mariadb.sh stop DIR    stop the server started in DIR and wait for it to exit
#   tests/mariadb.sh kill DIR    SIGKILL it, as a crash would (crash-safety tests)
#   tests/mariadb.sh resume DIR  start it again on the data it has (after stop or kill)
#
# Progress and errors go to stderr, so `url=$(tests/mariadb.sh start DIR)` gets the URL.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
usage() { echo "usage: tests/mariadb.sh start|stop|kill|resume DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
sock=$dir/mysqld.sock
pidfile=$dir/mariadbd.pid
user=maekin_test
password=maekin-test-pw
database=maekin_test

fail() { echo "mariadb.sh: $*" >&2; exit 1; }

# s_gone PID: true once the process has exited, within 10 s.
s_gone() {
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    return 1
}

# Stops the server whose pid is in the pid file, waiting at most 30 s, then kills it.
stop() {
    [ -f "$pidfile" ] || return 0
    local pid
    pid=$(cat "$pidfile")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 300); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "mariadb.sh: mariadbd $pid did not stop in 30 s; killing it" >&2
            kill -9 "$pid" 2>/dev/null || ! kill -0 "$pid" 2>/dev/null \
                || fail "cannot kill mariadbd $pid"
            s_gone "$pid" || fail "mariadbd $pid survived SIGKILL"
        fi
    fi
    rm -f "$pidfile"
}

client() { mariadb --no-defaults --protocol=socket --socket="$sock" --user=root "$@"; }

# Starts mariadbd on the datadir in DIR and waits until it answers.
serve() {
    mariadbd --no-defaults --user=root --datadir="$dir/data" --socket="$sock" \
        --skip-networking --skip-name-resolve --pid-file="$pidfile" --log-error="$dir/error.log" \
        --innodb-buffer-pool-size=64M --innodb-log-file-size=16M </dev/null >/dev/null 2>&1 &
    local pid=$!
    for _ in $(seq 300); do
        client -e 'SELECT 1' >/dev/null 2>&1 && break
        kill -0 "$pid" 2>/dev/null || fail "mariadbd exited at start; see $dir/error.log"
        sleep 0.1
    done
    client -e 'SELECT 1' >/dev/null 2>&1 \
        || { stop; fail "mariadbd did not accept connections on $sock in 30 s; see $dir/error.log"; }
}

# SIGKILLs the server, as a crash would, and waits until it is gone.
crash() {
    [ -f "$pidfile" ] || fail "no server runs in $dir"
    local pid
    pid=$(cat "$pidfile")
    # A server that already died is as good as killed; one that lives on is a failure.
    kill -9 "$pid" 2>/dev/null || ! kill -0 "$pid" 2>/dev/null || fail "cannot kill mariadbd $pid"
    s_gone "$pid" || fail "mariadbd $pid survived SIGKILL for 10 s"
    rm -f "$pidfile" "$sock"
}

start() {
    # The socket's path must fit in sun_path (108 bytes).
    [ ${#sock} -lt 100 ] || fail "socket path '$sock' is too long for a unix socket; use a shorter DIR"
    "$here/../deploy/deps.sh" "$here/mariadb-packages.txt" >&2 \
        || fail "cannot install the MariaDB packages in tests/mariadb-packages.txt"
    stop
    rm -rf "$dir/data" "$sock" "$dir/error.log"
    # --force and --skip-name-resolve: a fresh machine may resolve neither its own name
    # nor localhost, and the server is reached through its socket only.
    mariadb-install-db --no-defaults --user=root --datadir="$dir/data" --force \
        --skip-name-resolve --auth-root-authentication-method=socket --skip-test-db \
        >"$dir/install.log" 2>&1 \
        || fail "mariadb-install-db failed; see $dir/install.log"
    serve
    client <<SQL || { stop; fail "cannot create the test database and user"; }
CREATE DATABASE $database;
CREATE USER '$user'@'localhost' IDENTIFIED BY '$password';
GRANT ALL ON $database.* TO '$user'@'localhost';
SQL
    echo "mysql://$user:$password@/$database?socket=$sock"
}

case $cmd in
    start) start ;;
    stop) stop ;;
    kill) crash ;;
    resume)
        [ -d "$dir/data" ] || fail "no data in $dir; use start"
        # Already running: nothing to do (a second server would wait on the first's locks).
        if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then exit 0; fi
        serve ;;
    *) usage ;;
esac
