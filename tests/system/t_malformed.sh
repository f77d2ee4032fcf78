#!/bin/sh
# 10,000 malformed and random datagrams at chimed: it keeps answering good
# requests, never replies with more octets than it received, never
# answers mode 7, and counts what it dropped.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

D=$(tmpdir)
PORT=11321
printf 'port %s\nlocal stratum 2\ninterface listen 127.0.0.1\n' $PORT >"$D/c.conf"
if ! start_chimed "$D/c.conf"; then
    not_ok "chimed starts"
    exit 1
fi
out=$("$B/ntpjunk" 127.0.0.1 $PORT 10000 7); rc=$?
diag "$out"
check '[ $rc -eq 0 ]' "ntpjunk: its own verdict (no oversized reply, >= 90% good answered)"
check 'printf "%s\n" "$out" | grep -q "oversized=0"' "no reply larger than its request"
check 'printf "%s\n" "$out" | grep -q "sent=10000"' "all 10,000 datagrams sent"
check 'alive "$CHIMED_PID"' "chimed survived"
check '"$B/ntpprobe" -c 3 127.0.0.1 $PORT >/dev/null' "chimed still answers good requests"

# A mode 7 request (ntpdc monlist-style) must get nothing back.
check '! "$B/ntpprobe" -t 300 -m 7 127.0.0.1 $PORT >/dev/null 2>&1' "mode 7 is never answered" 

usr1_counters "$CHIMED_PID" "$CHIMED_LOG"
stats=$(grep '\[server\] received' "$CHIMED_LOG" | tail -n 1)
diag "$stats"
check 'printf "%s\n" "$stats" | grep -q "dropped:.*too_short=[1-9]"' "drops counted by reason (too_short)"
check 'printf "%s\n" "$stats" | grep -q "mode7=[1-9]"' "mode 7 drops counted"
