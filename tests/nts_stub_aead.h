/* A stand-in AEAD for tests and fuzzers of the NTS code: "sealing" puts a
 * zero tag before the plaintext and "opening" checks for it, so the
 * protocol logic runs on any input without real cryptography.
 * SPDX-License-Identifier: BSD-2-Clause */
#ifndef CHIME_TESTS_NTS_STUB_AEAD_H
#define CHIME_TESTS_NTS_STUB_AEAD_H

#include <stdint.h>
#include <string.h>

#include "core/nts_ef.h"

static int stub_seal(const uint8_t *key, size_t key_len, const uint8_t *nonce, size_t nonce_len,
                     const uint8_t *ad, size_t ad_len, const uint8_t *pt, size_t pt_len,
                     uint8_t *out)
{
    (void)key, (void)key_len, (void)nonce, (void)nonce_len, (void)ad, (void)ad_len;
    memset(out, 0, NTS_TAG_LEN);
    if (pt_len)
        memcpy(out + NTS_TAG_LEN, pt, pt_len);
    return 0;
}

static int stub_open(const uint8_t *key, size_t key_len, const uint8_t *nonce, size_t nonce_len,
                     const uint8_t *ad, size_t ad_len, const uint8_t *ct, size_t ct_len,
                     uint8_t *pt)
{
    static const uint8_t zero[NTS_TAG_LEN];

    (void)key, (void)key_len, (void)nonce, (void)nonce_len, (void)ad, (void)ad_len;
    if (ct_len < NTS_TAG_LEN || memcmp(ct, zero, NTS_TAG_LEN) != 0)
        return -1;
    memcpy(pt, ct + NTS_TAG_LEN, ct_len - NTS_TAG_LEN);
    return 0;
}

static const struct nts_aead stub = { stub_seal, stub_open };

#endif
