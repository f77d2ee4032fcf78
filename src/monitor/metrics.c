/* monitor/metrics: see metrics.h. The families and their order come from
 * the field tables: tracking, then the per-source families, then the
 * server's and mode 6's counters. */
#include "monitor/metrics.h"

#include "monitor/fields.h"
#include "monitor/out.h"
#include "monitor/schema.h"

size_t metrics_format(const struct report_tracking *t, const struct report_source *s,
                      int n, const struct report_serverstats *ss,
                      enum ctl_format fmt, char *buf, size_t cap)
{
    struct out o;

    out_init(&o, buf, cap);
    if (t == NULL || ss == NULL)
        return 0;
    if (s == NULL || n < 0)
        n = 0;
    if (fmt == CTL_JSON) {
        out_str(&o, "{\"tracking\":");
        field_json_object(&o, &schema_tracking, t);
        out_str(&o, ",\"sources\":");
        field_json_list(&o, &schema_source, s, n, sizeof(*s));
        out_str(&o, ",\"server\":");
        field_json_object(&o, &schema_serverstats, ss);
        out_str(&o, "}\n");
        return o.len;
    }
    field_prom(&o, &schema_tracking, t, 1, sizeof(*t));
    field_prom(&o, &schema_source, s, n, sizeof(*s));
    field_prom(&o, &schema_serverstats, ss, 1, sizeof(*ss));
    return o.len;
}
