#!/bin/sh
# make demo: a local chimed server on loopback, queried by a client, with
# the machine's clock untouched (-x, and no CAP_SYS_TIME needed at all).
#
# This release serves time; the chimed client side (sources, selection,
# discipline) arrives next, and the demo will then sync a second chimed.
set -eu
B=${B:-build}
dir=$(mktemp -d "${TMPDIR:-/tmp}/chime-demo.XXXXXX")
port=${DEMO_PORT:-12123}
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

cat >"$dir/server.conf" <<CONF
# demo server: serve this machine's clock at stratum 1 on loopback
port $port
local stratum 1
interface listen 127.0.0.1
interface listen ::1
restrict -4 default kod notrap nomodify nopeer noquery limited
restrict 127.0.0.1
CONF

echo "== chimed --check"
"$B/chimed" --check -c "$dir/server.conf"
echo "== starting chimed -n -x on 127.0.0.1:$port and [::1]:$port (clock control off)"
"$B/chimed" -n -x -c "$dir/server.conf" 2>"$dir/chimed.log" &
pid=$!

tries=0
until "$B/ntpprobe" -t 200 127.0.0.1 "$port" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 50 ]; then
        echo "chimed did not answer; its log:"; cat "$dir/chimed.log"; exit 1
    fi
    sleep 0.1
done

echo "== four client queries over IPv4 and IPv6"
printf '%-16s %-8s %-7s %-5s %-12s %-10s\n' remote refid stratum leap offset delay
for addr in 127.0.0.1 127.0.0.1 ::1 ::1; do
    line=$("$B/ntpprobe" -t 500 "$addr" "$port")
    off=$(echo "$line" | sed -n 's/.*offset=\([^ ]*\).*/\1/p')
    dly=$(echo "$line" | sed -n 's/.*delay=\([^ ]*\).*/\1/p')
    st=$(echo "$line" | sed -n 's/.*stratum=\([^ ]*\).*/\1/p')
    ref=$(echo "$line" | sed -n 's/.*refid=\([^ ]*\).*/\1/p')
    li=$(echo "$line" | sed -n 's/.*leap=\([^ ]*\).*/\1/p')
    printf '%-16s %-8s %-7s %-5s %-12s %-10s\n' "$addr" "$ref" "$st" "$li" "$off" "$dly"
done
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
echo "== chimed's counters at exit"
grep '\[server\]' "$dir/chimed.log" || true
