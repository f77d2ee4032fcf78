#!/bin/sh
# chimed -q (the ntpdate job) and the iburst packet budget.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

D=$(tmpdir)
SPORT=11341
printf 'port %s\nlocal stratum 1\ninterface listen 127.0.0.1\n' $SPORT >"$D/server.conf"
if ! start_chimed "$D/server.conf"; then
    not_ok "server chimed starts"
    exit 1
fi
SERVER_PID=$CHIMED_PID
SERVER_LOG=$CHIMED_LOG
printf 'server 127.0.0.1 port %s iburst\ncontrolsocket %s/q.sock\n' $SPORT "$D" >"$D/q.conf"

out=$(timeout 30 setpriv --bounding-set -sys_time "$B/chimed" -q -x -c "$D/q.conf" 2>"$D/q.err"); rc=$?
diag "chimed -q -x: $out"
off=$(printf '%s\n' "$out" | sed -n 's/^offset \([-+0-9.]*\) s$/\1/p')
check '[ $rc -eq 0 ] && abs_lt "$off" 0.001' "-q -x prints the offset and exits 0 (|offset| < 1 ms: $off s)"

# -q with clock control, on the fake kernel clock 0.5 s off.
state="$D/fake.state"
out=$(timeout 30 setpriv --bounding-set -sys_time env LD_PRELOAD="$B/libfakeclock.so" \
    ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
    FAKECLOCK_OFFSET=0.5 FAKECLOCK_STATE="$state" "$B/chimed" -q -c "$D/q.conf" 2>"$D/q2.err"); rc=$?
diag "chimed -q: $out"
FAKE_STATE=$state
off=$(fake_offset_s)
st=$(printf '%s\n' "$out" | sed -n 's/^stepped the clock by \([-+0-9.]*\) s$/\1/p')
check '[ $rc -eq 0 ] && abs_lt "$(awk -v s="$st" "BEGIN { print s + 0.5 }")" 0.001' \
    "-q steps the clock once by the offset (-0.5 s: $st s) and exits 0"
check '[ "$(fake_field steps)" = 1 ] && abs_lt "$off" 0.001' "after -q the clock is right (|offset| < 1 ms: $off s)"

# No server answering: a clear message and exit 1, no hang.
printf 'server 127.0.0.1 port %s iburst\ncontrolsocket %s/n.sock\n' $((SPORT + 7)) "$D" >"$D/none.conf"
timeout 40 setpriv --bounding-set -sys_time "$B/chimed" -q -x -c "$D/none.conf" >/dev/null 2>"$D/none.err"; rc=$?
diag "$(cat "$D/none.err")"
check '[ $rc -eq 1 ] && grep -q "no usable time source" "$D/none.err"' "-q with no server: message, exit 1"

# server_received: ask the server for its counters (SIGUSR1) and wait,
# bounded, for the new line; print its received= count.
server_received() {
    _n=$(grep -c '\[server\] received=' "$SERVER_LOG")
    kill -USR1 "$SERVER_PID"
    _i=0
    while [ "$(grep -c '\[server\] received=' "$SERVER_LOG")" -le "$_n" ] && [ $_i -lt 50 ]; do
        sleep 0.1; _i=$((_i + 1))
    done
    grep '\[server\] received=' "$SERVER_LOG" | tail -n 1 | sed 's/.*received=\([0-9]*\).*/\1/'
}

# iburst budget: chrony 4.3's iburst sends 4 requests 2 s apart; so do we.
# Count what the server received from one client over its first 7 s.
before=$(server_received)
printf 'server 127.0.0.1 port %s iburst\nport %s\ninterface listen 127.0.0.1\ncontrolsocket %s/c.sock\n' \
    $SPORT $((SPORT + 1)) "$D" >"$D/client.conf"
start_bg "$D/client.log" - "$B/chimed" -n -x -c "$D/client.conf"
CPID=$BG_PID
sleep 7.5
after=$(server_received)
check '[ $((after - before)) -eq 4 ]' "iburst: 4 requests in the first 7 s, as chrony (got $((after - before)))"
stop_pid "$CPID"
