#!/bin/sh
# make demo: a chimed server and a chimed client syncing to it, both on
# loopback, with the machine's clock untouched (-x on both: the client
# measures and reports but never adjusts). Ends with the client's sources
# table and tracking, as an administrator would look at them.
set -eu
B=${B:-build}
dir=$(mktemp -d "${TMPDIR:-/tmp}/chime-demo.XXXXXX")
sport=${DEMO_PORT:-12123}
cport=$((sport + 1))
spid=""
cpid=""
cleanup() {
    for p in $cpid $spid; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

cat >"$dir/server.conf" <<CONF
# demo server: serve this machine's clock at stratum 1 on loopback
port $sport
local stratum 1
interface listen 127.0.0.1
interface listen ::1
controlsocket $dir/server.sock
restrict -4 default kod notrap nomodify nopeer noquery limited
restrict 127.0.0.1
CONF
cat >"$dir/client.conf" <<CONF
# demo client: two associations with the demo server, over IPv4 and IPv6
server 127.0.0.1 port $sport iburst minpoll 4 maxpoll 6
server ::1 port $sport iburst minpoll 4 maxpoll 6
port $cport
interface listen 127.0.0.1
controlsocket $dir/client.sock
CONF

echo "== chimed --check"
"$B/chimed" --check -c "$dir/server.conf"
"$B/chimed" --check -c "$dir/client.conf"

echo "== server: chimed -n -x on 127.0.0.1:$sport and [::1]:$sport (stratum 1, clock untouched)"
"$B/chimed" -n -x -c "$dir/server.conf" 2>"$dir/server.log" &
spid=$!
echo "== client: chimed -n -x, polling the server (measures, never adjusts)"
"$B/chimed" -n -x -c "$dir/client.conf" 2>"$dir/client.log" &
cpid=$!

tries=0
until "$B/chimectl" -s "$dir/client.sock" -j tracking 2>/dev/null | grep -q '"synchronised":true'; do
    tries=$((tries + 1))
    if [ "$tries" -ge 100 ]; then
        echo "the client did not synchronise; its log:"; cat "$dir/client.log"; exit 1
    fi
    sleep 0.1
done
echo "== synchronised after $((tries / 10)).$((tries % 10)) s; collecting a few more samples"
sleep 6

echo
echo "== chimectl sources (like ntpq -p)"
"$B/chimectl" -s "$dir/client.sock" sources
echo
echo "== chimectl tracking"
"$B/chimectl" -s "$dir/client.sock" tracking
echo
echo "== a third-party view: the client itself now serves stratum 2"
"$B/ntpprobe" 127.0.0.1 "$cport"
