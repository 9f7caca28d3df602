#!/bin/bash
# The IP pools' test again, with the controller's state on MariaDB (tests/run.sh's server).
set -u
[ -n "${MK_TEST_MYSQL_URL:-}" ] || { echo "pools-mysql: MK_TEST_MYSQL_URL is not set (tests/run.sh starts a private MariaDB and sets it)"; exit 1; }
DB_URL=$MK_TEST_MYSQL_URL exec bash "$(dirname "$0")/pools.sh"
