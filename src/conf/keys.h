/* conf/keys: ntpd's symmetric key file (the "keys" directive).
 *
 *   # comment
 *   KEYID TYPE KEY [# comment]
 *
 * KEYID 1..65535, unique. TYPE (case-insensitive): MD5; SHA1 or SHA-1;
 * AES128CMAC, AES-128-CMAC or CMAC. KEY: up to 20 printable ASCII
 * characters (no space, no '#') taken literally, or, when longer than 20
 * characters, hexadecimal (an even number of digits, at most 64: 32
 * octets). An AES-128-CMAC key must be exactly 16 octets (16 ASCII
 * characters or 32 hex digits). Nothing else may follow the key but a
 * comment.
 *
 * keys_parse() is pure (fuzzed); keys_load() reads the file. Errors read
 * "FILE:LINE: message 'word'". Keys come back untrusted: the caller
 * applies the "trustedkey" ranges (auth_trust_range()).
 */
#ifndef CHIME_CONF_KEYS_H
#define CHIME_CONF_KEYS_H

#include <stddef.h>

#include "core/auth.h"

#define KEYS_MAX 1024           /* keys per file */
#define KEYS_MAX_FILE (1 << 20) /* octets */

/* 0 and *out filled (sorted by id; free with keys_free()), or -1 with
 * err set (keys_load: errno from a failed open, EINVAL for a bad file).
 * name is used in messages only. */
int keys_parse(const char *name, const char *buf, size_t len, struct auth_keytab *out,
               char *err, size_t errlen);
int keys_load(const char *path, struct auth_keytab *out, char *err, size_t errlen);
/* Wipes the key material too. */
void keys_free(struct auth_keytab *t);

#endif
