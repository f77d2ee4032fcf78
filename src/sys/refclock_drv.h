/* sys/refclock_drv: the reference-clock drivers behind one small interface.
 *
 * SHM attaches ntpd's segment (key 0x4e545030 + unit), creating it as
 * ntpd does: units 0 and 1 mode 0600 (root's), 2 and up 0666. It has no
 * descriptor: the shell reads it once a second. SOCK binds a Unix
 * datagram socket at the configured path (gpsd sends to it); the shell
 * reads it when it is readable. PPS opens an RFC 2783 device (/dev/ppsN,
 * linux/pps.h), sets it to capture the assert or the clear edge and
 * fetches the newest edge (PPS_FETCH, no wait) twice a second: a pulse
 * sample, whose second the node finds. PHC opens a PTP hardware clock
 * (/dev/ptpN, linux/ptp_clock.h) and reads it against the system clock
 * with PTP_SYS_OFFSET_EXTENDED, or where the driver lacks it
 * PTP_SYS_OFFSET_PRECISE (a hardware cross-timestamp) or PTP_SYS_OFFSET.
 * All hand out core/refclock_sample's samples; what they read is checked
 * there (SHM, SOCK) or here (the devices). */
#ifndef CHIME_SYS_REFCLOCK_DRV_H
#define CHIME_SYS_REFCLOCK_DRV_H

#include <stddef.h>
#include <stdint.h>

#include "core/node.h"
#include "core/refclock_sample.h"

#define REFCLOCK_DRV_SHM_POLL_NS NS_PER_S

struct refclock_drv;

/* Open (create) the driver of this line; NULL with err. */
struct refclock_drv *refclock_drv_open(const struct node_refclock_conf *c, char *err,
                                       size_t errlen);
/* The descriptor to wait on (SOCK), or -1: poll it (SHM, PPS, PHC). */
int refclock_drv_fd(const struct refclock_drv *d);
/* What was opened, for the log: "PTP_SYS_OFFSET_EXTENDED", "assert edge". */
const char *refclock_drv_describe(const struct refclock_drv *d);
/* How often to poll a driver without a descriptor, ns. */
int64_t refclock_drv_poll_ns(const struct refclock_drv *d);
/* 1: a sample in *out; 0: nothing (more); -1: something was read and
 * refused, *why says what (a static string). */
int refclock_drv_read(struct refclock_drv *d, struct refclock_sample *out, const char **why);
/* SOCK: close and unlink the socket; SHM: forget it (the segment stays
 * attached until exit: shmdt is not allowed in the sandbox). NULL is fine. */
void refclock_drv_close(struct refclock_drv *d);

#endif
