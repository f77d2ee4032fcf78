#!/bin/sh
# NTS (RFC 8915): chimed as an NTS client of chronyd 4.3 (unpacked, -x).
#   a. chimed keys with chronyd's NTS-KE (certificate from a CA made here
#      with the openssl command, "nts ca"), then selects it, every sample
#      NTS-authenticated (chimectl -j sources: nts, cookies, key exchange);
#   b. a certificate for another host name: the key exchange is refused
#      with a clear log line, and the source is never polled;
#   c. a proxy that flips one bit of each of chronyd's replies (the
#      transmit timestamp): every reply is rejected (log line), the source
#      never becomes reachable;
#   d. chimed as the NTS server ("nts enable"): chronyd and chimed, its NTS
#      clients, select it (chronyd uses an NTS source only authenticated);
#   e. the server restarts with a new cookie key: the client's next
#      request gets an NTS NAK, and it keys again.
# Loopback only (127.0.0.1, and 127.0.0.2 for the proxy); no daemon has
# CAP_SYS_TIME, chronyd runs with -x, chimed with -x.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

if ! need_peers; then
    not_ok "reference peers unpacked"
    exit 1
fi
if ! command -v openssl >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
    skip "NTS interop" "needs the openssl command and python3"
    exit 0
fi
T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }
src_json() { chimectl_json "$1" sources; }
src_state() { src_json "$1" | sed -n 's/.*"state":"\(.\)".*/\1/p' | head -n 1; }

# ---- certificates: a CA, a server certificate for localhost, one for another name ----
D=$(tmpdir)
mkcert() {      # NAME SAN
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$D/$1.key" -out "$D/$1.csr" -subj "/CN=$1" 2>/dev/null &&
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\n' "$2" >"$D/$1.ext" &&
    openssl x509 -req -in "$D/$1.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" -CAcreateserial \
        -out "$D/$1.pem" -days 2 -extfile "$D/$1.ext" 2>/dev/null
}
if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$D/ca.key" -out "$D/ca.pem" -days 2 -subj "/CN=chime test CA" 2>/dev/null ||
    ! mkcert good DNS:localhost || ! mkcert wrong DNS:ntp.wrong.example; then
    not_ok "certificates made with openssl"
    exit 1
fi
ok "certificates made with openssl (CA, localhost, ntp.wrong.example)"

# chronyd NTS server: NAME NTP_PORT KE_PORT CERT [extra line]
start_nts_chronyd() {
    cat >"$D/$1.conf" <<CONF
port $2
allow
local stratum 1
bindaddress 127.0.0.1
cmdport 0
ntsserverkey $D/$4.key
ntsservercert $D/$4.pem
ntsport $3
pidfile $D/$1.pid
driftfile $D/$1.drift
${5:-}
CONF
    start_bg "$D/$1.log" - "$CHRONYD" -x -d -u root -f "$D/$1.conf"
}

# chimed NTS client: NAME KE_HOST KE_PORT OWN_PORT
start_nts_chimed() {
    cat >"$D/$1.conf" <<CONF
server $2 nts ntsport $3 iburst minpoll 3 maxpoll 4
nts ca $D/ca.pem
port $4
interface listen 127.0.0.1
controlsocket $D/$1.sock
CONF
    start_chimed "$D/$1.conf"
}

start_nts_chronyd ca 11541 14541 good
CA_PID=$BG_PID
start_nts_chronyd cb 11542 14542 wrong
CB_PID=$BG_PID
start_nts_chronyd cc 11543 14543 good "ntsntpserver 127.0.0.2"
CC_PID=$BG_PID
for p in 11541 11542 11543; do
    if ! wait_ntp 127.0.0.1 $p 10 - ""; then
        not_ok "chronyd NTS servers start"
        diag_file "$D/ca.log"
        exit 1
    fi
done

# ---- c's proxy: 127.0.0.2:11543 -> chronyd 127.0.0.1:11543, one bit flipped back ------
cat >"$D/tamper.py" <<'PY'
import select, socket, sys, time
lst = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
lst.bind(("127.0.0.2", 11543))
up = {}                 # client address -> its upstream socket
end = time.time() + 120  # bounded
while time.time() < end:
    socks = [lst] + list(up.values())
    r, _, _ = select.select(socks, [], [], 1.0)
    for s in r:
        data, peer = s.recvfrom(2048)
        if s is lst:
            if peer not in up:
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                u.connect(("127.0.0.1", 11543))
                up[peer] = u
            up[peer].send(data)
        else:
            client = [k for k, v in up.items() if v is s][0]
            b = bytearray(data)
            if len(b) >= 48:
                b[47] ^= 1      # the transmit timestamp's last bit
            lst.sendto(bytes(b), client)
            print("tampered", len(b), flush=True)
PY
start_bg "$D/tamper.log" - python3 "$D/tamper.py"
TAMPER_PID=$BG_PID

if ! start_nts_chimed a localhost 14541 11545; then not_ok "a: chimed starts"; exit 1; fi
A_LOG=$CHIMED_LOG
if ! start_nts_chimed b localhost 14542 11546; then not_ok "b: chimed starts"; exit 1; fi
B_LOG=$CHIMED_LOG
if ! start_nts_chimed c localhost 14543 11547; then not_ok "c: chimed starts"; exit 1; fi
C_LOG=$CHIMED_LOG

# ---- a: selected, authenticated ---------------------------------------------------------
i=0
while [ $i -lt 120 ] && [ "$(src_state "$D/a.sock")" != "*" ]; do sleep 0.25; i=$((i + 1)); done
if ! check '[ "$(src_state "$D/a.sock")" = "*" ]' \
    "a: chimed selects chronyd over NTS (after $(elapsed) s)"; then
    diag_file "$A_LOG"
    diag_file "$D/ca.log"
fi
check 'grep -q "NTS-KE with localhost: 8 cookies, NTP server localhost port 11541" "$A_LOG"' \
    "a: the key exchange gave 8 cookies and named chronyd's NTP port"
j=$(src_json "$D/a.sock")
diag "a: $j"
check 'printf "%s" "$j" | grep -q "\"nts\":true"' "a: chimectl -j sources says nts"
check 'printf "%s" "$j" | grep -q "\"nts_ke\":\"ok, 8 cookies\""' "a: ... and the exchange's result"
# every request used one cookie and each reply brought one back (and the
# placeholders more): the stock stays near 8 over the burst's exchanges
samples() {
    _v=$(chimectl_json "$D/a.sock" sourcestats | sed -n 's/.*"samples":\([0-9]*\).*/\1/p')
    echo "${_v:-0}"
}
i=0
while [ $i -lt 120 ] && [ "$(samples)" -lt 4 ]; do sleep 0.25; i=$((i + 1)); done
n=$(src_json "$D/a.sock" | sed -n 's/.*"nts_cookies":\([0-9]*\).*/\1/p')
k=$(samples)
check '[ "${k:-0}" -ge 4 ] && [ "${n:-0}" -ge 7 ]' \
    "a: the cookie stock is kept up over several exchanges (samples $k, cookies $n)"
check '! grep -q "NTS reply rejected" "$A_LOG"' "a: no reply rejected"

# ---- b: wrong host name --------------------------------------------------------------------
i=0
while [ $i -lt 40 ] && ! grep -q "NTS-KE with localhost failed" "$B_LOG"; do
    sleep 0.25; i=$((i + 1))
done
if ! check 'grep -q "NTS-KE with localhost failed: certificate verification failed: hostname mismatch" "$B_LOG"' \
    "b: a certificate for another name is refused, and the log says why"; then
    diag_file "$B_LOG"
fi
check '[ "$(src_state "$D/b.sock")" != "*" ] && ! grep -q "source localhost" "$B_LOG"' \
    "b: the source is never polled"

# ---- c: tampered replies --------------------------------------------------------------------
i=0
while [ $i -lt 60 ] && ! grep -q "NTS reply rejected" "$C_LOG"; do sleep 0.25; i=$((i + 1)); done
if ! check 'grep -q "localhost: NTS reply rejected: authenticator does not verify" "$C_LOG"' \
    "c: a tampered reply is rejected, and the log says why"; then
    diag_file "$C_LOG"
    diag_file "$D/tamper.log"
fi
check 'grep -q "NTP server 127.0.0.2 port 11543" "$C_LOG"' \
    "c: the key exchange sent chimed to the proxy (server record)"
sleep 2
r=$(src_json "$D/c.sock" | sed -n 's/.*"reach":\([0-9]*\).*/\1/p')
check '[ "${r:-1}" = 0 ] && [ "$(src_state "$D/c.sock")" != "*" ]' \
    "c: the source never becomes reachable (reach $r)"
check 'grep -q tampered "$D/tamper.log"' "c: the proxy did tamper"

# ---- d: chimed serves NTS to chronyd and to chimed ------------------------------------------
cat >"$D/srv.conf" <<CONF
port 11551
interface listen 127.0.0.1
local stratum 1
nts enable
nts cert $D/good.pem
nts key $D/good.key
nts port 14551
CONF
if ! start_chimed "$D/srv.conf"; then not_ok "d: chimed NTS server starts"; exit 1; fi
SRV_PID=$CHIMED_PID
SRV_LOG=$CHIMED_LOG
cat >"$D/cd.conf" <<CONF
server localhost iburst nts ntsport 14551 minpoll 0 maxpoll 1
ntstrustedcerts $D/ca.pem
port 0
cmdport 0
pidfile $D/cd.pid
driftfile $D/cd.drift
CONF
start_bg "$D/cd.log" - "$CHRONYD" -x -d -u root -f "$D/cd.conf"
CD_PID=$BG_PID
if ! start_nts_chimed d localhost 14551 11552; then not_ok "d: chimed client starts"; exit 1; fi
D_LOG=$CHIMED_LOG
i=0
while [ $i -lt 80 ] && ! grep -q "Selected source 127.0.0.1" "$D/cd.log"; do
    sleep 0.25; i=$((i + 1))
done
if ! check 'grep -q "Selected source 127.0.0.1" "$D/cd.log"' \
    "d: chronyd, an NTS client of chimed, selects it (after $(elapsed) s)"; then
    diag_file "$D/cd.log"
    diag_file "$SRV_LOG"
fi
check '! grep -qi "nts.*\(fail\|error\|invalid\)\|NAK" "$D/cd.log"' "d: chronyd reports no NTS error"
i=0
while [ $i -lt 80 ] && [ "$(src_state "$D/d.sock")" != "*" ]; do sleep 0.25; i=$((i + 1)); done
if ! check '[ "$(src_state "$D/d.sock")" = "*" ]' "d: chimed, an NTS client of chimed, selects it"; then
    diag_file "$D_LOG"
fi
stop_pid "$CD_PID"

# ---- e: a restarted server (new cookie key) NAKs the old cookies; the client keys again ------
stop_pid "$SRV_PID"
n0=$(grep -c "NTS-KE with localhost: 8 cookies" "$D_LOG")
if ! start_chimed "$D/srv.conf"; then not_ok "e: chimed NTS server restarts"; exit 1; fi
SRV_PID=$CHIMED_PID
SRV_LOG=$CHIMED_LOG
i=0
while [ $i -lt 240 ] && [ "$(grep -c "NTS-KE with localhost: 8 cookies" "$D_LOG")" -le "$n0" ]; do
    sleep 0.25; i=$((i + 1))
done
if ! check 'grep -q "localhost: NTS NAK (cookie refused); keying again" "$D_LOG"' \
    "e: the old cookie gets an NTS NAK, and the log says so"; then
    diag_file "$D_LOG"
fi
check '[ "$(grep -c "NTS-KE with localhost: 8 cookies" "$D_LOG")" -gt "$n0" ]' \
    "e: ... and the client keys again (after $(elapsed) s)"
stop_pid "$SRV_PID"
check 'grep -q "naks=[1-9]" "$SRV_LOG"' "e: the server counted the NAKs"

stop_pid "$TAMPER_PID"
stop_pid "$CA_PID"
stop_pid "$CB_PID"
stop_pid "$CC_PID"
diag "wall time $(elapsed) s"
