#!/bin/sh
# NTS interop with NTPsec's ntpd (1.2.2, unpacked by peers.sh, never
# installed), both ways, in two namespaces of our own joined by a veth:
#
#   namespace A: chimed -x, stratum 1, NTS server (KE on 4460) on
#                10.124.0.1 port 123, certificate for IP 10.124.0.1;
#                later a chimed -x NTS client of B's ntpd;
#   namespace B: ntpd, "server 10.124.0.1 nts", and an NTS server itself
#                ("nts enable", its cookie keys in a file of the test's),
#                certificate for IP 10.124.0.2.
#
# ntpd runs as in t_ntpsec.sh: without CAP_SYS_TIME its clock calls fail
# (EPERM) and nothing moves; it still selects its server and serves once
# it has. Certificates come from a CA the test makes with openssl.
#   a. ntpd keys with chimed (its log says so), selects it, and chimed
#      counts the NTS requests it authenticated and answered;
#   b. chimed keys with ntpd, selects it, every sample NTS-authenticated
#      (chimectl -j sources: nts true, the exchange's result).
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

if ! need_peers; then
    not_ok "reference peers unpacked"
    exit 1
fi
if [ -z "${NTPD:-}" ]; then
    skip "NTS interop with ntpsec's ntpd" "ntpsec's ntpd is not available (peers.sh)"
    exit 0
fi
if ! command -v openssl >/dev/null 2>&1; then
    skip "NTS interop with ntpsec's ntpd" "needs the openssl command"
    exit 0
fi
T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }
src_json() { chimectl_json "$1" sources; }
src_state() { src_json "$1" | sed -n 's/.*"state":"\(.\)".*/\1/p' | head -n 1; }

A_ADDR=10.124.0.1
B_ADDR=10.124.0.2
NS_A=$(netns_name ntsa)
NS_B=$(netns_name ntsb)
if ! netns_setup "$NS_A" || ! netns_setup "$NS_B" ||
    ! netns_veth "$NS_A" "$A_ADDR/24" "$NS_B" "$B_ADDR/24"; then
    not_ok "two namespaces joined by a veth pair"
    exit 1
fi

D=$(tmpdir)
mkcert() {      # NAME IP
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$D/$1.key" -out "$D/$1.csr" -subj "/CN=$2" 2>/dev/null &&
    printf 'subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\n' "$2" >"$D/$1.ext" &&
    openssl x509 -req -in "$D/$1.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" -CAcreateserial \
        -out "$D/$1.pem" -days 2 -extfile "$D/$1.ext" 2>/dev/null
}
if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$D/ca.key" -out "$D/ca.pem" -days 2 -subj "/CN=chime ntpsec CA" 2>/dev/null ||
    ! mkcert a "$A_ADDR" || ! mkcert b "$B_ADDR"; then
    not_ok "certificates made with openssl"
    exit 1
fi
# ntpd reads its key as whatever user it runs as; the files stay in the test's directory
chmod 644 "$D/b.key"

# ---- A: chimed, NTS server -----------------------------------------------------------------
cat >"$D/srv.conf" <<CONF
port 123
interface listen $A_ADDR
interface listen 127.0.0.1
local stratum 1
controlsocket $D/srv.sock
nts enable
nts cert $D/a.pem
nts key $D/a.key
CONF
if ! start_chimed "$D/srv.conf" "$NS_A"; then not_ok "chimed NTS server starts in A"; exit 1; fi
SRV_PID=$CHIMED_PID; SRV_LOG=$CHIMED_LOG

# ---- B: ntpd, NTS client of chimed and NTS server --------------------------------------------
ND=$(tmpdir)
cat >"$ND/ntp.conf" <<CONF
server $A_ADDR nts iburst minpoll 3 maxpoll 4
nts ca $D/ca.pem
nts enable
nts cert $D/b.pem
nts key $D/b.key
nts cookie $ND/nts-keys
statsdir $ND/
driftfile $ND/ntp.drift
CONF
start_bg "$ND/ntpd.log" "$NS_B" "$NTPD" -n -d -d -c "$ND/ntp.conf"
NTPD_PID=$BG_PID
ntpd_answer() { in_netns "$NS_B" "$B/ntpprobe" -a -t 300 "$B_ADDR" 123 2>&1; }
ntpd_serves() { ntpd_answer | grep -q 'stratum=2 .*leap=0'; }
i=0
while [ $i -lt 90 ] && alive "$NTPD_PID" && ! ntpd_serves; do sleep 1; i=$((i + 1)); done
if ! check 'ntpd_serves' "a: ntpd, an NTS client of chimed, synchronises to it and serves stratum 2 (after $(elapsed) s)"; then
    diag "ntpd answers: $(ntpd_answer)"
    alive "$NTPD_PID" || diag "ntpd exited"
    diag_file "$ND/ntpd.log" 60
fi
# ntpd's refid is the server it selected: chimed, its only (NTS) source.
# (ntpq -p against this ntpd times out here; shown for the record.)
pe=$(in_netns "$NS_B" "$NTPQ" -n -p "$B_ADDR" 2>&1)
diag "ntpq -p: $(printf '%s' "$pe" | tr '\n' '|')"
check 'ntpd_answer | grep -q "stratum=2 refid=$A_ADDR "' \
    "a: ntpd selected chimed (its replies carry refid $A_ADDR)"
if ! check 'grep -q "NTSc: Got 8 cookies\|NTSc: got 8 cookies\|NTSc.*8 cookies" "$ND/ntpd.log"' \
    "a: ntpd's log shows the key exchange with chimed (8 cookies)"; then
    grep -i "nts" "$ND/ntpd.log" | head -n 20 | sed 's/^/# /'
fi
usr1_counters "$SRV_PID" "$SRV_LOG"
line=$(grep "nts_requests=" "$SRV_LOG" | tail -n 1)
diag "chimed: $line"
check 'printf "%s" "$line" | grep -q "ke_sessions=[1-9].* nts_requests=[1-9][0-9]* naks=0 dropped=0"' \
    "a: chimed authenticated and answered ntpd's NTS requests (no NAK, nothing dropped)"

# ntpq reads the same counters from chimed over mode 6 (from loopback: a
# remote address may not query), by NTPsec's names
rv=$(in_netns "$NS_A" "$NTPQ" -c "rv 0 nts_server_recv_good,nts_server_recv_bad,nts_ke_serves_good" 127.0.0.1 2>&1)
diag "a: ntpq rv: $(printf '%s' "$rv" | tr '\n' ' ')"
check 'printf "%s" "$rv" | grep -q "nts_server_recv_good=[1-9]" &&
       printf "%s" "$rv" | grep -q "nts_server_recv_bad=0" &&
       printf "%s" "$rv" | grep -q "nts_ke_serves_good=[1-9]"' \
    "a: ntpq reads chimed's NTS counters (nts_server_recv_good, nts_ke_serves_good)"

# ---- A: chimed, NTS client of ntpd ----------------------------------------------------------
cat >"$D/cl.conf" <<CONF
server $B_ADDR nts iburst minpoll 3 maxpoll 4
nts ca $D/ca.pem
port 11598
interface listen 127.0.0.1
controlsocket $D/cl.sock
CONF
if ! start_chimed "$D/cl.conf" "$NS_A"; then not_ok "b: chimed NTS client starts in A"; exit 1; fi
CL_LOG=$CHIMED_LOG
i=0
while [ $i -lt 160 ] && [ "$(src_state "$D/cl.sock")" != "*" ]; do sleep 0.25; i=$((i + 1)); done
j=$(src_json "$D/cl.sock")
diag "b: $j"
if ! check '[ "$(src_state "$D/cl.sock")" = "*" ]' \
    "b: chimed, an NTS client of ntpd, selects it (after $(elapsed) s)"; then
    diag_file "$CL_LOG"
    diag_file "$ND/ntpd.log" 30
fi
check 'grep -q "NTS-KE with $B_ADDR: [1-8] cookies" "$CL_LOG"' "b: the key exchange with ntpd gave cookies"
check 'printf "%s" "$j" | grep -q "\"nts\":true" && printf "%s" "$j" | grep -q "\"nts_ke\":\"ok, "' \
    "b: chimectl -j sources says NTS-authenticated, and the exchange's result"
check '! grep -q "NTS reply rejected" "$CL_LOG"' "b: no reply from ntpd rejected"
txt=$("$B/chimectl" -s "$D/cl.sock" sources 2>/dev/null)
diag "b: $(printf '%s' "$txt" | tail -n 1)"
check 'printf "%s" "$txt" | grep -q "^\*$B_ADDR .*  nts [1-8]$"' \
    "b: chimectl sources marks it: nts and the cookies held"

stop_pid "$NTPD_PID"
stop_pid "$SRV_PID"
diag "wall time $(elapsed) s"
