#!/usr/bin/env python3
"""A test origin for the end-to-end tests: an HTTP/1.1 server that can
echo what it received and misbehave on purpose.  Loopback only.

usage: origin.py PORT [ADDRESS]

  /hello            200 "hello"
  /echo             200, body: request line, headers and decoded body
  /connid           200, body: the id of this TCP connection
  /chunked?n=K      200, chunked body of K lines
  /close            200, body delimited by closing the connection
  /garbage          not HTTP at all, then close
  /noresp           close without answering
  /slow?s=N         answer after N seconds
  /status?code=N    status N, empty body (no body for 1xx/204/304)
  /early413         413 before reading the request body, then close
  /early100         100 Continue and the final response in one write
  /bigclose?n=N     N bytes delimited by closing the connection
  /truncated?n=N    Content-Length N, but only N/2 bytes, then close
  /early200         200 at once, never reading the request body
  /extra?n=N        Content-Length N, then 4 bytes more than it said
  /file?name=F&s=N  200 with the bytes of file F of $ORIGIN_FILES, after N
                    seconds (default 0); 404 if there is none
"""
import itertools
import os
import socket
import sys
import threading
import time
import urllib.parse

conn_ids = itertools.count(1)
log_lock = threading.Lock()


def log(line):
    with log_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Closed(Exception):
    pass


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise Closed()
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise Closed()
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exactly(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


def read_body(r, headers):
    te = headers.get("transfer-encoding", "")
    if "chunked" in te.lower():
        body = b""
        while True:
            size = int(r.line().split(b";")[0], 16)
            if size == 0:
                while r.line() != b"":
                    pass
                return body
            body += r.exactly(size)
            r.line()
    n = int(headers.get("content-length", "0"))
    return r.exactly(n)


def respond(sock, status, body=b"", extra=(), reason="OK", length=True):
    head = ["HTTP/1.1 %d %s" % (status, reason)]
    head += list(extra)
    if length:
        head.append("Content-Length: %d" % len(body))
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)


def serve(sock):
    cid = next(conn_ids)
    r = Reader(sock)
    try:
        while True:
            reqline = r.line().decode("latin-1")
            raw_headers = []
            headers = {}
            while True:
                line = r.line().decode("latin-1")
                if line == "":
                    break
                raw_headers.append(line)
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            method, target, _ = reqline.split(" ", 2)
            log("conn %d: %s" % (cid, reqline))
            for h in raw_headers:
                log("conn %d:   %s" % (cid, h))
            url = urllib.parse.urlsplit(target)
            q = urllib.parse.parse_qs(url.query)
            path = url.path
            keep = headers.get("connection", "").lower() != "close"
            extra = ["X-Conn-Id: %d" % cid]
            if path == "/early200":
                respond(sock, 200, b"early\n", extra)
                time.sleep(2)
                return
            if path == "/early100":
                read_body(r, headers)
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
                             b"Content-Length: 6\r\n\r\nfinal\n")
                continue
            if path == "/early413":
                respond(sock, 413, b"too large\n", extra + ["Connection: close"],
                        "Content Too Large")
                return
            if headers.get("expect", "").lower() == "100-continue":
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = read_body(r, headers)
            if method == "HEAD":
                respond(sock, 200, b"", extra + ["Content-Length: 5"], length=False)
            elif path == "/hello":
                respond(sock, 200, b"hello\n", extra + ["Content-Type: text/plain"])
            elif path == "/echo":
                out = (reqline + "\n" + "\n".join(raw_headers) + "\n\n").encode(
                    "latin-1") + body
                respond(sock, 200, out, extra + ["Content-Type: text/plain"])
            elif path == "/connid":
                respond(sock, 200, b"%d\n" % cid, extra)
            elif path == "/chunked":
                n = int(q.get("n", ["3"])[0])
                sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                             b"X-Conn-Id: %d\r\n\r\n" % cid)
                for i in range(n):
                    line = b"chunk %d\n" % i
                    sock.sendall(b"%x;ext=1\r\n%s\r\n" % (len(line), line))
                sock.sendall(b"0\r\nX-Trailer: yes\r\n\r\n")
            elif path == "/close":
                sock.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
                             b"close-delimited\n")
                return
            elif path == "/extra":
                n = int(q.get("n", ["300000"])[0])
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n
                             + b"x" * n + b"XTRA")
            elif path in ("/bigclose", "/truncated"):
                n = int(q.get("n", ["1000000"])[0])
                pattern = bytes(range(256)) * (n // 256 + 1)
                if path == "/bigclose":
                    sock.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                    sock.sendall(pattern[:n])
                else:
                    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
                    sock.sendall(pattern[:n // 2])
                return
            elif path == "/garbage":
                sock.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
                return
            elif path == "/noresp":
                return
            elif path == "/slow":
                time.sleep(float(q.get("s", ["2"])[0]))
                respond(sock, 200, b"slow\n", extra)
            elif path == "/file":
                time.sleep(float(q.get("s", ["0"])[0]))
                name = os.path.basename(q.get("name", [""])[0])
                try:
                    with open(os.path.join(os.environ.get("ORIGIN_FILES", "."),
                                           name), "rb") as f:
                        data = f.read()
                except OSError:
                    respond(sock, 404, b"not found\n", extra, "Not Found")
                else:
                    respond(sock, 200, data, extra)
            elif path == "/status":
                code = int(q.get("code", ["200"])[0])
                if code < 200 or code in (204, 304):
                    respond(sock, code, b"", extra, "Status", length=False)
                else:
                    respond(sock, code, b"", extra, "Status")
            else:
                respond(sock, 404, b"not found\n", extra, "Not Found")
            if not keep:
                return
    except (Closed, ConnectionError, ValueError):
        pass
    finally:
        sock.close()


def main():
    port = int(sys.argv[1])
    addr = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(128)
    while True:
        sock, _ = srv.accept()
        threading.Thread(target=serve, args=(sock,), daemon=True).start()


if __name__ == "__main__":
    main()
