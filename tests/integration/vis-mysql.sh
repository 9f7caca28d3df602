#!/bin/bash
# Virtual Infrastructures again, with the controller's state on MariaDB: the same checks
# (the quota race included), on the private server tests/run.sh starts.
set -u
[ -n "${MK_TEST_MYSQL_URL:-}" ] || { echo "vis-mysql: MK_TEST_MYSQL_URL is not set (tests/run.sh starts a private MariaDB and sets it)"; exit 1; }
DB_URL=$MK_TEST_MYSQL_URL exec bash "$(dirname "$0")/vis.sh"
