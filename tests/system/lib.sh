# lib.sh — helpers for tests/system/t_*.sh (POSIX sh). Source it:
#
#   . "$(dirname "$0")/lib.sh"
#
# TAP, plan-less: ok NAME | not_ok NAME [DIAG...] | check 'COND' NAME |
#   skip NAME WHY | diag TEXT. "1..N" is printed at exit; the script then
#   exits 1 if anything failed.
# Clean-up at exit, in this order: every process started through these
#   helpers (stop_pid), every namespace from netns_setup, the tmpdir tree.
# Servers: start_chronyd_server PORT [NETNS] [ADDR], start_chimed CONF [NETNS],
#   wait_ntp ADDR PORT [TIMEOUT_S] [NETNS] [PID], stop_pid PID.
# Clients: chronyd_query PORT [ADDR] [NETNS] -> offset in seconds;
#   ntpdig_query ADDR NETNS -> ntpdig's JSON line (ntpdig only speaks to
#   port 123, hence a namespace); json_field JSON KEY.
# Namespaces: netns_name TAG, netns_setup NAME, netns_cleanup NAME,
#   netns_veth NS1 ADDR1/LEN NS2 ADDR2/LEN, in_netns NAME CMD...
# Misc: tmpdir, nocap CMD..., rss_kb PID.
#
# Functions that start something set a variable (CHRONYD_PID, CHIMED_PID,
# BG_PID) instead of printing: call them directly, never inside $(...),
# or the clean-up never learns about the process.
#
# Nothing here moves the clock: every daemon runs with -x and without
# CAP_SYS_TIME, and servers listen on loopback only, or on veth addresses
# that exist only between namespaces of the test's own (netns_veth).
#
# SPDX-License-Identifier: BSD-2-Clause

set -u

TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export TOP
B=${B:-build}
case $B in /*) ;; *) B="$TOP/$B" ;; esac
export B

# ---- TAP -------------------------------------------------------------------
_tap_n=0
_tap_fail=0

ok() {
    _tap_n=$((_tap_n + 1))
    echo "ok $_tap_n - $1"
}

not_ok() {
    _tap_n=$((_tap_n + 1))
    _tap_fail=$((_tap_fail + 1))
    echo "not ok $_tap_n - $1"
    shift
    for _d in "$@"; do
        printf '%s\n' "$_d" | sed 's/^/#   /'
    done
}

# check 'COND' NAME: COND is evaluated as shell code. Returns COND's
# truth, so that `if ! check ...; then diag ...` works.
check() {
    if eval "$1"; then
        ok "$2"
    else
        not_ok "$2" "failed: $1"
        return 1
    fi
}

skip() {
    ok "$1 # SKIP ${2:-}"
}

diag() {
    printf '%s\n' "$*" | sed 's/^/# /'
}

# diag_file FILE [LINES]: the tail of a log, as TAP comments.
diag_file() {
    [ -f "$1" ] && tail -n "${2:-20}" "$1" | sed "s|^|# $(basename "$1"): |"
    return 0
}

# ---- clean-up ----------------------------------------------------------------
_lib_pids=""
_lib_netns=""

_lib_exit() {
    _rc=$?
    for _p in $_lib_pids; do
        stop_pid "$_p"
    done
    for _n in $_lib_netns; do
        ip netns del "$_n" 2>/dev/null
    done
    if [ -n "${KEEP_TMP:-}" ]; then
        echo "# kept $LIB_TMP $_lib_shared_tmp"
    else
        rm -rf "$LIB_TMP" $_lib_shared_tmp
    fi
    echo "1..$_tap_n"
    [ "$_tap_fail" -gt 0 ] && [ "$_rc" -eq 0 ] && _rc=1
    exit "$_rc"
}
trap _lib_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

_lib_forget() {
    _keep=""
    for _x in $2; do
        [ "$_x" = "$1" ] || _keep="$_keep $_x"
    done
    echo "$_keep"
}

mkdir -p "$B/tmp"
LIB_TMP=$(mktemp -d "$B/tmp/$(basename "$0" .sh).XXXXXX") || exit 1

# tmpdir: a fresh directory under build/tmp, removed at exit.
# shared_tmpdir: a directory an unprivileged user (chimed -u nobody) can
# write, outside the checkout (whose parents may be private, e.g. a
# mktemp -d clone); removed at exit like tmpdir's. Sets SHARED_TMP (call
# it directly, not in $(...), so the exit trap learns the path).
_lib_shared_tmp=""
shared_tmpdir() {
    SHARED_TMP=$(mktemp -d "${TMPDIR:-/tmp}/chime-test.XXXXXX") || return 1
    chmod 0777 "$SHARED_TMP"
    _lib_shared_tmp="$_lib_shared_tmp $SHARED_TMP"
}

tmpdir() {
    mktemp -d "$LIB_TMP/d.XXXXXX"
}

# ---- processes ---------------------------------------------------------------

# nocap CMD...: run CMD without CAP_SYS_TIME (bounding and inheritable set).
nocap() {
    if command -v setpriv >/dev/null 2>&1; then
        setpriv --bounding-set -sys_time --inh-caps -sys_time "$@"
    else
        capsh --drop=cap_sys_time -- -c 'exec "$0" "$@"' "$@"
    fi
}

# in_netns NAME CMD...: run CMD inside network namespace NAME. "-" or ""
# runs it here. `ip netns exec` execs, so the pid is CMD's.
in_netns() {
    _ns=$1
    shift
    if [ -z "$_ns" ] || [ "$_ns" = - ]; then
        "$@"
    else
        ip netns exec "$_ns" "$@"
    fi
}

# start_bg LOG NETNS CMD...: start CMD in the background without
# CAP_SYS_TIME; sets BG_PID and registers it for clean-up.
start_bg() {
    _log=$1
    _ns=$2
    shift 2
    # A simple command, not a function, so that $! is the process itself.
    if [ -z "$_ns" ] || [ "$_ns" = - ]; then
        setpriv --bounding-set -sys_time --inh-caps -sys_time \
            "$@" >"$_log" 2>&1 </dev/null &
    else
        ip netns exec "$_ns" setpriv --bounding-set -sys_time --inh-caps -sys_time \
            "$@" >"$_log" 2>&1 </dev/null &
    fi
    BG_PID=$!
    _lib_pids="$_lib_pids $BG_PID"
}

# stop_pid PID: SIGTERM, up to 5 s grace, then SIGKILL; reaps our children.
stop_pid() {
    _pid=$1
    _lib_pids=$(_lib_forget "$_pid" "$_lib_pids")
    kill -TERM "$_pid" 2>/dev/null || { wait "$_pid" 2>/dev/null; return 0; }
    _i=0
    while kill -0 "$_pid" 2>/dev/null && [ $_i -lt 50 ]; do
        # a zombie child is "alive" until waited for
        if [ "$(awk '/^State:/ { print $2 }' "/proc/$_pid/status" 2>/dev/null)" = Z ]; then
            break
        fi
        sleep 0.1
        _i=$((_i + 1))
    done
    kill -KILL "$_pid" 2>/dev/null
    wait "$_pid" 2>/dev/null
    return 0
}

# usr1_counters PID LOG: ask chimed (PID) for its counters with SIGUSR1 and
# return once LOG holds them: the "counters follow" line has appeared and
# the log has stopped growing (one call writes the whole block). Bounded
# by 20 s, never a fixed pause.
usr1_counters() {
    _uc_n=$(grep -c 'counters follow' "$2" 2>/dev/null)
    kill -USR1 "$1" 2>/dev/null || return 1
    _uc_i=0
    while [ "$(grep -c 'counters follow' "$2" 2>/dev/null)" -le "${_uc_n:-0}" ] &&
          [ $_uc_i -lt 400 ]; do
        sleep 0.05; _uc_i=$((_uc_i + 1))
    done
    _uc_last=-1
    while [ "$(wc -c <"$2")" != "$_uc_last" ] && [ $_uc_i -lt 400 ]; do
        _uc_last=$(wc -c <"$2")
        sleep 0.05; _uc_i=$((_uc_i + 1))
    done
}

# wait_counters PID LOG PATTERN TRIES: SIGUSR1 counters every 0.5 s, at most
# TRIES times (a bound, not a margin), until the last "[server] received"
# line matches the grep PATTERN; status 1 if it never did.
wait_counters() {
    _wc=0
    while [ $_wc -lt "$4" ]; do
        usr1_counters "$1" "$2"
        grep '\[server\] received' "$2" | tail -n 1 | grep -q "$3" && return 0
        sleep 0.5; _wc=$((_wc + 1))
    done
    return 1
}

# alive PID: the process exists and is not a zombie.
alive() {
    kill -0 "$1" 2>/dev/null &&
        [ "$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" != Z ]
}

rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# wait_ntp ADDR PORT [TIMEOUT_S] [NETNS] [PID]: poll with one-shot ntpprobe
# requests until something answers (any matching reply, synchronised or
# not). Gives up after TIMEOUT_S (default 5) or when PID has died.
wait_ntp() {
    _addr=$1
    _port=$2
    _end=$(( $(date +%s) + ${3:-5} ))
    _ns=${4:--}
    _wpid=${5:-}
    while [ "$(date +%s)" -le "$_end" ]; do
        in_netns "$_ns" "$B/ntpprobe" -a -t 200 "$_addr" "$_port" >/dev/null 2>&1 &&
            return 0
        if [ -n "$_wpid" ] && ! alive "$_wpid"; then
            return 1
        fi
        sleep 0.1
    done
    return 1
}

# ---- network namespaces ---------------------------------------------------------

# netns_name TAG: a namespace name unique to this test run.
netns_name() {
    echo "chime$$-$1"
}

# netns_setup NAME: a new namespace with only lo, up (127.0.0.1 and ::1).
netns_setup() {
    ip netns add "$1" || return 1
    _lib_netns="$_lib_netns $1"
    ip -n "$1" link set lo up
}

# netns_veth NS1 ADDR1/LEN NS2 ADDR2/LEN: a veth pair created straight
# into two namespaces from netns_setup (never in this one), addressed, up
# and carrying (waits up to 5 s). No IPv6 link-local addresses: while
# their DAD runs, ntpd leaves the whole interface out of its startup scan
# and only finds it at its next interface rescan. The pair goes away with
# the namespaces.
netns_veth() {
    _v=$(printf 'cv%s' "$$" | cut -c1-11)
    _vi=0
    while ip -n "$1" link show "${_v}a$_vi" >/dev/null 2>&1; do _vi=$((_vi + 1)); done
    ip link add "${_v}a$_vi" netns "$1" type veth peer name "${_v}b$_vi" netns "$3" || return 1
    ip -n "$1" link set "${_v}a$_vi" addrgenmode none &&
        ip -n "$3" link set "${_v}b$_vi" addrgenmode none &&
        ip -n "$1" addr add "$2" dev "${_v}a$_vi" &&
        ip -n "$3" addr add "$4" dev "${_v}b$_vi" &&
        ip -n "$1" link set "${_v}a$_vi" up &&
        ip -n "$3" link set "${_v}b$_vi" up || return 1
    _vi2=0
    while [ $_vi2 -lt 50 ]; do
        ip -n "$1" link show "${_v}a$_vi" | grep -q 'state UP' &&
            ip -n "$3" link show "${_v}b$_vi" | grep -q 'state UP' && return 0
        sleep 0.1
        _vi2=$((_vi2 + 1))
    done
    return 1
}

netns_cleanup() {
    _lib_netns=$(_lib_forget "$1" "$_lib_netns")
    ip netns del "$1"
}

# ---- reference peers (chrony, ntpdig) -------------------------------------------

# need_peers: make chronyd and ntpdig available (see peers.sh); status 1 if
# they cannot be had.
need_peers() {
    [ -n "${CHRONYD:-}" ] && return 0
    PEERS_QUIET=1
    . "$TOP/tests/system/peers.sh"
}

# start_chronyd_server PORT [NETNS] [ADDR]: chronyd serving its own clock
# at stratum 1 on port PORT of 127.0.0.1 and ::1, or of ADDR alone (e.g. a
# netns_veth address). Sets CHRONYD_PID, CHRONYD_DIR.
start_chronyd_server() {
    need_peers || return 1
    CHRONYD_DIR=$(tmpdir)
    if [ -n "${3:-}" ]; then
        _bind="bindaddress $3"
    else
        _bind="bindaddress 127.0.0.1
bindaddress ::1"
    fi
    cat >"$CHRONYD_DIR/chrony.conf" <<EOF
port $1
allow
local stratum 1
$_bind
cmdport 0
pidfile $CHRONYD_DIR/chronyd.pid
driftfile $CHRONYD_DIR/drift
EOF
    start_bg "$CHRONYD_DIR/chronyd.log" "${2:--}" \
        "$CHRONYD" -x -d -u root -f "$CHRONYD_DIR/chrony.conf"
    CHRONYD_PID=$BG_PID
    if ! wait_ntp "${3:-127.0.0.1}" "$1" 10 "${2:--}" "$CHRONYD_PID"; then
        diag "chronyd did not start on ${3:-127.0.0.1} port $1"
        diag_file "$CHRONYD_DIR/chronyd.log"
        return 1
    fi
}

# chronyd_query PORT [ADDR] [NETNS]: ask the server once with chronyd -Q
# (measures, never sets the clock); prints the offset in seconds as chronyd
# reports it ("System clock wrong by X seconds": X > 0 means the local
# clock is behind the server). Status 1 when no answer within ~5 s.
chronyd_query() {
    need_peers || return 1
    _out=$(in_netns "${3:--}" setpriv --bounding-set -sys_time --inh-caps -sys_time \
        "$CHRONYD" -x -Q -u root -t 6 \
        "server ${2:-127.0.0.1} port $1 iburst maxsamples 1" 2>&1)
    _off=$(printf '%s\n' "$_out" |
        sed -n 's/.*System clock wrong by \([-+0-9.eE]*\) seconds.*/\1/p' | head -n 1)
    if [ -z "$_off" ]; then
        printf '%s\n' "$_out" | sed 's/^/# chronyd -Q: /' >&2
        return 1
    fi
    echo "$_off"
}

# ntpdig_query ADDR NETNS: ntpdig (port 123 only) inside NETNS; prints its
# JSON line, e.g. {"time":...,"offset":0.000010,...,"stratum":1,...}.
ntpdig_query() {
    need_peers || return 1
    in_netns "${2:--}" setpriv --bounding-set -sys_time --inh-caps -sys_time \
        "$NTPDIG" -j -t 2 "$1"
}

# json_field JSON KEY: a scalar from a flat JSON object (numbers, strings).
json_field() {
    printf '%s\n' "$1" | sed -n "s/.*\"$2\": *\"\{0,1\}\([^\",}]*\).*/\1/p"
}

# ---- chimed ------------------------------------------------------------------------

# start_chimed CONF [NETNS]: run $B/chimed -n -x -c CONF -p PIDFILE without
# CAP_SYS_TIME and wait until it answers on the `port` (default 123) and
# `interface listen` address (default 127.0.0.1) of CONF.
# Sets CHIMED_PID, CHIMED_LOG.
# with_private_socket CONF DIR: print the path of a config that has a
# controlsocket of its own (tests never touch /run/chime).
with_private_socket() {
    if grep -q '^controlsocket' "$1"; then
        echo "$1"
        return
    fi
    { cat "$1"; echo "controlsocket $2/chimed.sock"; } >"$2/chimed.conf"
    CHIMED_SOCK="$2/chimed.sock"
    echo "$2/chimed.conf"
}

start_chimed() {
    if [ ! -x "$B/chimed" ]; then
        diag "$B/chimed is not built"
        return 1
    fi
    _d=$(tmpdir)
    CHIMED_LOG="$_d/chimed.log"
    _conf=$(with_private_socket "$1" "$_d")
    start_bg "$CHIMED_LOG" "${2:--}" "$B/chimed" -n -x -c "$_conf" -p "$_d/chimed.pid"
    CHIMED_PID=$BG_PID
    _port=$(awk '$1 == "port" { print $2; exit }' "$1")
    _addr=$(awk '$1 == "interface" && $2 == "listen" { print $3; exit }' "$1")
    if ! wait_ntp "${_addr:-127.0.0.1}" "${_port:-123}" 10 "${2:--}" "$CHIMED_PID"; then
        diag "chimed did not answer on ${_addr:-127.0.0.1} port ${_port:-123}"
        diag_file "$CHIMED_LOG"
        return 1
    fi
}

# start_chimed_server PORT SOCKET: chimed -x serving its own clock at
# stratum 1 on 127.0.0.1 PORT, control socket SOCKET: the time source most
# suites poll. Sets CHIMED_PID and CHIMED_LOG like start_chimed.
start_chimed_server() {
    _sd=$(tmpdir)
    printf 'port %s\ninterface listen 127.0.0.1\nlocal stratum 1\ncontrolsocket %s\n' \
        "$1" "$2" >"$_sd/server.conf"
    start_chimed "$_sd/server.conf"
}

# start_chimed_fake CONF OFFSET_S FREQ_PPM [NETNS]: chimed WITH clock
# control (the real linux driver) on the fake kernel clock, so steps and
# frequency changes land on a per-process virtual clock. Sets CHIMED_PID,
# CHIMED_LOG and FAKE_STATE (the shim's state file: offset_ns=... is the
# virtual clock's true error, since the real clock is the reference).
start_chimed_fake() {
    _d=$(tmpdir)
    CHIMED_LOG="$_d/chimed.log"
    FAKE_STATE="$_d/fakeclock.state"
    _conf=$(with_private_socket "$1" "$_d")
    start_bg "$CHIMED_LOG" "${4:--}" env LD_PRELOAD="$B/libfakeclock.so" \
        ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
        FAKECLOCK_OFFSET="$2" FAKECLOCK_FREQ_PPM="$3" FAKECLOCK_STATE="$FAKE_STATE" \
        "$B/chimed" -n -d -c "$_conf" -p "$_d/chimed.pid"
    CHIMED_PID=$BG_PID
}

# fake_offset_s: the fake clock's current error in seconds ("" if none yet).
fake_offset_s() {
    [ -f "$FAKE_STATE" ] || return 0
    sed -n 's/.*offset_ns=\([-0-9]*\).*/\1/p' "$FAKE_STATE" |
        awk '{ printf "%.9f\n", $1 / 1e9 }'
}

# fake_offset_now_s: the fake clock's error now, in seconds. The state
# file is only rewritten when chimed adjusts the clock (about once a
# poll), so this carries its offset_ns forward at its rate_ppm from the
# file's modification time (read on the real clock, the reference).
fake_offset_now_s() {
    [ -f "$FAKE_STATE" ] || return 0
    _t=0
    while :; do
        _m=$(date -r "$FAKE_STATE" +%s.%N)
        _l=$(sed -n 's/.*offset_ns=\([-0-9]*\).* rate_ppm=\([-0-9.]*\).*/\1 \2/p' "$FAKE_STATE")
        _n=$(date +%s.%N)
        # the line must belong to that mtime: retry if rewritten meanwhile
        [ "$(date -r "$FAKE_STATE" +%s.%N)" = "$_m" ] || [ $_t -ge 3 ] && break
        _t=$((_t + 1))
    done
    printf '%s\n' "$_l" |
        awk -v m="$_m" -v n="$_n" 'NF == 2 { printf "%.9f\n", $1 / 1e9 + $2 * 1e-6 * (n - m) }'
}

# fake_field NAME: a field of the fake clock's state file.
fake_field() {
    [ -f "$FAKE_STATE" ] || return 0
    sed -n "s/.* $1=\\([^ ]*\\).*/\\1/p; s/^$1=\\([^ ]*\\).*/\\1/p" "$FAKE_STATE" | head -n 1
}

# abs_lt VALUE LIMIT: |VALUE| < LIMIT (false for an empty value).
abs_lt() {
    awk -v v="$1" -v m="$2" 'BEGIN { if (v == "") exit 1; if (v < 0) v = -v; exit !(v < m) }'
}

# chimectl_json SOCKET sources|tracking
chimectl_json() {
    "$B/chimectl" -s "$1" -j "$2" 2>/dev/null
}

# wait_sources SOCKET PATTERN TRIES: until chimectl -j sources matches the
# grep PATTERN, polling every 0.1 s at most TRIES times (a bound, not a
# margin); status 1 if it never did.
wait_sources() {
    _ws=0
    while [ $_ws -lt "$3" ]; do
        chimectl_json "$1" sources | grep -q "$2" && return 0
        sleep 0.1; _ws=$((_ws + 1))
    done
    return 1
}
