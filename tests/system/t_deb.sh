#!/bin/sh
# The Debian package: built by `make deb` (reused when newer than the
# sources, rebuilt here when debhelper is at hand, else skipped: CI runs
# `make deb` first), then only unpacked (dpkg-deb -x / -e, never dpkg -i):
# contents, control fields, conffiles, maintainer scripts, and lintian
# (errors fail, warnings and infos are reported).
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

DEBDIR="$TOP/build/deb"
deb=$(ls "$DEBDIR"/chime_*.deb 2>/dev/null | head -n 1)
stale=""
if [ -n "$deb" ]; then
    stale=$(cd "$TOP" && find Makefile mk/deb.sh debian packaging docs src -newer "$deb" -type f | head -n 1)
fi
if [ -z "$deb" ] || [ -n "$stale" ]; then
    if command -v dpkg-buildpackage >/dev/null 2>&1 && command -v dh >/dev/null 2>&1; then
        if [ -n "$stale" ]; then diag "rebuilding: $stale is newer than the .deb"; fi
        if (cd "$TOP" && sh mk/deb.sh) >"$LIB_TMP/deb.log" 2>&1; then
            ok "make deb builds the package"
        else
            not_ok "make deb builds the package"
            diag_file "$LIB_TMP/deb.log" 30
            exit 1
        fi
        deb=$(ls "$DEBDIR"/chime_*.deb | head -n 1)
    elif [ -n "$deb" ]; then
        diag "debhelper missing: testing the existing, older .deb"
    else
        skip "the Debian package" "no .deb and no debhelper: run 'make deb' (CI does)"
        exit 0
    fi
fi
diag "testing $deb"

# ---- control fields ------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
check '[ "$(field Package)" = chime ]' "Package: chime"
check 'field Provides | grep -qw time-daemon' "Provides: time-daemon"
check 'field Conflicts | grep -qw time-daemon && field Replaces | grep -qw time-daemon' \
    "Conflicts/Replaces: time-daemon (ntp, ntpsec, chrony, openntpd, timesyncd)"
check 'field Depends | grep -qw adduser' "Depends: adduser (the postinst creates _chime)"

# ---- contents ------------------------------------------------------------------------
X="$LIB_TMP/root"
C="$LIB_TMP/control"
dpkg-deb -x "$deb" "$X" && dpkg-deb -e "$deb" "$C"
check '[ $? -eq 0 ]' "dpkg-deb -x and -e unpack it"
for f in usr/sbin/chimed usr/lib/chime/chime-tls.so usr/bin/chimectl etc/chime.conf \
         lib/systemd/system/chime.service \
         usr/lib/tmpfiles.d/chime.conf usr/share/man/man8/chimed.8.gz \
         usr/share/man/man1/chimectl.1.gz usr/share/man/man5/chime.conf.5.gz \
         usr/share/doc/chime/copyright; do
    check '[ -f "$X/$f" ]' "contains /$f"
done
check '"$X/usr/sbin/chimed" --version | grep -q "^chimed "' "the packaged chimed runs (--version)"
printf 'server 127.0.0.1 nts\n' >"$LIB_TMP/nts.conf"
check '"$X/usr/sbin/chimed" --check -c "$LIB_TMP/nts.conf" >/dev/null 2>&1' \
    "the packaged chimed loads its TLS module for NTS"
check 'field Depends | grep -qw libssl3' "Depends: libssl3 (the TLS module's)"
out=$("$X/usr/sbin/chimed" --check -c "$X/etc/chime.conf" 2>&1)
check '[ $? -eq 0 ]' "the packaged chimed accepts the packaged /etc/chime.conf"
diag "$out"
check 'grep -qx "ExecStart=/usr/sbin/chimed -n -c /etc/chime.conf" "$X/lib/systemd/system/chime.service" &&
       grep -qx "User=_chime" "$X/lib/systemd/system/chime.service"' \
    "the unit starts /usr/sbin/chimed -n -c /etc/chime.conf as _chime"
check 'grep -q "BSD-2-Clause" "$X/usr/share/doc/chime/copyright"' "copyright: BSD-2-Clause"

# ---- conffiles and maintainer scripts ---------------------------------------------------
check '[ "$(cat "$C/conffiles" 2>/dev/null)" = /etc/chime.conf ]' \
    "conffiles: /etc/chime.conf (the admin's edits survive upgrades)"
for s in postinst prerm postrm; do
    check '[ -x "$C/$s" ] && sh -n "$C/$s"' "$s: present, executable, valid sh"
done
check 'grep -q "adduser --system --group .*--home /var/lib/chime.* _chime" "$C/postinst"' \
    "postinst creates the _chime system user"
check 'grep -q "getent passwd _chime" "$C/postinst"' "postinst: only when the user is missing"
check 'grep -q "deb-systemd-helper" "$C/postinst" && grep -q "systemd-tmpfiles" "$C/postinst"' \
    "postinst enables the unit and creates the tmpfiles directories"
check 'grep -q "deb-systemd-invoke stop" "$C/prerm"' "prerm stops chime.service"
check 'grep -q "rm -rf /var/lib/chime" "$C/postrm" && grep -q "purge" "$C/postrm"' \
    "postrm purge removes /var/lib/chime"

# ---- lintian -------------------------------------------------------------------------
if command -v lintian >/dev/null 2>&1; then
    lintian --pedantic -I --tag-display-limit 0 "$deb" >"$LIB_TMP/lintian.out" 2>&1
    sed 's/^/# lintian: /' "$LIB_TMP/lintian.out" | grep -v "running with root privileges"
    n_e=$(grep -c '^E: ' "$LIB_TMP/lintian.out")
    n_w=$(grep -c '^W: ' "$LIB_TMP/lintian.out")
    n_o=$(grep -c '^[IPX]: ' "$LIB_TMP/lintian.out")
    check '[ "$n_e" -eq 0 ]' "lintian: no errors ($n_e errors, $n_w warnings, $n_o info/pedantic)"
else
    skip "lintian" "lintian is not installed (mk/deps.sh deb)"
fi
exit 0
