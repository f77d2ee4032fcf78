#!/bin/sh
# The fake kernel clock (build/libfakeclock.so) and the linux clock driver
# on top of it, end to end through build/clockctl.
#
# Everything runs without CAP_SYS_TIME (the script re-executes itself
# under capsh when it has it), so even a shim bug cannot move this
# machine's clock; the last test checks that it did not.
#
# Offsets are measured as (CLOCK_REALTIME - CLOCK_MONOTONIC) inside the
# shim minus the same outside it: CLOCK_MONOTONIC is never faked and
# shares the real clock's rate, so the difference is the virtual offset.
set -u

if [ -z "${FAKECLOCK_CAPS_DROPPED:-}" ] && command -v capsh >/dev/null 2>&1; then
    eff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
    if [ $(( (0x$eff >> 25) & 1 )) -eq 1 ]; then
        FAKECLOCK_CAPS_DROPPED=1 exec capsh --drop=cap_sys_time -- \
            -c 'exec sh "$0"' "$0"
    fi
fi

TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${B:-build}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
SHIM=$B/libfakeclock.so
CTL=$B/clockctl
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# An ASan-built clockctl insists that libasan loads first; the shim is
# deliberately uninstrumented and preloaded ahead of it.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
export ASAN_OPTIONS

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() {
    name=$1; shift
    if "$@"; then ok "$name"; else notok "$name"; fi
}

# Run a command with the shim; leading VAR=value words go to its env.
fake() { env LD_PRELOAD="$SHIM" "$@"; }
# field LINE NAME -> the value of NAME=... in LINE
field() { printf '%s\n' "$1" | sed -n "s/.*[ ]$2=\([^ ]*\).*/\1/p" | head -n 1; }
# line TEXT K -> the K-th line matching "^now " (or pattern $3)
line() { printf '%s\n' "$1" | grep "^${3:-now} " | sed -n "$2p"; }
# rm LINE -> real_ns - mono_ns of a "now" line
rm_of() { echo $(( $(field "$1" real_ns) - $(field "$1" mono_ns) )); }
abs() { if [ "$1" -lt 0 ]; then echo $(( -$1 )); else echo "$1"; fi; }
# near A B TOL -> |A - B| <= TOL (integers)
near() {
    d=$(abs $(( $1 - $2 )))
    [ "$d" -le "$3" ] || { echo "# |$1 - $2| = $d > $3" >&2; return 1; }
}
real_rm() { rm_of "$("$CTL" none now)"; }
# offset of the virtual clock in a "now" line produced under the shim
off_of() { echo $(( $(rm_of "$1") - BASE )); }
# drift between two "now" lines, in milli-ppm
drift_mppm() {
    dm=$(( $(field "$2" mono_ns) - $(field "$1" mono_ns) ))
    echo $(( ($(off_of "$2") - $(off_of "$1")) * 1000000000 / dm ))
}

for f in "$SHIM" "$CTL"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "not ok 1 - $f not built"; exit 1; }
done

START_RM=$(real_rm)
BASE=$START_RM

# 1: the safety net itself
eff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
check "runs without CAP_SYS_TIME" [ $(( (0x$eff >> 25) & 1 )) -eq 0 ]

# 2-3: FAKECLOCK_OFFSET, both signs, through clock_gettime
out=$(fake FAKECLOCK_OFFSET=1000.25 "$CTL" none now)
check "FAKECLOCK_OFFSET=1000.25 shifts CLOCK_REALTIME" \
    near "$(off_of "$out")" 1000250000000 2000000
out=$(fake FAKECLOCK_OFFSET=-86400 "$CTL" none now)
check "FAKECLOCK_OFFSET=-86400 shifts CLOCK_REALTIME" \
    near "$(off_of "$out")" -86400000000000 2000000

# 4: gettimeofday and time() agree with clock_gettime under the shim
r=$(field "$out" real_ns)
check "gettimeofday and time() see the same virtual clock" \
    eval 'near "$(field "$out" tod_us)" $((r / 1000)) 2000 &&
          near "$(field "$out" time_s)" $((r / 1000000000)) 1'

# 5: an unmodified program (date via libc) sees it too
d_fake=$(fake FAKECLOCK_OFFSET=-86400 date +%s)
d_real=$(date +%s)
check "date(1) under the shim is a day behind" near $((d_real - d_fake)) 86400 1

# 6: oscillator error
out=$(fake FAKECLOCK_FREQ_PPM=5000 "$CTL" none now wait 400 now)
m=$(drift_mppm "$(line "$out" 1)" "$(line "$out" 2)")
echo "# FAKECLOCK_FREQ_PPM=5000: measured $m milli-ppm"
check "FAKECLOCK_FREQ_PPM=5000 drifts at 5000 ppm" near "$m" 5000000 60000

# 7-8: the linux driver's frequency adds to the oscillator error
st=$TMP/freq.state
out=$(fake FAKECLOCK_FREQ_PPM=200 FAKECLOCK_STATE="$st" \
      "$CTL" linux init freq 300 now wait 400 now)
m=$(drift_mppm "$(line "$out" 1)" "$(line "$out" 2)")
echo "# osc 200 + freq 300: measured $m milli-ppm"
check "linux freq 300 (ADJ_FREQUENCY) on a 200 ppm oscillator drifts at 500 ppm" \
    near "$m" 500000 50000
s=$(cat "$st" 2>/dev/null)
echo "# state: $s"
check "state file: freq_ppm=300 rate_ppm=500 tick=10000" eval \
    '[ "$(field " $s" freq_ppm)" = 300.000000 ] &&
     [ "$(field " $s" rate_ppm)" = 500.000000 ] && [ "$(field " $s" tick)" = 10000 ]'

# 9-10: beyond ±500 ppm the driver moves tick as well
st=$TMP/tick.state
out=$(fake FAKECLOCK_FREQ_PPM=200 FAKECLOCK_STATE="$st" \
      "$CTL" linux init freq -20000 get now wait 400 now)
m=$(drift_mppm "$(line "$out" 1)" "$(line "$out" 2)")
echo "# osc 200 + freq -20000: measured $m milli-ppm"
check "linux freq -20000 (ADJ_TICK + ADJ_FREQUENCY) drifts at -19800 ppm" \
    near "$m" -19800000 200000
s=$(cat "$st" 2>/dev/null)
check "state file: tick=9800 freq_ppm=-20000, get reads it back" eval \
    '[ "$(field " $s" tick)" = 9800 ] && [ "$(field " $s" freq_ppm)" = -20000.000000 ] &&
     [ "$(field "$(line "$out" 1 get)" freq_ppm)" = -20000.000000 ]'

# 11: the state file's offset at exit is the virtual clock's error
exit_off=$(field " $s" offset_ns)
last_off=$(off_of "$(line "$out" 2)")
check "state file offset_ns at exit matches the measured offset" \
    near "$exit_off" "$last_off" 2000000

# 12-14: steps, forward and negative (ns normalisation), and bookkeeping
st=$TMP/step.state
out=$(fake FAKECLOCK_STATE="$st" "$CTL" linux init now step 1500000000 now \
      step -2250000000 now)
o1=$(off_of "$(line "$out" 1)"); o2=$(off_of "$(line "$out" 2)")
o3=$(off_of "$(line "$out" 3)")
check "step +1.5 s moves the virtual clock by 1.5 s" near $((o2 - o1)) 1500000000 1000000
check "step -2.25 s moves the virtual clock by -2.25 s" near $((o3 - o2)) -2250000000 1000000
s=$(cat "$st" 2>/dev/null)
check "state file: steps=2 last_step_ns=-2250000000" eval \
    '[ "$(field " $s" steps)" = 2 ] && [ "$(field " $s" last_step_ns)" = -2250000000 ]'

# 15: clock_settime through an unmodified program lands in the shim
st=$TMP/date.state
fake FAKECLOCK_STATE="$st" date -s @1000000000 >/dev/null 2>&1
s=$(cat "$st" 2>/dev/null)
want=$(( 1000000000000000000 - $(field "$("$CTL" none now)" real_ns) ))
check "date -s under the shim steps only the virtual clock" eval \
    '[ "$(field " $s" steps)" = 1 ] && near "$(field " $s" offset_ns)" "$want" 2000000000'

# 16-18: synchronisation status and TIME_ERROR
st=$TMP/sync.state
out=$(fake FAKECLOCK_STATE="$st" "$CTL" linux init timex sync timex unsync timex)
t1=$(line "$out" 1 timex); t2=$(line "$out" 2 timex); t3=$(line "$out" 3 timex)
check "after init: STA_UNSYNC set, PLL off, TIME_ERROR" eval \
    '[ $(( $(field "$t1" status) & 0x41 )) -eq 64 ] && [ "$(field "$t1" rc)" = 5 ]'
check "sync: STA_UNSYNC clear, TIME_OK, maxerror/esterror in µs" eval \
    '[ $(( $(field "$t2" status) & 0x40 )) -eq 0 ] && [ "$(field "$t2" rc)" = 0 ] &&
     [ "$(field "$t2" maxerror)" = 50000 ] && [ "$(field "$t2" esterror)" = 1000 ]'
check "unsync: STA_UNSYNC set again, TIME_ERROR" eval \
    '[ $(( $(field "$t3" status) & 0x40 )) -eq 64 ] && [ "$(field "$t3" rc)" = 5 ]'

# 19: an EPERM kernel (no CAP_SYS_TIME) surfaces as an error
if fake FAKECLOCK_EPERM=1 "$CTL" linux freq 1 >/dev/null 2>"$TMP/eperm"; then
    notok "FAKECLOCK_EPERM: driver reports the failure"
else
    check "FAKECLOCK_EPERM: driver reports the failure" \
        grep -q 'Operation not permitted' "$TMP/eperm"
fi

# 20: ADJ_TAI
out=$(fake "$CTL" linux tai 37 timex)
check "tai 37 reads back" [ "$(field "$(line "$out" 1 timex)" tai)" = 37 ]

# Place the virtual clock LEAD_NS before the next UTC midnight.
offset_before_midnight() {
    r=$(field "$("$CTL" none now)" real_ns)
    day=86400000000000
    mid=$(( (r / day + 1) * day ))
    o=$(( mid - $1 - r ))
    printf '%d.%09d\n' $((o / 1000000000)) $((o % 1000000000))
}
# second of the day of a virtual "now" line
sod() { echo $(( $(field "$1" real_ns) / 1000000000 % 86400 )); }

# 21-24: leap second insertion: 23:59:59 repeats, INS -> OOP -> WAIT.
# The shim places the clock 1.2 s before midnight as it starts, and the
# readings are judged by what each one shows, not by when it was taken:
# on a loaded machine a 300 ms wait may last much longer.
st=$TMP/leap.state
out=$(fake FAKECLOCK_BEFORE_MIDNIGHT=1.2 FAKECLOCK_STATE="$st" "$CTL" linux init sync \
      leap 1 get now wait 300 get now wait 300 get now wait 300 get now wait 300 get now \
      wait 300 get now wait 300 get now wait 300 get now wait 300 get now leap 0 get)
secs=""; states=""; back=0; prev=""
for k in 1 2 3 4 5 6 7 8 9; do
    l=$(line "$out" $k)
    secs="$secs $(sod "$l")"
    states="$states $(field "$(line "$out" $k get)" leap_state)"
    v=$(field "$l" real_ns)
    [ -n "$prev" ] && [ "$v" -lt "$prev" ] && back=$((back + 1))
    prev=$v
done
echo "# insert: seconds of day:$secs; states:$states; steps back: $back"
# judge SECS STATES: OOP (3) seen, and only ever at 23:59:59 (86399);
# INS (1) only before midnight; WAIT (4) only after it.
judge() { awk -v s="$1" -v t="$2" 'BEGIN { n = split(s, a, " "); split(t, b, " "); oop = 0
    for (i = 1; i <= n; i++) {
        if (b[i] == 3) { oop++; if (a[i] != 86399) exit 1 }
        if (b[i] == 1 && a[i] < 86398) exit 1
        if (b[i] == 4 && a[i] >= 10) exit 1 }
    exit !(oop > 0) }'; }
check "leap insert: 23:59:59 is read again after midnight" eval \
    'judge "$secs" "$states" && [ "$back" -le 1 ]'
check "leap insert: states TIME_INS, TIME_OOP, TIME_WAIT, in that order" eval \
    'echo "$states" | grep -Eq "^( 1)+( 3)+( 4)+$"'
check "leap insert: TIME_OK once the flag is cleared" \
    [ "$(field "$(line "$out" 10 get)" leap_state)" = 0 ]
s=$(cat "$st" 2>/dev/null)
check "leap insert: state file leaps=1 tai=1" eval \
    '[ "$(field " $s" leaps)" = 1 ] && [ "$(field " $s" tai)" = 1 ]'

# 25: leap second deletion: 23:59:59 never shows
out=$(fake FAKECLOCK_BEFORE_MIDNIGHT=1.6 "$CTL" linux init sync leap 2 now wait 300 now \
      wait 300 now wait 300 now wait 300 now wait 300 now get)
secs=""
for k in 1 2 3 4 5 6; do secs="$secs $(sod "$(line "$out" $k)")"; done
echo "# delete: seconds of day:$secs"
check "leap delete: 23:59:58 is followed by 00:00:00, state TIME_WAIT" eval \
    'echo "$secs" | grep -Eq "^( 86398)+( [0-9])+$" && [ "$(field "$(line "$out" 1 get)" leap_state)" = 4 ]'

# 26: and through all of this the machine's clock stayed where it was
END_RM=$(real_rm)
echo "# real - mono drifted by $((END_RM - START_RM)) ns"
check "the real CLOCK_REALTIME did not move" near "$END_RM" "$START_RM" 5000000

echo "1..$n"
