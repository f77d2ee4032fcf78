/* daemon/stats: the statistics files (statsdir, statistics, filegen).
 *
 * loopstats gets one line per discipline update, peerstats one per
 * accepted sample, in ntpd's layout (monitor/statsline.h). Files are
 * <statsdir>/<file>.<YYYYMMDD> (filegen type day, the default), rotated
 * at UTC midnight, with <statsdir>/<file> a symlink to the current one
 * (link, the default); type none writes <statsdir>/<file> alone.
 *
 * The event loop never waits for the disk: a regular file cannot be made
 * non-blocking, so lines go through a bounded queue (STATS_QUEUE lines)
 * to a writer thread of their own, started with the first line - after
 * privileges are dropped and the system-call filter is installed, which it
 * inherits - with every signal blocked. A file is opened with O_APPEND
 * once per day and each line (< 256 bytes) is one write(2). When the disk
 * stalls so long that the queue fills, further lines are dropped and
 * counted; nothing waits. A failed open or write is counted and logged at
 * most a few times a minute, never fatal; the open is retried at the next
 * line.
 */
#ifndef CHIME_DAEMON_STATS_H
#define CHIME_DAEMON_STATS_H

#include <stdint.h>

#include "conf/conf.h"
#include "monitor/statsline.h"

enum stats_kind { STATS_LOOP, STATS_PEER, STATS__COUNT };

struct stats_files;

/* How long exit waits for queued lines to reach the disk. */
#define STATS_EXIT_WAIT_NS (2 * 1000000000LL)

/* NULL when no generation is enabled (or no statsdir): every call below
 * then does nothing. Problems with the configuration are logged. */
struct stats_files *stats_open(const struct config *cfg);
/* Stop the writer once it has written what is queued. wait_ns > 0: wait
 * that long for it (at exit); otherwise, or when it is stuck, it finishes
 * and frees on its own. NULL is fine. */
void stats_close(struct stats_files *sf, int64_t wait_ns);

void stats_write_loop(struct stats_files *sf, int64_t unix_ns, int64_t mono_ns,
                      const struct statsline_loop *l);
void stats_write_peer(struct stats_files *sf, int64_t unix_ns, int64_t mono_ns,
                      const struct statsline_peer *p);

/* Lines written and failures, per kind (for logs and tests). */
uint64_t stats_lines(const struct stats_files *sf, enum stats_kind k);
uint64_t stats_errors(const struct stats_files *sf, enum stats_kind k);
/* Lines the full queue turned away. */
uint64_t stats_dropped(const struct stats_files *sf);

/* Engine glue, for the node's actions: the peerstats line of a slot's
 * new sample (NODE_SAMPLE) and the loopstats line of a discipline update
 * (NODE_DISC_UPDATE). */
struct engine;
struct now;
/* Reload: close the files and open them as cfg says (a rotated file is
 * let go; statsdir, statistics and filegen changes apply). */
void engine_stats_reopen(struct engine *e, const struct config *cfg);
void engine_stats_sample(struct engine *e, int slot, const struct now *now);
void engine_stats_update(struct engine *e, const struct now *now);

#endif
