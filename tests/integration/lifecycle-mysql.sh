#!/bin/bash
# The foundation's end-to-end test again, with the controller's state on MariaDB instead
# of SQLite: the same checks, on the private server tests/run.sh starts.
set -u
url=${MK_TEST_MYSQL_URL:-}
[ -n "$url" ] || { echo "lifecycle-mysql: MK_TEST_MYSQL_URL is not set (tests/run.sh starts a private MariaDB and sets it)"; exit 1; }
# mysql://USER:PASSWORD@/DATABASE?socket=PATH, as tests/mariadb.sh prints it.
user=$(sed -n 's|^mysql://\([^:@]*\).*|\1|p' <<<"$url")
password=$(sed -n 's|^mysql://[^:@]*:\([^@]*\)@.*|\1|p' <<<"$url")
database=$(sed -n 's|^mysql://[^/]*/\([^?]*\).*|\1|p' <<<"$url")
socket=$(sed -n 's|.*[?&]socket=\([^&]*\).*|\1|p' <<<"$url")
[ -n "$user" ] && [ -n "$database" ] && [ -n "$socket" ] || { echo "lifecycle-mysql: cannot read '$url'"; exit 1; }
# A clean schema: the db layer's own tests left theirs.
mariadb --no-defaults --protocol=socket --socket="$socket" --user="$user" --password="$password" \
    "$database" -e 'DROP TABLE IF EXISTS meta, hosts, templates, vms, tasks, requests, events' \
    || { echo "lifecycle-mysql: cannot reach the test database"; exit 1; }
DB_URL=$url exec bash "$(dirname "$0")/lifecycle.sh"
