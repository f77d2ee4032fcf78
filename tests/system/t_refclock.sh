#!/bin/sh
# Reference clocks end to end (issue 17), on the fake kernel clock: two
# chimed, one fed through ntpd's SHM segment (refclock SHM 2: unit 2 is
# world-writable, so no root is needed) and one through chrony's SOCK
# datagrams, each by build/refclockw writing the true time (this
# machine's clock) with a known bias and Gaussian noise against chimed's
# fake clock. Each chimed starts 0.3 s off with a +40 ppm oscillator,
# steps once, and must then hold its clock within the noise of the
# reference, corrected by the configured offset; it serves stratum 1
# with the refclock's refid, and chimectl shows the clock as ".GPS."
# at stratum 0, type 'l'. Both use poll 2 (a filtered sample every 4 s,
# not the default 16 s) so the frequency is learnt within the run; the
# default is what the unit tests and the clknetsim scenarios use.
# CAP_SYS_TIME is dropped; loopback only.
# Ports 11995 and 11996.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

for x in chimed refclockw ntpprobe libfakeclock.so; do
    if [ ! -e "$B/$x" ]; then
        not_ok "$B/$x is built"
        exit 1
    fi
done

NOISE=0.0002            # s, the reference's standard deviation
BIAS=0.004              # s, the writer's bias: the config's offset takes it out
RUN=${REFCLOCK_RUN_S:-130}
SETTLE=70               # s after start before the bound must hold
BOUND=0.001             # |offset| bound: 5 noise sd, far above the filter's
UNIT=2
D=$(tmpdir)

# a segment left by an earlier run of another size would fail shmget
ipcrm -M $((0x4e545030 + UNIT)) 2>/dev/null

cat >"$D/shm.conf" <<CONF
refclock SHM $UNIT refid GPS offset -$BIAS poll 2
port 11995
interface listen 127.0.0.1
controlsocket $D/shm.sock
CONF
cat >"$D/sock.conf" <<CONF
refclock SOCK $D/gps.sock refid GPS offset -$BIAS poll 2
port 11996
interface listen 127.0.0.1
controlsocket $D/sockctl.sock
CONF

start_chimed_fake "$D/shm.conf" 0.3 40
SHM_PID=$CHIMED_PID SHM_LOG=$CHIMED_LOG SHM_STATE=$FAKE_STATE
start_chimed_fake "$D/sock.conf" -0.3 -40
SOCK_PID=$CHIMED_PID SOCK_LOG=$CHIMED_LOG SOCK_STATE=$FAKE_STATE

# the writers start once each fake clock has a state file (the driver's
# first adjtimex) and the SOCK socket is bound
i=0
while [ $i -lt 100 ] && ! { [ -f "$SHM_STATE" ] && [ -f "$SOCK_STATE" ] && [ -S "$D/gps.sock" ]; }; do
    sleep 0.1; i=$((i + 1))
done
check '[ -S "$D/gps.sock" ]' "chimed binds the SOCK socket"
start_bg "$D/w-shm.log" - "$B/refclockw" shm $UNIT -n "$RUN" -o $BIAS -j $NOISE -s 7 \
    -f "$SHM_STATE" -R
W1=$BG_PID
start_bg "$D/w-sock.log" - "$B/refclockw" sock "$D/gps.sock" -n "$RUN" -o $BIAS -j $NOISE \
    -s 9 -f "$SOCK_STATE" -b
W2=$BG_PID

worst_shm=0 worst_sock=0
t=0
while [ $t -lt $((RUN - 5)) ]; do
    sleep 1; t=$((t + 1))
    [ $t -lt $SETTLE ] && continue
    worst_shm=$(awk -v w="$worst_shm" -v o="$(FAKE_STATE=$SHM_STATE fake_offset_now_s)" \
        'BEGIN { if (o < 0) o = -o; print (o > w ? o : w) }')
    worst_sock=$(awk -v w="$worst_sock" -v o="$(FAKE_STATE=$SOCK_STATE fake_offset_now_s)" \
        'BEGIN { if (o < 0) o = -o; print (o > w ? o : w) }')
done

for k in shm sock; do
    if [ $k = shm ]; then st=$SHM_STATE; log=$SHM_LOG; w=$worst_shm; ctl=$D/shm.sock; port=11995
    else st=$SOCK_STATE; log=$SOCK_LOG; w=$worst_sock; ctl=$D/sockctl.sock; port=11996; fi
    FAKE_STATE=$st
    diag "$k fake clock: $(cat "$st")"
    check '[ "$(fake_field steps)" = 1 ]' "$k: stepped once (steps=$(fake_field steps))"
    check 'abs_lt "$w" $BOUND' \
        "$k: |offset| < $BOUND s from ${SETTLE} s to $((RUN - 5)) s (worst $w s; noise sd $NOISE s)"
    src=$("$B/chimectl" -s "$ctl" sources)
    diag "$src"
    check 'printf "%s\n" "$src" | grep -Eq "^\*(SHM|SOCK).* \.GPS\. +0 l "' \
        "$k: chimectl sources shows the refclock selected, .GPS., stratum 0, type l"
    out=$("$B/ntpprobe" 127.0.0.1 $port)
    diag "$out"
    check 'printf "%s" "$out" | grep -q "stratum=1 refid=GPS"' "$k: serves stratum 1, refid GPS"
    check '! grep -q "refused" "$log" || [ $k = sock ]' "$k: no sample refused"
done
check 'grep -q "sample refused: wrong magic number" "$SOCK_LOG"' \
    "sock: a datagram with the wrong magic is refused and logged"
check '[ "$(grep -c "sample refused" "$SOCK_LOG")" = 1 ]' "sock: ... once"
