#!/bin/sh
# NTS for a fleet: one chimed NTS-KE server (K, the key writer, rotating
# every 4 s: "nts rotate 4", keys where NTPsec's "nts cookie FILE" says:
# FILE's directory) and two chimed NTP servers (A, B: "nts readonly",
# that directory as "ntsdir", no NTS-KE of their own).
#   a. the key file is written mode 0600 and holds current and next keys;
#   b. one key exchange (tests/tools/ntsprobe, chimed's own NTS client
#      code) is served by both A and B, request after request, across
#      several rotations: never a NAK, never a second key exchange;
#   c. a chimed NTS client of K is sent to A by K's server negotiation
#      records, selects it, and stays served across the rotations and
#      across restarts of A and of K (keys loaded from disk) with its one
#      key exchange and no NTS NAK;
#   d. every NTS request shape (valid, bad cookie, too many placeholders,
#      truncated authenticator, a huge extension field, a replay): no reply
#      is larger than its request; a bad cookie gets a NAK, a truncated
#      authenticator nothing; a replayed request is answered again (the
#      server keeps no state, RFC 8915 lets it) and the client refuses the
#      second reply, its identifier no longer outstanding.
# Loopback only; chimed runs with -x (no clock control), without
# CAP_SYS_TIME. Waits poll with count bounds; rotations come from K's
# timer, so the test waits for them to have happened, never for a time.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

if ! command -v openssl >/dev/null 2>&1; then
    skip "NTS fleet" "needs the openssl command"
    exit 0
fi
PROBE="$B/ntsprobe"
D=$(tmpdir)
mkdir "$D/keys"
count() { grep -c "$1" "$2" 2>/dev/null || true; }

# ---- a CA and a certificate for localhost --------------------------------------------------
if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$D/ca.key" -out "$D/ca.pem" -days 2 -subj "/CN=chime fleet CA" 2>/dev/null ||
    ! openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$D/ke.key" -out "$D/ke.csr" -subj "/CN=localhost" 2>/dev/null ||
    ! printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$D/ke.ext" ||
    ! openssl x509 -req -in "$D/ke.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" -CAcreateserial \
        -out "$D/ke.pem" -days 2 -extfile "$D/ke.ext" 2>/dev/null; then
    not_ok "certificates made with openssl"
    exit 1
fi

cat >"$D/k.conf" <<CONF
port 11561
interface listen 127.0.0.1
local stratum 1
controlsocket $D/k.sock
nts cookie $D/keys/nts-keys
nts enable
nts cert $D/ke.pem
nts key $D/ke.key
nts port 14561
nts rotate 4
nts ntpserver 127.0.0.1
nts ntpport 11562
CONF
member_conf() {     # NAME PORT
    cat >"$D/$1.conf" <<CONF
port $2
interface listen 127.0.0.1
local stratum 1
controlsocket $D/$1.sock
ntsdir $D/keys
nts enable
nts readonly
CONF
}
member_conf a 11562
member_conf b 11563
if ! start_chimed "$D/k.conf"; then not_ok "K, the NTS-KE server, starts"; exit 1; fi
K_PID=$CHIMED_PID; K_LOG=$CHIMED_LOG
if ! start_chimed "$D/a.conf"; then not_ok "A starts"; exit 1; fi
A_PID=$CHIMED_PID; A_LOG=$CHIMED_LOG
if ! start_chimed "$D/b.conf"; then not_ok "B starts"; exit 1; fi
B_PID=$CHIMED_PID; B_LOG=$CHIMED_LOG
ok "K (NTS-KE, key writer), A and B (NTP, nts readonly) start"

# ---- a: the key file ----------------------------------------------------------------------
check '[ "$(stat -c %a "$D/keys/ntskeys")" = 600 ]' "a: ntsdir/ntskeys is mode 0600"
check 'grep -q " c " "$D/keys/ntskeys" && grep -q " n " "$D/keys/ntskeys"' \
    "a: ... and holds the current key and the next one"
check 'grep -q "NTS for NTP only" "$A_LOG" && grep -q "NTS cookie keys loaded from" "$A_LOG"' \
    "a: A serves NTS for NTP only, with the keys K wrote"

# ---- b and c: one key exchange, both servers, across rotations ----------------------------
cat >"$D/c.conf" <<CONF
server localhost nts ntsport 14561 iburst minpoll 3 maxpoll 3
nts ca $D/ca.pem
port 11564
interface listen 127.0.0.1
controlsocket $D/c.sock
CONF
if ! start_chimed "$D/c.conf"; then not_ok "c: the chimed NTS client starts"; exit 1; fi
C_PID=$CHIMED_PID; C_LOG=$CHIMED_LOG

r0=$(count "is now current" "$K_LOG")
start_bg "$D/probe.out" - "$PROBE" -c "$D/ca.pem" -n 400 -i 250 -t 5000 -u "$D/stop" \
    localhost 14561 127.0.0.1:11562 127.0.0.1:11563
PROBE_PID=$BG_PID
# four rotations, each re-read by both members, while the probe runs
i=0
while [ $i -lt 240 ] && { [ "$(count "is now current" "$K_LOG")" -lt $((r0 + 4)) ] ||
                          [ "$(count "re-read" "$A_LOG")" -lt 4 ] ||
                          [ "$(count "re-read" "$B_LOG")" -lt 4 ]; }; do
    sleep 0.25; i=$((i + 1))
done
: >"$D/stop"
i=0
while [ $i -lt 200 ] && alive "$PROBE_PID"; do sleep 0.1; i=$((i + 1)); done
stop_pid "$PROBE_PID"
rot=$(( $(count "is now current" "$K_LOG") - r0 ))
sum=$(grep '^summary' "$D/probe.out")
diag "probe: $sum; rotations during it: $rot"
if ! check 'grep -q "^ke ok cookies=8 server=127.0.0.1 port=11562" "$D/probe.out"' \
    "b: the key exchange gave 8 cookies and pointed at A (server and port records)"; then
    diag_file "$D/probe.out"
    diag_file "$K_LOG"
fi
check '[ "$rot" -ge 4 ] && [ "$(count "re-read" "$A_LOG")" -ge 4 ] &&
       [ "$(count "re-read" "$B_LOG")" -ge 4 ]' \
    "b: K rotated $rot times and A and B re-read the keys each time"
na=$(count "^127.0.0.1:11562 .*result=ok" "$D/probe.out")
nb=$(count "^127.0.0.1:11563 .*result=ok" "$D/probe.out")
if ! check 'printf "%s" "$sum" | grep -q "nak=0 timeout=0 bad=0 amplified=0" &&
            [ "$na" -ge 16 ] && [ "$nb" -ge 16 ] &&
            [ "$(count "result=" "$D/probe.out")" = $((na + nb)) ]' \
    "b: one key exchange, served by A ($na) and B ($nb) throughout, never a NAK"; then
    grep -v "result=ok" "$D/probe.out" | head -n 20 | sed 's/^/# /'
fi

# the counters, as chimectl and the metrics show them
ks=$(chimectl_json "$D/k.sock" serverstats)
as=$(chimectl_json "$D/a.sock" serverstats)
am=$("$B/chimectl" -s "$D/a.sock" metrics 2>/dev/null)
diag "K serverstats: $ks"
diag "A serverstats: $as"
check 'printf "%s" "$ks" | grep -q "\"nts\":{\"ke_sessions\":[1-9]" &&
       printf "%s" "$ks" | grep -q "\"key_rotations\":[4-9]\|\"key_rotations\":[1-9][0-9]"' \
    "b: chimectl serverstats on K counts its key exchanges and rotations"
check 'printf "%s" "$as" | grep -q "\"requests\":[1-9][0-9]*,\"naks\":0,\"dropped\":0,\"key_rotations\":0,\"key_reloads\":[4-9]"' \
    "b: ... on A the NTS requests, no NAK, and the key re-reads"
check 'printf "%s" "$am" | grep -q "^chime_nts_requests_total [1-9]"' \
    "b: the metrics carry chime_nts_requests_total"

# c: K's records sent the chimed client to A; it selects A
src_state() { chimectl_json "$D/c.sock" sources | sed -n 's/.*"state":"\(.\)".*/\1/p' | head -n 1; }
samples() {
    _v=$(chimectl_json "$D/c.sock" sourcestats | sed -n 's/.*"samples":\([0-9]*\).*/\1/p')
    echo "${_v:-0}"
}
i=0
while [ $i -lt 160 ] && [ "$(src_state)" != "*" ]; do sleep 0.25; i=$((i + 1)); done
if ! check '[ "$(src_state)" = "*" ] &&
            grep -q "NTS-KE with localhost: 8 cookies, NTP server 127.0.0.1 port 11562" "$C_LOG"' \
    "c: the chimed client keyed with K, was sent to A, and selects it"; then
    diag_file "$C_LOG"
fi

# restarts: A and then K come back with the keys on disk; the client polls
# on with its cookies (it would get a NAK, and key again, otherwise)
stop_pid "$A_PID"
if ! start_chimed "$D/a.conf"; then not_ok "c: A restarts"; exit 1; fi
A_PID=$CHIMED_PID; A_LOG2=$CHIMED_LOG
stop_pid "$K_PID"
if ! start_chimed "$D/k.conf"; then not_ok "c: K restarts"; exit 1; fi
K_PID=$CHIMED_PID; K_LOG2=$CHIMED_LOG
check 'grep -q "NTS cookie keys loaded from" "$K_LOG2" && grep -q "NTS cookie keys loaded from" "$A_LOG2"' \
    "c: K and A load the keys from ntsdir at start"
s0=$(samples)
r1=$(count "is now current" "$K_LOG2")
i=0
while [ $i -lt 240 ] && { [ "$(samples)" -lt $((s0 + 2)) ] ||
                          [ "$(count "is now current" "$K_LOG2")" -lt $((r1 + 2)) ]; }; do
    sleep 0.25; i=$((i + 1))
done
s1=$(samples)
diag "client samples $s0 -> $s1 after the restarts"
if ! check '[ "$s1" -ge $((s0 + 2)) ] && [ "$(count "NTS-KE with localhost: 8 cookies" "$C_LOG")" = 1 ] &&
            ! grep -q "NTS NAK" "$C_LOG" && [ "$(src_state)" = "*" ]' \
    "c: across rotations and both restarts the client is served with its one key exchange, no NAK"; then
    diag_file "$C_LOG"
    diag_file "$A_LOG2"
fi

# ---- d: request shapes ----------------------------------------------------------------------
shape() {       # SHAPE: three requests to A; the probe's output in $D/SHAPE.out
    "$PROBE" -c "$D/ca.pem" -s "$1" -n 3 -i 50 -t 1500 localhost 14561 127.0.0.1:11562 \
        >"$D/$1.out" 2>&1
    grep '^summary' "$D/$1.out"
}
usr1_counters "$A_PID" "$A_LOG2"
q0=$(sed -n 's/.*nts_requests=\([0-9]*\) naks=\([0-9]*\).*/\1 \2/p' "$A_LOG2" | tail -n 1)
for s in valid badcookie placeholders truncauth hugeef replay; do
    out=$(shape $s)
    diag "$s: $out; sizes: $(sed -n 's/.* req=\([0-9]*\) reply=\([0-9]*\) result=\([^ ]*\).*/\1->\2 \3/p' \
        "$D/$s.out" | tr '\n' ' ')"
    check 'printf "%s" "$out" | grep -q "amplified=0$"' "d: $s: no reply larger than its request"
done
check 'grep -q "summary sent=3 ok=3 " "$D/valid.out"' "d: valid requests are answered"
check 'grep -q "summary sent=3 ok=0 nak=3 " "$D/badcookie.out"' "d: a bad cookie gets an NTS NAK"
check 'grep -q "summary sent=3 ok=3 " "$D/placeholders.out" &&
       [ "$(sed -n "s/.* req=\([0-9]*\) .*/\1/p" "$D/placeholders.out" | head -n 1)" -gt 900 ]' \
    "d: too many placeholders: answered, with 8 cookies at most, within the request's size"
check 'grep -q "summary sent=3 ok=0 nak=0 timeout=3 " "$D/truncauth.out"' \
    "d: a truncated authenticator gets no reply"
check 'grep -q "summary sent=3 ok=3 " "$D/hugeef.out"' \
    "d: an unknown 600-octet field (authenticated) is ignored, the request answered"
check 'grep -q "summary sent=6 ok=3 nak=0 timeout=0 bad=3 " "$D/replay.out" &&
       [ "$(count "result=unique identifier missing or not ours" "$D/replay.out")" = 3 ]' \
    "d: a replayed request is answered again, and the client refuses the second reply"
usr1_counters "$A_PID" "$A_LOG2"
q1=$(sed -n 's/.*nts_requests=\([0-9]*\) naks=\([0-9]*\).*/\1 \2/p' "$A_LOG2" | tail -n 1)
diag "A's nts_requests naks before and after the shapes: $q0 / $q1"
check '[ $(( ${q1% *} - ${q0% *} )) -ge 15 ] && [ $(( ${q1#* } - ${q0#* } )) -ge 3 ]' \
    "d: A counted the requests (the replays among them) and the NAKs"

stop_pid "$C_PID"
stop_pid "$A_PID"
stop_pid "$B_PID"
stop_pid "$K_PID"
check 'grep -q "ke_sessions=[1-9]" "$K_LOG2"' "K counted its key exchanges"
