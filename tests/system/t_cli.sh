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

# ---- the manuals say what --help says (issue 15 finding 13) -----------------
hout=$("$CHIMED" --help)
# chimed: every short option of --help is in chimed.8's synopsis and OPTIONS
for opt in $(printf '%s\n' "$hout" | grep -o -- '^  -[a-zA-Z]' | tr -d ' ' | sort -u); do
    pat=$(printf '%s' "$opt" | sed 's/-/\\\\-/')
    check 'sed -n "/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p" "$TOP/docs/chimed.8" | grep -q -- "$pat"' \
        "chimed.8 synopsis has $opt (from --help)"
done
# the default config in --help is the file the package installs and the man page names
check 'printf "%s\n" "$hout" | grep -q "default /etc/chime.conf"' "--help: default config /etc/chime.conf"
check 'sed -n "/^\.BR \\\\-c /,/^\.TP/p" "$TOP/docs/chimed.8" | grep -q "/etc/chime.conf"' \
    "chimed.8 -c: default /etc/chime.conf"
check 'grep -q "^install -m 0644 packaging/chime.conf\|packaging/chime.conf \$(DESTDIR)\$(SYSCONFDIR)/chime.conf" "$TOP/Makefile"' \
    "the package installs /etc/chime.conf"
check 'printf "%s\n" "$hout" | grep -q "driftfile is read, never written"' "--help: -x writes no drift file"
check 'sed -n "/^\.BR \\\\-x /,/^\.TP/p" "$TOP/docs/chimed.8" | grep -q "never written"' \
    "chimed.8 -x: no drift file"
check '! grep -q "do not protect anything yet\|does not protect anything yet" "$TOP/docs/chimed.8"' \
    "chimed.8 no longer says keys protect nothing"
check '! grep -Eq "later release.*(statistics|keys)|(statistics|keys).*later release" "$TOP/docs/chimed.8"' \
    "chimed.8 no longer says keys and statistics arrive later"

# chimectl: every command and option of --help in chimectl.1 (synopsis for
# commands, OPTIONS for options); no macro line that renders as glued words
cout=$("$B/chimectl" --help 2>&1)
syn=$(sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$TOP/docs/chimectl.1")
for cmd in $(printf '%s\n' "$cout" | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p'); do
    check 'printf "%s\n" "$syn" | grep -qw -- "$cmd"' "chimectl.1 synopsis has '$cmd' (from --help)"
    check 'grep -q "^\.B $cmd\$" "$TOP/docs/chimectl.1"' "chimectl.1 COMMANDS describes '$cmd'"
done
for opt in $(printf '%s\n' "$cout" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    pat=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
    check 'grep -q -- "$pat" "$TOP/docs/chimectl.1"' "chimectl.1 documents $opt (from --help)"
done
# ".BR word ), more words": the words after the punctuation are glued in
# alternating fonts; text after a closing ")," belongs on the next line
for f in chimectl.1 chimed.8 chime.conf.5; do
    check '! grep -nE "^\.BR [^ ]+ \)?[,.;:] [a-z]+ [a-z]+" "$TOP/docs/$f"' "$f: no run-on .BR lines"
done
