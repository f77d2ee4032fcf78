#!/bin/sh
# threads 2: SO_REUSEPORT worker threads. Many requests from many source
# addresses all answered exactly; a "limited" client is limited exactly
# whichever thread its requests reach (steered by source address); a
# reload keeps serving and its restrict rules apply on every thread;
# chimectl's counters are the sums over the threads; mode 6 (passed by a
# worker to the main thread) still answered. No timing margins: every
# check counts packets.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

D=$(tmpdir)
PORT=11471
SOCK="$D/ctl.sock"
conf() {
    cat >"$D/c.conf" <<EOF
port $PORT
local stratum 2
threads 2
interface listen 127.0.0.1
controlsocket $SOCK
restrict default
restrict 127.0.0.7 kod limited
restrict 127.0.1.0 mask 255.255.255.0 kod limited
$1
discard average 0 minimum 0
ratelimit burst 4 leak 0
EOF
}
conf ""
if ! start_chimed "$D/c.conf"; then
    not_ok "chimed starts with threads 2"
    exit 1
fi
P="$B/ntpprobe"
check 'grep -q "serving on 2 threads" "$CHIMED_LOG"' "threads 2: two threads serve (log)"
received() { "$B/chimectl" -s "$SOCK" serverstats 2>/dev/null |
             sed -n 's/^NTP requests received *: *\([0-9]*\).*/\1/p'; }
before=$(received)

# 1. 24 source addresses x 5 requests: every one answered, the origin
# echoed (ntpprobe rejects a reply that does not echo its transmit
# stamp), mode 4, stratum 2. -i 0: back to back.
bad=0; sent=0
for a in $(seq 20 43); do
    out=$("$P" -a -c 5 -i 0 -t 2000 -b 127.0.0.$a 127.0.0.1 $PORT 2>&1)
    n=$(printf '%s\n' "$out" | grep -c "stratum=2 refid=76.79.67.76 leap=0 len=48")
    sent=$((sent + 5))
    [ "$n" -eq 5 ] || { bad=$((bad + 1)); diag "127.0.0.$a: $out"; }
done
check '[ $bad -eq 0 ]' "120 requests from 24 addresses: all answered, origin echoed, stratum 2 ($bad addresses short)"

# 2. The counters: chimectl's sums equal what was sent.
after=$(received)
check '[ -n "$before" ] && [ $((after - before)) -eq $sent ]' \
    "chimectl serverstats: received grew by exactly the $sent sent ($before -> $after)"

# Both threads took part (the hash of 24 addresses lands on both).
usr1_counters "$CHIMED_PID" "$CHIMED_LOG"
line=$(grep '\[server\] threads: received' "$CHIMED_LOG" | tail -n 1)
diag "$line"
m=$(printf '%s\n' "$line" | sed -n 's/.*received main=\([0-9]*\).*/\1/p')
w=$(printf '%s\n' "$line" | sed -n 's/.* 1=\([0-9]*\).*/\1/p')
check '[ "${m:-0}" -gt 0 ] && [ "${w:-0}" -gt 0 ]' "both threads answered (main=$m worker=$w)"

# 3. Rate limiting per client exact: three rounds of 10 back-to-back
# requests from the limited 127.0.0.7: each round gets exactly its burst
# of 4 answered at most (a drained bucket between rounds may allow one
# more: 1 s per second), never 2x the burst as two independent tables would.
lim_ok=0
for r in 1 2 3; do
    out=$("$P" -a -c 10 -i 0 -t 200 -b 127.0.0.7 127.0.0.1 $PORT 2>&1)
    n=$(printf '%s\n' "$out" | grep -c '^offset=')
    k=$(printf '%s\n' "$out" | grep -c "kiss-o'-death.*refid=RATE")
    diag "limited round $r: $n answered, $k RATE KoD"
    [ "$n" -le 5 ] && [ "$k" -ge 1 ] && lim_ok=$((lim_ok + 1))
done
check '[ $lim_ok -eq 3 ]' "limited 127.0.0.7: at most the burst answered and a RATE KoD, every round"

# chimectl clients reads every thread's table: 16 limited addresses, one
# request each, spread over both threads by the steering hash, all listed
# once with count 1; 127.0.0.7 with its 30.
for a in $(seq 1 16); do
    "$P" -a -t 2000 -b 127.0.1.$a 127.0.0.1 $PORT >/dev/null 2>&1
done
"$B/chimectl" -s "$SOCK" -j clients >"$D/clients.json" 2>&1
check 'python3 -c "
import json, sys
rows = json.load(open(sys.argv[1]))[\"clients\"]
mine = [r for r in rows if r[\"address\"].startswith(\"127.0.1.\")]
seven = [r for r in rows if r[\"address\"] == \"127.0.0.7\"]
assert len(mine) == 16 and len({r[\"address\"] for r in mine}) == 16, rows
assert all(r[\"count\"] == 1 for r in mine), mine
assert len(seven) == 1 and seven[0][\"count\"] == 30, seven
" "$D/clients.json"' "chimectl clients: the 16 addresses of both threads once each, 127.0.0.7 with 30"
diag_file "$D/clients.json"

# 4. Mode 6 reaching a worker goes to the main thread: ntpabuse's read
# variables request (op 1) answered for every source address.
m6=0
for a in 50 51 52 53 54 55; do
    "$B/ntpabuse" amp -w 300 -b 127.0.0.$a 127.0.0.1 $PORT >"$D/m6.$a" 2>&1
    grep -q "^reply: mode6 op1 " "$D/m6.$a" && m6=$((m6 + 1))
done
diag_file "$D/m6.50"
check '[ $m6 -eq 6 ]' "mode 6 from 6 addresses answered (passed to the main thread where needed)"

# Mode 6 from a limited client shares the bucket of its mode 3, whichever
# thread its address is steered to (the worker passes mode 6 on to the
# main thread, which checks it against that worker's table): a fresh
# address's read-variables request is answered; once a burst of mode 3 has
# emptied its bucket, the next one is not.
m6() {  # m6 SRC WAIT_S: "answered" or "silent"
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.settimeout(float(sys.argv[3]))
s.sendto(bytes([0x16, 2, 0, 1] + [0] * 8), ("127.0.0.1", int(sys.argv[2])))
try:
    s.recv(2048)
    print("answered")
except socket.timeout:
    print("silent")
' "$1" $PORT "$2"
}
fresh=0; shared=0
for a in $(seq 200 207); do
    [ "$(m6 127.0.1.$a 2)" = answered ] && fresh=$((fresh + 1))
    "$P" -a -c 6 -i 0 -t 200 -b 127.0.1.$a 127.0.0.1 $PORT >/dev/null 2>&1
    [ "$(m6 127.0.1.$a 2)" = silent ] && shared=$((shared + 1))
done
check '[ $fresh -eq 8 ] && [ $shared -eq 8 ]' \
    "limited mode 6: answered fresh ($fresh/8), refused once mode 3 emptied the bucket, both threads ($shared/8)"

# 5. A reload keeps serving; its restrict rule applies on every thread:
# every address of 127.0.0.60-75 ignored afterwards, 127.0.0.80-95 served.
conf "restrict 127.0.0.64 mask 255.255.255.240 ignore"
kill -HUP "$CHIMED_PID"
i=0; while ! grep -q "reload: .*restrict rules" "$CHIMED_LOG" && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
check 'grep -q "reload: .*restrict rules" "$CHIMED_LOG"' "reload with a new restrict rule"
ign=0; srv=0
for a in $(seq 64 79); do
    "$P" -a -t 300 -b 127.0.0.$a 127.0.0.1 $PORT >/dev/null 2>&1 || ign=$((ign + 1))
done
for a in $(seq 80 95); do
    "$P" -a -t 2000 -b 127.0.0.$a 127.0.0.1 $PORT >/dev/null 2>&1 && srv=$((srv + 1))
done
check '[ $ign -eq 16 ] && [ $srv -eq 16 ]' \
    "after the reload 127.0.0.64/28 is ignored on every thread ($ign/16), others served ($srv/16)"
usr1_counters "$CHIMED_PID" "$CHIMED_LOG"
s=$(grep '\[server\] received' "$CHIMED_LOG" | tail -n 1)
diag "$s"
check 'printf "%s\n" "$s" | grep -q " ignore=16"' "the 16 ignored requests are counted (summed over threads)"

# 6. Clean shutdown: workers joined, exit status 0.
kill -TERM "$CHIMED_PID"
i=0; while alive "$CHIMED_PID" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
wait "$CHIMED_PID" 2>/dev/null; rc=$?
check '! alive "$CHIMED_PID" && [ $rc -eq 0 ]' "SIGTERM: workers joined, exit status 0 (got $rc)"
_lib_pids=$(_lib_forget "$CHIMED_PID" "$_lib_pids")

# 7. threads 1: one loop, no worker.
printf 'port %s\nthreads 1\ninterface listen 127.0.0.1\nlocal stratum 2\n' $((PORT + 1)) >"$D/one.conf"
if start_chimed "$D/one.conf"; then
    check '! grep -q "serving on" "$CHIMED_LOG" && "$P" -a -t 2000 127.0.0.1 $((PORT + 1)) >/dev/null' \
        "threads 1: the single loop serves, no worker"
else
    not_ok "threads 1 starts"
fi
