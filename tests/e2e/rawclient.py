#!/usr/bin/env python3
"""Sends raw bytes to a server and prints what comes back.

usage: rawclient.py [--split N] [--delay S] [--idle S] [--shut] HOST PORT BYTES

BYTES takes Python escapes (\\r, \\n, \\xHH); "-" reads them, raw, from
standard input.  --split sends N bytes at a
time with --delay seconds between writes.  Reading stops when the server
closes or has been silent for --idle seconds (default 2).  --shut
half-closes the connection after sending.
"""
import select
import socket
import sys
import time


def main():
    args = sys.argv[1:]
    split, delay, idle, shut = 0, 0.01, 2.0, False
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--split":
            split = int(args.pop(0))
        elif opt == "--delay":
            delay = float(args.pop(0))
        elif opt == "--idle":
            idle = float(args.pop(0))
        elif opt == "--shut":
            shut = True
    host, port, text = args[0], int(args[1]), args[2]
    if text == "-":
        data = sys.stdin.buffer.read()
    else:
        data = text.encode("latin-1").decode("unicode_escape").encode("latin-1")
    sock = socket.create_connection((host, port), timeout=10)
    out = b""
    closed = False
    try:
        if split:
            # Read while trickling: the server may answer and close first.
            for i in range(0, len(data), split):
                sock.sendall(data[i:i + split])
                r, _, _ = select.select([sock], [], [], delay)
                if r:
                    chunk = sock.recv(65536)
                    out += chunk
                    if not chunk:
                        closed = True
                        break
        else:
            sock.sendall(data)
        if shut:
            sock.shutdown(socket.SHUT_WR)
    except ConnectionError:
        pass
    sock.settimeout(idle)
    deadline = time.time() + 30
    try:
        while not closed and time.time() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, ConnectionError, OSError):
        pass
    sys.stdout.write(out.decode("latin-1"))


if __name__ == "__main__":
    main()
