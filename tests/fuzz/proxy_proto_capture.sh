#!/bin/sh
# Captures PROXY protocol headers as real senders write them, for the seed
# corpus tests/fuzz/proxy_proto.in and for test_proxy_proto, which checks
# every capture-* file it finds there.
#
#   tests/fuzz/proxy_proto_capture.sh [DIR]   (default: proxy_proto.in here)
#
# HAProxy forwards curl's requests to a Python listener with send-proxy,
# send-proxy-v2 (plain, with CRC32C and a unique ID, from a TLS frontend
# with the SSL, authority and ALPN TLVs, and in front of a TLS ClientHello
# it passes through) and its health checks; curl --haproxy-protocol writes
# v1 itself.  Each file holds what the listener received: the header, then
# the client's first bytes.  Everything binds 127.0.0.1 or ::1 on ports
# chosen now; the processes started here are stopped by PID.
#
# The capture-* files in the tree were made with HAProxy 2.6.12 and curl
# 7.88.1 from Debian bookworm; hand-made seeds are named hand-*, and files
# named by hash come from fuzzing (libFuzzer -merge=1).
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/proxy_proto.in}
for cmd in haproxy curl certtool python3; do
	command -v "$cmd" >/dev/null 2>&1 || {
		echo "$0: $cmd is not installed" >&2
		exit 77
	}
done
T=$(mktemp -d "${TMPDIR:-/tmp}/proxy_proto_capture.XXXXXX") || exit 1
PIDS=""
cleanup() {
	for pid in $PIDS; do
		kill "$pid" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.bind((sys.argv[1], 0))
print(s.getsockname()[1])' "$1"
}

# The listener: one socket per capture, bound before it prints "NAME PORT"
# to $T/ports; it keeps the first connection on each, until the request
# head ends, the peer closes or 2 s of silence, then answers 200 and closes.
cat >"$T/listen.py" <<'PY'
import os, select, socket, sys, time
out = sys.argv[1]
socks = {}
for arg in sys.argv[3:]:
    name, addr = arg.split("@")
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.bind((addr, 0))
    s.listen(4)
    socks[s] = name
with open(sys.argv[2] + ".part", "w") as f:
    for s, name in socks.items():
        f.write("%s %d\n" % (name, s.getsockname()[1]))
os.rename(sys.argv[2] + ".part", sys.argv[2])
conns = {}
deadline = time.time() + 30
while (socks or conns) and time.time() < deadline:
    r, _, _ = select.select(list(socks) + list(conns), [], [], 0.2)
    for s in r:
        if s in socks:
            c, _ = s.accept()
            conns[c] = [socks.pop(s), b"", time.time()]
            s.close()
            continue
        try:
            data = s.recv(65536)
        except OSError:  # health checks may end with a reset
            data = b""
        conns[s][1] += data
        conns[s][2] = time.time()
        if data and conns[s][1].find(b"\r\n\r\n", 16) < 0:
            continue
        name, got, _ = conns.pop(s)
        with open("%s/%s" % (out, name), "wb") as f:
            f.write(got)
        try:
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                      b"Connection: close\r\n\r\nok\n")
        except OSError:
            pass
        s.close()
    for s in [c for c, v in conns.items() if time.time() - v[2] > 2]:
        name, got, _ = conns.pop(s)
        with open("%s/%s" % (out, name), "wb") as f:
            f.write(got)
        s.close()
PY

names="capture-haproxy-v1-tcp4@127.0.0.1 capture-haproxy-v1-tcp6@127.0.0.1
capture-haproxy-v2-tcp4@127.0.0.1 capture-haproxy-v2-tcp6@127.0.0.1
capture-haproxy-v2-crc32c-unique-id@127.0.0.1
capture-haproxy-v2-ssl@127.0.0.1 capture-haproxy-v2-tls-passthrough@127.0.0.1
capture-haproxy-v1-check@127.0.0.1 capture-haproxy-v2-check@127.0.0.1
capture-curl-v1-tcp4@127.0.0.1 capture-curl-v1-tcp6@::1"
mkdir "$T/out"
# shellcheck disable=SC2086 # one word per capture
python3 "$T/listen.py" "$T/out" "$T/ports" $names &
PIDS="$PIDS $!"
i=0
while [ ! -s "$T/ports" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
port() { # port NAME: the listener's port for a capture
	awk -v n="capture-$1" '$1 == n { print $2 }' "$T/ports"
}

# A certificate for the TLS frontend, key and certificate in one file.
certtool --generate-privkey --key-type=ecdsa --outfile "$T/key.pem" \
	>/dev/null 2>&1
printf 'cn = "proxy.example"\ndns_name = "proxy.example"\nexpiration_days = 30\ntls_www_server\n' \
	>"$T/cert.tmpl"
certtool --generate-self-signed --load-privkey "$T/key.pem" \
	--template "$T/cert.tmpl" --outfile "$T/cert.pem" >/dev/null 2>&1
cat "$T/cert.pem" "$T/key.pem" >"$T/haproxy.pem"

f1=$(free_port 127.0.0.1) f2=$(free_port ::1) f3=$(free_port 127.0.0.1)
f4=$(free_port ::1) f5=$(free_port 127.0.0.1) f6=$(free_port 127.0.0.1)
f7=$(free_port 127.0.0.1)
cat >"$T/haproxy.cfg" <<CFG
global
	maxconn 100
defaults
	mode tcp
	timeout connect 5s
	timeout client 10s
	timeout server 10s
frontend v1-tcp4
	bind 127.0.0.1:$f1
	default_backend v1-tcp4
backend v1-tcp4
	server s 127.0.0.1:$(port haproxy-v1-tcp4) send-proxy
frontend v1-tcp6
	bind [::1]:$f2
	default_backend v1-tcp6
backend v1-tcp6
	server s 127.0.0.1:$(port haproxy-v1-tcp6) send-proxy
frontend v2-tcp4
	bind 127.0.0.1:$f3
	default_backend v2-tcp4
backend v2-tcp4
	server s 127.0.0.1:$(port haproxy-v2-tcp4) send-proxy-v2
frontend v2-tcp6
	bind [::1]:$f4
	default_backend v2-tcp6
backend v2-tcp6
	server s 127.0.0.1:$(port haproxy-v2-tcp6) send-proxy-v2
frontend v2-crc32c
	bind 127.0.0.1:$f5
	unique-id-format %ci:%cp-%fi:%fp-%Ts-%rt
	default_backend v2-crc32c
backend v2-crc32c
	server s 127.0.0.1:$(port haproxy-v2-crc32c-unique-id) send-proxy-v2 proxy-v2-options crc32c,unique-id
frontend v2-ssl
	bind 127.0.0.1:$f6 ssl crt $T/haproxy.pem alpn h2,http/1.1
	default_backend v2-ssl
backend v2-ssl
	server s 127.0.0.1:$(port haproxy-v2-ssl) send-proxy-v2-ssl proxy-v2-options ssl,authority,ssl-cipher,cert-sig,cert-key,crc32c
frontend v2-passthrough
	bind 127.0.0.1:$f7
	default_backend v2-passthrough
backend v2-passthrough
	server s 127.0.0.1:$(port haproxy-v2-tls-passthrough) send-proxy-v2
backend v1-check
	server s 127.0.0.1:$(port haproxy-v1-check) send-proxy check check-send-proxy inter 1s
backend v2-check
	server s 127.0.0.1:$(port haproxy-v2-check) send-proxy-v2 check check-send-proxy inter 1s
CFG
haproxy -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
PIDS="$PIDS $!"
sleep 1

c() { curl -sS --max-time 5 -o /dev/null "$@" 2>>"$T/curl.log"; }
c "http://127.0.0.1:$f1/"
c -g "http://[::1]:$f2/"
c "http://127.0.0.1:$f3/"
c -g "http://[::1]:$f4/"
c "http://127.0.0.1:$f5/"
c -k --http1.1 --resolve "proxy.example:$f6:127.0.0.1" \
	"https://proxy.example:$f6/"
c -k --max-time 3 "https://127.0.0.1:$f7/" # the listener does not speak TLS
c --haproxy-protocol "http://127.0.0.1:$(port curl-v1-tcp4)/"
c -g --haproxy-protocol "http://[::1]:$(port curl-v1-tcp6)/"

# the listener ends once every capture is in, or after 30 s
i=0
while [ "$(find "$T/out" -type f | wc -l)" -lt 11 ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
mkdir -p "$out"
for f in "$T/out"/*; do
	[ -s "$f" ] || continue
	cp "$f" "$out/"
	echo "$(basename "$f"): $(wc -c <"$f") bytes"
done
