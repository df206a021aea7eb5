#!/usr/bin/env python3
"""TLS peers that change keys while bascule waits to write, for the
end-to-end tests.  They drive libgnutls through ctypes, because Python's
ssl module can neither send a TLS 1.3 KeyUpdate nor a TLS 1.2
HelloRequest.  Loopback only.

  gnutls_peer.py keyupdate PORT URL [--hold S] [--updates N] [--sni NAME]

    A client of an https_port: TLS 1.3, "GET URL", then S seconds without
    reading (a 4 KiB receive buffer), so that bascule's writes towards it
    wait, then N KeyUpdate messages that ask bascule to update its keys
    too (RFC 8446 4.6.3), then the whole answer.  Prints the length and
    SHA-256 of the response body.

  gnutls_peer.py hellorequest PORT CERT KEY [--hold S]

    A TLS 1.2 parent proxy on 127.0.0.1:PORT that answers any number of
    requests, one per connection: it reads the head, a quarter of the
    Content-Length body, waits S seconds so that bascule's writes wait,
    sends a HelloRequest (RFC 5246 7.4.1.1), reads the rest and answers
    200 with the length and SHA-256 of the body it got.  Alerts received
    are printed on stderr ("alert: NAME").
"""
import argparse
import ctypes
import ctypes.util
import hashlib
import socket
import struct
import sys
import time

GNUTLS_SERVER = 1
GNUTLS_CLIENT = 2
GNUTLS_CRD_CERTIFICATE = 1
GNUTLS_NAME_DNS = 1
GNUTLS_X509_FMT_PEM = 1
GNUTLS_KU_PEER = 1
GNUTLS_SHUT_WR = 1
E_AGAIN = -28
E_INTERRUPTED = -52
E_WARNING_ALERT = -16
E_PREMATURE = -110

lib = ctypes.CDLL(ctypes.util.find_library("gnutls") or "libgnutls.so.30")
lib.gnutls_record_send.restype = ctypes.c_ssize_t
lib.gnutls_record_send.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                   ctypes.c_size_t]
lib.gnutls_record_recv.restype = ctypes.c_ssize_t
lib.gnutls_record_recv.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                   ctypes.c_size_t]
lib.gnutls_strerror.restype = ctypes.c_char_p
lib.gnutls_alert_get_name.restype = ctypes.c_char_p
for name in ("gnutls_handshake", "gnutls_session_key_update",
             "gnutls_rehandshake", "gnutls_bye", "gnutls_deinit",
             "gnutls_credentials_set", "gnutls_priority_set_direct",
             "gnutls_server_name_set", "gnutls_transport_set_int2",
             "gnutls_error_is_fatal"):
    getattr(lib, name).argtypes = None
lib.gnutls_global_init()


def check(r, what):
    if r < 0:
        sys.exit("error: %s: %s" % (what, lib.gnutls_strerror(r).decode()))
    return r


DEADLINE = [0.0]


def bounded(sock, timeout):
    """Blocking, but no wait longer than timeout, nor the run past it."""
    tv = struct.pack("ll", int(timeout), 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
    DEADLINE[0] = time.monotonic() + timeout


def again(r):
    if r not in (E_AGAIN, E_INTERRUPTED):
        return False
    if time.monotonic() > DEADLINE[0]:
        sys.exit("error: timed out")
    return True


def session(fd, flags, prio, cred):
    s = ctypes.c_void_p()
    check(lib.gnutls_init(ctypes.byref(s), flags), "init")
    check(lib.gnutls_priority_set_direct(s, prio, None), "priority")
    check(lib.gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred),
          "credentials")
    lib.gnutls_transport_set_int2(s, fd, fd)
    return s


def handshake(s):
    while True:
        r = lib.gnutls_handshake(s)
        if r >= 0:
            return
        if not again(r) and lib.gnutls_error_is_fatal(r):
            check(r, "handshake")


def send_all(s, data):
    while data:
        r = lib.gnutls_record_send(s, data, len(data))
        if again(r):
            continue
        check(r, "send")
        data = data[r:]


def recv(s, size=65536):
    """Bytes, b"" at the end; alerts and interruptions are not the end."""
    buf = ctypes.create_string_buffer(size)
    while True:
        r = lib.gnutls_record_recv(s, buf, size)
        if r > 0:
            return buf.raw[:r]
        if r in (0, E_PREMATURE):
            return b""
        if r == E_WARNING_ALERT:
            name = lib.gnutls_alert_get_name(lib.gnutls_alert_get(s))
            print("alert: %s" % name.decode(), file=sys.stderr, flush=True)
        elif not again(r):
            check(r, "recv")


def credentials(cert=None, key=None):
    cred = ctypes.c_void_p()
    check(lib.gnutls_certificate_allocate_credentials(ctypes.byref(cred)),
          "credentials")
    if cert is not None:
        check(lib.gnutls_certificate_set_x509_key_file(
            cred, cert.encode(), key.encode(), GNUTLS_X509_FMT_PEM),
            "certificate")
    return cred


def keyupdate(a):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", a.port))
    bounded(sock, a.timeout)
    s = session(sock.fileno(), GNUTLS_CLIENT,
                b"NORMAL:-VERS-ALL:+VERS-TLS1.3", credentials())
    lib.gnutls_server_name_set(s, GNUTLS_NAME_DNS, a.sni.encode(),
                               len(a.sni))
    handshake(s)
    send_all(s, ("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                 % a.url).encode())
    time.sleep(a.hold)
    for _ in range(a.updates):
        while again(lib.gnutls_session_key_update(s, GNUTLS_KU_PEER)):
            pass
    data = b""
    while True:
        d = recv(s)
        if not d:
            break
        data += d
    body = data.partition(b"\r\n\r\n")[2]
    print(len(body), hashlib.sha256(body).hexdigest())


def hellorequest(a):
    cred = credentials(a.cert, a.key)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(8)
    while True:
        conn, _ = ls.accept()
        bounded(conn, a.timeout)
        s = session(conn.fileno(), GNUTLS_SERVER,
                    b"NORMAL:-VERS-ALL:+VERS-TLS1.2", cred)
        try:
            handshake(s)
            head = b""
            while b"\r\n\r\n" not in head:
                d = recv(s, 1)
                if not d:
                    raise EOFError("no request")
                head += d
            need = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    need = int(line.split(b":")[1])
            body, asked = b"", False
            while len(body) < need:
                if not asked and len(body) >= need // 4:
                    time.sleep(a.hold)
                    check(lib.gnutls_rehandshake(s), "rehandshake")
                    asked = True
                d = recv(s, min(4096, need - len(body)))
                if not d:
                    break
                body += d
            text = ("%d %s\n" % (len(body),
                                 hashlib.sha256(body).hexdigest())).encode()
            send_all(s, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n%s" % (len(text), text))
            lib.gnutls_bye(s, GNUTLS_SHUT_WR)
        except (OSError, EOFError, SystemExit) as e:
            print("connection: %s" % e, file=sys.stderr, flush=True)
        finally:
            lib.gnutls_deinit(s)
            conn.close()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    k = sub.add_parser("keyupdate")
    k.add_argument("port", type=int)
    k.add_argument("url")
    k.add_argument("--hold", type=float, default=2)
    k.add_argument("--updates", type=int, default=3)
    k.add_argument("--sni", default="proxy.test")
    k.add_argument("--timeout", type=float, default=20)
    h = sub.add_parser("hellorequest")
    h.add_argument("port", type=int)
    h.add_argument("cert")
    h.add_argument("key")
    h.add_argument("--hold", type=float, default=2)
    h.add_argument("--timeout", type=float, default=20)
    a = p.parse_args()
    keyupdate(a) if a.mode == "keyupdate" else hellorequest(a)


if __name__ == "__main__":
    main()
