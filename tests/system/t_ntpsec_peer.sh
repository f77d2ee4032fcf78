#!/bin/sh
# chimed and ntpsec's ntpd with `peer` lines (issue 17), both directions.
#
# NTPsec has no symmetric mode: its ntp.conf(5) says of symmetric active
# packets "We don't support that mode", and its `peer` lines poll in mode 3
# like `server`. So what holds, and is checked here, is:
#   - ntpd -> chimed: ntpd's `peer` lines poll two chimed (one with a peer
#     line back, one without) and both answer;
#   - chimed -> ntpd: chimed's `peer ntpd` sends mode 1, of which NTPsec
#     makes nothing usable (what comes back says stratum 0, INIT, or fails
#     the origin test): chimed gets no sample from it and keeps following
#     its other source (chronyd), never that peer.
# (Symmetric exchanges with a daemon that has the mode are in t_peer.sh,
# chimed with chimed, and tests/clknetsim/scenarios/peers.cns.)
#
# ntpd only speaks from and to port 123 and serves only a clock it has
# synchronised, so it is set up as in t_ntpsec.sh: chronyd -x (`local
# stratum 1`) in namespace A on 10.123.0.1, ntpd in namespace B on
# 10.123.0.2 following it. Two chimed -x run in A, each on an address of
# its own on A's end of the veth, port 123:
#   P (10.123.0.3): `server 10.123.0.1` and `peer 10.123.0.2`;
#   Q (10.123.0.4): `local stratum 4`, no peer line, restrict without nopeer.
#
# ntpd keeps its clock discipline on (as in t_ntpsec.sh): without
# CAP_SYS_TIME its adjustments fail with EPERM and nothing moves. Nothing
# moves the machine's clock: chronyd has -x, chimed -x, none has
# CAP_SYS_TIME.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

if ! need_peers; then
    not_ok "reference peers unpacked"
    exit 1
fi
if [ -z "${NTPD:-}" ] || [ -z "${NTPQ:-}" ]; then
    skip "chimed peers with ntpsec's ntpd" "ntpsec's ntpd/ntpq are not available (peers.sh)"
    exit 0
fi

A_ADDR=10.123.0.1
B_ADDR=10.123.0.2
P_ADDR=10.123.0.3
Q_ADDR=10.123.0.4
NS_A=$(netns_name upstream)
NS_B=$(netns_name ntpd)
if ! netns_setup "$NS_A" || ! netns_setup "$NS_B" ||
    ! netns_veth "$NS_A" "$A_ADDR/24" "$NS_B" "$B_ADDR/24"; then
    not_ok "two namespaces joined by a veth pair"
    exit 1
fi
dev=$(ip -n "$NS_A" -o link show | sed -n 's/^[0-9]*: \(cv[^@:]*\).*/\1/p' | head -n 1)
if ! ip -n "$NS_A" addr add "$P_ADDR/24" dev "$dev" || ! ip -n "$NS_A" addr add "$Q_ADDR/24" dev "$dev"; then
    not_ok "two more addresses on A's end of the veth"
    exit 1
fi

if ! start_chronyd_server 123 "$NS_A" "$A_ADDR"; then
    not_ok "chronyd serves stratum 1 on $A_ADDR:123 in namespace A"
    exit 1
fi

# ---- chimed P and Q in A -------------------------------------------------------------
PD=$(tmpdir)
cat >"$PD/p.conf" <<CONF
port 123
interface listen $P_ADDR
server $A_ADDR minpoll 3 maxpoll 4 iburst
peer $B_ADDR minpoll 3 maxpoll 4 iburst
controlsocket $PD/p.sock
CONF
cat >"$PD/q.conf" <<CONF
port 123
interface listen $Q_ADDR
local stratum 4
restrict default kod limited nomodify noquery
controlsocket $PD/q.sock
CONF
if ! start_chimed "$PD/p.conf" "$NS_A"; then
    not_ok "chimed P starts on $P_ADDR:123"
    exit 1
fi
P_PID=$CHIMED_PID
P_LOG=$CHIMED_LOG
if ! start_chimed "$PD/q.conf" "$NS_A"; then
    not_ok "chimed Q starts on $Q_ADDR:123"
    exit 1
fi
Q_PID=$CHIMED_PID
Q_LOG=$CHIMED_LOG

# ---- ntpd in B -----------------------------------------------------------------------
ND=$(tmpdir)
cat >"$ND/ntp.conf" <<CONF
server $A_ADDR iburst minpoll 3 maxpoll 4
peer $P_ADDR minpoll 3 maxpoll 4
peer $Q_ADDR minpoll 3 maxpoll 4
statsdir $ND/
CONF
start_bg "$ND/ntpd.log" "$NS_B" "$NTPD" -n -d -c "$ND/ntp.conf"
NTPD_PID=$BG_PID

src_state() { chimectl_json "$1" sources | sed 's/},{/}\n{/g' | grep "\"address\":\"$2" |
    sed -n 's/.*"state":"\(.\)".*/\1/p'; }

# P follows chronyd (stratum 2) while its mode 1 packets to ntpd stay
# unanswered; bounded by count.
i=0
while [ $i -lt 120 ] && [ "$(src_state "$PD/p.sock" "$A_ADDR")" != "*" ]; do
    sleep 0.5; i=$((i + 1))
done
check '[ "$(src_state "$PD/p.sock" "$A_ADDR")" = "*" ]' "chimed P follows chronyd ('*')"
# ntpd's peer lines poll both (mode 3, every 8 s): both answer, bounded by count.
wait_counters "$P_PID" "$P_LOG" "replied=[1-9]" 60
ps_=$(grep '\[server\] received' "$P_LOG" | tail -n 1)
diag "P: $ps_"
check 'printf "%s\n" "$ps_" | grep -q "replied=[1-9]"' "P answered the polls of ntpd's peer line"
usr1_counters "$Q_PID" "$Q_LOG"
qs=$(grep '\[server\] received' "$Q_LOG" | tail -n 1)
diag "Q: $qs"
check 'printf "%s\n" "$qs" | grep -q "replied=[1-9]"' "Q answered ntpd's polls"
# By now P has sent ntpd a dozen mode 1 packets (poll 8 s): NTPsec answers none.
pj=$(chimectl_json "$PD/p.sock" sources | sed 's/},{/}\n{/g' | grep "\"address\":\"$B_ADDR")
diag "P's peer entry for ntpd: $pj"
check 'printf "%s\n" "$pj" | grep -q "\"reach\":0," && ! printf "%s\n" "$pj" | grep -q "\"state\":\"\*\""' \
    "NTPsec (no symmetric mode) gives P no usable sample: the peer stays unreachable, never selected"
check '[ "$(src_state "$PD/p.sock" "$A_ADDR")" = "*" ]' "P still follows chronyd"
stop_pid "$NTPD_PID"
stop_pid "$Q_PID"
stop_pid "$P_PID"
