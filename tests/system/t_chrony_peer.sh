#!/bin/sh
# chimed and chronyd 4.3 (unpacked by peers.sh, never installed) as
# symmetric peers (issue 17), both directions, on loopback. chronyd has
# the mode (NTPsec has not: t_ntpsec_peer.sh), so this is interop of mode 1
# and mode 2 with another implementation, SHA1-keyed on both sides:
#   a. chronyd (port 11621, `local stratum 3`, `peer` chimed) and chimed
#      (port 11622, no other source, `peer` chronyd): chimed selects
#      chronyd through its peer association (type s, "peer":true), serves
#      stratum 4, its offset within the round trip (one clock), and counts
#      chronyd's mode 1 packets answered with mode 2;
#   b. the roles swapped: chimed (`local stratum 3`) and chronyd with no
#      other source: chronyd selects chimed ("Selected source" in its log)
#      and says it is synchronised to it at stratum 4 (chronyd -x measures,
#      never moves the clock).
# chronyd -x and chimed -x run without CAP_SYS_TIME. Waits are bounded by
# count.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

if ! need_peers; then
    not_ok "reference peers unpacked"
    exit 1
fi
D=$(tmpdir)
PC=11621
PM=11622
printf '2 SHA1 HEX:0123456789abcdef0123456789abcdef01234567\n' >"$D/chrony.keys"
printf '2 SHA1 0123456789abcdef0123456789abcdef01234567\n' >"$D/chime.keys"
chmod 600 "$D/chrony.keys" "$D/chime.keys"

chrony_conf() {     # LOCAL_LINE
    cat >"$D/chrony.conf" <<CONF
port $PC
bindaddress 127.0.0.1
cmdport 0
allow 127.0.0.1
keyfile $D/chrony.keys
$1
peer 127.0.0.1 port $PM key 2 minpoll 3 maxpoll 4 iburst
pidfile $D/chronyd.pid
driftfile $D/chrony.drift
CONF
}
chime_conf() {      # LOCAL_LINE
    cat >"$D/m.conf" <<CONF
port $PM
interface listen 127.0.0.1
keys $D/chime.keys
trustedkey 2
$1
peer 127.0.0.1 port $PC key 2 minpoll 3 maxpoll 4 iburst
controlsocket $D/m.sock
CONF
}
start_chronyd() {   # LOG
    start_bg "$1" - "$CHRONYD" -x -d -u root -f "$D/chrony.conf"
    CPID=$BG_PID
}

# ---- a: chimed follows chronyd ----------------------------------------------------
chrony_conf "local stratum 3"
chime_conf ""
start_chronyd "$D/chronyd-a.log"
if ! start_chimed "$D/m.conf"; then
    not_ok "a: chimed starts"
    exit 1
fi
M_PID=$CHIMED_PID
M_LOG=$CHIMED_LOG
wait_sources "$D/m.sock" '"state":"\*"' 300
mj=$(chimectl_json "$D/m.sock" sources)
diag "chimed sources: $mj"
if ! check 'printf "%s\n" "$mj" | grep -q "\"address\":\"127.0.0.1:$PC\".*\"state\":\"\*\".*\"peer\":true"' \
    "a: chimed selects chronyd through its peer association"; then
    diag_file "$D/chronyd-a.log"
    diag_file "$M_LOG"
fi
check '"$B/chimectl" -s "$D/m.sock" sources | grep -q "^\*127.0.0.1 .* 3 s "' \
    "a: chimectl sources: chronyd at stratum 3, type s (symmetric)"
check '"$B/chimectl" -s "$D/m.sock" tracking | grep -q "^Stratum *: 4$"' "a: chimed serves stratum 4"
off=$(json_field "$mj" offset_s)
dly=$(json_field "$mj" delay_s)
check 'awk -v o="$off" -v d="$dly" "BEGIN { if (o == \"\" || d == \"\") exit 1; if (o < 0) o = -o; exit !(o <= d + 0.0005) }"' \
    "a: chimed's offset to chronyd within the round trip (one clock): |$off| <= $dly + 0.5 ms"
# chronyd polls chimed in mode 1 too: chimed answers them in mode 2
wait_counters "$M_PID" "$M_LOG" "replied=[1-9]" 20
diag "chimed: $(grep 'server\] received' "$M_LOG" | tail -n 1)"
check 'grep "server\] received" "$M_LOG" | tail -n 1 | grep -q "replied=[1-9]" &&
       ! grep "server\] received" "$M_LOG" | tail -n 1 | grep -q "auth_bad=[1-9]"' \
    "a: chimed answers chronyd's authenticated mode 1 (none refused)"
stop_pid "$M_PID"
stop_pid "$CPID"

# ---- b: chronyd follows chimed ----------------------------------------------------
chrony_conf ""
chime_conf "local stratum 3"
if ! start_chimed "$D/m.conf"; then
    not_ok "b: chimed starts"
    exit 1
fi
M_PID=$CHIMED_PID
start_chronyd "$D/chronyd-b.log"
i=0
while [ $i -lt 300 ] && ! grep -q "Selected source 127.0.0.1" "$D/chronyd-b.log"; do
    sleep 0.1; i=$((i + 1))
done
if ! check 'grep -q "Selected source 127.0.0.1" "$D/chronyd-b.log"' \
    "b: chronyd selects chimed through its peer association"; then
    diag_file "$D/chronyd-b.log"
    diag_file "$CHIMED_LOG"
fi
# chimed hears chronyd (stratum 4, synchronised to chimed) and stays on its own clock
wait_sources "$D/m.sock" '"stratum":4' 200
mj=$(chimectl_json "$D/m.sock" sources)
diag "chimed sources: $mj"
check 'printf "%s\n" "$mj" | grep -q "\"stratum\":4" && ! printf "%s\n" "$mj" | grep -q "\"state\":\"\*\""' \
    "b: chimed hears chronyd at stratum 4 and does not select it (a loop)"
check '"$B/chimectl" -s "$D/m.sock" tracking | grep -q "^Stratum *: 3$"' \
    "b: chimed keeps serving its own clock at stratum 3"
stop_pid "$CPID"
stop_pid "$M_PID"
