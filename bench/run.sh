#!/bin/sh
# bench/run.sh — `make bench`: chimed against chronyd on this machine.
#
# Builds nothing (make has built $B/loadgen and $B/chimed already). Fetches
# chronyd through tests/system/peers.sh, then:
#   - starts chronyd (-x, local stratum 1, 127.0.0.1 port 11123) and, if
#     $B/chimed exists, chimed (-n -x, local stratum 1, port 11124), both
#     without CAP_SYS_TIME and pinned to CPU 0;
#   - after start-up settles, reads each one's idle VmRSS;
#   - runs loadgen pinned to CPU 1 for BENCH_SECONDS (default 10, max 60)
#     against each server in turn;
#   - prints a table with the chimed/chronyd ratios and writes it to
#     $B/bench/result.txt.
# Everything it starts it stops again, by pid. Loopback only.
#
# SPDX-License-Identifier: BSD-2-Clause
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
B=${B:-build}
case $B in /*) ;; *) B="$TOP/$B" ;; esac
SECONDS_EACH=${BENCH_SECONDS:-10}
CHRONY_PORT=${BENCH_CHRONY_PORT:-11123}
CHIME_PORT=${BENCH_CHIME_PORT:-11124}
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
PEERS_QUIET=1
. "$TOP/tests/system/peers.sh" || die "cannot get chronyd (tests/system/peers.sh failed)"

mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/run.XXXXXX") || die "mktemp failed"
PIDS=""

stop_pid() {
    kill -TERM "$1" 2>/dev/null || return 0
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do
        [ "$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" = Z ] && break
        sleep 0.1
        i=$((i + 1))
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

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

# load PORT: prints the replies/s loadgen measured.
load() {
    line=$("$B/loadgen" -d "$SECONDS_EACH" -c "$LOAD_CPU" 127.0.0.1 "$1")
    echo "bench: port $1: $line" >&2
    echo "$line" | sed -n 's/.*rate=\([0-9]*\)\/s.*/\1/p'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2f", a / b; else print "n/a" }'
}

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

chrony_rate=$(load "$CHRONY_PORT")
chime_rate=""
[ -n "$have_chimed" ] && chime_rate=$(load "$CHIME_PORT")

{
    echo "# chime bench: loadgen on CPU $LOAD_CPU for ${SECONDS_EACH}s per server, servers on CPU $SERVER_CPU"
    echo "# $("$CHRONYD" -v 2>&1 | awk '{ print $1, $4; exit }'), chimed ${have_chimed:+$B/chimed}"
    printf '%-10s %12s %14s\n' server "replies/s" "idle RSS KiB"
    printf '%-10s %12s %14s\n' chronyd "${chrony_rate:-n/a}" "${chrony_rss:-n/a}"
    if [ -n "$have_chimed" ]; then
        printf '%-10s %12s %14s\n' chimed "${chime_rate:-n/a}" "${chime_rss:-n/a}"
        printf '%-10s %12s %14s\n' "ratio" "$(ratio "$chime_rate" "$chrony_rate")" \
            "$(ratio "$chime_rss" "$chrony_rss")"
        echo "# ratio = chimed / chronyd (throughput: higher is better; RSS: lower is better)"
    else
        echo "# chimed: missing ($B/chimed not built or did not start)"
    fi
} | tee "$RESULT"
echo "bench: written to $RESULT" >&2
[ -n "$chrony_rate" ]
