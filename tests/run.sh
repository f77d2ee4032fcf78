#!/bin/sh
# Run every test suite and print one closing line "N passed, N failed, N skipped".
#
# Each suite speaks TAP on stdout ("ok N - name" / "not ok N - name"):
#   build/unit/test_*      cmocka unit tests (CMOCKA_MESSAGE_OUTPUT=TAP)
#   tests/system/t_*.sh    the real chimed on loopback / in netns
#   tests/sim/t_*.sh       simulator scenarios with accuracy bounds
#   tests/clknetsim/t_*.sh the real chimed under clknetsim (skipped, and
#                          counted as skipped, without clknetsim)
#   tests/fuzz/smoke.sh    each libFuzzer harness for a few seconds
# A suite that exits non-zero without reporting a failure counts as one
# failure, so a crash can never pass silently. A skip ("ok N - x # SKIP",
# or cmocka's "not ok N # SKIP") is counted as a skip, never as a pass.
# SUITES="unit sim system clknetsim fuzz" (the default) picks suites;
# TESTS="t_sync test_select" (optional) picks tests within them by name.
# CHIME_TEST_LANES=1 runs the background lane's suites in line (below).
set -u
SUITES=${SUITES:-unit sim system clknetsim fuzz}
want() { case " $SUITES " in *" $1 "*) return 0 ;; esac; return 1; }
B=${B:-build}
export B
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP

# The suites run in a network namespace of their own, with only loopback:
# their fixed test ports cannot collide with another run on this machine
# (a second checkout, CI next to a developer), and no test can reach a
# network even by mistake. They get an IPC namespace too: the reference
# clock tests' SHM segments (keys 0x4e545030 + unit) are the machine's
# otherwise, and two runs at once wrote each other's. The peers are
# unpacked first, while apt can still reach the package registry.
# CHIME_TEST_NETNS=0 turns this off.
if [ -z "${CHIME_TEST_NETNS:-}" ] && [ "$(id -u)" = 0 ] && unshare -n -i true 2>/dev/null; then
    if want system || want clknetsim; then
        PEERS_QUIET=1 sh "$TOP/tests/system/peers.sh" >/dev/null 2>&1 || true
    fi
    CHIME_TEST_NETNS=1 SUITES="$SUITES" exec unshare -n -i sh -c \
        'ip link set lo up && exec sh "$0" "$@"' "$0" "$@"
fi

LOGDIR="$B/test-logs"
mkdir -p "$LOGDIR"
rm -f "$LOGDIR/durations"   # seconds per suite, "S NAME" lines
pass=0
fail=0
skipped=0

selected() {
    [ -z "${TESTS:-}" ] && return 0
    case " $TESTS " in *" ${1#*/} "*) return 0 ;; esac
    return 1
}

log_of() { echo "$LOGDIR/$(echo "$1" | tr '/ ' '__').log"; }

# Runs one suite into its log and leaves "RC SECS" beside it, so a suite
# run in the background lane is tallied the same way as one run here.
exec_suite() {
    name=$1; shift
    log=$(log_of "$name")
    rm -f "$log.rc"
    t0=$(date +%s)
    "$@" >"$log" 2>&1
    rc=$?
    echo "$rc $(( $(date +%s) - t0 ))" >"$log.rc"
}

tally_suite() {
    name=$1
    log=$(log_of "$name")
    rc=1 secs=0
    [ -f "$log.rc" ] && read -r rc secs <"$log.rc"
    rm -f "$log.rc"
    echo "$secs $name" >>"$LOGDIR/durations"
    p=$(grep '^ok ' "$log" | grep -vc '# SKIP')
    f=$(grep '^not ok ' "$log" | grep -vc '# SKIP')
    k=$(grep -c '^\(not \)\{0,1\}ok .*# SKIP' "$log")
    skipped=$((skipped + k))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "not ok - $name exited with status $rc" >>"$log"
    fi
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$k" -eq 0 ]; then
        f=1
        echo "not ok - $name ran no test" >>"$log"
    fi
    pass=$((pass + p)); fail=$((fail + f))
    if [ "$f" -gt 0 ]; then
        printf '%-34s %3d passed, %d FAILED (log: %s, %d s)\n' "$name" "$p" "$f" "$log" "$secs"
        grep '^not ok' "$log" | grep -v '# SKIP' | sed 's/^/    /'
        tail -n 30 "$log" | grep -v '^ok ' | sed 's/^/    | /'
    else
        printf '%-34s %3d passed%s%s\n' "$name" "$p" "$([ "$k" -eq 0 ] || echo ", $k skipped")" \
            "$([ "$secs" -lt 10 ] || echo " ($secs s)")"
        grep '# SKIP' "$log" | sed 's/^/    /'
    fi
}

# The main lane's entry: a suite of the background lane is run there.
run_suite() {
    selected "$1" || return 0
    in_lane2 "$1" && return 0
    exec_suite "$@"
    tally_suite "$1"
}

# The background lane: suites that spend minutes waiting on real time
# (reference clocks sampled every few seconds, gpsd) with almost no CPU,
# and the clknetsim suite, whose bounds hold in simulated time, run one
# after another beside the main lane, on ports no other suite uses, and
# are tallied after it. Run in line they were 40 % of the run.
# CHIME_TEST_LANES=1 runs everything in one lane.
LANE2="system/t_refclock system/t_refclock_dev system/t_gpsd clknetsim/t_clknetsim"
[ "${CHIME_TEST_LANES:-2}" = 1 ] && LANE2=""
in_lane2() { case " $LANE2 " in *" $1 "*) return 0 ;; esac; return 1; }
lane2_run=""
lane2_pid=""
for name in $LANE2; do
    want "${name%%/*}" && selected "$name" && [ -f "$TOP/tests/$name.sh" ] &&
        lane2_run="$lane2_run $name"
done
if [ -n "$lane2_run" ]; then
    (
        for name in $lane2_run; do
            exec_suite "$name" sh "$TOP/tests/$name.sh"
        done
    ) &
    lane2_pid=$!
fi

for t in "$B"/unit/test_*; do
    want unit || break
    [ -x "$t" ] || continue
    CMOCKA_MESSAGE_OUTPUT=TAP run_suite "unit/$(basename "$t")" "$t"
done

for t in "$TOP"/tests/sim/t_*.sh; do
    want sim || break
    [ -f "$t" ] || continue
    run_suite "sim/$(basename "$t" .sh)" sh "$t"
done

for t in "$TOP"/tests/system/t_*.sh; do
    want system || break
    [ -f "$t" ] || continue
    run_suite "system/$(basename "$t" .sh)" sh "$t"
done

for t in "$TOP"/tests/clknetsim/t_*.sh; do
    want clknetsim || break
    [ -f "$t" ] || continue
    run_suite "clknetsim/$(basename "$t" .sh)" sh "$t"
done

if want fuzz && [ -z "${CHIME_ASAN:-}" ] && [ -f "$TOP/tests/fuzz/smoke.sh" ]; then
    run_suite "fuzz/smoke" sh "$TOP/tests/fuzz/smoke.sh"
fi

if [ -n "$lane2_pid" ]; then
    wait "$lane2_pid"
    for name in $lane2_run; do
        tally_suite "$name"
    done
fi

echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
