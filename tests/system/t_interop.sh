#!/bin/sh
# Real clients from Debian packages query chimed: chronyd -Q on loopback,
# and ntpsec's ntpdig (which only speaks to port 123) inside a network
# namespace of our own. Both must get a valid reply with |offset| < 1 ms.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

if ! need_peers; then
    not_ok "reference peers (chrony, ntpdig) unpacked" "apt-get download failed"
    exit 1
fi
ok "reference peers unpacked"

abs_lt() { awk -v v="$1" -v m="$2" 'BEGIN { if (v == "") exit 1; if (v < 0) v = -v; exit !(v < m) }'; }
D=$(tmpdir)
PORT=11311
cat >"$D/lo.conf" <<CONF
port $PORT
local stratum 1
interface listen 127.0.0.1
interface listen ::1
CONF
if start_chimed "$D/lo.conf"; then
    off=$(chronyd_query $PORT 127.0.0.1)
    check 'abs_lt "$off" 0.001' "chronyd -Q accepts chimed over IPv4, |offset| < 1 ms ($off s)"
    off=$(chronyd_query $PORT ::1)
    check 'abs_lt "$off" 0.001' "chronyd -Q accepts chimed over IPv6, |offset| < 1 ms ($off s)"
else
    not_ok "chimed starts on loopback"
fi

NS=$(netns_name interop)
if ! netns_setup "$NS"; then
    not_ok "network namespace $NS" "ip netns add failed (needs root)"
    exit 1
fi
cat >"$D/ns.conf" <<CONF
local stratum 2
interface listen 127.0.0.1
interface listen ::1
CONF
if start_chimed "$D/ns.conf" "$NS"; then
    ok "chimed serves port 123 inside namespace $NS"
    for addr in 127.0.0.1 ::1; do
        out=$(ntpdig_query "$addr" "$NS" 2>&1)
        diag "ntpdig $addr: $out"
        off=$(json_field "$out" offset)
        st=$(json_field "$out" stratum)
        check 'abs_lt "$off" 0.001 && [ "$st" = 2 ]' \
            "ntpdig accepts chimed at $addr: stratum $st, |offset| < 1 ms ($off s)"
    done
else
    not_ok "chimed starts inside namespace $NS"
fi
