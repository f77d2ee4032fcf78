#!/bin/sh
# Simulator scenario assertions: the short version (--short) of each
# scenario in sim/scenarios/, run with a fixed seed through the real core,
# with numeric bounds near 1.5x what the current discipline achieves, so a
# regression in accuracy fails here. Every failure prints the command that
# replays it. Bounds were measured with seed 1 (docs/simulator.md); the
# outage bound is wider than 1.5x because seed 1's short run is an unlucky
# draw for it (seeds 1-6: 42-79 us, 68 us mean).
# SPDX-License-Identifier: BSD-2-Clause
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${B:-build}
SIM="$B/chime-sim"
SC="$TOP/sim/scenarios"
n=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }

# field JSON KEY: a top-level number from chime-sim -j
field() { printf '%s\n' "$1" | sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p" | head -n 1; }
# sfield JSON SERVER KEY: a number from one server's object
sfield() {
    printf '%s\n' "$1" | sed -n "s/.*{\"name\":\"$2\",\([^}]*\)}.*/\1/p" |
        sed -n "s/.*\"$3\":\([-0-9.e+]*\).*/\1/p"
}
# holds EXPR: awk arithmetic on the numbers, e.g. holds "$rms <= 22e-6"
holds() { awk "BEGIN { exit !($1) }"; }

LAST=""
run() {
    scen=$1; seed=$2
    LAST="$SIM --short -j -s $seed $SC/$scen.sim"
    J=$($LAST 2>&1)
}

check() {
    if holds "$1"; then ok "$2"; else not_ok "$2 [replay: $LAST]"; echo "# $J"; fi
}

# LAN: RMS and max of the true error, and converged below 1 ms early. At
# a fixed 64 s poll (lan-poll6.sim), the rate these bounds were set at;
# the default adaptive poll is bounded in lan.sim's own expect lines.
run lan-poll6 1
check "$(field "$J" rms_offset_s) <= 7e-6" "lan: rms $(field "$J" rms_offset_s) s <= 7 us"
check "$(field "$J" max_offset_s) <= 20e-6" "lan: max $(field "$J" max_offset_s) s <= 20 us"
c=$(field "$J" converge_s)
check "$c >= 0 && $c <= 800" "lan: below 1 ms from $c s on (<= 800 s)"

run wan-poll6 1
check "$(field "$J" rms_offset_s) <= 130e-6" "wan: rms $(field "$J" rms_offset_s) s <= 130 us"
check "$(field "$J" max_offset_s) <= 300e-6" "wan: max $(field "$J" max_offset_s) s <= 300 us"
run wan-poll6 2
check "$(field "$J" rms_offset_s) <= 100e-6" "wan seed 2: rms $(field "$J" rms_offset_s) s <= 100 us"

run cold-start 1
c=$(field "$J" converge_s)
check "$c >= 0 && $c <= 10" "cold start: below 1 ms from $c s on (<= 10 s)"
check "$(field "$J" steps) == 1" "cold start: exactly one step ($(field "$J" steps))"
check "$(field "$J" rms_offset_s) <= 7e-6" "cold start: rms $(field "$J" rms_offset_s) s <= 7 us"

for seed in 1 2; do
    run four-servers-one-falseticker $seed
    check "$(sfield "$J" D survivor) == 0 && $(sfield "$J" D falseticker) >= 0.99" \
        "falseticker seed $seed: D rejected ($(sfield "$J" D falseticker) of the window)"
    check "$(field "$J" rms_offset_s) <= 75e-6" \
        "falseticker seed $seed: rms $(field "$J" rms_offset_s) s <= 75 us"
done

# Issue 13: the default adaptive poll on issue 4's LAN and WAN, a day,
# mean of seeds 1-3, requests per day beside the RMS (chrony 4.3 in
# clknetsim: LAN 26.7 us at 286/day, WAN 511 us at 110/day; the issue's
# targets 13 us at <= 290 and 255 us at <= 110). Measured: LAN 12.4 us at
# 259/day, WAN 286 us at 101/day (seeds 1-6: 271 us; the WAN target is
# not reached yet).
mean_day() {
    scen=$1; rms=0; pk=0
    for seed in 1 2 3; do
        LAST="$SIM -j -s $seed $SC/$scen.sim"
        J=$($LAST 2>&1)
        rms=$(awk "BEGIN { print $rms + $(field "$J" rms_offset_s) / 3 }")
        pk=$(awk "BEGIN { print $pk + $(field "$J" packets_sent) / 3 }")
    done
}
mean_day lan
check "$rms <= 13e-6" "lan, adaptive poll: rms $rms s <= 13 us (mean of seeds 1-3)"
check "$pk <= 290" "lan, adaptive poll: $pk requests a day <= 290"
mean_day wan
check "$rms <= 300e-6" "wan, adaptive poll: rms $rms s <= 300 us (mean of seeds 1-3)"
check "$pk <= 110" "wan, adaptive poll: $pk requests a day <= 110"

# Fast correction (issue 13 item 3): the LAN's 10 ms start offset is
# below 1 ms within 5 s and stays there, without a step (a fast slew
# through the driver's tick range; at 500 ppm and tau = 4 x 64 s it took
# ~520 s in clknetsim, 64-318 s here).
for seed in 1 2 3; do
    LAST="$SIM -d 2h -j -s $seed $SC/lan.sim"
    J=$($LAST 2>&1)
    c=$(field "$J" converge_s)
    check "$c >= 0 && $c <= 5 && $(field "$J" steps) == 0" \
        "lan seed $seed: 10 ms start offset below 1 ms from $c s on (<= 5 s), $(field "$J" steps) steps"
done

# A 5 ppm frequency jump on the LAN (issue 13 item 4), seeds 1-20: how
# soon the clock is back within 200 us depends on where the jump falls in
# a 256-1024 s poll, so one seed says little; the mean says whether the
# change is seen at the first sample after it. A short window's chance
# jitter (5 samples at a long poll) once let the jump into the fit: mean
# 804 s, worst 2.22 ms (268 requests a day); with the short fit judged
# against the source's long-run jitter and error ratio (source.c
# change_side_of()): 397 s, 1.79 ms (271 a day).
rec=0; mx=0
for seed in $(seq 1 20); do
    LAST="$SIM -j -s $seed $SC/lan-freq-jump.sim"
    J=$($LAST 2>&1)
    rec=$(awk "BEGIN { print $rec + $(field "$J" jump_recover_s) / 20 }")
    mx=$(awk "BEGIN { print $mx + $(field "$J" max_offset_s) / 20 }")
done
check "$rec <= 500" "lan 5 ppm jump: back within 200 us after $rec s (mean of seeds 1-20, <= 500)"
check "$mx <= 2e-3" "lan 5 ppm jump: worst error $mx s (mean of seeds 1-20, <= 2 ms)"

# A fixed 1024 s poll (issue 13): LAN no worse than chrony at the same
# poll (68 us); WAN 2.4 ms RMS while an iburst slope was taken as exact,
# 0.79 ms then, 0.27 ms with the fast correction of the start offset
# (chrony 0.55 ms).
mean_day lan-poll10
check "$rms <= 68e-6" "lan at poll 10: rms $rms s <= 68 us (mean of seeds 1-3)"
mean_day wan-poll10
check "$rms <= 551e-6" "wan at poll 10: rms $rms s <= 551 us, chrony's (mean of seeds 1-3)"

# Three servers, C 20 ms off on the 10 ms WAN (issue 13 item 5): its
# interval touches the others', so only the agreement test keeps it out;
# accuracy within 2x of the one-good-server WAN run of the same seed.
for seed in 1 2; do
    run wan $seed
    one=$(field "$J" rms_offset_s)
    run three-servers-one-off $seed
    check "$(sfield "$J" C survivor) == 0" \
        "one of three 20 ms off, seed $seed: C never combined ($(sfield "$J" C survivor) of the window)"
    check "$(field "$J" rms_offset_s) <= 2 * $one" \
        "one of three 20 ms off, seed $seed: rms $(field "$J" rms_offset_s) s <= 2 x one good server ($one s)"
done

run five-servers-two-falsetickers 1
check "$(sfield "$J" D survivor) == 0 && $(sfield "$J" E survivor) == 0" \
    "two falsetickers: D and E never survive"
check "$(field "$J" rms_offset_s) <= 65e-6" "two falsetickers: rms $(field "$J" rms_offset_s) s <= 65 us"

run asym-wan 1
m=$(field "$J" mean_offset_s)
check "$m >= 0.9e-3 && $m <= 1.15e-3" "asymmetric WAN: mean error $m s is half the 2 ms asymmetry"

run jittery-wan 1
check "$(field "$J" rms_offset_s) <= 450e-6" "jittery WAN: rms $(field "$J" rms_offset_s) s <= 450 us"

run loss-20 1
check "$(field "$J" rms_offset_s) <= 105e-6" "loss 20%: rms $(field "$J" rms_offset_s) s <= 105 us"
run loss-50 1
check "$(field "$J" rms_offset_s) <= 300e-6" "loss 50%: rms $(field "$J" rms_offset_s) s <= 300 us"

run outage-return 1
check "$(field "$J" rms_offset_s) <= 110e-6" "outage: rms $(field "$J" rms_offset_s) s <= 110 us"
check "$(sfield "$J" A survivor) >= 0.15" "outage: A is taken back ($(sfield "$J" A survivor) of the window)"
# A returns at 6 h; its first fresh windows' slope is fused with the
# frequency known before the gap (source.c: apply_freq_prior). Seed 2's
# worst error, just after the return, was 269 us without it; now 194.
LAST="$SIM -d 7h -j -s 2 $SC/outage-return.sim"
J=$($LAST 2>&1)
check "$(field "$J" max_offset_s) <= 230e-6" "outage seed 2: max $(field "$J" max_offset_s) s <= 230 us by 7 h (A back at 6 h)"

for s in server-step-1s server-step-1h; do
    run $s 1
    check "$(field "$J" rms_offset_s) <= 6e-6 && $(field "$J" steps) == 0" \
        "$s: not followed (rms $(field "$J" rms_offset_s) s, $(field "$J" steps) steps)"
    check "$(sfield "$J" C falseticker) >= 0.45" "$s: C a falseticker after its step"
done

run temperature-1ppm-daily 1
check "$(field "$J" rms_offset_s) <= 12e-6" "temperature: rms $(field "$J" rms_offset_s) s <= 12 us"

run network-down-most-of-day 1
check "$(field "$J" max_offset_s) <= 1.6e-3" "network down: max $(field "$J" max_offset_s) s <= 1.6 ms"
# The link returns at 8 h after 6 h down (hold error ~1.9 ms for seed 1):
# the clock must be back below 1 ms within ~1000 s. It took 1413 s while
# the first reply after the back-off left the next poll ~1024 s away;
# now 494 s.
LAST="$SIM -d 9h -j -s 1 $SC/network-down-most-of-day.sim"
J=$($LAST 2>&1)
c=$(field "$J" converge_s)
check "$c >= 28800 && $c <= 29800" "network down: below 1 ms again $c s (<= 29800 s, link back at 28800 s)"

# Determinism: a seed replays a run exactly; another seed differs.
strip() { printf '%s\n' "$1" | sed 's/"cpu_s":[0-9.]*,//'; }
a=$($SIM --short -j -s 7 "$SC/wan.sim"); b=$($SIM --short -j -s 7 "$SC/wan.sim")
c=$($SIM --short -j -s 8 "$SC/wan.sim")
check "$([ "$(strip "$a")" = "$(strip "$b")" ] && echo 1 || echo 0) == 1" "same seed, same run"
check "$([ "$(strip "$a")" != "$(strip "$c")" ] && echo 1 || echo 0) == 1" "another seed, another run"

# Speed: a simulated day of one client and four servers under 2 s CPU.
J=$($SIM -j -s 1 "$SC/four-servers-one-falseticker.sim"); LAST="$SIM -j -s 1 four-servers-one-falseticker"
check "$(field "$J" cpu_s) < 2" "a day with four servers in $(field "$J" cpu_s) s of CPU"

# Scenario errors name the file and the line.
T=$(mktemp -d)
printf 'duration 1h\nserver A\nserver B offset fast\n' >"$T/bad.sim"
err=$($SIM "$T/bad.sim" 2>&1); rc=$?
check "$rc == 2" "a bad scenario exits 2"
case $err in
*"$T/bad.sim:3: bad time 'fast'"*) ok "error names file:line ($err)" ;;
*) not_ok "error names file:line ($err)" ;;
esac
printf 'server A\noutage Z 1h-2h\n' >"$T/bad2.sim"
err=$($SIM "$T/bad2.sim" 2>&1)
case $err in
*"bad2.sim:2: unknown server 'Z'"*) ok "unknown server named ($err)" ;;
*) not_ok "unknown server named ($err)" ;;
esac
rm -rf "$T"
echo "1..$n"
