#!/bin/sh
# The test tooling itself, against chronyd as the reference server:
# ntpprobe, ntpjunk, loadgen, chronyd -Q, and ntpdig inside a namespace.
# If the reference peers cannot be had (no package registry), everything
# here is skipped rather than failed.
#
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

PORT=11193

if ! need_peers >/dev/null 2>&1; then
    skip "reference peers" "chrony/ntpdig could not be fetched"
    exit 0
fi
ok "reference peers unpacked"

if start_chronyd_server $PORT; then
    ok "chronyd serves on 127.0.0.1 port $PORT"
else
    not_ok "chronyd serves on 127.0.0.1 port $PORT"
    exit 1
fi
check '[ "$CHRONYD_PID" = "$(cat "$CHRONYD_DIR/chronyd.pid")" ]' "CHRONYD_PID is chronyd itself"
capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$CHRONYD_PID/status")
check '[ $(( (0x$capeff >> 25) & 1 )) -eq 0 ]' "chronyd runs without CAP_SYS_TIME (CapEff $capeff)"

out=$("$B/ntpprobe" -c 3 127.0.0.1 $PORT); rc=$?
check '[ $rc -eq 0 ] && [ $(printf "%s\n" "$out" | grep -c "stratum=1 .* len=48") -eq 3 ]' \
    "ntpprobe: 3 valid stratum 1 replies over IPv4"
diag "$out"
check '"$B/ntpprobe" -6 -j ::1 $PORT | grep -q "\"stratum\":1"' "ntpprobe -6 -j"
check '! "$B/ntpprobe" -t 200 127.0.0.1 $((PORT + 1)) 2>/dev/null' "ntpprobe fails with no server"

off=$(chronyd_query $PORT)
check '[ -n "$off" ]' "chronyd -Q measures the server (offset $off s)"

out=$("$B/ntpjunk" 127.0.0.1 $PORT 3000 42); rc=$?
check '[ $rc -eq 0 ]' "ntpjunk: no amplification, good requests answered ($out)"
check '! "$B/ntpjunk" 192.0.2.1 123 1 1 2>/dev/null' "ntpjunk refuses a non-loopback target"

out=$("$B/loadgen" -d 1 ::1 $PORT); rc=$?
check '[ $rc -eq 0 ]' "loadgen against chronyd ($out)"
check '! "$B/loadgen" -d 1 192.0.2.1 123 2>/dev/null' "loadgen refuses a non-loopback target"

ns=$(netns_name dig)
if netns_setup "$ns" && start_chronyd_server 123 "$ns"; then
    ok "chronyd on port 123 in namespace $ns"
    j=$(ntpdig_query 127.0.0.1 "$ns")
    check '[ "$(json_field "$j" stratum)" = 1 ]' "ntpdig in the namespace: stratum 1"
    diag "$j"
    j=$(ntpdig_query ::1 "$ns")
    check '[ "$(json_field "$j" stratum)" = 1 ]' "ntpdig over ::1"
else
    not_ok "chronyd on port 123 in namespace $ns"
fi
