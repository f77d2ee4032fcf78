#!/usr/bin/env python3
"""Regenerate the seed corpora for fuzz_ntske and fuzz_ntsef
(tests/fuzz/corpus/fuzz_nts{ke,ef}/). One-off helper; the files are committed.
fuzz_ntsef's stub AEAD takes a zero tag followed by the plaintext."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def rec(t, body, crit=False):
    return struct.pack(">HH", t | (0x8000 if crit else 0), len(body)) + body


def ef(t, body, minlen=16):
    n = max(4 + len(body), minlen)
    n = (n + 3) & ~3
    return struct.pack(">HH", t, n) + body + b"\0" * (n - 4 - len(body))


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


ke = os.path.join(HERE, "corpus", "fuzz_ntske")
u16 = lambda v: struct.pack(">H", v)
end = rec(0, b"", True)
write(ke, "request", rec(1, u16(0), True) + rec(4, u16(15) + u16(30), True) + end)
write(ke, "response", rec(1, u16(0), True) + rec(4, u16(15), True) +
      b"".join(rec(5, bytes([i]) * 100) for i in range(8)) +
      rec(6, b"ntp.example.net", True) + rec(7, u16(123), True) + end)
write(ke, "error", rec(2, u16(1), True) + end)
write(ke, "unknown", rec(0x1234, b"xx", True) + end)

ef_dir = os.path.join(HERE, "corpus", "fuzz_ntsef")
hdr = bytes([0x24, 2, 6, 0xec]) + b"\0" * 36 + b"\x01" * 8
uid = ef(0x0104, b"\x55" * 32)
pt = ef(0x0204, b"\xc0" * 100) + ef(0x0204, b"\xc1" * 100)
ct = b"\0" * 16 + pt
auth = ef(0x0404, u16(16) + u16(len(ct)) + b"\x77" * 16 + ct)
write(ef_dir, "reply", hdr + uid + auth)
nak = bytes([0x24, 0, 6, 0xec]) + b"\0" * 8 + b"NTSN" + b"\0" * 24 + b"\x01" * 8
write(ef_dir, "nak", nak + uid)
write(ef_dir, "noauth", hdr + uid)

# fuzz_ntsserver: a request with a stub-sealed cookie of key id 1 (zero
# tag, then AEAD id 15 and the two keys), placeholders and an authenticator.
srv = os.path.join(HERE, "corpus", "fuzz_ntsserver")
req_hdr = bytes([0x23, 0, 6, 0]) + b"\0" * 36 + b"\x01" * 8
cookie = struct.pack(">I", 1) + b"\x10" * 16 + b"\0" * 16 + bytes([0, 15, 0, 0]) + b"\x33" * 64
req_auth = ef(0x0404, u16(16) + u16(16) + b"\x77" * 16 + b"\0" * 16)
pre = req_hdr + ef(0x0104, b"\x55" * 32) + ef(0x0204, cookie)
write(srv, "valid", pre + ef(0x0304, b"\0" * 104) * 3 + req_auth)
write(srv, "nak", pre.replace(bytes([0, 15, 0, 0]), bytes([0, 16, 0, 0])) + req_auth)
write(srv, "plain", req_hdr)
