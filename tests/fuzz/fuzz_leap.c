/* libFuzzer harness for core/leap's leap-seconds.list parser.
 *
 * The input is a file. It is parsed twice: with a stub digest (so the
 * hash comparison runs; the stub is deterministic, not SHA-1: core links
 * no crypto) and without one (so inputs reach the lookups). Beyond "no
 * crash / no UB": an accepted table is in bounds, strictly increasing,
 * steps by one second, and the lookups agree with it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/leap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static int stub_sha1(const void *d, size_t len, uint8_t out[LEAP_SHA1_LEN])
{
    const uint8_t *p = d;
    memset(out, 0, LEAP_SHA1_LEN);
    for (size_t i = 0; i < len; i++)
        out[i % LEAP_SHA1_LEN] ^= p[i];
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct leap_table t;
    int line = -1;

    (void)leap_file_parse((const char *)data, size, stub_sha1, &t, &line);
    CHECK(line >= 0);
    if (leap_file_parse((const char *)data, size, NULL, &t, &line) != LEAPF_OK)
        return 0;
    CHECK(line == 0);
    CHECK(t.n >= 1 && t.n <= LEAP_MAX_ENTRIES);
    CHECK(t.expires > t.updated);
    for (int i = 1; i < t.n; i++) {
        CHECK(t.e[i].when > t.e[i - 1].when);
        CHECK(t.e[i].tai - t.e[i - 1].tai == 1 || t.e[i].tai - t.e[i - 1].tai == -1);
    }
    int64_t when;
    int dir;
    if (leap_table_next(&t, t.e[0].when, &when, &dir)) {
        CHECK(dir == 1 || dir == -1);
        CHECK(leap_table_tai(&t, when) - leap_table_tai(&t, when - 1) == dir);
        CHECK(leap_day_end(when - 1) == when);
    }
    (void)leap_table_expired(&t, t.updated);
    (void)leap_table_expires_soon(&t, t.updated);
    return 0;
}
