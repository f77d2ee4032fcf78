#!/bin/sh
# make install into a DESTDIR: the tree is complete, the installed config
# passes chimed --check, the systemd unit passes `systemd-analyze verify`
# (Debian's systemd package: the installed tool, or its binaries unpacked
# under build/peers/ with apt-get download + dpkg -x, never installed by
# us), and every man page renders without warnings.
# SPDX-License-Identifier: BSD-2-Clause
. "$(dirname "$0")/lib.sh"

D=$(tmpdir)
DEST="$D/root"
if make -s -C "$TOP" B="$B" install DESTDIR="$DEST" PREFIX=/usr >"$D/install.log" 2>&1; then
    ok "make install DESTDIR=... PREFIX=/usr"
else
    not_ok "make install DESTDIR=... PREFIX=/usr"
    diag_file "$D/install.log"
    exit 1
fi

for f in usr/sbin/chimed usr/bin/chimectl; do
    check '[ -x "$DEST/$f" ] && [ ! -d "$DEST/$f" ]' "installed executable /$f"
done
for f in etc/chime.conf usr/lib/systemd/system/chime.service usr/lib/tmpfiles.d/chime.conf \
         usr/lib/chime/chime-tls.so \
         usr/share/man/man8/chimed.8 usr/share/man/man1/chimectl.1 usr/share/man/man5/chime.conf.5; do
    check '[ -f "$DEST/$f" ] && [ "$(stat -c %a "$DEST/$f")" = 644 ]' "installed /$f (0644)"
done
if [ -x "$B/chime-sim" ]; then
    check '[ -x "$DEST/usr/bin/chime-sim" ]' "installed /usr/bin/chime-sim (built)"
else
    skip "installed /usr/bin/chime-sim" "not built"
fi
extra=$(cd "$DEST" && find . -type f | sort | grep -v -e '^./usr/share/man/' -e '^./usr/bin/chime-sim$' |
    grep -vx -e ./usr/sbin/chimed -e ./usr/bin/chimectl -e ./etc/chime.conf \
        -e ./usr/lib/chime/chime-tls.so \
        -e ./usr/lib/systemd/system/chime.service -e ./usr/lib/tmpfiles.d/chime.conf)
check '[ -z "$extra" ]' "nothing else installed${extra:+: $extra}"

out=$("$DEST/usr/sbin/chimed" --check -c "$DEST/etc/chime.conf" 2>&1)
check '[ $? -eq 0 ]' "chimed --check accepts the installed /etc/chime.conf"
diag "$out"
# NTS: the installed chimed finds its TLS module in ../lib/chime, and
# says which file it wants when the module is gone.
printf 'server 127.0.0.1 nts\n' >"$D/nts.conf"
check '"$DEST/usr/sbin/chimed" --check -c "$D/nts.conf" >/dev/null 2>&1' \
    "the installed chimed loads /usr/lib/chime/chime-tls.so for NTS"
mv "$DEST/usr/lib/chime/chime-tls.so" "$D/"
out=$("$DEST/usr/sbin/chimed" --check -c "$D/nts.conf" 2>&1)
check '[ $? -ne 0 ] && printf "%s\n" "$out" | grep -q "nts.conf:1: NTS needs chime.s TLS module: no chime-tls.so"' \
    "without the module --check refuses NTS, naming the file and line"
mv "$D/chime-tls.so" "$DEST/usr/lib/chime/"
chmod 666 "$DEST/usr/lib/chime/chime-tls.so"
check '! "$DEST/usr/sbin/chimed" --check -c "$D/nts.conf" >/dev/null 2>&1' \
    "a module others may write is not loaded"
chmod 644 "$DEST/usr/lib/chime/chime-tls.so"
conf="$DEST/etc/chime.conf"
check 'grep -qx "pool 2.debian.pool.ntp.org iburst" "$conf"' "default config: the Debian pool with iburst"
check 'grep -qx "restrict -4 default kod notrap nomodify nopeer noquery limited" "$conf" &&
       grep -qx "restrict -6 default kod notrap nomodify nopeer noquery limited" "$conf" &&
       grep -qx "restrict 127.0.0.1" "$conf" && grep -qx "restrict ::1" "$conf"' \
    "default config: BCP 223 restrict lines"
check 'grep -qx "driftfile /var/lib/chime/chime.drift" "$conf" &&
       grep -qx "leapfile /usr/share/zoneinfo/leap-seconds.list" "$conf" &&
       grep -qx "controlsocket /run/chime/chimed.sock" "$conf"' \
    "default config: driftfile, leapfile from tzdata, control socket"

# An admin's config survives a second make install.
echo "# edited by the admin" >>"$conf"
make -s -C "$TOP" B="$B" install DESTDIR="$DEST" PREFIX=/usr >/dev/null 2>&1
check 'tail -n 1 "$conf" | grep -q "edited by the admin"' "make install keeps an existing /etc/chime.conf"

# PREFIX=/usr/local: the unit starts the binary where it was installed.
make -s -C "$TOP" B="$B" install DESTDIR="$D/local" PREFIX=/usr/local >/dev/null 2>&1
check 'grep -qx "ExecStart=/usr/local/sbin/chimed -n -c /etc/chime.conf" \
    "$D/local/usr/local/lib/systemd/system/chime.service"' "PREFIX=/usr/local: ExecStart follows SBINDIR"

# ---- the unit ----------------------------------------------------------------------
unit="$DEST/usr/lib/systemd/system/chime.service"
for k in "Type=notify" "ExecStart=/usr/sbin/chimed -n -c /etc/chime.conf" "User=_chime" \
         "CapabilityBoundingSet=CAP_SYS_TIME CAP_NET_BIND_SERVICE" "ProtectSystem=strict" \
         "PrivateTmp=yes" "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" \
         "NoNewPrivileges=yes" "StateDirectory=chime" "Before=time-sync.target"; do
    check 'grep -qxF "$k" "$unit"' "unit: $k"
done
check 'grep -q "^Conflicts=.*systemd-timesyncd.service" "$unit" &&
       grep -q "^Conflicts=.*ntp.service" "$unit" && grep -q "^Conflicts=.*chrony.service" "$unit"' \
    "unit: conflicts with the other time daemons"

# systemd-analyze: installed, or from Debian's systemd package unpacked
# under build/peers/systemd (the package's binaries, not its services).
find_analyze() {
    if command -v systemd-analyze >/dev/null 2>&1; then
        ANALYZE=systemd-analyze
        return 0
    fi
    _pd="$B/peers/systemd"
    if [ ! -x "$_pd/usr/bin/systemd-analyze" ]; then
        mkdir -p "$_pd/debs" &&
            (cd "$_pd/debs" && apt-get download systemd libsystemd-shared >/dev/null 2>&1) &&
            for _deb in "$_pd"/debs/*.deb; do dpkg-deb -x "$_deb" "$_pd" || return 1; done
    fi
    [ -x "$_pd/usr/bin/systemd-analyze" ] || return 1
    _ma=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
    ANALYZE="env LD_LIBRARY_PATH=$_pd/usr/lib/$_ma/systemd:$_pd/lib/$_ma/systemd $_pd/usr/bin/systemd-analyze"
}
if find_analyze; then
    # verify needs the ExecStart binary to exist: point it into DESTDIR;
    # the Documentation= man pages are looked up in DESTDIR's man tree.
    sed "s|/usr/sbin/chimed|$DEST/usr/sbin/chimed|" "$unit" >"$D/chime.service"
    out=$(MANPATH="$DEST/usr/share/man" $ANALYZE verify "$D/chime.service" 2>&1)
    rc=$?
    check '[ $rc -eq 0 ] && [ -z "$out" ]' "systemd-analyze verify chime.service: clean (rc=$rc)"
    [ -n "$out" ] && diag "$out"
    diag "$($ANALYZE --version | head -n 1)"
    diag "$($ANALYZE security --offline=yes "$D/chime.service" 2>/dev/null | tail -n 1)"
else
    skip "systemd-analyze verify chime.service" "no systemd-analyze and apt-get download failed"
fi

# ---- man pages ------------------------------------------------------------------------
for p in "$DEST"/usr/share/man/man*/*; do
    name=$(basename "$p")
    w=$( (MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$p" >/dev/null) 2>&1;
        groff -ww -z -man "$p" 2>&1)
    check '[ -z "$w" ]' "man -l $name renders without warnings"
    [ -n "$w" ] && diag "$w"
done
exit 0
