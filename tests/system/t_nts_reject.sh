#!/bin/sh
# NTS certificates refused, each with a message naming the file or the
# reason (the tampered reply, the wrong host name and the replayed request
# are in t_nts.sh and t_nts_fleet.sh):
#   a. an expired server certificate (made with "openssl ca -startdate
#      -enddate" in 2020, no faked clock): chimed as NTS client refuses the
#      key exchange and logs "certificate has expired"; the source is never
#      polled. The server is "openssl s_server" (TLS 1.3, ALPN ntske/1):
#      the refusal happens in the handshake, before any NTS-KE record;
#   b. chimed --check and start-up (one validation, engine_validate) refuse
#      an expired nts cert, a key that does not match it, a missing key
#      file and a CA file without a certificate, with file:line and the
#      file's name, and exit 2; a world-readable key is a security finding;
#      the good files pass.
# Loopback only; chimed -x, without CAP_SYS_TIME.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

if ! command -v openssl >/dev/null 2>&1; then
    skip "NTS certificate rejections" "needs the openssl command"
    exit 0
fi
D=$(tmpdir)
CHIMED="$B/chimed"
newkey() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$D/$1.key" -out "$D/$1.csr" -subj "/CN=localhost" 2>/dev/null; }
mkdir "$D/db"
: >"$D/db/index"
echo 01 >"$D/db/serial"
cat >"$D/ca.cnf" <<CNF
[ ca ]
default_ca = t
[ t ]
database = $D/db/index
unique_subject = no
new_certs_dir = $D/db
serial = $D/db/serial
default_md = sha256
policy = any
x509_extensions = ext
[ any ]
commonName = supplied
[ ext ]
subjectAltName = DNS:localhost
basicConstraints = CA:FALSE
CNF
sign() {        # NAME START END
    openssl ca -batch -config "$D/ca.cnf" -cert "$D/ca.pem" -keyfile "$D/ca.key" \
        -in "$D/$1.csr" -out "$D/$1.pem" -startdate "$2" -enddate "$3" >/dev/null 2>&1
}
now=$(date -u +%Y%m%d%H%M%SZ)
later=$(date -u -d '+2 days' +%Y%m%d%H%M%SZ)
if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$D/ca.key" -out "$D/ca.pem" -days 2 -subj "/CN=chime reject CA" 2>/dev/null ||
    ! newkey old || ! sign old 20200101000000Z 20200102000000Z ||
    ! newkey good || ! sign good "$now" "$later" || ! newkey other; then
    not_ok "certificates made with openssl ca (one valid in 2020 only)"
    exit 1
fi
chmod 600 "$D"/*.key
ok "certificates made with openssl ca: $(openssl x509 -in "$D/old.pem" -noout -enddate)"

# ---- a: an expired certificate ---------------------------------------------------------------
start_bg "$D/s_server.log" - openssl s_server -accept 14591 -cert "$D/old.pem" \
    -key "$D/old.key" -tls1_3 -alpn ntske/1 -naccept 20 -quiet
SS_PID=$BG_PID
i=0
while [ $i -lt 100 ] && ! ss -ltn 2>/dev/null | grep -q ":14591 "; do sleep 0.1; i=$((i + 1)); done
cat >"$D/cl.conf" <<CONF
server localhost nts ntsport 14591 iburst minpoll 3 maxpoll 4
nts ca $D/ca.pem
port 11591
interface listen 127.0.0.1
controlsocket $D/cl.sock
CONF
if ! start_chimed "$D/cl.conf"; then not_ok "a: chimed NTS client starts"; exit 1; fi
CL_LOG=$CHIMED_LOG
i=0
while [ $i -lt 120 ] && ! grep -q "NTS-KE with localhost failed" "$CL_LOG"; do
    sleep 0.25; i=$((i + 1))
done
if ! check 'grep -q "NTS-KE with localhost failed: certificate verification failed: certificate has expired" "$CL_LOG"' \
    "a: an expired certificate is refused, and the log says so"; then
    diag_file "$CL_LOG"
fi
check '! grep -q "source localhost" "$CL_LOG"' "a: the source is never polled"
stop_pid "$CHIMED_PID"
stop_pid "$SS_PID"

# ---- b: --check and start-up ----------------------------------------------------------------
refused() {     # NAME WHAT PATTERN
    pat=$3
    cout=$("$CHIMED" --check -c "$D/$1.conf" 2>&1); crc=$?
    check '[ $crc -eq 2 ] && printf "%s\n" "$cout" | grep -q -- "$pat"' "b: $2: --check refuses it ($cout)"
    sout=$(timeout 60 "$CHIMED" -n -x -p "$D/$1.pid" -c "$D/$1.conf" 2>&1); src=$?
    check '[ $src -eq 2 ] && [ "$sout" = "$cout" ]' "b: $2: start-up refuses it the same way"
}
srv() {         # NAME CERT KEY [CA]
    { printf 'port 11592\ninterface listen 127.0.0.1\nnts enable\n'
      printf 'nts cert %s\nnts key %s\n' "$2" "$3"
      [ -n "${4:-}" ] && printf 'nts ca %s\n' "$4"; } >"$D/$1.conf"
}
srv expired "$D/old.pem" "$D/old.key"
refused expired "an expired nts cert" "expired.conf:5: nts cert $D/old.pem: expired (not after Jan  2 00:00:00 2020 GMT)"
srv mismatch "$D/good.pem" "$D/other.key"
refused mismatch "a key that does not match" "mismatch.conf:5: nts key $D/other.key does not match the certificate in nts cert $D/good.pem"
srv nokey "$D/good.pem" "$D/none.key"
refused nokey "a missing key file" "nokey.conf:5: nts key $D/none.key: No such file"
srv badca "$D/good.pem" "$D/good.key" "$D/good.key"
refused badca "a CA file without a certificate" "badca.conf:6: nts ca $D/good.key: no PEM certificate"
srv good "$D/good.pem" "$D/good.key" "$D/ca.pem"
out=$("$CHIMED" --check -c "$D/good.conf" 2>&1); rc=$?
check '[ $rc -eq 0 ] && printf "%s\n" "$out" | grep -q ": OK"' "b: the good files pass --check ($out)"
chmod 644 "$D/good.key"
out=$("$CHIMED" --check -c "$D/good.conf" 2>&1)
check 'printf "%s\n" "$out" | grep -q "$D/good.key: security: nts key file is readable by everyone (mode 644)"' \
    "b: a world-readable nts key is a security finding"
