#!/bin/sh
# Least privilege: chimed -u nobody runs unprivileged with only the
# intended capabilities (CAP_SYS_TIME when clock control is on and the
# capability exists at all; here the test environment drops it, so none),
# under the seccomp filter, and keeps serving and disciplining (on the fake
# kernel clock, whose clock_adjtime lives in userspace). -u root is refused.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

# The unprivileged daemon writes its driftfile and the shim its state file.
shared_tmpdir
D=$SHARED_TMP
SPORT=11481
CPORT=11482
# LeakSanitizer cannot ptrace a process that changed uid: no leak check here.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"

proc() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status" 2>/dev/null; }
# caps_only HEX ALLOWED_BITMASK: no bit set outside the mask.
caps_only() { [ -n "$1" ] && [ $(( 0x$1 & ~$2 )) -eq 0 ]; }

: >"$D/empty.conf"
out=$("$B/chimed" -n -x -u root -c "$D/empty.conf" 2>&1); rc=$?
check '[ $rc -eq 2 ] && printf "%s\n" "$out" | grep -q refusing' "-u root is refused (exit 2: $out)"
out=$("$B/chimed" -n -x -u no-such-user-chime -c "$D/empty.conf" 2>&1); rc=$?
check '[ $rc -eq 2 ]' "-u with an unknown user is refused"

# Started unprivileged (as systemd's User= does), chimed cannot give its
# control socket to a group it is not in: it says so and keeps the socket.
cat >"$D/nobody.conf" <<EOF
port 11483
interface listen 127.0.0.1
local stratum 2
controlsocket $D/nobody.sock
controlgroup daemon
EOF
start_bg "$D/nobody.log" - setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$B/chimed" -n -x -c "$D/nobody.conf" -p "$D/nobody.pid"
NPID=$BG_PID
if wait_ntp 127.0.0.1 11483 10 - "$NPID"; then
    check 'grep -q "cannot give .*nobody.sock to group .*SupplementaryGroups" "$D/nobody.log" &&
           [ -S "$D/nobody.sock" ] && "$B/chimectl" -s "$D/nobody.sock" tracking >/dev/null' \
        "controlgroup it may not give: a clear warning, and the socket still works"
else
    not_ok "chimed started as nobody serves"
    diag_file "$D/nobody.log"
fi
stop_pid "$NPID"

cat >"$D/server.conf" <<EOF
port $SPORT
local stratum 2
interface listen 127.0.0.1
controlsocket $D/server.sock
EOF
start_bg "$D/server.log" - "$B/chimed" -n -x -u nobody -c "$D/server.conf" -p "$D/server.pid"
SPID=$BG_PID
if ! wait_ntp 127.0.0.1 $SPORT 10 - "$SPID"; then
    not_ok "chimed -u nobody starts and serves"
    diag_file "$D/server.log"
    exit 1
fi
diag "$(grep sandbox "$D/server.log")"
check '[ "$(proc $SPID Uid)" = "65534 65534 65534 65534" ]' "server: uid nobody, real/effective/saved/fs ($(proc $SPID Uid))"
check '[ "$(proc $SPID Gid | cut -d" " -f1)" != 0 ] && [ "$(proc $SPID Groups)" != 0 ]' "server: no root group"
check '[ "$(proc $SPID CapEff)" = 0000000000000000 ] && [ "$(proc $SPID CapPrm)" = 0000000000000000 ]' \
    "server with -x: no capability at all (CapEff $(proc $SPID CapEff))"
check '[ "$(proc $SPID CapBnd)" = 0000000000000000 ]' "server: bounding set emptied ($(proc $SPID CapBnd))"
check '[ "$(proc $SPID Seccomp)" = 2 ]' "server: Seccomp: 2 (filter mode)"
check '[ "$(proc $SPID NoNewPrivs)" = 1 ]' "server: NoNewPrivs: 1"
check '"$B/ntpprobe" -c 3 127.0.0.1 $SPORT >/dev/null' "server keeps answering under the filter"
check '"$B/chimectl" -s "$D/server.sock" tracking >/dev/null 2>&1' "control socket works after the drop"

# A client disciplining the fake kernel clock, as nobody, under the filter.
cat >"$D/client.conf" <<EOF
server localhost port $SPORT iburst minpoll 4 maxpoll 6
port $CPORT
interface listen 127.0.0.1
controlsocket $D/client.sock
driftfile $D/drift
statsdir $D/stats
statistics loopstats peerstats
EOF
mkdir -p "$D/stats" && chmod 0777 "$D/stats"
FAKE_STATE="$D/fakeclock.state"
start_bg "$D/client.log" - env LD_PRELOAD="$B/libfakeclock.so" \
    ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
    FAKECLOCK_OFFSET=0.2 FAKECLOCK_FREQ_PPM=30 FAKECLOCK_STATE="$FAKE_STATE" \
    "$B/chimed" -n -d -u nobody -c "$D/client.conf" -p "$D/client.pid"
CPID=$BG_PID
i=0
while [ $i -lt 150 ] && [ "$(fake_field steps)" != 1 ]; do sleep 0.1; i=$((i + 1)); done
check 'alive "$CPID"' "client -u nobody is alive under the filter"
check '[ "$(proc $CPID Uid)" = "65534 65534 65534 65534" ]' "client: uid nobody"
# bit 25 = CAP_SYS_TIME: the only one it may keep
check 'caps_only "$(proc $CPID CapEff)" $((1 << 25)) && caps_only "$(proc $CPID CapPrm)" $((1 << 25))' \
    "client: no capability but CAP_SYS_TIME (CapEff $(proc $CPID CapEff))"
check 'grep -q "capabilities: none" "$D/client.log" && grep -q "CAP_SYS_TIME is not available" "$D/client.log"' \
    "client: says it could not keep CAP_SYS_TIME here (the test drops it)"
check '[ "$(proc $CPID Seccomp)" = 2 ]' "client: Seccomp: 2"
check '[ "$(fake_field steps)" = 1 ]' "client resolved 'localhost', synchronised and stepped the fake clock"
sleep 6
off=$(fake_offset_s)
check 'abs_lt "$off" 0.005' "client keeps disciplining under the filter (|offset| $off s < 5 ms)"
check '"$B/ntpprobe" 127.0.0.1 $CPORT >/dev/null' "client serves time too"
# the statistics writer thread runs as nobody, under the same filter
check '[ -s "$D/stats/peerstats" ] && [ -s "$D/stats/loopstats" ]' \
    "statistics written by the writer thread (as nobody, filtered)"
tsec=""
for t in /proc/$CPID/task/*; do tsec="$tsec$(awk '/^Seccomp:/ { print $2 }' "$t/status")"; done
check 'case "$tsec" in *[01]*) false ;; 22*) true ;; *) false ;; esac' \
    "every thread of the client is under the filter, the writer too (Seccomp per task: $tsec)"
stop_pid "$CPID"
check '[ -s "$D/drift" ]' "driftfile written by the unprivileged daemon at exit"
check 'alive "$SPID"' "server still alive (no filter violation)"
stop_pid "$SPID"
check '! grep -q "Bad system call" "$D/client.log" "$D/server.log"' "no filter violation logged"
