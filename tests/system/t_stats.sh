#!/bin/sh
# Statistics files: chimed -x polling a chimed server (local stratum 1)
# writes loopstats and peerstats into a statsdir in the test's tmpdir, in
# ntpd's layout: <file>.<YYYYMMDD> for today's UTC date, a <file> symlink
# to it, and lines whose fields are all numeric (MJD = days since
# 1858-11-17 of today's UTC date). A filegen type none file, too.
# Ports 11701-11703, loopback only, no clock is touched.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

SPORT=11701
D=$(tmpdir)
if ! start_chimed_server $SPORT "$D/server.sock"; then
    not_ok "chimed server starts"
    exit 1
fi
SD=$D/stats
mkdir -p "$SD"
cat >"$D/client.conf" <<CONF
port $((SPORT + 1))
interface listen 127.0.0.1
server 127.0.0.1 port $SPORT iburst minpoll 3 maxpoll 3
tos minclock 1 minsane 1
statsdir $SD
statistics loopstats peerstats
filegen loopstats file loopstats type day enable link
filegen peerstats file peers type day enable
CONF
if ! start_chimed "$D/client.conf"; then
    not_ok "chimed client starts"
    exit 1
fi
CLIENT_PID=$CHIMED_PID
CLIENT_LOG=$CHIMED_LOG

# The iburst gives several samples and discipline updates within seconds.
i=0
while [ $i -lt 100 ]; do
    [ -s "$SD/loopstats" ] && [ "$(wc -l <"$SD/peers" 2>/dev/null || echo 0)" -ge 3 ] && break
    sleep 0.2
    i=$((i + 1))
done
TODAY=$(date -u +%Y%m%d)
# MJD of today's UTC date: days since 1970-01-01 plus 40587
MJD=$(( $(date -u +%s) / 86400 + 40587 ))
check '[ -f "$SD/loopstats.$TODAY" ] && [ ! -L "$SD/loopstats.$TODAY" ]' \
    "loopstats.$TODAY exists (UTC date)" || { ls -la "$SD" | sed 's/^/# /'; diag_file "$CLIENT_LOG"; }
check '[ -f "$SD/peers.$TODAY" ]' "peerstats as filegen file peers: peers.$TODAY"
check '[ -L "$SD/loopstats" ] && [ "$(readlink "$SD/loopstats")" = "loopstats.$TODAY" ]' \
    "loopstats is a symlink to loopstats.$TODAY"
check '[ -L "$SD/peers" ] && [ "$(readlink "$SD/peers")" = "peers.$TODAY" ]' \
    "peers is a symlink to peers.$TODAY (link is the default)"
diag "loopstats: $(head -n 2 "$SD/loopstats.$TODAY" 2>/dev/null)"
diag "peerstats: $(head -n 2 "$SD/peers.$TODAY" 2>/dev/null)"

# Each line: field count, numeric fields, MJD of today, SOD in [0, 86400).
# Lines written just before UTC midnight may carry yesterday's MJD.
fmt_check() {
    awk -v nf="$2" -v mjd="$MJD" -v kind="$3" '
        function num(x) { return x ~ /^[-+]?[0-9]+(\.[0-9]+)?$/ }
        {
            n++
            if (NF != nf) { print "fields: " $0; bad++; next }
            if ($1 != mjd && $1 != mjd - 1) { print "mjd: " $0; bad++ }
            if (!num($2) || $2 !~ /\.[0-9][0-9][0-9]$/ || $2 < 0 || $2 >= 86400) { print "sod: " $0; bad++ }
            for (i = 3; i <= NF; i++) {
                if (kind == "peer" && i == 3) {
                    if ($3 !~ /^[0-9.]+$/ && $3 !~ /:/) { print "address: " $0; bad++ }
                } else if (kind == "peer" && i == 4) {
                    if ($4 !~ /^[0-9a-f]+$/) { print "status: " $0; bad++ }
                } else if (!num($i)) { print "field " i ": " $0; bad++ }
            }
            if (kind == "loop" && $7 !~ /^[0-9]+$/) { print "tc: " $0; bad++ }
        }
        END { if (n == 0) { print "no lines"; exit 1 } exit bad > 0 }' "$1"
}
check 'fmt_check "$SD/loopstats.$TODAY" 7 loop >"$D/lf.txt"' \
    "loopstats lines: MJD SOD offset freq jitter wander tc, numeric, MJD $MJD" ||
    diag_file "$D/lf.txt"
check 'fmt_check "$SD/peers.$TODAY" 8 peer >"$D/pf.txt"' \
    "peerstats lines: MJD SOD addr status offset delay disp jitter" || diag_file "$D/pf.txt"
check 'awk "\$3 != \"127.0.0.1\" { exit 1 }" "$SD/peers.$TODAY"' \
    "peerstats address is the source's address without the port"
# a reachable, configured source that was selected at some point: 0x80|0x10|6
check 'grep -q " 127.0.0.1 96[0-9a-f][0-9a-f] " "$SD/peers.$TODAY"' \
    "peerstats status word: configured, reachable, sys.peer (96xx)"
# one line per sample: the peer lines track the samples chimectl reports
nl=$(wc -l <"$SD/peers.$TODAY")
check '[ "$nl" -ge 3 ]' "several peerstats lines after the iburst ($nl)"

# SIGHUP reopens the files: one moved away (logrotate without
# copytruncate) is let go and a new one is started under the old name
mv "$SD/peers.$TODAY" "$D/peers.rotated"
kill -HUP "$CLIENT_PID"
i=0
while [ $i -lt 100 ] && ! [ -s "$SD/peers.$TODAY" ]; do sleep 0.2; i=$((i + 1)); done
check '[ -s "$SD/peers.$TODAY" ] && [ -s "$D/peers.rotated" ]' \
    "SIGHUP reopens the statistics files: a rotated peerstats file is started anew"
n_rot=$(wc -l <"$D/peers.rotated")
sleep 1
check '[ "$(wc -l <"$D/peers.rotated")" -eq "$n_rot" ]' \
    "nothing more is written into the rotated file ($n_rot lines)"
check 'grep -q "reload: 1 sources kept" "$CLIENT_LOG"' "the reload kept the source"
stop_pid "$CLIENT_PID"

# type none: one file, no date, no link; nolink honoured
SD2=$D/stats2
mkdir -p "$SD2"
cat >"$D/client2.conf" <<CONF
port $((SPORT + 2))
interface listen 127.0.0.1
server 127.0.0.1 port $SPORT iburst minpoll 3 maxpoll 3
tos minclock 1 minsane 1
statsdir $SD2
filegen loopstats file loop type none enable
filegen peerstats file peer type day nolink enable
CONF
if start_chimed "$D/client2.conf"; then
    i=0
    while [ $i -lt 100 ] && ! [ -s "$SD2/loop" ]; do sleep 0.2; i=$((i + 1)); done
    check '[ -f "$SD2/loop" ] && [ ! -L "$SD2/loop" ] && fmt_check "$SD2/loop" 7 loop >/dev/null' \
        "filegen type none: one file named as given, same line format"
    check '[ -f "$SD2/peer.$TODAY" ] && [ ! -e "$SD2/peer" ]' "filegen nolink: no symlink"
    stop_pid "$CHIMED_PID"
else
    not_ok "second chimed client starts"
fi

# a disk that never answers (here: a FIFO nobody reads, where open(2)
# blocks for ever) holds up the writer thread, never the daemon
SD4=$D/stats4
mkdir -p "$SD4"
mkfifo "$SD4/loop"
cat >"$D/client4.conf" <<CONF
port $((SPORT + 2))
interface listen 127.0.0.1
server 127.0.0.1 port $SPORT iburst minpoll 3 maxpoll 3
tos minclock 1 minsane 1
statsdir $SD4
filegen loopstats file loop type none enable
controlsocket $D/client4.sock
CONF
if start_chimed "$D/client4.conf"; then
    sleep 3
    check '"$B/ntpprobe" -c 5 -i 100 -t 500 127.0.0.1 $((SPORT + 2)) >/dev/null' \
        "with the statistics file stuck, chimed still answers NTP"
    check 'timeout 5 "$B/chimectl" -s "$D/client4.sock" tracking | grep -q "^Synchronised *: yes"' \
        "with the statistics file stuck, chimectl still answers and chimed synchronised"
    t0=$(date +%s)
    stop_pid "$CHIMED_PID"
    dt=$(( $(date +%s) - t0 ))
    check '[ "$dt" -le 5 ] && grep -q "statistics writer is stuck" "$CHIMED_LOG"' \
        "SIGTERM still exits promptly (${dt} s) and says the writer was left behind"
else
    not_ok "the chimed with a stuck statistics file starts"
fi

# an unwritable statsdir is logged, never fatal
cat >"$D/client3.conf" <<CONF
port $((SPORT + 2))
interface listen 127.0.0.1
server 127.0.0.1 port $SPORT iburst minpoll 3 maxpoll 3
statsdir $D/does-not-exist
statistics loopstats peerstats
CONF
if start_chimed "$D/client3.conf"; then
    i=0
    while [ $i -lt 50 ] && ! grep -q "cannot open" "$CHIMED_LOG"; do sleep 0.2; i=$((i + 1)); done
    check 'grep -q "cannot open .*does-not-exist/peerstats" "$CHIMED_LOG" && alive "$CHIMED_PID"' \
        "a missing statsdir is logged and chimed keeps running"
    nw=$(grep -c "cannot open" "$CHIMED_LOG")
    check '[ "$nw" -le 6 ]' "open failures are logged rate-limited ($nw lines)"
else
    not_ok "third chimed client starts"
fi
