#!/bin/sh
# bench/nts.sh — NTS throughput, chimed against chronyd 4.3 in the same run.
#
# Builds nothing (make has built $B/chimed and $B/ntsload). Gets chronyd
# through tests/system/peers.sh, makes a CA and a localhost certificate
# with openssl, and starts both as NTS servers on loopback (-x, without
# CAP_SYS_TIME, pinned to CPU 0): chronyd on NTP 11131 / KE 14131, chimed
# on NTP 11132 / KE 14132 ("nts enable"). Then, BENCH_ROUNDS rounds
# (default 3), the order alternating, with ntsload pinned to CPU 1:
#   - NTS requests/s: ntsload keeps BENCH_WINDOW (default 16) requests
#     outstanding for BENCH_SECONDS (default 5, at most 60); with the
#     server's CPU time over the same seconds, replies per server
#     CPU-second (the rate alone stops at the generator's core);
#   - NTS-KE handshakes/s: BENCH_KE (default 200, at most 10000) key
#     exchanges one after another;
#   - plain NTP p99 while key exchanges run: bench/loadgen 1x1 (one
#     client, one request in flight) for BENCH_SECONDS alone, then again
#     while ntsload runs key exchanges back to back (nice 10 on the
#     generator's CPU); and, under the same key exchanges, the p99 of a
#     bystander, a plain chimed on CPU 0 (port 11133) that does no key
#     exchange: on two cores the TLS work of client and server slows the
#     whole machine, and the bystander shows how much of a p99 rise is
#     that rather than a handshake in the server's own packet path.
# Prints each round, the medians and chimed/chronyd ratios. Everything
# it starts it stops by pid; loopback only; every load is bounded.
# SPDX-License-Identifier: BSD-2-Clause
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
B=${B:-build}
case $B in /*) ;; *) B="$TOP/$B" ;; esac
SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
WINDOW=${BENCH_WINDOW:-16}
KE=${BENCH_KE:-200}
. "$TOP/bench/proc.sh"
die() { echo "bench/nts.sh: $*" >&2; exit 1; }
[ -x "$B/chimed" ] && [ -x "$B/ntsload" ] && [ -x "$B/loadgen" ] || die "build first (make)"
command -v openssl >/dev/null 2>&1 || die "needs the openssl command"
PEERS_QUIET=1
. "$TOP/tests/system/peers.sh" || die "cannot get chronyd (tests/system/peers.sh failed)"
W=$(mktemp -d "${TMPDIR:-/tmp}/chime-bench-nts.XXXXXX")
PIDS=""
cleanup() {
    for p in $PIDS; do stop_pid "$p"; done
    rm -rf "$W"
}
trap cleanup EXIT INT TERM

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$W/ca.key" -out "$W/ca.pem" -days 2 -subj "/CN=bench CA" 2>/dev/null &&
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$W/srv.key" -out "$W/srv.csr" -subj "/CN=localhost" 2>/dev/null &&
printf 'subjectAltName=DNS:localhost\n' >"$W/srv.ext" &&
openssl x509 -req -in "$W/srv.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial \
    -out "$W/srv.pem" -days 2 -extfile "$W/srv.ext" 2>/dev/null || die "openssl failed"

cat >"$W/chrony.conf" <<CONF
port 11131
bindaddress 127.0.0.1
allow
local stratum 1
cmdport 0
ntsserverkey $W/srv.key
ntsservercert $W/srv.pem
ntsport 14131
driftfile $W/chrony.drift
pidfile $W/chrony.pid
CONF
cat >"$W/bystander.conf" <<CONF
port 11133
interface listen 127.0.0.1
local stratum 1
threads 1
restrict default
controlsocket $W/bystander.sock
CONF
cat >"$W/chime.conf" <<CONF
port 11132
interface listen 127.0.0.1
local stratum 1
threads ${BENCH_CHIME_THREADS:-1}
controlsocket $W/chimed.sock
nts enable
nts cert $W/srv.pem
nts key $W/srv.key
nts port 14132
CONF
start() {       # LOG CMD...
    _log=$1; shift
    taskset -c 0 setpriv --bounding-set -sys_time --inh-caps -sys_time "$@" >"$_log" 2>&1 &
    PIDS="$PIDS $!"
}
start "$W/chronyd.log" "$CHRONYD" -x -d -u root -f "$W/chrony.conf"
PID_chronyd=$!
start "$W/chimed.log" "$B/chimed" -n -x -c "$W/chime.conf" -p "$W/chimed.pid"
PID_chimed=$!
start "$W/bystander.log" "$B/chimed" -n -x -c "$W/bystander.conf" -p "$W/bystander.pid"
ready() {       # KEPORT NTPPORT: a key exchange and one request answered (bounded)
    i=0
    while [ $i -lt 50 ]; do
        "$B/ntsload" -c "$W/ca.pem" -d 1 -w 1 localhost "$1" "127.0.0.1:$2" >/dev/null 2>&1 &&
            return 0
        sleep 0.2; i=$((i + 1))
    done
    return 1
}
ready 14131 11131 || die "chronyd's NTS server does not answer ($(tail -n 3 "$W/chronyd.log"))"
ready 14132 11132 || die "chimed's NTS server does not answer ($(tail -n 3 "$W/chimed.log"))"

load() { taskset -c 1 "$B/ntsload" -c "$W/ca.pem" "$@"; }
rate() { sed -n 's/.* rate=\([0-9.]*\).*/\1/p'; }
replies() { sed -n 's/.*replies=\([0-9]*\).*/\1/p'; }
# user + system ticks of the server's NTP process (taskset and setpriv
# exec it: the pid started is the server's)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# p99 NTPPORT: loadgen 1x1's round-trip p99 in microseconds
p99() {
    taskset -c 1 "$B/loadgen" -d "$SECS" -s 1 -o 1 127.0.0.1 "$1" |
        sed -n 's/.* p99=\([0-9]*\)us.*/\1/p'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: >"$W/req.chronyd"; : >"$W/req.chimed"; : >"$W/ke.chronyd"; : >"$W/ke.chimed"
: >"$W/cpu.chronyd"; : >"$W/cpu.chimed"; : >"$W/p99.chronyd"; : >"$W/p99.chimed"
: >"$W/by.chronyd"; : >"$W/by.chimed"
r=1
while [ $r -le "$ROUNDS" ]; do
    if [ $((r % 2)) = 1 ]; then order="chronyd chimed"; else order="chimed chronyd"; fi
    for s in $order; do
        if [ $s = chronyd ]; then ke=14131; ntp=11131; else ke=14132; ntp=11132; fi
        eval pid=\$PID_$s
        c0=$(cpu_ticks "$pid")
        q=$(load -d "$SECS" -w "$WINDOW" localhost $ke "127.0.0.1:$ntp")
        c1=$(cpu_ticks "$pid")
        per=$(awk -v n="$(printf '%s\n' "$q" | replies)" -v t=$((c1 - c0)) -v hz="$hz" \
            'BEGIN { if (t > 0) printf "%.0f", n * hz / t; else print 0 }')
        k=$(load -k "$KE" localhost $ke "127.0.0.1:$ntp")
        p0=$(p99 $ntp)
        nice -n 10 taskset -c 1 "$B/ntsload" -c "$W/ca.pem" -k 10000 localhost $ke \
            "127.0.0.1:$ntp" >/dev/null 2>&1 &
        kpid=$!
        p1=$(p99 $ntp)
        pb=$(p99 11133)
        stop_pid $kpid
        echo "round $r $s: $q per_cpu_s=$per | $k | plain p99 ${p0}us, under KE ${p1}us," \
            "bystander under KE ${pb}us"
        awk -v a="$p1" -v b="$p0" 'BEGIN { if (b > 0) printf "%.2f\n", a / b }' >>"$W/p99.$s"
        awk -v a="$p1" -v b="$pb" 'BEGIN { if (b > 0) printf "%.2f\n", a / b }' >>"$W/by.$s"
        printf '%s\n' "$q" | rate >>"$W/req.$s"
        echo "$per" >>"$W/cpu.$s"
        printf '%s\n' "$k" | rate >>"$W/ke.$s"
    done
    r=$((r + 1))
done
qc=$(median <"$W/req.chronyd"); qm=$(median <"$W/req.chimed")
kc=$(median <"$W/ke.chronyd"); km=$(median <"$W/ke.chimed")
pc=$(median <"$W/cpu.chronyd"); pm=$(median <"$W/cpu.chimed")
lc=$(median <"$W/p99.chronyd"); lm=$(median <"$W/p99.chimed")
bc=$(median <"$W/by.chronyd"); bm=$(median <"$W/by.chimed")
echo "NTS requests/s (window $WINDOW, ${SECS} s, median of $ROUNDS): chronyd $qc, chimed $qm," \
    "ratio $(awk -v a="$qm" -v b="$qc" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
echo "NTS replies per server CPU-second (median of $ROUNDS): chronyd $pc, chimed $pm," \
    "ratio $(awk -v a="$pm" -v b="$pc" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
echo "plain NTP p99 under back-to-back key exchanges (loadgen 1x1, median of $ROUNDS):" \
    "/ own unloaded p99: chronyd ${lc}x, chimed ${lm}x;" \
    "/ the bystander's under the same exchanges: chronyd ${bc}x, chimed ${bm}x"
echo "NTS-KE handshakes/s ($KE sequential, median of $ROUNDS): chronyd $kc, chimed $km," \
    "ratio $(awk -v a="$km" -v b="$kc" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
