#!/bin/sh
# chimed keeps a clock right: on the fake kernel clock (0.3 s off, +80 ppm)
# it synchronises to a chronyd server on loopback, steps within 10 s,
# holds |offset| < 1 ms after that, reports through chimectl, and writes
# its driftfile at exit. The machine's clock is never touched: the real
# linux driver talks to the LD_PRELOAD shim, and CAP_SYS_TIME is dropped.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

if ! need_peers; then
    not_ok "reference peers unpacked"
    exit 1
fi
SPORT=11331
CPORT=11332
if ! start_chronyd_server $SPORT; then
    not_ok "chronyd server starts"
    exit 1
fi
D=$(tmpdir)
SOCK="$D/chimed.sock"
cat >"$D/client.conf" <<CONF
server 127.0.0.1 port $SPORT iburst minpoll 4 maxpoll 6
port $CPORT
interface listen 127.0.0.1
controlsocket $SOCK
driftfile $D/drift
CONF

t0=$(date +%s.%N)
start_chimed_fake "$D/client.conf" 0.3 80
selected=""
i=0
while [ $i -lt 100 ]; do
    if chimectl_json "$SOCK" sources | grep -q '"state":"\*"'; then
        selected=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
        break
    fi
    sleep 0.05; i=$((i + 1))
done
check '[ -n "$selected" ] && awk -v s="$selected" "BEGIN { exit !(s < 2.0) }"' \
    "source selected within 2 s of start (${selected:-never} s; chrony 4.3: 4.35 s)"
[ -n "$selected" ] || diag_file "$CHIMED_LOG"

i=0
while [ $i -lt 100 ] && [ "$(fake_field steps)" != 1 ]; do sleep 0.1; i=$((i + 1)); done
check '[ "$(fake_field steps)" = 1 ]' "stepped once within 10 s (steps=$(fake_field steps))"
off=$(fake_offset_s)
check 'abs_lt "$off" 0.01' "right after the step |offset| < 10 ms ($off s)"

# Let the frequency settle, then the clock must stay within 1 ms.
worst=0
for k in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    sleep 1
    off=$(fake_offset_s)
    [ $k -ge 10 ] && worst=$(awk -v w="$worst" -v o="$off" 'BEGIN { if (o < 0) o = -o; print (o > w ? o : w) }')
done
check 'abs_lt "$worst" 0.001' "|offset| < 1 ms from 10 s to 20 s after the step (worst $worst s)"
diag "fake clock: $(cat "$FAKE_STATE")"

tr=$(chimectl_json "$SOCK" tracking)
diag "tracking: $tr"
check 'printf "%s" "$tr" | grep -q "\"synchronised\":true"' "chimectl -j tracking: synchronised"
check 'printf "%s" "$tr" | grep -q "\"stratum\":2"' "chimectl -j tracking: stratum 2"
check 'printf "%s" "$tr" | grep -q "\"clock_control\":true"' "chimectl -j tracking: clock control on"
# The estimate, not the frequency in force: that one also slews out the
# last offset, and one late sample on a loaded machine can put 10 ppm of
# slew on top of the estimate for a while.
freq=$(json_field "$tr" drift_ppm)
check 'abs_lt "$(awk -v f="$freq" "BEGIN { print f + 80 }")" 10' \
    "frequency estimate near -80 ppm ($freq ppm; in force $(json_field "$tr" frequency_ppm))"
check '"$B/chimectl" -s "$SOCK" sources | grep -q "^\*127.0.0.1"' "chimectl sources: '*' on the server"

# chimed serves what it learned: stratum 2 from chronyd's stratum 1.
out=$("$B/ntpprobe" 127.0.0.1 $CPORT)
diag "$out"
check 'printf "%s" "$out" | grep -q "stratum=2 refid=127.0.0.1"' "serves stratum 2, refid = the server's address"

kill -TERM "$CHIMED_PID"; wait "$CHIMED_PID" 2>/dev/null
_lib_pids=$(_lib_forget "$CHIMED_PID" "$_lib_pids")
drift=$(cat "$D/drift" 2>/dev/null)
check 'abs_lt "$(awk -v f="$drift" "BEGIN { print f + 80 }")" 10' "driftfile written at exit ($drift ppm)"
check '! ls -A "$D" | grep -q "^\.drift\."' "driftfile written atomically (no temporary left)"
