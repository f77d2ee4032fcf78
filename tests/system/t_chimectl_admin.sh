#!/bin/sh
# chimectl's administrative commands: makestep, offline, online.
#  - makestep on the fake kernel clock: chimed starts 0.3 s off with
#    `tinker step 0`, so its discipline never steps by itself; makestep
#    steps once (the shim counts steps=1) and leaves the clock within 1 ms.
#  - makestep against chimed -x: the error "clock control is off (-x)".
#  - offline: the server's received counter stops growing; activity shows
#    the source offline; online: requests flow again.
# A chimed -x server (local stratum 1) on port 11711; the client's own
# port 11712. Nothing moves the machine's clock.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

SPORT=11711
D=$(tmpdir)
if ! start_chimed_server $SPORT "$D/server.sock"; then
    not_ok "chimed server starts"
    exit 1
fi
SSOCK=$D/server.sock
cat >"$D/client.conf" <<CONF
server 127.0.0.1 port $SPORT iburst minpoll 3 maxpoll 3
port $((SPORT + 1))
interface listen 127.0.0.1
tos minclock 1 minsane 1
tinker step 0
controlsocket $D/client.sock
CONF
start_chimed_fake "$D/client.conf" 0.3 0
CSOCK=$D/client.sock
ctl() { "$B/chimectl" -s "$CSOCK" "$@"; }

# ---- makestep -----------------------------------------------------------------
i=0
while [ $i -lt 50 ] && [ ! -S "$CSOCK" ]; do sleep 0.1; i=$((i + 1)); done
ctl waitsync 30 >"$D/ws.txt" 2>&1
check '[ $? -eq 0 ]' "fake-clock chimed synchronises to the chimed server" ||
    { diag_file "$D/ws.txt"; diag_file "$CHIMED_LOG"; }
before=$(fake_offset_now_s)
check '[ "$(fake_field steps)" = 0 ] && ! abs_lt "$before" 0.1' \
    "tinker step 0: no step by itself, still ~0.3 s off ($before s, steps=$(fake_field steps))"
ctl makestep >"$D/ms.txt" 2>&1
rc=$?
diag_file "$D/ms.txt"
check '[ $rc -eq 0 ] && grep -q "^stepped the clock by [-+]0\.[0-9]* s" "$D/ms.txt"' \
    "chimectl makestep exits 0 and says by how much"
after=$(fake_offset_now_s)
check '[ "$(fake_field steps)" = 1 ] && abs_lt "$after" 0.001' \
    "makestep stepped once (steps=$(fake_field steps)) to within 1 ms (offset $after s)"
# the discipline knows: its next updates see a ~0 offset, no step back
sleep 3
check '[ "$(fake_field steps)" = 1 ] && abs_lt "$(fake_offset_now_s)" 0.001' \
    "still within 1 ms and no further step after the next polls ($(fake_offset_now_s) s)"
ctl -j makestep >"$D/ms.json" 2>&1
check '[ $? -eq 0 ] && python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"stepped\"] is True and abs(d[\"step_s\"]) < 0.001" "$D/ms.json"' \
    "chimectl -j makestep: JSON with the (now tiny) step"

"$B/chimectl" -s "$SSOCK" makestep >"$D/msx.txt" 2>&1
rc=$?
check '[ $rc -eq 1 ] && grep -q "clock control is off (-x)" "$D/msx.txt"' \
    "makestep against chimed -x: error 'clock control is off (-x)', exit 1"
"$B/chimectl" -s "$SSOCK" -j makestep >/dev/null 2>&1
check '[ $? -eq 1 ]' "makestep -j against chimed -x exits 1 too"

# ---- offline / online -----------------------------------------------------------
received() {
    "$B/chimectl" -s "$SSOCK" -j serverstats |
        python3 -c "import json,sys; print(json.load(sys.stdin)['received'])"
}
ctl offline >"$D/off.txt" 2>&1
check '[ $? -eq 0 ] && grep -q "offline" "$D/off.txt"' "chimectl offline exits 0"
ctl -j offline >"$D/off.json" 2>&1
check 'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"online\"] is False and d[\"sources\"] == 1" "$D/off.json"' \
    "chimectl -j offline: {online: false, sources: 1}"
sleep 1     # a request already on the wire
r1=$(received)
sleep 10    # more than a poll at minpoll 3
r2=$(received)
check '[ -n "$r1" ] && [ "$r1" = "$r2" ]' "offline: the server receives nothing ($r1 -> $r2)"
ctl -j activity >"$D/act.json"
check 'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"online\"] == 0 and d[\"offline\"] == 1, d" "$D/act.json"' \
    "activity while offline: 0 online, 1 offline"
ctl -j online >"$D/on.json" 2>&1
check '[ $? -eq 0 ] && python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"online\"] is True" "$D/on.json"' \
    "chimectl -j online exits 0"
i=0
while [ $i -lt 60 ] && [ "$(received)" = "$r2" ]; do sleep 0.25; i=$((i + 1)); done
r3=$(received)
check '[ "$r3" -gt "$r2" ]' "online: requests flow again ($r2 -> $r3)"
i=0
while [ $i -lt 40 ]; do
    ctl -j activity | grep -q '"online":1' && break
    sleep 0.25; i=$((i + 1))
done
check 'ctl -j activity | grep -q "\"online\":1"' "activity after online: 1 online"
