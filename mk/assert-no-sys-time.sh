#!/bin/sh
# Fail unless this process lacks CAP_SYS_TIME (bit 25) in its effective and
# bounding sets: CI runs the tests this way so no bug can move the clock.
set -eu
for set in CapEff CapBnd; do
    v=$(awk -v s="$set:" '$1 == s { print $2 }' /proc/self/status)
    if [ $(( (0x$v >> 25) & 1 )) -ne 0 ]; then
        echo "CAP_SYS_TIME is still in $set ($v): refusing to run the tests" >&2
        exit 1
    fi
done
echo "CAP_SYS_TIME dropped: tests cannot move this machine's clock"
