/* daemon/engine_validate: everything start-up checks about a parsed
 * config before it opens a socket, in one function that `chimed --check`
 * calls too. Two copies of these checks drifted apart once (--check said
 * OK to a missing keys file that start-up refused): there is now only
 * this one, and --check prints OK only when it passed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/keys.h"
#include "daemon/engine.h"
#include "sys/leapfile.h"
#include "sys/log.h"
#include "sys/ntske_server.h"
#include "sys/sandbox.h"

static const char *loc_file(const struct conf_loc *l)
{
    return l->file ? l->file : "?";
}

static int check_group(const struct config *cfg, gid_t *gid, char *msg, size_t cap)
{
    *gid = (gid_t)-1;
    if (cfg->controlgroup == NULL)
        return 0;
    if (sandbox_lookup_group(cfg->controlgroup, gid) == 0)
        return 0;
    snprintf(msg, cap, "%s:%d: controlgroup '%s': %s", loc_file(&cfg->controlgroup_loc),
             cfg->controlgroup_loc.line, cfg->controlgroup,
             errno == ENOENT ? "no such group" : strerror(errno));
    return -1;
}

/* A leapfile that is named but unreadable or fails its hash is the
 * config's error: refusing it here is what --check always did. */
static int check_leapfile(const struct config *cfg, struct leap_table **out,
                          char *msg, size_t cap)
{
    struct leap_table *t;
    int line = 0, r;

    *out = NULL;
    if (cfg->leapfile == NULL)
        return 0;
    t = xcalloc(1, sizeof(*t));
    r = leapfile_load(cfg->leapfile, t, &line, NULL);
    if (r == LEAPF_OK) {
        *out = t;
        return 0;
    }
    if (r < 0)
        snprintf(msg, cap, "%s:%d: leapfile %s: %s", loc_file(&cfg->leapfile_loc),
                 cfg->leapfile_loc.line, cfg->leapfile, strerror(errno));
    else if (line > 0)
        snprintf(msg, cap, "%s:%d: leapfile %s:%d: %s", loc_file(&cfg->leapfile_loc),
                 cfg->leapfile_loc.line, cfg->leapfile, line,
                 leap_file_result_name((enum leap_file_result)r));
    else
        snprintf(msg, cap, "%s:%d: leapfile %s: %s", loc_file(&cfg->leapfile_loc),
                 cfg->leapfile_loc.line, cfg->leapfile,
                 leap_file_result_name((enum leap_file_result)r));
    free(t);
    return -1;
}

/* The NTS files, when the config uses them: a certificate valid now, a
 * key that matches it, a CA file with a certificate (sys/ntske_server);
 * and for any NTS at all, chime's TLS module, which start-up loads. */
static int check_nts_files(const struct config *cfg, char *msg, size_t cap)
{
    const struct conf_nts *n = &cfg->nts;
    char why[600];
    const struct conf_loc *at = &n->loc;
    bool server = n->enable && n->cert && n->key, client = false;

    for (size_t i = 0; i < cfg->n_sources && !client; i++) {
        client = cfg->sources[i].nts;
        if (client && !at->file)
            at = &cfg->sources[i].loc;      /* no nts line: the first NTS source's */
    }
    if (!n->enable && !n->ca && !client)
        return 0;
    if (ntske_check_files(server ? n->cert : NULL, server ? n->key : NULL, n->ca, why,
                          sizeof(why)) == 0)
        return 0;
    snprintf(msg, cap, "%s:%d: %s", loc_file(at), at->line, why);
    return -1;
}

int engine_validate(const struct config *cfg, struct engine_prepared *out,
                    char *msg, size_t cap)
{
    memset(out, 0, sizeof(*out));
    out->control_gid = (gid_t)-1;
    if (check_group(cfg, &out->control_gid, msg, cap) < 0)
        return -1;
    if (check_leapfile(cfg, &out->leap, msg, cap) < 0)
        return -1;
    if (check_nts_files(cfg, msg, cap) < 0)
        return -1;
    if (engine_auth_prepare(NULL, cfg, &out->keys, msg, cap) < 0) {
        engine_prepared_free(out);
        return -1;
    }
    return 0;
}

void engine_prepared_free(struct engine_prepared *p)
{
    keys_free(&p->keys);
    free(p->leap);
    p->leap = NULL;
}

void engine_log_notes(const struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_notes; i++) {
        const struct conf_note *n = &cfg->notes[i];

        if (n->warn)
            log_warnx("conf", "%s:%d: %s", loc_file(&n->loc), n->loc.line, n->text);
        else
            log_info("conf", "%s:%d: %s", loc_file(&n->loc), n->loc.line, n->text);
    }
}
