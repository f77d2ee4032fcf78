# lib.sh — run the real chimed under clknetsim, the syscall-level clock and
# network simulator chrony is developed against (GPL-2.0, a test tool: it
# is built from $CLKNETSIM into $B/clknetsim and never linked into chime).
#
#   cns_prepare          build clknetsim, find chronyd; on failure returns 1
#                        with the reason in $CNS_WHY
#   cns_run FILE DIR [SEED]
#                        run scenario FILE in DIR; the figures land in
#                        DIR/metrics as "NAME VALUE" lines (seconds, or
#                        packets per day)
#   cns_metric DIR NAME  one figure
# CNS_CLIENT=chronyd runs chronyd where a scenario says "client";
# CNS_SECONDS overrides a scenario's length.
#
# A scenario file (tests/clknetsim/scenarios/*.cns) holds the network, the
# nodes and the expected bounds in one place; its directives:
#   seconds N             simulated run length
#   start EPOCH           simulated UTC start (clknetsim's CLKNETSIM_START_DATE)
#   sim LINE              a line of clknetsim's own config (delays, clocks)
#   node N PROG LINE      a config line for node N run by PROG: chronyd,
#                         chimed, or "client" (chimed, or $CNS_CLIENT)
#   measure N from T      whose clock is judged, from simulated second T
#   peer N                a second client judged the same way (chronyd as
#                         the client of the same servers, say), for
#                         bounds relative to it
#   leap T                UTC inserts a leap second at simulated second T
#                         (clknetsim's kernels insert it at multiples of a
#                         day from the start, so start at a UTC midnight):
#                         from T on, the error is judged against UTC
#   log N TEXT            node N's log must contain TEXT (a fixed string)
#   group N...            nodes judged against each other: the metric
#                         spread is the largest difference between their
#                         clocks (max - min of their errors) in the window,
#                         and leaders the number of them whose last orphan
#                         state logged (before any "orphan mode over") is
#                         leading an orphan island
#   expect METRIC OP VAL  METRIC is rms, max, mean (of the offset), spread,
#                         leaders or packets_day, optionally @A..B for seconds A to B;
#                         settle:LIM@A..B, the seconds from A until the
#                         offset stays within LIM up to B (B - A + 1 if it
#                         never does); loglines (the node's log lines at
#                         info or above) or peer_changes (its "system
#                         peer" changes, from the log's records of them);
#                         OP is <= or >=; VAL takes a us/ms/s unit, or is
#                         "peer" (the same metric of the peer node) or
#                         "peer*F" (F times it)
#
# In node lines, @TOP@ stands for the source tree.
#
# Everything runs in a fresh network namespace with only loopback and
# without CAP_SYS_TIME: the clients' clock and socket calls go to the
# simulator, and nothing that escaped it could reach a network or a clock.
#
# SPDX-License-Identifier: BSD-2-Clause

# Default: ../shared/clknetsim beside the tree, or beside the checkout a
# local clone was made from (a clean CI clone elsewhere finds it so).
cns_default_path() {
    _o=$(git -C "$TOP" config --get remote.origin.url 2>/dev/null)
    for _c in "$TOP/../shared/clknetsim" "${_o:+$_o/../shared/clknetsim}"; do
        [ -n "$_c" ] && [ -f "$_c/server.cc" ] && { echo "$_c"; return; }
    done
    echo "$TOP/../shared/clknetsim"
}
CLKNETSIM=${CLKNETSIM:-$(cns_default_path)}
CNS_BUILD="$B/clknetsim"
CNS_CLIENT=${CNS_CLIENT:-chimed}
CNS_WHY=""

cns_prepare() {
    if [ ! -f "$CLKNETSIM/clknetsim.bash" ] || [ ! -f "$CLKNETSIM/server.cc" ]; then
        CNS_WHY="clknetsim not found at $CLKNETSIM (set CLKNETSIM=path)"
        return 1
    fi
    command -v g++ >/dev/null 2>&1 || { CNS_WHY="g++ is missing"; return 1; }
    if [ ! -x "$CNS_BUILD/clknetsim" ] || [ ! -f "$CNS_BUILD/clknetsim.so" ] ||
       [ -n "$(find "$CLKNETSIM" -newer "$CNS_BUILD/clknetsim" -name '*.[ch]*' 2>/dev/null)" ]; then
        rm -rf "$CNS_BUILD" && mkdir -p "$CNS_BUILD" &&
            cp -R "$CLKNETSIM/." "$CNS_BUILD/" &&
            make -C "$CNS_BUILD" >"$CNS_BUILD.log" 2>&1 || {
                CNS_WHY="clknetsim did not build (see $CNS_BUILD.log)"
                return 1
            }
    fi
    PEERS_QUIET=1 . "$TOP/tests/system/peers.sh" >/dev/null 2>&1
    CNS_CHRONYD="$PEERS_ROOT/usr/sbin/chronyd"
    if [ -z "${CHRONYD:-}" ] || [ ! -x "$CNS_CHRONYD" ]; then
        CNS_WHY="chronyd (Debian's chrony, unpacked) is not available"
        return 1
    fi
    unshare -n true 2>/dev/null || {
        CNS_WHY="cannot create a network namespace (unshare -n)"
        return 1
    }
    command -v capsh >/dev/null 2>&1 || { CNS_WHY="capsh is missing"; return 1; }
    [ -x "$B/chimed" ] || { CNS_WHY="$B/chimed is not built"; return 1; }
    return 0
}

# cns_node_cmd N PROG DIR: the command line that runs node N.
cns_node_cmd() {
    case $2 in
        chronyd)
            # An assignment, not env(1): a preloaded env would be the node.
            printf "LD_LIBRARY_PATH='%s' %s -d -f %s/conf.%s -u root" \
                "$PEERS_LD_LIBRARY_PATH" "$CNS_CHRONYD" "$3" "$1" ;;
        chimed)
            # -F 0: libseccomp installs the filter with syscall(), which
            # clknetsim does not emulate, and the filter would forbid the
            # simulator's own socket to its server.
            printf '%s -n -F 0 -c %s/conf.%s -p %s/pid.%s' "$B/chimed" "$3" "$1" "$3" "$1" ;;
    esac
}

# cns_node_head N PROG DIR: lines every config of PROG starts with.
cns_node_head() {
    case $2 in
        chronyd) printf 'pidfile %s/pid.%s\ncmdport 0\nallow\n' "$3" "$1" ;;
        # threads 1: clknetsim serves one thread's system calls (its
        # poll and time are the node's, not a second thread's)
        chimed) printf 'driftfile %s/drift.%s\nthreads 1\n' "$3" "$1" ;;
    esac
}

# cns_write FILE DIR: the scenario turned into DIR/conf (clknetsim's),
# DIR/conf.N (each node's), DIR/nodes ("N PROG" lines) and DIR/params.
cns_write() {
    : >"$2/conf"; : >"$2/nodes"
    _seconds=3600; _start=""; _measure=2; _from=0; _leap=-1; _peer=""; _group=""
    while read -r _kw _rest; do
        case $_kw in
            seconds) _seconds=$_rest ;;
            start) _start=$_rest ;;
            leap) _leap=$_rest ;;
            peer) _peer=$_rest ;;
            group) _group=$(echo "$_rest" | tr ' ' ',') ;;
            sim) echo "$_rest" >>"$2/conf" ;;
            measure)
                _measure=${_rest%% *}
                case $_rest in *" from "*) _from=${_rest##* } ;; esac ;;
            node)
                _n=${_rest%% *}; _r=${_rest#* }; _p=${_r%% *}; _line=${_r#* }
                [ "$_p" = client ] && _p=$CNS_CLIENT
                if ! grep -q "^$_n " "$2/nodes"; then
                    echo "$_n $_p" >>"$2/nodes"
                    cns_node_head "$_n" "$_p" "$2" >"$2/conf.$_n"
                fi
                [ "$_line" = "$_p" ] ||
                    printf '%s\n' "$_line" | sed "s|@TOP@|$TOP|g" >>"$2/conf.$_n" ;;
        esac
    done <<EOT
$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1")
EOT
    _seconds=${CNS_SECONDS:-$_seconds}
    printf 'seconds %s\nstart %s\nmeasure %s\nfrom %s\nleap %s\npeer %s\ngroup %s\n' \
        "$_seconds" "$_start" "$_measure" "$_from" "$_leap" "$_peer" "$_group" >"$2/params"
}

cns_param() { awk -v k="$2" '$1 == k { print $2 }' "$1/params"; }

# cns_run FILE DIR [SEED]
cns_run() {
    _f=$1; _d=$2; _seed=${3:-1}
    rm -rf "$_d" && mkdir -p "$_d" || return 1
    cns_write "$_f" "$_d"
    _nodes=$(wc -l <"$_d/nodes")
    {
        echo "cd '$_d' || exit 1"
        echo "export CLKNETSIM_SOCKET='$_d/sock' CLKNETSIM_RANDOM_SEED=$_seed"
        _st=$(cns_param "$_d" start)
        [ -z "$_st" ] || echo "export CLKNETSIM_START_DATE=$_st"
        echo "pids=''"
        while read -r _n _p; do
            echo "CLKNETSIM_NODE=$_n LD_PRELOAD='$CNS_BUILD/clknetsim.so' $(cns_node_cmd "$_n" "$_p" "$_d") >log.$_n 2>&1 &"
            echo "pids=\"\$pids \$!\""
        done <"$_d/nodes"
        echo "'$CNS_BUILD/clknetsim' -o log.offset -f log.freq -l $(cns_param "$_d" seconds) -s '$_d/sock' conf $_nodes >stats 2>log"
        echo "rc=\$?"
        # The simulator has ended: stop our own clients, by PID.
        echo "for p in \$pids; do kill \$p 2>/dev/null; done; wait"
        echo "exit \$rc"
    } >"$_d/run.sh"
    timeout 900 unshare -n capsh --drop=cap_sys_time -- -c "sh '$_d/run.sh'"
    _rc=$?
    [ "$_rc" -eq 0 ] || return "$_rc"
    cns_metrics "$_d" >"$_d/metrics"
}

# cns_window DIR A B [NODE]: rms, max and mean of the measured node's (or
# NODE's) error over simulated seconds A..B (one line of log.offset per
# second, from 0; the log holds the offset from leap-free true time, UTC
# is a second behind it after a leap).
cns_window() {
    awk -v c="${4:-$(cns_param "$1" measure)}" -v a="$2" -v b="$3" -v leap="$(cns_param "$1" leap)" \
        -v group="$(cns_param "$1" group)" '
        BEGIN { ng = split(group, g, ",") }
        NR - 1 >= a && NR - 1 <= b {
            if (ng > 0) {
                lo = hi = $(g[1])
                for (k = 2; k <= ng; k++) {
                    if ($(g[k]) < lo) lo = $(g[k])
                    if ($(g[k]) > hi) hi = $(g[k])
                }
                if (hi - lo > sp) sp = hi - lo
            }
            x = $c
            if (leap >= 0 && NR - 1 >= leap) x += 1
            s += x * x; m += x; n++
            if (x < 0) x = -x
            if (x > mx) mx = x
        }
        END { if (n == 0) { print "nan nan nan nan"; exit }
              # mawk reads a ">" in printf arguments as a redirection: decide first
              spread = "nan"; if (ng > 0) spread = sp
              printf "%.9g %.9g %.9g %s\n", sqrt(s / n), mx, m / n, spread }' \
        "$1/log.offset"
}

# How many of the group's nodes last said they lead an orphan island.
cns_leaders() {
    _k=0
    for _n in $(cns_param "$1" group | tr ',' ' '); do
        _l=$(sed -n '/orphan mode over/q; /orphan mode: /p' "$1/log.$_n" | tail -n 1)
        case $_l in *"orphan mode: leading"*) _k=$((_k + 1)) ;; esac
    done
    echo "$_k"
}

# cns_settle DIR LIM A B [NODE]: seconds from A until the error stays
# within LIM (seconds) through B; B - A + 1 when it never settles.
cns_settle() {
    awk -v c="${5:-$(cns_param "$1" measure)}" -v lim="$2" -v a="$3" -v b="$4" '
        NR - 1 >= a && NR - 1 <= b {
            x = $c; if (x < 0) x = -x
            if (x > lim) last = NR - 1 - a + 1
        }
        END { printf "%d\n", last }' "$1/log.offset"
}

# chimed's log on stderr: "chimed[PID]: [PART] LEVEL: message", LEVEL
# empty for info; info or above are the lines operators read. chronyd
# logs no levels: every line counts.
cns_loglines() {
    _lf="$1/log.$2"
    [ -f "$_lf" ] || { echo nan; return; }
    grep -cv '^[^ ]* \[[^]]*\] debug: ' "$_lf"
}

# Changes of system peer in node N's log (chimed says "system peer", or
# "selected source" as chronyd does; the first selection is no change).
cns_peer_changes() {
    _lf="$1/log.$2"
    [ -f "$_lf" ] || { echo nan; return; }
    awk '/system peer|[Ss]elected source/ { n++ } END { print (n > 0 ? n - 1 : 0) }' "$_lf"
}

# Packets per day the measured node (or NODE) sent, from clknetsim's
# statistics.
cns_packets_day() {
    awk -v node="${2:-$(cns_param "$1" measure)}" '
        /^-+ Node [0-9]+ -+$/ { cur = $3 }
        cur == node && /^Mean outgoing packet interval:/ {
            if ($NF > 0) printf "%.0f\n", 86400 / $NF; else print 0 }' "$1/stats"
}

cns_metrics() {
    _md=$1
    set -- "$1" $(cns_window "$1" "$(cns_param "$1" from)" "$(cns_param "$1" seconds)")
    printf 'rms %s\nmax %s\nmean %s\nspread %s\nleaders %s\npackets_day %s\n' \
        "$2" "$3" "$4" "$5" "$(cns_leaders "$1")" "$(cns_packets_day "$1")"
    _pn=$(cns_param "$_md" peer)
    [ -n "$_pn" ] || return 0
    set -- "$_md" $(cns_window "$_md" "$(cns_param "$_md" from)" "$(cns_param "$_md" seconds)" "$_pn")
    printf 'peer_rms %s\npeer_max %s\npeer_mean %s\npeer_packets_day %s\n' \
        "$2" "$3" "$4" "$(cns_packets_day "$_md" "$_pn")"
}

cns_metric() { awk -v k="$2" '$1 == k { print $2 }' "$1/metrics"; }

# cns_seconds VAL: VAL with a unit (us, ms, s or none) in seconds.
cns_seconds() {
    awk -v v="$1" 'BEGIN {
        f = 1
        if (v ~ /us$/) { f = 1e-6; sub(/us$/, "", v) }
        else if (v ~ /ms$/) { f = 1e-3; sub(/ms$/, "", v) }
        else if (v ~ /s$/) { sub(/s$/, "", v) }
        printf "%.9g\n", v * f }'
}

# cns_value DIR METRIC [NODE]: METRIC may carry a window, rms@A..B; NODE
# is the measured node by default.
cns_value() {
    _vn=${3:-$(cns_param "$1" measure)}
    case $2 in
        settle:*@*..*)
            _l=${2#settle:}; _l=${_l%%@*}; _w=${2#*@}
            cns_settle "$1" "$(cns_seconds "$_l")" "${_w%..*}" "${_w#*..}" "$_vn" ;;
        *@*..*)
            _m=${2%%@*}; _w=${2#*@}
            set -- $(cns_window "$1" "${_w%..*}" "${_w#*..}" "$_vn")
            case $_m in rms) echo "$1" ;; max) echo "$2" ;; mean) echo "$3" ;;
                spread) echo "$4" ;; esac ;;
        loglines) cns_loglines "$1" "$_vn" ;;
        peer_changes) cns_peer_changes "$1" "$_vn" ;;
        packets_day) cns_packets_day "$1" "$_vn" ;;
        rms|max|mean)
            _m=$2
            set -- $(cns_window "$1" "$(cns_param "$1" from)" "$(cns_param "$1" seconds)" "$_vn")
            case $_m in rms) echo "$1" ;; max) echo "$2" ;; mean) echo "$3" ;; esac ;;
        *) cns_metric "$1" "$2" ;;
    esac
}

# cns_is_count METRIC: counted (packets, lines, seconds of settling), not
# an offset in seconds with a unit.
cns_is_count() {
    case $1 in packets_day*|loglines*|peer_changes*|leaders*|settle:*) return 0 ;; esac
    return 1
}

# cns_bound DIR METRIC BOUND: the bound as a plain number: "peer" and
# "peer*F" are the peer node's own value of the metric (times F).
cns_bound() {
    case $3 in
        peer|peer\**)
            _f=1; case $3 in peer\**) _f=${3#peer\*} ;; esac
            _pv=$(cns_value "$1" "$2" "$(cns_param "$1" peer)")
            awk -v v="$_pv" -v f="$_f" 'BEGIN { if (v == "nan" || v == "") print "nan"; else printf "%.9g\n", v * f }' ;;
        *) if cns_is_count "$2"; then echo "$3"; else cns_seconds "$3"; fi ;;
    esac
}

# cns_expects FILE: the scenario's "METRIC OP VALUE" lines.
cns_expects() { sed -n 's/^expect[[:space:]]\{1,\}//p' "$1" | sed 's/[[:space:]]*#.*//'; }

# cns_logs FILE: the scenario's "N TEXT" log expectations.
cns_logs() { sed -n 's/^log[[:space:]]\{1,\}//p' "$1"; }

# cns_holds VALUE OP BOUND (both in seconds, or both counts)
cns_holds() {
    awk -v v="$1" -v op="$2" -v b="$3" 'BEGIN {
        if (v == "nan" || v == "") exit 1
        if (op == "<=") exit !(v + 0 <= b + 0)
        if (op == ">=") exit !(v + 0 >= b + 0)
        exit 1 }'
}

# cns_show VALUE METRIC: a figure for people (us for offsets).
cns_show() {
    case $2 in
        packets_day*) echo "$1/day" ;;
        settle:*) echo "${1}s" ;;
        loglines*|peer_changes*|leaders*) echo "$1" ;;
        *) awk -v v="$1" 'BEGIN { printf "%.1f us\n", v * 1e6 }' ;;
    esac
}
