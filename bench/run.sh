#!/bin/sh
# bench/run.sh — `make bench`: chimed against chronyd on this machine,
# in the same run, alternating rounds.
#
# Builds nothing (make has built $B/loadgen and $B/chimed already). Fetches
# chronyd through tests/system/peers.sh, then:
#   1. footprint: starts chimed with the shipped packaging/chime.conf, its
#      pool replaced by 4 loopback servers (nothing answers them: no
#      traffic leaves the machine) and its paths moved into the work
#      directory, and reads its VmRSS after BENCH_IDLE seconds (default
#      60) at the end of the run; chronyd's and the bench chimed's idle
#      VmRSS are read after start-up;
#   2. loopback: chronyd (-x, local stratum 1, 127.0.0.1 port 11123) and
#      chimed (-n -x, port 11124), both without CAP_SYS_TIME and pinned to
#      CPU 0; loadgen pinned to CPU 1 for BENCH_SECONDS (default 5, max 60)
#      at each fan-in (sockets x requests outstanding per socket: 1x1, 1x4,
#      8x4, 64x4, 256x4), BENCH_ROUNDS rounds (default 3), the server
#      order alternating: replies/s and round-trip p50/p99;
#   3. ntpperf between two network namespaces: bench/ntpperf.sh (skipped
#      with a message when ntpperf, libpcap headers or root are missing),
#      plain and then NTS-authenticated requests;
#   4. threads: replies per server CPU-second of threads 1 against threads
#      2 (bench/threads.sh);
#   5. NTS on loopback (bench/nts.sh): NTS requests/s, replies per server
#      CPU-second and NTS-KE handshakes/s.
# chimed serves on one thread (BENCH_CHIME_THREADS, default 1) in 2, 3, 5,
# as chronyd does, so the ratios compare one core with one core.
# Prints the tables (median and range over rounds, chimed/chronyd ratios
# of the medians) and writes them to $B/bench/result.txt. The machine may
# be shared: the ranges say how noisy a run was.
# Everything it starts it stops again, by pid. Loopback and its own
# namespaces only; every flood is bounded in time.
#
# SPDX-License-Identifier: BSD-2-Clause
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
B=${B:-build}
case $B in /*) ;; *) B="$TOP/$B" ;; esac
SECONDS_EACH=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
IDLE=${BENCH_IDLE:-60}
FANINS=${BENCH_FANINS:-1x1 1x4 8x4 64x4 256x4}
CHRONY_PORT=${BENCH_CHRONY_PORT:-11123}
CHIME_PORT=${BENCH_CHIME_PORT:-11124}
FP_PORT=${BENCH_FP_PORT:-11125}
SETTLE=${BENCH_SETTLE:-2}
OUT="$B/bench"
RESULT="$OUT/result.txt"

die() {
    echo "bench: $*" >&2
    exit 1
}

[ -x "$B/loadgen" ] && [ -x "$B/ntpprobe" ] || die "$B/loadgen or $B/ntpprobe missing: run make first"
[ "$SECONDS_EACH" -ge 1 ] 2>/dev/null && [ "$SECONDS_EACH" -le 60 ] ||
    die "BENCH_SECONDS must be 1..60"
[ "$ROUNDS" -ge 1 ] 2>/dev/null && [ "$ROUNDS" -le 9 ] || die "BENCH_ROUNDS must be 1..9"
[ "$IDLE" -ge 1 ] 2>/dev/null && [ "$IDLE" -le 600 ] || die "BENCH_IDLE must be 1..600"
PEERS_QUIET=1
. "$TOP/tests/system/peers.sh" || die "cannot get chronyd (tests/system/peers.sh failed)"

mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/run.XXXXXX") || die "mktemp failed"
PIDS=""

. "$TOP/bench/proc.sh"

cleanup() {
    for p in $PIDS; do
        stop_pid "$p"
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Two CPUs or more: servers on CPU 0, the load generator on CPU 1.
if [ "$(nproc)" -ge 2 ]; then
    SERVER_CPU=0
    LOAD_CPU=1
else
    SERVER_CPU=0
    LOAD_CPU=0
    echo "bench: only one CPU: servers and loadgen share it" >&2
fi

# start NAME CMD...: pinned, without CAP_SYS_TIME; sets PID (the daemon's
# own pid: taskset, setpriv and the peers wrapper all exec).
start() {
    name=$1
    shift
    taskset -c "$SERVER_CPU" setpriv --bounding-set -sys_time --inh-caps -sys_time \
        "$@" >"$WORK/$name.log" 2>&1 </dev/null &
    PID=$!
    PIDS="$PIDS $PID"
}

# wait_up PID PORT: until the server answers (10 s at most).
wait_up() {
    end=$(( $(date +%s) + 10 ))
    while [ "$(date +%s)" -le "$end" ] && kill -0 "$1" 2>/dev/null; do
        "$B/ntpprobe" -a -t 200 127.0.0.1 "$2" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

start_chronyd() {
    cat >"$WORK/chrony.conf" <<EOF
port $CHRONY_PORT
allow
local stratum 1
bindaddress 127.0.0.1
cmdport 0
pidfile $WORK/chronyd.pid
driftfile $WORK/chrony.drift
EOF
    start chronyd "$CHRONYD" -x -d -u root -f "$WORK/chrony.conf"
    CHRONYD_PID=$PID
    wait_up "$CHRONYD_PID" "$CHRONY_PORT" || {
        cat "$WORK/chronyd.log" >&2
        die "chronyd did not come up on port $CHRONY_PORT"
    }
}

start_chimed() {
    cat >"$WORK/chime.conf" <<EOF
port $CHIME_PORT
local stratum 1
interface listen 127.0.0.1
threads ${BENCH_CHIME_THREADS:-1}
controlsocket $WORK/chimed.sock
EOF
    start chimed "$B/chimed" -n -x -c "$WORK/chime.conf" -p "$WORK/chimed.pid"
    CHIMED_PID=$PID
    wait_up "$CHIMED_PID" "$CHIME_PORT" || {
        cat "$WORK/chimed.log" >&2
        echo "bench: chimed did not come up on port $CHIME_PORT" >&2
        return 1
    }
}

rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# The shipped config as installed, but: the pool becomes 4 loopback
# servers (a port nobody answers), files live in the work directory, and
# chimed serves on a bench port.
start_footprint() {
    sed -e '/^pool /d' -e "s|^driftfile .*|driftfile $WORK/fp.drift|" \
        -e "s|^controlsocket .*|controlsocket $WORK/fp.sock|" \
        "$TOP/packaging/chime.conf" >"$WORK/fp.conf"
    for i in 1 2 3 4; do
        echo "server 127.0.0.$i port $((FP_PORT + 1)) iburst" >>"$WORK/fp.conf"
    done
    echo "port $FP_PORT" >>"$WORK/fp.conf"
    start footprint "$B/chimed" -n -x -c "$WORK/fp.conf" -p "$WORK/fp.pid"
    FP_PID=$PID
    FP_START=$(date +%s)
}

rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# load PORT SOCKETS OUT: appends "rate p50 p99" of one loadgen run to stdout.
load() {
    line=$("$B/loadgen" -d "$SECONDS_EACH" -c "$LOAD_CPU" -s "$2" -o "$3" 127.0.0.1 "$1")
    echo "bench: port $1 $2x$3: $line" >&2
    echo "$line" | sed -n 's/.*rate=\([0-9]*\)\/s p50=\([0-9]*\)us p99=\([0-9]*\)us.*/\1 \2 \3/p'
}

# stat NAME FANIN COLUMN: "median (min-max)" over the rounds.
stat() {
    awk -v n="$1" -v f="$2" -v c="$3" '$1 == n && $2 == f { print $c }' "$WORK/rows" |
        sort -n | awk '{ a[NR] = $1 } END {
            if (NR == 0) { print "n/a"; exit }
            m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
            printf "%.0f (%.0f-%.0f)", m, a[1], a[NR] }'
}

median() {
    stat "$@" | awk '{ print $1 }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "" && a != "n/a") printf "%.2f", a / b; else print "n/a" }'
}

start_footprint
start_chronyd
have_chimed=""
if [ -x "$B/chimed" ]; then
    start_chimed && have_chimed=1
else
    echo "bench: $B/chimed is missing: measuring chronyd only" >&2
fi
sleep "$SETTLE"
chrony_rss=$(rss_kb "$CHRONYD_PID")
chime_rss=""
[ -n "$have_chimed" ] && chime_rss=$(rss_kb "$CHIMED_PID")

: >"$WORK/rows"
r=1
while [ $r -le "$ROUNDS" ]; do
    for f in $FANINS; do
        s=${f%x*} o=${f#*x}
        order="chronyd chimed"
        [ $((r % 2)) = 0 ] && order="chimed chronyd"
        for srv in $order; do
            [ "$srv" = chimed ] && [ -z "$have_chimed" ] && continue
            port=$CHRONY_PORT
            [ "$srv" = chimed ] && port=$CHIME_PORT
            v=$(load "$port" "$s" "$o")
            [ -n "$v" ] && echo "$srv $f $v" >>"$WORK/rows"
        done
    done
    r=$((r + 1))
done

{
    echo "# chime bench: loadgen on CPU $LOAD_CPU, servers on CPU $SERVER_CPU, ${SECONDS_EACH}s per run,"
    echo "# $ROUNDS rounds alternating the order; median (min-max) over rounds; loopback"
    echo "# $("$CHRONYD" -v 2>&1 | awk '{ print $1, $4; exit }'), chimed ${have_chimed:+$B/chimed}"
    printf '%-7s %-26s %-26s %6s %-18s %-18s %6s\n' fan-in "chronyd replies/s" \
        "chimed replies/s" ratio "chronyd p99 us" "chimed p99 us" ratio
    for f in $FANINS; do
        printf '%-7s %-26s %-26s %6s %-18s %-18s %6s\n' "$f" \
            "$(stat chronyd "$f" 3)" "$(stat chimed "$f" 3)" \
            "$(ratio "$(median chimed "$f" 3)" "$(median chronyd "$f" 3)")" \
            "$(stat chronyd "$f" 5)" "$(stat chimed "$f" 5)" \
            "$(ratio "$(median chimed "$f" 5)" "$(median chronyd "$f" 5)")"
    done
    echo "# ratio = chimed / chronyd (replies/s: higher is better; p99: lower is better)"
    printf '%-10s %14s\n' server "idle RSS KiB"
    printf '%-10s %14s\n' chronyd "${chrony_rss:-n/a}"
    printf '%-10s %14s\n' chimed "${chime_rss:-n/a}"
} | tee "$RESULT"

CHRONYD=$CHRONYD OUT=$OUT B=$B TOP=$TOP sh "$TOP/bench/ntpperf.sh" || true
cat "$OUT/ntpperf.txt" "$OUT/ntpperf-nts.txt" >>"$RESULT"
B=$B sh "$TOP/bench/threads.sh" | tee -a "$RESULT"
B=$B BENCH_ROUNDS=$ROUNDS sh "$TOP/bench/nts.sh" | tail -n 4 | sed 's/^/# loopback /' | tee -a "$RESULT"

# The footprint daemon has been idle since the start: wait out the rest.
left=$((FP_START + IDLE - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
fp_rss=$(rss_kb "$FP_PID")
{
    echo "# footprint: shipped packaging/chime.conf (leapfile, restrict, controlsocket) with"
    echo "# 4 loopback servers instead of the pool, VmRSS after $(( $(date +%s) - FP_START ))s"
    printf '%-22s %8s KiB\n' "chimed shipped config" "${fp_rss:-n/a}"
    awk '/^[0-9a-f]+-/ { name = $6 } /^Rss:/ { rss[name] += $2 }
         END { for (n in rss) if (rss[n] >= 100) printf "#   %6d KiB %s\n", rss[n], n == "" ? "(anonymous)" : n }' \
        "/proc/$FP_PID/smaps" 2>/dev/null | sort -k2 -rn
} | tee -a "$RESULT"
echo "bench: written to $RESULT" >&2
[ -s "$WORK/rows" ]
