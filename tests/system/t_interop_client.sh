#!/bin/sh
# chimed as a client of other NTP servers, and as a server to chronyd:
#   b. chimed (fake clock) syncs to another chimed (-x, local stratum 1);
#   c. chronyd (-x) selects chimed (-x, local stratum 2) as its source.
# (Case a, chimed as a client of ntpsec's ntpd, is t_ntpsec.sh: ntpd needs
# an upstream of its own in a second namespace.)
# Nothing moves the machine's clock: chimed clients run on the fake clock,
# every daemon without CAP_SYS_TIME, chronyd with -x. The cases run side
# by side.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

if ! need_peers; then
    not_ok "reference peers unpacked"
    exit 1
fi
T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }
src_state() { chimectl_json "$1" sources | sed 's/},{/}\n{/g' | grep "\"address\":\"$2" |
    sed -n 's/.*"state":"\(.\)".*/\1/p'; }

# ---- b: chimed server for a chimed client on the fake clock ---------------------------
BPORT=11451
BD=$(tmpdir)
cat >"$BD/server.conf" <<CONF
port $BPORT
interface listen 127.0.0.1
local stratum 1
CONF
if ! start_chimed "$BD/server.conf"; then
    not_ok "b: chimed server starts"
    exit 1
fi
B_SERVER_LOG=$CHIMED_LOG
cat >"$BD/client.conf" <<CONF
server 127.0.0.1 port $BPORT iburst minpoll 3 maxpoll 4
port $((BPORT + 1))
interface listen 127.0.0.1
controlsocket $BD/client.sock
CONF
start_chimed_fake "$BD/client.conf" 0.2 50
B_STATE=$FAKE_STATE
B_LOG=$CHIMED_LOG

# ---- c: chimed server (local stratum 2) for chronyd -------------------------------------
CPORT=11461
CD=$(tmpdir)
cat >"$CD/server.conf" <<CONF
port $CPORT
interface listen 127.0.0.1
local stratum 2
CONF
if ! start_chimed "$CD/server.conf"; then
    not_ok "c: chimed server starts"
    exit 1
fi
C_SERVER_LOG=$CHIMED_LOG
cat >"$CD/chrony.conf" <<CONF
server 127.0.0.1 port $CPORT iburst minpoll 0 maxpoll 1
port 0
cmdport 0
pidfile $CD/chronyd.pid
driftfile $CD/drift
CONF
start_bg "$CD/chronyd.log" - "$CHRONYD" -x -d -u root -f "$CD/chrony.conf"
C_CHRONYD_PID=$BG_PID

# ---- c: chronyd selects chimed ---------------------------------------------------------------
i=0
while [ $i -lt 30 ] && ! grep -q "Selected source 127.0.0.1" "$CD/chronyd.log"; do
    sleep 0.5; i=$((i + 1))
done
if ! check 'grep -q "Selected source 127.0.0.1" "$CD/chronyd.log"' \
    "c: chronyd selects chimed (local stratum 2) within 15 s (after $(elapsed) s)"; then
    diag_file "$CD/chronyd.log" 30
    diag_file "$C_SERVER_LOG"
fi
stop_pid "$C_CHRONYD_PID"

# ---- b: the chimed client ----------------------------------------------------------------------
FAKE_STATE=$B_STATE
i=0
while [ $i -lt 40 ] && [ "$(src_state "$BD/client.sock" 127.0.0.1)" != "*" ]; do
    sleep 0.25; i=$((i + 1))
done
check '[ "$(src_state "$BD/client.sock" 127.0.0.1)" = "*" ]' "b: chimed selects the chimed server (after $(elapsed) s)"
i=0
while [ $i -lt 100 ] && [ "$(fake_field steps)" != 1 ]; do sleep 0.1; i=$((i + 1)); done
check '[ "$(fake_field steps)" = 1 ]' "b: stepped the 0.2 s once (steps=$(fake_field steps))"
# Then the frequency has to be learnt (+50 ppm): hold < 1 ms from 10 s on.
sleep 10
worst=0
for k in 1 2 3 4 5 6 7 8; do
    off=$(fake_offset_s)
    worst=$(awk -v w="$worst" -v o="$off" 'BEGIN { if (o < 0) o = -o; print (o > w ? o : w) }')
    sleep 1
done
if ! check 'abs_lt "$worst" 0.001' "b: |offset| < 1 ms, 10..18 s after the step (worst $worst s)"; then
    diag "fake clock: $(cat "$FAKE_STATE")"
    diag_file "$B_LOG"
fi
tr=$(chimectl_json "$BD/client.sock" tracking)
diag "b: tracking $tr"
check 'printf "%s" "$tr" | grep -q "\"stratum\":2"' "b: the client is at stratum 2"

diag "wall time $(elapsed) s"
