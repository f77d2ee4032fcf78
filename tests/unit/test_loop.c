/* sys/loop: timer order, cancel, re-arm, fd readiness, signals, stop, and
 * one `now` per iteration. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/loop.h"

#define MS 1000000LL

/* Records the order timers fire in, and the `now` each one saw. */
struct rec {
    struct loop *l;
    int order[1100];
    struct now seen[1100];
    int n;
    int stop_after;          /* loop_stop() once n reaches this */
};

struct tctx {
    struct rec *r;
    int tag;
    mono_ns when;
};

static void on_timer(void *arg, const struct now *now)
{
    struct tctx *t = arg;
    struct rec *r = t->r;

    /* a timer never fires before it is due */
    assert_true(now->mono.ns >= t->when.ns);
    r->seen[r->n] = *now;
    r->order[r->n++] = t->tag;
    if (r->n == r->stop_after)
        loop_stop(r->l);
}

static void test_timer_order(void **state)
{
    struct rec r = { .l = loop_new(), .stop_after = 3 };
    mono_ns t0 = clock_read_mono();
    struct tctx c[3] = {
        { &r, 3, mono_add(t0, 30 * MS) },
        { &r, 1, mono_add(t0, 10 * MS) },
        { &r, 2, mono_add(t0, 20 * MS) },
    };

    (void)state;
    for (int i = 0; i < 3; i++)
        assert_true(loop_timer_at(r.l, c[i].when, on_timer, &c[i]) > 0);
    assert_int_equal(loop_run(r.l), 0);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.order[0], 1);
    assert_int_equal(r.order[1], 2);
    assert_int_equal(r.order[2], 3);
    loop_free(r.l);
}

/* Many timers at random times (all already due or due within 50 ms)
 * must come out sorted by time; equal times in insertion order. */
static void test_many_random_timers(void **state)
{
    enum { N = 1000 };
    struct rec *r = calloc(1, sizeof(*r));
    struct tctx *c = calloc(N, sizeof(*c));
    mono_ns t0 = clock_read_mono();

    (void)state;
    r->l = loop_new();
    r->stop_after = N;
    srand(12345);
    for (int i = 0; i < N; i++) {
        c[i] = (struct tctx){ r, i, mono_add(t0, (rand() % 50) * MS - 10 * MS) };
        loop_timer_at(r->l, c[i].when, on_timer, &c[i]);
    }
    assert_int_equal(loop_run(r->l), 0);
    assert_int_equal(r->n, N);
    for (int i = 1; i < N; i++) {
        struct tctx *a = &c[r->order[i - 1]], *b = &c[r->order[i]];

        assert_true(a->when.ns < b->when.ns
                    || (a->when.ns == b->when.ns && a->tag < b->tag));
    }
    loop_free(r->l);
    free(c);
    free(r);
}

static void test_cancel(void **state)
{
    struct rec r = { .l = loop_new(), .stop_after = 2 };
    mono_ns t0 = clock_read_mono();
    struct tctx c[4] = {
        { &r, 1, mono_add(t0, 1 * MS) }, { &r, 2, mono_add(t0, 2 * MS) },
        { &r, 3, mono_add(t0, 3 * MS) }, { &r, 4, mono_add(t0, 4 * MS) },
    };
    uint64_t id[4];

    (void)state;
    for (int i = 0; i < 4; i++)
        id[i] = loop_timer_at(r.l, c[i].when, on_timer, &c[i]);
    loop_timer_cancel(r.l, id[1]);
    loop_timer_cancel(r.l, id[1]);      /* twice: harmless */
    loop_timer_cancel(r.l, id[3]);
    loop_timer_cancel(r.l, 987654);     /* never existed: harmless */
    assert_int_equal(loop_run(r.l), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.order[0], 1);
    assert_int_equal(r.order[1], 3);
    loop_timer_cancel(r.l, id[0]);      /* already fired: harmless */
    loop_free(r.l);
}

/* A timer that re-arms itself, and cancels another from its callback. */
struct rearm {
    struct loop *l;
    int fired;
    uint64_t victim;
    int victim_fired;
};

static void on_victim(void *arg, const struct now *now)
{
    (void)now;
    ((struct rearm *)arg)->victim_fired++;
}

static void on_rearm(void *arg, const struct now *now)
{
    struct rearm *a = arg;

    if (++a->fired == 1)
        loop_timer_cancel(a->l, a->victim);
    if (a->fired == 5) {
        loop_stop(a->l);
        return;
    }
    /* due immediately: must wait for the next iteration, not spin here */
    loop_timer_at(a->l, now->mono, on_rearm, a);
}

static void test_rearm(void **state)
{
    struct rearm a = { .l = loop_new() };
    mono_ns t0 = clock_read_mono();

    (void)state;
    loop_timer_at(a.l, t0, on_rearm, &a);
    a.victim = loop_timer_at(a.l, mono_add(t0, 5 * MS), on_victim, &a);
    assert_int_equal(loop_run(a.l), 0);
    assert_int_equal(a.fired, 5);
    assert_int_equal(a.victim_fired, 0);
    loop_free(a.l);
}

/* fd readiness on a pipe; the callback deletes itself. */
struct fdctx {
    struct loop *l;
    int calls;
    char got;
};

static void on_readable(void *arg, int fd, short revents, const struct now *now)
{
    struct fdctx *f = arg;

    (void)now;
    assert_true(revents & POLLIN);
    assert_int_equal(read(fd, &f->got, 1), 1);
    f->calls++;
    loop_del_fd(f->l, fd);
    loop_stop(f->l);
}

static void on_write_later(void *arg, const struct now *now)
{
    int *wfd = arg;

    (void)now;
    assert_int_equal(write(*wfd, "x", 1), 1);
}

static void test_fd_ready(void **state)
{
    struct fdctx f = { .l = loop_new() };
    int p[2];

    (void)state;
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    assert_int_equal(loop_add_fd(f.l, p[0], POLLIN, on_readable, &f), 0);
    assert_int_equal(loop_add_fd(f.l, p[0], POLLIN, on_readable, &f), -1);
    loop_timer_at(f.l, mono_add(clock_read_mono(), 5 * MS), on_write_later, &p[1]);
    assert_int_equal(loop_run(f.l), 0);
    assert_int_equal(f.calls, 1);
    assert_int_equal(f.got, 'x');
    /* deleted: the fd slot is free to be registered again */
    assert_int_equal(loop_add_fd(f.l, p[0], POLLIN, on_readable, &f), 0);
    loop_free(f.l);
    close(p[0]);
    close(p[1]);
}

/* Two ready fds whose first callback deletes the second: the second must
 * not run on a stale registration. */
struct delctx {
    struct loop *l;
    int other;
    int calls;
};

static void on_delete_other(void *arg, int fd, short revents, const struct now *now)
{
    struct delctx *d = arg;
    char c;

    (void)revents;
    (void)now;
    assert_int_equal(read(fd, &c, 1), 1);
    d->calls++;
    loop_del_fd(d->l, d->other);
    loop_del_fd(d->l, fd);
    loop_stop(d->l);
}

static void test_fd_delete_other(void **state)
{
    struct delctx d1 = { .l = loop_new() }, d2;
    int a[2], b[2];

    (void)state;
    assert_int_equal(pipe2(a, O_NONBLOCK), 0);
    assert_int_equal(pipe2(b, O_NONBLOCK), 0);
    d2 = d1;
    d1.other = b[0];
    d2.other = a[0];
    loop_add_fd(d1.l, a[0], POLLIN, on_delete_other, &d1);
    loop_add_fd(d1.l, b[0], POLLIN, on_delete_other, &d2);
    assert_int_equal(write(a[1], "1", 1), 1);
    assert_int_equal(write(b[1], "2", 1), 1);
    assert_int_equal(loop_run(d1.l), 0);
    assert_int_equal(d1.calls + d2.calls, 1);
    loop_free(d1.l);
    close(a[0]); close(a[1]); close(b[0]); close(b[1]);
}

struct sigctx {
    struct loop *l;
    int signo;
    int count;
};

static void on_sig(void *arg, int signo, const struct now *now)
{
    struct sigctx *s = arg;

    assert_true(now->mono.ns > 0);
    s->signo = signo;
    s->count++;
    loop_stop(s->l);
}

static void test_signal(void **state)
{
    struct sigctx s = { .l = loop_new() };
    struct sigaction before, after;

    (void)state;
    sigaction(SIGUSR1, NULL, &before);
    assert_int_equal(loop_on_signal(s.l, SIGUSR1, on_sig, &s), 0);
    /* raise() runs the handler before returning: only a flag is set and
     * the eventfd written, the callback must not have run yet */
    assert_int_equal(raise(SIGUSR1), 0);
    assert_int_equal(s.count, 0);
    assert_int_equal(loop_run(s.l), 0);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.signo, SIGUSR1);
    loop_free(s.l);
    /* the previous disposition is restored */
    sigaction(SIGUSR1, NULL, &after);
    assert_ptr_equal(after.sa_handler, before.sa_handler);
}

static void test_stop_before_run(void **state)
{
    struct loop *l = loop_new();

    (void)state;
    loop_stop(l);
    assert_int_equal(loop_run(l), 0);   /* returns at once */
    loop_free(l);
}

/* loop_stop from a callback lets the iteration finish: the other timer
 * due at the same instant still runs, with the very same `now`. */
static void test_shared_now(void **state)
{
    struct rec r = { .l = loop_new(), .stop_after = 1 };
    mono_ns due = mono_add(clock_read_mono(), 3 * MS);
    struct tctx c[2] = { { &r, 1, due }, { &r, 2, due } };

    (void)state;
    loop_timer_at(r.l, due, on_timer, &c[0]);
    loop_timer_at(r.l, due, on_timer, &c[1]);
    assert_int_equal(loop_run(r.l), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.order[0], 1);
    assert_int_equal(r.order[1], 2);
    assert_memory_equal(&r.seen[0], &r.seen[1], sizeof(struct now));
    loop_free(r.l);
}

/* A timer far in the future does not block a sooner one added later. */
static void test_late_add_sooner(void **state)
{
    struct rec r = { .l = loop_new(), .stop_after = 1 };
    mono_ns t0 = clock_read_mono();
    struct tctx far = { &r, 9, mono_add(t0, 60000 * MS) };
    struct tctx near = { &r, 1, mono_add(t0, 2 * MS) };

    (void)state;
    loop_timer_at(r.l, far.when, on_timer, &far);
    loop_timer_at(r.l, near.when, on_timer, &near);
    assert_int_equal(loop_run(r.l), 0);
    assert_int_equal(r.order[0], 1);
    assert_true(mono_sub(clock_read_mono(), t0) < 1000 * MS);
    loop_free(r.l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_order),
        cmocka_unit_test(test_many_random_timers),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_rearm),
        cmocka_unit_test(test_fd_ready),
        cmocka_unit_test(test_fd_delete_other),
        cmocka_unit_test(test_signal),
        cmocka_unit_test(test_stop_before_run),
        cmocka_unit_test(test_shared_now),
        cmocka_unit_test(test_late_add_sooner),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
