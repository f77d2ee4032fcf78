/* clockctl: drive a clock driver from the command line, for tests.
 *
 *   clockctl DRIVER COMMAND [ARG] [COMMAND [ARG]] ...
 *
 * Commands run in order in one process, so a test can set something,
 * wait, and read again against the same (fake) clock:
 *   init            driver init (kernel PLL off, unsynchronised)
 *   get             "get freq_ppm=F leap_state=N"
 *   freq PPM        set the frequency
 *   step NS         step the clock by NS nanoseconds
 *   sync | unsync   synchronised (maxerror 0.05 s, esterror 0.001 s) or not
 *   leap N          0 none, 1 insert, 2 delete
 *   tai N           TAI - UTC
 *   now             "now real_ns=N mono_ns=N tod_us=N time_s=N"
 *   timex           "timex rc=N status=0xH freq=N tick=N maxerror=N ..."
 *                   (a read-only clock_adjtime: modes = 0)
 *   wait MS         sleep on CLOCK_MONOTONIC
 *
 * Safety: the linux driver adjusts CLOCK_REALTIME. Unless the fake clock
 * (build/libfakeclock.so) is preloaded, adjusting commands on it refuse
 * to run; set CLOCKCTL_REAL=1 to really mean the machine's clock. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>

#include "sys/clock.h"

static const struct clock_driver *drv;

static _Noreturn void usage(void)
{
    fputs("usage: clockctl linux|none init|get|now|timex|sync|unsync|"
          "freq PPM|step NS|leap N|tai N|wait MS ...\n", stderr);
    exit(2);
}

static _Noreturn void fail(const char *cmd)
{
    fprintf(stderr, "clockctl: %s: %s\n", cmd, strerror(errno));
    exit(1);
}

static void check_safe(void)
{
    const char *real = getenv("CLOCKCTL_REAL");

    if (strcmp(drv->name, "linux") != 0 || (real && strcmp(real, "1") == 0))
        return;
    if (dlsym(RTLD_DEFAULT, "fakeclock_active"))
        return;
    fputs("clockctl: refusing to adjust the real clock without the fake "
          "clock preloaded (set CLOCKCTL_REAL=1 to insist)\n", stderr);
    exit(3);
}

static double arg_double(const char *cmd, const char *s)
{
    char *end;

    if (!s)
        usage();
    errno = 0;
    double v = strtod(s, &end);

    if (errno || end == s || *end) {
        fprintf(stderr, "clockctl: %s: bad number '%s'\n", cmd, s);
        exit(2);
    }
    return v;
}

static long long arg_ll(const char *cmd, const char *s)
{
    char *end;

    if (!s)
        usage();
    errno = 0;
    long long v = strtoll(s, &end, 10);

    if (errno || end == s || *end) {
        fprintf(stderr, "clockctl: %s: bad integer '%s'\n", cmd, s);
        exit(2);
    }
    return v;
}

static long long read_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (long long)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* Monotonic reads on both sides of the real one, so the pair describes
 * one instant to within the gap between them; the tightest of a few tries
 * keeps a preemption in the middle from skewing a measurement. */
static void cmd_now(void)
{
    long long best_gap = -1, real = 0, mono = 0;
    struct timeval tv;

    for (int i = 0; i < 5; i++) {
        long long m1 = read_ns(CLOCK_MONOTONIC), r = read_ns(CLOCK_REALTIME);
        long long m2 = read_ns(CLOCK_MONOTONIC);

        if (best_gap < 0 || m2 - m1 < best_gap) {
            best_gap = m2 - m1;
            real = r;
            mono = m1 + (m2 - m1) / 2;
        }
    }
    gettimeofday(&tv, NULL);
    printf("now real_ns=%lld mono_ns=%lld tod_us=%lld time_s=%lld\n", real, mono,
           (long long)tv.tv_sec * 1000000 + tv.tv_usec, (long long)time(NULL));
}

static void cmd_timex(void)
{
    struct timex tx = { .modes = 0 };
    int rc = clock_adjtime(CLOCK_REALTIME, &tx);

    if (rc < 0)
        fail("timex");
    printf("timex rc=%d status=0x%x freq=%ld tick=%ld maxerror=%ld "
           "esterror=%ld tai=%d time=%lld.%09ld\n", rc, (unsigned)tx.status,
           tx.freq, tx.tick, tx.maxerror, tx.esterror, tx.tai,
           (long long)tx.time.tv_sec,
           (tx.status & STA_NANO) ? tx.time.tv_usec : tx.time.tv_usec * 1000);
}

static void cmd_get(void)
{
    double ppm;
    int state;

    if (drv->get_freq_ppm(&ppm) < 0)
        fail("get");
    if (drv->get_leap_state(&state) < 0)
        fail("get");
    printf("get freq_ppm=%.6f leap_state=%d\n", ppm, state);
}

static void cmd_wait(long long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
        ;
}

static void done(const char *cmd, int rc)
{
    if (rc < 0)
        fail(cmd);
    printf("%s ok\n", cmd);
}

/* How many words a command takes, itself included. */
static int arity(const char *c)
{
    static const char *const with_arg[] = { "wait", "freq", "step", "leap", "tai" };

    for (size_t i = 0; i < sizeof with_arg / sizeof with_arg[0]; i++)
        if (strcmp(c, with_arg[i]) == 0)
            return 2;
    return 1;
}

/* Runs argv[0] (with its argument, if any); returns how many it used. */
static int run(char **argv)
{
    const char *c = argv[0];

    if (strcmp(c, "get") == 0)
        cmd_get();
    else if (strcmp(c, "now") == 0)
        cmd_now();
    else if (strcmp(c, "timex") == 0)
        cmd_timex();
    else if (strcmp(c, "wait") == 0)
        cmd_wait(arg_ll(c, argv[1]));
    else if (strcmp(c, "init") == 0)
        done(c, drv->init());
    else if (strcmp(c, "sync") == 0)
        done(c, drv->set_sync_status(true, 0.05, 0.001));
    else if (strcmp(c, "unsync") == 0)
        done(c, drv->set_sync_status(false, 16.0, 16.0));
    else if (strcmp(c, "freq") == 0)
        done(c, drv->set_freq_ppm(arg_double(c, argv[1])));
    else if (strcmp(c, "step") == 0)
        done(c, drv->step(arg_ll(c, argv[1])));
    else if (strcmp(c, "leap") == 0)
        done(c, drv->set_leap((int)arg_ll(c, argv[1])));
    else if (strcmp(c, "tai") == 0)
        done(c, drv->set_tai((int)arg_ll(c, argv[1])));
    else
        usage();
    return arity(c);
}

static bool adjusts(const char *c)
{
    static const char *const readers[] = { "get", "now", "timex", "wait" };

    for (size_t i = 0; i < sizeof readers / sizeof readers[0]; i++)
        if (strcmp(c, readers[i]) == 0)
            return false;
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        usage();
    drv = clock_driver_find(argv[1]);
    if (!drv) {
        fprintf(stderr, "clockctl: no clock driver '%s'\n", argv[1]);
        return 2;
    }
    for (int i = 2; i < argc; i += arity(argv[i]))
        if (adjusts(argv[i]))
            check_safe();
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 2; i < argc;)
        i += run(&argv[i]);
    return 0;
}
