/* nmeapty: a GPS receiver on a pseudo-terminal, for gpsd in tests.
 *
 *   nmeapty [options] LOG LINK
 *
 * Opens a pty, points the symlink LINK at its slave side (the device
 * gpsd is given) and, once every true second S (this machine's
 * CLOCK_REALTIME), writes the next $GPRMC/$GPGGA pair of the NMEA log LOG
 * (cycling through it; with the $GPGSA lines that follow an RMC) with the
 * time and date fields set to S, UTC, and
 * the checksums recomputed: the sentences tell the second that just
 * began, arriving DELAY plus Gaussian noise late, as a serial receiver's
 * do. What gpsd writes to the "receiver" is read and dropped.
 *
 * Options:
 *   -n COUNT     seconds to run (default 60)
 *   -d SECONDS   lateness of the sentences after the second (default 0.1)
 *   -j SECONDS   standard deviation of the lateness (default 0)
 *   -s SEED      noise seed (default 1)
 * Prints "wrote N" at the end. Exit 0, or 1 with a message. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL
#define MAX_LINES 256
#define LINE_LEN 128

static char lines[MAX_LINES][LINE_LEN];
static int n_lines;

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
    struct timespec ts = { .tv_sec = (time_t)(t / NS), .tv_nsec = (long)(t % NS) };

    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static uint64_t rng;

static double gauss(void)
{
    double u1, u2;

    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    u1 = ((double)(rng >> 11) + 1) / 9007199254740993.0;
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    u2 = (double)(rng >> 11) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* The log's RMC and GGA sentences (without their checksums). */
static int load(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[LINE_LEN];

    if (!f)
        return -1;
    while (n_lines < MAX_LINES && fgets(buf, sizeof(buf), f)) {
        char *star = strchr(buf, '*');

        if (strncmp(buf, "$GPRMC,", 7) && strncmp(buf, "$GPGGA,", 7) &&
            strncmp(buf, "$GPGSA,", 7))
            continue;
        if (star)
            *star = '\0';
        buf[strcspn(buf, "\r\n")] = '\0';
        snprintf(lines[n_lines++], LINE_LEN, "%s", buf);
    }
    fclose(f);
    return n_lines > 0 ? 0 : -1;
}

/* Field k (0 = the sentence name) of s replaced by v, into out. */
static void set_field(const char *s, int k, const char *v, char *out, size_t cap)
{
    const char *p = s, *end;
    int i = 0;

    while (i < k && (p = strchr(p, ',')) != NULL) {
        p++;
        i++;
    }
    if (!p) {
        snprintf(out, cap, "%s", s);
        return;
    }
    end = strchr(p, ',');
    snprintf(out, cap, "%.*s%s%s", (int)(p - s), s, v, end ? end : "");
}

static int render_timed(const char *tmpl, int64_t sec, char *out, size_t cap);

/* One sentence for true second sec, with "*XX\r\n". */
static int render(const char *tmpl, int64_t sec, char *out, size_t cap)
{
    char b[3 * LINE_LEN];
    unsigned sum = 0;

    if (strncmp(tmpl, "$GPGSA,", 7))
        return render_timed(tmpl, sec, out, cap);
    snprintf(b, sizeof(b), "%s", tmpl);     /* no time in a GSA */
    for (const char *p = b + 1; *p; p++)
        sum ^= (unsigned char)*p;
    return snprintf(out, cap, "%s*%02X\r\n", b, sum & 0xff);
}

static int render_timed(const char *tmpl, int64_t sec, char *out, size_t cap)
{
    time_t t = (time_t)sec;
    struct tm tm;
    char hms[64], dmy[64], a[2 * LINE_LEN], b[3 * LINE_LEN];
    unsigned sum = 0;

    gmtime_r(&t, &tm);
    snprintf(hms, sizeof(hms), "%02d%02d%02d.00", tm.tm_hour, tm.tm_min, tm.tm_sec);
    snprintf(dmy, sizeof(dmy), "%02d%02d%02d", tm.tm_mday, tm.tm_mon + 1, tm.tm_year % 100);
    set_field(tmpl, 1, hms, a, sizeof(a));
    if (!strncmp(tmpl, "$GPRMC,", 7))
        set_field(a, 9, dmy, b, sizeof(b));
    else
        snprintf(b, sizeof(b), "%s", a);
    for (const char *p = b + 1; *p; p++)
        sum ^= (unsigned char)*p;
    return snprintf(out, cap, "%s*%02X\r\n", b, sum & 0xff);
}

static void drain(int fd)
{
    char junk[256];

    while (read(fd, junk, sizeof(junk)) > 0)
        ;
}

int main(int argc, char **argv)
{
    long count = 60;
    double delay = 0.1, jitter = 0;
    int c, m, next = 0;
    long wrote = 0;
    struct termios tio;
    const char *slave;

    rng = 1;
    while ((c = getopt(argc, argv, "n:d:j:s:")) != -1) {
        switch (c) {
        case 'n': count = atol(optarg); break;
        case 'd': delay = atof(optarg); break;
        case 'j': jitter = atof(optarg); break;
        case 's': rng = strtoull(optarg, NULL, 10) * 0x9e3779b97f4a7c15ULL + 1; break;
        default:
            fprintf(stderr, "usage: nmeapty [-n COUNT] [-d S] [-j S] [-s SEED] LOG LINK\n");
            return 1;
        }
    }
    if (argc - optind != 2 || load(argv[optind]) < 0) {
        fprintf(stderr, "nmeapty: need an NMEA log with $GPRMC/$GPGGA lines and a link path\n");
        return 1;
    }
    m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || !(slave = ptsname(m))) {
        perror("nmeapty: pty");
        return 1;
    }
    /* raw on the slave side until gpsd sets it as it likes */
    if (tcgetattr(m, &tio) == 0) {
        cfmakeraw(&tio);
        tcsetattr(m, TCSANOW, &tio);
    }
    fcntl(m, F_SETFL, O_NONBLOCK);
    unlink(argv[optind + 1]);
    if (symlink(slave, argv[optind + 1]) < 0) {
        perror("nmeapty: symlink");
        return 1;
    }
    for (int64_t sec = now_ns() / NS + 1; wrote < count; sec++) {
        double late = delay + jitter * gauss();
        char out[4 * LINE_LEN];

        sleep_until(sec * NS + (int64_t)llround((late > 0 ? late : 0) * 1e9));
        drain(m);
        /* one fix: the RMC and what follows it up to the next RMC */
        for (int k = 0; k == 0 || strncmp(lines[next], "$GPRMC,", 7); k++) {
            int len = render(lines[next], sec, out, sizeof(out));

            next = (next + 1) % n_lines;
            if (len > 0 && write(m, out, (size_t)len) < 0 && errno != EAGAIN && errno != EIO) {
                perror("nmeapty: write");
                return 1;
            }
        }
        wrote++;
    }
    unlink(argv[optind + 1]);
    printf("wrote %ld\n", wrote);
    return 0;
}
