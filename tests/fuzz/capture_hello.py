#!/usr/bin/env python3
"""Records the first TLS bytes of real clients and servers on loopback.

This is how the seed corpus tests/fuzz/tls_peek.in/ was made (Debian
bookworm: GnuTLS 3.7.9, OpenSSL 3.0, curl 7.88), with

    tests/fuzz/capture_hello.py corpus tests/fuzz/tls_peek.in
    tests/fuzz/make_chromium_hello.py tests/fuzz/tls_peek.in

The first writes *.bin files: what a client sent up to the end of its
ClientHello (whole records), and what a server sent in reply to one of
those hellos, until it fell silent.  Keys, nonces and times differ on every
run, so a new run gives new files that test the same things.  The pieces:

    capture_hello.py client OUT CMD...
        listens on 127.0.0.1, runs CMD with {port} replaced by the port,
        and saves the client's records up to its first handshake message.
    capture_hello.py server HELLO OUT CMD...
        starts the server CMD on a free port {port}, sends it the records
        in file HELLO and saves the reply.

Loopback only; every process started is ended by its own handle.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

NAME = "www.example.test"


def hello_end(data):
    """Length of the whole records holding the first handshake message,
    or None while it is incomplete."""
    pos, hs = 0, b""
    while len(data) - pos >= 5:
        rlen = int.from_bytes(data[pos + 3:pos + 5], "big")
        if len(data) - pos - 5 < rlen:
            return None
        if data[pos] == 22:
            hs += data[pos + 5:pos + 5 + rlen]
        pos += 5 + rlen
        if len(hs) >= 4 and len(hs) - 4 >= int.from_bytes(hs[1:4], "big"):
            return pos
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill(cmd, port):
    return [a.replace("{port}", str(port)) for a in cmd]


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def capture_client(out, cmd):
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(10)
    port = lsock.getsockname()[1]
    proc = subprocess.Popen(fill(cmd, port), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        conn, _ = lsock.accept()
        conn.settimeout(10)
        data = b""
        while hello_end(data) is None:
            chunk = conn.recv(65536)
            if not chunk:
                raise SystemExit("%s: client closed early" % out)
            data += chunk
        conn.close()
    finally:
        lsock.close()
        stop(proc)
    with open(out, "wb") as f:
        f.write(data[:hello_end(data)])


def connect_when_up(port, proc):
    for _ in range(100):
        if proc.poll() is not None:
            raise SystemExit("server exited: %s" % proc.args)
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not listen: %s" % proc.args)


def capture_server(hello, out, cmd):
    port = free_port()
    proc = subprocess.Popen(fill(cmd, port), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        # the first connection only shows the server is up
        connect_when_up(port, proc).close()
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        with open(hello, "rb") as f:
            conn.sendall(f.read())
        conn.settimeout(1.0)  # a server waits for us after its flight
        data = b""
        try:
            while len(data) < 65536:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
        conn.close()
    finally:
        stop(proc)
    if not data:
        raise SystemExit("%s: server sent nothing" % out)
    with open(out, "wb") as f:
        f.write(data)


def certtool(*args):
    subprocess.run(["certtool"] + list(args), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certs(d):
    """A CA and a leaf for NAME: the servers send both (two certs)."""
    with open(d + "/ca.tmpl", "w") as f:
        f.write("cn = bascule test CA\nca\ncert_signing_key\n"
                "expiration_days = 3650\n")
    with open(d + "/leaf.tmpl", "w") as f:
        f.write("cn = %s\ndns_name = %s\ntls_www_server\n"
                "signing_key\nexpiration_days = 3650\n" % (NAME, NAME))
    certtool("--generate-privkey", "--key-type=ecdsa", "--outfile",
             d + "/ca.key")
    certtool("--generate-self-signed", "--load-privkey", d + "/ca.key",
             "--template", d + "/ca.tmpl", "--outfile", d + "/ca.pem")
    certtool("--generate-privkey", "--key-type=ecdsa", "--outfile",
             d + "/leaf.key")
    certtool("--generate-certificate", "--load-privkey", d + "/leaf.key",
             "--load-ca-privkey", d + "/ca.key", "--load-ca-certificate",
             d + "/ca.pem", "--template", d + "/leaf.tmpl", "--outfile",
             d + "/leaf.pem")
    with open(d + "/chain.pem", "w") as f:
        for name in ("leaf.pem", "ca.pem"):
            with open(d + "/" + name) as part:
                f.write(part.read())


def corpus(outdir):
    os.makedirs(outdir, exist_ok=True)
    o = lambda name: os.path.join(outdir, name)
    gnutls_cli = ["gnutls-cli", "--insecure", "--sni-hostname=" + NAME,
                  "--alpn=h2", "--alpn=http/1.1", "-p", "{port}",
                  "127.0.0.1"]
    s_client = ["openssl", "s_client", "-connect", "127.0.0.1:{port}",
                "-servername", NAME, "-alpn", "h2,http/1.1"]
    curl = ["curl", "-sk", "--max-time", "5", "--resolve",
            NAME + ":{port}:127.0.0.1", "https://%s:{port}/" % NAME]
    tls12 = "--priority=NORMAL:-VERS-ALL:+VERS-TLS1.2"
    clients = {
        "gnutls-cli-tls13.bin": gnutls_cli,
        "gnutls-cli-tls12.bin": gnutls_cli + [tls12],
        "openssl-s_client-tls13.bin": s_client,
        "openssl-s_client-tls12.bin": s_client + ["-tls1_2"],
        "openssl-s_client-p256-first.bin": s_client +
        ["-groups", "P-256:X25519"],
        "curl-tls13.bin": curl,
        "curl-tls12-only.bin": curl + ["--tlsv1.2", "--tls-max", "1.2"],
    }
    for name, cmd in clients.items():
        capture_client(o(name), cmd)

    with tempfile.TemporaryDirectory() as d:
        make_certs(d)
        gnutls_serv = ["gnutls-serv", "--port={port}",
                       "--x509certfile=" + d + "/chain.pem",
                       "--x509keyfile=" + d + "/leaf.key"]
        s_server = ["openssl", "s_server", "-accept", "127.0.0.1:{port}",
                    "-cert", d + "/leaf.pem", "-cert_chain", d + "/ca.pem",
                    "-key", d + "/leaf.key", "-naccept", "2", "-quiet"]
        servers = [
            ("gnutls-cli-tls12.bin", "gnutls-serv-tls12.bin",
             gnutls_serv + [tls12]),
            ("gnutls-cli-tls13.bin", "gnutls-serv-tls13.bin", gnutls_serv),
            ("gnutls-cli-tls12.bin", "gnutls-serv-tls13-only-alert.bin",
             gnutls_serv + ["--priority=NORMAL:-VERS-ALL:+VERS-TLS1.3"]),
            ("openssl-s_client-tls12.bin", "openssl-s_server-tls12.bin",
             s_server + ["-tls1_2", "-alpn", "http/1.1"]),
            # a TLS 1.3 server answering TLS 1.2: RFC 8446 4.1.3 sentinel
            ("openssl-s_client-tls12.bin", "openssl-s_server-downgrade.bin",
             s_server),
            ("openssl-s_client-tls13.bin", "openssl-s_server-tls13.bin",
             s_server + ["-alpn", "h2"]),
            ("openssl-s_client-p256-first.bin", "openssl-s_server-hrr.bin",
             s_server + ["-groups", "X25519"]),
        ]
        for hello, name, cmd in servers:
            capture_server(o(hello), o(name), cmd)


def main(argv):
    if len(argv) >= 4 and argv[1] == "client":
        capture_client(argv[2], argv[3:])
    elif len(argv) >= 5 and argv[1] == "server":
        capture_server(argv[2], argv[3], argv[4:])
    elif len(argv) == 3 and argv[1] == "corpus":
        corpus(argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
