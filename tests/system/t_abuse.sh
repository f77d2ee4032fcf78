#!/bin/sh
# What an attacker does, bounded, on loopback:
# 1. amplification: every request type (modes 0-7 x versions, mode 6
#    opcodes 0-31, mode 7 request codes, odd lengths, extension fields,
#    MACs) from localhost (full access) and from another address (the
#    built-in default): no reply is larger than its request, mode 7 is
#    never answered, mode 6 is never answered.
# 2. a flood from one address at full speed (>= 100k requests) while a
#    second address polls once a second: >= 97% of its polls are
#    answered (goal 99%, margin for a loaded machine); the flooder sees
#    KoD and drops.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

D=$(tmpdir)
PORT=11471
printf 'port %s\nlocal stratum 2\ninterface listen 127.0.0.1\n' $PORT >"$D/c.conf"
if ! start_chimed "$D/c.conf"; then
    not_ok "chimed starts"
    exit 1
fi
# From a non-local address (the secure default: noquery) nothing may be
# larger than its request, and mode 6 gets no answer at all.
out=$("$B/ntpabuse" amp -w 500 -b 127.0.0.2 127.0.0.1 $PORT); rc=$?
sum=$(printf '%s\n' "$out" | tail -n 1)
diag "from 127.0.0.2: $sum"
check '[ $rc -eq 0 ]' "amplification from 127.0.0.2: no oversized reply, no mode 7 reply"
check 'printf "%s\n" "$sum" | grep -q "oversized=0 mode7_replies=0"' "amplification from 127.0.0.2: counted zero"
check '! printf "%s\n" "$out" | grep -q "^reply: mode6"' "amplification from 127.0.0.2: mode 6 not answered"
check '[ "$(printf "%s\n" "$sum" | sed -n "s/.*cases=\([0-9]*\).*/\1/p")" -ge 200 ]' \
    "amplification from 127.0.0.2: at least 200 request types tried"

# From localhost, which restrict lets query (ntpq -p), a mode 6 READVAR
# may be longer than its 12-octet request; nothing else may.
out=$("$B/ntpabuse" amp -w 500 -b 127.0.0.1 127.0.0.1 $PORT)
sum=$(printf '%s\n' "$out" | tail -n 1)
diag "from 127.0.0.1: $sum"
over=$(printf '%s\n' "$out" | grep 'OVERSIZED' || true)
diag "oversized from localhost: $over"
check '! printf "%s\n" "$over" | grep -v "^reply: mode6 " | grep -q .' \
    "amplification from 127.0.0.1: only localhost's mode 6 answers exceed their request"
check 'printf "%s\n" "$sum" | grep -q "mode7_replies=0"' "amplification from 127.0.0.1: no mode 7 reply"
check 'printf "%s\n" "$out" | grep -q "^reply: mode6 op1 12 .*req=12"' \
    "amplification from 127.0.0.1: localhost may query mode 6 (READSTAT answered)"
check '[ "$(printf "%s\n" "$sum" | sed -n "s/.*cases=\([0-9]*\).*/\1/p")" -ge 200 ]' \
    "amplification from 127.0.0.1: at least 200 request types tried"
out=$("$B/ntpabuse" amp -w 500 -b 127.0.0.1 127.0.0.1 $PORT)
check 'printf "%s\n" "$out" | grep -q "^reply: mode3 v4 mac24 .*req=72 rep=52"' \
    "a request with a MAC (no key configured) gets a 52-octet crypto-NAK"
stop_pid "$CHIMED_PID"

# ---- flood ----------------------------------------------------------------------------
PORT=11472
cat >"$D/f.conf" <<EOF
port $PORT
local stratum 2
interface listen 127.0.0.1
restrict default kod limited nomodify nopeer noquery
discard average 0 minimum 0
EOF
if ! start_chimed "$D/f.conf"; then
    not_ok "chimed starts (flood)"
    exit 1
fi
# 40 polls, once a second (the limit: average 2^0 s): enough that the
# bound below has a margin, where 20 polls had to be 20 of 20 and one
# datagram dropped by a full kernel queue on a loaded machine failed it.
POLLS=40
"$B/ntpprobe" -b 127.0.0.2 -c $POLLS -i 1000 -t 1000 127.0.0.1 $PORT >"$D/good.out" 2>"$D/good.err" &
GOOD=$!
_lib_pids="$_lib_pids $GOOD"
sleep 1
total=0; rounds=0; kods=0; normal=0
# Full-speed rounds of 200k (50k under ASan) from 127.0.0.3 for as long as the good client
# polls; at most 25 rounds (5M requests) and 60 s.
# Under ASan chimed is several times slower: smaller rounds, same pauses.
ROUND=200000
[ -n "${CHIME_ASAN:-}" ] && ROUND=50000
end=$(( $(date +%s) + 60 ))
while alive "$GOOD" && [ $rounds -lt 25 ] && [ "$(date +%s)" -lt $end ]; do
    f=$("$B/ntpabuse" flood -b 127.0.0.3 -n $ROUND -d 5 127.0.0.1 $PORT)
    rounds=$((rounds + 1))
    total=$((total + $(printf '%s\n' "$f" | sed -n 's/^sent=\([0-9]*\).*/\1/p')))
    kods=$((kods + $(printf '%s\n' "$f" | sed -n 's/.* kod=\([0-9]*\).*/\1/p')))
    normal=$((normal + $(printf '%s\n' "$f" | sed -n 's/.* normal=\([0-9]*\).*/\1/p')))
    sleep 0.2
done
wait "$GOOD"
_lib_pids=$(_lib_forget "$GOOD" "$_lib_pids")
answered=$(grep -c '^offset=' "$D/good.out")
diag "flooder: $rounds rounds, sent=$total answered=$normal kod=$kods"
diag "good client: $answered of $POLLS polls answered"
usr1_counters "$CHIMED_PID" "$CHIMED_LOG"
diag "$(grep '\[server\] r' "$CHIMED_LOG" | tail -n 2)"
check '[ "$total" -ge 100000 ]' "flood: >= 100,000 requests sent at full speed"
# The goal is 99% (measured: 100 of 100 on an idle machine); asserted with
# a margin for a shared 2-core machine, and more for ASan+UBSan, which
# cannot drain the queue as fast.
PCT=97
[ -n "${CHIME_ASAN:-}" ] && PCT=90
check '[ $((answered * 100)) -ge $((POLLS * PCT)) ]' "good client polling once a second: >= $PCT% answered during the flood ($answered of $POLLS)"
check '[ "$kods" -ge 1 ]' "flooder got RATE KoDs"
check '[ $((normal * 3)) -lt "$total" ]' "flooder: most requests went unanswered (leak 1/4 at most)"
check 'grep -q "ratelimit=[1-9]" "$CHIMED_LOG"' "flood drops counted as ratelimit"
check 'alive "$CHIMED_PID"' "chimed survived the flood"

# chimectl clients: the rate limiter's view, busiest first.
SOCK="$(dirname "$CHIMED_LOG")/chimed.sock"
cj=$("$B/chimectl" -s "$SOCK" -j clients)
diag "clients: $(printf '%s' "$cj" | cut -c1-400)"
check 'printf "%s" "$cj" | /usr/bin/python3 -c "
import json, sys
d = json.load(sys.stdin)
top = d[\"clients\"][0]
assert top[\"address\"] == \"127.0.0.3\", top
assert top[\"count\"] >= 100000 and top[\"excess\"] > 0 and top[\"last_kod_s\"] is not None, top
assert d[\"used\"] >= 2 and d[\"capacity\"] >= 4096 and d[\"kod\"] >= 1
assert any(c[\"address\"] == \"127.0.0.2\" and c[\"excess\"] == 0 for c in d[\"clients\"])
"' "chimectl -j clients: the flooder first, over its limit; the polite client never"
ct=$("$B/chimectl" -s "$SOCK" clients)
check 'printf "%s\n" "$ct" | grep -q "^127.0.0.3 "' "chimectl clients: table view"
stop_pid "$CHIMED_PID"

# ---- a spoofed crowd (issue 15, finding 9) -------------------------------------------
# 65,536 sources (127.1.0.0/16, one picked at random per datagram) at full
# speed, at most 2,000,000 requests and 15 s, while a polite client polls
# every 2 s (the limit is one per 2 s) from before the flood to after it.
# The old daemon answered the crowd in full (its 4096-entry table evicted
# every source before its next request) and lost 17% of the datagrams in
# the kernel. Now the crowd is limited and, while the receive queue backs
# up, only sources with a polite history are answered. Asserted: the
# polite client's answers (one loss allowed), the drops counted by reason,
# the crowd mostly unanswered; the figures are printed.
PORT=11473
cat >"$D/crowd.conf" <<EOF2
port $PORT
local stratum 2
interface listen 127.0.0.1
restrict default kod limited nomodify nopeer noquery
discard average 1 minimum 0
EOF2
if ! start_chimed "$D/crowd.conf"; then
    not_ok "chimed starts (crowd)"
    exit 1
fi
POLLS=12
"$B/ntpprobe" -b 127.0.0.2 -c $POLLS -i 2000 -t 1000 127.0.0.1 $PORT >"$D/polite.out" 2>&1 &
GOOD=$!
_lib_pids="$_lib_pids $GOOD"
sleep 4
f=$("$B/ntpabuse" flood -r 65536 -n 2000000 -d 15 127.0.0.1 $PORT)
wait "$GOOD"
_lib_pids=$(_lib_forget "$GOOD" "$_lib_pids")
answered=$(grep -c '^offset=' "$D/polite.out")
usr1_counters "$CHIMED_PID" "$CHIMED_LOG"
srv=$(grep '\[server\] received' "$CHIMED_LOG" | tail -n 1)
rl=$(grep '\[server\] ratelimit:' "$CHIMED_LOG" | tail -n 1)
diag "crowd: $f"
diag "polite client: $answered of $POLLS polls answered"
diag "$srv"
diag "$rl"
sent=$(printf '%s\n' "$f" | sed -n 's/^sent=\([0-9]*\).*/\1/p')
normal=$(printf '%s\n' "$f" | sed -n 's/.* normal=\([0-9]*\).*/\1/p')
check '[ "$answered" -ge $((POLLS - 1)) ]' "spoofed crowd of 65,536: the polite client keeps its answers"
check 'printf "%s\n" "$srv" | grep -q "ratelimit=[1-9]"' "crowd: over-limit requests dropped and counted (ratelimit)"
check 'printf "%s\n" "$rl" | grep -q "shed=[0-9]* overload_episodes=[0-9]"' \
    "crowd: requests shed under overload counted (shed, overload_episodes)"
# With 15 or more requests per source, no more than the burst of 8 and 1
# in 4 of the rest (leak) can be answered in full: under 60% (old: 73%).
if [ "$sent" -ge 1000000 ]; then
    check '[ $((normal * 100)) -lt $((sent * 60)) ]' "crowd: most requests not answered in full"
else
    skip "crowd: most requests not answered in full" "only $sent requests sent in 15 s"
fi
check 'alive "$CHIMED_PID"' "chimed survived the crowd"
