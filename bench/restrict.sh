#!/bin/sh
# bench/restrict.sh — `make bench-restrict`: chimed with 100,000 restrict
# lines against chimed with 10, in the same run (issue 15, finding 3).
#
# For each config: the start-up time (from exec until the first answer,
# polled every 10 ms), the idle VmRSS, and loadgen's replies/s over
# BENCH_SECONDS (default 5): both servers run at once, the runs alternate
# (three each, the median kept) so that the machine's load hits both;
# also the replies per CPU-second of the server (/proc/PID/stat), which
# depends less on what else runs. With the big config, a SIGHUP reload while a
# prober asks every 5 ms: the longest wall-clock round trip seen is the
# longest the server stopped answering. Prints the figures and the ratios big/small.
# The rules are 127.0.0.0/8 addresses and prefixes around the load
# generator's 127.0.0.1 (which keeps its built-in full access), so every
# lookup walks a deep path of the tree. Loopback only; everything started
# is stopped by pid. This is a measurement, not a test: nothing asserts a
# speed.
#
# SPDX-License-Identifier: BSD-2-Clause
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B="$TOP/$B" ;; esac
SECONDS_EACH=${BENCH_SECONDS:-5}
PORT=${BENCH_RESTRICT_PORT:-11125}
RULES=${BENCH_RULES:-100000}

die() {
    echo "bench-restrict: $*" >&2
    exit 1
}

[ -x "$B/chimed" ] && [ -x "$B/loadgen" ] && [ -x "$B/ntpprobe" ] ||
    die "$B/chimed, loadgen or ntpprobe missing: run make first"
mkdir -p "$B/bench"
WORK=$(mktemp -d "$B/bench/restrict.XXXXXX") || die "mktemp failed"
PIDS=""
cleanup() {
    for p in $PIDS; do
        kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SERVER_CPU=0
LOAD_CPU=$(( $(nproc) >= 2 ? 1 : 0 ))

# conf FILE NRULES PORT: a server config with NRULES restrict lines.
conf() {
    printf 'port %s\nlocal stratum 1\ninterface listen 127.0.0.1\n' "$3" >"$1"
    printf 'restrict default kod limited nomodify nopeer noquery\n' >>"$1"
    awk -v n="$2" 'BEGIN {
        for (i = 2; i < n + 1; i++) {
            a = int(i / 65536) % 256; b = int(i / 256) % 256; c = i % 256
            if (i % 97 == 0)
                printf "restrict 127.%d.%d.0 mask 255.255.255.0 kod limited nomodify\n", a, b
            else if (i % 89 == 0)
                printf "restrict 2001:db8:%x:%x::/64 nomodify noquery\n", a, b * 256 + c
            else
                printf "restrict 127.%d.%d.%d nomodify notrap\n", a, b, c
        }
    }' >>"$1"
}

now_ms() {
    echo $(( $(date +%s%N) / 1000000 ))
}

# start_srv NAME NRULES PORT: start chimed; sets SRV and START_MS (exec to
# first answer), leaves it running.
start_srv() {
    conf "$WORK/$1.conf" "$2" "$3"
    t0=$(now_ms)
    taskset -c "$SERVER_CPU" "$B/chimed" -n -x -c "$WORK/$1.conf" -p "$WORK/$1.pid" \
        >"$WORK/$1.log" 2>&1 </dev/null &
    SRV=$!
    PIDS="$PIDS $SRV"
    up=""
    while [ $(( $(now_ms) - t0 )) -lt 60000 ] && kill -0 "$SRV" 2>/dev/null; do
        if "$B/ntpprobe" -a -t 10 127.0.0.1 "$3" >/dev/null 2>&1; then
            up=1
            break
        fi
    done
    [ -n "$up" ] || { cat "$WORK/$1.log" >&2; die "chimed ($1) did not come up"; }
    START_MS=$(( $(now_ms) - t0 ))
}

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# cpu_ticks PID: the server's user + system time so far, in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# load PORT PID: loadgen's replies/s, then the replies per CPU-second the
# server spent on them (less sensitive to what else the machine runs)
load() {
    c0=$(cpu_ticks "$2")
    line=$("$B/loadgen" -d "$SECONDS_EACH" -c "$LOAD_CPU" 127.0.0.1 "$1")
    c1=$(cpu_ticks "$2")
    echo "bench-restrict: port $1: $line cpu_ticks=$((c1 - c0))" >&2
    echo "$line" | awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        sub("/s", "", v["rate"])
        printf "%d %d\n", v["rate"], (t > 0) ? v["replies"] * hz / t : 0 }'
}


start_srv small 10 "$PORT"
SMALL=$SRV; S_START=$START_MS
start_srv big "$RULES" $((PORT + 1))
BIG=$SRV; B_START=$START_MS
sleep 1
S_RSS=$(rss "$SMALL"); B_RSS=$(rss "$BIG")
# alternate, three runs each, so a change in the machine's load hits both
for r in 1 2 3; do
    load "$PORT" "$SMALL" >>"$WORK/small.rates"
    load $((PORT + 1)) "$BIG" >>"$WORK/big.rates"
done
col() { awk -v c="$2" '{ print $c }' "$1" | sort -n | sed -n 2p; }
S_RATE=$(col "$WORK/small.rates" 1); B_RATE=$(col "$WORK/big.rates" 1)
S_CPU=$(col "$WORK/small.rates" 2); B_CPU=$(col "$WORK/big.rates" 2)
SRV=$BIG
PORT=$((PORT + 1))
# a reload under a prober asking every 5 ms: the longest wall-clock round
# trip is the longest the server stopped answering
/usr/bin/python3 - "$PORT" >"$WORK/probe.out" 2>&1 <<'PYEOF' &
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.settimeout(2.0)
worst, answered = 0.0, 0
for i in range(600):
    t0 = time.monotonic()
    s.send(bytes([0x23]) + bytes(39) + struct.pack("!Q", i + 1))
    try:
        while True:
            r = s.recv(100)
            if struct.unpack("!Q", r[24:32])[0] == i + 1:
                break
        answered += 1
        worst = max(worst, time.monotonic() - t0)
    except socket.timeout:
        worst = max(worst, 2.0)
    time.sleep(0.005)
print("worst_ms=%.1f answered=%d" % (worst * 1000, answered))
PYEOF
PROBE=$!
sleep 1
kill -HUP "$SRV"
wait "$PROBE"
STALL_MS=$(sed -n 's/.*worst_ms=\([0-9.]*\).*/\1/p' "$WORK/probe.out")
ANSWERED=$(sed -n 's/.*answered=\([0-9]*\).*/\1/p' "$WORK/probe.out")
sleep 0.5
R_RSS=$(rss "$SRV")
grep -q 'reload: ' "$WORK/big.log" || die "the reload did not happen: $(tail -n 3 "$WORK/big.log")"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
{
    echo "restrict lines        10          $RULES    ratio"
    echo "start-up (ms)         $S_START          $B_START       $(ratio "$B_START" "$S_START")"
    echo "idle VmRSS (kB)       $S_RSS        $B_RSS      $(ratio "$B_RSS" "$S_RSS")"
    echo "replies/s             $S_RATE      $B_RATE     $(ratio "$B_RATE" "$S_RATE")"
    echo "replies/CPU-second    $S_CPU      $B_CPU     $(ratio "$B_CPU" "$S_CPU")"
    echo "reload, $RULES lines: longest round trip ${STALL_MS} ms, $ANSWERED of 600 probes answered,"
    echo "  VmRSS after reload $R_RSS kB"
} | tee "$B/bench/restrict.txt"
