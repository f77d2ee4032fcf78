/* Unit tests for reference clocks: core/refclock_sample (the SHM segment
 * and its handshake, the SOCK datagram, the per-poll filter), the node's
 * refclock source (stratum 0, its refid, the report's ".GPS." and 'l'),
 * and the SHM/SOCK drivers of sys/refclock_drv against a writer in this
 * process. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/node.h"
#include "core/node_report.h"
#include "core/refclock_sample.h"
#include "monitor/control.h"
#include "sys/refclock_drv.h"

#define MONO0 (1000 * NS_PER_S)
#define REAL0 (1735689600LL * NS_PER_S)

static struct refclock_shm_seg seg_at(int64_t ref_s, int ref_us, int64_t rcv_s, int rcv_us)
{
    struct refclock_shm_seg s;

    memset(&s, 0, sizeof(s));
    s.mode = 1;
    s.count = 7;
    s.clock_sec = (time_t)ref_s;
    s.clock_usec = ref_us;
    s.clock_nsec = (unsigned)ref_us * 1000;
    s.receive_sec = (time_t)rcv_s;
    s.receive_usec = rcv_us;
    s.receive_nsec = (unsigned)rcv_us * 1000;
    s.precision = -20;
    s.valid = 1;
    return s;
}

/* ---- SHM ------------------------------------------------------------------- */

static void test_shm_handshake(void **state)
{
    struct refclock_shm_seg s = seg_at(1000, 500000, 1000, 250000);
    struct refclock_sample out;

    (void)state;
    assert_int_equal(refclock_shm_parse(&s, 7, &out), REFCLOCK_NEW);
    assert_int_equal(out.reference.ns, 1000 * NS_PER_S + 500000000);
    assert_int_equal(out.receive.ns, 1000 * NS_PER_S + 250000000);
    assert_true(refclock_sample_offset(&out) == 0.25);
    assert_int_equal(out.precision, -20);
    /* mode 1: the count moved while we copied: not this time */
    assert_int_equal(refclock_shm_parse(&s, 8, &out), REFCLOCK_BUSY);
    /* mode 0 trusts valid alone */
    s.mode = 0;
    assert_int_equal(refclock_shm_parse(&s, 8, &out), REFCLOCK_NEW);
    /* nothing new */
    s.valid = 0;
    assert_int_equal(refclock_shm_parse(&s, 7, &out), REFCLOCK_EMPTY);
    s.valid = 1;
    s.mode = 2;
    assert_int_equal(refclock_shm_parse(&s, 7, &out), REFCLOCK_BAD_MODE);
}

static void test_shm_fields(void **state)
{
    struct refclock_shm_seg s = seg_at(1000, 1, 1000, 0);
    struct refclock_sample out;

    (void)state;
    /* the nsec field refines usec when they agree */
    s.clock_nsec = 1999;
    assert_int_equal(refclock_shm_parse(&s, 7, &out), REFCLOCK_NEW);
    assert_int_equal(out.reference.ns % NS_PER_S, 1999);
    /* an old writer's garbage in nsec: usec it is */
    s.clock_nsec = 123456789;
    assert_int_equal(refclock_shm_parse(&s, 7, &out), REFCLOCK_NEW);
    assert_int_equal(out.reference.ns % NS_PER_S, 1000);
    s.clock_usec = 1000000;
    assert_int_equal(refclock_shm_parse(&s, 7, &out), REFCLOCK_BAD_TIME);
    s = seg_at(1000, 0, 1000, -1);
    assert_int_equal(refclock_shm_parse(&s, 7, &out), REFCLOCK_BAD_TIME);
    /* leap out of range is "unsynchronised"; precision 0 is "not said" */
    s = seg_at(1000, 0, 1000, 0);
    s.leap = 9;
    s.precision = 0;
    assert_int_equal(refclock_shm_parse(&s, 7, &out), REFCLOCK_NEW);
    assert_int_equal(out.leap, 3);
    assert_int_equal(out.precision, -20);
    /* before 1970 is a time too: negative seconds, positive fractions */
    s = seg_at(-2, 500000, -3, 0);
    assert_int_equal(refclock_shm_parse(&s, 7, &out), REFCLOCK_NEW);
    assert_true(refclock_sample_offset(&out) == 1.5);
}

/* ---- SOCK ------------------------------------------------------------------ */

static void test_sock(void **state)
{
    struct refclock_sock_msg m = { .tv = { 1000, 250000 }, .offset = -0.125, .leap = 1,
                                   .magic = REFCLOCK_SOCK_MAGIC };
    struct refclock_sample out;
    uint8_t big[sizeof(m) + 1] = { 0 };

    (void)state;
    assert_int_equal(refclock_sock_parse(&m, sizeof(m), &out), REFCLOCK_NEW);
    assert_int_equal(out.receive.ns, 1000 * NS_PER_S + 250000000);
    assert_int_equal(out.reference.ns, 1000 * NS_PER_S + 125000000);
    assert_int_equal(out.leap, 1);
    assert_int_equal(refclock_sock_parse(&m, sizeof(m) - 1, &out), REFCLOCK_BAD_SIZE);
    memcpy(big, &m, sizeof(m));
    assert_int_equal(refclock_sock_parse(big, sizeof(big), &out), REFCLOCK_BAD_SIZE);
    m.pulse = 1;
    assert_int_equal(refclock_sock_parse(&m, sizeof(m), &out), REFCLOCK_PULSE);
    m.pulse = 0;
    m.offset = 0.0 / 0.0;
    assert_int_equal(refclock_sock_parse(&m, sizeof(m), &out), REFCLOCK_BAD_TIME);
    m.offset = 0;
    m.magic = 0x4b434f53;       /* the other byte order is not ours */
    assert_int_equal(refclock_sock_parse(&m, sizeof(m), &out), REFCLOCK_BAD_MAGIC);
}

/* ---- the filter ---------------------------------------------------------------- */

static void test_filter(void **state)
{
    struct refclock_filter f = { 0 };
    mono_ns when;
    double raw, sd;
    int leap, prec;

    (void)state;
    assert_false(refclock_filter_take(&f, &when, &raw, &sd, &leap, &prec));
    /* 16 samples 1 s apart around 10 ms, two wild ones: the middle half */
    for (int i = 0; i < 16; i++) {
        double v = 0.010 + (i % 2 ? 1e-5 : -1e-5);

        if (i == 3)
            v = 5.0;
        if (i == 9)
            v = -5.0;
        refclock_filter_add(&f, (mono_ns){ MONO0 + i * NS_PER_S }, v, 0, -20);
    }
    assert_true(refclock_filter_take(&f, &when, &raw, &sd, &leap, &prec));
    assert_true(raw > 0.010 - 1.1e-5 && raw < 0.010 + 1.1e-5);
    assert_true(sd < 2e-5);
    assert_true(when.ns > MONO0 && when.ns < MONO0 + 15 * NS_PER_S);
    assert_int_equal(prec, -20);
    assert_int_equal(f.n, 0);
    /* a writer faster than the filter holds: the newest are kept */
    for (int i = 0; i < REFCLOCK_FILTER_MAX + 8; i++)
        refclock_filter_add(&f, (mono_ns){ MONO0 + i }, i, 0, -20);
    assert_int_equal(f.n, REFCLOCK_FILTER_MAX);
    assert_int_equal(f.dropped, 8);
    assert_true(f.raw[0] == 8.0);
}

/* ---- the node ------------------------------------------------------------------- */

static uint64_t next_random(void *ctx)
{
    uint64_t *r = ctx;

    *r = *r * 6364136223846793005ULL + 1442695040888963407ULL;
    return *r | 1;
}

static struct node_source_conf shm_line(int unit, const char *refid, double offset)
{
    struct node_source_conf c = { .kind = NODE_REFCLOCK, .sc = { .version = 4 } };

    snprintf(c.host, sizeof c.host, "SHM(%d)", unit);
    snprintf(c.where, sizeof c.where, "test:%d", unit + 1);
    c.rc.driver = NODE_RC_SHM;
    c.rc.unit = unit;
    c.rc.refid = ntp_refid_from_ascii(refid);
    c.rc.offset_s = offset;
    return c;
}

struct rig {
    struct node node;
    struct node_out out;
    struct now now;
    uint64_t rnd;
    int sends, samples;
};

static struct rig *start(const struct node_source_conf *lines, int n)
{
    struct rig *r = calloc(1, sizeof *r);
    struct node_conf nc = { .max_sources = 10 };
    struct node_deps deps = { .random64 = next_random, .random_ctx = &r->rnd };

    assert_non_null(r);
    discipline_conf_default(&nc.client.disc);
    select_params_default(&nc.client.select);
    nc.client.disc.clock_control = false;
    nc.client.precision = -20;
    r->now = (struct now){ { MONO0 }, { REAL0 } };
    node_init(&r->node, &nc, &deps, lines, n, &r->now, &r->out);
    return r;
}

static void count(struct rig *r)
{
    for (int i = 0; i < r->out.n; i++) {
        r->sends += r->out.a[i].kind == NODE_SEND;
        r->samples += r->out.a[i].kind == NODE_SAMPLE;
    }
}

/* One second: a sample `offset` ahead taken `age_ns` ago on slot 0, then
 * the node's tick. */
static void second(struct rig *r, double offset, int64_t age_ns, bool feed)
{
    r->now.mono = mono_add(r->now.mono, NS_PER_S);
    r->now.real = real_add(r->now.real, NS_PER_S);
    if (feed) {
        struct refclock_sample s = { .receive = real_add(r->now.real, -age_ns),
                                     .precision = -20 };

        s.reference = real_add(s.receive, (int64_t)(offset * 1e9));
        node_refclock_sample(&r->node, 0, &s, &r->now, &r->out);
        count(r);
    }
    node_tick(&r->node, &r->now, &r->out);
    count(r);
}

static void test_node_refclock_source(void **state)
{
    struct node_source_conf lines[1] = { shm_line(2, "GPS", 0.001) };
    struct rig *r = start(lines, 1);
    struct report_source row;
    char table[1024];

    (void)state;
    assert_true(node_slot_refclock(&r->node, 0));
    for (int k = 0; k < 100; k++)
        second(r, 0.020 + (k % 2 ? 5e-6 : -5e-6), 300 * 1000 * 1000, true);
    /* never polled, one filtered sample per 16 s */
    assert_int_equal(r->sends, 0);
    assert_true(r->samples >= 5 && r->samples <= 7);
    node_report_source(&r->node, 0, r->now.mono, &row);
    ctl_format_sources(&row, 1, CTL_TEXT, table, sizeof table);
    printf("# %s", table);
    assert_true(row.refclock);
    assert_int_equal(row.stratum, 0);
    assert_string_equal(row.refid, ".GPS.");
    assert_int_equal(row.poll, REFCLOCK_DEFAULT_POLL);
    assert_non_null(strstr(table, " 0 l "));
    /* the configured offset is added: 20 ms + 1 ms */
    assert_true(row.have_sample);
    assert_true(row.offset_s > 0.02099 && row.offset_s < 0.02101);
    assert_int_equal(node_sys_peer_slot(&r->node), 0);
    /* we serve stratum 1 with the clock's refid */
    assert_int_equal(r->out.sys.stratum, 1);
    assert_int_equal(r->out.sys.refid, ntp_refid_from_ascii("GPS"));
    free(r);
}

static void test_node_refclock_stale_and_silent(void **state)
{
    struct node_source_conf lines[1] = { shm_line(0, "GPS", 0) };
    struct rig *r = start(lines, 1);
    struct report_source row;

    (void)state;
    /* samples older than the limit (a writer that stopped) are not used */
    for (int k = 0; k < 40; k++)
        second(r, 0.001, NODE_REFCLOCK_MAX_AGE_NS + NS_PER_S, true);
    assert_int_equal(r->samples, 0);
    assert_int_equal(r->node.slot[0].rc_stale, 40);
    for (int k = 0; k < 40; k++)
        second(r, 0.001, 0, true);
    node_report_source(&r->node, 0, r->now.mono, &row);
    assert_true(row.reach != 0);
    /* the writer goes away: reach runs out poll by poll */
    for (int k = 0; k < 9 * 16; k++)
        second(r, 0, 0, false);
    node_report_source(&r->node, 0, r->now.mono, &row);
    assert_int_equal(row.reach, 0);
    assert_int_equal(node_sys_peer_slot(&r->node), -1);
    free(r);
}

/* A PPS locked to an NMEA clock: one second of both. Our clock is `behind`
 * s behind the true time; the NMEA is `coarse` s late-or-early noise
 * aside; the pulse marks each true second. */
static void pps_second(struct rig *r, double behind, double coarse)
{
    struct refclock_sample s = { .precision = -20 };
    int64_t frac = (int64_t)(behind * 1e9) % NS_PER_S;

    r->now.mono = mono_add(r->now.mono, NS_PER_S);
    r->now.real = real_add(r->now.real, NS_PER_S);
    /* NMEA: true time behind + coarse ahead of our clock */
    s.receive = real_add(r->now.real, -100 * 1000 * 1000);
    s.reference = real_add(s.receive, (int64_t)((behind + coarse) * 1e9));
    node_refclock_sample(&r->node, 0, &s, &r->now, &r->out);
    count(r);
    /* the edge of the true second before now: on our clock, a whole
     * second less the fraction we are behind */
    s = (struct refclock_sample){ .precision = -20, .pulse = true };
    s.receive.ns = (r->now.real.ns / NS_PER_S) * NS_PER_S - frac;
    if (s.receive.ns > r->now.real.ns)
        s.receive.ns -= NS_PER_S;
    s.reference = s.receive;
    node_refclock_sample(&r->node, 1, &s, &r->now, &r->out);
    count(r);
    node_tick(&r->node, &r->now, &r->out);
    count(r);
}

static void test_node_pps_lock(void **state)
{
    struct node_source_conf lines[2] = { shm_line(3, "NMEA", 0), shm_line(4, "PPS", 0) };
    struct report_source row;
    struct rig *r;

    (void)state;
    lines[0].sc.noselect = true;
    lines[1].rc.driver = NODE_RC_PPS;
    lines[1].rc.lock = ntp_refid_from_ascii("NMEA");
    lines[1].sc.pps = true;
    snprintf(lines[1].host, sizeof lines[1].host, "PPS(/dev/pps0)");
    r = start(lines, 2);
    /* 0.7 s behind: the pulse's fraction alone says 0.3 s ahead; the NMEA
     * (20 ms off) numbers the second */
    for (int k = 0; k < 40; k++)
        pps_second(r, 0.7, 0.020);
    node_report_source(&r->node, 1, r->now.mono, &row);
    assert_true(row.have_sample);
    assert_true(fabs(row.offset_s - 0.7) < 1e-6);
    assert_int_equal(row.rc_refused, 0);
    assert_true(row.rc_samples >= 39);
    assert_int_equal(node_sys_peer_slot(&r->node), 1);
    free(r);

    /* a coarse clock 0.5 s from every second the pulse could mark: no
     * pulse is used, and the report says why */
    r = start(lines, 2);
    for (int k = 0; k < 40; k++)
        pps_second(r, 0.7, -0.5);
    node_report_source(&r->node, 1, r->now.mono, &row);
    assert_false(row.have_sample);
    assert_int_equal(row.rc_samples, 0);
    assert_int_equal(row.rc_refused, 40);
    assert_string_equal(row.rc_error, "the coarse source is not within 0.4 s of the pulse");
    free(r);

    /* no lock clock configured at all: refused, said */
    lines[1].rc.lock = ntp_refid_from_ascii("GPS");
    r = start(lines, 2);
    for (int k = 0; k < 20; k++)
        pps_second(r, 0.7, 0.02);
    node_report_source(&r->node, 1, r->now.mono, &row);
    assert_int_equal(row.rc_samples, 0);
    assert_string_equal(row.rc_error, "the lock refclock is not configured");
    free(r);
}

/* ---- the drivers ------------------------------------------------------------------- */

static void test_drv_shm(void **state)
{
    /* a unit of our own, away from gpsd's 0-3 and from other runs */
    int unit = 100 + (int)(getpid() % 100);
    struct node_refclock_conf c = { .driver = NODE_RC_SHM, .unit = unit };
    char err[256];
    struct refclock_drv *d = refclock_drv_open(&c, err, sizeof err);
    struct refclock_sample out;
    const char *why;
    int id;
    volatile struct refclock_shm_seg *seg;

    (void)state;
    if (!d) {
        printf("# skip: %s\n", err);
        skip();
    }
    assert_int_equal(refclock_drv_fd(d), -1);
    id = shmget((key_t)(REFCLOCK_SHM_KEY + unit), sizeof(*seg), 0);
    assert_true(id >= 0);
    seg = shmat(id, NULL, 0);
    assert_true(seg != (void *)-1);
    assert_int_equal(refclock_drv_read(d, &out, &why), 0);
    *seg = seg_at(2000, 1000, 2000, 0);
    assert_int_equal(refclock_drv_read(d, &out, &why), 1);
    assert_true(refclock_sample_offset(&out) == 0.001);
    /* taken: valid is cleared, the same sample is not read twice */
    assert_int_equal(seg->valid, 0);
    assert_int_equal(refclock_drv_read(d, &out, &why), 0);
    seg->mode = 5;
    seg->valid = 1;
    assert_int_equal(refclock_drv_read(d, &out, &why), -1);
    assert_string_equal(why, "segment mode is neither 0 nor 1");
    refclock_drv_close(d);
    shmdt((const void *)seg);
    shmctl(id, IPC_RMID, NULL);
}

static void test_drv_sock(void **state)
{
    struct node_refclock_conf c = { .driver = NODE_RC_SOCK };
    struct refclock_sock_msg m = { .tv = { 3000, 0 }, .offset = 0.5,
                                   .magic = REFCLOCK_SOCK_MAGIC };
    struct sockaddr_un to = { .sun_family = AF_UNIX };
    struct refclock_sample out;
    const char *why;
    char err[256];
    struct refclock_drv *d;
    int fd;

    (void)state;
    snprintf(c.path, sizeof c.path, "/tmp/chime-test-rc-%d.sock", (int)getpid());
    d = refclock_drv_open(&c, err, sizeof err);
    assert_non_null(d);
    assert_true(refclock_drv_fd(d) >= 0);
    assert_int_equal(refclock_drv_read(d, &out, &why), 0);
    snprintf(to.sun_path, sizeof to.sun_path, "%s", c.path);
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(sendto(fd, &m, sizeof m, 0, (struct sockaddr *)&to, sizeof to) ==
                (ssize_t)sizeof m);
    assert_true(sendto(fd, &m, 3, 0, (struct sockaddr *)&to, sizeof to) == 3);
    assert_int_equal(refclock_drv_read(d, &out, &why), 1);
    assert_true(refclock_sample_offset(&out) == 0.5);
    assert_int_equal(refclock_drv_read(d, &out, &why), -1);
    assert_string_equal(why, "datagram is not one sample long");
    close(fd);
    refclock_drv_close(d);
    /* the socket is gone with the driver */
    assert_int_equal(access(c.path, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shm_handshake),
        cmocka_unit_test(test_shm_fields),
        cmocka_unit_test(test_sock),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_node_refclock_source),
        cmocka_unit_test(test_node_refclock_stale_and_silent),
        cmocka_unit_test(test_node_pps_lock),
        cmocka_unit_test(test_drv_shm),
        cmocka_unit_test(test_drv_sock),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
