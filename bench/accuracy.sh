#!/bin/sh
# make bench-accuracy: issue 4's standard scenarios, 24 h each with 3
# seeds, through chime-sim; the mean over the seeds is compared with the
# figures chrony 4.3 and NTPsec reached on the same scenarios in a
# syscall-level simulator (quoted from issues 4 and 13), with the
# requests per server per day beside each: chime's default polling
# adapts, so its packets are chrony's budget or fewer (issue 13). Writes
# the table to $B/bench/accuracy.txt as well.
# SPDX-License-Identifier: BSD-2-Clause
set -eu
B=${B:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
SIM="$B/chime-sim"
OUT="$B/bench/accuracy.txt"
SEEDS="1 2 3"
mkdir -p "$B/bench"

field() { printf '%s\n' "$1" | sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p" | head -n 1; }

# scenario file, label, chrony figure, NTPsec figure, target
row() {
    f=$1; label=$2; chrony=$3; ntpsec=$4; target=$5
    nsrv=$(grep -c '^server ' "$TOP/sim/scenarios/$f.sim")
    rms=0; max=0; conv=0; cpu=0; pk=0; per=""
    for s in $SEEDS; do
        j=$("$SIM" -j -s "$s" "$TOP/sim/scenarios/$f.sim")
        r=$(field "$j" rms_offset_s); m=$(field "$j" max_offset_s)
        c=$(field "$j" converge_s); u=$(field "$j" cpu_s); p=$(field "$j" packets_sent)
        per="$per $(awk "BEGIN { printf \"%.1f\", $r * 1e6 }")"
        rms=$(awk "BEGIN { print $rms + $r / 3 }"); max=$(awk "BEGIN { print $max + $m / 3 }")
        conv=$(awk "BEGIN { print ($c < 0 || $conv < 0) ? -1 : ($c > $conv ? $c : $conv) }")
        d=$(field "$j" duration_s)
        cpu=$(awk "BEGIN { print $cpu + $u / 3 }")
        pk=$(awk "BEGIN { print $pk + $p / $nsrv / ($d / 86400) / 3 }")
    done
    awk -v l="$label" -v r="$rms" -v m="$max" -v c="$conv" -v ch="$chrony" -v nt="$ntpsec" \
        -v t="$target" -v per="$per" -v u="$cpu" -v p="$pk" 'BEGIN {
        printf "%-14s %9.1f %10.1f %8s %8.0f %7.3f  %-14s %-16s %-10s %s\n", l, r * 1e6, m * 1e6,
            c < 0 ? "never" : sprintf("%d s", c), p, u, t, ch, nt, per }'
}

{
    echo "chime-sim accuracy: 24 h, statistics over hours 1-24, mean of seeds $SEEDS"
    echo "(converge: worst seed; RMS/max in us; req/day: requests per server per day;"
    echo " chrony 4.3 at its own default polling, from clknetsim; per-seed RMS at the end)"
    echo
    printf "%-14s %9s %10s %8s %8s %7s  %-14s %-16s %-10s %s\n" scenario "RMS us" "max us" \
        converge req/day "cpu s" target chrony-4.3 NTPsec "per-seed RMS"
    row lan LAN "26.7us@286/d" "250 us" "13us@290/d"
    row wan WAN "511us@110/d" "531 us" "255us@110/d"
    row lan-poll6 "LAN poll 6" "-" "-" "-"
    row wan-poll6 "WAN poll 6" "-" "-" "-"
    row lan-poll10 "LAN poll 10" "68us@84/d" "-" "<= chrony"
    row wan-poll10 "WAN poll 10" "551us@84/d" "-" "<= chrony"
    row three-servers-one-off "3 srv, 1 off" "-" "-" "2x WAN"
    row four-servers-one-falseticker "falseticker" "-" "-" "as WAN"
    row cold-start "cold start" "11 s" "396 s" "< 1 ms in 10 s"
} | tee "$OUT"
echo "written to $OUT"
