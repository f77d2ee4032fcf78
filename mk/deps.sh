#!/bin/sh
# Install the Debian packages a make target needs, only when missing.
# Usage: mk/deps.sh GROUP...   (build, test, fuzz, bench, deb)
# Peer daemons (chrony, ntpsec) are never installed here: tests/system/peers.sh
# unpacks them with apt-get download + dpkg -x, because their maintainer
# scripts would start a system daemon that steers this machine's clock.
set -eu

pkgs_build="gcc make libc6-dev pkg-config libssl-dev nettle-dev libcap-dev libseccomp-dev"
pkgs_test="g++ libcmocka-dev iproute2 python3 libcap2-bin util-linux procps python3-prometheus-client valgrind"
pkgs_fuzz="clang libclang-rt-14-dev"
pkgs_bench="util-linux procps iproute2 libpcap-dev libgnutls28-dev openssl"
pkgs_deb="dpkg-dev debhelper lintian man-db"

want=""
for g in "$@"; do
    eval "want=\"\$want \$pkgs_$g\""
done

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "chime: missing Debian packages:$missing" >&2
    echo "chime: install them (as root: apt-get install$missing) and retry" >&2
    exit 1
fi
echo "chime: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
