#!/bin/sh
# require-proxy-header: behind HAProxy (send-proxy and send-proxy-v2) and
# curl --haproxy-protocol, bascule takes the client address from the PROXY
# header for http_access and the access log; without a valid header a
# connection is closed unanswered.
. "${srcdir:-.}/e2e/lib.sh"
need curl haproxy python3
origin_start

# The real clients are 127.0.0.2 and 127.0.0.3; HAProxy and curl connect
# to bascule from 127.0.0.1, which is denied.
INTERCEPT_PORT=$(free_port)
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT require-proxy-header
http_port 127.0.0.1:$INTERCEPT_PORT intercept require-proxy-header
request_timeout 2 seconds
acl balancers src 127.0.0.1 127.0.0.2
acl client2 src 127.0.0.2
proxy_protocol_access allow balancers
http_access allow client2
http_access deny all
EOF

V1_PORT=$(free_port)
V2_PORT=$(free_port)
cat >"$T/haproxy.cfg" <<EOF
global
	maxconn 64
defaults
	mode tcp
	timeout connect 5s
	timeout client 10s
	timeout server 10s
frontend v1
	bind 127.0.0.1:$V1_PORT
	default_backend b1
frontend v2
	bind 127.0.0.1:$V2_PORT
	default_backend b2
backend b1
	server bascule 127.0.0.1:$PROXY_PORT send-proxy
backend b2
	server bascule 127.0.0.1:$PROXY_PORT send-proxy-v2
EOF
haproxy -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$V1_PORT" && wait_port "$V2_PORT" || { fail "haproxy did not start"; finish; }

via() { # via PORT SOURCE: a request through HAProxy from SOURCE
	curl -sS --max-time 10 --interface "$2" -x "http://127.0.0.1:$1" \
		-o "$T/body" -w '%{http_code}' "http://127.0.0.1:$ORIGIN_PORT/hello"
}
check "v1 from an allowed client" [ "$(via "$V1_PORT" 127.0.0.2)" = 200 ]
check "v1 logs the real client" log_has "127.0.0.2 TCP_MISS/200 [0-9]+ GET http://127.0.0.1:$ORIGIN_PORT/hello"
check "v2 from an allowed client" [ "$(via "$V2_PORT" 127.0.0.2)" = 200 ]
check "v1 from a denied client" [ "$(via "$V1_PORT" 127.0.0.3)" = 403 ]
check "v2 from a denied client" [ "$(via "$V2_PORT" 127.0.0.3)" = 403 ]
check "denial logged for the real client" log_has "127.0.0.3 TCP_DENIED/403"
check "keep-alive after the header" sh -c "curl -sS --max-time 10 --interface 127.0.0.2 \
	-x http://127.0.0.1:$V2_PORT -o /dev/null -o /dev/null -w '%{http_code}\n' \
	http://127.0.0.1:$ORIGIN_PORT/hello http://127.0.0.1:$ORIGIN_PORT/hello | grep -c 200 | grep -q 2"

code=$(curl -sS --max-time 10 --haproxy-protocol --interface 127.0.0.2 \
	-x "http://127.0.0.1:$PROXY_PORT" -o /dev/null -w '%{http_code}' \
	"http://127.0.0.1:$ORIGIN_PORT/hello")
check "curl --haproxy-protocol" [ "$code" = 200 ]

# A peer that proxy_protocol_access does not list may not speak for anyone.
code=$(curl -sS --max-time 10 --haproxy-protocol --interface 127.0.0.3 \
	-x "http://127.0.0.1:$PROXY_PORT" -o /dev/null -w '%{http_code}' \
	"http://127.0.0.1:$ORIGIN_PORT/hello" 2>/dev/null)
check "header from a peer not allowed: closed" [ "$code" = 000 ]
check "refusal logged" errlog_has "PROXY header from 127.0.0.3 refused by the default of proxy_protocol_access"

# No header, a bad one, or none in time: closed, nothing sent.
raw "GET http://127.0.0.1:$ORIGIN_PORT/hello HTTP/1.1\r\nHost: x\r\n\r\n" >"$T/none"
check "no header: closed unanswered" [ ! -s "$T/none" ]
raw "PROXY TCP4 127.0.0.2 127.0.0.1 1234 080\r\nGET http://127.0.0.1:$ORIGIN_PORT/hello HTTP/1.1\r\nHost: x\r\n\r\n" >"$T/bad"
check "bad header: closed unanswered" [ ! -s "$T/bad" ]
check "bad header logged" errlog_has "no valid PROXY header"
raw --idle 5 "PROXY TCP4 127.0.0.2" >"$T/slow"
check "unfinished header: closed" [ ! -s "$T/slow" ]
check "unfinished header timed out" errlog_has "no PROXY header in time"
# An intercepting port behind a balancer: the header's destination is
# where the client was going.
python3 "$E2E/rawclient.py" 127.0.0.1 "$INTERCEPT_PORT" \
	"PROXY TCP4 127.0.0.2 127.0.0.1 1234 $ORIGIN_PORT\r\nGET /hello HTTP/1.1\r\nHost: 127.0.0.1:$ORIGIN_PORT\r\nConnection: close\r\n\r\n" >"$T/icpt"
check "intercepted behind a balancer: served" grep -q "^hello" "$T/icpt"
check "intercepted behind a balancer: logged" log_has "127.0.0.2 TCP_MISS/200 [0-9]+ GET http://127.0.0.1:$ORIGIN_PORT/hello - ORIGINAL_DST/127.0.0.1 "
python3 "$E2E/rawclient.py" 127.0.0.1 "$INTERCEPT_PORT" \
	"PROXY TCP4 127.0.0.2 127.0.0.1 1234 $INTERCEPT_PORT\r\nGET /hello HTTP/1.1\r\nHost: 127.0.0.1:$INTERCEPT_PORT\r\n\r\n" >"$T/loop"
check "a header naming this port: closed" [ ! -s "$T/loop" ]
check "loop refused and logged" errlog_has "PROXY header names this proxy as the destination"
python3 "$E2E/rawclient.py" 127.0.0.1 "$INTERCEPT_PORT" \
	"PROXY TCP4 127.0.0.2 127.0.0.1 1234 $PROXY_PORT\r\nGET /hello HTTP/1.1\r\nHost: 127.0.0.1:$PROXY_PORT\r\n\r\n" >"$T/loop2"
check "a header naming another port of ours: closed" [ ! -s "$T/loop2" ]

# The listeners' settings outlive the configuration they came from.
kill -HUP "$BASCULE_PID"
wait_for grep -q "reloaded" "$T/bascule.err"
check "after a reload: still needs the header" sh -c "! curl -sS --max-time 5 --interface 127.0.0.2 -x http://127.0.0.1:$PROXY_PORT http://127.0.0.1:$ORIGIN_PORT/hello 2>/dev/null | grep -q hello"
check "after a reload: served through HAProxy" [ "$(via "$V2_PORT" 127.0.0.2)" = 200 ]
check "the proxy still serves" [ "$(via "$V2_PORT" 127.0.0.2)" = 200 ]
finish
