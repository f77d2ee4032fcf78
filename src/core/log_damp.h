/* core/log_damp: damping for log lines a remote peer can trigger (a kiss
 * of death, say), per source. The first line is written; while more come
 * within the damping period they are only counted, and each one that
 * comes doubles the period (up to LOG_DAMP_MAX_NS); the next line written
 * says how many were held back. A source quiet for twice the period
 * starts again from LOG_DAMP_MIN_NS. (The idea is OpenNTPD's log damping;
 * the code is ours.)
 * SPDX-License-Identifier: BSD-2-Clause */
#ifndef CHIME_CORE_LOG_DAMP_H
#define CHIME_CORE_LOG_DAMP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/time.h"

#define LOG_DAMP_MIN_NS (60 * NS_PER_S)
#define LOG_DAMP_MAX_NS (3600 * NS_PER_S)

struct log_damp {
    mono_ns last;               /* when a line was last written (0: never) */
    int64_t period_ns;
    uint32_t held;              /* lines held back since then */
};

/* Should a line be written now? When it should, *held is how many were
 * held back before it (and the count starts again). */
static inline bool log_damp_due(struct log_damp *d, mono_ns now, uint32_t *held)
{
    int64_t since = d->last.ns != 0 ? mono_sub(now, d->last) : INT64_MAX;

    if (d->last.ns != 0 && since < d->period_ns) {
        d->held++;
        if (d->period_ns < LOG_DAMP_MAX_NS)
            d->period_ns = d->period_ns * 2 < LOG_DAMP_MAX_NS ? d->period_ns * 2 : LOG_DAMP_MAX_NS;
        return false;
    }
    if (d->last.ns == 0 || since > 2 * d->period_ns)
        d->period_ns = LOG_DAMP_MIN_NS;
    d->last = now;
    *held = d->held;
    d->held = 0;
    return true;
}

#endif
