/* tlsmod/module: the one symbol chime-tls.so exports (see sys/tlsmod.h);
 * everything else in it is built with hidden visibility. */
#include "sys/tlsmod.h"

__attribute__((visibility("default"))) extern const struct tlsmod_api chime_tlsmod_api;

const struct tlsmod_api chime_tlsmod_api = {
    .version = TLSMOD_API_VERSION,
    .tls_new = ntske_tls_new,
    .tls_free = ntske_tls_free,
    .tls_start = ntske_tls_start,
    .server_start = ntske_server_start,
    .server_set_keys = ntske_server_set_keys,
    .server_counts = ntske_server_counts,
    .check_files = ntske_check_files,
};
