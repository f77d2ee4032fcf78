#!/bin/sh
# Symmetric-key authentication (RFC 5905 MACs, RFC 8573 AES-128-CMAC):
#   a. chimed clients of a chimed server, with an AES128CMAC key and with a
#      SHA1 key: they select it; a client holding the wrong key value does
#      not, its source counts "auth" drops and the server counts auth_bad;
#   b. chronyd (-x) as a client of chimed with key 1 (AES128) and key 2
#      (SHA1): chronyd selects chimed; with a wrong key value it does not;
#   c. chimed clients of a chronyd server with the same keys: selected.
# Everything -x (no clock is touched), loopback, ports 11601..11612.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }
src_state() { chimectl_json "$1" sources | sed 's/},{/}\n{/g' | grep "\"address\":\"$2" |
    sed -n 's/.*"state":"\(.\)".*/\1/p'; }
# wait_selected SOCKET SECONDS: until the 127.0.0.1 source is the system peer
wait_selected() {
    _i=0
    while [ $_i -lt $(($2 * 4)) ] && [ "$(src_state "$1" 127.0.0.1)" != "*" ]; do
        sleep 0.25; _i=$((_i + 1))
    done
    [ "$(src_state "$1" 127.0.0.1)" = "*" ]
}
# wait_log FILE PATTERN SECONDS
wait_log() {
    _i=0
    while [ $_i -lt $(($3 * 2)) ] && ! grep -q "$2" "$1"; do sleep 0.5; _i=$((_i + 1)); done
    grep -q "$2" "$1"
}

CMAC_HEX=00112233445566778899aabbccddeeff
SHA1_HEX=0123456789abcdef0123456789abcdef01234567
D=$(tmpdir)
cat >"$D/server.keys" <<KEYS
# chimed's keys (ntpd format)
1 AES128CMAC $CMAC_HEX
2 SHA1 $SHA1_HEX   # comment
3 MD5 untrusted
KEYS
cat >"$D/wrong.keys" <<KEYS
1 AES128CMAC ffeeddccbbaa99887766554433221100
KEYS
chmod 600 "$D/server.keys" "$D/wrong.keys"

# ---- --check: the keys file and every "key N" are checked ----------------------------
printf '1 MD5 x\n5 SHA256 nope\n' >"$D/bad.keys"; chmod 600 "$D/bad.keys"
printf 'keys %s\nserver 127.0.0.1 key 1\n' "$D/bad.keys" >"$D/bad.conf"
out=$("$B/chimed" --check -c "$D/bad.conf" 2>&1)
check 'printf "%s\n" "$out" | grep -q "bad.keys:2: unknown key type (MD5, SHA1, AES128CMAC) .SHA256."' \
    "--check: a keys-file error names file, line and word"
printf 'keys %s\ntrustedkey 1\nserver 127.0.0.1 key 2\nserver 127.0.0.2 key 3\nserver 127.0.0.3 key 9\n' \
    "$D/server.keys" >"$D/check.conf"
out=$("$B/chimed" --check -c "$D/check.conf" 2>&1)
check 'printf "%s\n" "$out" | grep -q "check.conf:3: key 2 of .127.0.0.1. is not a trustedkey"' \
    "--check: an untrusted key N is reported"
# --check stops at the first error, as start-up does (one validation)
printf 'keys %s\ntrustedkey 1\nserver 127.0.0.3 key 9\n' "$D/server.keys" >"$D/check9.conf"
out=$("$B/chimed" --check -c "$D/check9.conf" 2>&1)
check 'printf "%s\n" "$out" | grep -q "check9.conf:3: key 9 of .127.0.0.3. is not in the keys file"' \
    "--check: a missing key N is reported"
echo "port 11611" >>"$D/check.conf"
timeout 10 "$B/chimed" -n -x -c "$D/check.conf" -p "$D/x.pid" >"$D/refuse.log" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "check.conf:3: key 2 of .127.0.0.1. is not a trustedkey" "$D/refuse.log"; then
    ok "chimed refuses to start with a 'key N' that is not trusted (exit 2, file:line)"
else
    not_ok "chimed refuses to start with a 'key N' that is not trusted"
    diag_file "$D/refuse.log"
fi

# ---- a: chimed server, chimed clients ------------------------------------------------
SPORT=11601
cat >"$D/server.conf" <<CONF
port $SPORT
interface listen 127.0.0.1
local stratum 1
keys $D/server.keys
trustedkey 1 2
CONF
if ! start_chimed "$D/server.conf"; then
    not_ok "a: chimed server with keys starts"
    exit 1
fi
SERVER_PID=$CHIMED_PID
SERVER_LOG=$CHIMED_LOG
check 'grep -q "3 keys from .*, 2 trusted" "$SERVER_LOG"' "a: the server loaded 3 keys, 2 trusted"

client() {   # NAME PORT KEYFILE KEYID SERVERPORT
    cat >"$D/$1.conf" <<CONF
server 127.0.0.1 port $5 iburst minpoll 3 maxpoll 4 key $4
port $2
interface listen 127.0.0.1
controlsocket $D/$1.sock
keys $3
trustedkey $4
CONF
    start_chimed "$D/$1.conf" || return 1
    eval "${1}_PID=\$CHIMED_PID ${1}_LOG=\$CHIMED_LOG"
}
client cmac 11602 "$D/server.keys" 1 $SPORT || not_ok "a: cmac client starts"
client sha1 11603 "$D/server.keys" 2 $SPORT || not_ok "a: sha1 client starts"
client wrong 11604 "$D/wrong.keys" 1 $SPORT || not_ok "a: wrong-key client starts"

if ! check 'wait_selected "$D/cmac.sock" 30' "a: AES128CMAC client selects the chimed server"; then
    diag_file "$cmac_LOG"
fi
check 'wait_selected "$D/sha1.sock" 10' "a: SHA1 client selects the chimed server"
sleep 3
check '[ "$(src_state "$D/wrong.sock" 127.0.0.1)" != "*" ]' \
    "a: the client with the wrong key value does not select it"
kill -USR1 "$wrong_PID" "$SERVER_PID" "$cmac_PID"; sleep 0.5
diag "$(grep 'auth' "$wrong_LOG" | tail -n 2)"
diag "$(grep 'auth:' "$SERVER_LOG" | tail -n 1)"
check 'grep -q "auth key 1: sent=[1-9][0-9]* received=[1-9][0-9]* dropped_auth=[1-9]" "$wrong_LOG"' \
    "a: the wrong-key client drops the replies (source drop reason auth)"
check 'grep -q "auth: ok=[1-9][0-9]* crypto_nak=[1-9][0-9]* auth_unknown_key=0 auth_bad=[1-9]" "$SERVER_LOG"' \
    "a: the server signs good requests and counts the bad ones as auth_bad (crypto-NAK)"
check 'grep -q "auth key 1: sent=[1-9][0-9]* received=[1-9][0-9]* dropped_auth=0" "$cmac_LOG"' \
    "a: the right-key client dropped nothing for auth"

# reload re-reads the keys file: a broken file is refused as a whole (the
# old keys stay), then the right key value makes the wrong client select
cp "$D/wrong.keys" "$D/wrong.keys.orig"
printf '1 AES128CMAC 0011\n' >"$D/wrong.keys"
kill -HUP "$wrong_PID"
check 'wait_log "$wrong_LOG" "reload failed: .*wrong.keys:1: " 5 && alive "$wrong_PID"' \
    "a: reload with a broken keys file fails naming file:line, chimed keeps running"
printf '1 AES128CMAC %s\n' "$CMAC_HEX" >"$D/wrong.keys"
kill -HUP "$wrong_PID"
check 'wait_log "$wrong_LOG" "reload: 1 sources kept" 5' "a: reload with the fixed keys file succeeds"
check 'wait_selected "$D/wrong.sock" 30' \
    "a: after the reload the client holds the right key and selects the server"
stop_pid "$cmac_PID"; stop_pid "$sha1_PID"; stop_pid "$wrong_PID"
cp "$D/wrong.keys.orig" "$D/wrong.keys"     # part c needs the wrong value again

if ! need_peers; then
    not_ok "reference peers unpacked"
    exit 1
fi

# ---- b: chronyd clients of the chimed server ------------------------------------------------
cat >"$D/chrony.keys" <<KEYS
1 AES128 HEX:$CMAC_HEX
2 SHA1 HEX:$SHA1_HEX
KEYS
printf '1 AES128 HEX:ffeeddccbbaa99887766554433221100\n' >"$D/chrony3.keys"
chmod 600 "$D/chrony.keys" "$D/chrony3.keys"
usr1_counters "$SERVER_PID" "$SERVER_LOG"
BAD_BEFORE=$(grep 'auth:' "$SERVER_LOG" | tail -n 1 | sed -n 's/.*auth_bad=\([0-9]*\).*/\1/p')
for k in 1 2 3; do
    kf=$D/chrony.keys; key=$k
    [ $k = 3 ] && { kf=$D/chrony3.keys; key=1; }
    cat >"$D/chrony$k.conf" <<CONF
server 127.0.0.1 port $SPORT key $key iburst minpoll 0 maxpoll 1
keyfile $kf
port 0
cmdport 0
pidfile $D/chronyd$k.pid
driftfile $D/drift$k
CONF
    start_bg "$D/chronyd$k.log" - "$CHRONYD" -x -d -u root -f "$D/chrony$k.conf"
    eval "CHRONY${k}_PID=\$BG_PID"
done
for k in 1 2; do
    alg=AES128; [ $k = 2 ] && alg=SHA1
    if ! check 'wait_log "$D/chronyd$k.log" "Selected source 127.0.0.1" 20' \
        "b: chronyd with key $k ($alg) selects chimed"; then
        diag_file "$D/chronyd$k.log" 20
    fi
done
check '! grep -q "Selected source 127.0.0.1" "$D/chronyd3.log"' \
    "b: chronyd with the wrong AES128 key value does not select chimed"
stop_pid "$CHRONY1_PID"; stop_pid "$CHRONY2_PID"; stop_pid "$CHRONY3_PID"
usr1_counters "$SERVER_PID" "$SERVER_LOG"
diag "$(grep 'auth:' "$SERVER_LOG" | tail -n 1)"
BAD_AFTER=$(grep 'auth:' "$SERVER_LOG" | tail -n 1 | sed -n 's/.*auth_bad=\([0-9]*\).*/\1/p')
check '[ "${BAD_AFTER:-0}" -gt "${BAD_BEFORE:-0}" ]' \
    "b: chimed counted the wrong-key chronyd's requests as auth_bad ($BAD_BEFORE -> $BAD_AFTER)"
stop_pid "$SERVER_PID"

# ---- c: chimed clients of a chronyd server ------------------------------------------------
CPORT=11605
cat >"$D/chronyd-server.conf" <<CONF
port $CPORT
allow
local stratum 1
bindaddress 127.0.0.1
keyfile $D/chrony.keys
cmdport 0
pidfile $D/chronyd-server.pid
driftfile $D/drift-server
CONF
start_bg "$D/chronyd-server.log" - "$CHRONYD" -x -d -u root -f "$D/chronyd-server.conf"
CSERVER_PID=$BG_PID
if ! wait_ntp 127.0.0.1 $CPORT 10 - "$CSERVER_PID"; then
    not_ok "c: chronyd server with keys starts"
    diag_file "$D/chronyd-server.log"
    exit 1
fi
client ccmac 11606 "$D/server.keys" 1 $CPORT || not_ok "c: cmac client starts"
client csha1 11607 "$D/server.keys" 2 $CPORT || not_ok "c: sha1 client starts"
client cwrong 11608 "$D/wrong.keys" 1 $CPORT || not_ok "c: wrong-key client starts"
if ! check 'wait_selected "$D/ccmac.sock" 30' "c: chimed (AES128CMAC) selects chronyd"; then
    diag_file "$ccmac_LOG"
fi
check 'wait_selected "$D/csha1.sock" 10' "c: chimed (SHA1) selects chronyd"
sleep 2
check '[ "$(src_state "$D/cwrong.sock" 127.0.0.1)" != "*" ]' \
    "c: chimed with the wrong key value does not select chronyd"
usr1_counters "$cwrong_PID" "$cwrong_LOG"
diag "$(grep 'auth key' "$cwrong_LOG" | tail -n 1)"
stop_pid "$ccmac_PID"; stop_pid "$csha1_PID"; stop_pid "$cwrong_PID"
stop_pid "$CSERVER_PID"
diag "wall time $(elapsed) s"
