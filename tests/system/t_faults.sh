#!/bin/sh
# chimed against misbehaving servers (build/fakeserver), on the fake kernel
# clock so that a wrong decision would show as a moved virtual clock:
#   a. a server that steps by +1 h among three good ones becomes a
#      falseticker ('x'); alone, it raises the panic alarm; neither moves
#      the clock.
#   b. 50% packet loss: still synchronises; reach shows the gaps.
#   c. the only server goes away for ~12 s and comes back: no step, the
#      clock holds within 1 ms, the source is used again.
#   d. KoD: RATE raises the poll, DENY and RSTR stop polling; kisses with
#      a wrong origin change nothing.
#   e. replies with a wrong origin (and +1000 s) are ignored.
# The scenarios run side by side (separate servers, ports, fake clocks) so
# the whole file takes about a minute. minpoll 3 (8 s) is the floor.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

for x in chimed chimectl fakeserver libfakeclock.so; do
    if [ ! -e "$B/$x" ]; then
        not_ok "$B/$x is built"
        exit 1
    fi
done

D=$(tmpdir)
PORT=11411          # every fakeserver: 127.0.0.N port $PORT
CPORT=11420         # chimed's own server ports: $CPORT + k
T0=$(date +%s)

elapsed() { echo $(( $(date +%s) - T0 )); }

# fake NAME ADDR ARGS...: a fakeserver on ADDR:$PORT; sets FS_<NAME>_PID and
# its log $D/fs-NAME.log.
fake() {
    _n=$1
    _a=$2
    shift 2
    start_bg "$D/fs-$_n.log" - "$B/fakeserver" -p $PORT -a "$_a" -d 150 "$@"
    eval "FS_${_n}_PID=$BG_PID"
}

# client NAME K FAKE_OFFSET SERVER...: chimed on a fake clock with the given
# servers (127.0.0.N addresses); remembers SOCK_/LOG_/STATE_/PID_NAME.
client() {
    _n=$1
    _k=$2
    _o=$3
    shift 3
    _c="$D/$_n.conf"
    : >"$_c"
    for _s in "$@"; do
        echo "server $_s port $PORT iburst minpoll 3 maxpoll 6" >>"$_c"
    done
    cat >>"$_c" <<CONF
port $((CPORT + _k))
interface listen 127.0.0.1
controlsocket $D/$_n.sock
CONF
    start_chimed_fake "$_c" "$_o" 0
    eval "SOCK_$_n=\$D/\$_n.sock PID_$_n=\$CHIMED_PID LOG_$_n=\$CHIMED_LOG STATE_$_n=\$FAKE_STATE"
}

# use NAME: point FAKE_STATE, SOCK, LOG at client NAME.
use() {
    eval "FAKE_STATE=\$STATE_$1 SOCK=\$SOCK_$1 LOG=\$LOG_$1"
}

# src ADDR: the chimectl -j sources object of ADDR (client from `use`).
src() {
    chimectl_json "$SOCK" sources | sed 's/},{/}\n{/g' | grep -e "\"address\":\"$1\"" -e "\"address\":\"$1:"
}
src_field() { json_field "$(src "$1")" "$2"; }
# reach_bit0 ADDR: 1 if the newest poll of ADDR was answered, else 0.
reach_bit0() {
    _r=$(src_field "$1" reach)
    echo $(( ${_r:-0} & 1 ))
}
tracking() { chimectl_json "$SOCK" tracking; }
requests() { grep -c '^rx ' "$D/fs-$1.log"; }

# wait_for SECONDS 'COND': poll COND every 0.5 s until true or timeout.
wait_for() {
    _end=$(( $(date +%s) + $1 ))
    while [ "$(date +%s)" -le "$_end" ]; do
        eval "$2" && return 0
        sleep 0.5
    done
    return 1
}

# Worst |fake clock offset| seen by `track NAME` calls (scenario -> max).
track() {
    use "$1"
    _o=$(fake_offset_s)
    [ -n "$_o" ] || return 0
    eval "_w=\${WORST_$1:-0}"
    eval "WORST_$1=$(awk -v w="$_w" -v o="$_o" 'BEGIN { if (o < 0) o = -o; print (o > w ? o : w) }')"
}

fail_diag() {
    use "$1"
    diag "tracking: $(tracking)"
    diag "sources: $(chimectl_json "$SOCK" sources)"
    diag "fake clock: $(cat "$FAKE_STATE" 2>/dev/null)"
    diag_file "$LOG" 30
}

# ---- start everything ---------------------------------------------------------
# a: three good servers and one that steps +3600 s after 7 s (after the
# iburst, so the client knows it as a good server first).
fake a1 127.0.0.11
fake a2 127.0.0.12
fake a3 127.0.0.13
fake a4 127.0.0.14 -j 7:3600
fake s1 127.0.0.21 -j 7:3600          # a, single source
fake b1 127.0.0.31 -l 50 -r 7         # b
fake c1 127.0.0.41                    # c
fake rate 127.0.0.51 -k RATE -K first:2
fake deny 127.0.0.52 -k DENY
fake rstr 127.0.0.53 -k RSTR
fake kspoof 127.0.0.54 -k DENY -K spoof
fake e1 127.0.0.61 -S
sleep 0.3
for n in a1 a2 a3 a4 s1 b1 c1 rate deny rstr kspoof e1; do
    eval "_p=\$FS_${n}_PID"
    if ! alive "$_p"; then
        not_ok "fakeserver $n runs"
        diag_file "$D/fs-$n.log"
        exit 1
    fi
done

client multi 1 0 127.0.0.11 127.0.0.12 127.0.0.13 127.0.0.14
client single 2 0 127.0.0.21
client loss 3 0 127.0.0.31
client outage 4 0 127.0.0.41
client rate 5 0 127.0.0.51
client deny 6 0 127.0.0.52
client rstr 7 0 127.0.0.53
client kspoof 8 0 127.0.0.54
client spoof 9 0.3 127.0.0.61

# ---- d: KoD DENY / RSTR / RATE (fast: during the iburst) ---------------------------
use deny
wait_for 10 '[ "$(src_field 127.0.0.52 denied)" = true ]'
check '[ "$(src_field 127.0.0.52 denied)" = true ]' "d: KoD DENY: chimectl -j sources says denied"
check 'grep -q "127.0.0.52 denied us service (KoD)" "$LOG"' "d: KoD DENY: logged"
use rstr
wait_for 5 '[ "$(src_field 127.0.0.53 denied)" = true ]'
check '[ "$(src_field 127.0.0.53 denied)" = true ]' "d: KoD RSTR: chimectl -j sources says denied"
use rate
wait_for 10 'grep -q "127.0.0.51 asks us to slow down (KoD RATE)" "$LOG"'
check 'grep -q "127.0.0.51 asks us to slow down (KoD RATE)" "$LOG"' "d: KoD RATE: logged"
rpoll=$(src_field 127.0.0.51 poll)
check '[ "${rpoll:-0}" -gt 3 ]' "d: KoD RATE: poll raised above minpoll 3 (poll $rpoll)"
check '[ "$(src_field 127.0.0.51 denied)" = false ]' "d: KoD RATE: not denied"
deny_n=$(requests deny)
rstr_n=$(requests rstr)

# ---- b: synchronised within 15 s despite 50% loss (more at the end) -------------
use loss
wait_for $(( 15 - $(elapsed) )) 'tracking | grep -q "\"synchronised\":true"'
if ! check 'tracking | grep -q "\"synchronised\":true"' \
    "b: 50% loss: synchronised within 15 s (after $(elapsed) s)"; then
    fail_diag loss
fi

# ---- c: outage --------------------------------------------------------------------
use outage
wait_for 10 'src 127.0.0.41 | grep -q "\"state\":\"\\*\""'
if ! check 'src 127.0.0.41 | grep -q "\"state\":\"\\*\""' "c: selected before the outage"; then
    fail_diag outage
fi
# Let a poll or two pass so the frequency is known, then pull the plug.
sleep 4
before_steps=$(fake_field steps)
stop_pid "$FS_c1_PID"
c_reach0=$(src_field 127.0.0.41 reach)
outage_start=$(date +%s)
c_worst=0
while [ $(( $(date +%s) - outage_start )) -lt 12 ]; do
    track outage; track multi; track spoof
    sleep 1
done
use outage
c_reach1=$(src_field 127.0.0.41 reach)
c_tr=$(tracking)
diag "c: after 12 s of outage: reach $c_reach0 -> $c_reach1; tracking $c_tr"
check '[ -n "$c_reach1" ] && [ $((c_reach1 & 1)) -eq 0 ]' "c: reach shows the missed polls (reach $c_reach1)"
check 'abs_lt "$WORST_outage" 0.001' "c: |offset| < 1 ms through the outage (worst $WORST_outage s)"
check '[ "$(fake_field steps)" = "$before_steps" ]' "c: no step during the outage"
check 'printf "%s" "$c_tr" | grep -q "\"alarm\":false"' "c: no alarm during the outage"
fake c1 127.0.0.41
wait_for 20 '[ "$(requests c1)" -ge 1 ] && [ "$(reach_bit0 127.0.0.41)" = 1 ]'
check '[ "$(reach_bit0 127.0.0.41)" = 1 ]' \
    "c: the restarted server answers again (reach $(src_field 127.0.0.41 reach), $(requests c1) requests)"
wait_for 5 'src 127.0.0.41 | grep -q "\"state\":\"\\*\""'
if ! check 'src 127.0.0.41 | grep -q "\"state\":\"\\*\"" && tracking | grep -q "\"synchronised\":true"' \
    "c: selected and synchronised again"; then
    fail_diag outage
fi

# DENY/RSTR: no request after the kiss, in all this time.
check '[ "$(requests deny)" = "$deny_n" ] && [ "$deny_n" -le 1 ]' \
    "d: KoD DENY: polling stopped ($deny_n requests, then $(requests deny) over $(( $(date +%s) - outage_start + 6 )) s)"
check '[ "$(requests rstr)" = "$rstr_n" ] && [ "$rstr_n" -le 1 ]' \
    "d: KoD RSTR: polling stopped ($rstr_n requests, then $(requests rstr))"

# ---- d: kisses with a bad origin ----------------------------------------------------
use kspoof
check '[ "$(src_field 127.0.0.54 denied)" = false ]' "d: spoofed KoD DENY: not denied"
check 'src 127.0.0.54 | grep -q "\"state\":\"\\*\""' "d: spoofed KoD DENY: source selected"
check '! grep -q "denied us service" "$LOG"' "d: spoofed KoD DENY: nothing logged"
k1=$(requests kspoof)
check '[ "$k1" -ge 5 ]' "d: spoofed KoD DENY: still polled ($k1 requests)"

# ---- e: spoofed replies ---------------------------------------------------------------
use spoof
check 'src 127.0.0.61 | grep -q "\"state\":\"\\*\""' "e: spoofer's honest replies selected"
check '[ "$(fake_field steps)" = 1 ]' "e: stepped once (the initial 0.3 s; steps=$(fake_field steps))"
lstep=$(fake_field last_step_ns)
check 'abs_lt "$(awk -v s="$lstep" "BEGIN { print s / 1e9 + 0.3 }")" 0.01' \
    "e: the step was -0.3 s, not +1000 s (last_step_ns=$lstep)"
check 'abs_lt "$WORST_spoof" 0.01' "e: |offset| < 10 ms after the step (worst $WORST_spoof s)"
check 'grep -q "spoof+answer" "$D/fs-e1.log"' "e: the spoofer did send spoofed replies"

# ---- a: the 1 h step -----------------------------------------------------------------
use multi
wait_for $(( 50 - $(elapsed) )) 'src 127.0.0.14 | grep -q "\"state\":\"x\""'
if ! check 'src 127.0.0.14 | grep -q "\"state\":\"x\""' \
    "a: the server that stepped by 1 h is a falseticker (after $(elapsed) s)"; then
    fail_diag multi
fi
check 'chimectl_json "$SOCK" sources | grep -q "\"state\":\"\\*\""' "a: a good server stays selected"
track multi
check '[ "$(fake_field steps)" = 0 ]' "a: the clock was never stepped"
check 'abs_lt "$WORST_multi" 0.01' "a: |offset| < 10 ms throughout (worst $WORST_multi s)"
check 'tracking | grep -q "\"alarm\":false"' "a: no alarm with a good majority"

use single
wait_for $(( 55 - $(elapsed) )) 'tracking | grep -q "\"alarm\":true"'
s_tr=$(tracking)
diag "a (single): $s_tr"
if ! check 'printf "%s" "$s_tr" | grep -q "\"alarm\":true"' "a: single source 1 h off: panic alarm"; then
    fail_diag single
fi
check '[ "$(fake_field steps)" = 0 ]' "a: single source: no step (steps=$(fake_field steps))"
o=$(fake_offset_s)
check 'abs_lt "$o" 0.01' "a: single source: the clock stays near the truth ($o s)"

# ---- b: loss ------------------------------------------------------------------------------
use loss
check 'src 127.0.0.31 | grep -q "\"state\":\"\\*\"" && tracking | grep -q "\"synchronised\":true"' \
    "b: 50% loss: selected and synchronised"
sel_line=$(grep -m 1 "selected source 127.0.0.31" "$LOG")
check '[ -n "$sel_line" ]' "b: 50% loss: selection logged"
# a gap: some 0 bit below the highest 1 (reach + 1 not a power of two)
has_gap() {
    _r=$(src_field 127.0.0.31 reach)
    [ -n "$_r" ] && [ $(( _r & (_r + 1) )) -ne 0 ]
}
wait_for $(( 60 - $(elapsed) )) has_gap
breach=$(src_field 127.0.0.31 reach)
check '[ -n "$breach" ] && [ $(( breach & (breach + 1) )) -ne 0 ]' \
    "b: 50% loss: reach has gaps (reach $(printf %o "${breach:-0}"))"
check 'grep -q ": drop" "$D/fs-b1.log"' \
    "b: the server did drop requests ($(grep -c ': drop' "$D/fs-b1.log") of $(requests b1))"

diag "wall time $(elapsed) s"
