#!/bin/sh
# Configuration reload (SIGHUP and `chimectl reload`): a changed server
# list is picked up (the old source dropped, the new one polled and
# selected), a broken config is refused with FILE:LINE while chimed keeps
# its sources, `chimectl reload` reports both outcomes, and a new restrict
# rule is in force after the reload. chimed runs with -x on loopback
# against two fakeservers (127.0.0.11 and 127.0.0.12).
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

PORT=11571      # chimed
APORT=11572     # server A
BPORT=11573     # server B
D=$(tmpdir)
S=$D/chimed.sock
start_bg "$D/a.log" - "$B/fakeserver" -p $APORT -a 127.0.0.11 -s 1 -d 120
start_bg "$D/b.log" - "$B/fakeserver" -p $BPORT -a 127.0.0.12 -s 1 -d 120
conf() { # conf SERVER-LINES [EXTRA-LINES]
    cat >"$D/c.conf.new" <<CONF
port $PORT
interface listen 127.0.0.1
controlsocket $S
tos minclock 1 minsane 1
restrict default
$1
${2:-}
CONF
    mv "$D/c.conf.new" "$D/c.conf"
}
A="server 127.0.0.11 port $APORT iburst minpoll 3 maxpoll 4"
Bl="server 127.0.0.12 port $BPORT iburst minpoll 3 maxpoll 4"
conf "$A"
if ! wait_ntp 127.0.0.11 $APORT 5 || ! wait_ntp 127.0.0.12 $BPORT 5; then
    not_ok "fakeservers answer"
    exit 1
fi
if ! start_chimed "$D/c.conf"; then
    not_ok "chimed starts"
    exit 1
fi
ctl() { "$B/chimectl" -s "$S" "$@"; }
# wait_for SECONDS CMD: retry CMD every 0.2 s
wait_for() {
    _end=$(( $(date +%s) + $1 ))
    shift
    while [ "$(date +%s)" -le "$_end" ]; do
        eval "$1" && return 0
        sleep 0.2
    done
    return 1
}
srcs() { ctl -j sources 2>/dev/null; }
has() { srcs | grep -q "\"name\":\"$1\""; }
pool_member() { srcs | grep -q "\"name\":\"$1[:\"][^}]*\"pool\":true"; }
selected() { srcs | grep -q "\"name\":\"$1\",\"state\":\"\\*\""; }

check 'wait_for 15 "selected 127.0.0.11"' "server A selected before the reload"
diag "$(srcs)"

# 1. SIGHUP with server B only
conf "$Bl"
kill -HUP "$CHIMED_PID"
check 'wait_for 5 "has 127.0.0.12 && ! has 127.0.0.11"' \
    "SIGHUP reload picks up a changed server list (B listed, A gone)"
check 'wait_for 15 "selected 127.0.0.12"' "server B gets selected"
diag "$(srcs)"
check 'grep -q "reload: 0 sources kept, 1 added, 1 removed; restrict rules: 1" "$CHIMED_LOG"' \
    "the summary line is logged"

# 2. a broken config + SIGHUP: logged with file:line, old sources kept
conf "$A" "server 127.0.0.13 bogusoption"
kill -HUP "$CHIMED_PID"
check 'wait_for 3 "grep -q \"reload failed: $D/c.conf:7: \" \"$CHIMED_LOG\""' \
    "a broken config is refused with FILE:LINE in the log"
grep 'reload failed' "$CHIMED_LOG" | diag_file /dev/stdin
sleep 1
check 'alive "$CHIMED_PID" && has 127.0.0.12 && ! has 127.0.0.11 && selected 127.0.0.12' \
    "chimed keeps running with the previous sources"

# 3. chimectl reload: the error and exit status 1 for the broken file ...
ctl reload >"$D/r1.out" 2>"$D/r1.err"
rc=$?
diag_file "$D/r1.err"
check '[ $rc -eq 1 ] && grep -q "reload failed: $D/c.conf:7: " "$D/r1.err"' \
    "chimectl reload of a broken file: the error text and exit status 1 (rc=$rc)"

# 4. ... and the summary for a good one; B kept with its state, A back;
# a restrict rule ignoring 127.0.0.2 takes effect.
check '"$B/ntpprobe" -a -t 500 -b 127.0.0.2 127.0.0.1 $PORT >/dev/null 2>&1' \
    "before the reload 127.0.0.2 is served"
reach_before=$(srcs | sed -n 's/.*"name":"127.0.0.12"[^}]*"reach":\([0-9]*\).*/\1/p')
conf "$Bl
$A" "restrict 127.0.0.2 ignore"
ctl reload >"$D/r2.out" 2>"$D/r2.err"
rc=$?
diag_file "$D/r2.out"
check '[ $rc -eq 0 ] && grep -q "^reload: 1 sources kept, 1 added, 0 removed; restrict rules: 2" "$D/r2.out"' \
    "chimectl reload of a good file: the summary, exit status 0 (rc=$rc)"
reach_after=$(srcs | sed -n 's/.*"name":"127.0.0.12"[^}]*"reach":\([0-9]*\).*/\1/p')
check '[ -n "$reach_before" ] && [ "${reach_after:-0}" -ge "$reach_before" ] && [ "$reach_after" -gt 0 ]' \
    "the kept source keeps its state (reach $reach_before -> $reach_after)"
check '! "$B/ntpprobe" -a -t 500 -b 127.0.0.2 127.0.0.1 $PORT >/dev/null 2>&1' \
    "after the reload 127.0.0.2 gets no answer (restrict ... ignore)"
check '"$B/ntpprobe" -a -t 500 -b 127.0.0.3 127.0.0.1 $PORT >/dev/null 2>&1' \
    "127.0.0.3 is still served"
check 'wait_for 5 "has 127.0.0.11 && has 127.0.0.12"' "both sources listed"
check 'wait_for 20 "selected 127.0.0.11 || selected 127.0.0.12"' "a source is selected after the reload"
diag "$(srcs)"
ctl -j reload >"$D/r3.out" 2>&1
check 'grep -q "^{\"reloaded\":true,\"kept\":2,\"added\":0,\"removed\":0,\"restrict_rules\":2}" "$D/r3.out"' \
    "chimectl -j reload: JSON counts"
diag_file "$D/r3.out"

# 5. restart-only settings are reported, not applied
conf "$Bl
$A" "restrict 127.0.0.2 ignore
driftfile $D/drift"
kill -HUP "$CHIMED_PID"
check 'wait_for 3 "grep -q \"driftfile changed: restart chimed to apply\" \"$CHIMED_LOG\""' \
    "a restart-only setting (driftfile) is logged, not applied"
check 'alive "$CHIMED_PID" && "$B/ntpprobe" -a -t 500 127.0.0.1 $PORT >/dev/null' "chimed still serves"

# 6. pools: added, then removed with their members
P="pool 127.0.0.11 port $APORT iburst minpoll 3 maxpoll 4"
conf "$Bl
$P"
ctl reload >"$D/r4.out" 2>&1
diag_file "$D/r4.out"
check 'grep -q "^reload: 1 sources kept, 1 added, 1 removed" "$D/r4.out"' "a pool line added, server A removed"
check 'wait_for 5 "pool_member 127.0.0.11"' \
    "the pool's member is polled"
conf "$Bl"
ctl reload >"$D/r5.out" 2>&1
diag_file "$D/r5.out"
check 'grep -q "^reload: 1 sources kept, 0 added, 1 removed" "$D/r5.out" && ! srcs | grep -q 127.0.0.11 && has 127.0.0.12' \
    "the pool removed: its member is gone"
stop_pid "$CHIMED_PID"
check '! grep -q "ERROR: AddressSanitizer\|LeakSanitizer" "$CHIMED_LOG"' "no sanitizer reports"
