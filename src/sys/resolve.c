/* sys/resolve: see resolve.h. */
#include "sys/resolve.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sys/log.h"

struct resolve_req {
    struct gaicb cb;
    struct gaicb *list[1];
    struct addrinfo hints;
    char host[256];
    char port[8];
    int error;              /* gai error once finished */
    bool done;
};

struct resolve_req *resolve_start(const char *host, uint16_t port, int family)
{
    struct resolve_req *r = xcalloc(1, sizeof(*r));
    int n = snprintf(r->host, sizeof(r->host), "%s", host);

    if (n < 0 || (size_t)n >= sizeof(r->host)) {
        free(r);
        errno = ENAMETOOLONG;
        return NULL;
    }
    snprintf(r->port, sizeof(r->port), "%u", (unsigned)port);
    r->hints.ai_family = family;
    r->hints.ai_socktype = SOCK_DGRAM;
    r->hints.ai_protocol = IPPROTO_UDP;
    r->hints.ai_flags = AI_ADDRCONFIG;
    r->cb.ar_name = r->host;
    r->cb.ar_service = r->port;
    r->cb.ar_request = &r->hints;
    r->list[0] = &r->cb;
    if (getaddrinfo_a(GAI_NOWAIT, r->list, 1, NULL) != 0) {
        free(r);
        errno = EAGAIN;
        return NULL;
    }
    return r;
}

static int collect(struct resolve_req *r, struct net_addr *out, int max)
{
    int n = 0;

    for (struct addrinfo *ai = r->cb.ar_result; ai && n < max; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(out[n].ss))
            continue;
        memset(&out[n], 0, sizeof(out[n]));
        memcpy(&out[n].ss, ai->ai_addr, ai->ai_addrlen);
        out[n].len = ai->ai_addrlen;
        n++;
    }
    return n;
}

int resolve_poll(struct resolve_req *r, struct net_addr *out, int max)
{
    int e = r->done ? r->error : gai_error(&r->cb);

    if (e == EAI_INPROGRESS) {
        errno = EINPROGRESS;
        return -1;
    }
    r->done = true;
    r->error = e;
    if (e != 0) {
        errno = EIO;
        return -1;
    }
    return collect(r, out, max);
}

/* An administrator must tell a typo (fix the config) from a DNS outage
 * (wait, or fix the resolver): glibc's words for both are terse. */
const char *resolve_error_text(int gai_error)
{
    switch (gai_error) {
    case 0:             return "no error";
    case EAI_NONAME:    return "no such name (NXDOMAIN): check the spelling";
#ifdef EAI_NODATA
    case EAI_NODATA:    return "the name exists but has no address (no A/AAAA record)";
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY: return "the name has no address of the family asked for (-4/-6)";
#endif
    case EAI_AGAIN:     return "temporary DNS failure (no answer from the resolver); "
                               "retrying";
    case EAI_FAIL:      return "DNS server failure (SERVFAIL); retrying";
    case EAI_MEMORY:    return "out of memory";
    case EAI_SYSTEM:    return "system error in the resolver";
    default:            return gai_strerror(gai_error);
    }
}

const char *resolve_error(const struct resolve_req *r)
{
    return resolve_error_text(r->error);
}

void resolve_free(struct resolve_req *r)
{
    if (!r)
        return;
    if (!r->done && gai_cancel(&r->cb) == EAI_NOTCANCELED) {
        /* The lookup thread still owns r: wait for it rather than free
         * memory it will write to. Only happens at exit. */
        const struct gaicb *l[1] = { &r->cb };
        while (gai_error(&r->cb) == EAI_INPROGRESS)
            gai_suspend(l, 1, NULL);
    }
    if (r->cb.ar_result)
        freeaddrinfo(r->cb.ar_result);
    free(r);
}
