#!/bin/sh
# chimed's command line and configuration errors: what a user can get
# wrong gets a clear message naming file, line and word, and exit 2.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

D=$(tmpdir)
CHIMED="$B/chimed"

out=$("$CHIMED" --help); rc=$?
check '[ $rc -eq 0 ]' "--help exits 0"
for opt in --config --foreground --debug --no-clock --once --pidfile --user --filter \
           --check --version --help -u -F; do
    check 'printf "%s\n" "$out" | grep -q -- "$opt"' "--help documents $opt"
done
for opt in '\\-\\-config' '\\-\\-foreground' '\\-\\-debug' '\\-\\-no\\-clock' '\\-\\-once' \
           '\\-\\-pidfile' '\\-\\-user' '\\-\\-filter' '\\-\\-check' '\\-\\-version' \
           '\\-\\-help' '\\-u' '\\-F'; do
    check 'grep -q -- "$opt" "$TOP/docs/chimed.8"' "man page documents $(printf '%s' "$opt" | tr -d '\\')"
done
# Both directions, derived rather than listed: every long option --help
# shows is in the man page, and every option the man page's OPTIONS
# section lists is in --help.
for opt in $(printf '%s\n' "$out" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    pat=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
    check 'grep -q -- "$pat" "$TOP/docs/chimed.8"' "man page documents $opt (from --help)"
done
for opt in $(sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$TOP/docs/chimed.8" |
             grep '^\.BR* \\-' | grep -o '\\-\\-[a-z\\-]*' | sed 's/\\//g' | sort -u); do
    check 'printf "%s\n" "$out" | grep -q -- "$opt"' "--help documents $opt (from chimed.8)"
done
check '"$CHIMED" --version | grep -q "^chimed [0-9]"' "--version"
"$CHIMED" --bogus >/dev/null 2>&1; rc=$?
check '[ $rc -eq 2 ]' "unknown option: exit 2"

for f in ntpsec-debian12.conf ubuntu-classic.conf; do
    out=$("$CHIMED" --check -c "$TOP/tests/unit/data/$f" 2>&1); rc=$?
    check '[ $rc -eq 0 ]' "--check accepts stock $f ($out)"
done
out=$("$CHIMED" --check -d -c "$TOP/tests/unit/data/ubuntu-classic.conf" 2>&1)
check 'printf "%s\n" "$out" | grep -q "restrict"' "--check -d prints what was understood"

printf 'server 127.0.0.1 iburst\nservre 127.0.0.2\n' >"$D/typo.conf"
out=$("$CHIMED" --check -c "$D/typo.conf" 2>&1); rc=$?
check '[ $rc -eq 2 ] && printf "%s\n" "$out" | grep -q "typo.conf:2: .*'"'"'servre'"'"'"' \
    "unknown directive: file:line and the word, exit 2 ($out)"

printf 'server 127.0.0.1 minpoll 99\n' >"$D/range.conf"
out=$("$CHIMED" -n -x -c "$D/range.conf" 2>&1); rc=$?
check '[ $rc -eq 2 ] && printf "%s\n" "$out" | grep -q "range.conf:1: .*99"' \
    "bad value at start-up (not only --check): exit 2 ($out)"

printf 'restrict -4 default kod notrap nomodifyy\n' >"$D/flag.conf"
out=$("$CHIMED" --check -c "$D/flag.conf" 2>&1); rc=$?
check '[ $rc -eq 2 ] && printf "%s\n" "$out" | grep -q "flag.conf:1: .*nomodifyy"' \
    "unknown restrict flag named ($out)"

out=$("$CHIMED" --check -c "$D/missing.conf" 2>&1); rc=$?
check '[ $rc -eq 2 ] && printf "%s\n" "$out" | grep -q "missing.conf"' \
    "missing config file: named, exit 2 ($out)"

printf 'includefile sub.conf\n' >"$D/top.conf"
printf '\n\nlocal stratum 99\n' >"$D/sub.conf"
out=$("$CHIMED" --check -c "$D/top.conf" 2>&1); rc=$?
check '[ $rc -eq 2 ] && printf "%s\n" "$out" | grep -q "sub.conf:3:"' \
    "error inside an included file names that file and line ($out)"
