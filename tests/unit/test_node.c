/* Unit tests for core/node: the choreography driven with no daemon and no
 * simulator. Two servers answer through core/server on the same clock;
 * the node's actions are carried out by hand. The `sources` table
 * chimectl prints comes out of node state alone; requests expire; -q
 * decides with a NODE_DONE; a name is resolved through NODE_RESOLVE. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/log_damp.h"
#include "core/node.h"
#include "core/node_report.h"
#include "core/server.h"
#include "monitor/control.h"

#define MONO0 (1000 * NS_PER_S)
#define REAL0 (1735689600LL * NS_PER_S)

struct rig {
    struct node node;
    struct node_out out;
    struct server srv[2];
    struct now now;
    uint64_t rnd;
    int sends, closes, resolves, done_code;
    bool done;
    bool refuse;                /* every send fails as ICMP port unreachable would */
    int64_t skew_ns[2];         /* added to a server's stamps: its clock is off */
    char logs[16384];           /* every NODE_LOG line, one per line */
    int silent_logs, sends_at_silent;
};

static uint64_t next_random(void *ctx)
{
    struct rig *r = ctx;
    r->rnd = r->rnd * 6364136223846793005ULL + 1442695040888963407ULL;
    return r->rnd | 1;
}

static void addr_of(int i, struct node_addr *a)
{
    memset(a, 0, sizeof *a);
    a->len = 1;
    a->bytes[0] = (uint8_t)i;
    snprintf(a->text, sizeof a->text, "192.0.2.%d:123", i + 1);
    snprintf(a->ip, sizeof a->ip, "192.0.2.%d", i + 1);
    a->refid = 0xc0000201u + (uint32_t)i;
}

static bool parse(void *ctx, const char *host, uint16_t port, struct node_addr *out)
{
    (void)ctx;
    (void)port;
    if (strncmp(host, "192.0.2.", 8) != 0)
        return false;
    addr_of(atoi(host + 8) - 1, out);
    return true;
}

static struct node_source_conf line(const char *host, enum node_source_kind kind)
{
    struct node_source_conf c = { .kind = kind, .port = 123,
                                  .sc = { .version = 4, .minpoll = 6, .maxpoll = 10,
                                          .iburst = true } };
    snprintf(c.host, sizeof c.host, "%s", host);
    snprintf(c.where, sizeof c.where, "test:1");
    return c;
}

static void note_log(struct rig *r, const struct node_action *a)
{
    size_t used = strlen(r->logs);

    if (a->kind != NODE_LOG)
        return;
    snprintf(r->logs + used, sizeof r->logs - used, "%s\n", a->u.log.text);
    if (strstr(a->u.log.text, "is not answering")) {
        r->silent_logs++;
        r->sends_at_silent = r->sends;
    }
}

/* Answer a request: it arrives back 1 ms (our clock) after it left and
 * carries server stamps 2 ms after T1, i.e. the server is 1.5 ms ahead
 * with 0.5 ms each way. */
static void answer(struct rig *r, const struct node_action *a)
{
    uint8_t reply[NTP_HEADER_LEN];
    size_t len;
    int i = a->u.send.addr->bytes[0];
    real_ns t1 = r->now.real;
    struct now later = { mono_add(r->now.mono, NS_PER_S / 1000),
                         real_add(r->now.real, NS_PER_S / 1000) };

    node_sent(&r->node, a->slot, t1);
    assert_int_equal(server_handle(&r->srv[i], a->u.send.data, a->u.send.len,
                                   real_add(t1, NS_PER_S / 500 + r->skew_ns[i]), reply,
                                   sizeof reply, &len),
                     SRV_REPLY);
    server_stamp_xmt(reply, real_add(t1, NS_PER_S / 500 + 1000 + r->skew_ns[i]));
    /* the reply is carried out after the send list: keep it simple and
     * deliver it now, the node copes with its own list being reused */
    struct node_out out2;
    node_reply(&r->node, a->slot, reply, len, later.real, &later, &out2);
    for (int k = 0; k < out2.n; k++) {
        note_log(r, &out2.a[k]);
        if (out2.a[k].kind == NODE_DONE) {
            r->done = true;
            r->done_code = out2.a[k].u.done.code;
        }
    }
}

static void carry_out(struct rig *r, bool reply)
{
    struct node_out copy = r->out;      /* answers refill the node's list */

    for (int i = 0; i < copy.n; i++) {
        const struct node_action *a = &copy.a[i];

        r->sends += a->kind == NODE_SEND;
        r->closes += a->kind == NODE_CLOSE;
        r->resolves += a->kind == NODE_RESOLVE;
        if (a->kind == NODE_SEND && reply)
            answer(r, a);
        else if (a->kind == NODE_SEND && r->refuse)
            node_send_failed(&r->node, a->slot, "Connection refused");
        note_log(r, a);
        if (a->kind == NODE_DONE) {
            r->done = true;
            r->done_code = a->u.done.code;
        }
    }
    r->now.real = real_add(r->now.real, mono_sub(copy.wake, r->now.mono));
    r->now.mono = copy.wake;
}

static struct rig *start(const struct node_source_conf *lines, int n, bool once)
{
    struct rig *r = calloc(1, sizeof *r);
    struct node_conf nc = { .max_sources = 10, .once = once,
                            .once_timeout_ns = 30 * NS_PER_S };
    struct node_deps deps = { .random64 = next_random, .random_ctx = r, .parse = parse };

    assert_non_null(r);
    discipline_conf_default(&nc.client.disc);
    select_params_default(&nc.client.select);
    nc.client.disc.clock_control = false;
    nc.client.precision = -20;
    for (int i = 0; i < 2; i++) {
        struct sys_state sys = { .leap = LEAP_NONE, .stratum = 1, .precision = -20,
                                 .refid = ntp_refid_from_ascii("GPS"),
                                 .reftime = ntp64_from_real((real_ns){ REAL0 }) };
        server_init(&r->srv[i], -20);
        server_set_sys(&r->srv[i], &sys);
    }
    r->now = (struct now){ { MONO0 }, { REAL0 } };
    node_init(&r->node, &nc, &deps, lines, n, &r->now, &r->out);
    return r;
}

static void run(struct rig *r, int64_t for_ns, bool reply)
{
    mono_ns end = mono_add(r->now.mono, for_ns);

    carry_out(r, reply);
    while (r->now.mono.ns < end.ns && !r->done) {
        node_tick(&r->node, &r->now, &r->out);
        carry_out(r, reply);
    }
}

static void test_sources_table_from_node_state(void **state)
{
    struct node_source_conf lines[2] = { line("192.0.2.1", NODE_SERVER),
                                         line("192.0.2.2", NODE_SERVER) };
    struct rig *r = start(lines, 2, false);
    struct report_source rows[NODE_MAX_SLOTS];
    char table[4096];
    int n;

    (void)state;
    run(r, 120 * NS_PER_S, true);
    n = node_report_sources(&r->node, r->now.mono, rows, NODE_MAX_SLOTS);
    assert_int_equal(n, 2);
    ctl_format_sources(rows, n, CTL_TEXT, table, sizeof table);
    printf("# %s", table);
    assert_non_null(strstr(table, "192.0.2.1"));
    assert_non_null(strstr(table, "192.0.2.2"));
    assert_non_null(strchr(table, '*'));        /* a system peer was chosen */
    for (int i = 0; i < n; i++) {
        assert_true(rows[i].reach != 0);
        assert_true(rows[i].have_sample);
        /* the servers are 1.5 ms ahead, 1 ms round trip */
        assert_true(rows[i].offset_s > 0.00149 && rows[i].offset_s < 0.00151);
        assert_true(rows[i].delay_s > 0.00099 && rows[i].delay_s < 0.00101);
    }
    assert_int_equal(node_sys_peer_slot(&r->node) >= 0, 1);
    free(r);
}

static void test_unanswered_requests_expire(void **state)
{
    struct node_source_conf lines[1] = { line("192.0.2.1", NODE_SERVER) };
    struct rig *r = start(lines, 1, false);
    struct report_activity a;

    (void)state;
    run(r, 60 * NS_PER_S, false);
    assert_true(r->sends >= 4);                 /* the iburst */
    assert_true(r->closes >= r->sends - 1);     /* each socket closed after 8 s */
    node_report_activity(&r->node, &a);
    assert_int_equal(a.offline, 1);
    free(r);
}

static void test_once_decides(void **state)
{
    struct node_source_conf lines[1] = { line("192.0.2.1", NODE_SERVER) };
    struct rig *r = start(lines, 1, true);

    (void)state;
    run(r, 60 * NS_PER_S, true);
    assert_true(r->done);
    assert_int_equal(r->done_code, 0);
    assert_true(r->now.mono.ns - MONO0 < 20 * NS_PER_S);
    free(r);
}

static void test_once_times_out(void **state)
{
    struct node_source_conf lines[1] = { line("192.0.2.1", NODE_SERVER) };
    struct rig *r = start(lines, 1, true);

    (void)state;
    run(r, 60 * NS_PER_S, false);
    assert_true(r->done);
    assert_int_equal(r->done_code, 1);
    free(r);
}

static void test_names_are_resolved_and_pools_filled(void **state)
{
    struct node_source_conf lines[2] = { line("ntp.example", NODE_SERVER),
                                         line("pool.example", NODE_POOL) };
    struct rig *r = start(lines, 2, false);
    struct node_addr addrs[2];
    struct report_source rows[NODE_MAX_SLOTS];
    int n;

    (void)state;
    carry_out(r, false);
    assert_int_equal(r->resolves, 2);
    n = node_report_sources(&r->node, r->now.mono, rows, NODE_MAX_SLOTS);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].refid, "DNS");
    addr_of(0, &addrs[0]);
    node_resolved(&r->node, 0, addrs, 1, NULL, &r->now, &r->out);
    addr_of(0, &addrs[0]);      /* a pool answer with an address in use */
    addr_of(1, &addrs[1]);
    node_resolved(&r->node, NODE_REQ_POOL(0), addrs, 2, NULL, &r->now, &r->out);
    n = node_report_sources(&r->node, r->now.mono, rows, NODE_MAX_SLOTS);
    assert_int_equal(n, 2);
    assert_string_equal(rows[1].address, "192.0.2.2:123");
    assert_true(rows[1].pool);
    /* a stale answer for a lookup nobody waits for is ignored */
    node_resolved(&r->node, 0, addrs, 2, NULL, &r->now, &r->out);
    assert_int_equal(node_report_sources(&r->node, r->now.mono, rows, NODE_MAX_SLOTS), 2);
    free(r);
}

/* Issue 15 finding 12: a server that never answers is logged once its
 * first burst has gone unanswered (not before, not again), with how it
 * failed; a reply afterwards is logged too. */
static void test_silent_source_logged_after_burst(void **state)
{
    struct node_source_conf lines[1] = { line("192.0.2.1", NODE_SERVER) };
    struct rig *r = start(lines, 1, false);

    (void)state;
    run(r, 600 * NS_PER_S, false);
    printf("# %s", r->logs);
    assert_int_equal(r->silent_logs, 1);
    assert_int_equal(r->sends_at_silent, 4);        /* the whole iburst, then the line */
    assert_non_null(strstr(r->logs, "192.0.2.1 (192.0.2.1:123) is not answering: "
                                    "4 requests unanswered (no reply)"));
    assert_null(strstr(r->logs, "answers again"));
    run(r, 3600 * NS_PER_S, true);
    assert_non_null(strstr(r->logs, "192.0.2.1 answers again"));
    assert_int_equal(r->silent_logs, 1);
    free(r);
}

static void test_refused_source_says_how(void **state)
{
    struct node_source_conf lines[1] = { line("192.0.2.1", NODE_SERVER) };
    struct rig *r = start(lines, 1, false);

    (void)state;
    r->refuse = true;
    run(r, 120 * NS_PER_S, false);
    assert_int_equal(r->silent_logs, 1);
    assert_non_null(strstr(r->logs, "is not answering: 4 requests unanswered "
                                    "(Connection refused)"));
    free(r);
}

/* -q gives up naming each server and what went wrong with it. */
static void test_once_failure_names_servers(void **state)
{
    struct node_source_conf lines[2] = { line("192.0.2.1", NODE_SERVER),
                                         line("ntp.example", NODE_SERVER) };
    struct rig *r = start(lines, 2, true);

    (void)state;
    r->refuse = true;
    carry_out(r, false);
    node_resolved(&r->node, 1, NULL, -1, "no such name (NXDOMAIN)", &r->now, &r->out);
    run(r, 60 * NS_PER_S, false);
    printf("# %s", r->logs);
    assert_true(r->done);
    assert_int_equal(r->done_code, 1);
    assert_non_null(strstr(r->logs, "192.0.2.1 (192.0.2.1:123): no valid reply to 4 "
                                    "requests (Connection refused)"));
    assert_non_null(strstr(r->logs, "ntp.example: cannot resolve: no such name (NXDOMAIN)"));
    assert_non_null(strstr(r->logs, "no usable time source within 30 s"));
    free(r);
}

/* A server may kiss us on every request: the line is damped per source,
 * each kiss within the period doubles it (to an hour), and the next line
 * says how many were held back; a quiet source starts again at a minute. */
static void test_kod_lines_damped(void **state)
{
    (void)state;
    struct log_damp d = { 0 };
    uint32_t held = 99;
    int64_t t = MONO0, lines = 0;

    assert_true(log_damp_due(&d, (mono_ns){ t }, &held));
    assert_int_equal(held, 0);
    for (int i = 0; i < 100; i++) {         /* a kiss every 16 s for 1600 s */
        t += 16 * NS_PER_S;
        lines += log_damp_due(&d, (mono_ns){ t }, &held);
    }
    assert_int_equal(lines, 0);
    assert_int_equal(d.period_ns, LOG_DAMP_MAX_NS);
    t = MONO0 + LOG_DAMP_MAX_NS;            /* an hour after the first line */
    assert_true(log_damp_due(&d, (mono_ns){ t }, &held));
    assert_int_equal(held, 100);
    t += 3 * LOG_DAMP_MAX_NS;               /* quiet for 3 h: back to a minute */
    assert_true(log_damp_due(&d, (mono_ns){ t }, &held));
    assert_int_equal(held, 0);
    assert_int_equal(d.period_ns, LOG_DAMP_MIN_NS);
    assert_false(log_damp_due(&d, (mono_ns){ t + 30 * NS_PER_S }, &held));
    assert_true(log_damp_due(&d, (mono_ns){ t + 121 * NS_PER_S }, &held));
    assert_int_equal(held, 1);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Two servers 50 ms apart whose error bounds (about a millisecond) do
 * not overlap: no majority, and the log says so, naming each once, not
 * at every selection. */
static void test_disagreeing_sources_named(void **state)
{
    struct node_source_conf lines[2] = { line("192.0.2.1", NODE_SERVER),
                                         line("192.0.2.2", NODE_SERVER) };
    struct rig *r = start(lines, 2, false);

    (void)state;
    r->skew_ns[1] = 50 * NS_PER_S / 1000;
    run(r, 600 * NS_PER_S, true);
    printf("# %s", r->logs);
    assert_int_equal(count_of(r->logs, "192.0.2.1 disagrees with the other sources"), 1);
    assert_int_equal(count_of(r->logs, "192.0.2.2 disagrees with the other sources"), 1);
    assert_int_equal(count_of(r->logs, "no majority: not synchronising"), 2);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sources_table_from_node_state),
        cmocka_unit_test(test_unanswered_requests_expire),
        cmocka_unit_test(test_once_decides),
        cmocka_unit_test(test_once_times_out),
        cmocka_unit_test(test_names_are_resolved_and_pools_filled),
        cmocka_unit_test(test_silent_source_logged_after_burst),
        cmocka_unit_test(test_refused_source_says_how),
        cmocka_unit_test(test_once_failure_names_servers),
        cmocka_unit_test(test_kod_lines_damped),
        cmocka_unit_test(test_disagreeing_sources_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
