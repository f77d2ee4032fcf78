/* sys/authcrypto: the shell side of core/auth: MD5/SHA-1 digests through
 * EVP_Digest*, AES-128-CMAC through EVP_MAC, CRYPTO_memcmp for comparison.
 * authcrypto_init() fetches the algorithms once, before the sandbox is
 * installed (OpenSSL may read its configuration on first use). */
#ifndef CHIME_SYS_AUTHCRYPTO_H
#define CHIME_SYS_AUTHCRYPTO_H

#include "core/auth.h"

extern const struct auth_crypto authcrypto_openssl;

/* 0, or -1 when an algorithm is unavailable (logged by the caller). */
int authcrypto_init(void);

#endif
