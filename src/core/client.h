/* core/client: the client side as one pure state machine.
 *
 * It owns the sources, runs selection and the discipline when a sample
 * arrives, and derives what the server announces (stratum, refid, root
 * delay and dispersion, leap). The shell (daemon/engine.c, or the
 * simulator) resolves names, moves packets and applies clock commands;
 * it calls in here with the time and gets commands back.
 */
#ifndef CHIME_CORE_CLIENT_H
#define CHIME_CORE_CLIENT_H

#include <stdbool.h>

#include "core/discipline.h"
#include "core/select.h"
#include "core/server.h"
#include "core/source.h"

#define CLIENT_MAX_SOURCES 32

struct client_conf {
    struct discipline_conf disc;
    struct select_params select;
    int8_t precision;       /* of our clock, log2 s */
    int local_stratum;      /* serve our own clock with no sources (0 = off) */
};

struct client {
    struct client_conf conf;
    struct source src[CLIENT_MAX_SOURCES];
    bool active[CLIENT_MAX_SOURCES];
    int n;                  /* slots in use (some may be inactive) */
    struct discipline disc;
    enum select_mark marks[CLIENT_MAX_SOURCES];
    struct select_result sel;
    mono_ns sel_time;       /* when selection last ran */
    mono_ns last_sample;    /* newest sample from any source */
};

void client_init(struct client *c, const struct client_conf *conf, mono_ns now);

/* Add a source; returns its index or -1 when full. `jitter_ns` spreads the
 * first polls of many sources (random from the shell). */
int client_add_source(struct client *c, const struct source_conf *sc, mono_ns now,
                      int64_t jitter_ns);
/* Retire a source (a pool member being replaced). */
void client_remove_source(struct client *c, int idx);

/* A reply for source idx arrived at t4 (kernel stamp), monotonic now.
 * On a new sample, selection and the discipline run and *cmd says what
 * to do to the clock (all flags false = nothing). */
enum source_rx client_receive(struct client *c, int idx, const uint8_t *buf,
                              size_t len, real_ns t4, mono_ns now,
                              struct clock_cmd *cmd);

/* Periodic housekeeping (call at least every few seconds): notices lost
 * sources and lets the discipline hold. */
void client_tick(struct client *c, mono_ns now, struct clock_cmd *cmd);

/* What the server should announce now. */
void client_sys_state(const struct client *c, real_ns now_real, mono_ns now,
                      struct sys_state *out);

/* The accumulated correction (s), for source_receive callers and displays. */
double client_correction(const struct client *c, mono_ns now);

/* The earliest time any active source wants to poll. */
mono_ns client_next_poll(const struct client *c);

#endif
