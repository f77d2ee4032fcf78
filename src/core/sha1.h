/* core/sha1: SHA-1 (FIPS 180-4) for the leap-seconds.list check only.
 *
 * Not a security primitive here: the leapfile's hash guards against a
 * truncated or hand-edited file, not an attacker. It lives in core so
 * that the daemon's shipped configuration never initialises OpenSSL,
 * whose first digest keeps about 2 MB of its code and tables resident
 * (issue 16: idle RSS). Keyed MACs and NTS stay with OpenSSL. */
#ifndef CHIME_CORE_SHA1_H
#define CHIME_CORE_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN 20

void sha1(const void *data, size_t len, uint8_t out[SHA1_LEN]);

#endif
