#!/usr/bin/env python3
"""Regenerate the seed corpus for fuzz_packet (tests/fuzz/corpus/fuzz_packet/).

One-off helper; the generated files are committed. Timestamps are fixed so
the output is reproducible.
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                   "corpus", "fuzz_packet")


def header(li, vn, mode, stratum=0, poll=6, prec=-20, delay=0, disp=0,
           refid=0, ref=0, org=0, rec=0, xmt=0):
    return struct.pack(">BBbbIII QQQQ".replace(" ", ""),
                       (li << 6) | (vn << 3) | mode, stratum, poll, prec,
                       delay, disp, refid, ref, org, rec, xmt)


def ef(typ, value, total=None):
    n = 4 + len(value)
    n = max((n + 3) & ~3, 16)  # RFC 7822 minimum
    if total is not None:
        n = max(n, total)
    return struct.pack(">HH", typ, n) + value + b"\0" * (n - 4 - len(value))


T1 = 0xEC5A7C3B12345678  # some 2025 timestamps
T2 = 0xEC5A7C3B22345678
T3 = 0xEC5A7C3B23345678

SEEDS = {
    "v4_client": header(0, 4, 3, poll=6, prec=-20, xmt=T1),
    "v4_server": header(0, 4, 4, stratum=2, poll=6, prec=-24,
                        delay=0x00000a3d, disp=0x00001234, refid=0xC0000201,
                        ref=T1 - (64 << 32), org=T1, rec=T2, xmt=T3),
    "v3_mac_md5": header(0, 3, 3, xmt=T1) + struct.pack(">I", 7) + bytes(range(16)),
    "v4_ef_mac_sha1": header(0, 4, 3, xmt=T1) + ef(0x0104, b"\x01" * 32)
                      + struct.pack(">I", 9) + bytes(range(20)),
    "v4_two_ef": header(0, 4, 3, xmt=T1) + ef(0x0204, b"ab") + ef(0x0104, b"c", 28),
    "v2_mode6": bytes([0x16, 0x02, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]) + bytes(36),
    "v4_crypto_nak": header(0, 4, 4, stratum=2, org=T1, rec=T2, xmt=T3) + bytes(4),
    "v4_kod_rate": header(3, 4, 4, stratum=0, refid=0x52415445, org=T1, xmt=T1),
}

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} octets")
