/* sys/clock: reading the clocks, and (later) the clock-driver table.
 *
 * The loop reads both clocks once per wake-up and hands the pair down;
 * the only other readers are the "as late as possible" transmit stamp and
 * the fallback for datagrams that arrive without a kernel timestamp. */
#ifndef CHIME_SYS_CLOCK_H
#define CHIME_SYS_CLOCK_H

#include "core/time.h"

struct now {
    mono_ns mono;
    real_ns real;
};

void clock_read_now(struct now *n);
real_ns clock_read_real(void);
mono_ns clock_read_mono(void);

/* Precision of the system clock as log2 seconds (RFC 5905 §6): the larger
 * of the clock's resolution and the time it takes to read it, measured. */
int8_t clock_measure_precision(void);

#endif
