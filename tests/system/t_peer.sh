#!/bin/sh
# Symmetric peers (issue 17), two real chimed -x on loopback:
#   A: port 11601, local stratum 3, peer B (key 2, SHA1)
#   B: port 11602, no other source, peer A (key 2)
# B must select A through the association (type 's' in chimectl sources,
# "peer":true in JSON, stratum 4), A must never take B (synchronised to
# A: a loop), and both must count authenticated mode 1 and 2 traffic and
# no reply larger than its request. A third chimed, C, has A as a peer with
# the wrong key: to A it is a stranger (no peer line), whose mode 1 with a
# MAC A cannot verify gets a crypto-NAK (counted as auth_bad), and C never
# hears A. Last, nopeer: a stranger's mode 1 gets one mode 2 answer from a
# chimed whose restrict lacks nopeer, and none from one with it.
# Every chimed runs with -x (clock control off) without CAP_SYS_TIME.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

D=$(tmpdir)
PA=11601
PB=11602
PC=11603
cat >"$D/ab.keys" <<KEYS
2 SHA1 0123456789abcdef0123456789abcdef01234567
KEYS
cat >"$D/c.keys" <<KEYS
2 SHA1 ffeeddccbbaa99887766554433221100ffeeddcc
KEYS
chmod 600 "$D/ab.keys" "$D/c.keys"
cat >"$D/a.conf" <<CONF
port $PA
interface listen 127.0.0.1
local stratum 3
keys $D/ab.keys
trustedkey 2
peer 127.0.0.1 port $PB key 2 minpoll 3 maxpoll 4 iburst
controlsocket $D/a.sock
CONF
cat >"$D/b.conf" <<CONF
port $PB
interface listen 127.0.0.1
keys $D/ab.keys
trustedkey 2
peer 127.0.0.1 port $PA key 2 minpoll 3 maxpoll 4 iburst
controlsocket $D/b.sock
CONF
cat >"$D/c.conf" <<CONF
port $PC
interface listen 127.0.0.1
keys $D/c.keys
trustedkey 2
peer 127.0.0.1 port $PA key 2 minpoll 3 maxpoll 4 iburst
controlsocket $D/c.sock
CONF

if ! start_chimed "$D/a.conf"; then
    not_ok "chimed A starts"
    exit 1
fi
A_PID=$CHIMED_PID
A_LOG=$CHIMED_LOG
if ! start_chimed "$D/b.conf"; then
    not_ok "chimed B starts"
    exit 1
fi
B_PID=$CHIMED_PID
B_LOG=$CHIMED_LOG
if ! start_chimed "$D/c.conf"; then
    not_ok "chimed C starts"
    exit 1
fi
C_PID=$CHIMED_PID
C_LOG=$CHIMED_LOG

# B selects A: iburst at minpoll 3, bounded by count (30 s at most).
wait_sources "$D/b.sock" '"state":"\*"' 300
bj=$(chimectl_json "$D/b.sock" sources)
diag "B sources: $bj"
check 'printf "%s\n" "$bj" | grep -q "\"address\":\"127.0.0.1:$PA\".*\"state\":\"\*\".*\"peer\":true"' \
    "B selects A through its peer association (\"peer\":true)"
bt=$("$B/chimectl" -s "$D/b.sock" sources 2>&1)
diag "$bt"
check 'printf "%s\n" "$bt" | grep -q "^\*127.0.0.1 .* 3 s "' \
    "chimectl sources shows A as stratum 3, type s (symmetric), as ntpq -p does"
check '"$B/chimectl" -s "$D/b.sock" tracking | grep -q "^Stratum *: 4$"' "B serves stratum 4"
# One machine clock: B's offset to A is no more than the round trip.
off=$(json_field "$bj" offset_s)
dly=$(json_field "$bj" delay_s)
check 'awk -v o="$off" -v d="$dly" "BEGIN { if (o < 0) o = -o; exit !(o <= d + 0.0005) }"' \
    "B's offset to A within the round trip (one clock): |$off| <= $dly + 0.5 ms"

# A hears B (stratum 4, refid 127.0.0.1 = A itself) and never selects it.
wait_sources "$D/a.sock" "\"stratum\":4" 200
aj=$(chimectl_json "$D/a.sock" sources | sed 's/},{/}\n{/g' | grep "127.0.0.1:$PB")
diag "A's entry for B: $aj"
check 'printf "%s\n" "$aj" | grep -q "\"stratum\":4" && ! printf "%s\n" "$aj" | grep -q "\"state\":\"\*\""' \
    "A hears B at stratum 4 and does not select it (B follows A: a loop)"
check '"$B/chimectl" -s "$D/a.sock" tracking | grep -q "^Stratum *: 3$"' \
    "A keeps serving its own clock at stratum 3"

# C has the wrong key: once A has seen C's packets (bounded by count),
# C must not have heard A.
wait_counters "$A_PID" "$A_LOG" " auth_bad=" 20
diag "A: $(grep 'server\] received' "$A_LOG" | tail -n 1)"
check 'grep "server\] received" "$A_LOG" | tail -n 1 | grep -q " auth_bad=[1-9]"' \
    "A refuses C's packets (wrong key) with a crypto-NAK (auth_bad)"
cj=$(chimectl_json "$D/c.sock" sources)
check '! printf "%s\n" "$cj" | grep -q "\"state\":\"\*\""' "C (wrong key) never selects A"
check 'printf "%s\n" "$cj" | grep -q "\"reach\":0,"' "C (wrong key) never hears A (reach 0)"
check 'grep -q "peer 127.0.0.1 (127.0.0.1:$PB)" "$A_LOG"' "A logs its peer association"
stop_pid "$C_PID"
stop_pid "$B_PID"
stop_pid "$A_PID"

# ---- nopeer -------------------------------------------------------------------------
P="$B/ntpprobe"
for flags in "kod limited nomodify noquery" "kod limited nomodify noquery nopeer"; do
    cat >"$D/n.conf" <<CONF
port $PC
interface listen 127.0.0.1
local stratum 2
restrict default $flags
CONF
    if ! start_chimed "$D/n.conf"; then
        not_ok "chimed starts (restrict default $flags)"
        continue
    fi
    out=$("$P" -m 1 -t 500 -b 127.0.0.9 127.0.0.1 $PC 2>&1)
    usr1_counters "$CHIMED_PID" "$CHIMED_LOG"
    s=$(grep '\[server\] received' "$CHIMED_LOG" | tail -n 1)
    case $flags in
        *nopeer)
            check '! printf "%s\n" "$out" | grep -q "^offset=" && printf "%s\n" "$s" | grep -q " nopeer=1"' \
                "nopeer: a stranger's mode 1 is dropped and counted ($s)" ;;
        *)
            check 'printf "%s\n" "$out" | grep -q "^offset=.* stratum=2 .* len=48$"' \
                "without nopeer: a stranger's mode 1 gets one 48-octet mode 2 answer ($out)" ;;
    esac
    stop_pid "$CHIMED_PID"
done
