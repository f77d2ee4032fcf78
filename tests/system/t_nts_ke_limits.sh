#!/bin/sh
# NTS-KE server limits: "nts maxsessions 3", "nts perclient 2" and the
# session timeout ("nts timeout").
#   a. two idle TCP connections from 127.0.0.1 hold two sessions; a third
#      from the same address is closed at once and logged (perclient);
#   b. one more from 127.0.0.2 fills the server (3 sessions); one from
#      127.0.0.3 is closed at once and logged (maxsessions); the idle ones
#      are still open;
#   c. once they close, a real client (tests/tools/ntsprobe) keys and is
#      served;
#   d. a second server with "nts timeout 1": an idle connection is cut off
#      by the server (logged at exit as ke_timed_out), and a client is
#      served meanwhile.
# Nothing here measures time: a refused connection is one the server
# closes before any byte is sent, an admitted idle one is still open
# (no end of file) when checked afterwards, with the server's timeout far
# longer than the test. Loopback only; chimed -x, without CAP_SYS_TIME.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

if ! command -v openssl >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
    skip "NTS-KE limits" "needs the openssl command and python3"
    exit 0
fi
D=$(tmpdir)
count() { grep -c "$1" "$2" 2>/dev/null || true; }
if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$D/k.key" -out "$D/k.pem" -days 2 -subj "/CN=localhost" \
        -addext subjectAltName=DNS:localhost 2>/dev/null; then
    not_ok "certificate made with openssl"
    exit 1
fi
server_conf() {     # NAME NTP_PORT KE_PORT TIMEOUT
    cat >"$D/$1.conf" <<CONF
port $2
interface listen 127.0.0.1
local stratum 1
controlsocket $D/$1.sock
nts enable
nts cert $D/k.pem
nts key $D/k.key
nts port $3
nts maxsessions 3
nts perclient 2
nts timeout $4
CONF
}
server_conf s 11571 14571 300
if ! start_chimed "$D/s.conf"; then not_ok "chimed NTS-KE server starts"; exit 1; fi
S_PID=$CHIMED_PID; S_LOG=$CHIMED_LOG

# The idle connections: a python helper holds them and reports each one's
# state; it waits for our "go" files, so the log can be read in between.
cat >"$D/idle.py" <<'PY'
import os, socket, sys, time
port, d = int(sys.argv[1]), sys.argv[2]
def conn(src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s
def closed_by_server(s, wait):
    """EOF (or a reset) within wait seconds: the server closed it."""
    s.settimeout(wait)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True
def wait_for(name):
    for _ in range(1200):               # bounded: 120 s
        if os.path.exists(os.path.join(d, name)):
            return
        time.sleep(0.1)
    sys.exit("no " + name)
a1, a2 = conn("127.0.0.1"), conn("127.0.0.1")
a3 = conn("127.0.0.1")
print("a3", "closed" if closed_by_server(a3, 60) else "open", flush=True)
b1 = conn("127.0.0.2")
wait_for("go")                          # the test saw b1 admitted... or not
c1 = conn("127.0.0.3")
print("c1", "closed" if closed_by_server(c1, 60) else "open", flush=True)
for n, s in (("a1", a1), ("a2", a2), ("b1", b1)):
    print(n, "closed" if closed_by_server(s, 0.2) else "open", flush=True)
for s in (a1, a2, b1):
    s.close()
print("done", flush=True)
PY
start_bg "$D/idle.out" - python3 "$D/idle.py" 14571 "$D"
IDLE_PID=$BG_PID
i=0
while [ $i -lt 600 ] && ! grep -q "^a3" "$D/idle.out"; do sleep 0.1; i=$((i + 1)); done
check 'grep -q "^a3 closed" "$D/idle.out"' "a: a third connection from one address is closed"
check 'grep -q "NTS-KE connection from 127.0.0.1 refused: 2 sessions from that address already (nts perclient 2" "$S_LOG"' \
    "a: ... and logged, naming the address and the limit"
# b1 is accepted by the acceptor after a3 was refused (one queue, in order):
# it holds the third session once "go" is given. Ask the server: with
# three sessions in progress, a connection from elsewhere must be refused.
: >"$D/go"
i=0
while [ $i -lt 600 ] && ! grep -q "^done" "$D/idle.out"; do sleep 0.1; i=$((i + 1)); done
diag "idle: $(tr '\n' ' ' <"$D/idle.out")"
check 'grep -q "^c1 closed" "$D/idle.out"' "b: with 3 sessions in progress a fourth is closed"
check 'grep -q "NTS-KE connection from 127.0.0.3 refused: 3 sessions in progress (nts maxsessions 3" "$S_LOG"' \
    "b: ... and logged"
check 'grep -q "^a1 open" "$D/idle.out" && grep -q "^a2 open" "$D/idle.out" &&
       grep -q "^b1 open" "$D/idle.out"' "b: the admitted idle connections were still open"
stop_pid "$IDLE_PID"

# c: they are gone; a client is served (the sessions end as their peers
# close, so a few tries may be needed: bounded)
i=0
while [ $i -lt 50 ] && ! "$B/ntsprobe" -c "$D/k.pem" -n 1 localhost 14571 >"$D/probe.out" 2>&1; do
    sleep 0.2; i=$((i + 1))
done
if ! check 'grep -q "summary sent=1 ok=1 " "$D/probe.out"' \
    "c: once the idle connections close, a client keys and is served"; then
    diag_file "$D/probe.out"
    diag_file "$S_LOG"
fi
stop_pid "$S_PID"
check 'grep -q "ke_refused_busy=[1-9][0-9]* ke_refused_peer=[1-9]" "$S_LOG"' \
    "the refusals are counted (ke_refused_busy, ke_refused_peer)"

# d: the session timeout
server_conf t 11572 14572 1
if ! start_chimed "$D/t.conf"; then not_ok "d: chimed with nts timeout 1 starts"; exit 1; fi
T_PID=$CHIMED_PID; T_LOG=$CHIMED_LOG
cat >"$D/slow.py" <<'PY'
import socket, sys
s = socket.socket()
s.connect(("127.0.0.1", int(sys.argv[1])))
s.settimeout(120)                       # bounded; the server's limit is 1 s
try:
    print("closed" if s.recv(1) == b"" else "data", flush=True)
except socket.timeout:
    print("open", flush=True)
except OSError:
    print("closed", flush=True)
PY
python3 "$D/slow.py" 14572 >"$D/slow.out" 2>&1
check 'grep -q "^closed" "$D/slow.out"' "d: an idle connection is cut off by the server's timeout"
"$B/ntsprobe" -c "$D/k.pem" -n 1 localhost 14572 >"$D/probe2.out" 2>&1
check 'grep -q "summary sent=1 ok=1 " "$D/probe2.out"' "d: a client is served by that server"
stop_pid "$T_PID"
check 'grep -q "ke_timed_out=[1-9]" "$T_LOG"' "d: the timeout is counted (ke_timed_out)"
