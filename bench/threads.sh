#!/bin/sh
# bench/threads.sh — replies per server CPU-second, "threads 1" against
# "threads N" (BENCH_THREADS, default 2), same run, alternating rounds.
#
# chimed -n -x on 127.0.0.1 port BENCH_PORT (default 11126), unpinned;
# loadgen sends from BENCH_ADDRS client addresses (default 16, 127.0.1.x:
# chimed steers its threads by source address) over 64 sockets x 4
# outstanding for BENCH_SECONDS (default 5) per round, BENCH_ROUNDS rounds
# (default 3) of each. The server's CPU time is utime + stime of every
# thread (/proc/PID/stat) over the round. Prints one line per round and
# the ratio of the medians. Loopback only; everything it starts it stops
# by pid.
#
# SPDX-License-Identifier: BSD-2-Clause
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B="$TOP/$B" ;; esac
SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
N=${BENCH_THREADS:-2}
ADDRS=${BENCH_ADDRS:-16}
PORT=${BENCH_PORT:-11126}
W=$(mktemp -d "${TMPDIR:-/tmp}/chime-threads.XXXXXX") || exit 1
TCK=$(getconf CLK_TCK)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# round THREADS: one line "threads=T replies=R cpu_s=C per_cpu_s=P"
round() {
    printf 'port %s\nthreads %s\nlocal stratum 1\ninterface listen 127.0.0.1\nrestrict default\n' "$PORT" "$1" \
        >"$W/c.conf"
    "$B/chimed" -n -x -c "$W/c.conf" -p "$W/pid" >"$W/log.$1" 2>&1 &
    pid=$!
    i=0; while ! "$B/ntpprobe" -t 200 127.0.0.1 "$PORT" >/dev/null 2>&1 && [ $i -lt 50 ]; do
        i=$((i + 1)); done
    c0=$(cpu_ticks $pid)
    out=$("$B/loadgen" -d "$SECS" -s 64 -o 4 -a "$ADDRS" 127.0.0.1 "$PORT")
    c1=$(cpu_ticks $pid)
    kill -TERM $pid; wait $pid 2>/dev/null
    r=$(printf '%s\n' "$out" | sed -n 's/.*replies=\([0-9]*\).*/\1/p')
    awk -v t="$1" -v r="$r" -v c=$((c1 - c0)) -v hz="$TCK" -v o="$out" 'BEGIN {
        s = c / hz; p = 0; if (s > 0) p = r / s
        printf "threads=%s replies=%d cpu_s=%.2f per_cpu_s=%.0f  (%s)\n", t, r, s, p, o }'
}

: >"$W/rounds"
for k in $(seq 1 "$ROUNDS"); do
    if [ $((k % 2)) -eq 1 ]; then
        round 1 >>"$W/rounds"; round "$N" >>"$W/rounds"
    else
        round "$N" >>"$W/rounds"; round 1 >>"$W/rounds"
    fi
done
cat "$W/rounds"
med() { grep "^threads=$1 " "$W/rounds" | sed 's/.*per_cpu_s=\([0-9]*\).*/\1/' | sort -n |
        awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
m1=$(med 1); mn=$(med "$N")
awk -v a="$m1" -v b="$mn" -v n="$N" 'BEGIN {
    q = 0; if (a > 0) q = b / a   # mawk: no ?: among printf arguments
    printf "replies per server CPU-second, median: threads 1 %d, threads %s %d, ratio %.3f\n",
    a, n, b, q }'
rm -rf "$W"
