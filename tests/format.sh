#!/bin/bash
# Every C file of the project is formatted as .clang-format says (Debian 12's
# clang-format 14, installed by `make deps`): a file that is not fails the check and is
# named, with how to fix it.
set -u
cd "$(dirname "$0")/.." || exit 1
command -v clang-format >/dev/null \
    || { echo "format: clang-format is missing: run 'make deps' (package clang-format)"; exit 1; }
bad=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find broker common services tests -name '*.[ch]'); do
    if ! clang-format --style=file "$f" | cmp -s - "$f"; then
        echo "format: $f is not formatted as .clang-format says"
        bad=$((bad + 1))
    fi
done
if [ $bad -gt 0 ]; then
    echo "format: $bad files; 'clang-format -i --style=file FILE' formats one"
    exit 1
fi
echo "format: every C file as .clang-format says"
