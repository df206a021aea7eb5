#!/usr/bin/env python3
"""Open N CONNECT tunnels through a proxy and hold them idle.

Used by bench/run to measure a proxy's memory per idle tunnel:

    idle_tunnels.py PROXY_PORT TARGET_PORT COUNT HOLD_SECONDS

Every tunnel is a fresh connection to 127.0.0.1:PROXY_PORT that sends
"CONNECT 127.0.0.1:TARGET_PORT" and reads the proxy's reply up to the blank
line; the status must be 200. The first tunnel also carries one
"GET /hello" to the origin, which proves the tunnels reach it; the other
COUNT - 1 never carry a byte after the CONNECT head.

Prints "ready COUNT" on stdout once all are open, then holds them until
HOLD_SECONDS pass or SIGTERM arrives, and exits 0. On any failure it prints
"error: ..." to stdout and exits 1. Needs a file-descriptor limit above
COUNT (bench/run raises it with ulimit -n).
"""

import signal
import socket
import sys
import time

IO_TIMEOUT = 10.0  # seconds for each connect, send and reply
HEAD_MAX = 16384   # a CONNECT reply head larger than this is an error


def read_head(sock):
    """Return the bytes up to and including the first CRLFCRLF."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > HEAD_MAX:
            raise OSError("reply head over %d bytes" % HEAD_MAX)
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("proxy closed after %r" % data[:80])
        data += chunk
    return data


def open_tunnel(proxy_port, target_port):
    sock = socket.create_connection(("127.0.0.1", proxy_port),
                                    timeout=IO_TIMEOUT)
    target = "127.0.0.1:%d" % target_port
    sock.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                  % (target, target)).encode("ascii"))
    head = read_head(sock)
    status = head.split(b"\r\n", 1)[0]
    parts = status.split(None, 2)
    if len(parts) < 2 or parts[1] != b"200":
        raise OSError("CONNECT reply: %r" % status)
    rest = head.split(b"\r\n\r\n", 1)[1]
    if rest:
        raise OSError("bytes after the CONNECT reply: %r" % rest[:80])
    return sock


def check_tunnel(sock, target_port):
    """One request through the tunnel: the origin must answer it."""
    sock.sendall(("GET /hello HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
                  % target_port).encode("ascii"))
    head = read_head(sock)
    status = head.split(b"\r\n", 1)[0]
    if b" 200 " not in status + b" ":
        raise OSError("GET through the tunnel: %r" % status)
    # The 5-byte body may still be in flight; read it so the tunnel is
    # idle again before the proxy is measured.
    body = head.split(b"\r\n\r\n", 1)[1]
    while len(body) < 5:
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("origin closed the tunnel")
        body += chunk


def main(argv):
    if len(argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    proxy_port, target_port, count = int(argv[1]), int(argv[2]), int(argv[3])
    hold = float(argv[4])

    stop = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))

    socks = []
    try:
        for i in range(count):
            socks.append(open_tunnel(proxy_port, target_port))
            if i == 0:
                check_tunnel(socks[0], target_port)
    except (OSError, ValueError) as e:
        print("error: tunnel %d of %d: %s" % (len(socks) + 1, count, e),
              flush=True)
        return 1

    print("ready %d" % len(socks), flush=True)
    deadline = time.monotonic() + hold
    while not stop and time.monotonic() < deadline:
        time.sleep(0.1)
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
