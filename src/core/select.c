/* core/select: intersection, clustering and combining (RFC 5905 §11.2).
 *
 * Implemented from the RFC prose, not from its Appendix A code. Choices
 * the prose leaves open are documented where they are made:
 *  - The intersection succeeds when at most f midpoints lie outside it
 *    (the prose's "d = f" would reject a valid clique found at f whose
 *    outside midpoints happen to be fewer than f, then fail at f + 1).
 *  - With no majority, every fit candidate is marked a falseticker and
 *    the result is not synced: there is no truechimer to trust.
 *  - Touching intervals count as overlapping (lowpoints sort before
 *    midpoints before highpoints at equal offsets), so l == u succeeds.
 *  - A freq_sd or offset_sd <= 0 (or not finite) means "unknown".
 *  - Candidates with a non-finite offset or root distance, and any past
 *    SELECT_MAX, are treated as unfit. max_clock <= 0 means no limit.
 */
#include "core/select.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SELECT_MAXDIST 1.5      /* s: merit = stratum * MAXDIST + root_dist */
#define SELECT_MIN_DIST 1e-9    /* s: floor for 1/root_dist weights */

void select_params_default(struct select_params *p)
{
    p->min_sane = 1;
    p->min_survivors = 3;
    p->max_clock = 10;
}

/* ---- intersection ------------------------------------------------------ */

enum { EP_LOW = -1, EP_MID = 0, EP_HIGH = 1 };

struct endpoint {
    double val;
    int type;
};

static int endpoint_cmp(const void *a, const void *b)
{
    const struct endpoint *x = a, *y = b;
    if (x->val != y->val)
        return x->val < y->val ? -1 : 1;
    return (x->type > y->type) - (x->type < y->type);
}

static int build_endpoints(const struct select_cand *c, const int *idx, int m,
                           struct endpoint *ep)
{
    int k = 0;
    for (int i = 0; i < m; i++) {
        const struct select_cand *s = &c[idx[i]];
        ep[k++] = (struct endpoint){ s->offset - s->root_dist, EP_LOW };
        ep[k++] = (struct endpoint){ s->offset, EP_MID };
        ep[k++] = (struct endpoint){ s->offset + s->root_dist, EP_HIGH };
    }
    qsort(ep, (size_t)k, sizeof ep[0], endpoint_cmp);
    return k;
}

/* Try to find an interval covered by at least m - f correctness intervals
 * with at most f midpoints outside it. Scanning up, c counts intervals
 * open at the current point; the first point where c >= m - f is l.
 * Symmetrically from the top for u. */
static bool intersect_with(const struct endpoint *ep, int k, int m, int f,
                           double *lo, double *hi)
{
    int c = 0, d = 0;
    bool have_l = false, have_u = false;
    for (int i = 0; i < k && !have_l; i++) {
        c -= ep[i].type;
        if (c >= m - f) {
            *lo = ep[i].val;
            have_l = true;
        } else if (ep[i].type == EP_MID) {
            d++;
        }
    }
    c = 0;
    for (int i = k - 1; i >= 0 && !have_u; i--) {
        c += ep[i].type;
        if (c >= m - f) {
            *hi = ep[i].val;
            have_u = true;
        } else if (ep[i].type == EP_MID) {
            d++;
        }
    }
    return have_l && have_u && d <= f && *lo <= *hi;
}

static bool find_intersection(const struct select_cand *c, const int *idx,
                              int m, double *lo, double *hi)
{
    struct endpoint ep[3 * SELECT_MAX];
    int k = build_endpoints(c, idx, m, ep);
    for (int f = 0; 2 * f < m; f++)
        if (intersect_with(ep, k, m, f, lo, hi))
            return true;
    return false;
}

/* ---- merit ordering -------------------------------------------------- */

static double merit(const struct select_cand *s)
{
    return s->stratum * SELECT_MAXDIST + s->root_dist;
}

/* Insertion sort of indices by merit; stable, so equal merits keep the
 * caller's order (n <= 64, no need for more). */
static void sort_by_merit(const struct select_cand *c, int *idx, int n)
{
    for (int i = 1; i < n; i++) {
        int v = idx[i], j = i - 1;
        while (j >= 0 && merit(&c[idx[j]]) > merit(&c[v])) {
            idx[j + 1] = idx[j];
            j--;
        }
        idx[j + 1] = v;
    }
}

/* ---- clustering ------------------------------------------------------ */

/* RMS of the offset differences of survivor i to the other survivors. */
static double selection_jitter(const struct select_cand *c, const int *surv,
                               int n, int i)
{
    if (n < 2)
        return 0.0;
    double sum = 0.0;
    for (int j = 0; j < n; j++) {
        double d = c[surv[i]].offset - c[surv[j]].offset;
        sum += d * d;
    }
    return sqrt(sum / (n - 1));
}

static double min_peer_jitter(const struct select_cand *c, const int *surv, int n)
{
    double m = INFINITY;
    for (int i = 0; i < n; i++)
        if (c[surv[i]].jitter < m)
            m = c[surv[i]].jitter;
    return m;
}

/* Drop the survivor with the largest selection jitter while that exceeds
 * the smallest peer jitter (dropping would not help otherwise) and more
 * than min_survivors remain. surv stays in merit order. Returns new n. */
/* The largest selection jitter among surv[0..n) without surv[skip]. */
static double worst_jitter_without(const struct select_cand *c, const int *surv, int n,
                                   int skip)
{
    int rest[SELECT_MAX], m = 0;
    double worst = 0.0;
    for (int i = 0; i < n; i++)
        if (i != skip)
            rest[m++] = surv[i];
    for (int i = 0; i < m; i++)
        worst = fmax(worst, selection_jitter(c, rest, m, i));
    return worst;
}

/* The survivor to drop next: the largest selection jitter, but the last
 * system peer only when that is clearly larger than both its own jitter
 * and the others' selection jitter among themselves (hysteresis: among
 * equals a random one is always a little worse, by less than its noise;
 * an outlier inflates everyone's jitter, so the others are measured
 * without it). *worst_j gets the victim's selection jitter. */
static int cluster_victim(const struct select_cand *c, const int *surv, int n,
                          double *worst_j)
{
    int worst = -1, peer = -1;
    double peer_j = -1.0;
    *worst_j = -1.0;
    for (int i = 0; i < n; i++) {
        double j = selection_jitter(c, surv, n, i);
        if (c[surv[i]].sys_peer) {
            peer = i;
            peer_j = j;
        } else if (j > *worst_j) {
            *worst_j = j;
            worst = i;
        }
    }
    double bar = fmax(c[surv[peer >= 0 ? peer : 0]].jitter,
                      peer >= 0 ? worst_jitter_without(c, surv, n, peer) : 0.0);
    if (peer >= 0 && (worst < 0 || (peer_j > *worst_j &&
                                    peer_j > SELECT_STICKY_CLUSTER * bar))) {
        *worst_j = peer_j;
        return peer;
    }
    return worst;
}

static int cluster(const struct select_cand *c, int *surv, int n, int min_surv,
                   enum select_mark *marks)
{
    while (n > min_surv && n > 1) {
        double worst_j;
        int worst = cluster_victim(c, surv, n, &worst_j);
        if (!(worst_j > min_peer_jitter(c, surv, n)))
            break;
        marks[surv[worst]] = SEL_OUTLIER;
        memmove(&surv[worst], &surv[worst + 1], (size_t)(n - worst - 1) * sizeof surv[0]);
        n--;
    }
    return n;
}

/* ---- agreement with the majority -------------------------------------- */

static bool known_sd(double sd);

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The survivor whose offset is the median (the lower one for even n). */
static int median_survivor(const struct select_cand *c, const int *surv, int n)
{
    double off[SELECT_MAX];
    for (int i = 0; i < n; i++)
        off[i] = c[surv[i]].offset;
    qsort(off, (size_t)n, sizeof off[0], cmp_double);
    for (int i = 0; i < n; i++)
        if (c[surv[i]].offset == off[(n - 1) / 2])
            return surv[i];
    return surv[0];
}

/* A minority that disagrees with the majority by more than its noise
 * explains is not combined, however few survivors remain: clustering
 * stops at min_survivors and, with three servers on a 10 ms WAN, kept
 * one 20 ms off for good (its interval still touched the others'; the
 * system offset carried a third of its error, simulated 6.7 ms RMS).
 * The reference is the median survivor; when a strict majority lies
 * within SELECT_AGREE_SIGMAS times their combined jitter of it, the
 * others are outliers. The half-delays do not explain a lasting
 * difference, only the jitter does. Survivors spread with no agreeing
 * majority are all kept (there is no majority to side with). */
/* Within what both estimates' noise explains: each one's jitter (at
 * least the noise its queueing delays imply) and its own standard error.
 * A short window's jitter alone can be far below the path's noise
 * (simulated: 3 us on a WAN with 700 us), two good servers then seemed
 * to disagree, and the one 20 ms off was combined. */
static double cand_var(const struct select_cand *s)
{
    double sd = known_sd(s->offset_sd) ? s->offset_sd : 0.0;
    double j = fmax(s->jitter, isfinite(s->queue_sd) ? s->queue_sd : 0.0);
    return j * j + sd * sd;
}

static bool agrees(const struct select_cand *s, const struct select_cand *m)
{
    double noise = sqrt(cand_var(s) + cand_var(m));
    return fabs(s->offset - m->offset) <= SELECT_AGREE_SIGMAS * noise;
}

static int drop_disagreeing(const struct select_cand *c, int *surv, int n,
                            enum select_mark *marks)
{
    if (n < 3)
        return n;
    const struct select_cand *m = &c[median_survivor(c, surv, n)];
    int agreeing = 0, keep = 0;
    for (int i = 0; i < n; i++)
        agreeing += agrees(&c[surv[i]], m);
    if (2 * agreeing <= n || agreeing == n)
        return n;       /* no majority agrees (or all do): nothing to tell */
    for (int i = 0; i < n; i++) {
        if (agrees(&c[surv[i]], m))
            surv[keep++] = surv[i];
        else
            marks[surv[i]] = SEL_OUTLIER;
    }
    return keep;
}

/* ---- combining ------------------------------------------------------- */

static bool known_sd(double sd)
{
    return isfinite(sd) && sd > 0.0;
}

static double dist_weight(const struct select_cand *s)
{
    return 1.0 / fmax(s->root_dist, SELECT_MIN_DIST);
}

/* Offset: 1/root_dist weighted mean. Its standard error assumes the
 * sources' errors are independent: var = sum (w_i/W)^2 sd_i^2. Shared
 * network paths make that optimistic; the discipline uses it only to
 * weigh, not to gate. Candidates with unknown offset_sd contribute 0. */
static void combine_offset(const struct select_cand *c, const int *surv, int n,
                           struct select_result *out)
{
    double wsum = 0.0, off = 0.0, var = 0.0;
    for (int i = 0; i < n; i++) {
        double w = dist_weight(&c[surv[i]]);
        wsum += w;
        off += w * c[surv[i]].offset;
    }
    for (int i = 0; i < n; i++) {
        double a = dist_weight(&c[surv[i]]) / wsum;
        double sd = known_sd(c[surv[i]].offset_sd) ? c[surv[i]].offset_sd : 0.0;
        var += a * a * sd * sd;
    }
    out->offset = off / wsum;
    out->offset_sd = sqrt(var);
}

/* Frequency: inverse-variance weighted mean of the survivors whose
 * freq_sd is known; if none is, the system peer's value with freq_sd 0
 * ("unknown"). */
static void combine_freq(const struct select_cand *c, const int *surv, int n,
                         int sys_peer, struct select_result *out)
{
    double wsum = 0.0, f = 0.0;
    for (int i = 0; i < n; i++) {
        const struct select_cand *s = &c[surv[i]];
        if (!known_sd(s->freq_sd))
            continue;
        double w = 1.0 / (s->freq_sd * s->freq_sd);
        wsum += w;
        f += w * s->freq;
    }
    if (wsum > 0.0) {
        out->freq = f / wsum;
        out->freq_sd = sqrt(1.0 / wsum);
    } else {
        out->freq = c[sys_peer].freq;
        out->freq_sd = 0.0;
    }
}

/* System jitter: the 1/root_dist weighted RMS of survivor offsets about
 * the system peer's (selection jitter), combined with the peer jitter. */
static void combine_jitter(const struct select_cand *c, const int *surv, int n,
                           int sys_peer, struct select_result *out)
{
    double wsum = 0.0, sum = 0.0;
    for (int i = 0; i < n; i++) {
        double w = dist_weight(&c[surv[i]]);
        double d = c[surv[i]].offset - c[sys_peer].offset;
        wsum += w;
        sum += w * d * d;
    }
    double sel = sqrt(sum / wsum), pj = c[sys_peer].jitter;
    out->jitter = sqrt(sel * sel + pj * pj);
}

/* Not clearly worse than the best by merit: no higher stratum, and a
 * root distance within SELECT_STICKY_FACTOR of the best's, both without
 * what ages (dispersion grown at PHI: a sawtooth over each poll that
 * alone spans a factor of 1.7 among equal LAN servers at poll 6, more at
 * longer polls where it depends on when each sample came). */
static double fresh_dist(const struct select_cand *s)
{
    return s->root_dist - fmax(0.0, fmin(s->dist_age, s->root_dist));
}

static bool close_to_best(const struct select_cand *s, const struct select_cand *best)
{
    return s->stratum <= best->stratum &&
           fresh_dist(s) <= SELECT_STICKY_FACTOR * fresh_dist(best);
}

static int pick_sys_peer(const struct select_cand *c, const int *surv, int n)
{
    int prefer = -1;

    for (int i = 0; i < n && prefer < 0; i++)
        if (c[surv[i]].prefer)
            prefer = surv[i];
    for (int i = 0; i < n && prefer >= 0; i++)
        if (c[surv[i]].pps)
            return surv[i];
    if (prefer >= 0)
        return prefer;
    for (int i = 1; i < n; i++)
        if (c[surv[i]].sys_peer && close_to_best(&c[surv[i]], &c[surv[0]]))
            return surv[i];
    return surv[0];
}

/* ---- the pipeline ---------------------------------------------------- */

static bool usable(const struct select_cand *s)
{
    return isfinite(s->offset) && isfinite(s->root_dist) && s->root_dist >= 0.0;
}

static int collect_fit(const struct select_cand *c, const bool *fit, int n,
                       enum select_mark *marks, int *idx)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        marks[i] = SEL_UNFIT;
        if (i < SELECT_MAX && fit[i] && usable(&c[i]))
            idx[m++] = i;
    }
    return m;
}

/* Truechimers (intervals overlapping [lo, hi]) in merit order; the
 * others are marked falsetickers. */
static int collect_truechimers(const struct select_cand *c, const int *idx, int m,
                               double lo, double hi, enum select_mark *marks,
                               int *tc)
{
    int n = 0;
    for (int i = 0; i < m; i++) {
        const struct select_cand *s = &c[idx[i]];
        if (s->offset + s->root_dist < lo || s->offset - s->root_dist > hi)
            marks[idx[i]] = SEL_FALSETICKER;
        else
            tc[n++] = idx[i];
    }
    sort_by_merit(c, tc, n);
    return n;
}

void select_run(const struct select_cand *c, const bool *fit, int n,
                const struct select_params *p, enum select_mark *marks,
                struct select_result *out)
{
    int idx[SELECT_MAX], surv[SELECT_MAX];
    double lo = 0.0, hi = 0.0;

    memset(out, 0, sizeof *out);
    out->sys_peer = -1;
    int m = collect_fit(c, fit, n, marks, idx);
    if (m == 0)
        return;
    if (!find_intersection(c, idx, m, &lo, &hi)) {
        for (int i = 0; i < m; i++)
            marks[idx[i]] = SEL_FALSETICKER;
        return;
    }

    int nt = collect_truechimers(c, idx, m, lo, hi, marks, surv);
    out->n_truechimers = nt;
    int ns = nt;
    if (p->max_clock > 0 && ns > p->max_clock) {
        for (int i = p->max_clock; i < nt; i++)
            marks[surv[i]] = SEL_EXCESS;
        ns = p->max_clock;
    }
    ns = cluster(c, surv, ns, p->min_survivors, marks);
    ns = drop_disagreeing(c, surv, ns, marks);

    int sp = pick_sys_peer(c, surv, ns);
    for (int i = 0; i < ns; i++)
        marks[surv[i]] = SEL_SURVIVOR;
    marks[sp] = SEL_SYSPEER;

    out->sys_peer = sp;
    out->n_survivors = ns;
    combine_offset(c, surv, ns, out);
    combine_freq(c, surv, ns, sp, out);
    combine_jitter(c, surv, ns, sp, out);
    out->root_dist = c[sp].root_dist;
    out->synced = ns >= p->min_sane;
}
