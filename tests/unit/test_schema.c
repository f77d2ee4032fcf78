/* monitor/schema and monitor/fields: the field tables behind every
 * report. Names are unique, the text and Prometheus orders are complete,
 * every declared field reaches each form it is declared for, and the
 * public names are pinned here: dropping or renaming a row fails. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "monitor/control.h"
#include "monitor/metrics.h"
#include "monitor/schema.h"

#define BIG 32768

static const struct field_table *const tables[] = {
    &schema_source, &schema_tracking, &schema_sourcestat, &schema_serverstats,
    &schema_activity, &schema_clients, &schema_client_entry,
};
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

/* The tables and the ones nested in them (mode 6 in serverstats). */
static size_t all_tables(const struct field_table **out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < N_TABLES && n < cap; i++) {
        out[n++] = tables[i];
        for (size_t j = 0; j < tables[i]->n && n < cap; j++)
            if (tables[i]->f[j].type == FT_OBJECT)
                out[n++] = tables[i]->f[j].sub;
    }
    return n;
}

static void test_names_unique_and_documented(void **state)
{
    const struct field_table *t[16];
    size_t nt = all_tables(t, 16);

    (void)state;
    assert_int_equal(nt, N_TABLES + 2);     /* mode6 and nts in serverstats */
    for (size_t k = 0; k < nt; k++) {
        assert_non_null(t[k]->report);
        assert_non_null(t[k]->prom_prefix);
        for (size_t i = 0; i < t[k]->n; i++) {
            const struct field *f = &t[k]->f[i];

            assert_non_null(f->name);
            assert_true(strlen(f->name) > 0);
            assert_non_null(f->help);
            assert_true(strlen(f->help) > 0);
            assert_true((f->type != FT_OBJECT && f->type != FT_ARRAY) || f->sub != NULL);
            assert_true(f->type != FT_ENUM || (f->names && f->text_names));
            for (size_t j = i + 1; j < t[k]->n; j++)
                assert_string_not_equal(f->name, t[k]->f[j].name);
        }
    }
}

/* seq numbers 1..k each used once, and a row in a form has what it needs. */
static void check_seq(const struct field_table *t, bool prom)
{
    size_t in_form = 0;

    for (size_t i = 0; i < t->n; i++) {
        const struct field *f = &t->f[i];
        int seq = prom ? f->prom_seq : f->text_seq;

        if (seq == 0) {
            assert_true(!prom || f->prom == NULL);
            continue;
        }
        in_form++;
        assert_true(seq > 0 && (size_t)seq <= t->n);
        assert_ptr_equal(prom ? field_prom_at(t, seq) : field_text_at(t, seq), f);
        for (size_t j = i + 1; j < t->n; j++)
            assert_int_not_equal(seq, prom ? t->f[j].prom_seq : t->f[j].text_seq);
        if (prom)
            assert_true(f->prom != NULL || f->type == FT_OBJECT);
    }
    for (size_t s = 1; s <= in_form; s++)
        assert_non_null(prom ? field_prom_at(t, (int)s) : field_text_at(t, (int)s));
    assert_null(prom ? field_prom_at(t, (int)in_form + 1) : field_text_at(t, (int)in_form + 1));
}

static void test_orders_complete(void **state)
{
    const struct field_table *t[16];
    size_t nt = all_tables(t, 16);

    (void)state;
    for (size_t k = 0; k < nt; k++) {
        check_seq(t[k], true);
        check_seq(t[k], false);
    }
}

/* Rows that share a Prometheus family sit next to each other and agree
 * on HELP and TYPE; otherwise every metric name is unique. */
static void test_prom_families(void **state)
{
    const struct field_table *t[16];
    size_t nt = all_tables(t, 16);
    char names[64][128];
    size_t n = 0;

    (void)state;
    for (size_t k = 0; k < nt; k++) {
        const struct field *f, *prev = NULL;

        for (int s = 1; (f = field_prom_at(t[k], s)) != NULL; s++, prev = f) {
            char name[128];

            if (f->type == FT_OBJECT)
                continue;
            field_prom_name(t[k], f, name, sizeof(name));
            assert_true(strncmp(name, "chime_", 6) == 0);
            if (prev != NULL && prev->prom != NULL && strcmp(prev->prom, f->prom) == 0) {
                assert_non_null(f->prom_label);
                assert_non_null(prev->prom_label);
                assert_string_equal(prev->help, f->help);
                assert_int_equal(prev->kind, f->kind);
                assert_string_not_equal(prev->prom_label, f->prom_label);
                continue;
            }
            for (size_t i = 0; i < n; i++)
                assert_string_not_equal(names[i], name);
            assert_true(n < 64);
            snprintf(names[n++], sizeof(names[0]), "%s", name);
        }
    }
}

/* ---- the public names, pinned -------------------------------------------------- */

static void assert_json_keys(const struct field_table *t, const char *const *want)
{
    size_t w = 0;

    for (size_t i = 0; i < t->n; i++) {
        if (t->f[i].no_json)
            continue;
        assert_non_null(want[w]);
        assert_string_equal(t->f[i].name, want[w]);
        w++;
    }
    assert_null(want[w]);
}

static void test_json_keys_pinned(void **state)
{
    static const char *const source[] = {
        "address", "name", "state", "stratum", "refid", "poll", "reach", "last_s",
        "offset_s", "delay_s", "jitter_s", "pool", "denied", "nts", "nts_cookies", "nts_ke",
        "refclock", "refclock_samples", "refclock_refused", "refclock_error", "peer", NULL };
    static const char *const tracking[] = {
        "synchronised", "stratum", "reference", "refid", "offset_s", "frequency_ppm",
        "residual_freq_ppm", "drift_ppm", "root_delay_s", "root_dispersion_s", "jitter_s", "leap",
        "state", "alarm", "clock_control", "last_update_s", "precision", "steps",
        "leap_mode", "next_leap", "next_leap_type", "leap_source", "leapfile_expires",
        "leapfile_expired", "leapfile_expires_soon", NULL };
    static const char *const sourcestat[] = {
        "address", "name", "samples", "used", "freq_ppm", "freq_sd_ppm", "offset_s",
        "offset_sd_s", "jitter_s", NULL };
    static const char *const serverstats[] = {
        "received", "replied", "dropped", "truncated", "send_errors", "mode6", "nts", NULL };
    static const char *const nts[] = {
        "ke_sessions", "ke_failed", "ke_refused_busy", "ke_refused_peer", "ke_timed_out",
        "requests", "naks", "dropped", "key_rotations", "key_reloads", NULL };
    static const char *const mode6[] = {
        "requests", "answered", "errors", "authenticated", "auth_failed", "dropped", NULL };
    static const char *const activity[] = { "online", "offline", "unresolved", "denied", NULL };
    static const char *const clients[] = {
        "used", "capacity", "checked", "passed", "excess", "leaked", "kod", "dropped",
        "evicted", "clients", NULL };
    static const char *const client[] = {
        "address", "count", "excess", "last_s", "last_kod_s", NULL };

    (void)state;
    assert_json_keys(&schema_source, source);
    assert_json_keys(&schema_tracking, tracking);
    assert_json_keys(&schema_sourcestat, sourcestat);
    assert_json_keys(&schema_serverstats, serverstats);
    assert_json_keys(schema_serverstats.f[5].sub, mode6);
    assert_json_keys(schema_serverstats.f[6].sub, nts);
    assert_json_keys(&schema_activity, activity);
    assert_json_keys(&schema_clients, clients);
    assert_json_keys(&schema_client_entry, client);
}

/* One of each snapshot the metrics view shows, with a counter of each kind. */
struct snap {
    struct report_tracking t;
    struct report_source s[2];
    struct report_serverstats ss;
};

static void fill(struct snap *x)
{
    memset(x, 0, sizeof(*x));
    x->t.stratum = 2;
    x->t.state = "sync";
    snprintf(x->s[0].name, sizeof(x->s[0].name), "ntp.example");
    x->s[0].have_sample = true;
    x->s[1] = x->s[0];
    x->ss.dropped[0] = (struct report_counter){ "too_short", 1 };
    x->ss.n_dropped = 1;
    x->ss.mode6_dropped[0] = (struct report_counter){ "refused", 2 };
    x->ss.n_mode6_dropped = 1;
}

/* The metrics view of fill()'s snapshots (n sources), into cap bytes. */
static size_t metrics(int n, enum ctl_format fmt, char *buf, size_t cap)
{
    struct snap x;

    fill(&x);
    return metrics_format(&x.t, x.s, n, &x.ss, fmt, buf, cap);
}

/* The families, in order, each with its HELP and TYPE. */
static void test_prom_pinned(void **state)
{
    static const char *const want[] = {
        "chime_synchronised gauge", "chime_stratum gauge", "chime_offset_seconds gauge",
        "chime_frequency_ppm gauge", "chime_residual_frequency_ppm gauge",
        "chime_jitter_seconds gauge", "chime_root_delay_seconds gauge",
        "chime_root_dispersion_seconds gauge", "chime_root_distance_seconds gauge",
        "chime_leap_status gauge", "chime_clock_steps_total counter",
        "chime_source_reach gauge", "chime_source_offset_seconds gauge",
        "chime_source_delay_seconds gauge", "chime_source_stratum gauge",
        "chime_source_refclock_samples_total counter",
        "chime_source_refclock_refused_total counter",
        "chime_server_requests_total counter", "chime_server_replies_total counter",
        "chime_server_dropped_total counter", "chime_mode6_requests_total counter",
        "chime_mode6_dropped_total counter", "chime_mode6_auth_total counter",
        "chime_nts_ke_sessions_total counter", "chime_nts_ke_refused_total counter",
        "chime_nts_requests_total counter", "chime_nts_naks_total counter", NULL };
    static char buf[BIG];
    const char *p;
    size_t i = 0;

    (void)state;
    metrics(1, CTL_TEXT, buf, sizeof(buf));
    for (p = buf; (p = strstr(p, "# TYPE ")) != NULL; p++, i++) {
        assert_non_null(want[i]);
        assert_true(strncmp(p + 7, want[i], strlen(want[i])) == 0);
        assert_int_equal(p[7 + strlen(want[i])], '\n');
    }
    assert_null(want[i]);
    assert_non_null(strstr(buf, "chime_mode6_auth_total{result=\"ok\"} 0\n"
                                "chime_mode6_auth_total{result=\"failed\"} 0\n"));
    assert_non_null(strstr(buf, "chime_mode6_dropped_total{reason=\"refused\"} 2\n"));
}

/* Every Prometheus row yields its HELP line from the table's help text. */
static void test_prom_has_every_field(void **state)
{
    const struct field_table *t[16];
    size_t nt = all_tables(t, 16);
    static char buf[BIG];
    size_t rows = 0, heads = 0;

    (void)state;
    metrics(1, CTL_TEXT, buf, sizeof(buf));
    for (size_t k = 0; k < nt; k++)
        for (size_t i = 0; i < t[k]->n; i++) {
            const struct field *f = &t[k]->f[i];
            char name[128], head[512];

            if (f->prom == NULL)
                continue;
            rows++;
            field_prom_name(t[k], f, name, sizeof(name));
            snprintf(head, sizeof(head), "# HELP %s %s\n", name, f->help);
            assert_non_null(strstr(buf, head));
            snprintf(head, sizeof(head), "\n%s", name);
            assert_non_null(strstr(buf, head));     /* and a sample */
        }
    for (const char *p = buf; (p = strstr(p, "# HELP ")) != NULL; p++)
        heads++;
    assert_int_equal(rows, 29);     /* mode6_auth and nts_ke_refused have two rows */
    assert_int_equal(heads, 27);
}

/* Every JSON row is a key of its report's object. */
static void test_json_has_every_field(void **state)
{
    static char buf[BIG];

    (void)state;
    metrics(1, CTL_JSON, buf, sizeof(buf));
    for (size_t k = 0; k < N_TABLES; k++)
        for (size_t i = 0; i < tables[k]->n; i++) {
            const struct field *f = &tables[k]->f[i];
            char key[80];

            if (f->no_json || (tables[k] != &schema_tracking && tables[k] != &schema_source
                               && tables[k] != &schema_serverstats))
                continue;
            snprintf(key, sizeof(key), "\"%s\":", f->name);
            assert_non_null(strstr(buf, key));
        }
}

static size_t count_lines(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The key:value views: one line per text row (counters: one a reason). */
static void test_text_has_every_field(void **state)
{
    static char buf[BIG];
    struct snap x;
    struct report_activity a = { 1, 2, 3, 4 };
    const struct field *f;

    (void)state;
    fill(&x);
    ctl_format_tracking(&x.t, CTL_TEXT, buf, sizeof(buf));
    assert_int_equal(count_lines(buf), 19);
    for (int i = 1; (f = field_text_at(&schema_tracking, i)) != NULL; i++)
        assert_non_null(strstr(buf, f->label));
    ctl_format_serverstats(&x.ss, CTL_TEXT, buf, sizeof(buf));
    assert_int_equal(count_lines(buf), 4 + 1 + 5 + 1 + 10);  /* rows + one line a reason */
    assert_non_null(strstr(buf, "Dropped too_short               : 1\n"));
    assert_non_null(strstr(buf, "Mode 6 dropped refused          : 2\n"));
    ctl_format_activity(&a, CTL_TEXT, buf, sizeof(buf));
    assert_string_equal(buf, "1 sources online\n2 sources offline\n"
                             "3 sources with unknown address\n4 sources denied (KoD)\n");
}

/* Truncated metrics JSON is a prefix of the whole document. */
static void test_metrics_json_prefix(void **state)
{
    static char full[BIG], part[BIG];
    size_t n;

    (void)state;
    n = metrics(2, CTL_JSON, full, sizeof(full));
    for (size_t cap = 1; cap <= n + 1; cap++) {
        size_t m = metrics(2, CTL_JSON, part, cap);

        assert_true(m < cap);
        assert_int_equal(part[m], '\0');
        assert_memory_equal(part, full, m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_unique_and_documented),
        cmocka_unit_test(test_orders_complete),
        cmocka_unit_test(test_prom_families),
        cmocka_unit_test(test_json_keys_pinned),
        cmocka_unit_test(test_prom_pinned),
        cmocka_unit_test(test_prom_has_every_field),
        cmocka_unit_test(test_json_has_every_field),
        cmocka_unit_test(test_text_has_every_field),
        cmocka_unit_test(test_metrics_json_prefix),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
