#!/bin/sh
# chimed as a client of ntpsec's ntpd (issue 3).
#
# ntpd only speaks on port 123 and will not serve a clock it has not
# synchronised (NTPsec 1.2.2 never selects `refclock local`: INIT kisses,
# stratum 0, LI 3), so it gets a real upstream over a veth pair between
# two namespaces of our own:
#
#   namespace A: chronyd -x, `local stratum 1`, on 10.123.0.1 port 123
#   namespace B: ntpd, `server 10.123.0.1 iburst minpoll 3 maxpoll 4`,
#                on every address of B, port 123;
#                chimed on the fake kernel clock (0.2 s off, +50 ppm, with
#                clock control, so it really disciplines), `server
#                127.0.0.1`, serving on port 11399.
#
# ntpd keeps its clock discipline enabled (no `disable ntp`): without
# CAP_SYS_TIME its ntp_adjtime/adjtime calls fail (EPERM, logged) and
# nothing moves, but it still selects chronyd and its first clock update
# sets stratum 2 and clears the leap bits, so it serves, about 7 s after
# start. Its offset to chronyd is ~0 (one machine clock), so it never
# tries to step.
#
# Nothing moves the machine's clock: chronyd has -x, every daemon runs
# without CAP_SYS_TIME, chimed disciplines the fake clock only.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

if ! need_peers; then
    not_ok "reference peers unpacked"
    exit 1
fi
if [ -z "${NTPD:-}" ]; then
    skip "chimed syncs to ntpsec's ntpd" "ntpsec's ntpd is not available (peers.sh)"
    exit 0
fi

T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }
# since T: seconds (0.1 s) from a `date +%s.%N` reading T to now.
since() { awk -v t="$1" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", n - t }'; }
src_state() { chimectl_json "$1" sources | sed 's/},{/}\n{/g' | grep "\"address\":\"$2" |
    sed -n 's/.*"state":"\(.\)".*/\1/p'; }
# ntpd_serves: one reply from ntpd at stratum 2, LI 0. Asked on B's veth
# address, not on 127.0.0.1 where chimed asks: ntpd stops answering an
# address that sent it a few dozen requests at 2/s while it was still
# unsynchronised (27 INIT kisses, then silence for a while), and the
# test's polling must not cost chimed its server.
ntpd_answer() { in_netns "$NS_B" "$B/ntpprobe" -a -t 300 "$B_ADDR" 123 2>&1; }
ntpd_serves() { ntpd_answer | grep -q 'stratum=2 .*leap=0'; }

A_ADDR=10.123.0.1
B_ADDR=10.123.0.2
NS_A=$(netns_name upstream)
NS_B=$(netns_name ntpd)
if ! netns_setup "$NS_A" || ! netns_setup "$NS_B" ||
    ! netns_veth "$NS_A" "$A_ADDR/24" "$NS_B" "$B_ADDR/24"; then
    not_ok "two namespaces joined by a veth pair"
    exit 1
fi

# ---- A: chronyd, stratum 1 ------------------------------------------------------------
if ! start_chronyd_server 123 "$NS_A" "$A_ADDR"; then
    not_ok "chronyd serves stratum 1 on $A_ADDR:123 in namespace A"
    exit 1
fi
check 'in_netns "$NS_B" "$B/ntpprobe" -t 500 "$A_ADDR" 123 | grep -q "stratum=1 .*leap=0"' \
    "chronyd in A answers B over the veth at stratum 1"

# ---- B: ntpd ---------------------------------------------------------------------------------
ND=$(tmpdir)
cat >"$ND/ntp.conf" <<CONF
server $A_ADDR iburst minpoll 3 maxpoll 4
statsdir $ND/
CONF
start_bg "$ND/ntpd.log" "$NS_B" "$NTPD" -n -d -d -c "$ND/ntp.conf"
NTPD_PID=$BG_PID
t_ntpd=$(date +%s.%N)
while abs_lt "$(since "$t_ntpd")" 60 && alive "$NTPD_PID" && ! ntpd_serves; do
    sleep 1
done
took=$(since "$t_ntpd")
if ! check 'ntpd_serves' "ntpd serves stratum 2, LI 0 within 60 s (took $took s)"; then
    diag "ntpd answers: $(ntpd_answer)"
    alive "$NTPD_PID" || diag "ntpd exited"
    diag_file "$ND/ntpd.log" 40
    exit 1
fi
diag "ntpd: $(ntpd_answer)"

# ---- B: chimed on the fake clock -------------------------------------------------------
CD=$(tmpdir)
cat >"$CD/chimed.conf" <<CONF
server 127.0.0.1 iburst minpoll 3 maxpoll 4
port 11399
interface listen 127.0.0.1
controlsocket $CD/chimed.sock
CONF
start_chimed_fake "$CD/chimed.conf" 0.2 50 "$NS_B"
t_chimed=$(date +%s.%N)
i=0
while [ $i -lt 80 ] && [ "$(src_state "$CD/chimed.sock" 127.0.0.1)" != "*" ]; do
    sleep 0.25; i=$((i + 1))
done
if ! check '[ "$(src_state "$CD/chimed.sock" 127.0.0.1)" = "*" ]' \
    "chimed selects ntpd ('*') within 20 s (took $(since "$t_chimed") s)"; then
    diag "sources: $(chimectl_json "$CD/chimed.sock" sources)"
    diag_file "$CHIMED_LOG"
fi

# The 0.2 s is stepped away once; then the +50 ppm has to be learnt.
i=0
while [ $i -lt 100 ] && ! abs_lt "$(fake_offset_now_s)" 0.001; do sleep 0.1; i=$((i + 1)); done
t_under=$(since "$t_chimed")
check 'abs_lt "$(fake_offset_now_s)" 0.001' \
    "fake clock gets within 1 ms of true time ($t_under s after chimed started; steps=$(fake_field steps))"
check '[ "$(fake_field steps)" = 1 ]' "the 0.2 s was stepped once (steps=$(fake_field steps))"

# ...and stays there: sampled every 0.5 s for 20 s, from 8 s after it got
# there (the first updates learn the frequency).
sleep 8
worst=0
k=0
while [ $k -lt 40 ]; do
    off=$(fake_offset_now_s)
    worst=$(awk -v w="$worst" -v o="$off" 'BEGIN { if (o == "") o = 1; if (o < 0) o = -o; print (o > w ? o : w) }')
    sleep 0.5
    k=$((k + 1))
done
if ! check 'abs_lt "$worst" 0.001' "fake clock stays within 1 ms for 20 s (worst $worst s)"; then
    diag "fake clock: $(cat "$FAKE_STATE")"
    diag_file "$CHIMED_LOG"
fi
check '[ "$(src_state "$CD/chimed.sock" 127.0.0.1)" = "*" ]' "chimed still follows ntpd"
tr=$(chimectl_json "$CD/chimed.sock" tracking)
diag "chimed tracking: $tr"
check 'printf "%s" "$tr" | grep -q "\"stratum\":3"' "chimed is at stratum 3 (ntpd's + 1)"
check 'ntpd_serves' "ntpd still serves stratum 2, LI 0"
check 'in_netns "$NS_B" "$B/ntpprobe" -t 500 127.0.0.1 11399 | grep -q "stratum=3 .*leap=0"' \
    "chimed serves stratum 3 on port 11399"
adjfail=$(grep -c 'Operation not permitted' "$ND/ntpd.log")
diag "ntpd's clock adjustments refused (EPERM, as intended): $adjfail"

diag "wall time $(elapsed) s"
