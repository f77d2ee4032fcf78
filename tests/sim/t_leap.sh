#!/bin/sh
# Leap-second scenarios (issue 5) across 2016-12-31 23:59:60 UTC through
# the real core: for each leapsecmode, when the client's clock moves and
# how far it is from true UTC afterwards; the smearing server's stamps
# against the ideal smear; a bogus minority that must not arm.
# SPDX-License-Identifier: BSD-2-Clause
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${B:-build}
SIM="$B/chime-sim"
SC="$TOP/sim/scenarios"
n=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }
field() { printf '%s\n' "$1" | sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p" | head -n 1; }
holds() { awk "BEGIN { exit !($1) }"; }
LAST=""
run() { LAST="$SIM --short -j -s $2 $SC/$1.sim"; J=$($LAST 2>&1); }
check() {
    if holds "$1"; then ok "$2"; else not_ok "$2 [replay: $LAST]"; echo "# $J"; fi
}

for mode in system step; do
    run leap-$mode 1
    at=$(field "$J" leap_jump_at_s); by=$(field "$J" leap_jump_s)
    check "$(field "$J" leap_armed) == 1" "$mode: armed by the sources' vote"
    check "$by == -1" "$mode: the clock went back one second ($by)"
    # within the simulator's time step of the exact boundary (the client's
    # own clock error is tens of us)
    check "$at > -1e-3 && $at < 1e-3" "$mode: at the boundary ($at s)"
    check "$(field "$J" leap_max_err_s) < 1e-3" \
        "$mode: within 1 ms of true UTC after the leap (max $(field "$J" leap_max_err_s) s)"
    check "$(field "$J" leap_recover_s) <= 64" "$mode: back within one poll"
    check "$(field "$J" steps) == $([ $mode = step ] && echo 1 || echo 0)" "$mode: steps"
    check "$(field "$J" li_served_s) >= 40000" "$mode: LI served on the leap day"
done

# slew: documented as 1 s max error, removed at 83333 ppm in 12 s.
run leap-slew 1
check "$(field "$J" leap_max_err_s) <= 1.0001" "slew: max error $(field "$J" leap_max_err_s) s <= 1 s"
check "$(field "$J" leap_recover_s) >= 11 && $(field "$J" leap_recover_s) <= 13" \
    "slew: below 1 ms after $(field "$J" leap_recover_s) s (documented 12 s)"
check "$(field "$J" steps) == 0" "slew: no step"

# ignore: the sources correct it afterwards, by the discipline's slew
# (<= 500 ppm: at least 2000 s).
run leap-ignore 1
check "$(field "$J" leap_recover_s) >= 2000 && $(field "$J" leap_recover_s) <= 4000" \
    "ignore: corrected by the discipline after $(field "$J" leap_recover_s) s"

for s in smear smear-cosine; do
    run leap-$s 1
    check "$(field "$J" smear_samples) > 100000" "$s: served stamps compared ($(field "$J" smear_samples))"
    check "$(field "$J" smear_max_err_s) < 1e-3" \
        "$s: served time within 1 ms of the ideal smear (max $(field "$J" smear_max_err_s) s)"
    check "$(field "$J" smear_li) == 0 && $(field "$J" li_served_s) == 0" "$s: no LI served"
done

run leap-bogus-minority 1
check "$(field "$J" leap_armed) == 0" "bogus minority: one of three announcing LI does not arm"
check "$(field "$J" li_served_s) == 0" "bogus minority: no LI served"

echo "1..$n"
