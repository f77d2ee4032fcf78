#!/bin/sh
# The real ntpq (ntpsec's, unpacked) against chimed's mode 6, inside
# namespaces of our own because ntpq only talks to port 123.
#
# Namespace A holds chronyd (port 11801 on 127.0.0.1 and ::1) and chimed
# (-x, port 123) with three sources: chronyd over IPv4 and over IPv6 (both
# selected) and a dead one (reach 0, INIT). `ntpq -p`, `-n -p`, `-c as`,
# `-c rv` and `-c "rv ASSOC"` on 127.0.0.1 must print what chimectl sees:
# tally marks, reach, offsets. Namespace B, joined by a veth pair, must get
# no mode 6 answer at all (default: loopback only) while mode 3 works.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

if ! need_peers || [ -z "${NTPQ:-}" ]; then
    not_ok "ntpsec's ntpq unpacked (peers.sh)"
    exit 1
fi
ok "ntpsec's ntpq unpacked: $("$NTPQ" --version 2>&1 | head -n 1)"

A_ADDR=10.118.0.1
B_ADDR=10.118.0.2
NS_A=$(netns_name ntpqa)
NS_B=$(netns_name ntpqb)
if ! netns_setup "$NS_A" || ! netns_setup "$NS_B" ||
    ! netns_veth "$NS_A" "$A_ADDR/24" "$NS_B" "$B_ADDR/24"; then
    not_ok "two namespaces joined by a veth pair"
    exit 1
fi
if ! start_chronyd_server 11801 "$NS_A"; then
    not_ok "chronyd serves on port 11801 in namespace A"
    exit 1
fi

D=$(tmpdir)
# controlkey 1 (SHA1) and 2 (AES128CMAC): ntpq -k/-a sign their requests
SHA1_HEX=0123456789abcdef0123456789abcdef01234567
CMAC_HEX=00112233445566778899aabbccddeeff
printf '1 SHA1 %s\n2 AES128CMAC %s\n' "$SHA1_HEX" "$CMAC_HEX" >"$D/chimed.keys"
printf '1 SHA1 %s\n' "$SHA1_HEX" >"$D/ntpq1.keys"
printf '2 AES128CMAC %s\n' "$CMAC_HEX" >"$D/ntpq2.keys"
printf '1 SHA1 %s\n' fedcba9876543210fedcba9876543210fedcba98 >"$D/wrong.keys"
chmod 600 "$D"/*.keys
cat >"$D/chimed.conf" <<CONF
keys $D/chimed.keys
trustedkey 1 2
controlkey 1
server 127.0.0.1 port 11801 iburst minpoll 3 maxpoll 4
server ::1 port 11801 iburst minpoll 3 maxpoll 4
server 127.0.0.2 port 11809 minpoll 3 maxpoll 4
tos minclock 1 minsane 1
interface listen 127.0.0.1
interface listen ::1
interface listen $A_ADDR
controlsocket $D/chimed.sock
CONF
if ! start_chimed "$D/chimed.conf" "$NS_A"; then
    not_ok "chimed starts in namespace A"
    exit 1
fi
ok "chimed serves port 123 in namespace A"

ntpq() { in_netns "$NS_A" "$NTPQ" "$@" 2>&1; }
state_of() { chimectl_json "$D/chimed.sock" sources | sed 's/},{/}\n{/g' |
    grep "\"name\":\"$1\"" | sed -n 's/.*"state":"\(.\)".*/\1/p'; }
i=0
while [ $i -lt 120 ] && { [ "$(state_of 127.0.0.1)" != "*" ] && [ "$(state_of ::1)" != "*" ]; }; do
    sleep 0.25; i=$((i + 1))
done
# a little longer so reach has a few bits and both are in the estimate
sleep 3
"$B/chimectl" -s "$D/chimed.sock" sources >"$D/chimectl.txt" 2>&1
diag_file "$D/chimectl.txt"

ntpq -p -n 127.0.0.1 >"$D/p.txt"
diag_file "$D/p.txt"
check 'grep -q "remote.*refid.*st t when poll reach.*delay.*offset.*jitter" "$D/p.txt"' \
    "ntpq -p -n prints its header"
check '[ "$(grep -c "^[ *+x#.o-][0-9a-f:.]* " "$D/p.txt")" -ge 3 ]' "ntpq -p -n lists three associations"
check 'grep -q "^\*127.0.0.1 \|^\*::1 " "$D/p.txt"' "ntpq -p shows the system peer with '*'"
check 'grep -Eq "^[*+-](127.0.0.1|::1) .* 1 u .* [0-7]*[1-7] " "$D/p.txt"' \
    "the live sources show stratum 1, type u and a non-zero octal reach"
check 'grep -Eq "^ 127.0.0.2 +\.INIT\. +16 u .* +0 " "$D/p.txt"' \
    "the dead source shows blank tally, .INIT., stratum 16, reach 0"
# offsets: ntpq's column vs chimectl's (ms, same snapshot within a poll)
po=$(awk '$1 ~ /^[*+-]127.0.0.1$/ { print $9 }' "$D/p.txt")
co=$(awk '$1 ~ /^[*+-]127.0.0.1$/ { print $9 }' "$D/chimectl.txt")
check 'abs_lt "$po" 1 && abs_lt "$co" 1' \
    "offsets of 127.0.0.1 are sane: ntpq $po ms, chimectl $co ms (< 1 ms on loopback)"
# reach in ntpq (octal) == chimectl's (octal) give or take one poll
pr=$(awk '$1 ~ /^[*+-]127.0.0.1$/ { print $7 }' "$D/p.txt")
cr=$(awk '$1 ~ /^[*+-]127.0.0.1$/ { print $7 }' "$D/chimectl.txt")
check '[ -n "$pr" ] && [ "$pr" -ge 1 ]' "reach of 127.0.0.1: ntpq $pr (chimectl $cr)"

ntpq -p 127.0.0.1 >"$D/p2.txt"
check 'grep -q "^[*+-]\(localhost\|127.0.0.1\|ip6-localhost\|::1\)" "$D/p2.txt"' \
    "ntpq -p (names) prints the peers"

ntpq -c as 127.0.0.1 >"$D/as.txt"
diag_file "$D/as.txt"
check 'grep -Eq "^ *1 +1 +9[0-9a-f]{3} +yes +yes +none +(sys.peer|candidate)" "$D/as.txt" ||
       grep -Eq "^ *2 +2 +9[0-9a-f]{3} +yes +yes +none +(sys.peer|candidate)" "$D/as.txt"' \
    "ntpq -c as: configured, reachable associations with their condition"
check 'grep -Eq "^ *3 +3 +80[0-9a-f]{2} +yes +no " "$D/as.txt"' \
    "ntpq -c as: the dead source is configured, unreachable"

ntpq -c rv 127.0.0.1 >"$D/rv.txt"
diag_file "$D/rv.txt"
check 'grep -q "associd=0 status=06" "$D/rv.txt" && grep -q "leap_none, sync_ntp" "$D/rv.txt"' \
    "ntpq -c rv: system status sync_ntp, leap_none"
check 'grep -q "stratum=2" "$D/rv.txt" && grep -q "version=\"chimed" "$D/rv.txt"' \
    "ntpq -c rv: stratum 2 and our version"

ntpq -c "rv 1" 127.0.0.1 >"$D/rv1.txt"
diag_file "$D/rv1.txt"
check 'grep -q "associd=1 status=9" "$D/rv1.txt" && grep -q "srcadr=127.0.0.1" "$D/rv1.txt" &&
       grep -q "srcport=11801" "$D/rv1.txt"' \
    "ntpq -c \"rv 1\": status and srcadr/srcport of association 1"
ntpq -c "rv 99" 127.0.0.1 >"$D/rv99.txt"
check 'grep -qi "unknown" "$D/rv99.txt"' "ntpq -c \"rv 99\": unknown association ($(head -c 80 "$D/rv99.txt"))"
ntpq -c "writevar 0 leap=1" 127.0.0.1 >"$D/wv.txt"
diag_file "$D/wv.txt"
check '! grep -q "^leap=1" "$D/wv.txt"' "writevar is refused"

# ntpq's summary commands: every variable they ask for is known
ntpq -c sysinfo 127.0.0.1 >"$D/sysinfo.txt"
diag_file "$D/sysinfo.txt" 14
check 'grep -Eq "^system peer: +(127.0.0.1|localhost|ip6-localhost|\[?::1)" "$D/sysinfo.txt" &&
       grep -q "^root distance" "$D/sysinfo.txt" && ! grep -qi "unknown\|???" "$D/sysinfo.txt"' \
    "ntpq -c sysinfo: system peer and root distance, no unknown variable"
ntpq -c sysstats 127.0.0.1 >"$D/sysstats.txt"
diag_file "$D/sysstats.txt" 18
check 'grep -Eq "^packets received: +[1-9]" "$D/sysstats.txt" &&
       grep -Eq "^control requests: +[1-9]" "$D/sysstats.txt" &&
       grep -q "^KoD responses:" "$D/sysstats.txt" && ! grep -qi "unknown\|???" "$D/sysstats.txt"' \
    "ntpq -c sysstats: uptime and packet counts, no unknown variable"

# controlkey: a signed request gets a signed answer ntpq verifies; a
# request signed with a wrong key value or another key is refused
ntpq -k "$D/ntpq1.keys" -a 1 -c "authenticate yes" -c passwd -c rv 127.0.0.1 >"$D/auth.txt"
diag_file "$D/auth.txt" 12
check 'grep -q "stratum=2" "$D/auth.txt" && ! grep -qi "AUTH[: -]\|untrusted\|disallowed" "$D/auth.txt"' \
    "ntpq signing with controlkey 1 (SHA1) gets signed answers it verifies"
# the check above can fail: ntpq holding the key but sending unsigned
# requests gets unsigned answers, and says so
ntpq -k "$D/ntpq1.keys" -a 1 -c rv 127.0.0.1 >"$D/auth-unsigned.txt"
diag_file "$D/auth-unsigned.txt" 2
check 'grep -qi "AUTH[: -]\|untrusted" "$D/auth-unsigned.txt"' \
    "an unsigned request gets an unsigned answer (ntpq with the key notices)"
ntpq -k "$D/wrong.keys" -a 1 -c "authenticate yes" -c passwd -c rv 127.0.0.1 >"$D/auth-bad.txt"
diag_file "$D/auth-bad.txt" 3
check '! grep -q "stratum=" "$D/auth-bad.txt" && grep -qi "disallowed\|permission" "$D/auth-bad.txt"' \
    "a request signed with the wrong key value is refused (permission)"
ntpq -k "$D/ntpq2.keys" -a 2 -c "authenticate yes" -c passwd -c rv 127.0.0.1 >"$D/auth-2.txt"
check '! grep -q "stratum=" "$D/auth-2.txt" && grep -qi "disallowed\|permission" "$D/auth-2.txt"' \
    "a request signed with a trusted key that is not the controlkey is refused"
check 'chimectl_json "$D/chimed.sock" serverstats | grep -q "\"authenticated\":[1-9][0-9]*,\"auth_failed\":[2-9]"' \
    "serverstats counts authenticated and failed mode 6 requests"
# a reload applies a new controlkey: now key 2, AES-128-CMAC
sed -i 's/^controlkey 1$/controlkey 2/' "$D/chimed.conf"
"$B/chimectl" -s "$D/chimed.sock" reload >"$D/reload.txt" 2>&1
ntpq -k "$D/ntpq2.keys" -a 2 -c "authenticate yes" -c passwd -c rv 127.0.0.1 >"$D/auth-cmac.txt"
diag_file "$D/auth-cmac.txt" 2
check 'grep -q "stratum=2" "$D/auth-cmac.txt" && ! grep -qi "AUTH[: -]\|untrusted\|disallowed" "$D/auth-cmac.txt"' \
    "after a reload to controlkey 2, ntpq signing with AES-128-CMAC gets verified answers"

# IPv6 loopback works too
ntpq -p -n ::1 >"$D/p6.txt"
check '[ "$(grep -c "^[ *+x#.o-][0-9a-f:.]* " "$D/p6.txt")" -ge 3 ]' "ntpq -p -n ::1 lists the associations"

# From namespace B: mode 3 answered, mode 6 silently dropped.
check 'in_netns "$NS_B" "$B/ntpprobe" -a -t 500 "$A_ADDR" 123 >/dev/null' \
    "namespace B gets mode 3 answers from $A_ADDR"
in_netns "$NS_B" "$NTPQ" -p -n "$A_ADDR" >"$D/remote.txt" 2>&1
diag_file "$D/remote.txt"
check '! grep -q "127.0.0.1" "$D/remote.txt" && grep -qi "timed out\|nothing received" "$D/remote.txt"' \
    "ntpq from a non-local address gets no mode 6 answer at all"

stop_pid "$CHIMED_PID"
check 'grep -q "noquery=[1-9]" "$CHIMED_LOG"' \
    "chimed counted the refused mode 6 requests under noquery ($(grep -o 'noquery=[0-9]*' "$CHIMED_LOG" | tail -n 1))"
