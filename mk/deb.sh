#!/bin/sh
# make deb: build the Debian package from a copy of the tree (tracked and
# untracked-but-not-ignored files, so uncommitted work is packaged too), so
# that dh's `make clean` and its debian/ scratch directories never touch
# the working tree. Results: build/deb/chime_*.deb (+ .buildinfo,
# .changes, build.log).
set -eu
cd "$(dirname "$0")/.."
OUT=build/deb
VERSION=$(sed -n '1s/^chime (\([^)]*\)).*/\1/p' debian/changelog)
SRC="$OUT/src/chime-$VERSION"

rm -rf "$OUT/src"
mkdir -p "$SRC"
git ls-files -z --cached --others --exclude-standard |
    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
    tar --null -T - -cf - | tar -xf - -C "$SRC"
rm -f "$OUT"/chime_*
echo "chime: dpkg-buildpackage in $SRC (log: $OUT/build.log)" >&2
# The outer make's B (build/asan under make asan), MAKEFLAGS etc. are not ours.
if ! (cd "$SRC" && env -u B -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CHIME_ASAN \
        dpkg-buildpackage -us -uc -b) >"$OUT/build.log" 2>&1; then
    tail -n 30 "$OUT/build.log" >&2
    echo "chime: dpkg-buildpackage failed (log: $OUT/build.log)" >&2
    exit 1
fi
mv "$OUT"/src/chime_* "$OUT"/
rm -rf "$OUT/src"
ls "$OUT"/chime_*.deb
