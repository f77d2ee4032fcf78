#!/bin/sh
# The real chimed under clknetsim against chronyd servers: each scenario in
# scenarios/*.cns is run once (seed 1) and its expect lines are checked.
# Skipped, and counted as skipped, when clknetsim or chronyd is missing.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/../system/lib.sh"
. "$TOP/tests/clknetsim/lib.sh"

if ! cns_prepare; then
    skip "clknetsim scenarios" "$CNS_WHY"
    exit 0
fi
[ -z "${CHIME_ASAN:-}" ] || export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
out="$B/clknetsim-runs"
for f in "${CNS_SCENARIOS:-$TOP/tests/clknetsim/scenarios/*.cns}"; do
    for f in $f; do
        name=$(basename "$f" .cns)
        d="$out/$name"
        if ! cns_run "$f" "$d" 1; then
            not_ok "$name: the simulation ran" "$(tail -n 5 "$d/log" 2>/dev/null)" \
                "$(tail -n 5 "$d"/log.[0-9]* 2>/dev/null)"
            continue
        fi
        diag "$name: rms $(cns_show "$(cns_metric "$d" rms)" rms)," \
            "max $(cns_show "$(cns_metric "$d" max)" max)," \
            "$(cns_metric "$d" packets_day) packets/day"
        while read -r metric op bound; do
            v=$(cns_value "$d" "$metric")
            case $metric in packets_day* | leaders*) b=$bound ;; *) b=$(cns_seconds "$bound") ;; esac
            if cns_holds "$v" "$op" "$b"; then
                ok "$name: $metric $(cns_show "$v" "$metric") $op $bound"
            else
                not_ok "$name: $metric $(cns_show "$v" "$metric") $op $bound" \
                    "$(tail -n 5 "$d"/log.[0-9]* 2>/dev/null)"
            fi
        done <<EOT
$(cns_expects "$f")
EOT
        while read -r n text; do
            [ -n "$n" ] || continue
            if grep -qF -- "$text" "$d/log.$n"; then
                ok "$name: node $n logged '$text'"
            else
                not_ok "$name: node $n logged '$text'" "$(tail -n 8 "$d/log.$n")"
            fi
        done <<EOT
$(cns_logs "$f")
EOT
    done
done
