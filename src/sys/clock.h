/* sys/clock: reading the clocks, and the clock-driver table.
 *
 * The loop reads both clocks once per wake-up and hands the pair down;
 * the only other readers are the "as late as possible" transmit stamp and
 * the fallback for datagrams that arrive without a kernel timestamp.
 *
 * Adjusting the clock goes through a driver so that the daemon never calls
 * clock_adjtime() itself: "linux" disciplines CLOCK_REALTIME, "none" only
 * records what it was asked to do (chimed -x), and the simulator registers
 * its own driver over a virtual clock. */
#ifndef CHIME_SYS_CLOCK_H
#define CHIME_SYS_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/time.h"

void clock_read_now(struct now *n);
real_ns clock_read_real(void);
mono_ns clock_read_mono(void);

/* Precision of the system clock as log2 seconds (RFC 5905 §6): the larger
 * of the clock's resolution and the time it takes to read it, measured. */
int8_t clock_measure_precision(void);

/* ---- clock drivers -------------------------------------------------------
 *
 * Every adjusting call returns 0, or -1 with errno set; a driver never
 * logs, the caller decides what a failure means. Frequencies are ppm with
 * positive meaning "run faster"; offsets are ns with positive meaning "move
 * the clock forward". */

/* Leap to arm for the end of the current UTC day (set_leap). The kernel
 * applies an armed leap at the end of every day while it stays armed, so
 * arm it on the leap day only and disarm it after. */
enum clock_leap {
    CLOCK_LEAP_NONE = 0,
    CLOCK_LEAP_INSERT = 1,
    CLOCK_LEAP_DELETE = 2,
};

/* Leap state machine as the kernel reports it (same values as TIME_OK ..
 * TIME_ERROR in <sys/timex.h>). ERROR means the clock is marked
 * unsynchronised: the kernel then hides the leap state, but still applies
 * an armed leap. */
enum clock_leap_state {
    CLOCK_STATE_OK = 0,
    CLOCK_STATE_INS = 1,   /* insertion armed for the coming midnight */
    CLOCK_STATE_DEL = 2,   /* deletion armed */
    CLOCK_STATE_OOP = 3,   /* inside the inserted second (23:59:60) */
    CLOCK_STATE_WAIT = 4,  /* leap done; waiting for the flag to clear */
    CLOCK_STATE_ERROR = 5,
};

struct clock_driver {
    const char *name;
    /* Take control: kernel PLL off, clock marked unsynchronised. */
    int (*init)(void);
    int (*get_freq_ppm)(double *ppm);
    /* |ppm| <= max_freq_ppm, else -1/ERANGE (NaN: EINVAL). */
    int (*set_freq_ppm)(double ppm);
    /* Step the clock by offset_ns at once. */
    int (*step)(int64_t offset_ns);
    /* Tell the kernel (and through it other readers, e.g. ntp_gettime
     * users) whether we are synchronised and how good the time is. */
    int (*set_sync_status)(bool synced, double maxerror_s, double esterror_s);
    /* enum clock_leap */
    int (*set_leap)(int leap);
    /* enum clock_leap_state */
    int (*get_leap_state)(int *state);
    /* TAI - UTC in seconds, for CLOCK_TAI readers. */
    int (*set_tai)(int tai_s);
    double max_freq_ppm;
};

/* A built-in driver ("linux", "none") or one registered below; NULL with
 * errno ENOENT when there is no such driver. */
const struct clock_driver *clock_driver_find(const char *name);
/* Add a driver defined outside sys/ (the simulator's virtual clock).
 * -1/EEXIST when the name is taken, ENOSPC when the table is full. The
 * driver must outlive every lookup. */
int clock_driver_register(const struct clock_driver *drv);

extern const struct clock_driver clock_driver_linux;
extern const struct clock_driver clock_driver_none;

/* What the "none" driver was last asked to do, for chimed -x reporting and
 * for tests. Reset by its init(). */
struct clock_none_record {
    double freq_ppm;
    unsigned steps;
    int64_t last_step_ns;
    int64_t total_step_ns;   /* sum of all steps: where the clock would be */
    bool synced;
    double maxerror_s, esterror_s;
    int leap;                /* enum clock_leap */
    int tai_s;
};
const struct clock_none_record *clock_none_record(void);

/* Linux driver arithmetic, exposed so unit tests can check it without a
 * kernel. The kernel's second is tick µs per 1/USER_HZ s plus freq
 * (ppm * 2^16): 1 µs of tick is USER_HZ ppm, and tick may move ±10% of
 * nominal, so the two together reach ±100000 ppm. */
#define CLOCK_LINUX_FREQ_SCALE 65536.0
#define CLOCK_LINUX_MAX_FREQ_PPM 100000.0
struct clock_linux_freq {
    long tick;       /* µs per 1/USER_HZ s */
    long freq;       /* ppm * 2^16, |freq| <= 500 ppm */
};
/* -1/ERANGE outside ±CLOCK_LINUX_MAX_FREQ_PPM, EINVAL for NaN. */
int clock_linux_freq_split(double ppm, long user_hz, struct clock_linux_freq *out);
double clock_linux_freq_join(const struct clock_linux_freq *f, long user_hz);
/* ADJ_SETOFFSET|ADJ_NANO wants seconds plus ns in [0, 1e9): a negative
 * offset is a more negative second plus a positive fraction. */
void clock_linux_step_split(int64_t offset_ns, int64_t *sec, long *nsec);

#endif
