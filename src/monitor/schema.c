/* monitor/schema: see schema.h.
 *
 * Rows are in JSON order. prom_seq and text_seq give the order of the
 * Prometheus families and of the text lines, which are older than the
 * JSON and differ from it; tests/unit/test_schema.c checks they stay
 * unique and contiguous.
 */
#include "monitor/schema.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/leap.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

char schema_tally(char c)
{
    return strchr("*+-x#o.", c) != NULL && c != '\0' ? c : ' ';
}

/* "address": the numeric address in use, else the name as configured. */
static void str_or_name(struct field_val *v, const char *addr, size_t addr_len,
                        const char *name, size_t name_len)
{
    bool have = strnlen(addr, addr_len) > 0;

    v->type = FV_STR;
    v->s = have ? addr : name;
    v->max = have ? addr_len : name_len;
}

/* ---- sources ------------------------------------------------------------------- */

#define SRC struct report_source

static void source_address(const void *rec, struct field_val *v)
{
    const SRC *s = rec;

    str_or_name(v, s->address, sizeof(s->address), s->name, sizeof(s->name));
}

static void source_state(const void *rec, struct field_val *v)
{
    const SRC *s = rec;

    v->type = FV_STR;
    v->tmp[0] = schema_tally(s->state);
    v->s = v->tmp;
    v->max = 1;
}

/* {source="<address or name>",name="<name>"} on every per-source sample. */
static void source_labels(struct out *o, const void *rec)
{
    struct field_val v;
    const SRC *s = rec;

    source_address(rec, &v);
    out_str(o, "{source=");
    out_prom_label(o, v.s, v.max);
    out_str(o, ",name=");
    out_prom_label(o, s->name, sizeof(s->name));
    out_str(o, "}");
}

static const struct field source_fields[] = {
    { .name = "address", .type = FT_STR, .get = source_address,
      .help = "Numeric address in use, else the name as configured" },
    { .name = "name", F_STR(SRC, name), .help = "The source as configured" },
    { .name = "state", F_CHAR(SRC, state), .get = source_state,
      .help = "Tally mark: * system peer, + combined, - outlier, x falseticker, # spare" },
    { .name = "stratum", F_INT(SRC, stratum), .help = "Stratum the source announces",
      .prom = "stratum", .prom_seq = 4 },
    { .name = "refid", F_STR(SRC, refid), .help = "Reference ID the source announces" },
    { .name = "poll", F_INT(SRC, poll), .help = "Poll interval, log2 seconds" },
    { .name = "reach", F_U8(SRC, reach),
      .help = "Reachability register of the source (0-255)", .prom = "reach", .prom_seq = 1 },
    { .name = "last_s", F_NS_OPT(SRC, last_ns), .unit = FU_SECONDS,
      .help = "Age of the newest sample" },
    { .name = "offset_s", F_DOUBLE(SRC, offset_s), F_GATE(SRC, have_sample),
      .unit = FU_SECONDS, .help = "Estimated offset of the source (server - local)",
      .prom = "offset", .prom_seq = 2 },
    { .name = "delay_s", F_DOUBLE(SRC, delay_s), F_GATE(SRC, have_sample),
      .unit = FU_SECONDS, .help = "Round-trip delay to the source",
      .prom = "delay", .prom_seq = 3 },
    { .name = "jitter_s", F_DOUBLE(SRC, jitter_s), F_GATE(SRC, have_sample),
      .unit = FU_SECONDS, .help = "Jitter of the source's samples" },
    { .name = "pool", F_BOOL(SRC, pool), .help = "Came from a pool line" },
    { .name = "denied", F_BOOL(SRC, denied), .help = "Sent a KoD DENY or RSTR" },
    { .name = "nts", F_BOOL(SRC, nts), .help = "Authenticated with NTS (RFC 8915)" },
    { .name = "nts_cookies", F_INT(SRC, nts_cookies), .help = "NTS cookies held" },
    { .name = "nts_ke", F_STR(SRC, nts_ke),
      .help = "Result of the last NTS key exchange, empty before the first" },
    { .name = "refclock", F_BOOL(SRC, refclock),
      .help = "A reference clock (SHM, SOCK, PPS, PHC)" },
    { .name = "refclock_samples", F_U64(SRC, rc_samples),
      .help = "Reference clock samples taken", .prom = "refclock_samples", .prom_seq = 5,
      .kind = FK_COUNTER },
    { .name = "refclock_refused", F_U64(SRC, rc_refused),
      .help = "Reference clock samples refused (by the driver, stale, or pulses without "
              "a coarse second)", .prom = "refclock_refused", .prom_seq = 6,
      .kind = FK_COUNTER },
    { .name = "refclock_error", F_STR(SRC, rc_error),
      .help = "The reference clock's latest refusal or driver error, empty when none" },
    { .name = "peer", F_BOOL(SRC, peer), .help = "A symmetric peer (a peer line: modes 1 and 2)" },
};

const struct field_table schema_source = {
    .report = "sources", .prom_prefix = "source_",
    .f = source_fields, .n = N_(source_fields), .prom_labels = source_labels,
};

/* ---- tracking ------------------------------------------------------------------ */

#define TRK struct report_tracking

static const char *const leap_json[] = { "none", "insert", "delete", "unsynchronised", NULL };
static const char *const leap_text[] = {
    "Normal", "Insert second", "Delete second", "Not synchronised", NULL,
};

static const char *leap_dir_name(int dir)
{
    return dir > 0 ? "insert" : dir < 0 ? "delete" : "none";
}

/* 2^p seconds without libm; p is a clock precision, a small negative. */
static double pow2(int p)
{
    double v = 1.0;

    if (p < -64 || p > 64)
        return NAN;
    for (; p < 0; p++)
        v /= 2.0;
    for (; p > 0; p--)
        v *= 2.0;
    return v;
}

static void tracking_root_distance(const void *rec, struct field_val *v)
{
    const TRK *t = rec;

    v->type = FV_DOUBLE;
    v->d = t->root_delay_s / 2 + t->root_dispersion_s;
}

static void tracking_leap_status(const void *rec, struct field_val *v)
{
    v->type = FV_INT;
    v->i = ((const TRK *)rec)->leap & 3;
}

/* A Unix time as its UTC date, into v's own room. */
static void date_val(struct field_val *v, int64_t unix_s, bool valid)
{
    v->type = FV_STR;
    v->valid = valid;
    if (valid)
        leap_format_date(unix_s, v->tmp, sizeof(v->tmp));
    v->s = v->tmp;
    v->max = sizeof(v->tmp);
}

/* The leap is at the end of the day before the midnight `next_leap`. */
static void tracking_next_leap(const void *rec, struct field_val *v)
{
    const TRK *t = rec;

    date_val(v, t->next_leap - 1, t->next_leap > 0);
}

static void tracking_next_leap_type(const void *rec, struct field_val *v)
{
    const TRK *t = rec;

    v->type = FV_STR;
    v->valid = t->next_leap > 0;
    v->s = leap_dir_name(t->next_leap_dir);
    v->max = 16;
}

static void tracking_leapfile_expires(const void *rec, struct field_val *v)
{
    const TRK *t = rec;

    date_val(v, t->leapfile_expires, t->have_leapfile);
}

static void tracking_leapfile_expired(const void *rec, struct field_val *v)
{
    const TRK *t = rec;

    v->type = FV_BOOL;
    v->b = t->have_leapfile && t->leapfile_expired;
}

static void tracking_leapfile_expires_soon(const void *rec, struct field_val *v)
{
    const TRK *t = rec;

    v->type = FV_BOOL;
    v->b = t->have_leapfile && t->leapfile_expires_soon;
}

/* "GPS (192.0.2.1)": the refid, and the reference when there is one. */
static void tracking_reference_text(struct out *o, const void *rec)
{
    const TRK *t = rec;
    size_t rn = strnlen(t->reference, sizeof(t->reference));
    size_t in = strnlen(t->refid, sizeof(t->refid));

    out_printf(o, "%.*s", (int)(in > 0 ? in : 1), in > 0 ? t->refid : "-");
    if (rn > 0)
        out_printf(o, " (%.*s)", (int)rn, t->reference);
}

static void tracking_precision_text(struct out *o, const void *rec)
{
    const TRK *t = rec;

    out_printf(o, "%d (%.9f seconds)", t->precision, pow2(t->precision));
}

static void tracking_next_leap_text(struct out *o, const void *rec)
{
    const TRK *t = rec;
    char day[LEAP_DATE_LEN];

    if (t->next_leap <= 0) {
        out_str(o, "none known");
        return;
    }
    leap_format_date(t->next_leap - 1, day, sizeof(day));
    out_printf(o, "%s 23:59:%s (%s, from %s)", day, t->next_leap_dir > 0 ? "60" : "59",
               leap_dir_name(t->next_leap_dir), t->leap_source ? t->leap_source : "none");
}

static void tracking_leapfile_text(struct out *o, const void *rec)
{
    const TRK *t = rec;
    char day[LEAP_DATE_LEN];

    if (!t->have_leapfile) {
        out_str(o, "none");
        return;
    }
    leap_format_date(t->leapfile_expires, day, sizeof(day));
    out_printf(o, "expires %s%s", day,
               t->leapfile_expired ? " (EXPIRED: update tzdata)"
               : t->leapfile_expires_soon ? " (expires within 28 days)" : "");
}

static const struct field tracking_fields[] = {
    { .name = "synchronised", F_BOOL(TRK, synchronised),
      .help = "1 when the clock is synchronised to a source",
      .prom = "synchronised", .prom_seq = 1, .text_seq = 3, .label = "Synchronised" },
    { .name = "stratum", F_INT(TRK, stratum),
      .help = "Stratum chimed serves (16: unsynchronised)",
      .prom = "stratum", .prom_seq = 2, .text_seq = 2, .label = "Stratum" },
    { .name = "reference", F_STR(TRK, reference),
      .help = "System peer's address, LOCL, or empty" },
    { .name = "refid", F_STR(TRK, refid), .help = "Reference ID chimed serves",
      .text_seq = 1, .label = "Reference ID", .text = tracking_reference_text },
    { .name = "offset_s", F_DOUBLE(TRK, offset_s), .unit = FU_SECONDS,
      .help = "Last system offset estimate", .prom = "offset", .prom_seq = 3,
      .text_seq = 4, .label = "System offset", .prec = 9, .sign = true },
    { .name = "frequency_ppm", F_DOUBLE(TRK, frequency_ppm), .unit = FU_PPM,
      .help = "Frequency correction in force", .prom = "frequency", .prom_seq = 4,
      .text_seq = 5, .label = "Frequency", .prec = 3, .sign = true },
    { .name = "residual_freq_ppm", F_DOUBLE(TRK, residual_freq_ppm), .unit = FU_PPM,
      .help = "Frequency still to learn", .prom = "residual_frequency", .prom_seq = 5,
      .text_seq = 6, .label = "Residual freq", .prec = 3, .sign = true },
    { .name = "drift_ppm", F_DOUBLE(TRK, drift_ppm), .unit = FU_PPM,
      .help = "Oscillator frequency estimate, what the driftfile keeps (no slew in it)" },
    { .name = "root_delay_s", F_DOUBLE(TRK, root_delay_s), .unit = FU_SECONDS,
      .help = "Root delay", .prom = "root_delay", .prom_seq = 7,
      .text_seq = 7, .label = "Root delay", .prec = 9 },
    { .name = "root_dispersion_s", F_DOUBLE(TRK, root_dispersion_s), .unit = FU_SECONDS,
      .help = "Root dispersion", .prom = "root_dispersion", .prom_seq = 8,
      .text_seq = 8, .label = "Root dispersion", .prec = 9 },
    { .name = "jitter_s", F_DOUBLE(TRK, jitter_s), .unit = FU_SECONDS,
      .help = "System jitter", .prom = "jitter", .prom_seq = 6,
      .text_seq = 9, .label = "Jitter", .prec = 9 },
    { .name = "root_distance_s", .type = FT_DOUBLE, .get = tracking_root_distance,
      .no_json = true, .unit = FU_SECONDS,
      .help = "Root distance: root delay / 2 + root dispersion",
      .prom = "root_distance", .prom_seq = 9 },
    { .name = "leap", F_ENUM(TRK, leap), .names = leap_json, .text_names = leap_text,
      .help = "Leap indicator served", .text_seq = 10, .label = "Leap status" },
    { .name = "leap_status", .type = FT_INT, .get = tracking_leap_status, .no_json = true,
      .help = "Leap indicator: 0 none, 1 insert, 2 delete, 3 unsynchronised",
      .prom = "leap_status", .prom_seq = 10 },
    { .name = "state", F_CSTR(TRK, state, 64), .dflt = "unknown",
      .help = "Discipline state", .text_seq = 11, .label = "State" },
    { .name = "alarm", F_BOOL(TRK, alarm),
      .help = "Offset past the panic threshold: not steering", .text_seq = 12,
      .label = "Alarm", .yes = "yes (offset past the panic threshold, not steering)" },
    { .name = "clock_control", F_BOOL(TRK, clock_control),
      .help = "chimed may adjust the clock (off with -x)", .text_seq = 13,
      .label = "Clock control", .yes = "enabled", .no = "disabled" },
    { .name = "last_update_s", F_NS_OPT(TRK, update_age_ns), .unit = FU_SECONDS,
      .help = "Since the last discipline update", .text_seq = 14, .label = "Last update",
      .prec = 1, .suffix = " seconds ago", .none = "never" },
    { .name = "precision", F_INT(TRK, precision), .help = "Clock precision, log2 seconds",
      .text_seq = 15, .label = "Precision", .text = tracking_precision_text },
    { .name = "steps", F_U64(TRK, steps), .help = "Clock steps commanded",
      .prom = "clock_steps", .prom_seq = 11, .kind = FK_COUNTER,
      .text_seq = 16, .label = "Clock steps" },
    { .name = "leap_mode", F_CSTR(TRK, leap_mode, 16), .dflt = "system",
      .help = "leapsecmode: system, step, slew or ignore",
      .text_seq = 17, .label = "Leap mode" },
    { .name = "next_leap", .type = FT_STR, .get = tracking_next_leap,
      .help = "UTC date of the next known leap second",
      .text_seq = 18, .label = "Next leap", .text = tracking_next_leap_text },
    { .name = "next_leap_type", .type = FT_STR, .get = tracking_next_leap_type,
      .help = "insert or delete" },
    { .name = "leap_source", F_CSTR(TRK, leap_source, 16), .dflt = "none",
      .help = "Where the next leap is known from: file, sources, none" },
    { .name = "leapfile_expires", .type = FT_STR, .get = tracking_leapfile_expires,
      .help = "UTC date the leap second file expires",
      .text_seq = 19, .label = "Leap file", .text = tracking_leapfile_text },
    { .name = "leapfile_expired", .type = FT_BOOL, .get = tracking_leapfile_expired,
      .help = "The leap second file has expired" },
    { .name = "leapfile_expires_soon", .type = FT_BOOL,
      .get = tracking_leapfile_expires_soon,
      .help = "The leap second file expires within 28 days" },
};

const struct field_table schema_tracking = {
    .report = "tracking", .prom_prefix = "",
    .f = tracking_fields, .n = N_(tracking_fields), .label_width = 16,
};

/* ---- sourcestats --------------------------------------------------------------- */

#define SST struct report_sourcestat

static void sourcestat_address(const void *rec, struct field_val *v)
{
    const SST *s = rec;

    str_or_name(v, s->address, sizeof(s->address), s->name, sizeof(s->name));
}

static const struct field sourcestat_fields[] = {
    { .name = "address", .type = FT_STR, .get = sourcestat_address,
      .help = "Numeric address in use, else the name as configured" },
    { .name = "name", F_STR(SST, name), .help = "The source as configured" },
    { .name = "samples", F_INT(SST, samples), .help = "Samples stored" },
    { .name = "used", F_INT(SST, used), .help = "Samples in the estimate's fit" },
    { .name = "freq_ppm", F_DOUBLE(SST, freq_ppm), F_GATE(SST, valid), .unit = FU_PPM,
      .help = "Estimated correction frequency" },
    { .name = "freq_sd_ppm", F_DOUBLE(SST, freq_sd_ppm), F_GATE(SST, valid),
      .unit = FU_PPM, .help = "Standard error of the frequency" },
    { .name = "offset_s", F_DOUBLE(SST, offset_s), F_GATE(SST, valid),
      .unit = FU_SECONDS, .help = "Estimated offset" },
    { .name = "offset_sd_s", F_DOUBLE(SST, offset_sd_s), F_GATE(SST, valid),
      .unit = FU_SECONDS, .help = "Standard deviation of the offsets" },
    { .name = "jitter_s", F_DOUBLE(SST, jitter_s), F_GATE(SST, valid),
      .unit = FU_SECONDS, .help = "Jitter of the samples" },
};

const struct field_table schema_sourcestat = {
    .report = "sourcestats", .prom_prefix = "sourcestat_",
    .f = sourcestat_fields, .n = N_(sourcestat_fields),
};

/* ---- serverstats ----------------------------------------------------------------- */

#define SS struct report_serverstats

/* authenticated and auth_failed are one family, by result. */
static const char mode6_auth_help[] = "Mode 6 requests with a MAC, by outcome (controlkey)";

static const struct field mode6_fields[] = {
    { .name = "requests", F_U64(SS, mode6_requests), .help = "Mode 6 (ntpq) requests",
      .prom = "requests", .prom_seq = 1, .kind = FK_COUNTER,
      .text_seq = 1, .label = "Mode 6 requests" },
    { .name = "answered", F_U64(SS, mode6_answered), .help = "Mode 6 requests answered",
      .text_seq = 2, .label = "Mode 6 answered" },
    { .name = "errors", F_U64(SS, mode6_errors),
      .help = "Mode 6 requests answered with an error", .text_seq = 3,
      .label = "Mode 6 error replies" },
    { .name = "authenticated", F_U64(SS, mode6_authenticated), .help = mode6_auth_help,
      .prom = "auth", .prom_seq = 3, .kind = FK_COUNTER, .prom_label = "result=\"ok\"",
      .text_seq = 4, .label = "Mode 6 authenticated" },
    { .name = "auth_failed", F_U64(SS, mode6_auth_failed), .help = mode6_auth_help,
      .prom = "auth", .prom_seq = 4, .kind = FK_COUNTER, .prom_label = "result=\"failed\"",
      .text_seq = 5, .label = "Mode 6 authentication failed" },
    { .name = "dropped", F_COUNTERS(SS, mode6_dropped, n_mode6_dropped),
      .help = "Mode 6 requests dropped, by reason", .prom = "dropped", .prom_seq = 2,
      .kind = FK_COUNTER, .text_seq = 6, .label = "Mode 6 dropped " },
};

static const struct field_table schema_mode6 = {
    .report = "serverstats.mode6", .prom_prefix = "mode6_",
    .f = mode6_fields, .n = N_(mode6_fields), .label_width = 32,
};

static const char nts_ke_refused_help[] = "NTS-KE connections refused, by cap";

static const struct field nts_server_fields[] = {
    { .name = "ke_sessions", F_U64(SS, nts_ke_sessions),
      .help = "NTS-KE sessions that handed out cookies", .prom = "ke_sessions", .prom_seq = 1,
      .kind = FK_COUNTER, .text_seq = 1, .label = "NTS-KE sessions" },
    { .name = "ke_failed", F_U64(SS, nts_ke_failed),
      .help = "NTS-KE sessions that failed (TLS, request, timeout)", .text_seq = 2,
      .label = "NTS-KE sessions failed" },
    { .name = "ke_refused_busy", F_U64(SS, nts_ke_refused_busy), .help = nts_ke_refused_help,
      .prom = "ke_refused", .prom_seq = 2, .kind = FK_COUNTER,
      .prom_label = "cap=\"maxsessions\"", .text_seq = 3,
      .label = "NTS-KE refused (maxsessions)" },
    { .name = "ke_refused_peer", F_U64(SS, nts_ke_refused_peer), .help = nts_ke_refused_help,
      .prom = "ke_refused", .prom_seq = 3, .kind = FK_COUNTER,
      .prom_label = "cap=\"perclient\"", .text_seq = 4, .label = "NTS-KE refused (perclient)" },
    { .name = "ke_timed_out", F_U64(SS, nts_ke_timed_out),
      .help = "NTS-KE sessions cut off by nts timeout", .text_seq = 5,
      .label = "NTS-KE timed out" },
    { .name = "requests", F_U64(SS, nts_requests),
      .help = "NTS requests authenticated and answered", .prom = "requests", .prom_seq = 4,
      .kind = FK_COUNTER, .text_seq = 6, .label = "NTS requests" },
    { .name = "naks", F_U64(SS, nts_naks),
      .help = "NTS NAKs sent (cookie or authenticator refused)", .prom = "naks",
      .prom_seq = 5, .kind = FK_COUNTER, .text_seq = 7, .label = "NTS NAKs" },
    { .name = "dropped", F_U64(SS, nts_dropped), .help = "Malformed NTS requests dropped",
      .text_seq = 8, .label = "NTS dropped" },
    { .name = "key_rotations", F_U64(SS, nts_key_rotations),
      .help = "Cookie keys made current here", .text_seq = 9, .label = "NTS key rotations" },
    { .name = "key_reloads", F_U64(SS, nts_key_reloads),
      .help = "Cookie key sets re-read (nts readonly)", .text_seq = 10,
      .label = "NTS key re-reads" },
};

static const struct field_table schema_nts_server = {
    .report = "serverstats.nts", .prom_prefix = "nts_",
    .f = nts_server_fields, .n = N_(nts_server_fields), .label_width = 32,
};

static const struct field serverstats_fields[] = {
    { .name = "received", F_U64(SS, received), .help = "NTP requests received",
      .prom = "requests", .prom_seq = 1, .kind = FK_COUNTER,
      .text_seq = 1, .label = "NTP requests received" },
    { .name = "replied", F_U64(SS, replied), .help = "NTP replies sent",
      .prom = "replies", .prom_seq = 2, .kind = FK_COUNTER,
      .text_seq = 2, .label = "NTP replies sent" },
    { .name = "dropped", F_COUNTERS(SS, dropped, n_dropped),
      .help = "Requests dropped, by reason", .prom = "dropped", .prom_seq = 3,
      .kind = FK_COUNTER, .text_seq = 3, .label = "Dropped " },
    { .name = "truncated", F_U64(SS, truncated), .help = "Truncated datagrams received",
      .text_seq = 4, .label = "Truncated datagrams" },
    { .name = "send_errors", F_U64(SS, send_errors), .help = "Replies the kernel refused",
      .text_seq = 5, .label = "Send errors" },
    { .name = "mode6", .type = FT_OBJECT, .sub = &schema_mode6,
      .help = "Mode 6 (ntpq) requests", .prom_seq = 4, .text_seq = 6 },
    { .name = "nts", .type = FT_OBJECT, .sub = &schema_nts_server,
      .help = "The NTS server (nts enable)", .prom_seq = 5, .text_seq = 7 },
};

const struct field_table schema_serverstats = {
    .report = "serverstats", .prom_prefix = "server_",
    .f = serverstats_fields, .n = N_(serverstats_fields), .label_width = 32,
};

/* ---- activity ---------------------------------------------------------------------- */

#define ACT struct report_activity

static const struct field activity_fields[] = {
    { .name = "online", F_INT(ACT, online), .help = "Sources polled and reachable",
      .text_seq = 1, .suffix = " sources online" },
    { .name = "offline", F_INT(ACT, offline),
      .help = "Sources not polled or not reached lately", .text_seq = 2,
      .suffix = " sources offline" },
    { .name = "unresolved", F_INT(ACT, unresolved),
      .help = "Sources waiting for a name lookup", .text_seq = 3,
      .suffix = " sources with unknown address" },
    { .name = "denied", F_INT(ACT, denied), .help = "Sources that sent a KoD DENY or RSTR",
      .text_seq = 4, .suffix = " sources denied (KoD)" },
};

const struct field_table schema_activity = {
    .report = "activity", .prom_prefix = "activity_",
    .f = activity_fields, .n = N_(activity_fields),
};

/* ---- clients ------------------------------------------------------------------------- */

#define CE struct report_client_entry
#define CL struct report_clients

static const struct field client_entry_fields[] = {
    { .name = "address", F_STR(CE, address), .help = "Client address (or prefix)" },
    { .name = "count", F_U32(CE, count), .help = "Packets since the entry was made" },
    { .name = "excess", F_U32(CE, excess),
      .help = "Packets over the limit: leaked, KoD or dropped" },
    { .name = "last_s", F_NS(CE, last_ago_ns), .unit = FU_SECONDS,
      .help = "Since the last packet" },
    { .name = "last_kod_s", F_NS_OPT(CE, kod_ago_ns), .unit = FU_SECONDS,
      .help = "Since the last KoD sent" },
};

const struct field_table schema_client_entry = {
    .report = "clients.clients", .prom_prefix = "client_",
    .f = client_entry_fields, .n = N_(client_entry_fields),
};

static const struct field clients_fields[] = {
    { .name = "used", F_SIZE(CL, used), .help = "Rate limiter entries in use" },
    { .name = "capacity", F_SIZE(CL, capacity), .help = "Rate limiter slots" },
    { .name = "checked", F_U64(CL, checked), .help = "Packets checked" },
    { .name = "passed", F_U64(CL, passed), .help = "Packets within the limit" },
    { .name = "excess", F_U64(CL, excess), .help = "Packets over the limit" },
    { .name = "leaked", F_U64(CL, leaked), .help = "Over the limit, answered by leak" },
    { .name = "kod", F_U64(CL, kod), .help = "Over the limit, answered with a KoD" },
    { .name = "dropped", F_U64(CL, dropped), .help = "Over the limit, dropped" },
    { .name = "evicted", F_U64(CL, evicted), .help = "Entries evicted for new clients" },
    { .name = "clients", F_ARRAY(CL, c, n, CE, schema_client_entry),
      .help = "The busiest clients" },
};

const struct field_table schema_clients = {
    .report = "clients", .prom_prefix = "clients_",
    .f = clients_fields, .n = N_(clients_fields),
};
