#!/bin/sh
# chimed --check and start-up share one validation (engine_validate): for
# every config start-up refuses, --check refuses it too, with the same
# message, and never prints "OK". Each case is run both ways. Nothing here
# binds a socket: start-up stops at the validation, before it opens one.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

D=$(tmpdir)
CHIMED="$B/chimed"
GOOD_LEAP="$TOP/tests/unit/data/leap-seconds.list"
BAD_LEAP="$TOP/tests/unit/data/leap-seconds-tampered.list"

printf '1 AES128CMAC 0123456789abcdef0123456789abcdef\n' >"$D/good.keys"
chmod 600 "$D/good.keys"
printf '1 NOSUCHALG 0123\n' >"$D/broken.keys"
chmod 600 "$D/broken.keys"

# refused NAME WHAT PATTERN: CONF (in $D/NAME.conf) must be refused by both
# --check and start-up with exit 2, the message matching PATTERN.
refused() {
    pat=$3
    cout=$("$CHIMED" --check -c "$D/$1.conf" 2>&1); crc=$?
    check '[ $crc -eq 2 ]' "$2: --check exits 2 (rc $crc: $cout)"
    check '! printf "%s\n" "$cout" | grep -q ": OK"' "$2: --check prints no OK"
    check 'printf "%s\n" "$cout" | grep -q -- "$pat"' "$2: --check names it ($cout)"
    # -p: a pidfile of our own (start-up locks it before it opens sockets)
    sout=$(timeout 60 "$CHIMED" -n -x -p "$D/$1.pid" -c "$D/$1.conf" 2>&1); src=$?
    check '[ $src -eq 2 ]' "$2: start-up exits 2 (rc $src: $sout)"
    check '[ "$sout" = "$cout" ]' "$2: both say the same ('$sout' vs '$cout')"
}

printf 'server 127.0.0.1 port 11990\n\nkeys %s/nonexistent.keys\n' "$D" >"$D/nokeys.conf"
refused nokeys "missing keys file" "nokeys.conf:3: keys: .*nonexistent.keys: No such file"

printf 'keys %s/broken.keys\nserver 127.0.0.1 port 11990\n' "$D" >"$D/badkeys.conf"
refused badkeys "broken keys file" "badkeys.conf:1: keys"

printf 'server 127.0.0.1 port 11990 key 5\n' >"$D/keynofile.conf"
refused keynofile "'key N' without a keys file" "keynofile.conf:1: key 5 .*no keys file"

printf 'keys %s/good.keys\nserver 127.0.0.1 port 11990 key 7\ntrustedkey 1\n' "$D" \
    >"$D/keymissing.conf"
refused keymissing "'key N' not in the keys file" "keymissing.conf:2: key 7 .*not in the keys file"

printf 'keys %s/good.keys\nserver 127.0.0.1 port 11990 key 1\n' "$D" >"$D/untrusted.conf"
refused untrusted "'key N' not trusted" "untrusted.conf:2: key 1 .*not a trustedkey"

printf 'server 127.0.0.1 port 11990\nleapfile %s\n' "$BAD_LEAP" >"$D/badleap.conf"
refused badleap "tampered leapfile" "badleap.conf:2: leapfile .*hash mismatch"

printf 'server 127.0.0.1 port 11990\nleapfile %s/none.list\n' "$D" >"$D/noleap.conf"
refused noleap "missing leapfile" "noleap.conf:2: leapfile .*No such file"

printf 'server 127.0.0.1 port 11990\ncontrolgroup chime-no-such-group\n' >"$D/group.conf"
refused group "unknown controlgroup" "group.conf:2: controlgroup .*no such group"

# The same files, right: OK and exit 0.
printf 'keys %s/good.keys\ntrustedkey 1\nserver 127.0.0.1 port 11990 key 1\nleapfile %s\n' \
    "$D" "$GOOD_LEAP" >"$D/good.conf"
out=$("$CHIMED" --check -c "$D/good.conf" 2>&1); rc=$?
check '[ $rc -eq 0 ] && printf "%s\n" "$out" | grep -q "good.conf: OK"' \
    "a config with working keys and leapfile: OK, exit 0 ($out)"

# ---- ntpd's reference-clock lines (finding 11) ------------------------------
printf 'server 127.127.1.0\nfudge 127.127.1.0 stratum 7\nserver 127.127.20.0\n' >"$D/refclock.conf"
out=$("$CHIMED" --check -c "$D/refclock.conf" 2>&1); rc=$?
check '[ $rc -eq 0 ]' "legacy refclock lines: --check exits 0 ($out)"
check 'printf "%s\n" "$out" | grep -q "refclock.conf:1: note: .*local stratum 7"' \
    "--check notes 127.127.1.0 + fudge stratum 7 as 'local stratum 7'"
check 'printf "%s\n" "$out" | grep -q "refclock.conf:3: warning: .*driver 20 .*NMEA"' \
    "--check warns about driver 20 (not supported) with file:line and the driver's name"
check 'printf "%s\n" "$out" | grep -q "OK (0 of 0 source lines used"' "neither line is a source ($out)"

# driver 28 is SHM (issue 17): a reference clock; unit 2 and up is
# world-writable, which --check says
printf 'server 127.127.28.2\nfudge 127.127.28.2 refid PPS time1 0.1\n' >"$D/shm.conf"
out=$("$CHIMED" --check -c "$D/shm.conf" 2>&1); rc=$?
check '[ $rc -eq 0 ] && printf "%s\n" "$out" | grep -q "shm.conf:1: note: .*SHM driver.*refclock shm unit 2 refid PPS time1 0.1"' \
    "--check reads 127.127.28.2 + fudge as an SHM reference clock ($out)"
check 'printf "%s\n" "$out" | grep -q "shm.conf:1: warning: SHM unit 2: .*world-writable"' \
    "--check flags SHM unit 2 as world-writable"
check 'printf "%s\n" "$out" | grep -q "; 1 reference clock;"' "the OK line counts the reference clock"

PORT=11991
printf 'port %d\ninterface listen 127.0.0.1\ncontrolsocket %s/rc.sock\n' "$PORT" "$D" \
    >>"$D/refclock.conf"
if start_chimed "$D/refclock.conf"; then
    out=$("$B/ntpprobe" -c 1 -t 5000 127.0.0.1 $PORT 2>&1)
    check 'printf "%s\n" "$out" | grep -q "stratum=7 "' \
        "served from the local clock at stratum 7 ($out)"
    src=$("$B/chimectl" -s "$D/rc.sock" sources 2>&1)
    check '! printf "%s\n" "$src" | grep -q "127\.127\."' \
        "no 127.127.t.u source is polled ($src)"
    check 'grep -q "refclock.conf:3: .*driver 20" "$CHIMED_LOG"' \
        "start-up logs the ignored driver with file:line"
    # finding 12: a port in use is an error (not a warning) naming the line
    out=$(timeout 60 "$CHIMED" -n -x -p "$D/second.pid" -c "$D/refclock.conf" 2>&1); rc=$?
    check '[ $rc -eq 1 ] && printf "%s\n" "$out" | grep -q "error: .*refclock.conf:5: cannot listen on 127.0.0.1:$PORT"' \
        "port in use: error level, the interface line, exit 1 ($out)"
    check 'printf "%s\n" "$out" | grep -q "error: start-up failed"' "start-up failed: error level"
else
    not_ok "chimed starts with legacy refclock lines"
fi

# ---- -q names each failed server and how (finding 12) -----------------------
printf 'server 127.0.0.1 port 11992 iburst\n' >"$D/once.conf"
out=$(timeout 120 "$CHIMED" -q -x -c "$D/once.conf" 2>&1); rc=$?
check '[ $rc -eq 1 ]' "-q with a refusing server: exit 1 (rc $rc)"
check 'printf "%s\n" "$out" | grep -q "127.0.0.1 (127.0.0.1:11992) is not answering: 4 requests unanswered (Connection refused)"' \
    "the silent server is logged after its burst, with how ($out)"
check 'printf "%s\n" "$out" | grep -q "127.0.0.1 (127.0.0.1:11992): no valid reply to 4 requests (Connection refused)"' \
    "-q's failure names the server and how"
