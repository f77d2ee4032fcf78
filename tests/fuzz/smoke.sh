#!/bin/sh
# Fuzz smoke test: build every libFuzzer harness (tests/fuzz/fuzz_*.c) and
# run each for FUZZ_SMOKE_SECONDS (default 5) on a scratch copy of its seed
# corpus, so the committed corpus is never modified. Speaks TAP:
#   1..N
#   ok 1 - fuzz_packet
#   not ok 2 - fuzz_conf
# A crash input is kept as build/fuzz/<harness>-crash-<hash> for replay:
#   build/fuzz/fuzz_NAME build/fuzz/fuzz_NAME-crash-...
# clang is installed by `make check` (mk/deps.sh), so its absence is a
# failure, not a skip.
set -u

TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
SECONDS_EACH=${FUZZ_SMOKE_SECONDS:-5}
FUZZ_B=build/fuzz
cd "$TOP" || { echo "not ok 1 - cannot cd to $TOP"; exit 1; }

# Harnesses come from the sources, not from whatever binaries linger.
names=""
n=0
for src in tests/fuzz/fuzz_*.c; do
    [ -f "$src" ] || continue
    names="$names $(basename "$src" .c)"
    n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
    echo "1..0 # no harness in tests/fuzz"
    exit 0
fi
echo "1..$n"

if ! command -v clang >/dev/null 2>&1; then
    i=0
    for name in $names; do
        i=$((i + 1))
        echo "not ok $i - $name # clang missing (run make deps / make check)"
    done
    exit 1
fi

mkdir -p build
scratch=$(mktemp -d "$TOP/build/fuzz-smoke.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT INT TERM

buildlog="$scratch/build.log"
if ! make --no-print-directory -j"$(nproc 2>/dev/null || echo 2)" fuzz-build >"$buildlog" 2>&1; then
    sed 's/^/# /' "$buildlog" | tail -n 40
    i=0
    for name in $names; do
        i=$((i + 1))
        echo "not ok $i - $name # fuzz-build failed"
    done
    exit 1
fi

# UBSan in the harness build recovers by default; make any report fatal.
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export UBSAN_OPTIONS

run_one() {
    name=$1
    bin="$FUZZ_B/$name"
    corpus="$scratch/corpus-$name"
    log="$scratch/$name.log"
    mkdir -p "$corpus"
    if [ -d "tests/fuzz/corpus/$name" ]; then
        cp -R "tests/fuzz/corpus/$name/." "$corpus/"
    fi
    [ -x "$bin" ] || { echo "# $bin was not built"; return 1; }
    if "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 \
        -artifact_prefix="$FUZZ_B/$name-" "$corpus" >"$log" 2>&1; then
        return 0
    fi
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written|artifact' "$log" |
        head -n 20 | sed 's/^/# /'
    tail -n 15 "$log" | sed 's/^/# | /'
    return 1
}

i=0
failed=0
for name in $names; do
    i=$((i + 1))
    if run_one "$name"; then
        echo "ok $i - $name"
    else
        echo "not ok $i - $name"
        failed=$((failed + 1))
    fi
done
[ "$failed" -eq 0 ]
