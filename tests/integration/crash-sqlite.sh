#!/bin/bash
# The crash test with the controller's state in SQLite: the controller (SIGKILLed three
# times, its WAL left as it was), the broker and each agent killed under a burst of
# creates; the same checks as crash.sh.
CRASH_DB=sqlite exec bash "$(dirname "$0")/crash.sh"
