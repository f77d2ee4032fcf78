/* daemon/tlsmod: load chime-tls.so on first need (see sys/tlsmod.h) and
 * forward chimed's ntske_* calls to it (not ntske_tls_run: only the
 * module's own threads and the tools, which link it directly, run one).
 *
 * The module is looked for next to the real executable (the build tree:
 * build/chimed beside build/chime-tls.so) and then in ../lib/chime/ from
 * it (the installed /usr/sbin/chimed and /usr/lib/chime/chime-tls.so):
 * derived from /proc/self/exe, never from the environment or the working
 * directory, and loaded only when it is a regular file that neither its
 * group nor others may write and whose owner is root or chimed's own. */
#include "sys/tlsmod.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct tlsmod_api *api;

static int trusted(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && !(st.st_mode & 022) &&
           (st.st_uid == 0 || st.st_uid == geteuid());
}

/* The module's path into out (cap octets); 0, or -1 with why in err. */
static int find(char *out, size_t cap, char *err, size_t errlen)
{
    static const char *const rel[] = { "/" TLSMOD_FILE, "/../lib/chime/" TLSMOD_FILE };
    char exe[PATH_MAX], *slash;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n <= 0) {
        snprintf(err, errlen, "NTS needs %s: cannot read /proc/self/exe: %s", TLSMOD_FILE,
                 strerror(errno));
        return -1;
    }
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        if (snprintf(out, cap, "%s%s", exe, rel[i]) < (int)cap && trusted(out))
            return 0;
    }
    snprintf(err, errlen, "NTS needs chime's TLS module: no %s in %s or %s/../lib/chime "
             "owned by root (or chimed's user) and writable by no one else", TLSMOD_FILE,
             exe, exe);
    return -1;
}

static int load(char *err, size_t errlen)
{
    char path[PATH_MAX];
    const struct tlsmod_api *a;
    void *h;

    if (api)
        return 0;
    if (find(path, sizeof(path), err, errlen) < 0)
        return -1;
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "cannot load %s: %s", path, dlerror());
        return -1;
    }
    a = dlsym(h, TLSMOD_SYMBOL);
    if (!a || a->version != TLSMOD_API_VERSION) {
        snprintf(err, errlen, "%s is not this chimed's TLS module (%s)", path,
                 a ? "another version" : "no " TLSMOD_SYMBOL);
        dlclose(h);
        return -1;
    }
    api = a;        /* never unloaded: its threads may run until exit */
    return 0;
}

struct ntske_tls *ntske_tls_new(const char *ca_file, char *err, size_t errlen)
{
    return load(err, errlen) == 0 ? api->tls_new(ca_file, err, errlen) : NULL;
}

void ntske_tls_free(struct ntske_tls *t)
{
    if (t && api)
        api->tls_free(t);
}

int ntske_tls_start(struct ntske_job *job)
{
    return api ? api->tls_start(job) : -1;     /* a job exists: ntske_tls_new loaded it */
}

struct ntske_server *ntske_server_start(const struct ntske_server_conf *c, char *err,
                                        size_t errlen)
{
    return load(err, errlen) == 0 ? api->server_start(c, err, errlen) : NULL;
}

void ntske_server_set_keys(struct ntske_server *s, const struct nts_server_keys *ks)
{
    if (api)
        api->server_set_keys(s, ks);
}

void ntske_server_counts(const struct ntske_server *s, struct ntske_server_stats *st)
{
    if (api)
        api->server_counts(s, st);
}

int ntske_check_files(const char *cert, const char *key, const char *ca, char *msg,
                      size_t cap)
{
    return load(msg, cap) == 0 ? api->check_files(cert, key, ca, msg, cap) : -1;
}
