/* sys/ntscrypto: the shell side of core/nts_ef's AEAD seam,
 * AES-SIV-CMAC-256 (RFC 5297) through OpenSSL 3's EVP "AES-128-SIV".
 *
 * OpenSSL computes no tag for an empty plaintext (its update is skipped
 * for zero octets and the final then fails), and an NTS request seals
 * exactly that; so the empty case runs S2V here over AES-CMAC (the same
 * EVP_MAC as sys/authcrypto), which the unit test checks against EVP's
 * own tags for non-empty plaintexts and RFC 5297's vectors.
 * ntscrypto_init() fetches the cipher before any sandbox. */
#ifndef CHIME_SYS_NTSCRYPTO_H
#define CHIME_SYS_NTSCRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/nts_ef.h"

extern const struct nts_aead ntscrypto_openssl;

int ntscrypto_init(void);

/* SIV with any number of associated-data components (RFC 5297 §2.6):
 * out = V || C, pt_len + 16 octets. For the known-answer tests. */
int ntscrypto_siv_seal(const uint8_t key[32], const uint8_t *const *ad, const size_t *ad_len,
                       int n_ad, const uint8_t *pt, size_t pt_len, uint8_t *out);
int ntscrypto_siv_open(const uint8_t key[32], const uint8_t *const *ad, const size_t *ad_len,
                       int n_ad, const uint8_t *ct, size_t ct_len, uint8_t *pt);
/* The S2V tag alone, computed without EVP's SIV (the empty-plaintext path). */
int ntscrypto_s2v(const uint8_t key[32], const uint8_t *const *ad, const size_t *ad_len,
                  int n_ad, const uint8_t *pt, size_t pt_len, uint8_t v[16]);

#endif
