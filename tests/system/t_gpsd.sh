#!/bin/sh
# gpsd itself drives chimed (issue 17): Debian 12's gpsd, unpacked by
# peers.sh (never installed), reads NMEA that build/nmeapty writes to a
# pty from tests/system/gps.nmea (an RMC, GGA and GSA a second, told for
# the true second that just began, 100 ms late with 2 ms of noise, as a
# serial receiver's), and writes its time to ntpd's SHM segment 0 (gpsd,
# as root, takes units 0 and 1) and to chrony's socket
# /run/chrony.gps0.sock, which chimed binds.
# gpsd stamps the NMEA on chimed's fake clock (FAKECLOCK_FOLLOW: it reads
# the virtual clock of chimed's state file), and sees the pty as a serial
# port (FAKEDEV_TTY): it feeds NTP only from real serial and USB
# receivers. The test runs in private IPC and mount namespaces: the SHM
# segments are its own, and a temporary directory is mounted over /run.
# chimed starts 0.3 s off with a +20 ppm oscillator and must step once
# and then hold its clock within BOUND (NMEA's noise, far below the 100
# ms the "offset 0.1" takes out), with the SHM clock selected.
# gpsd 3.22 sends to chrony's socket only from its PPS thread: the
# stand-in's serial PPS (DCD raised at each true second for 50 ms, ended
# before the NMEA of that second arrives, as a receiver's 100 ms-late
# sentences follow a short pulse) is matched with the fix before it.
# gpsd ships a pulse only after more than 3 fixes in its count, which
# this NMEA never raises ("no fix" in its log), so it runs with -r (its
# "use GPS time even without a fix"). gpsd takes the first usable edge
# after a fix: with a pulse wider than the NMEA's lateness it took the
# falling edge and labelled it the next second (offsets of 0.2-0.8 s).
# Skipped as a whole without root, namespaces or gpsd.
# CAP_SYS_TIME is dropped; loopback only. Port 11994 (chimed), 12947 (gpsd).
# SPDX-License-Identifier: BSD-2-Clause
if [ -z "${CHIME_GPSD_NS:-}" ]; then
    if [ "$(id -u)" = 0 ] && unshare -m -i true 2>/dev/null; then
        CHIME_GPSD_NS=1 exec unshare -m -i sh "$0" "$@"
    fi
    echo "ok 1 - gpsd drives chimed # SKIP needs root and unshare -m -i"
    echo "1..1"
    exit 0
fi
. "$(dirname "$0")/lib.sh"

for x in chimed chimectl nmeapty libfakeclock.so; do
    if [ ! -e "$B/$x" ]; then
        not_ok "$B/$x is built"
        exit 1
    fi
done
need_peers >/dev/null 2>&1
if [ -z "${GPSD:-}" ]; then
    skip "gpsd drives chimed" "gpsd cannot be had (peers.sh: apt-get download gpsd)"
    exit 0
fi

DELAY=0.1               # s, the NMEA's lateness: "offset 0.1" takes it out
NOISE=0.002             # s, sd of the lateness
RUN=${GPSD_RUN_S:-130}
SETTLE=70
BOUND=0.02              # |offset|: NMEA's noise plus gpsd's read latency
D=$(tmpdir)
mkdir -p "$D/run"
if ! mount --bind "$D/run" /run; then
    skip "gpsd drives chimed" "cannot mount a private /run"
    exit 0
fi

cat >"$D/c.conf" <<CONF
refclock SHM 0 refid NMEA offset $DELAY poll 2
refclock SOCK /run/chrony.gps0.sock refid GPSD poll 2 noselect
port 11994
interface listen 127.0.0.1
controlsocket $D/ctl.sock
CONF
start_chimed_fake "$D/c.conf" 0.3 20
i=0
while [ $i -lt 100 ] && ! { [ -f "$FAKE_STATE" ] && [ -S /run/chrony.gps0.sock ]; }; do
    sleep 0.1; i=$((i + 1))
done
check '[ -S /run/chrony.gps0.sock ]' "chimed binds chrony's socket under the private /run"
start_bg "$D/pty.log" - "$B/nmeapty" -n $((RUN + 120)) -d $DELAY -j $NOISE -s 5 \
    "$TOP/tests/system/gps.nmea" "$D/gps0"
i=0
while [ $i -lt 100 ] && [ ! -e "$D/gps0" ]; do sleep 0.1; i=$((i + 1)); done
start_bg "$D/gpsd.log" - env LD_PRELOAD="$B/libfakeclock.so" FAKECLOCK_FOLLOW="$FAKE_STATE" \
    FAKEDEV_TTY="$D/gps0" FAKEDEV_PPS_DELAY=0 FAKEDEV_PPS_WIDTH=0.05 \
    "$GPSD" -N -n -b -r -D 4 -S 12947 "$D/gps0"
GPSD_PID=$BG_PID

worst=0
t=0
while [ $t -lt $((RUN - 5)) ]; do
    sleep 1; t=$((t + 1))
    [ $t -lt $SETTLE ] && continue
    worst=$(awk -v w="$worst" -v o="$(fake_offset_now_s)" \
        'BEGIN { if (o == "") o = 1; if (o < 0) o = -o; print (o > w ? o : w) }')
done

diag "fake clock: $(cat "$FAKE_STATE")"
check 'alive $GPSD_PID' "gpsd ran"
check 'grep -q "ntpshm_put" "$D/gpsd.log"' "gpsd wrote its NMEA time to the SHM segment"
check '[ "$(fake_field steps)" = 1 ]' "stepped once (steps=$(fake_field steps))"
check 'abs_lt "$worst" $BOUND' \
    "|offset| < $BOUND s from ${SETTLE} s to $((RUN - 5)) s (worst $worst s; NMEA ${DELAY} s late, noise $NOISE s)"
src=$("$B/chimectl" -s "$D/ctl.sock" sources)
diag "$src"
check 'printf "%s\n" "$src" | grep -Eq "^\*SHM\(0\) +\.NMEA\. +0 l "' \
    "chimectl sources: gpsd's SHM clock selected, .NMEA., stratum 0, type l"
sock=$(printf '%s\n' "$src" | sed -n 's/^  SOCK(.*): \([0-9]*\) samples.*/\1/p')
check '[ "${sock:-0}" -gt 0 ]' "gpsd's PPS datagrams reach chimed's SOCK clock (${sock:-0} samples)"
# its offset (ms) is the clock's error, which NMEA holds within BOUND
sock_ms=$(printf '%s\n' "$src" | awk '$1 ~ /^SOCK\(/ { print $9; exit }')
check 'abs_lt "${sock_ms:-1e9}" $(awk "BEGIN { print $BOUND * 1000 }")' \
    "the SOCK clock's pulses are on the second: offset ${sock_ms:-?} ms within $BOUND s"
