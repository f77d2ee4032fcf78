#!/bin/sh
# PPS and PHC reference clocks end to end (issue 17), on the fake kernel
# clock. These machines have no /dev/pps* or /dev/ptp*: libfakeclock's
# device stand-in (tests/fakeclock/fakedev.c) answers open() of the
# device path and the linux/pps.h and linux/ptp_clock.h ioctls with the
# kernel's structures, stamping the edges and the PHC reads from the true
# time (this machine's clock) against chimed's virtual clock, with a known
# delay and Gaussian noise. Every ioctl also goes through the kernel on a
# /dev/null descriptor first, i.e. through chimed's real seccomp filter.
# Three chimed run at once:
#   pps:   chrony's form, "refclock PPS /dev/pps0 lock NMEA" with an SHM
#          clock (refid NMEA, noselect) 20 ms noisy, the edge 300 us late
#          (offset 0.0003 takes it out); the clock starts 0.7 s off, so
#          the pulse alone would pick the wrong second;
#   ntpd:  ntpd's lines, "server 127.127.28.7 prefer" + "server
#          127.127.22.0" + "fudge 127.127.22.0 flag2 1": the clear edge of
#          an inverted pulse (the assert edge is 0.2 s later);
#   phc:   "refclock PHC /dev/ptp0 dpoll -2 tai" on a PHC keeping TAI
#          (37 s ahead) that only has PTP_SYS_OFFSET_PRECISE and
#          PTP_SYS_OFFSET (the EXTENDED call fails: the fallback).
# Each must step once and then hold its clock within BOUND of the true
# time: far below the coarse sources' noise, a few times the pulse's.
# CAP_SYS_TIME is dropped; loopback only. Ports 11997-11999.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

for x in chimed chimectl refclockw libfakeclock.so; do
    if [ ! -e "$B/$x" ]; then
        not_ok "$B/$x is built"
        exit 1
    fi
done

PPS_JITTER=0.000002     # s, sd of the edges
PHC_JITTER=0.000001     # s, sd of the PHC reads
PPS_DELAY=0.0003        # s, the edge's lateness: the config's offset takes it out
NMEA_NOISE=0.02         # s, sd of the coarse SHM clocks
RUN=${REFCLOCK_RUN_S:-130}
SETTLE=70               # s after start before the bound must hold
BOUND=0.0001            # |offset|: 50 pulse sd, 1/200 of the coarse noise
D=$(tmpdir)

for u in 6 7; do ipcrm -M $((0x4e545030 + u)) 2>/dev/null; done

cat >"$D/pps.conf" <<CONF
refclock SHM 6 refid NMEA noselect poll 2
refclock PPS /dev/pps0 lock NMEA offset $PPS_DELAY poll 2
port 11997
interface listen 127.0.0.1
controlsocket $D/pps.sock
CONF
cat >"$D/ntpd.conf" <<CONF
server 127.127.28.7 minpoll 3 prefer
fudge 127.127.28.7 refid NMEA
server 127.127.22.0 minpoll 3
fudge 127.127.22.0 flag2 1 time1 $PPS_DELAY
port 11998
interface listen 127.0.0.1
controlsocket $D/ntpd.sock
CONF
cat >"$D/phc.conf" <<CONF
refclock PHC /dev/ptp0 poll 2 dpoll -2 tai
port 11999
interface listen 127.0.0.1
controlsocket $D/phc.sock
CONF

export FAKEDEV_PPS=/dev/pps0 FAKEDEV_PPS_JITTER=$PPS_JITTER FAKEDEV_PPS_DELAY=$PPS_DELAY \
    FAKEDEV_SEED=3
start_chimed_fake "$D/pps.conf" 0.7 40
PPS_PID=$CHIMED_PID PPS_LOG=$CHIMED_LOG PPS_STATE=$FAKE_STATE
FAKEDEV_PPS=/dev/pps0 FAKEDEV_PPS_ON=clear FAKEDEV_SEED=5 \
    start_chimed_fake "$D/ntpd.conf" -0.3 -40
NTPD_PID=$CHIMED_PID NTPD_LOG=$CHIMED_LOG NTPD_STATE=$FAKE_STATE
unset FAKEDEV_PPS FAKEDEV_PPS_JITTER FAKEDEV_PPS_DELAY FAKEDEV_SEED
FAKEDEV_PHC=/dev/ptp0 FAKEDEV_PHC_OFFSET=37 FAKEDEV_PHC_JITTER=$PHC_JITTER \
    FAKEDEV_PHC_METHODS=precise,plain start_chimed_fake "$D/phc.conf" 0.2 30
PHC_PID=$CHIMED_PID PHC_LOG=$CHIMED_LOG PHC_STATE=$FAKE_STATE

# the NMEA writers start once each fake clock has a state file
i=0
while [ $i -lt 100 ] && ! { [ -f "$PPS_STATE" ] && [ -f "$NTPD_STATE" ]; }; do
    sleep 0.1; i=$((i + 1))
done
start_bg "$D/w6.log" - "$B/refclockw" shm 6 -n $((RUN + 120)) -j $NMEA_NOISE -s 11 -f "$PPS_STATE" -R
start_bg "$D/w7.log" - "$B/refclockw" shm 7 -n $((RUN + 120)) -j $NMEA_NOISE -s 13 -f "$NTPD_STATE" -R

worst_pps=0 worst_ntpd=0 worst_phc=0
worse() {
    awk -v w="$1" -v o="$(FAKE_STATE=$2 fake_offset_now_s)" \
        'BEGIN { if (o == "") o = 1; if (o < 0) o = -o; print (o > w ? o : w) }'
}
t=0
while [ $t -lt $((RUN - 5)) ]; do
    sleep 1; t=$((t + 1))
    [ $t -lt $SETTLE ] && continue
    worst_pps=$(worse "$worst_pps" "$PPS_STATE")
    worst_ntpd=$(worse "$worst_ntpd" "$NTPD_STATE")
    worst_phc=$(worse "$worst_phc" "$PHC_STATE")
done

for k in pps ntpd phc; do
    case $k in
    pps)  st=$PPS_STATE; log=$PPS_LOG; w=$worst_pps; ref=PPS; pid=$PPS_PID ;;
    ntpd) st=$NTPD_STATE; log=$NTPD_LOG; w=$worst_ntpd; ref=PPS; pid=$NTPD_PID ;;
    phc)  st=$PHC_STATE; log=$PHC_LOG; w=$worst_phc; ref=PHC0; pid=$PHC_PID ;;
    esac
    FAKE_STATE=$st
    diag "$k fake clock: $(cat "$st")"
    check 'alive $pid' "$k: chimed is alive (no seccomp kill on the device ioctls)"
    check '[ "$(fake_field steps)" = 1 ]' "$k: stepped once (steps=$(fake_field steps))"
    check 'abs_lt "$w" $BOUND' \
        "$k: |offset| < $BOUND s from ${SETTLE} s to $((RUN - 5)) s (worst $w s)"
    src=$("$B/chimectl" -s "$D/$k.sock" sources)
    diag "$src"
    check 'printf "%s\n" "$src" | grep -Eq "^\*(PPS|PHC).* \.$ref\. +0 l "' \
        "$k: chimectl sources shows the $ref clock selected, stratum 0, type l"
done
check 'grep -q "PPS(/dev/pps0): driver open (assert edge)" "$PPS_LOG"' "pps: the assert edge"
check 'grep -q "PPS(/dev/pps0): driver open (clear edge)" "$NTPD_LOG"' \
    "ntpd: fudge flag2 1 is the clear edge"
check 'grep -q "read as .refclock pps unit 0" "$NTPD_LOG"' "ntpd: 127.127.22.0 read as a PPS clock"
check 'grep -q "driver open (read with PTP_SYS_OFFSET_PRECISE)" "$PHC_LOG"' \
    "phc: falls back to PTP_SYS_OFFSET_PRECISE without EXTENDED"
check 'grep -q "pulse not used: the coarse source has no sample yet" "$PPS_LOG"' \
    "pps: pulses wait for the coarse source"
# the segments go with the writers (removed once they detach)
for u in 6 7; do ipcrm -M $((0x4e545030 + u)) 2>/dev/null; done
