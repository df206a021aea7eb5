#!/usr/bin/env python3
"""Writes hand-built ClientHellos shaped like a current Chromium's.

    tests/fuzz/make_chromium_hello.py tests/fuzz/tls_peek.in

No such browser is on the build machines, so these stand in for one:
GREASE values (RFC 8701) among the cipher suites, extensions, groups, key
shares and versions; an X25519MLKEM768 (0x11ec) key share of 1216 bytes
next to X25519; ALPN h2 and http/1.1; an encrypted_client_hello (0xfe0d,
draft-ietf-tls-esni) GREASE extension; padding (RFC 7685).  Key material is
random bytes from a fixed seed, so the output is the same on every run.

    chromium-like.bin          one record of about 1.9 KB
    chromium-like-psk.bin      resuming: early_data and pre_shared_key last
    chromium-like-records.bin  the first one cut into records of 512 bytes
"""

import os
import random
import sys

rng = random.Random(8701)


def u8(n):
    return n.to_bytes(1, "big")


def u16(n):
    return n.to_bytes(2, "big")


def u24(n):
    return n.to_bytes(3, "big")


def vec8(b):
    return u8(len(b)) + b


def vec16(b):
    return u16(len(b)) + b


def rand(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def grease():
    """One of 0x0A0A, 0x1A1A, ... 0xFAFA."""
    b = rng.randrange(16) << 4 | 0x0A
    return b << 8 | b


def ext(kind, data=b""):
    return u16(kind) + vec16(data)


def u16_list(values):
    return b"".join(u16(v) for v in values)


def extensions(g, psk):
    alpn = vec16(vec8(b"h2") + vec8(b"http/1.1"))
    sni = vec16(u8(0) + vec16(b"www.example.test"))
    shares = (u16(g["group"]) + vec16(b"\0") +
              u16(0x11ec) + vec16(rand(1184) + rand(32)) +  # ML-KEM, X25519
              u16(0x001d) + vec16(rand(32)))
    ech = (u8(0) + u16(0x0001) + u16(0x0001) + u8(rng.getrandbits(8)) +
           vec16(rand(32)) + vec16(rand(208)))
    exts = [
        ext(g["ext1"]),
        ext(0, sni),
        ext(23),                                       # extended_master_secret
        ext(0xff01, b"\0"),                            # renegotiation_info
        ext(10, vec16(u16_list([g["group"], 0x11ec, 0x001d, 0x0017,
                                0x0018]))),
        ext(11, vec8(b"\0")),                          # ec_point_formats
        ext(35),                                       # session_ticket
        ext(16, alpn),
        ext(5, b"\x01\0\0\0\0"),                       # status_request
        ext(13, vec16(u16_list([0x0403, 0x0804, 0x0401, 0x0503, 0x0805,
                                0x0501, 0x0806, 0x0601]))),
        ext(18),                                       # SCT
        ext(51, vec16(shares)),
        ext(45, vec8(b"\x01")),                        # psk_key_exchange_modes
        ext(43, vec8(u16_list([g["version"], 0x0304, 0x0303]))),
        ext(27, vec8(u16(0x0002))),                    # compress_certificate
        ext(0x4469, vec16(vec8(b"h2"))),               # application_settings
        ext(0xfe0d, ech),
        ext(21, bytes(rng.randrange(16, 64))),         # padding
        ext(g["ext2"], b"\0"),
    ]
    if psk:
        exts.append(ext(42))                           # early_data
        identity = vec16(rand(192)) + rand(4)          # ticket, age
        binder = vec8(rand(32))
        exts.append(ext(41, vec16(identity) + vec16(binder)))
    return b"".join(exts)


def client_hello(psk):
    g = {"cipher": grease(), "group": grease(), "version": grease(),
         "ext1": grease()}
    g["ext2"] = g["ext1"] ^ 0x1010  # the two GREASE extensions differ
    suites = [g["cipher"], 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c,
              0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d,
              0x002f, 0x0035]
    body = (u16(0x0303) + rand(32) + vec8(rand(32)) +
            vec16(u16_list(suites)) + vec8(b"\0") +
            vec16(extensions(g, psk)))
    return u8(1) + u24(len(body)) + body


def records(msg, size):
    out = b""
    for i in range(0, len(msg), size):
        out += b"\x16\x03\x01" + u16(len(msg[i:i + size])) + msg[i:i + size]
    return out


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    plain = client_hello(False)
    files = {
        "chromium-like.bin": records(plain, 16384),
        "chromium-like-psk.bin": records(client_hello(True), 16384),
        "chromium-like-records.bin": records(plain, 512),
    }
    for name, data in files.items():
        with open(os.path.join(argv[1], name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv)
