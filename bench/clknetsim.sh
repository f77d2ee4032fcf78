#!/bin/sh
# make bench-clknetsim: the LAN and WAN scenarios of tests/clknetsim for a
# simulated day (hours 1-24 judged), seeds 1-3, with the real chimed and
# with chronyd 4.3 as the client of the same chronyd server in clknetsim,
# next to chime-sim's figures for the same scenarios (sim/scenarios/). Each
# row gives packets per day beside its accuracy. The table also lands in
# $B/bench/clknetsim.txt.
# SPDX-License-Identifier: BSD-2-Clause
set -u
B=${B:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP B
case $B in /*) ;; *) B="$TOP/$B" ;; esac
. "$TOP/tests/clknetsim/lib.sh"
SEEDS=${SEEDS:-"1 2 3"}
OUT="$B/bench/clknetsim.txt"
mkdir -p "$B/bench"
cns_prepare || { echo "bench-clknetsim: $CNS_WHY" >&2; exit 1; }
export CNS_SECONDS=86400

# mean over the seeds of rms, max and packets_day, in us and per day
cns_row() {
    scen=$1; client=$2; acc=""
    for s in $SEEDS; do
        d="$B/bench/clknetsim-$scen-$client-$s"
        CNS_CLIENT=$client cns_run "$TOP/tests/clknetsim/scenarios/$scen.cns" "$d" "$s" ||
            { echo "bench-clknetsim: $scen/$client seed $s failed (see $d)" >&2; return 1; }
        acc="$acc $(cns_metric "$d" rms) $(cns_metric "$d" max) $(cns_metric "$d" packets_day)"
    done
    echo "$acc" | awk -v l="$scen" -v c="$client (clknetsim)" '{
        for (i = 1; i <= NF; i += 3) { r += $i; m += $(i + 1); p += $(i + 2); n++ }
        printf "%-5s %-22s %9.1f %9.1f %8.0f\n", l, c, r / n * 1e6, m / n * 1e6, p / n }'
}

field() { printf '%s\n' "$1" | sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p" | head -n 1; }

sim_row() {
    scen=$1; acc=""
    for s in $SEEDS; do
        j=$("$B/chime-sim" -j -s "$s" "$TOP/sim/scenarios/$scen.sim") || return 1
        acc="$acc $(field "$j" rms_offset_s) $(field "$j" max_offset_s) $(field "$j" packets_sent)"
    done
    echo "$acc" | awk -v l="$scen" '{
        for (i = 1; i <= NF; i += 3) { r += $i; m += $(i + 1); p += $(i + 2); n++ }
        printf "%-5s %-22s %9.1f %9.1f %8.0f\n", l, "chimed (chime-sim)", r / n * 1e6, m / n * 1e6, p / n }'
}

{
    echo "clknetsim: 24 h, hours 1-24 judged, mean of seeds $SEEDS; one chronyd 4.3 server"
    printf "%-5s %-22s %9s %9s %8s\n" scen client "RMS us" "max us" "pkts/day"
    for scen in lan wan; do
        cns_row "$scen" chimed
        cns_row "$scen" chronyd
        sim_row "$scen"
    done
} | tee "$OUT"
echo "written to $OUT"
