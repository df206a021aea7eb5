#!/usr/bin/env python3
"""TLS clients through a CONNECT proxy, and a server that never answers.

Used by bench/tls; Python 3 standard library only.

    tls_client.py check PROXY ORIGIN CAFILE SNI
    tls_client.py conns PROXY ORIGIN CAFILE SNI PROCS SECONDS
    tls_client.py ka    PROXY ORIGIN CAFILE SNI PROCS SECONDS
    tls_client.py hold  PROXY SINK SNI COUNT HOLD_SECONDS
    tls_client.py sink  SINK HOLD_SECONDS

PROXY, ORIGIN and SINK are ports on 127.0.0.1; PROXY 0 means no proxy
(straight to the origin). Through a proxy every connection starts with
"CONNECT 127.0.0.1:ORIGIN HTTP/1.1" and needs a 200 with nothing after the
blank line. TLS is 1.3 only, with SNI, and the certificate the client is
shown is verified against CAFILE, and nothing else, for the name SNI:
straight or through a tunnel that is the origin's, so CAFILE is the
origin's CA; through a proxy that bumps it is one the proxy mimicked, so
CAFILE is the proxy's CA. Either way a connection that was not handled as
expected (bumped instead of spliced, or the reverse) fails verification.

check: one connection, one "GET /hello"; exit 0 if the body is "hello".

conns: PROCS processes, each a loop for SECONDS: a fresh TCP connection,
CONNECT, TLS handshake, one GET /hello, close. Prints
"BENCH DONE ERRORS SECONDS" (connections completed, failed, wall time).

ka: PROCS processes, each one connection (CONNECT and TLS once), then
GET /hello after GET /hello on it for SECONDS. Prints the same line with
requests instead of connections. A failed connection is counted and a new
one opened.

hold: COUNT connections one after another, each CONNECT 127.0.0.1:SINK
and a real TLS 1.3 ClientHello with SNI, then not a byte more. Prints
"ready COUNT" once all are out and holds them until HOLD_SECONDS pass or
SIGTERM arrives.

sink: listens on SINK, accepts everything, reads and discards, never
writes. Prints "listening" once bound and "fed N" each time one more
connection has delivered its first bytes. Stops after HOLD_SECONDS or on
SIGTERM.

Errors go to stdout as "error: ..." (at most a few per process); the exit
status is 1 if nothing at all succeeded, 2 on bad arguments. Needs a file
descriptor limit above COUNT (bench/tls raises it).
"""

import os
import selectors
import signal
import socket
import ssl
import sys
import time

IO_TIMEOUT = 5.0  # seconds for each connect, send and receive
HEAD_MAX = 16384  # a reply head larger than this is an error
ERRORS_SHOWN = 3  # "error:" lines per process


class BenchError(Exception):
    pass


class Reader:
    """Reads HTTP/1.1 heads and Content-Length bodies off a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def head(self):
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                head, self.buf = self.buf[:i + 4], self.buf[i + 4:]
                return head
            if len(self.buf) > HEAD_MAX:
                raise BenchError("reply head over %d bytes" % HEAD_MAX)
            chunk = self.sock.recv(16384)
            if not chunk:
                raise BenchError("closed after %r" % self.buf[:80])
            self.buf += chunk

    def body(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(16384)
            if not chunk:
                raise BenchError("closed in the body")
            self.buf += chunk
        body, self.buf = self.buf[:n], self.buf[n:]
        return body


def status_of(head):
    parts = head.split(b"\r\n", 1)[0].split(None, 2)
    return parts[1] if len(parts) >= 2 else b"?"


def tcp(port):
    """A TCP connection to 127.0.0.1:port. TCP_NODELAY, as curl and
    browsers set it: the request must not wait for the ACK of Finished."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def connect(proxy, target):
    """A TCP connection to 127.0.0.1:target, through the proxy if any."""
    if not proxy:
        return tcp(target)
    sock = tcp(proxy)
    try:
        name = "127.0.0.1:%d" % target
        sock.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                      % (name, name)).encode("ascii"))
        r = Reader(sock)
        head = r.head()
        if status_of(head) != b"200":
            raise BenchError("CONNECT: %r" % head.split(b"\r\n", 1)[0])
        if r.buf:
            raise BenchError("bytes after the CONNECT reply: %r" % r.buf[:80])
    except BaseException:
        sock.close()
        raise
    return sock


def client_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def get_hello(r, request):
    r.sock.sendall(request)
    head = r.head()
    if status_of(head) != b"200":
        raise BenchError("GET: %r" % head.split(b"\r\n", 1)[0])
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None:
        raise BenchError("GET: no Content-Length")
    body = r.body(length)
    if body != b"hello":
        raise BenchError("GET: body %r" % body[:80])


def request_for(sni, origin):
    return ("GET /hello HTTP/1.1\r\nHost: %s:%d\r\n\r\n"
            % (sni, origin)).encode("ascii")


def one_conn(ctx, proxy, origin, sni, request):
    sock = connect(proxy, origin)
    try:
        tls = ctx.wrap_socket(sock, server_hostname=sni)
    except BaseException:
        sock.close()
        raise
    try:
        get_hello(Reader(tls), request)
    finally:
        tls.close()


def loop_conns(ctx, proxy, origin, sni, deadline, note):
    request = request_for(sni, origin)
    done = errors = 0
    while time.monotonic() < deadline:
        try:
            one_conn(ctx, proxy, origin, sni, request)
            done += 1
        except (OSError, ValueError, BenchError) as e:
            errors += 1
            note(e)
            time.sleep(0.01)  # a dead proxy must not make this spin
    return done, errors


def loop_ka(ctx, proxy, origin, sni, deadline, note):
    request = request_for(sni, origin)
    done = errors = 0
    tls = None
    while time.monotonic() < deadline:
        try:
            if tls is None:
                sock = connect(proxy, origin)
                try:
                    tls = ctx.wrap_socket(sock, server_hostname=sni)
                except BaseException:
                    sock.close()
                    raise
                r = Reader(tls)
            get_hello(r, request)
            done += 1
        except (OSError, ValueError, BenchError) as e:
            errors += 1
            note(e)
            if tls is not None:
                tls.close()
                tls = None
            time.sleep(0.01)
    if tls is not None:
        tls.close()
    return done, errors


def run_procs(loop, proxy, origin, cafile, sni, procs, seconds):
    """Fork PROCS children running loop; sum what they report."""
    t0 = time.monotonic()
    deadline = t0 + seconds
    kids = []
    for _ in range(procs):
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            code = 0
            try:
                shown = []

                def note(e):
                    if len(shown) < ERRORS_SHOWN:
                        shown.append(e)
                        print("error: %s" % (e or type(e).__name__),
                              flush=True)

                ctx = client_context(cafile)
                done, errors = loop(ctx, proxy, origin, sni, deadline, note)
                os.write(wfd, ("%d %d %.6f\n" % (done, errors,
                                                 time.monotonic()))
                         .encode("ascii"))
            except BaseException as e:
                print("error: client: %r" % e, flush=True)
                code = 1
            os._exit(code)
        os.close(wfd)
        kids.append((pid, rfd))
    done = errors = 0
    end = t0
    for pid, rfd in kids:
        with os.fdopen(rfd, "rb") as f:
            line = f.read().split()
        os.waitpid(pid, 0)
        if len(line) != 3:
            errors += 1
            continue
        done += int(line[0])
        errors += int(line[1])
        end = max(end, float(line[2]))
    print("BENCH %d %d %.3f" % (done, errors, end - t0), flush=True)
    return 0 if done > 0 else 1


def hold(proxy, sink, sni, count, seconds):
    stop = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    held = []
    try:
        for _ in range(count):
            sock = connect(proxy, sink)
            held.append(sock)
            # The ClientHello OpenSSL would send, taken from a memory BIO:
            # the handshake stops there, waiting for an answer.
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
            try:
                obj.do_handshake()
            except ssl.SSLWantReadError:
                pass
            hello = outgoing.read()
            if not hello or hello[0] != 22:
                raise BenchError("no ClientHello from OpenSSL")
            sock.sendall(hello)
    except (OSError, ValueError, BenchError) as e:
        print("error: connection %d of %d: %s" % (len(held), count, e),
              flush=True)
        return 1
    print("ready %d" % len(held), flush=True)
    deadline = time.monotonic() + seconds
    while not stop and time.monotonic() < deadline:
        time.sleep(0.1)
    for s in held:
        s.close()
    return 0


def sink(port, seconds):
    stop = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(4096)
    lsock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ, None)
    print("listening", flush=True)
    fed = 0
    deadline = time.monotonic() + seconds
    while not stop and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.1):
            if key.data is None:
                try:
                    conn, _ = lsock.accept()
                except BlockingIOError:
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ, [False])
                continue
            try:
                data = key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                continue
            if not key.data[0]:
                key.data[0] = True
                fed += 1
                print("fed %d" % fed, flush=True)
    return 0


def main(argv):
    try:
        mode, args = argv[1], argv[2:]
        if mode == "check" and len(args) == 4:
            proxy, origin = int(args[0]), int(args[1])
            try:
                one_conn(client_context(args[2]), proxy, origin, args[3],
                         request_for(args[3], origin))
            except (OSError, ValueError, BenchError) as e:
                print("error: %s" % e, flush=True)
                return 1
            return 0
        if mode in ("conns", "ka") and len(args) == 6:
            loop = loop_conns if mode == "conns" else loop_ka
            return run_procs(loop, int(args[0]), int(args[1]), args[2],
                             args[3], int(args[4]), float(args[5]))
        if mode == "hold" and len(args) == 5:
            return hold(int(args[0]), int(args[1]), args[2], int(args[3]),
                        float(args[4]))
        if mode == "sink" and len(args) == 2:
            return sink(int(args[0]), float(args[1]))
    except (IndexError, ValueError):
        pass
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
