#!/bin/sh
# chimectl's views beyond sources/tracking: sourcestats, serverstats,
# activity, metrics (text and JSON, JSON checked by a schema of required
# keys and types, metrics by the Prometheus text-format parser from
# Debian's python3-prometheus-client), and waitsync's exit codes.
# chimed runs with -x on loopback, synchronised to chronyd on port 11831.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
if ! need_peers; then
    not_ok "reference peers (chrony) unpacked"
    exit 1
fi
if ! start_chronyd_server 11831; then
    not_ok "chronyd serves on port 11831"
    exit 1
fi
D=$(tmpdir)
# controlgroup: as root, a group that is not ours (chown needs no more)
G=$(id -gn)
if [ "$(id -u)" -eq 0 ] && getent group daemon >/dev/null; then G=daemon; fi
cat >"$D/chimed.conf" <<CONF
port 11832
server 127.0.0.1 port 11831 iburst minpoll 3 maxpoll 4
server 127.0.0.1 port 11839 minpoll 3 maxpoll 4
tos minclock 1 minsane 1
interface listen 127.0.0.1
controlsocket $D/chimed.sock
controlgroup $G
metrics-listen 127.0.0.1:11834
CONF
if ! start_chimed "$D/chimed.conf"; then
    not_ok "chimed starts"
    exit 1
fi
S=$D/chimed.sock
CHIMED_LOG_MAIN=$CHIMED_LOG
ctl() { "$B/chimectl" -s "$S" "$@"; }

# waitsync: chimed reaches sync within 30 s
ctl waitsync 30 >"$D/ws.txt" 2>&1
rc=$?
diag_file "$D/ws.txt"
check '[ $rc -eq 0 ] && grep -q "^synchronised" "$D/ws.txt"' "waitsync 30 exits 0 once synchronised (rc=$rc)"
ctl -j waitsync 0 >"$D/ws.json"
rc=$?
check '[ $rc -eq 0 ] && $PY -m json.tool "$D/ws.json" >/dev/null' "waitsync -j 0: exit 0 and valid JSON"
# a few mode 3 and mode 6 requests for the counters
"$B/ntpprobe" -t 300 127.0.0.1 11832 >/dev/null 2>&1

for cmd in sourcestats serverstats activity metrics; do
    ctl "$cmd" >"$D/$cmd.txt" 2>&1
    check '[ $? -eq 0 ] && [ -s "$D/$cmd.txt" ]' "chimectl $cmd (table) exits 0 with output"
    ctl -j "$cmd" >"$D/$cmd.json" 2>&1
    check '$PY -m json.tool "$D/$cmd.json" >/dev/null' "chimectl -j $cmd is valid JSON"
done
diag_file "$D/sourcestats.txt"
diag_file "$D/serverstats.txt" 6
diag_file "$D/activity.txt"

# schema: required keys with their JSON types
schema() {
    $PY - "$1" "$2" <<'PYEOF'
import json, sys
doc = json.load(open(sys.argv[2]))
num = (int, float)
S = {
 "sourcestats": ("list", {"address": str, "name": str, "samples": int, "used": int,
                          "freq_ppm": num + (type(None),), "freq_sd_ppm": num + (type(None),),
                          "offset_s": num + (type(None),), "offset_sd_s": num + (type(None),),
                          "jitter_s": num + (type(None),)}),
 "serverstats": ("obj", {"received": int, "replied": int, "dropped": dict, "truncated": int,
                         "send_errors": int, "mode6": dict}),
 "activity": ("obj", {"online": int, "offline": int, "unresolved": int, "denied": int}),
 "metrics": ("obj", {"tracking": dict, "sources": list, "server": dict}),
}
kind, keys = S[sys.argv[1]]
items = doc if kind == "list" else [doc]
assert isinstance(doc, list if kind == "list" else dict), type(doc)
assert items, "empty"
for it in items:
    for k, t in keys.items():
        assert k in it, "missing " + k
        assert isinstance(it[k], t), "%s: %r" % (k, it[k])
        if t is int:
            assert not isinstance(it[k], bool) and it[k] >= 0, k
if sys.argv[1] == "serverstats":
    assert all(isinstance(v, int) for v in doc["dropped"].values())
    assert "mode6" in doc["dropped"] and "refused" in doc["mode6"]["dropped"]
PYEOF
}
for cmd in sourcestats serverstats activity metrics; do
    check 'schema "$cmd" "$D/$cmd.json" 2>"$D/schema.err"' "chimectl -j $cmd matches its schema $(cat "$D/schema.err" 2>/dev/null | tail -n 1)"
done

check 'grep -q "^127.0.0.1 .* [0-9]\+ \+[0-9]\+ \+[-+][0-9.]\+ " "$D/sourcestats.txt"' \
    "sourcestats shows a frequency estimate for the live source"
check '$PY -c "import json,sys; d=json.load(open(sys.argv[1])); l=[s for s in d if s[\"address\"].endswith(\":11831\")][0]; assert l[\"samples\"]>=1 and l[\"freq_ppm\"] is not None" "$D/sourcestats.json"' \
    "sourcestats JSON: samples and freq_ppm of the live source"
check '$PY -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"received\"]>=1 and d[\"replied\"]>=1" "$D/serverstats.json"' \
    "serverstats counts our mode 3 request and its reply"
check '$PY -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"online\"]==1 and d[\"offline\"]==1, d" "$D/activity.json"' \
    "activity: 1 online, 1 offline"
check 'grep -q "^1 sources online" "$D/activity.txt"' "activity table"

# Prometheus text format, parsed by the reference parser
$PY - "$D/metrics.txt" >"$D/prom.out" 2>&1 <<'PYEOF'
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
need = ["chime_synchronised", "chime_stratum", "chime_offset_seconds", "chime_frequency_ppm",
        "chime_jitter_seconds", "chime_root_distance_seconds", "chime_leap_status",
        "chime_source_reach", "chime_source_offset_seconds", "chime_source_delay_seconds",
        "chime_server_requests", "chime_server_replies", "chime_server_dropped",
        "chime_mode6_requests", "chime_mode6_dropped"]
missing = [n for n in need if n not in fams]
assert not missing, missing
assert fams["chime_synchronised"].samples[0].value == 1
reach = [s for s in fams["chime_source_reach"].samples if s.labels["source"].endswith(":11831")]
assert reach and reach[0].value > 0, reach
reasons = {s.labels["reason"] for s in fams["chime_server_dropped"].samples}
assert "mode6" in reasons and "too_short" in reasons
print("families:", len(fams))
PYEOF
rc=$?
diag_file "$D/prom.out"
check '[ $rc -eq 0 ]' "metrics parse as Prometheus text format with every expected family"

# the control socket carries controlgroup's group, mode 0660
check '[ "$(stat -c %G:%a "$S")" = "$G:660" ]' \
    "controlgroup: the socket is group $G, mode 660 ($(stat -c %G:%a "$S"))"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$B/chimectl" -s "$S" tracking 2>&1)
rc=$?
check '[ $rc -eq 1 ] && printf "%s" "$out" | grep -q "Permission denied (run it as root, or as a member of the socket.s group: controlgroup"' \
    "chimectl without the right group says how to get access (rc=$rc)"
printf 'server 127.0.0.1\ncontrolgroup no-such-group-chime\n' >"$D/badgroup.conf"
"$B/chimed" -c "$D/badgroup.conf" --check >"$D/badgroup.out" 2>&1
rc=$?
diag_file "$D/badgroup.out"
check '[ $rc -eq 2 ] && grep -q "badgroup.conf:2: controlgroup .no-such-group-chime.: no such group" "$D/badgroup.out"' \
    "an unknown controlgroup is a config error naming file:line (rc=$rc)"

# metrics-listen: the same metrics over HTTP, for Prometheus to scrape
$PY - "$D/metrics.txt" >"$D/http.out" 2>&1 <<'PYEOF'
import socket, sys, urllib.request, urllib.error
from prometheus_client.parser import text_string_to_metric_families
url = "http://127.0.0.1:11834/metrics"
r = urllib.request.urlopen(url, timeout=5)
assert r.status == 200, r.status
assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers["Content-Type"]
body = r.read().decode()
assert int(r.headers["Content-Length"]) == len(body.encode())
http = {f.name for f in text_string_to_metric_families(body)}
ctl = {f.name for f in text_string_to_metric_families(open(sys.argv[1]).read())}
assert http == ctl and "chime_offset_seconds" in http, (http ^ ctl)
print("http families:", len(http))
r = urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=5)
assert r.status == 200 and r.read() == b""
for path, code in (("/", 404), ("/metrics/x", 404)):
    try:
        urllib.request.urlopen("http://127.0.0.1:11834" + path, timeout=5)
        raise AssertionError(path + " answered 200")
    except urllib.error.HTTPError as e:
        assert e.code == code, (path, e.code)
try:
    urllib.request.urlopen(urllib.request.Request(url, data=b"x", method="POST"), timeout=5)
    raise AssertionError("POST answered 200")
except urllib.error.HTTPError as e:
    assert e.code == 405, e.code
# restrict: 127.0.0.2 is not localhost to the default rules (noquery),
# so the connection is closed without a byte
s = socket.create_connection(("127.0.0.1", 11834), timeout=5, source_address=("127.0.0.2", 0))
try:
    s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
    got = s.recv(100)
except ConnectionResetError:    # closed with our request unread: RST
    got = b""
assert got == b"", got
print("127.0.0.2 refused without a byte")
PYEOF
rc=$?
diag_file "$D/http.out"
check '[ $rc -eq 0 ]' "metrics-listen serves /metrics (GET, HEAD; 404, 405) and refuses noquery addresses"
check 'grep -q "metrics on http://127.0.0.1:11834/metrics" "$CHIMED_LOG_MAIN"' \
    "the log names the metrics URL"

# Issue 15 finding 7: slow clients (connected, never sending) cannot
# starve scrapers. 200 of them stay connected, twice the table, while 20
# scrapes run; every scrape must be answered. Counts only: the 10 s
# timeout is for a hung daemon, not a margin.
$PY - >"$D/crowd.out" 2>&1 <<'PYEOF'
import socket, urllib.request
crowd = []
ok = 0
for round in range(20):
    for _ in range(10):
        crowd.append(socket.create_connection(("127.0.0.1", 11834), timeout=10))
    r = urllib.request.urlopen("http://127.0.0.1:11834/metrics", timeout=10)
    if r.status == 200 and b"chime_offset_seconds" in r.read():
        ok += 1
print("slow clients connected:", len(crowd), "scrapes answered:", ok, "of 20")
for s in crowd:
    s.close()
assert ok == 20
PYEOF
rc=$?
diag_file "$D/crowd.out"
check '[ $rc -eq 0 ]' "200 silent clients connected: 20 of 20 scrapes answered"

# waitsync exit codes when it cannot succeed
cat >"$D/nosync.conf" <<CONF
port 11833
server 127.0.0.1 port 11839
interface listen 127.0.0.1
controlsocket $D/nosync.sock
CONF
start_chimed "$D/nosync.conf"
"$B/chimectl" -s "$D/nosync.sock" waitsync 1.5 >"$D/ws2.txt" 2>&1
rc=$?
check '[ $rc -eq 1 ] && grep -q "not synchronised" "$D/ws2.txt"' "waitsync 1.5 on an unsynchronised chimed exits 1 (rc=$rc)"
"$B/chimectl" -s "$D/none.sock" waitsync 0 >/dev/null 2>&1
rc=$?
check '[ $rc -eq 1 ]' "waitsync with no daemon exits 1 (rc=$rc)"
"$B/chimectl" -s "$S" waitsync abc >/dev/null 2>&1
rc=$?
check '[ $rc -eq 2 ]' "waitsync with a bad timeout is a usage error (rc=$rc)"
