#!/usr/bin/env python3
"""A TLS client through an HTTP proxy, for the end-to-end tests.

    tlsclient.py PROXY_PORT HOST PORT [options]

Sends CONNECT HOST:PORT to the proxy on 127.0.0.1, then runs a real TLS
handshake (Python's ssl module) through the tunnel and GET /hello.  The TLS
bytes pass through memory BIOs, so the ClientHello can be written in
pieces (--split N bytes at a time) or re-framed into several TLS records
(--records N; RFC 8446 5.1 lets a handshake message span records).

--send TEXT (Python escapes) and --pad N (N bytes "a") replace the GET:
each is one write, so one record or more; --hold S waits S seconds
before reading the answer, keeping the connection open.

Prints "status CODE", "body TEXT", "cert SHA256" (the server certificate
as the client saw it) and "version TLSv1.x"; exits 1 with "error: ..."
on failure.  Every wait is bounded by --timeout.
"""
import argparse
import hashlib
import socket
import ssl
import sys
import time


def reframe(record_bytes, nrecords):
    """Splits the handshake payload of TLS records into nrecords records."""
    payload = b""
    rest = record_bytes
    while rest:
        if len(rest) < 5 or rest[0] != 22:
            raise ValueError("not a handshake record")
        length = int.from_bytes(rest[3:5], "big")
        payload += rest[5:5 + length]
        version = rest[1:3]
        rest = rest[5 + length:]
    size = -(-len(payload) // nrecords)
    out = b""
    for i in range(0, len(payload), size):
        chunk = payload[i:i + size]
        out += bytes([22]) + version + len(chunk).to_bytes(2, "big") + chunk
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("proxy_port", type=int)
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--sni", help="server name sent (default: HOST)")
    ap.add_argument("--cafile")
    ap.add_argument("--split", type=int, default=0,
                    help="write the ClientHello N bytes at a time")
    ap.add_argument("--delay", type=float, default=0.002)
    ap.add_argument("--records", type=int, default=1)
    ap.add_argument("--max-version", choices=["1.2", "1.3"])
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--send", dest="writes", action="append",
                    type=lambda s: s.encode("latin-1").decode(
                        "unicode_escape").encode("latin-1"))
    ap.add_argument("--pad", dest="writes", action="append",
                    type=lambda n: b"a" * int(n))
    ap.add_argument("--hold", type=float, default=0.0)
    args = ap.parse_args()

    sock = socket.create_connection(("127.0.0.1", args.proxy_port),
                                    timeout=args.timeout)
    sock.sendall(b"CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n" %
                 (args.host.encode(), args.port, args.host.encode(),
                  args.port))
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            print("error: proxy closed before answering the CONNECT")
            return 1
        head += chunk
    code = head.split(b" ", 2)[1].decode()
    if code != "200":
        print("error: CONNECT answered %s" % code)
        return 1

    ctx = ssl.create_default_context(cafile=args.cafile)
    if args.max_version == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    elif args.max_version == "1.3":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing,
                       server_hostname=args.sni or args.host)
    first = True
    deadline = time.monotonic() + args.timeout

    def flush():
        nonlocal first
        data = outgoing.read()
        if not data:
            return
        if first:
            first = False
            if args.records > 1:
                data = reframe(data, args.records)
            if args.split > 0:
                for i in range(0, len(data), args.split):
                    sock.sendall(data[i:i + args.split])
                    time.sleep(args.delay)
                return
        sock.sendall(data)

    def pump(op):
        while True:
            try:
                return op()
            except ssl.SSLWantReadError:
                flush()
                if time.monotonic() > deadline:
                    raise TimeoutError("TLS timed out")
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("proxy closed the tunnel")
                incoming.write(data)

    try:
        pump(tls.do_handshake)
        flush()
        der = tls.getpeercert(binary_form=True)
        writes = args.writes or [b"GET /hello HTTP/1.1\r\nHost: %s\r\n"
                                 b"Connection: close\r\n\r\n" %
                                 args.host.encode()]
        for w in writes:
            pump(lambda: tls.write(w))
            flush()
        time.sleep(args.hold)
        deadline = time.monotonic() + args.timeout
        response = b""
        while True:
            try:
                data = pump(lambda: tls.read(65536))
            except (ssl.SSLZeroReturnError, ConnectionError):
                break
            if not data:
                break
            response += data
    except (OSError, ssl.SSLError, TimeoutError, ValueError) as e:
        print("error: %s" % e)
        return 1
    status = response.split(b" ", 2)[1].decode() if response else "-"
    body = response.split(b"\r\n\r\n", 1)[-1].decode(errors="replace")
    print("status %s" % status)
    print("body %s" % body.strip())
    print("cert %s" % hashlib.sha256(der).hexdigest())
    print("version %s" % tls.version())
    return 0


if __name__ == "__main__":
    sys.exit(main())
