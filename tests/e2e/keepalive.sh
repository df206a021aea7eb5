#!/bin/sh
# Persistent connections: a client reuses its connection, pipelined
# requests are answered in order, and origin connections are reused across
# clients.
. "${srcdir:-.}/e2e/lib.sh"
need curl python3
origin_start
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
http_access allow localhost
EOF
O="http://127.0.0.1:$ORIGIN_PORT"

n=$(proxy_curl -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects}' \
	"$O/hello" "$O/hello" "$O/hello")
check "one client connection for three requests ($n)" [ "$n" = 100 ]

raw "GET $O/hello HTTP/1.1\r\nHost: x\r\n\r\nGET $O/connid HTTP/1.1\r\nHost: x\r\n\r\nGET $O/chunked?n=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" | tr -d '\r' >"$T/pipe.out"
check "three pipelined responses" [ "$(grep -c '^HTTP/1.1 200' "$T/pipe.out")" -eq 3 ]
check "pipelined responses in order" sh -c "grep -E '^(hello|[0-9]+|chunk 1)$' '$T/pipe.out' | head -n 1 | grep -qx hello"
check "last response closes" grep -qi '^Connection: close' "$T/pipe.out"

a=$(proxy_curl "$O/connid")
b=$(proxy_curl "$O/connid")
check "origin connection reused by a second client ($a, $b)" [ -n "$a" ] && [ "$a" = "$b" ]

raw "GET $O/hello HTTP/1.0\r\n\r\n" >"$T/h10.out"
check "HTTP/1.0 request without keep-alive is closed" grep -qi '^Connection: close' "$T/h10.out"
# RFC 9112 9.3: a proxy must not keep a connection with an HTTP/1.0 client.
raw "GET $O/hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET $O/hello HTTP/1.0\r\n\r\n" >"$T/h10ka.out"
check "HTTP/1.0 keep-alive request answered once, then closed" \
	[ "$(grep -c '^HTTP/1.1 200' "$T/h10ka.out")" -eq 1 ]
check "HTTP/1.0 keep-alive request told Connection: close" grep -qi '^Connection: close' "$T/h10ka.out"

raw --shut "GET $O/hello HTTP/1.1\r\nHost: x\r\n\r\nGET $O/connid HTTP/1.1\r\nHost: x\r\n\r\n" >"$T/shut.out"
check "pipelined requests answered after the client half-closed" \
	[ "$(grep -c '^HTTP/1.1 200' "$T/shut.out")" -eq 2 ]

# Bytes beyond a spliced Content-Length body: the connection is not reused.
raw --idle 3 "GET $O/extra?n=300000 HTTP/1.1\r\nHost: x\r\n\r\nGET $O/connid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" >"$T/extra.out"
check "response after an over-long spliced body is a real one" \
	[ "$(grep -ao 'HTTP/1.1 200' "$T/extra.out" | wc -l)" -eq 2 ]
check "and not the origin's extra bytes" sh -c "! grep -aq 'ERR_INVALID_RESP' '$T/extra.out'"

raw --split 1 --delay 0.002 "GET $O/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" >"$T/split.out"
check "request head arriving one byte at a time" grep -q '^hello' "$T/split.out"
bascule_stop

# server_idle_pconn_timeout 0: no origin connection is kept.
PROXY_PORT=$(free_port)
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
http_access allow localhost
server_idle_pconn_timeout 0
EOF
ids=$(proxy_curl "$O/connid" "$O/connid" | tr '\n' ' ')
check "server_idle_pconn_timeout 0 keeps no origin connection ($ids)" \
	[ "$(echo $ids | tr ' ' '\n' | sort -u | wc -l)" -eq 2 ]
finish
