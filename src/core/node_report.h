/* core/node_report: snapshots of node state for every observer.
 *
 * chimectl's views, mode 6, metrics and the statistics files all read the
 * node through these, never its fields, so the simulator and unit tests
 * can produce exactly the tables the daemon serves. The snapshot types
 * are core/report.h's; src/monitor formats them.
 */
#ifndef CHIME_CORE_NODE_REPORT_H
#define CHIME_CORE_NODE_REPORT_H

#include "core/node.h"
#include "core/report.h"

/* A refid for display: the ASCII code at stratum 0-1, else a dotted quad
 * (for IPv6 sources a hash, shown the same way ntpq does). */
void node_report_refid(uint32_t refid, int stratum, char *out, size_t cap);

/* One slot (retired pool slots included). */
void node_report_source(const struct node *n, int slot, mono_ns now, struct report_source *o);
/* Every slot that is not a retired pool slot, in slot order. Returns the
 * rows filled. */
int node_report_sources(const struct node *n, mono_ns now, struct report_source *out,
                        int cap);
int node_report_sourcestats(const struct node *n, mono_ns now, struct report_sourcestat *out,
                            int cap);
void node_report_activity(const struct node *n, struct report_activity *out);
/* The discipline's state with what the server announces (sys). */
void node_report_tracking(const struct node *n, const struct sys_state *sys,
                          const struct now *now, struct report_tracking *out);

/* For the statistics files: a sample's figures (the estimate, or the
 * newest raw sample before there is one), and the loop's. */
struct node_report_peer {
    const char *address;        /* "" unless resolved */
    bool configured;            /* a server line, not a pool member */
    uint8_t reach;
    char mark;                  /* tally mark */
    double offset_s, delay_s, disp_s, jitter_s;
};
void node_report_peer(const struct node *n, int slot, mono_ns now,
                      struct node_report_peer *out);
struct node_report_loop {
    double offset_s, freq_ppm, jitter_s, wander_ppm;
    int tc;                     /* system peer's poll, log2 s (6 without one) */
};
void node_report_loop(const struct node *n, struct node_report_loop *out);

#endif
