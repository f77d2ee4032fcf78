#!/bin/sh
# Leap seconds in the daemon (issue 5): chimed --check verifies the
# leapfile (last leap, expiry; non-zero on a file that fails its hash),
# chimed loads it at start and on SIGHUP keeps the previous table when the
# new file is rejected. Runs with -x on loopback port 11953; nothing here
# moves the clock.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

D=$(tmpdir)
GOOD="$TOP/tests/unit/data/leap-seconds.list"
BAD="$TOP/tests/unit/data/leap-seconds-tampered.list"
PORT=11953

printf 'server 127.0.0.1 port 11954\nleapfile %s\nleapsecmode step\nleapsmear 86400 cosine\n' \
    "$GOOD" >"$D/good.conf"
out=$("$B/chimed" --check -c "$D/good.conf" 2>&1); rc=$?
check "[ $rc -eq 0 ]" "--check accepts the verified leapfile (rc $rc)"
case $out in
    *"hash verified"*"last leap 2016-12-31 23:59:60 UTC (TAI-UTC 37)"*"expires 2026-06-28"*)
        ok "--check prints the last leap and the expiry" ;;
    *) not_ok "--check prints the last leap and the expiry" "$out" ;;
esac

printf 'server 127.0.0.1 port 11954\nleapfile %s\n' "$BAD" >"$D/bad.conf"
out=$("$B/chimed" --check -c "$D/bad.conf" 2>&1); rc=$?
check "[ $rc -ne 0 ]" "--check fails on a tampered leapfile (rc $rc)"
case $out in
    *"hash mismatch"*) ok "--check says why" ;;
    *) not_ok "--check says why" "$out" ;;
esac

printf 'leapsecmode smear\n' >"$D/mode.conf"
"$B/chimed" --check -c "$D/mode.conf" >/dev/null 2>&1; rc=$?
check "[ $rc -ne 0 ]" "--check rejects an unknown leapsecmode"

# The daemon: load, then a damaged replacement on SIGHUP is refused.
cp "$GOOD" "$D/leap.list"
printf 'port %d\ninterface listen 127.0.0.1\nserver 127.0.0.1 port 11954\nleapfile %s\n' \
    "$PORT" "$D/leap.list" >"$D/run.conf"
if start_chimed "$D/run.conf"; then
    if grep -q "leapfile $D/leap.list: 28 entries, last leap 2016-12-31 (insert), TAI-UTC 37" \
        "$CHIMED_LOG"; then
        ok "chimed loads and verifies the leapfile"
    else
        not_ok "chimed loads and verifies the leapfile"; diag_file "$CHIMED_LOG"
    fi
    cp "$BAD" "$D/leap.list"
    kill -HUP "$CHIMED_PID"
    i=0
    while [ $i -lt 50 ] && ! grep -q "rejected" "$CHIMED_LOG"; do sleep 0.1; i=$((i + 1)); done
    if grep -q "leapfile $D/leap.list rejected: SHA-1 hash mismatch.*keeping the previous table" \
        "$CHIMED_LOG"; then
        ok "SIGHUP: a tampered leapfile is rejected and the previous table kept"
    else
        not_ok "SIGHUP: a tampered leapfile is rejected and the previous table kept"
        diag_file "$CHIMED_LOG"
    fi
    check "alive $CHIMED_PID" "chimed still runs"
else
    not_ok "chimed starts with a leapfile"
fi
