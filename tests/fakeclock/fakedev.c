/* fakedev: LD_PRELOAD stand-ins for a PPS device and a PTP hardware clock,
 * part of libfakeclock.so (these machines have neither /dev/pps* nor
 * /dev/ptp*).
 *
 * open() of the configured path returns a descriptor of /dev/null that
 * the shim remembers; ioctl() on it answers the RFC 2783 calls of
 * linux/pps.h (PPS_GETCAP, PPS_GETPARAMS, PPS_SETPARAMS, PPS_FETCH) or
 * the PTP calls of linux/ptp_clock.h (PTP_SYS_OFFSET_EXTENDED, _PRECISE,
 * PTP_SYS_OFFSET), filling the kernel's structures from the true time
 * (this machine's real clock) and the fake virtual clock. Each request is
 * first passed to the kernel on the /dev/null descriptor, which answers
 * ENOTTY: a seccomp filter that did not allow it would have killed the
 * process, so the daemon's real filter is exercised.
 *
 * The PPS: the on-time edge comes at true second S plus FAKEDEV_PPS_DELAY
 * (s) plus Gaussian noise of FAKEDEV_PPS_JITTER (s, sd; the same for every
 * fetch of that edge), stamped on the virtual clock; the other edge
 * FAKEDEV_PPS_WIDTH (0.2 s) later. FAKEDEV_PPS_ON=clear makes the clear
 * edge the on-time one (an inverted pulse). Only the edges the mode
 * captures are stamped; sequence numbers are S.
 *
 * The PHC keeps true time plus FAKEDEV_PHC_OFFSET (s; 37 for a TAI
 * clock), read with Gaussian noise FAKEDEV_PHC_JITTER (s, sd), bracketed
 * by system reads FAKEDEV_PHC_WIDTH (s, 2e-6) apart. FAKEDEV_PHC_METHODS
 * lists the calls the "driver" has ("extended,precise,plain" by default);
 * the others fail with EOPNOTSUPP.
 *
 * FAKEDEV_PPS, FAKEDEV_PHC: the device paths to stand in for (unset: none).
 * FAKEDEV_SEED: the noise's seed.
 *
 * FAKEDEV_TTY: a path (a pty, or a link to one) that stat() and fstat()
 * report as a serial port (major 4, /dev/ttyS*) instead of a pty: gpsd
 * talks to ntpd's SHM and chrony's socket only for real serial and USB
 * receivers, never for a pty (its own test harness), so this is how a
 * test shows it a "receiver" it writes to. On that device TIOCMIWAIT and
 * TIOCMGET see a PPS on DCD: raised at every true second (plus
 * FAKEDEV_PPS_DELAY), lowered FAKEDEV_PPS_WIDTH later, as a GPS's pulse
 * wired to a serial port's carrier line. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/pps.h>
#include <linux/ptp_clock.h>
#include <math.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL
#define MAX_FD 1024

void fakeclock_pair(int64_t *real_ns, int64_t *virt_ns, double *rate_ppm);

enum dev { DEV_NONE, DEV_PPS, DEV_PHC, DEV_TTY };

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*close_fn)(int);
typedef int (*ioctl_fn)(int, unsigned long, ...);

static struct {
    open_fn open;
    openat_fn openat;
    close_fn close;
    ioctl_fn ioctl;
    const char *pps, *phc, *tty;
    dev_t tty_rdev;             /* the pty's own device number, once seen */
    double pps_delay, pps_jitter, pps_width, phc_offset, phc_jitter, phc_width;
    bool pps_clear_on, phc_ext, phc_pre, phc_plain;
    uint64_t seed, rng;
    int pps_mode;
    unsigned char kind[MAX_FD];
} fd_;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static double env_d(const char *name, double dflt)
{
    const char *v = getenv(name);

    return v && *v ? strtod(v, NULL) : dflt;
}

static void setup(void)
{
    const char *m = getenv("FAKEDEV_PHC_METHODS");
    const char *on = getenv("FAKEDEV_PPS_ON");

    fd_.open = (open_fn)dlsym(RTLD_NEXT, "open");
    fd_.openat = (openat_fn)dlsym(RTLD_NEXT, "openat");
    fd_.close = (close_fn)dlsym(RTLD_NEXT, "close");
    fd_.ioctl = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
    fd_.pps = getenv("FAKEDEV_PPS");
    fd_.phc = getenv("FAKEDEV_PHC");
    fd_.tty = getenv("FAKEDEV_TTY");
    fd_.pps_delay = env_d("FAKEDEV_PPS_DELAY", 0);
    fd_.pps_jitter = env_d("FAKEDEV_PPS_JITTER", 0);
    fd_.pps_width = env_d("FAKEDEV_PPS_WIDTH", 0.2);
    fd_.pps_clear_on = on && !strcmp(on, "clear");
    fd_.phc_offset = env_d("FAKEDEV_PHC_OFFSET", 0);
    fd_.phc_jitter = env_d("FAKEDEV_PHC_JITTER", 0);
    fd_.phc_width = env_d("FAKEDEV_PHC_WIDTH", 2e-6);
    if (!m)
        m = "extended,precise,plain";
    fd_.phc_ext = strstr(m, "extended") != NULL;
    fd_.phc_pre = strstr(m, "precise") != NULL;
    fd_.phc_plain = strstr(m, "plain") != NULL;
    fd_.seed = (uint64_t)env_d("FAKEDEV_SEED", 1) * 0x9e3779b97f4a7c15ULL + 1;
    fd_.rng = fd_.seed;
    /* as the kernel registers most sources: assert captured, timespecs */
    fd_.pps_mode = PPS_CAPTUREASSERT | PPS_TSFMT_TSPEC;
}

/* splitmix64: a deterministic stream, and a hash of (seed, n) */
static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double gauss_from(uint64_t a, uint64_t b)
{
    double u1 = ((double)(a >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (double)(b >> 11) / 9007199254740992.0;

    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static double gauss_next(void)
{
    uint64_t a = mix(fd_.rng += 0x9e3779b97f4a7c15ULL);
    uint64_t b = mix(fd_.rng += 0x9e3779b97f4a7c15ULL);

    return gauss_from(a, b);
}

static enum dev dev_of_path(const char *path)
{
    pthread_once(&once, setup);
    if (!path)
        return DEV_NONE;
    if (fd_.pps && !strcmp(path, fd_.pps))
        return DEV_PPS;
    if (fd_.phc && !strcmp(path, fd_.phc))
        return DEV_PHC;
    return DEV_NONE;
}

static int stand_in(enum dev d, int flags)
{
    int fd = fd_.open("/dev/null", O_RDWR | (flags & O_CLOEXEC));

    if (fd >= 0 && fd < MAX_FD)
        fd_.kind[fd] = (unsigned char)d;
    return fd;
}

int open(const char *path, int flags, ...);
int open(const char *path, int flags, ...)
{
    enum dev d = dev_of_path(path);
    va_list ap;
    int mode;

    if (d != DEV_NONE)
        return stand_in(d, flags);
    mode = 0;
    if (flags & O_CREAT || (flags & O_TMPFILE) == O_TMPFILE) {
        va_start(ap, flags);
        mode = va_arg(ap, int);
        va_end(ap);
    }
    return fd_.open(path, flags, mode);
}

int open64(const char *path, int flags, ...);
int open64(const char *path, int flags, ...)
{
    enum dev d = dev_of_path(path);
    va_list ap;
    int mode;

    if (d != DEV_NONE)
        return stand_in(d, flags);
    mode = 0;
    if (flags & O_CREAT || (flags & O_TMPFILE) == O_TMPFILE) {
        va_start(ap, flags);
        mode = va_arg(ap, int);
        va_end(ap);
    }
    return fd_.open(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...);
int openat(int dirfd, const char *path, int flags, ...)
{
    enum dev d = dev_of_path(path);
    va_list ap;
    int mode;

    if (d != DEV_NONE)
        return stand_in(d, flags);
    mode = 0;
    if (flags & O_CREAT || (flags & O_TMPFILE) == O_TMPFILE) {
        va_start(ap, flags);
        mode = va_arg(ap, int);
        va_end(ap);
    }
    return fd_.openat(dirfd, path, flags, mode);
}

int close(int fd);
int close(int fd)
{
    pthread_once(&once, setup);
    if (fd >= 0 && fd < MAX_FD)
        fd_.kind[fd] = DEV_NONE;
    return fd_.close(fd);
}

/* ---- PPS ------------------------------------------------------------------ */

static void put_ktime(struct pps_ktime *k, int64_t ns)
{
    k->sec = ns / NS;
    k->nsec = (int32_t)(ns % NS);
    k->flags = 0;
}

/* The newest on-time edge at or before the true time r: its second. */
static int64_t last_second(int64_t r, double delay)
{
    return (int64_t)floor(((double)r - delay * 1e9) / 1e9);
}

/* The virtual clock's reading at true time t (<= r): read now, less the
 * offset it has gained since. */
static int64_t virt_at(int64_t t, int64_t r, int64_t v, double rate_ppm)
{
    return t + (v - r) - (int64_t)llround((double)(r - t) * rate_ppm * 1e-6);
}

static void pps_fetch(struct pps_fdata *f)
{
    int64_t r, v, s, on, other, other_s;
    double rate;
    bool assert_on = !fd_.pps_clear_on;

    fakeclock_pair(&r, &v, &rate);
    s = last_second(r, fd_.pps_delay);
    on = s * NS + llround((fd_.pps_delay + fd_.pps_jitter *
                           gauss_from(mix(fd_.seed ^ (uint64_t)s), mix(~fd_.seed ^ (uint64_t)s))) * 1e9);
    other = on + llround(fd_.pps_width * 1e9);
    other_s = s;
    if (other > r) {
        other -= NS;    /* that second's other edge is yet to come */
        other_s = s - 1;
    }
    memset(&f->info, 0, sizeof(f->info));
    f->info.current_mode = fd_.pps_mode;
    if (fd_.pps_mode & PPS_CAPTUREASSERT) {
        f->info.assert_sequence = (uint32_t)(assert_on ? s : other_s);
        put_ktime(&f->info.assert_tu, virt_at(assert_on ? on : other, r, v, rate));
    }
    if (fd_.pps_mode & PPS_CAPTURECLEAR) {
        f->info.clear_sequence = (uint32_t)(assert_on ? other_s : s);
        put_ktime(&f->info.clear_tu, virt_at(assert_on ? other : on, r, v, rate));
    }
}

static int pps_ioctl(unsigned long req, void *arg)
{
    switch (req) {
    case PPS_GETCAP:
        *(int *)arg = PPS_CAPTUREBOTH | PPS_OFFSETASSERT | PPS_OFFSETCLEAR | PPS_CANWAIT |
                      PPS_TSFMT_TSPEC;
        return 0;
    case PPS_GETPARAMS: {
        struct pps_kparams *p = arg;

        memset(p, 0, sizeof(*p));
        p->api_version = PPS_API_VERS_1;
        p->mode = fd_.pps_mode;
        return 0;
    }
    case PPS_SETPARAMS: {
        const struct pps_kparams *p = arg;

        /* the kernel's checks: some capture bit, only known bits, TSPEC */
        if (!(p->mode & PPS_CAPTUREBOTH) || (p->mode & ~(PPS_CAPTUREBOTH | PPS_OFFSETASSERT |
                                                         PPS_OFFSETCLEAR | PPS_CANWAIT |
                                                         PPS_TSFMT_TSPEC | PPS_ECHOASSERT |
                                                         PPS_ECHOCLEAR)) ||
            !(p->mode & PPS_TSFMT_TSPEC)) {
            errno = EINVAL;
            return -1;
        }
        fd_.pps_mode = p->mode;
        return 0;
    }
    case PPS_FETCH: {
        struct pps_fdata *f = arg;

        if (!(f->timeout.flags & PPS_TIME_INVALID) && (f->timeout.sec || f->timeout.nsec)) {
            errno = EINVAL;     /* the tests only fetch without waiting */
            return -1;
        }
        pps_fetch(f);
        return 0;
    }
    default:
        errno = ENOTTY;
        return -1;
    }
}

/* ---- PHC ------------------------------------------------------------------ */

static void put_ptp(struct ptp_clock_time *t, int64_t ns)
{
    t->sec = ns / NS;
    t->nsec = (uint32_t)(ns % NS);
    t->reserved = 0;
}

/* One read: the system clock before and after, the PHC between. */
static void phc_triple(int64_t *before, int64_t *phc, int64_t *after)
{
    int64_t r, v, half = llround(fd_.phc_width * 0.5e9);
    double rate;

    fakeclock_pair(&r, &v, &rate);
    *before = v - half;
    *after = v + half;
    *phc = r + llround((fd_.phc_offset + fd_.phc_jitter * gauss_next()) * 1e9);
}

static bool rsv_clear(const unsigned int *rsv, int n)
{
    for (int i = 0; i < n; i++)
        if (rsv[i])
            return false;
    return true;
}

static int phc_ioctl(unsigned long req, void *arg)
{
    int64_t b, p, a;

    if (req == PTP_SYS_OFFSET_EXTENDED && fd_.phc_ext) {
        struct ptp_sys_offset_extended *x = arg;

        if (x->n_samples == 0 || x->n_samples > PTP_MAX_SAMPLES || !rsv_clear(x->rsv, 3)) {
            errno = EINVAL;
            return -1;
        }
        for (unsigned i = 0; i < x->n_samples; i++) {
            phc_triple(&b, &p, &a);
            put_ptp(&x->ts[i][0], b);
            put_ptp(&x->ts[i][1], p);
            put_ptp(&x->ts[i][2], a);
        }
        return 0;
    }
    if (req == PTP_SYS_OFFSET_PRECISE && fd_.phc_pre) {
        struct ptp_sys_offset_precise *x = arg;
        struct timespec mr;

        phc_triple(&b, &p, &a);
        clock_gettime(CLOCK_MONOTONIC_RAW, &mr);
        put_ptp(&x->device, p);
        put_ptp(&x->sys_realtime, b + (a - b) / 2);
        put_ptp(&x->sys_monoraw, (int64_t)mr.tv_sec * NS + mr.tv_nsec);
        return 0;
    }
    if (req == PTP_SYS_OFFSET && fd_.phc_plain) {
        struct ptp_sys_offset *x = arg;

        if (x->n_samples == 0 || x->n_samples > PTP_MAX_SAMPLES || !rsv_clear(x->rsv, 3)) {
            errno = EINVAL;
            return -1;
        }
        for (unsigned i = 0; i < x->n_samples; i++) {
            phc_triple(&b, &p, &a);
            put_ptp(&x->ts[2 * i], b);
            put_ptp(&x->ts[2 * i + 1], p);
            if (i + 1 == x->n_samples)
                put_ptp(&x->ts[2 * i + 2], a);
        }
        return 0;
    }
    if (req == PTP_SYS_OFFSET_EXTENDED || req == PTP_SYS_OFFSET_PRECISE ||
        req == PTP_SYS_OFFSET) {
        errno = EOPNOTSUPP;
        return -1;
    }
    errno = ENOTTY;
    return -1;
}

static bool is_tty_fd(int fd);
static int tty_ioctl(unsigned long req, void *arg);

int ioctl(int fd, unsigned long req, ...);
int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    void *arg;
    enum dev d;
    int rc;

    pthread_once(&once, setup);
    va_start(ap, req);
    arg = va_arg(ap, void *);
    va_end(ap);
    d = fd >= 0 && fd < MAX_FD ? (enum dev)fd_.kind[fd] : DEV_NONE;
    if (d == DEV_NONE && fd_.tty && (req == TIOCMIWAIT || req == TIOCMGET) && is_tty_fd(fd))
        return tty_ioctl(req, arg);
    if (d == DEV_NONE)
        return fd_.ioctl(fd, req, arg);
    /* through the kernel first (and the seccomp filter): /dev/null says
     * ENOTTY; anything else means the call did not get that far */
    if (fd_.ioctl(fd, req, arg) == 0 || (errno != ENOTTY && errno != EINVAL))
        return -1;
    pthread_mutex_lock(&mu);
    rc = d == DEV_PPS ? pps_ioctl(req, arg) : phc_ioctl(req, arg);
    pthread_mutex_unlock(&mu);
    return rc;
}

/* ---- a pty seen as a serial port ------------------------------------------ */

typedef int (*stat_fn)(const char *, struct stat *);
typedef int (*fstat_fn)(int, struct stat *);
typedef int (*fstatat_fn)(int, const char *, struct stat *, int);

/* The pty's device number (by its path, once), then every character
 * device with that number reads as /dev/ttyS6. */
static void as_serial(struct stat *st)
{
    if (!fd_.tty || !S_ISCHR(st->st_mode))
        return;
    if (!fd_.tty_rdev) {
        stat_fn real_stat = (stat_fn)dlsym(RTLD_NEXT, "stat");
        struct stat t;

        if (!real_stat || real_stat(fd_.tty, &t) < 0 || !S_ISCHR(t.st_mode))
            return;
        fd_.tty_rdev = t.st_rdev;
    }
    if (st->st_rdev == fd_.tty_rdev)
        st->st_rdev = makedev(4, 70);
}

int stat(const char *path, struct stat *st);
int stat(const char *path, struct stat *st)
{
    static stat_fn real_stat;
    int rc;

    pthread_once(&once, setup);
    if (!real_stat)
        real_stat = (stat_fn)dlsym(RTLD_NEXT, "stat");
    rc = real_stat(path, st);
    if (rc == 0)
        as_serial(st);
    return rc;
}

int fstat(int fd, struct stat *st);
int fstat(int fd, struct stat *st)
{
    static fstat_fn real_fstat;
    int rc;

    pthread_once(&once, setup);
    if (!real_fstat)
        real_fstat = (fstat_fn)dlsym(RTLD_NEXT, "fstat");
    rc = real_fstat(fd, st);
    if (rc == 0)
        as_serial(st);
    return rc;
}

int fstatat(int dirfd, const char *path, struct stat *st, int flags);
int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
    static fstatat_fn real_fstatat;
    int rc;

    pthread_once(&once, setup);
    if (!real_fstatat)
        real_fstatat = (fstatat_fn)dlsym(RTLD_NEXT, "fstatat");
    rc = real_fstatat(dirfd, path, st, flags);
    if (rc == 0)
        as_serial(st);
    return rc;
}

static bool is_tty_fd(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && fd_.tty_rdev &&
           st.st_rdev == makedev(4, 70);
}

/* DCD at true time r: high from each second (plus the delay) for the
 * pulse's width. */
static bool dcd_at(int64_t r, int64_t *next_change)
{
    int64_t d = llround(fd_.pps_delay * 1e9), w = llround(fd_.pps_width * 1e9);
    int64_t s = (r - d) >= 0 ? (r - d) / NS : -1, on = s * NS + d;

    if (r < on + w) {
        *next_change = on + w;
        return true;
    }
    *next_change = on + NS;
    return false;
}

static int tty_ioctl(unsigned long req, void *arg)
{
    struct timespec ts;
    int64_t r, v, next;
    double rate;
    bool high;

    fakeclock_pair(&r, &v, &rate);
    high = dcd_at(r, &next);
    if (req == TIOCMGET) {
        *(int *)arg = TIOCM_DSR | TIOCM_CTS | (high ? TIOCM_CAR : 0);
        return 0;
    }
    /* TIOCMIWAIT: until the carrier line changes (sleeps run on the real
     * clock, which is the true time) */
    ts.tv_sec = (time_t)(next / NS);
    ts.tv_nsec = (long)(next % NS);
    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
    return 0;
}
