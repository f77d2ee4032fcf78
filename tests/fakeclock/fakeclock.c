/* fakeclock: an LD_PRELOAD stand-in for the kernel's CLOCK_REALTIME.
 *
 * System tests run the real linux clock driver (and chimed) against this
 * shim so that a step, a frequency change or a leap second happens to a
 * per-process virtual clock and never to the machine's. No setter is ever
 * forwarded to the kernel; run the tests without CAP_SYS_TIME as well, so
 * that a call that slips past the shim (a raw syscall) fails instead.
 *
 * Model:  virtual = real CLOCK_REALTIME + offset(t)
 *   offset starts at FAKECLOCK_OFFSET and grows at the sum of the
 *   oscillator error FAKECLOCK_FREQ_PPM, the ADJ_FREQUENCY value and the
 *   ADJ_TICK deviation ((tick - 10000) * USER_HZ ppm), integrated exactly
 *   (integer, piecewise at every change) over CLOCK_MONOTONIC, which runs
 *   at the same rate as the real CLOCK_REALTIME.
 *   Kernel receive timestamps (SCM_TIMESTAMPNS, SCM_TIMESTAMPING ts[0])
 *   returned by recvmsg/recvmmsg are moved onto the virtual clock too.
 *
 * Environment:
 *   FAKECLOCK_OFFSET    initial virtual - real, seconds (float), default 0
 *   FAKECLOCK_FREQ_PPM  oscillator error, ppm (float; + = runs fast)
 *   FAKECLOCK_BEFORE_MIDNIGHT  instead of the offset: start the virtual
 *                       clock this many seconds (float) before the next
 *                       UTC midnight, measured when the process starts
 *   FAKECLOCK_STATE     file rewritten atomically after every adjusting
 *                       call, every leap and at exit:
 *     offset_ns=N freq_ppm=F status=0xH steps=N last_step_ns=N tick=N
 *     rate_ppm=F state=N tai=N maxerror=N esterror=N leaps=N
 *   FAKECLOCK_EPERM     if "1", every adjusting call fails with EPERM (as
 *                       without CAP_SYS_TIME), for error-path tests
 *   FAKECLOCK_FOLLOW    another process's FAKECLOCK_STATE file: this
 *                       process reads that virtual clock (its offset_ns
 *                       carried forward at rate_ppm from the file's
 *                       modification time), e.g. gpsd stamping NMEA for
 *                       a chimed on the fake clock; it adjusts nothing
 *
 * Emulated, with the kernel's rules as documented (protocol-facts §5.3,
 * §7): ADJ_FREQUENCY (clamped to ±500 ppm), ADJ_TICK (±10%, else EINVAL),
 * ADJ_SETOFFSET (µs, or ns with ADJ_NANO; tv_usec must be in range),
 * ADJ_STATUS (read-only bits kept, clearing STA_PLL resets the leap state),
 * ADJ_NANO/ADJ_MICRO, ADJ_MAXERROR/ADJ_ESTERROR (maxerror grows 500 µs/s
 * and sets STA_UNSYNC past 16 s), ADJ_TIMECONST, ADJ_TAI (from .constant),
 * the TIME_ERROR return, and leap seconds: STA_INS arms an insertion at
 * the next virtual UTC midnight (23:59:59 repeats; TIME_INS -> TIME_OOP ->
 * TIME_WAIT -> TIME_OK once the flag is cleared), STA_DEL skips 23:59:59.
 *
 * Not emulated: the kernel PLL/FLL (ADJ_OFFSET is stored and read back
 * but never slews the clock), adjtime()-style single-shot slews (EINVAL;
 * ADJ_OFFSET_SS_READ reads 0), PPS, the RTC, timers and sleeps on
 * CLOCK_REALTIME (they run on the real clock). Leap transitions happen
 * lazily at the first read or adjtimex after the boundary, which no
 * reader can tell apart. Other clocks pass through untouched, except
 * CLOCK_TAI (= virtual + tai) and CLOCK_REALTIME_COARSE; clock_adjtime on
 * any clock but CLOCK_REALTIME fails with EOPNOTSUPP, clock_settime on
 * any but CLOCK_REALTIME with EINVAL, neither reaching the kernel.
 *
 * State is per process: an exec'd child starts again from the
 * environment. Reads take a mutex, so a signal handler that reads the
 * clock while the same thread is inside the shim would deadlock; the
 * tests do no such thing. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S      1000000000LL
#define NS_PER_US     1000LL
#define DAY_NS        (86400LL * NS_PER_S)
#define PPM_SHIFT     16
#define MAXFREQ       (500L << PPM_SHIFT)    /* ±500 ppm in .freq units */
#define USER_HZ       100
#define TICK_NOMINAL  10000L                 /* µs, 1e6 / USER_HZ */
#define TICK_MIN      9000L
#define TICK_MAX      11000L
#define PHASE_LIMIT   16000000L              /* µs: maxerror ceiling */
#define MAXERR_GROWTH 500L                   /* µs per second */
#define TC_MAX        10                     /* kernel MAXTC (glibc says 6) */
#define MODE_ADJTIME  0x8000                 /* kernel ADJ_ADJTIME: single-shot */
/* offset is kept in units of 1 / (2^16 * 1e6) ns, so that elapsed ns times
 * a rate in 2^-16 ppm adds to it exactly. */
#define Q             ((__int128)(1 << PPM_SHIFT) * 1000000)

typedef int (*gettime_fn)(clockid_t, struct timespec *);
typedef int (*gettimeofday_fn)(struct timeval *, void *);
typedef int (*timespec_get_fn)(struct timespec *, int);
typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);
typedef int (*recvmmsg_fn)(int, struct mmsghdr *, unsigned int, int, struct timespec *);

static struct {
    gettime_fn gettime;
    gettimeofday_fn gettimeofday;
    timespec_get_fn timespec_get;
    recvmsg_fn recvmsg;
    recvmmsg_fn recvmmsg;
} real;

static struct {
    __int128 offset_q;     /* virtual - real, Q units */
    int64_t last_mono;     /* CLOCK_MONOTONIC when offset_q was valid */
    int64_t osc_scaled;    /* oscillator error, ppm << 16 */
    long freq, tick;       /* as set through adjtimex */
    int status, state, tai;
    long maxerror, esterror, constant, offset;
    int64_t maxerr_mono;   /* when maxerror was set (growth anchor) */
    int64_t leap_at;       /* virtual ns of the armed leap's midnight */
    unsigned steps, leaps;
    int64_t last_step_ns;
    bool eperm;
    char path[4096], tmp[4200];
    const char *follow;    /* FAKECLOCK_FOLLOW: another process's state */
    int64_t follow_mtime, follow_off;
    double follow_rate;
} fc;

/* Lets a tool check that it really runs under the shim before it adjusts
 * anything (dlsym(RTLD_DEFAULT, "fakeclock_active")). */
extern const int fakeclock_active;
const int fakeclock_active = 1;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* ---- set-up ----------------------------------------------------------- */

static void die(const char *what)
{
    /* A malformed environment is a broken test: stop loudly. */
    static const char pre[] = "fakeclock: bad ";
    ssize_t r = write(2, pre, sizeof pre - 1);

    r = write(2, what, strlen(what));
    r = write(2, "\n", 1);
    (void)r;
    abort();
}

static double env_double(const char *name)
{
    const char *s = getenv(name);
    char *end;

    if (!s || !*s)
        return 0.0;
    errno = 0;
    double v = strtod(s, &end);

    if (errno || *end)
        die(name);
    return v;
}

static int64_t round_i64(double x)
{
    return (int64_t)(x < 0 ? x - 0.5 : x + 0.5);
}

static int64_t ts_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * NS_PER_S + ts->tv_nsec;
}

static struct timespec ns_ts(int64_t ns)
{
    int64_t s = ns / NS_PER_S, r = ns % NS_PER_S;

    if (r < 0) {
        r += NS_PER_S;
        s--;
    }
    return (struct timespec){ .tv_sec = (time_t)s, .tv_nsec = (long)r };
}

static int64_t read_raw(clockid_t id)
{
    struct timespec ts;

    if (real.gettime(id, &ts) != 0)
        die("real clock_gettime");
    return ts_ns(&ts);
}

static void resolve(void)
{
    real.gettime = (gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    real.gettimeofday = (gettimeofday_fn)dlsym(RTLD_NEXT, "gettimeofday");
    real.timespec_get = (timespec_get_fn)dlsym(RTLD_NEXT, "timespec_get");
    real.recvmsg = (recvmsg_fn)dlsym(RTLD_NEXT, "recvmsg");
    real.recvmmsg = (recvmmsg_fn)dlsym(RTLD_NEXT, "recvmmsg");
    if (!real.gettime || !real.gettimeofday || !real.timespec_get || !real.recvmsg ||
        !real.recvmmsg)
        die("dlsym");
}

static void init(void)
{
    resolve();
    fc.offset_q = (__int128)round_i64(env_double("FAKECLOCK_OFFSET") * 1e9) * Q;
    if (getenv("FAKECLOCK_BEFORE_MIDNIGHT")) {
        /* Placed here, not by the caller from a reading it took earlier:
         * on a loaded machine a process starts late by more than the
         * lead a leap test leaves itself. */
        int64_t now = read_raw(CLOCK_REALTIME);
        int64_t midnight = (now / DAY_NS + 1) * DAY_NS;
        int64_t lead = round_i64(env_double("FAKECLOCK_BEFORE_MIDNIGHT") * 1e9);

        fc.offset_q = (__int128)(midnight - lead - now) * Q;
    }
    fc.osc_scaled = round_i64(env_double("FAKECLOCK_FREQ_PPM") * (1 << PPM_SHIFT));
    fc.tick = TICK_NOMINAL;
    fc.status = STA_UNSYNC;
    fc.state = TIME_OK;
    fc.maxerror = PHASE_LIMIT;
    fc.esterror = PHASE_LIMIT;
    fc.last_mono = read_raw(CLOCK_MONOTONIC);
    fc.maxerr_mono = fc.last_mono;
    const char *e = getenv("FAKECLOCK_EPERM");

    fc.eperm = e && strcmp(e, "1") == 0;
    fc.follow = getenv("FAKECLOCK_FOLLOW");
    if (fc.follow && !*fc.follow)
        fc.follow = NULL;
    if (fc.follow)
        fc.eperm = true;    /* a follower never adjusts the clock it reads */
    const char *p = getenv("FAKECLOCK_STATE");

    if (p && *p) {
        int n = snprintf(fc.path, sizeof fc.path, "%s", p);
        int m = snprintf(fc.tmp, sizeof fc.tmp, "%s.tmp.%ld", p, (long)getpid());

        if (n < 0 || (size_t)n >= sizeof fc.path || m < 0 || (size_t)m >= sizeof fc.tmp)
            die("FAKECLOCK_STATE (too long)");
    }
}

static void ensure_init(void)
{
    pthread_once(&once, init);
}

/* ---- the model (all below run under lock) ------------------------------ */

static int64_t rate_scaled(void)
{
    return fc.osc_scaled + fc.freq +
           (int64_t)(fc.tick - TICK_NOMINAL) * USER_HZ * (1 << PPM_SHIFT);
}

static int64_t floor_div_q(__int128 v)
{
    __int128 d = v / Q;

    if (v % Q < 0)
        d--;
    return (int64_t)d;
}

static int64_t offset_ns(void)
{
    return floor_div_q(fc.offset_q);
}

/* Bring the offset up to `mono` at the current rate. Called before any
 * rate change, so each stretch is integrated at the rate it ran at. */
static void advance(int64_t mono)
{
    fc.offset_q += (__int128)(mono - fc.last_mono) * rate_scaled();
    fc.last_mono = mono;
}

static void shift(int64_t ns)
{
    fc.offset_q += (__int128)ns * Q;
}

static int64_t next_midnight(int64_t v)
{
    int64_t d = v / DAY_NS;

    if (v % DAY_NS < 0)
        d--;
    return (d + 1) * DAY_NS;
}

/* maxerror grows 500 µs per elapsed second; past 16 s the kernel gives up
 * and marks the clock unsynchronised. */
static long maxerror_now(int64_t mono)
{
    int64_t grown = fc.maxerror + (mono - fc.maxerr_mono) / NS_PER_S * MAXERR_GROWTH;

    if (grown >= PHASE_LIMIT) {
        fc.status |= STA_UNSYNC;
        return PHASE_LIMIT;
    }
    return (long)grown;
}

/* Arm or disarm per the status flags, as the kernel does at the next
 * second boundary (here at once: no reader can tell the difference). */
static void leap_flags(int64_t v)
{
    if (fc.state == TIME_OK && (fc.status & STA_INS)) {
        fc.state = TIME_INS;
        fc.leap_at = next_midnight(v);
    } else if (fc.state == TIME_OK && (fc.status & STA_DEL)) {
        fc.state = TIME_DEL;
        fc.leap_at = next_midnight(v);
    } else if ((fc.state == TIME_INS && !(fc.status & STA_INS)) ||
               (fc.state == TIME_DEL && !(fc.status & STA_DEL)) ||
               (fc.state == TIME_WAIT && !(fc.status & (STA_INS | STA_DEL)))) {
        fc.state = TIME_OK;
    }
}

/* Apply a leap whose boundary the virtual clock has passed. */
static void leap_due(int64_t real_ns)
{
    int64_t v = real_ns + offset_ns();

    leap_flags(v);
    if (fc.state == TIME_INS && v >= fc.leap_at) {
        shift(-NS_PER_S);            /* 23:59:60 reads as 23:59:59 again */
        fc.state = TIME_OOP;
        fc.tai++;
        fc.leaps++;
        v -= NS_PER_S;
    }
    if (fc.state == TIME_OOP && v >= fc.leap_at)
        fc.state = TIME_WAIT;
    if (fc.state == TIME_DEL && v >= fc.leap_at - NS_PER_S) {
        shift(NS_PER_S);             /* 23:59:59 never happens */
        fc.state = TIME_WAIT;
        fc.tai--;
        fc.leaps++;
    }
}

static void write_state(int64_t mono);

/* Bring the model up to the present: integrate the offset, then run any
 * leap that came due (recorded in the state file: it moved the clock). */
static void catch_up(int64_t mono, int64_t real_ns)
{
    unsigned leaps = fc.leaps;

    advance(mono);
    leap_due(real_ns);
    if (fc.leaps != leaps)
        write_state(mono);
}

/* Current virtual time from a real reading of `id`. */
/* FAKECLOCK_FOLLOW: the followed clock's offset at real time r, from its
 * state file, re-read when the file changes (the last good copy is kept
 * while it is being replaced). */
static int64_t follow_offset(int64_t r)
{
    struct stat st;
    char line[512];
    FILE *f;

    if (stat(fc.follow, &st) == 0) {
        int64_t m = (int64_t)st.st_mtim.tv_sec * NS_PER_S + st.st_mtim.tv_nsec;
        long long off;

        if (m != fc.follow_mtime && (f = fopen(fc.follow, "r")) != NULL) {
            char *p = fgets(line, sizeof line, f);

            fclose(f);
            if (p && sscanf(line, "offset_ns=%lld", &off) == 1) {
                p = strstr(line, " rate_ppm=");
                fc.follow_off = off;
                fc.follow_rate = p ? strtod(p + 10, NULL) : 0;
                fc.follow_mtime = m;
            }
        }
    }
    if (!fc.follow_mtime)
        return 0;
    return fc.follow_off + (int64_t)((double)(r - fc.follow_mtime) * fc.follow_rate * 1e-6);
}

static int64_t virtual_now(clockid_t id)
{
    int64_t mono = read_raw(CLOCK_MONOTONIC), r = read_raw(id);

    if (fc.follow)
        return r + follow_offset(r);
    catch_up(mono, r);
    return r + offset_ns();
}

/* ---- state file --------------------------------------------------------- */

static double freq_ppm(void)
{
    return (double)fc.freq / (1 << PPM_SHIFT) +
           (double)((fc.tick - TICK_NOMINAL) * USER_HZ);
}

static void write_state(int64_t mono)
{
    char buf[512];

    if (!fc.path[0])
        return;
    int n = snprintf(buf, sizeof buf,
        "offset_ns=%lld freq_ppm=%.6f status=0x%x steps=%u last_step_ns=%lld "
        "tick=%ld rate_ppm=%.6f state=%d tai=%d maxerror=%ld esterror=%ld leaps=%u\n",
        (long long)offset_ns(), freq_ppm(), (unsigned)fc.status, fc.steps,
        (long long)fc.last_step_ns, fc.tick,
        (double)rate_scaled() / (1 << PPM_SHIFT), fc.state, fc.tai,
        maxerror_now(mono), fc.esterror, fc.leaps);
    if (n < 0 || (size_t)n >= sizeof buf)
        return;
    /* tmp + rename: a reader sees the old line or the new, never half. */
    int fd = open(fc.tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0)
        return;
    bool ok = write(fd, buf, (size_t)n) == n;

    if (close(fd) != 0 || !ok || rename(fc.tmp, fc.path) != 0)
        unlink(fc.tmp);
}

__attribute__((destructor))
static void at_exit_state(void)
{
    ensure_init();
    pthread_mutex_lock(&lock);
    int64_t mono = read_raw(CLOCK_MONOTONIC);

    advance(mono);
    write_state(mono);
    pthread_mutex_unlock(&lock);
}

/* ---- adjtimex ------------------------------------------------------------ */

static int validate(const struct timex *tx)
{
    if (tx->modes & MODE_ADJTIME)         /* adjtime() single-shot slews */
        return tx->modes == ADJ_OFFSET_SS_READ ? 0 : EINVAL;
    if ((tx->modes & ADJ_TICK) && (tx->tick < TICK_MIN || tx->tick > TICK_MAX))
        return EINVAL;
    if (tx->modes & ADJ_SETOFFSET) {
        long lim = (tx->modes & ADJ_NANO) ? NS_PER_S : 1000000L;

        if (tx->time.tv_usec < 0 || tx->time.tv_usec >= lim)
            return EINVAL;
    }
    return 0;
}

static void do_step(int64_t ns)
{
    shift(ns);
    fc.steps++;
    fc.last_step_ns = ns;
}

static void set_status(int status)
{
    /* The kernel resets its leap machine when the PLL is switched off. */
    if ((fc.status & STA_PLL) && !(status & STA_PLL))
        fc.state = TIME_OK;
    fc.status = (fc.status & STA_RONLY) | (status & ~STA_RONLY);
}

static long clampl(long v, long lo, long hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void apply_errors(const struct timex *tx, int64_t mono)
{
    if (tx->modes & ADJ_MAXERROR) {
        fc.maxerror = clampl(tx->maxerror, 0, PHASE_LIMIT);
        fc.maxerr_mono = mono;
    }
    if (tx->modes & ADJ_ESTERROR)
        fc.esterror = clampl(tx->esterror, 0, PHASE_LIMIT);
}

static void apply_modes(const struct timex *tx, int64_t mono)
{
    if (tx->modes & ADJ_SETOFFSET) {
        int64_t frac = tx->time.tv_usec * ((tx->modes & ADJ_NANO) ? 1 : NS_PER_US);

        do_step((int64_t)tx->time.tv_sec * NS_PER_S + frac);
    }
    if (tx->modes & ADJ_STATUS)
        set_status(tx->status);
    if (tx->modes & ADJ_NANO)
        fc.status |= STA_NANO;
    if (tx->modes & ADJ_MICRO)
        fc.status &= ~STA_NANO;
    if (tx->modes & ADJ_FREQUENCY)
        fc.freq = clampl(tx->freq, -MAXFREQ, MAXFREQ);
    apply_errors(tx, mono);
    if (tx->modes & ADJ_TIMECONST)
        fc.constant = clampl(tx->constant + ((fc.status & STA_NANO) ? 0 : 4), 0, TC_MAX);
    if ((tx->modes & ADJ_TAI) && tx->constant >= 0)
        fc.tai = (int)tx->constant;
    if (tx->modes & ADJ_OFFSET)      /* remembered only: no kernel PLL here */
        fc.offset = tx->offset * ((fc.status & STA_NANO) ? 1 : NS_PER_US);
    if (tx->modes & ADJ_TICK)
        fc.tick = tx->tick;
}

static bool is_error(void)
{
    return (fc.status & (STA_UNSYNC | STA_CLOCKERR)) ||
           /* PPS discipline asked for but no PPS signal (never here) */
           ((fc.status & (STA_PPSFREQ | STA_PPSTIME)) && !(fc.status & STA_PPSSIGNAL));
}

static void report(struct timex *tx, int64_t mono, int64_t v)
{
    bool nano = fc.status & STA_NANO;
    struct timespec ts = ns_ts(v);

    tx->offset = (tx->modes == ADJ_OFFSET_SS_READ) ? 0 :
                 nano ? fc.offset : fc.offset / NS_PER_US;
    tx->freq = fc.freq;
    tx->maxerror = maxerror_now(mono);
    tx->esterror = fc.esterror;
    tx->status = fc.status;
    tx->constant = fc.constant;
    tx->precision = 1;
    tx->tolerance = MAXFREQ;
    tx->time.tv_sec = ts.tv_sec;
    tx->time.tv_usec = nano ? ts.tv_nsec : ts.tv_nsec / NS_PER_US;
    tx->tick = fc.tick;
    tx->tai = fc.tai;
    tx->ppsfreq = tx->jitter = tx->stabil = 0;
    tx->shift = 0;
    tx->jitcnt = tx->calcnt = tx->errcnt = tx->stbcnt = 0;
}

static int fake_adjtimex(struct timex *tx)
{
    bool writes = tx->modes != 0 && tx->modes != ADJ_OFFSET_SS_READ;
    int err = validate(tx);

    if (!err && writes && fc.eperm)
        err = EPERM;
    if (err) {
        errno = err;
        return -1;
    }
    pthread_mutex_lock(&lock);
    int64_t mono = read_raw(CLOCK_MONOTONIC), r = read_raw(CLOCK_REALTIME);

    catch_up(mono, r);
    if (writes) {
        apply_modes(tx, mono);
        leap_due(r);                 /* arm or disarm at once */
    }
    report(tx, mono, r + offset_ns());
    int rc = is_error() ? TIME_ERROR : fc.state;

    if (writes)
        write_state(mono);
    pthread_mutex_unlock(&lock);
    return rc;
}

/* ---- interposed entry points -------------------------------------------- */

int clock_adjtime(clockid_t id, struct timex *tx)
{
    ensure_init();
    if (id != CLOCK_REALTIME) {
        errno = EOPNOTSUPP;
        return -1;
    }
    return fake_adjtimex(tx);
}

int adjtimex(struct timex *tx)
{
    ensure_init();
    return fake_adjtimex(tx);
}

int ntp_adjtime(struct timex *tx)
{
    ensure_init();
    return fake_adjtimex(tx);
}

/* The BSD single-shot slew is not emulated; reading it (delta NULL or
 * zero) succeeds with nothing pending. */
int adjtime(const struct timeval *delta, struct timeval *olddelta)
{
    ensure_init();
    if (delta && (delta->tv_sec || delta->tv_usec)) {
        errno = EINVAL;
        return -1;
    }
    if (olddelta)
        *olddelta = (struct timeval){ 0, 0 };
    return 0;
}

static int set_virtual(int64_t target_ns)
{
    if (fc.eperm) {
        errno = EPERM;
        return -1;
    }
    pthread_mutex_lock(&lock);
    int64_t mono = read_raw(CLOCK_MONOTONIC), r = read_raw(CLOCK_REALTIME);

    catch_up(mono, r);
    do_step(target_ns - (r + offset_ns()));
    write_state(mono);
    pthread_mutex_unlock(&lock);
    return 0;
}

int clock_settime(clockid_t id, const struct timespec *ts)
{
    ensure_init();
    if (id != CLOCK_REALTIME || ts->tv_nsec < 0 || ts->tv_nsec >= NS_PER_S) {
        errno = EINVAL;
        return -1;
    }
    return set_virtual(ts_ns(ts));
}

/* The timezone argument is obsolete and ignored (never forwarded). */
int settimeofday(const struct timeval *tv, const struct timezone *tz)
{
    (void)tz;
    ensure_init();
    if (!tv)
        return 0;
    if (tv->tv_usec < 0 || tv->tv_usec >= 1000000) {
        errno = EINVAL;
        return -1;
    }
    return set_virtual((int64_t)tv->tv_sec * NS_PER_S + tv->tv_usec * NS_PER_US);
}

static int64_t read_virtual(clockid_t id)
{
    pthread_mutex_lock(&lock);
    int64_t v = virtual_now(id);

    pthread_mutex_unlock(&lock);
    return v;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
    ensure_init();
    if (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE) {
        *ts = ns_ts(read_virtual(id));
        return 0;
    }
    if (id == CLOCK_TAI) {
        pthread_mutex_lock(&lock);
        int64_t v = virtual_now(CLOCK_REALTIME) + (int64_t)fc.tai * NS_PER_S;

        pthread_mutex_unlock(&lock);
        *ts = ns_ts(v);
        return 0;
    }
    return real.gettime(id, ts);
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    ensure_init();
    /* The real call fills the (obsolete) timezone; tv is then replaced. */
    if (real.gettimeofday(tv, tz) != 0)
        return -1;
    struct timespec ts = ns_ts(read_virtual(CLOCK_REALTIME));

    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / NS_PER_US;
    return 0;
}

time_t time(time_t *out)
{
    ensure_init();
    time_t t = ns_ts(read_virtual(CLOCK_REALTIME)).tv_sec;

    if (out)
        *out = t;
    return t;
}

int timespec_get(struct timespec *ts, int base)
{
    ensure_init();
    if (base != TIME_UTC)
        return real.timespec_get(ts, base);
    *ts = ns_ts(read_virtual(CLOCK_REALTIME));
    return base;
}

int ntp_gettimex(struct ntptimeval *ntv)
{
    struct timex tx = { .modes = 0 };

    ensure_init();
    int rc = fake_adjtimex(&tx);
    bool nano = tx.status & STA_NANO;

    ntv->time.tv_sec = tx.time.tv_sec;
    ntv->time.tv_usec = nano ? tx.time.tv_usec / NS_PER_US : tx.time.tv_usec;
    ntv->maxerror = tx.maxerror;
    ntv->esterror = tx.esterror;
    ntv->tai = tx.tai;
    return rc;
}

/* Old binaries link the unversioned-name ntp_gettime; the header redirects
 * new ones to ntp_gettimex. Same answer either way. */
int fc_ntp_gettime(struct ntptimeval *ntv) __asm__("ntp_gettime");
int fc_ntp_gettime(struct ntptimeval *ntv)
{
    return ntp_gettimex(ntv);
}

/* ---- kernel receive timestamps ------------------------------------------
 * SO_TIMESTAMPNS / SO_TIMESTAMPING stamps come from the kernel's real
 * CLOCK_REALTIME. A process living on the virtual clock must see them on
 * that clock too, or its T4 would be off by the whole virtual offset. The
 * offset moves by at most ppm-scale amounts over the datagram's time in
 * the queue, so today's offset is applied. */

static int64_t current_offset(void)
{
    pthread_mutex_lock(&lock);
    int64_t mono = read_raw(CLOCK_MONOTONIC), r = read_raw(CLOCK_REALTIME);

    catch_up(mono, r);
    int64_t off = offset_ns();

    pthread_mutex_unlock(&lock);
    return off;
}

/* For fakedev.c (the PPS and PHC stand-ins, linked into this library):
 * the real CLOCK_REALTIME (the true time), the virtual one read at the
 * same instant, and the rate the virtual offset grows at, in ppm. */
void fakeclock_pair(int64_t *real_ns, int64_t *virt_ns, double *rate_ppm);
void fakeclock_pair(int64_t *real_ns, int64_t *virt_ns, double *rate_ppm)
{
    ensure_init();
    pthread_mutex_lock(&lock);
    int64_t mono = read_raw(CLOCK_MONOTONIC), r = read_raw(CLOCK_REALTIME);

    catch_up(mono, r);
    *real_ns = r;
    *virt_ns = r + offset_ns();
    *rate_ppm = (double)rate_scaled() / (1 << PPM_SHIFT);
    pthread_mutex_unlock(&lock);
}

static void shift_ts(unsigned char *p, int64_t off)
{
    struct timespec ts;

    memcpy(&ts, p, sizeof ts);
    if (ts.tv_sec == 0 && ts.tv_nsec == 0)
        return;         /* an empty slot (e.g. no hardware stamp) */
    ts = ns_ts(ts_ns(&ts) + off);
    memcpy(p, &ts, sizeof ts);
}

static void shift_cmsg_times(struct msghdr *h)
{
    int64_t off = 0;
    bool have_off = false;

    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level != SOL_SOCKET)
            continue;
        if (c->cmsg_type != SCM_TIMESTAMPNS && c->cmsg_type != SCM_TIMESTAMPING)
            continue;
        if (!have_off) {
            off = current_offset();
            have_off = true;
        }
        /* TIMESTAMPING carries ts[3]: only [0] (software) is CLOCK_REALTIME;
         * [2] is a hardware clock and stays as it is. */
        shift_ts(CMSG_DATA(c), off);
    }
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    ensure_init();
    ssize_t n = real.recvmsg(fd, msg, flags);

    if (n >= 0 && msg->msg_control && msg->msg_controllen > 0)
        shift_cmsg_times(msg);
    return n;
}

int recvmmsg(int fd, struct mmsghdr *v, unsigned int vlen, int flags,
             struct timespec *timeout)
{
    ensure_init();
    int n = real.recvmmsg(fd, v, vlen, flags, timeout);

    for (int i = 0; i < n; i++) {
        if (v[i].msg_hdr.msg_control && v[i].msg_hdr.msg_controllen > 0)
            shift_cmsg_times(&v[i].msg_hdr);
    }
    return n;
}
