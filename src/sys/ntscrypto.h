/* sys/ntscrypto: the shell side of core/nts_ef's AEAD seam,
 * AES-SIV-CMAC-256 (RFC 5297) with the packet as the one associated-data
 * component and the nonce after it (RFC 8915 §5.6), through Nettle's
 * siv_cmac_aes128, the implementation chronyd uses.
 *
 * Not OpenSSL 3's EVP "AES-128-SIV": keying it makes a cipher and a MAC
 * context and fetches both by name, 5.2 us per seal on this machine
 * against Nettle's 0.7 us, and an NTS server keys three or four times per
 * request with keys that change per client; EVP also computes no tag for
 * an empty plaintext, which every NTS request seals. The unit test holds
 * this seam to EVP's AES-128-SIV (itself checked against RFC 5297's
 * vectors) over many lengths, and to an S2V of its own for the empty
 * plaintext. Key exchange (TLS 1.3) stays on OpenSSL. */
#ifndef CHIME_SYS_NTSCRYPTO_H
#define CHIME_SYS_NTSCRYPTO_H

#include "core/nts_ef.h"

extern const struct nts_aead ntscrypto_siv;

/* Nothing to fetch or allocate any more: kept so that a daemon checks its
 * cryptography before it serves. 0 when a known answer comes out right. */
int ntscrypto_init(void);

#endif
