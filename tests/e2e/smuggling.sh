#!/bin/sh
# Request smuggling vectors are refused with 400 before anything reaches
# the origin (RFC 9112 6.3, 11.2), and other connections are unharmed.
. "${srcdir:-.}/e2e/lib.sh"
need curl python3
origin_start
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
http_access allow localhost
EOF
U="http://127.0.0.1:$ORIGIN_PORT/echo"

expect_400() {
	name=$1
	raw "$2" >"$T/out"
	if grep -q '^HTTP/1.1 400' "$T/out" && ! grep -q smuggled "$T/origin.log"; then
		ok "$name"
	else
		fail "$name: $(head -n 1 "$T/out")"
	fi
}

# A slow request in flight on another connection must survive all this.
proxy_curl "http://127.0.0.1:$ORIGIN_PORT/slow?s=2" >"$T/slow.out" &
SLOW=$!

expect_400 "Content-Length with Transfer-Encoding" \
	"POST $U HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nPOST /smuggled HTTP/1.1\r\n\r\n"
expect_400 "conflicting Content-Length" \
	"POST $U HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nsmuggled"
expect_400 "Content-Length list with different values" \
	"POST $U HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 5\r\n\r\nsmuggled"
expect_400 "signed Content-Length" \
	"POST $U HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\nsmuggled"
expect_400 "Transfer-Encoding not ending in chunked" \
	"POST $U HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\nsmuggled"
expect_400 "obs-fold" \
	"GET $U HTTP/1.1\r\nHost: x\r\nX-A: a\r\n smuggled: 1\r\n\r\n"
expect_400 "bare CR in a field" \
	"GET $U HTTP/1.1\r\nHost: x\r\nX-A: a\rsmuggled: 1\r\n\r\n"
expect_400 "bare LF line ending" \
	"GET $U HTTP/1.1\nHost: x\nX-smuggled: 1\n\n"
expect_400 "space before the colon" \
	"GET $U HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\nsmuggled"
expect_400 "missing Host in HTTP/1.1" \
	"GET $U HTTP/1.1\r\nX-smuggled: 1\r\n\r\n"
expect_400 "two Host fields" \
	"GET $U HTTP/1.1\r\nHost: a\r\nHost: b\r\nX-smuggled: 1\r\n\r\n"
expect_400 "NUL in a field" \
	"GET $U HTTP/1.1\r\nHost: x\r\nX-A: a\x00smuggled\r\n\r\n"

# Connection naming Content-Length must not strip it: the body would
# become a second request on a pooled origin connection.
inner="GET http://127.0.0.1:$ORIGIN_PORT/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
len=$(printf "$inner" | wc -c)
raw "POST $U HTTP/1.1\r\nHost: x\r\nConnection: Content-Length\r\nContent-Length: $len\r\n\r\n$inner" >"$T/conn-cl.out"
check "Connection: Content-Length keeps the framing" grep -q "Content-Length: $len" "$T/origin.log"
check "nothing smuggled through Connection: Content-Length" sh -c "! grep -q 'GET /smuggled' '$T/origin.log'"

raw "POST $U HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nsmuggled\r\n0\r\n\r\n" >"$T/chunk.out"
check "invalid chunk size answered 400" grep -q '^HTTP/1.1 400' "$T/chunk.out"

# The origin answers before taking the body: what is left of the body
# must never be parsed as a request on the client connection.
head -c 3000000 /dev/zero | tr '\0' 'G' >"$T/body"
before=$(grep -c '/400 ' "$T/access.log")
proxy_curl --data-binary @"$T/body" -o "$T/early.out" "http://127.0.0.1:$ORIGIN_PORT/early200"
check "early answer delivered" grep -qx early "$T/early.out"
sleep 1
check "unsent body bytes never parsed as a request" \
	[ "$(grep -c '/400 ' "$T/access.log")" -eq "$before" ]

i=0
while kill -0 "$SLOW" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "a concurrent request was unharmed" grep -qx slow "$T/slow.out"
check "process alive" kill -0 "$BASCULE_PID"
finish
