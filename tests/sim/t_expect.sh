#!/bin/sh
# Scenarios that carry their own bounds ("expect" lines) are checked by
# chime-sim itself: each expectation is one test here. The pool and -q
# scenarios run the node's pool replacement and -q decision exactly as
# chimed runs them. A client configuration error names the scenario's
# file and line, as chimed names ntp.conf's.
# SPDX-License-Identifier: BSD-2-Clause
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${B:-build}
SIM="$B/chime-sim"
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }

for f in "$TOP"/sim/scenarios/*.sim; do
    grep -q '^expect ' "$f" || continue
    out=$("$SIM" --short "$f" 2>&1)
    rc=$?
    name=$(basename "$f" .sim)
    want=$(grep -c '^expect ' "$f")
    got=$(printf '%s\n' "$out" | grep -c '^expect .*: ok ')
    printf '%s\n' "$out" | grep '^expect ' | while read -r line; do echo "# $line"; done
    if [ "$rc" -eq 0 ] && [ "$got" -eq "$want" ]; then
        ok "$name: $got of $want expectations hold"
    else
        not_ok "$name: $got of $want expectations hold (exit $rc) [replay: $SIM --short $f]"
        printf '%s\n' "$out" | sed 's/^/# /'
    fi
done

# chime.conf lines inside a scenario go through src/conf: its errors name
# the scenario's line.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# refused SCENARIO-TEXT LINE WHAT: chime-sim exits 2 naming that line
refused() {
    printf "$1" >"$tmp/bad.sim"
    out=$("$SIM" "$tmp/bad.sim" 2>&1)
    rc=$?
    if [ "$rc" -eq 2 ] && printf '%s' "$out" | grep -q "bad.sim:$2:"; then
        ok "$3 ($out)"
    else
        not_ok "$3 (exit $rc: $out)"
    fi
}
refused 'name bad\nserver A iburst\n\ntinker nosuchknob 3\n' 4 \
    "a bad client line is refused naming its scenario line"
refused 'name bad\nserver A minpoll 2 iburst\n' 2 "minpoll follows chime.conf's rules"
# An expectation that cannot hold makes chime-sim fail (exit 3).
printf 'name strict\nduration 2h\nshort 2h\nclient freq 10ppm offset 10ms\nserver A iburst\nexpect converge <= 0\n' \
    >"$tmp/strict.sim"
"$SIM" --short "$tmp/strict.sim" >/dev/null 2>&1
rc=$?
if [ "$rc" -eq 3 ]; then ok "a failed expectation exits 3"; else not_ok "a failed expectation exits 3 (got $rc)"; fi
echo "1..$n"
