#!/bin/sh
# The real chimed serving time on loopback: reply fields over IPv4 and
# IPv6, local stratum vs unsynchronised, signals, pidfile.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

D=$(tmpdir)
PORT=11301
cat >"$D/local.conf" <<CONF
port $PORT
local stratum 3
interface listen 127.0.0.1
interface listen ::1
CONF

if ! start_chimed "$D/local.conf"; then
    not_ok "chimed starts and answers"
    exit 1
fi
ok "chimed starts and answers on 127.0.0.1:$PORT"
PID=$CHIMED_PID
capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$PID/status")
check '[ $(( (0x$capeff >> 25) & 1 )) -eq 0 ]' "chimed runs without CAP_SYS_TIME here (CapEff $capeff)"

abs_lt() { awk -v v="$1" -v m="$2" 'BEGIN { if (v < 0) v = -v; exit !(v < m) }'; }
field() { printf '%s\n' "$1" | sed -n "s/.*$2=\\([^ ]*\\).*/\\1/p" | head -n 1; }
# chimed serves this machine's clock, so a reply's offset is off by at most
# half its round trip (t1 <= t2 <= t3 <= t4 on one clock): judge the reply
# with the shortest round trip by that bound (+20 µs of reading slack), not
# by a fixed margin that a loaded machine's scheduling delays exceed.
best() { printf '%s\n' "$1" | awk '{ o = d = ""
        for (i = 1; i <= NF; i++) { if ($i ~ /^offset=/) o = substr($i, 8); if ($i ~ /^delay=/) d = substr($i, 7) }
        if (d != "" && (bd == "" || d + 0 < bd + 0)) { bd = d; bo = o } }
    END { if (bd != "") print bo, bd }'; }
within_delay() { awk -v o="$1" -v d="$2" 'BEGIN { if (o < 0) o = -o; exit !(d != "" && o <= d / 2 + 0.00002) }'; }

out=$("$B/ntpprobe" -c 3 127.0.0.1 $PORT); rc=$?
diag "$out"
check '[ $rc -eq 0 ] && [ $(printf "%s\n" "$out" | grep -c "stratum=3 refid=76.79.67.76 leap=0 len=48") -eq 3 ]' \
    "IPv4: three replies with stratum 3, refid LOCL (76.79.67.76 at stratum > 1), leap 0, 48 octets"
set -- $(best "$out"); off=${1:-}; dly=${2:-}
check 'within_delay "$off" "$dly"' "IPv4: |offset| <= half the round trip ($off s, delay $dly s)"

out=$("$B/ntpprobe" -6 -c 2 ::1 $PORT); rc=$?
diag "$out"
check '[ $rc -eq 0 ] && [ $(printf "%s\n" "$out" | grep -c "stratum=3 refid=76.79.67.76 leap=0") -eq 2 ]' \
    "IPv6: replies from [::1]"
set -- $(best "$out"); off=${1:-}; dly=${2:-}
check 'within_delay "$off" "$dly"' "IPv6: |offset| <= half the round trip ($off s, delay $dly s)"

check '[ "$(cat "$(dirname "$CHIMED_LOG")/chimed.pid")" = "$PID" ]' "pidfile holds chimed's pid"

kill -HUP "$PID"; sleep 0.3
check 'alive "$PID" && grep -q "signal 1" "$CHIMED_LOG"' "SIGHUP is logged and chimed keeps running"
check '"$B/ntpprobe" -t 500 127.0.0.1 $PORT >/dev/null' "still answering after SIGHUP"

kill -TERM "$PID"
i=0; while alive "$PID" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
wait "$PID" 2>/dev/null; rc=$?
check '! alive "$PID" && [ $rc -eq 0 ]' "SIGTERM: clean exit, status 0 (got $rc)"
check '[ ! -e "$(dirname "$CHIMED_LOG")/chimed.pid" ]' "pidfile removed at exit"
check 'grep -q "received=[1-9]" "$CHIMED_LOG"' "counters logged at exit"
_lib_pids=$(_lib_forget "$PID" "$_lib_pids")

# Without sources and without "local stratum": answer, but as unsynchronised.
PORT2=11302
printf 'port %s\ninterface listen 127.0.0.1\n' $PORT2 >"$D/unsync.conf"
if start_chimed "$D/unsync.conf"; then
    out=$("$B/ntpprobe" -a 127.0.0.1 $PORT2 2>&1)
    diag "$out"
    check 'printf "%s\n" "$out" | grep -q "stratum=0 .*leap=3"' \
        "no sources, no local stratum: LI 3 (unsynchronised), stratum 0"
    check '! "$B/ntpprobe" -t 300 127.0.0.1 $PORT2 >/dev/null 2>&1' \
        "a strict client rejects the unsynchronised reply"
else
    not_ok "unsynchronised chimed starts"
fi

# Port already taken: a clear start-up error, exit status 1, no hang.
out=$(timeout 10 setpriv --bounding-set -sys_time "$B/chimed" -n -x -c "$D/unsync.conf" 2>&1); rc=$?
diag "$out"
check '[ $rc -eq 1 ] && printf "%s\n" "$out" | grep -q "cannot listen on 127.0.0.1:$PORT2"' \
    "port in use: names the address, exits 1"
