#!/usr/bin/env python3
"""Writes a large, well-formed TLS ClientHello to standard output, raw,
for the end-to-end tests (rawclient.py sends it with BYTES "-").

    bighello.py SNI CIPHER_BYTES EXTENSION_BYTES [CLAIMED_LENGTH]

The hello offers TLS 1.3 and 1.2, names SNI, and is made large by
CIPHER_BYTES of cipher suites (at most 65534) and EXTENSION_BYTES of
unassigned extensions: the largest a ClientHello can be is about 128 KB
(RFC 8446 4.1.2: both lists have 16-bit lengths).  It is cut into records
of 2^14 bytes (RFC 8446 5.1).  CLAIMED_LENGTH, if given, replaces the
handshake length, to exercise the size limit.
"""
import struct
import sys


def ext(kind, data):
    return struct.pack(">HH", kind, len(data)) + data


def main():
    sni = sys.argv[1].encode()
    cipher_bytes = int(sys.argv[2]) & ~1
    ext_bytes = int(sys.argv[3])
    name = b"\x00" + struct.pack(">H", len(sni)) + sni
    exts = ext(0, struct.pack(">H", len(name)) + name)
    exts += ext(43, b"\x04\x03\x04\x03\x03")  # supported_versions
    kind = 0xFE70  # unassigned, so nothing reads their contents
    while ext_bytes > 4:
        n = min(ext_bytes - 4, 60000)
        exts += ext(kind, b"\x00" * n)
        kind += 1
        ext_bytes -= n + 4
    suites = b"\x13\x01" + b"\x00\x9c" * ((cipher_bytes - 2) // 2)
    body = (b"\x03\x03" + b"\x11" * 32 + b"\x00" +
            struct.pack(">H", len(suites)) + suites + b"\x01\x00" +
            struct.pack(">H", len(exts)) + exts)
    length = int(sys.argv[4]) if len(sys.argv) > 4 else len(body)
    hs = b"\x01" + length.to_bytes(3, "big") + body
    out = b""
    for i in range(0, len(hs), 16384):
        chunk = hs[i:i + 16384]
        out += b"\x16\x03\x01" + struct.pack(">H", len(chunk)) + chunk
    sys.stdout.buffer.write(out)


if __name__ == "__main__":
    main()
