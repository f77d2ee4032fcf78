/* monitor/control: request parsing, the ntpq-like table, the chronyc-like
 * tracking view, JSON shape and escaping, and truncation that never
 * overflows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "monitor/control.h"
#include "monitor/metrics.h"

#define BIG 16384

static int parse(const char *s, enum ctl_request *r, enum ctl_format *f)
{
    return ctl_parse_request(s, strlen(s), r, f);
}

static void test_parse_ok(void **state)
{
    enum ctl_request r;
    enum ctl_format f;

    (void)state;
    assert_int_equal(parse("sources", &r, &f), 0);
    assert_int_equal(r, CTL_REQ_SOURCES);
    assert_int_equal(f, CTL_TEXT);
    assert_int_equal(parse("tracking\n", &r, &f), 0);
    assert_int_equal(r, CTL_REQ_TRACKING);
    assert_int_equal(f, CTL_TEXT);
    assert_int_equal(parse("  sources json \r\n", &r, &f), 0);
    assert_int_equal(r, CTL_REQ_SOURCES);
    assert_int_equal(f, CTL_JSON);
    assert_int_equal(parse("tracking\tjson", &r, &f), 0);
    assert_int_equal(f, CTL_JSON);
    assert_int_equal(parse("tracking text", &r, &f), 0);
    assert_int_equal(f, CTL_TEXT);
    /* len bounds the line: bytes after it are not looked at */
    assert_int_equal(ctl_parse_request("sources jsonXX", 12, &r, &f), 0);
    assert_int_equal(f, CTL_JSON);
}

static void test_parse_bad(void **state)
{
    static const char *bad[] = {
        "", "\n", "   ", "bogus", "SOURCES", "source", "sourcesjson",
        "sources json extra", "sources xml", "tracking json json", "json",
    };
    enum ctl_request r = CTL_REQ_TRACKING;
    enum ctl_format f = CTL_JSON;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(bad[i], &r, &f), -1);
    /* an embedded NUL is part of the word, not its end */
    assert_int_equal(ctl_parse_request("sources\0json", 12, &r, &f), -1);
    assert_int_equal(ctl_parse_request(NULL, 0, &r, &f), -1);
    /* outputs untouched on failure */
    assert_int_equal(r, CTL_REQ_TRACKING);
    assert_int_equal(f, CTL_JSON);
}

static void fill_sources(struct report_source s[3])
{
    memset(s, 0, 3 * sizeof(*s));
    snprintf(s[0].name, sizeof(s[0].name), "gps.example.org");
    snprintf(s[0].address, sizeof(s[0].address), "192.0.2.1");
    s[0].state = '*';
    s[0].stratum = 1;
    snprintf(s[0].refid, sizeof(s[0].refid), "GPS");
    s[0].poll = 6;
    s[0].reach = 0377;
    s[0].last_ns = 12LL * 1000000000;
    s[0].offset_s = -0.000034;
    s[0].delay_s = 0.000512;
    s[0].jitter_s = 0.000011;
    s[0].have_sample = true;

    snprintf(s[1].name, sizeof(s[1].name), "a-very-long-host-name.pool.example.net");
    snprintf(s[1].address, sizeof(s[1].address), "2001:db8::1");
    s[1].state = '+';
    s[1].stratum = 2;
    snprintf(s[1].refid, sizeof(s[1].refid), "192.0.2.1");
    s[1].poll = 12;
    s[1].reach = 017;
    s[1].last_ns = 3600LL * 1000000000;
    s[1].offset_s = 0.0123456;
    s[1].delay_s = 0.0251;
    s[1].jitter_s = 0.0009;
    s[1].have_sample = true;
    s[1].pool = true;

    snprintf(s[2].name, sizeof(s[2].name), "q\"uo\\te\x01");
    s[2].state = ' ';
    s[2].stratum = 16;
    snprintf(s[2].refid, sizeof(s[2].refid), "INIT");
    s[2].poll = 6;
    s[2].last_ns = -1;
    s[2].denied = true;
}

static void test_sources_text(void **state)
{
    struct report_source s[3];
    char buf[BIG];
    size_t n;

    (void)state;
    fill_sources(s);
    n = ctl_format_sources(s, 3, CTL_TEXT, buf, sizeof(buf));
    assert_int_equal(n, strlen(buf));
    assert_non_null(strstr(buf, "remote"));
    assert_non_null(strstr(buf, "refid"));
    assert_non_null(strstr(buf, "reach"));
    assert_non_null(strstr(buf, "offset"));
    /* tally mark first, ASCII refid between dots, octal reach, ms units */
    assert_non_null(strstr(buf, "\n*gps.example.org .GPS.            1 u   12   64  377"));
    assert_non_null(strstr(buf, "0.512"));
    assert_non_null(strstr(buf, "-0.034"));
    assert_non_null(strstr(buf, "0.011"));
    /* name cut at 15 like ntpq, poll 2^12 = 4096 s and 3600 s shown as m */
    assert_non_null(strstr(buf, "\n+a-very-long-hos 192.0.2.1"));
    assert_null(strstr(buf, "a-very-long-host"));
    assert_non_null(strstr(buf, "  60m  68m  017"));
    assert_non_null(strstr(buf, "12.346"));
    assert_non_null(strstr(buf, "25.100"));
    /* control bytes never reach the terminal */
    assert_non_null(strstr(buf, "\n q\"uo\\te?        .INIT."));
    assert_null(strchr(buf, '\x01'));
    /* no sample: when and the statistics are dashes */
    assert_non_null(strstr(buf, ".INIT.          16 u    -   64  000        -         -        -\n"));
    assert_int_equal(buf[n - 1], '\n');
    /* an NTS source: "nts N" (cookies held) after ntpq's columns; the others end as before */
    s[0].nts = true;
    s[0].nts_cookies = 7;
    n = ctl_format_sources(s, 3, CTL_TEXT, buf, sizeof(buf));
    assert_non_null(strstr(buf, "  nts 7\n+a-very-long-hos"));
    assert_non_null(strstr(buf, ".INIT.          16 u    -   64  000        -         -        -\n"));
}

static void test_sources_empty(void **state)
{
    char buf[512];

    (void)state;
    ctl_format_sources(NULL, 0, CTL_TEXT, buf, sizeof(buf));
    assert_non_null(strstr(buf, "remote"));
    ctl_format_sources(NULL, 0, CTL_JSON, buf, sizeof(buf));
    assert_string_equal(buf, "[]\n");
}

/* Brackets and braces balance outside strings, and strings close. */
static void assert_json_balanced(const char *s)
{
    int depth = 0;
    bool in_str = false;

    for (; *s != '\0'; s++) {
        if (in_str) {
            if (*s == '\\')
                s++;
            else if (*s == '"')
                in_str = false;
            else
                assert_true((unsigned char)*s >= 0x20);
            continue;
        }
        if (*s == '"')
            in_str = true;
        else if (*s == '{' || *s == '[')
            depth++;
        else if (*s == '}' || *s == ']')
            assert_true(--depth >= 0);
    }
    assert_false(in_str);
    assert_int_equal(depth, 0);
}

static void test_sources_json(void **state)
{
    static const char *keys[] = {
        "\"address\":", "\"name\":", "\"state\":", "\"stratum\":", "\"refid\":",
        "\"poll\":", "\"reach\":", "\"last_s\":", "\"offset_s\":", "\"delay_s\":",
        "\"jitter_s\":", "\"pool\":", "\"denied\":",
    };
    struct report_source s[3];
    char buf[BIG];

    (void)state;
    fill_sources(s);
    ctl_format_sources(s, 3, CTL_JSON, buf, sizeof(buf));
    assert_int_equal(buf[0], '[');
    assert_json_balanced(buf);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_non_null(strstr(buf, keys[i]));
    assert_non_null(strstr(buf, "{\"address\":\"192.0.2.1\",\"name\":\"gps.example.org\","
                                "\"state\":\"*\",\"stratum\":1,\"refid\":\"GPS\","
                                "\"poll\":6,\"reach\":255,\"last_s\":12.000000000,"
                                "\"offset_s\":-0.000034000,"));
    assert_non_null(strstr(buf, "\"pool\":true"));
    /* unresolved: the address is the name; escaping; nulls; state " " */
    assert_non_null(strstr(buf, "{\"address\":\"q\\\"uo\\\\te\\u0001\","
                                "\"name\":\"q\\\"uo\\\\te\\u0001\",\"state\":\" \""));
    assert_non_null(strstr(buf, "\"last_s\":null,\"offset_s\":null,"
                                "\"delay_s\":null,\"jitter_s\":null,"
                                "\"pool\":false,\"denied\":true,"
                                "\"nts\":false,\"nts_cookies\":0,\"nts_ke\":\"\","
                                "\"refclock\":false,\"refclock_samples\":0,"
                                "\"refclock_refused\":0,\"refclock_error\":\"\",\"peer\":false}"));
}

static void test_json_utf8(void **state)
{
    struct report_source s;
    char buf[2048];

    (void)state;
    memset(&s, 0, sizeof(s));
    s.last_ns = -1;
    /* valid UTF-8 passes, a stray byte and an overlong form become U+FFFD */
    snprintf(s.name, sizeof(s.name), "z\xc3\xbcrich\xff\xc0\xaf");
    s.have_sample = true;
    s.offset_s = NAN;
    s.delay_s = INFINITY;
    ctl_format_sources(&s, 1, CTL_JSON, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"name\":\"z\xc3\xbcrich\\ufffd\\ufffd\\ufffd\""));
    assert_non_null(strstr(buf, "\"offset_s\":null,\"delay_s\":null,\"jitter_s\":0.000000000"));
    assert_json_balanced(buf);
}

static void fill_tracking(struct report_tracking *t)
{
    memset(t, 0, sizeof(*t));
    t->synchronised = true;
    t->stratum = 2;
    snprintf(t->reference, sizeof(t->reference), "192.0.2.1");
    snprintf(t->refid, sizeof(t->refid), "192.0.2.1");
    t->offset_s = 0.000001234;
    t->frequency_ppm = -12.5;
    t->residual_freq_ppm = 0.002;
    t->drift_ppm = -12.25;
    t->root_delay_s = 0.001;
    t->root_dispersion_s = 0.0005;
    t->jitter_s = 0.00002;
    t->leap = 1;
    t->state = "sync";
    t->clock_control = true;
    t->update_age_ns = 5500000000LL;
    t->precision = -20;
    t->steps = 1;
}

static void test_tracking_text(void **state)
{
    struct report_tracking t;
    char buf[BIG];

    (void)state;
    fill_tracking(&t);
    ctl_format_tracking(&t, CTL_TEXT, buf, sizeof(buf));
    assert_non_null(strstr(buf, "Reference ID    : 192.0.2.1 (192.0.2.1)\n"));
    assert_non_null(strstr(buf, "Stratum         : 2\n"));
    assert_non_null(strstr(buf, "System offset   : +0.000001234 seconds\n"));
    assert_non_null(strstr(buf, "Frequency       : -12.500 ppm\n"));
    assert_non_null(strstr(buf, "Residual freq   : +0.002 ppm\n"));
    assert_non_null(strstr(buf, "Root delay      : 0.001000000 seconds\n"));
    assert_non_null(strstr(buf, "Root dispersion : 0.000500000 seconds\n"));
    assert_non_null(strstr(buf, "Jitter          : 0.000020000 seconds\n"));
    assert_non_null(strstr(buf, "Leap status     : Insert second\n"));
    assert_non_null(strstr(buf, "State           : sync\n"));
    assert_non_null(strstr(buf, "Alarm           : no\n"));
    assert_non_null(strstr(buf, "Clock control   : enabled\n"));
    assert_non_null(strstr(buf, "Last update     : 5.5 seconds ago\n"));
    assert_non_null(strstr(buf, "Precision       : -20 (0.000000954 seconds)\n"));

    t.leap = 3;
    t.state = NULL;
    t.update_age_ns = -1;
    t.reference[0] = '\0';
    snprintf(t.refid, sizeof(t.refid), "INIT");
    ctl_format_tracking(&t, CTL_TEXT, buf, sizeof(buf));
    assert_non_null(strstr(buf, "Reference ID    : INIT\n"));
    assert_non_null(strstr(buf, "Leap status     : Not synchronised\n"));
    assert_non_null(strstr(buf, "State           : unknown\n"));
    assert_non_null(strstr(buf, "Last update     : never\n"));
}

static void test_tracking_json(void **state)
{
    static const char *keys[] = {
        "\"synchronised\":true", "\"stratum\":2", "\"reference\":\"192.0.2.1\"",
        "\"refid\":\"192.0.2.1\"", "\"offset_s\":0.000001234",
        "\"frequency_ppm\":-12.500000000", "\"residual_freq_ppm\":0.002000000",
        "\"drift_ppm\":-12.250000000",
        "\"root_delay_s\":0.001000000", "\"root_dispersion_s\":0.000500000",
        "\"jitter_s\":0.000020000", "\"leap\":\"insert\"", "\"state\":\"sync\"",
        "\"alarm\":false", "\"clock_control\":true", "\"last_update_s\":5.500000000",
        "\"precision\":-20", "\"steps\":1,", "\"leap_mode\":\"system\"",
        "\"next_leap\":null", "\"leap_source\":\"none\"", "\"leapfile_expires\":null",
        "\"leapfile_expired\":false,", "\"leapfile_expires_soon\":false}",
    };
    static const char *leaps[] = { "none", "insert", "delete", "unsynchronised" };
    struct report_tracking t;
    char buf[BIG], want[64];

    (void)state;
    fill_tracking(&t);
    ctl_format_tracking(&t, CTL_JSON, buf, sizeof(buf));
    assert_int_equal(buf[0], '{');
    assert_json_balanced(buf);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_non_null(strstr(buf, keys[i]));
    for (int l = 0; l < 4; l++) {
        t.leap = l;
        ctl_format_tracking(&t, CTL_JSON, buf, sizeof(buf));
        snprintf(want, sizeof(want), "\"leap\":\"%s\"", leaps[l]);
        assert_non_null(strstr(buf, want));
    }
    t.update_age_ns = -1;
    t.alarm = true;
    ctl_format_tracking(&t, CTL_JSON, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"alarm\":true"));
    assert_non_null(strstr(buf, "\"last_update_s\":null"));
}

/* Every cap from 0 to past the full length: never a byte beyond cap,
 * always terminated, always a prefix of the full output. */
static void check_truncation(const char *full, size_t full_len,
                             size_t (*fmt)(char *, size_t))
{
    static char buf[BIG + 64];

    for (size_t cap = 0; cap <= full_len + 2; cap++) {
        size_t n;

        memset(buf, 0x5a, sizeof(buf));
        n = fmt(cap > 0 ? buf : NULL, cap);
        if (cap == 0) {
            assert_int_equal(n, 0);
            continue;
        }
        assert_true(n < cap);
        assert_int_equal(buf[n], '\0');
        assert_int_equal(n, cap - 1 < full_len ? cap - 1 : full_len);
        assert_memory_equal(buf, full, n);
        for (size_t i = cap; i < cap + 32; i++)
            assert_int_equal((unsigned char)buf[i], 0x5a);
    }
}

static struct report_source trunc_src[3];
static struct report_tracking trunc_trk;
static enum ctl_format trunc_fmt;

static size_t fmt_src(char *buf, size_t cap)
{
    return ctl_format_sources(trunc_src, 3, trunc_fmt, buf, cap);
}

static size_t fmt_trk(char *buf, size_t cap)
{
    return ctl_format_tracking(&trunc_trk, trunc_fmt, buf, cap);
}

static void test_truncation(void **state)
{
    char full[BIG];
    size_t n;

    (void)state;
    fill_sources(trunc_src);
    fill_tracking(&trunc_trk);
    for (int f = CTL_TEXT; f <= CTL_JSON; f++) {
        trunc_fmt = (enum ctl_format)f;
        n = ctl_format_sources(trunc_src, 3, trunc_fmt, full, sizeof(full));
        check_truncation(full, n, fmt_src);
        n = ctl_format_tracking(&trunc_trk, trunc_fmt, full, sizeof(full));
        check_truncation(full, n, fmt_trk);
    }
}

/* Strings without a terminator in the snapshot stay inside their arrays. */
static void test_unterminated(void **state)
{
    struct report_source s;
    struct report_tracking t;
    char buf[BIG];

    (void)state;
    memset(&s, 'A', sizeof(s));
    s.last_ns = -1;
    s.have_sample = s.pool = s.denied = s.refclock = s.nts = s.peer = false;  /* bools stay 0/1 */
    ctl_format_sources(&s, 1, CTL_JSON, buf, sizeof(buf));
    assert_json_balanced(buf);
    ctl_format_sources(&s, 1, CTL_TEXT, buf, sizeof(buf));
    memset(&t, 'B', sizeof(t));
    t.state = "x";
    t.leap_mode = t.leap_source = NULL;
    t.have_leapfile = t.leapfile_expired = t.leapfile_expires_soon = false;
    t.synchronised = t.alarm = t.clock_control = false;
    ctl_format_tracking(&t, CTL_JSON, buf, sizeof(buf));
    assert_json_balanced(buf);
    ctl_format_tracking(&t, CTL_TEXT, buf, sizeof(buf));
}

/* 2016-12-31 23:59:60 from the file; the file expired on 2017-06-28. */
static void test_tracking_leap(void **state)
{
    struct report_tracking t;
    char buf[BIG];

    (void)state;
    fill_tracking(&t);
    t.leap_mode = "step";
    t.next_leap = 1483228800;          /* 2017-01-01 00:00:00 UTC */
    t.next_leap_dir = 1;
    t.leap_source = "file";
    t.have_leapfile = true;
    t.leapfile_expires = 1498608000;   /* 2017-06-28 */
    t.leapfile_expired = true;
    ctl_format_tracking(&t, CTL_TEXT, buf, sizeof(buf));
    assert_non_null(strstr(buf, "Leap mode       : step"));
    assert_non_null(strstr(buf, "Next leap       : 2016-12-31 23:59:60 (insert, from file)"));
    assert_non_null(strstr(buf, "Leap file       : expires 2017-06-28 (EXPIRED"));
    ctl_format_tracking(&t, CTL_JSON, buf, sizeof(buf));
    assert_json_balanced(buf);
    assert_non_null(strstr(buf, "\"next_leap\":\"2016-12-31\",\"next_leap_type\":\"insert\""));
    assert_non_null(strstr(buf, "\"leap_source\":\"file\""));
    assert_non_null(strstr(buf, "\"leapfile_expires\":\"2017-06-28\",\"leapfile_expired\":true"));
    t.next_leap_dir = -1;
    ctl_format_tracking(&t, CTL_TEXT, buf, sizeof(buf));
    assert_non_null(strstr(buf, "2016-12-31 23:59:59 (delete, from file)"));
}

static void test_new_requests(void **state)
{
    static const char *const names[] = { "sourcestats", "serverstats", "activity",
                                          "metrics" };
    enum ctl_request r;
    enum ctl_format f;

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(parse(names[i], &r, &f), 0);
        assert_string_equal(ctl_request_name(r), names[i]);
    }
    assert_int_equal(parse("metrics json", &r, &f), 0);
    assert_int_equal(f, CTL_JSON);
    assert_int_equal(parse("sourcestat", &r, &f), -1);
    assert_string_equal(ctl_request_name(CTL_REQ__COUNT), "unknown");
    /* reload: the word, with json, and nothing after */
    assert_int_equal(parse("reload", &r, &f), 0);
    assert_int_equal(r, CTL_REQ_RELOAD);
    assert_string_equal(ctl_request_name(r), "reload");
    assert_int_equal(parse("reload json", &r, &f), 0);
    assert_int_equal(f, CTL_JSON);
    assert_int_equal(parse("reload /etc/passwd", &r, &f), -1);
}

static void test_stats_views(void **state)
{
    static char buf[BIG];
    struct report_sourcestat st[2];
    struct report_serverstats ss;
    struct report_activity a = { 2, 1, 1, 0 };
    struct report_tracking t;
    struct report_source src;

    (void)state;
    memset(st, 0, sizeof(st));
    snprintf(st[0].name, sizeof(st[0].name), "ntp.example");
    st[0].valid = true;
    st[0].samples = 8;
    st[0].used = 7;
    st[0].freq_ppm = -1.5;
    snprintf(st[1].name, sizeof(st[1].name), "bad\"name\n");
    ctl_format_sourcestats(st, 2, CTL_TEXT, buf, sizeof(buf));
    assert_non_null(strstr(buf, "ntp.example        8    7      -1.500"));
    ctl_format_sourcestats(st, 2, CTL_JSON, buf, sizeof(buf));
    assert_json_balanced(buf);
    assert_non_null(strstr(buf, "\"freq_ppm\":-1.500000000"));
    assert_non_null(strstr(buf, "\"freq_ppm\":null"));

    memset(&ss, 0, sizeof(ss));
    ss.received = 5;
    ss.dropped[0] = (struct report_counter){ "too_short", 3 };
    ss.dropped[1] = (struct report_counter){ "evil\"} 1\n", 1 };
    ss.n_dropped = 2;
    ctl_format_serverstats(&ss, CTL_JSON, buf, sizeof(buf));
    assert_json_balanced(buf);
    assert_non_null(strstr(buf, "\"too_short\":3"));
    assert_non_null(strstr(buf, "\"evil___1_\":1"));     /* no syntax gets through */
    ctl_format_serverstats(&ss, CTL_TEXT, buf, sizeof(buf));
    assert_non_null(strstr(buf, "Dropped too_short"));

    ctl_format_activity(&a, CTL_JSON, buf, sizeof(buf));
    assert_string_equal(buf, "{\"online\":2,\"offline\":1,\"unresolved\":1,\"denied\":0}\n");

    memset(&t, 0, sizeof(t));
    t.synchronised = true;
    t.stratum = 2;
    t.root_delay_s = 0.02;
    t.root_dispersion_s = 0.005;
    memset(&src, 0, sizeof(src));
    snprintf(src.name, sizeof(src.name), "a\"b\\c");
    src.reach = 255;
    metrics_format(&t, &src, 1, &ss, CTL_TEXT, buf, sizeof(buf));
    assert_non_null(strstr(buf, "# TYPE chime_offset_seconds gauge\n"));
    assert_non_null(strstr(buf, "chime_root_distance_seconds 0.015\n"));
    assert_non_null(strstr(buf, "chime_source_reach{source=\"a\\\"b\\\\c\",name=\"a\\\"b\\\\c\"} 255\n"));
    assert_non_null(strstr(buf, "chime_source_offset_seconds{source=\"a\\\"b\\\\c\",name=\"a\\\"b\\\\c\"} NaN\n"));
    assert_non_null(strstr(buf, "chime_server_dropped_total{reason=\"too_short\"} 3\n"));
    metrics_format(&t, &src, 1, &ss, CTL_JSON, buf, sizeof(buf));
    assert_json_balanced(buf);
    /* truncation stays inside the buffer */
    for (size_t cap = 0; cap < 64; cap++)
        assert_true(metrics_format(&t, &src, 1, &ss, CTL_JSON, buf, cap) <= (cap ? cap - 1 : 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_sources_text),
        cmocka_unit_test(test_sources_empty),
        cmocka_unit_test(test_sources_json),
        cmocka_unit_test(test_json_utf8),
        cmocka_unit_test(test_tracking_text),
        cmocka_unit_test(test_tracking_json),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_unterminated),
        cmocka_unit_test(test_tracking_leap),
        cmocka_unit_test(test_new_requests),
        cmocka_unit_test(test_stats_views),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
