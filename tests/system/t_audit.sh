#!/bin/sh
# chimed --check prints security findings (exit status stays 0: they are
# advice, not errors): queries open to the world, no rate limiting, a
# world-readable keys file, an unauthenticated peer. A config relying on
# the built-in default has none.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

D=$(tmpdir)
echo "1 MD5 secret" >"$D/keys"
chmod 644 "$D/keys"
printf 'restrict default\npeer 192.0.2.1\nkeys %s/keys\n' "$D" >"$D/open.conf"
out=$("$B/chimed" --check -c "$D/open.conf" 2>&1); rc=$?
diag "$out"
check '[ $rc -eq 0 ]' "findings do not fail --check"
check 'printf "%s\n" "$out" | grep -q "open.conf:1: security: mode 6 queries are open to every IPv4"' "queries open to the world"
check 'printf "%s\n" "$out" | grep -q "open.conf:1: security: no rate limiting for IPv6"' "no rate limiting on a public server"
check 'printf "%s\n" "$out" | grep -q "keys: security: keys file is readable by everyone (mode 644)"' "world-readable keys file"
check 'printf "%s\n" "$out" | grep -q "open.conf:2: security: symmetric peer .192.0.2.1. without a key"' "unauthenticated peer"
chmod 600 "$D/keys"
printf 'server 192.0.2.1\nkeys %s/keys\n' "$D" >"$D/safe.conf"
out=$("$B/chimed" --check -c "$D/safe.conf" 2>&1)
check '! printf "%s\n" "$out" | grep -q security' "built-in default and a private keys file: no finding"
printf 'restrict default kod limited nomodify noquery nopeer\n' >"$D/ntpd.conf"
out=$("$B/chimed" --check -c "$D/ntpd.conf" 2>&1)
check '! printf "%s\n" "$out" | grep -q security' "the usual ntpd hardening line: no finding"
# restrict lines for the same address add up, as in ntpd: two default
# lines that together are the hardening line are not a finding...
printf 'restrict default kod limited\nrestrict default nomodify noquery\n' >"$D/split.conf"
out=$("$B/chimed" --check -c "$D/split.conf" 2>&1)
check '! printf "%s\n" "$out" | grep -q security' "default flags split over two lines: no finding"
# ...and "unrestrict default" opens everything again.
printf 'restrict default kod limited nomodify noquery\nunrestrict default\n' >"$D/unres.conf"
out=$("$B/chimed" --check -c "$D/unres.conf" 2>&1)
check 'printf "%s\n" "$out" | grep -q "unres.conf:2: security: mode 6 queries are open"' \
    "unrestrict default is a finding"
