#!/bin/sh
# chimed's life cycle: detaches without -n and keeps a locked pidfile; a
# second instance with the same pidfile refuses (exit 1, a message on the
# terminal); logs to `logfile`; tells systemd READY=1 / STOPPING=1 through
# NOTIFY_SOCKET; SIGTERM writes the drift file and exits 0; kill -9 in the
# middle of drift writes leaves the old or the new file, never a torn one.
# SIGHUP reload is another issue's (SIGHUP only logs the counters today).
# Every chimed here runs with -x or on the fake kernel clock.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

SPORT=11441     # chimed -x server, local stratum 1
CPORT=11442     # clients
D=$(tmpdir)

# ---- background, pidfile, lock, second instance, logfile --------------------
cat >"$D/bg.conf" <<CONF
port $CPORT
interface listen 127.0.0.1
local stratum 3
controlsocket $D/bg.sock
logfile $D/bg.log
CONF
nocap "$B/chimed" -x -c "$D/bg.conf" -p "$D/bg.pid" >"$D/bg.out" 2>&1 </dev/null
rc=$?
check '[ $rc -eq 0 ]' "chimed without -n returns 0 once detached (rc=$rc)"
i=0
while [ $i -lt 50 ] && [ ! -s "$D/bg.pid" ]; do sleep 0.1; i=$((i + 1)); done
pid=$(cat "$D/bg.pid" 2>/dev/null)
check '[ -n "$pid" ] && alive "$pid"' "pidfile names a live process (${pid:-none})"
[ -n "$pid" ] && _lib_pids="$_lib_pids $pid"
check 'wait_ntp 127.0.0.1 $CPORT 10' "the detached chimed serves on port $CPORT"
check '[ "$(awk "/^PPid:/ { print \$2 }" /proc/$pid/status)" != "$$" ]' \
    "it is not our child (detached)"
check '! flock -n "$D/bg.pid" true' "the pidfile is locked"
check 'grep -q "running" "$D/bg.log"' "logfile: chimed logs to it"
head -n 2 "$D/bg.log" | sed 's/^/# bg.log: /'

# same pidfile, other port and socket: only the pidfile can stop it
sed -e "s/^port .*/port $((CPORT + 1))/" -e "s|bg.sock|bg2.sock|" \
    -e "s|bg.log|bg2.log|" "$D/bg.conf" >"$D/bg2.conf"
out=$(nocap "$B/chimed" -x -c "$D/bg2.conf" -p "$D/bg.pid" 2>&1 </dev/null)
rc=$?
check '[ $rc -eq 1 ]' "a second instance with the same pidfile exits 1 (rc=$rc)"
diag "$out"
check 'printf "%s" "$out" | grep -q "another chimed is running (pid $pid"' \
    "... saying which pid holds the pidfile"
out=$(nocap "$B/chimed" -n -x -c "$D/bg2.conf" -p "$D/bg.pid" 2>&1 </dev/null)
rc=$?
check '[ $rc -eq 1 ] && printf "%s" "$out" | grep -q "another chimed"' \
    "... also in the foreground (-n), rc=$rc"
check '[ "$(cat "$D/bg.pid")" = "$pid" ] && alive "$pid"' "the first instance and its pidfile are untouched"

kill -TERM "$pid"
i=0
while [ $i -lt 50 ] && alive "$pid"; do sleep 0.1; i=$((i + 1)); done
check '! alive "$pid"' "SIGTERM stops the detached chimed"
_lib_pids=$(_lib_forget "$pid" "$_lib_pids")
check '[ ! -e "$D/bg.pid" ]' "the pidfile is removed at exit"
check 'grep -q "signal 15: exiting" "$D/bg.log"' "exit logged to the logfile"

# a stale pidfile (a dead pid, no lock) does not stop a start
echo 999999 >"$D/stale.pid"
start_bg "$D/stale.out" - "$B/chimed" -n -x -c "$D/bg.conf" -p "$D/stale.pid"
spid=$BG_PID
i=0
while [ $i -lt 50 ] && [ "$(cat "$D/stale.pid" 2>/dev/null)" != "$spid" ]; do
    sleep 0.1; i=$((i + 1))
done
check '[ "$(cat "$D/stale.pid")" = "$spid" ]' "a stale pidfile is taken over"
stop_pid "$spid"

# ---- sd_notify ---------------------------------------------------------------
NS="$D/notify.sock"
python3 - "$NS" >"$D/notify.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(1.0)
end = time.time() + 20
while time.time() < end:
    try:
        m = s.recv(4096).decode()
    except socket.timeout:
        continue
    print(m.replace("\n", "|"), flush=True)
    if "STOPPING=1" in m:
        break
PY
LPID=$!
_lib_pids="$_lib_pids $LPID"
i=0
while [ $i -lt 50 ] && [ ! -S "$NS" ]; do sleep 0.1; i=$((i + 1)); done
sed -e "s|bg.log|notify.log|" -e "/^logfile/d" "$D/bg.conf" >"$D/notify.conf"
NOTIFY_SOCKET="$NS"
export NOTIFY_SOCKET
start_bg "$D/notify.chimed.log" - "$B/chimed" -n -x -c "$D/notify.conf" -p "$D/notify.pid"
NPID=$BG_PID
unset NOTIFY_SOCKET
i=0
while [ $i -lt 100 ] && ! grep -q READY=1 "$D/notify.out"; do sleep 0.1; i=$((i + 1)); done
check 'grep -qx "READY=1" "$D/notify.out"' "NOTIFY_SOCKET receives READY=1"
check 'wait_ntp 127.0.0.1 $CPORT 2' "... and the sockets are bound by then"
kill -TERM "$NPID"
wait "$NPID"
rc=$?
_lib_pids=$(_lib_forget "$NPID" "$_lib_pids")
check '[ $rc -eq 0 ]' "chimed -n exits 0 on SIGTERM (rc=$rc)"
wait "$LPID"
_lib_pids=$(_lib_forget "$LPID" "$_lib_pids")
check 'grep -qx "STOPPING=1" "$D/notify.out"' "NOTIFY_SOCKET receives STOPPING=1"
sed 's/^/# notify: /' "$D/notify.out"

# ---- SIGTERM writes the drift file (fake clock, so there is a drift) ----------
cat >"$D/server.conf" <<CONF
port $SPORT
interface listen 127.0.0.1
local stratum 1
CONF
if ! start_chimed "$D/server.conf"; then
    not_ok "chimed -x server starts"
    exit 1
fi
cat >"$D/client.conf" <<CONF
server 127.0.0.1 port $SPORT iburst minpoll 4 maxpoll 6
port $CPORT
interface listen 127.0.0.1
controlsocket $D/client.sock
driftfile $D/drift
CONF

# wait_synced: the client selected the server and stepped its fake clock
wait_synced() {
    _i=0
    while [ $_i -lt 100 ]; do
        chimectl_json "$D/client.sock" sources | grep -q '"state":"\*"' &&
            [ "$(fake_field steps)" = 1 ] && return 0
        sleep 0.1; _i=$((_i + 1))
    done
    return 1
}

start_chimed_fake "$D/client.conf" 0.2 60
check 'wait_synced' "client on the fake clock syncs to the chimed server and steps"
sleep 3     # a few frequency updates after the step
check '[ ! -e "$D/drift" ]' "no drift file before exit (hourly writes)"
kill -TERM "$CHIMED_PID"
wait "$CHIMED_PID"
rc=$?
_lib_pids=$(_lib_forget "$CHIMED_PID" "$_lib_pids")
check '[ $rc -eq 0 ]' "SIGTERM: exit status 0 (rc=$rc)"
drift=$(cat "$D/drift" 2>/dev/null)
check 'printf "%s\n" "$drift" | grep -Eqx -- "-?[0-9]+\.[0-9]{3}"' \
    "SIGTERM: drift file written (${drift:-none} ppm; oscillator +60 ppm)"
check '! ls -A "$D" | grep -q "^\.drift\."' "no temporary left behind"

# ---- kill -9 during drift writes: old or new, never torn ---------------------
# CHIME_TEST_DRIFT_INTERVAL_MS (a test hook) rewrites the drift file every
# 2 ms; a reader meanwhile, and the file after each kill -9, must always
# hold one complete value.
well_formed() {
    grep -Eqx -- '-?[0-9]+\.[0-9]{3}' "$1" 2>/dev/null &&
        [ "$(wc -l <"$1")" -eq 1 ]
}
CHIME_TEST_DRIFT_INTERVAL_MS=2
export CHIME_TEST_DRIFT_INTERVAL_MS
torn=0
reads=0
kills=0
for run in 1 2 3 4; do
    start_chimed_fake "$D/client.conf" 0.2 60
    if ! wait_synced; then
        diag "run $run: no sync"
        diag_file "$CHIMED_LOG"
        stop_pid "$CHIMED_PID"
        continue
    fi
    start=$(cat "$D/drift")
    n=0
    while [ $n -lt 300 ]; do
        if well_formed "$D/drift"; then reads=$((reads + 1)); else torn=$((torn + 1)); fi
        n=$((n + 1))
    done
    sleep "0.0$run"
    kill -KILL "$CHIMED_PID"
    wait "$CHIMED_PID" 2>/dev/null
    _lib_pids=$(_lib_forget "$CHIMED_PID" "$_lib_pids")
    kills=$((kills + 1))
    if well_formed "$D/drift"; then
        diag "run $run: $start -> $(cat "$D/drift") ppm after kill -9"
    else
        torn=$((torn + 1))
        diag "run $run: torn drift file: '$(od -c "$D/drift" | head -n 3)'"
    fi
done
unset CHIME_TEST_DRIFT_INTERVAL_MS
check '[ $kills -ge 3 ] && [ $torn -eq 0 ]' \
    "kill -9 during 2 ms drift writes: $kills kills, $reads reads, $torn torn"
