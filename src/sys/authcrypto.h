/* sys/authcrypto: the shell side of core/auth through Nettle: the legacy
 * MD5 and SHA-1 key-prefix MACs, AES-128-CMAC, and a constant-time
 * comparison. Nettle, not OpenSSL: nothing here needs more than these
 * primitives, and a daemon whose configuration uses no TLS then maps no
 * libcrypto at all (sys/tlsmod). Nothing to load or fetch first. */
#ifndef CHIME_SYS_AUTHCRYPTO_H
#define CHIME_SYS_AUTHCRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/auth.h"

extern const struct auth_crypto authcrypto_nettle;

/* Always 0: kept so callers check before they serve. */
int authcrypto_init(void);

/* The first four octets of MD5(data), big-endian: an IPv6 address's refid
 * (RFC 5905 §7.3). */
uint32_t authcrypto_md5_prefix(const uint8_t *data, size_t len);

#endif
