/* sys/tlsmod: the seam between chimed and its TLS module.
 *
 * NTS-KE (sys/ntske_tls, sys/ntske_server) is the one part of chime that
 * needs OpenSSL, and merely mapping libssl and libcrypto costs an idle
 * daemon 1.7 MB of resident memory, so the daemon does not link them:
 * they go into chime-tls.so (src/tlsmod/module.c exports this table), and
 * src/daemon/tlsmod.c loads it the first time a configuration needs NTS,
 * then gives chimed the same ntske_* functions the tests and tools link
 * directly. The module calls back into chimed (the log, the NTS-KE
 * records, cookie sealing) through chimed's exported symbols. */
#ifndef CHIME_SYS_TLSMOD_H
#define CHIME_SYS_TLSMOD_H

#include <stddef.h>

#include "sys/ntske_server.h"
#include "sys/ntske_tls.h"

#define TLSMOD_FILE "chime-tls.so"
#define TLSMOD_SYMBOL "chime_tlsmod_api"
#define TLSMOD_API_VERSION 2

struct tlsmod_api {
    int version;            /* TLSMOD_API_VERSION */
    struct ntske_tls *(*tls_new)(const char *ca_file, char *err, size_t errlen);
    void (*tls_free)(struct ntske_tls *t);
    int (*tls_start)(struct ntske_job *job);
    struct ntske_server *(*server_start)(const struct ntske_server_conf *c, char *err,
                                         size_t errlen);
    void (*server_set_keys)(struct ntske_server *s, const struct nts_server_keys *ks);
    void (*server_counts)(const struct ntske_server *s, struct ntske_server_stats *st);
    int (*check_files)(const char *cert, const char *key, const char *ca, char *msg,
                       size_t cap);
};

#endif
