#!/bin/sh
# bench/ntpperf.sh — the ntpperf part of `make bench`: chimed and chronyd
# measured by ntpperf (chrony's author's NTP server benchmark), a
# generator that raw-injects requests from a whole /16 of clients, so the
# server and not a socket-bound generator is what runs out first.
#
#   server netns  10.77.0.1 chronyd, 10.77.0.3 chimed (CPU 0)
#        | veth  (route 172.30.0.0/16 via 10.77.0.2)
#   gen netns     10.77.0.2 ntpperf on the veth (CPU 1); replies to
#                 172.30.0.0/16 are captured by ntpperf and then dropped
#                 at once by the kernel: the server's neighbour entry for
#                 10.77.0.2 is a MAC the veth does not own, so IP sees
#                 them as another host's frames (the cheapest drop there
#                 is without iptables; chronyd and chimed pay the same)
#
# ntpperf (GPL-2.0) is a test tool: it is copied from NTPPERF_SRC
# (default ../shared/ntpperf) into $B/ntpperf/ and built there, never
# linked with or copied into chime. Skipped, with a message, when it or
# libpcap's headers are absent, or without root (network namespaces).
#
# For each of BENCH_ROUNDS rounds (default 3, at most 9), alternating
# which server goes first:
#   - a ramp from 10,000 requests/s up by x1.25 (BENCH_NTPPERF_STEP; 1 s
#     per step; ntpperf
#     stops at 50% loss or when it cannot send faster): the highest rate
#     with < 1% of requests unanswered or invalid; then
#     BENCH_NTPPERF_SECONDS at that rate: replies per server CPU-second
#     at the server's own sustained maximum (fullest batches);
#   - BENCH_NTPPERF_SECONDS (default 5) at a fixed BENCH_NTPPERF_RATE
#     (default 20000/s): replies per server CPU-second (the task's
#     on-CPU time from /proc/PID/task/*/schedstat) and ntpperf's server
#     response time (the server's own RX -> TX stamps), mean and max.
# Then the same rounds again with NTS (RFC 8915): both servers also run an
# NTS-KE server (a certificate for their addresses, made with openssl),
# bench/ntsload keys once with each and ntpperf, built a second time with
# NTPPERF_NTS (GnuTLS), authenticates every request with that C2S key and
# cookie: each reply costs the server a cookie opened, a request
# verified, a new cookie and a reply sealed. Skipped, with a message, when
# GnuTLS's headers are absent. BENCH_NTPPERF_NTS=0 leaves it out.
# Every flood is bounded by ntpperf's maximum rate and a timeout, and runs
# only between the two namespaces this script creates and deletes.
#
# Environment: B, TOP, CHRONYD (from tests/system/peers.sh), OUT (where
# the tables go: $OUT/ntpperf.txt, $OUT/ntpperf-nts.txt).
#
# SPDX-License-Identifier: BSD-2-Clause
set -u

TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
B=${B:-build}
case $B in /*) ;; *) B="$TOP/$B" ;; esac
OUT=${OUT:-$B/bench}
SRC=${NTPPERF_SRC:-$TOP/../shared/ntpperf}
ROUNDS=${BENCH_ROUNDS:-3}
FIX_RATE=${BENCH_NTPPERF_RATE:-20000}
FIX_S=${BENCH_NTPPERF_SECONDS:-5}
MAX_RATE=500000
STEP=${BENCH_NTPPERF_STEP:-1.25}
RESULT="$OUT/ntpperf.txt"
RESULT_NTS="$OUT/ntpperf-nts.txt"
WANT_NTS=${BENCH_NTPPERF_NTS:-1}

skip() {
    echo "bench: ntpperf part skipped: $*" >&2
    echo "# ntpperf: skipped ($*)" >"$RESULT"
    exit 0
}

[ -f "$SRC/perf.c" ] || skip "no ntpperf sources in $SRC (set NTPPERF_SRC)"
[ -e /usr/include/pcap.h ] || [ -e /usr/include/pcap/pcap.h ] ||
    skip "libpcap headers missing (apt-get install libpcap-dev)"
[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) missing"
[ -n "${CHRONYD:-}" ] && [ -x "$CHRONYD" ] || skip "no chronyd (tests/system/peers.sh)"
[ "$ROUNDS" -ge 1 ] 2>/dev/null && [ "$ROUNDS" -le 9 ] || skip "BENCH_ROUNDS must be 1..9"
[ "$FIX_S" -ge 1 ] 2>/dev/null && [ "$FIX_S" -le 30 ] || skip "BENCH_NTPPERF_SECONDS must be 1..30"
awk -v s="$STEP" 'BEGIN { exit !(s + 0 >= 1.05 && s + 0 <= 2) }' ||
    skip "BENCH_NTPPERF_STEP must be 1.05..2"

# A scratch copy, built where nothing of it can reach the repository.
mkdir -p "$B/ntpperf" "$OUT"
cp "$SRC"/*.c "$SRC"/*.h "$SRC"/Makefile "$B/ntpperf/" 2>/dev/null ||
    skip "cannot copy $SRC"
make -s -C "$B/ntpperf" >"$B/ntpperf/build.log" 2>&1 ||
    skip "ntpperf did not build (see $B/ntpperf/build.log)"
NTPPERF="$B/ntpperf/ntpperf"
PERF_BIN=$NTPPERF
NTS_chronyd="" NTS_chimed=""    # -S C2S,COOKIE in the NTS rounds

# The NTS build: its own scratch copy, so the plain one stays as it is.
NTS_SKIP=""
if [ "$WANT_NTS" = 0 ]; then
    NTS_SKIP="BENCH_NTPPERF_NTS=0"
elif ! pkg-config --exists gnutls 2>/dev/null; then
    NTS_SKIP="GnuTLS headers missing (apt-get install libgnutls28-dev)"
elif ! command -v openssl >/dev/null 2>&1 || [ ! -x "$B/ntsload" ]; then
    NTS_SKIP="needs the openssl command and $B/ntsload (make)"
else
    mkdir -p "$B/ntpperf-nts"
    cp "$SRC"/*.c "$SRC"/*.h "$SRC"/Makefile "$B/ntpperf-nts/" &&
        NTPPERF_NTS=1 make -s -C "$B/ntpperf-nts" >"$B/ntpperf-nts/build.log" 2>&1 ||
        NTS_SKIP="ntpperf with NTS did not build (see $B/ntpperf-nts/build.log)"
fi

if [ "$(nproc)" -ge 2 ]; then SCPU=0; GCPU=1; else SCPU=0; GCPU=0; fi
NS_S="chime-bs-$$"
NS_G="chime-bg-$$"
IF_S="cbs$$"
IF_G="cbg$$"
WORK=$(mktemp -d "$OUT/ntpperf.XXXXXX") || skip "mktemp failed"
PIDS=""

. "$TOP/bench/proc.sh"

cleanup() {
    for p in $PIDS; do
        stop_pid "$p"
    done
    ip netns del "$NS_S" 2>/dev/null
    ip netns del "$NS_G" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

setup_net() {
    ip netns add "$NS_S" && ip netns add "$NS_G" &&
        ip link add "$IF_S" type veth peer name "$IF_G" &&
        ip link set "$IF_S" netns "$NS_S" && ip link set "$IF_G" netns "$NS_G" &&
        ip -n "$NS_S" addr add 10.77.0.1/24 dev "$IF_S" &&
        ip -n "$NS_S" addr add 10.77.0.3/24 dev "$IF_S" &&
        ip -n "$NS_G" addr add 10.77.0.2/24 dev "$IF_G" &&
        ip -n "$NS_S" link set lo up && ip -n "$NS_G" link set lo up &&
        ip -n "$NS_S" link set "$IF_S" up && ip -n "$NS_G" link set "$IF_G" up &&
        ip -n "$NS_S" neigh add 10.77.0.2 lladdr 02:00:5e:00:53:01 dev "$IF_S" nud permanent &&
        ip -n "$NS_S" route add 172.30.0.0/16 via 10.77.0.2 dev "$IF_S" &&
        ip -n "$NS_G" route add blackhole 172.30.0.0/16
}

# in_server NAME CMD...: in the server namespace, pinned, no CAP_SYS_TIME.
in_server() {
    name=$1
    shift
    ip netns exec "$NS_S" taskset -c "$SCPU" \
        setpriv --bounding-set -sys_time --inh-caps -sys_time \
        "$@" >"$WORK/$name.log" 2>&1 </dev/null &
    PIDS="$PIDS $!"
}

# The daemon's own pid, from its pidfile (ip netns exec and the wrappers
# exec, but a pidfile is certain).
wait_pidfile() {
    i=0
    while [ $i -lt 100 ]; do
        p=$(cat "$1" 2>/dev/null)
        [ -n "$p" ] && kill -0 "$p" 2>/dev/null && { echo "$p"; return 0; }
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# A CA and a certificate for both servers' addresses (ntsload checks the
# IP address in it, as for any numeric host).
make_cert() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$WORK/ca.key" -out "$WORK/ca.pem" -days 2 -subj "/CN=bench CA" 2>/dev/null &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$WORK/srv.key" -out "$WORK/srv.csr" -subj "/CN=bench server" 2>/dev/null &&
    printf 'subjectAltName=IP:10.77.0.1,IP:10.77.0.3\n' >"$WORK/srv.ext" &&
    openssl x509 -req -in "$WORK/srv.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
        -CAcreateserial -out "$WORK/srv.pem" -days 2 -extfile "$WORK/srv.ext" 2>/dev/null
}

start_servers() {
    nts_chrony="" nts_chime=""
    if [ -z "$NTS_SKIP" ]; then
        if make_cert; then
            nts_chrony="ntsserverkey $WORK/srv.key
ntsservercert $WORK/srv.pem
ntsport 4460"
            nts_chime="nts enable
nts cert $WORK/srv.pem
nts key $WORK/srv.key
nts port 4461"
        else
            NTS_SKIP="openssl could not make the certificates"
        fi
    fi
    cat >"$WORK/chrony.conf" <<EOF
port 123
allow
local stratum 1
bindaddress 10.77.0.1
cmdport 0
pidfile $WORK/chronyd.pid
driftfile $WORK/chrony.drift
$nts_chrony
EOF
    # chronyd limits no rate unless told; chimed's built-in default does,
    # and ntpperf's clients ask 10 times a second: open it for the bench.
    cat >"$WORK/chime.conf" <<EOF
port 123
local stratum 1
interface listen 10.77.0.3
restrict default
threads ${BENCH_CHIME_THREADS:-1}
controlsocket $WORK/chimed.sock
$nts_chime
EOF
    in_server chronyd "$CHRONYD" -x -d -u root -f "$WORK/chrony.conf"
    in_server chimed "$B/chimed" -n -x -c "$WORK/chime.conf" -p "$WORK/chimed.pid"
    CHRONY_PID=$(wait_pidfile "$WORK/chronyd.pid") || return 1
    CHIME_PID=$(wait_pidfile "$WORK/chimed.pid") || return 1
    sleep 1
}

# On-CPU nanoseconds of every thread of PID.
cpu_ns() {
    cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'
}

# perf DEST MIN MAX STEP_S STEPS: ntpperf's table on stdout, bounded in
# time (STEPS: how many rate steps at most, for the timeout).
perf() {
    timeout $(($5 * ($4 + 1) + 10)) ip netns exec "$NS_G" taskset -c "$GCPU" \
        "$PERF_BIN" -i "$IF_G" -m "$MAC" -d "$1" -s 172.30.0.0/16 -B $PERF_NTS \
        -r "$2-$3" -x "$STEP" -t "$4" -l 2>&1
}

# The highest rate whose lost + invalid stayed under 1%; "+" marks a run
# that ended because ntpperf could not send faster (a lower bound).
max_rate() {
    awk '/^[0-9]+ / { l = $3 + 0; v = $4 + 0; if (l + v < 1.0 && $1 > best) best = $1 }
         /Could not send/ { gen = 1 }
         END { printf "%d%s", best, gen ? "+" : "" }'
}

# One round for server NAME at DEST: appends "name maxrate replies_per_cpu_s
# mean_ns max_ns peak_replies_per_cpu_s" to $ROWS.
round() {
    name=$1 dest=$2 pid=$3
    eval "PERF_NTS=\${NTS_$name:-}"
    ramp=$(perf "$dest" 10000 "$MAX_RATE" 1 60)
    echo "$ramp" >>"$WORK/$name$TAG.ramps"
    best=$(echo "$ramp" | max_rate)
    # Replies per CPU-second at the server's own sustained maximum, where
    # its batches are as full as they get without loss.
    top=${best%+}
    peak_eff=0
    if [ "${top:-0}" -ge 1000 ]; then
        p0=$(cpu_ns "$pid")
        peak=$(perf "$dest" "$top" "$top" "$FIX_S" 1)
        p1=$(cpu_ns "$pid")
        echo "$peak" >>"$WORK/$name$TAG.peak"
        peak_eff=$(echo "$peak" | awk -v r="$top" -v s="$FIX_S" -v cpu=$((p1 - p0)) '/^[0-9]+ / {
            printf "%.0f", (cpu > 0 ? r * s * ($5 + 0) / 100 / (cpu / 1e9) : 0) }')
    fi
    c0=$(cpu_ns "$pid")
    fixed=$(perf "$dest" "$FIX_RATE" "$FIX_RATE" "$FIX_S" 1)
    c1=$(cpu_ns "$pid")
    echo "$fixed" >>"$WORK/$name$TAG.fixed"
    echo "$fixed" | awk -v name="$name" -v best="$best" -v r="$FIX_RATE" -v s="$FIX_S" \
        -v cpu=$((c1 - c0)) '/^[0-9]+ / {
            replies = r * s * ($5 + 0) / 100
            printf "%s %s %.0f %.0f %.0f %s\n", name, best, (cpu > 0 ? replies / (cpu / 1e9) : 0),
                $8 + 0, $9 + 0, peak_eff }' peak_eff="${peak_eff:-0}" >>"$ROWS"
    echo "bench: ntpperf$TAG $name: max rate <1% loss $best/s" >&2
}

# stat NAME COLUMN: "median (min-max)" over the rounds.
stat() {
    awk -v n="$1" -v c="$2" '$1 == n { v = $c; sub(/\+$/, "", v); print v + 0 }' "$ROWS" |
        sort -n | awk '{ a[NR] = $1 } END {
            if (NR == 0) { print "n/a"; exit }
            m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
            printf "%.0f (%.0f-%.0f)", m, a[1], a[NR] }'
}

median() {
    awk -v n="$1" -v c="$2" '$1 == n { v = $c; sub(/\+$/, "", v); print v + 0 }' "$ROWS" |
        sort -n | awk '{ a[NR] = $1 } END {
            if (NR == 0) exit
            print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else print "n/a" }'
}

setup_net || skip "cannot set up the network namespaces"
MAC=$(ip -n "$NS_S" link show "$IF_S" | awk '/link\/ether/ { print $2 }')
start_servers || {
    cat "$WORK"/*.log >&2
    skip "chronyd or chimed did not start in the namespace"
}
# rounds: BENCH_ROUNDS of both servers, the order alternating, into $ROWS.
rounds() {
    : >"$ROWS"
    r=1
    while [ $r -le "$ROUNDS" ]; do
        if [ $((r % 2)) = 1 ]; then
            round chronyd 10.77.0.1 "$CHRONY_PID"
            round chimed 10.77.0.3 "$CHIME_PID"
        else
            round chimed 10.77.0.3 "$CHIME_PID"
            round chronyd 10.77.0.1 "$CHRONY_PID"
        fi
        r=$((r + 1))
    done
}

# table WHAT: the medians and ratios of $ROWS.
table() {
    gen_limited=$(awk '$2 ~ /\+$/ { n++ } END { print n + 0 }' "$ROWS")
    echo "# ntpperf over a veth pair$1, server on CPU $SCPU, ntpperf on CPU $GCPU, $ROUNDS rounds"
    echo "# alternating; median (min-max). Fixed-rate columns: $FIX_RATE/s for ${FIX_S}s."
    printf '%-8s %-24s %-24s %-24s %-24s %-24s\n' server "max rate <1% loss /s" \
        "replies/CPU-s at max" "replies/CPU-s, fixed" "resp. time mean ns" "resp. time max ns"
    for s in chronyd chimed; do
        printf '%-8s %-24s %-24s %-24s %-24s %-24s\n' "$s" "$(stat "$s" 2)" "$(stat "$s" 6)" \
            "$(stat "$s" 3)" "$(stat "$s" 4)" "$(stat "$s" 5)"
    done
    printf '%-8s %-24s %-24s %-24s %-24s %-24s\n' ratio \
        "$(ratio "$(median chimed 2)" "$(median chronyd 2)")" \
        "$(ratio "$(median chimed 6)" "$(median chronyd 6)")" \
        "$(ratio "$(median chimed 3)" "$(median chronyd 3)")" \
        "$(ratio "$(median chimed 4)" "$(median chronyd 4)")" \
        "$(ratio "$(median chimed 5)" "$(median chronyd 5)")"
    echo "# ratio = chimed / chronyd of the medians (rate, replies/CPU-s: higher is better)"
    [ "$gen_limited" -eq 0 ] ||
        echo "# $gen_limited of the ramps ended because ntpperf could not send faster: those maxima are lower bounds"
}

# nts_rounds: key with both servers, then the rounds with -S.
nts_rounds() {
    k_chrony=$(ip netns exec "$NS_S" "$B/ntsload" -c "$WORK/ca.pem" -e 10.77.0.1 4460 \
        10.77.0.1:123 2>"$WORK/ntsload.err") &&
    k_chime=$(ip netns exec "$NS_S" "$B/ntsload" -c "$WORK/ca.pem" -e 10.77.0.3 4461 \
        10.77.0.3:123 2>>"$WORK/ntsload.err") || {
        NTS_SKIP="key exchange failed: $(tail -n 1 "$WORK/ntsload.err")"
        return 1
    }
    PERF_BIN="$B/ntpperf-nts/ntpperf" TAG=-nts ROWS="$WORK/rows-nts"
    NTS_chronyd="-S $k_chrony" NTS_chimed="-S $k_chime"
    rounds
}

TAG="" ROWS="$WORK/rows"
rounds
table "" | tee "$RESULT"
if [ -z "$NTS_SKIP" ] && nts_rounds; then
    table ", NTS-authenticated requests (AES-SIV-CMAC-256)" | tee "$RESULT_NTS"
else
    echo "bench: ntpperf NTS part skipped: $NTS_SKIP" >&2
    echo "# ntpperf NTS: skipped ($NTS_SKIP)" >"$RESULT_NTS"
fi
cp "$WORK"/*.ramps "$WORK"/*.fixed "$WORK"/*.peak "$OUT/" 2>/dev/null
exit 0
