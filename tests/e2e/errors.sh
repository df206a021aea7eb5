#!/bin/sh
# Errors reach the client as proper responses with a reason, and the
# access log says what happened; the proxy keeps serving others.
. "${srcdir:-.}/e2e/lib.sh"
need curl python3
origin_start
CLOSED_PORT=$(free_port)
# A listener whose accept queue is full: connects to it hang (for 504).
BLACKHOLE_PORT=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(0)
c = []
for i in range(4):
    x = socket.socket(); x.setblocking(False); x.connect_ex(("127.0.0.1", int(sys.argv[1]))); c.append(x)
time.sleep(60)' "$BLACKHOLE_PORT" &
PIDS="$PIDS $!"
sleep 0.5
# Two addresses for one name: the first never answers, the second serves.
python3 "$E2E/origin.py" "$BLACKHOLE_PORT" 127.0.0.2 >"$T/origin2.log" 2>&1 &
PIDS="$PIDS $!"
printf '127.0.0.1 localhost origin.test\n127.0.0.1 twoaddr.test\n127.0.0.2 twoaddr.test\n' >"$T/hosts"
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
connect_timeout 1 second
read_timeout 2 seconds
request_timeout 2 seconds
request_header_max_size 4 KB
acl blocked dstdomain .blocked.test
http_access deny blocked
http_access allow localhost
EOF
O="http://127.0.0.1:$ORIGIN_PORT"

status_of() { proxy_curl -o "$T/body" -D "$T/head" -w '%{http_code}' "$@"; }

code=$(status_of "http://www.blocked.test/")
check "403 for a denied request" [ "$code" = 403 ]
check "403 page names the error" grep -q ERR_ACCESS_DENIED "$T/body"
check "403 logged as TCP_DENIED" log_has "TCP_DENIED/403 [0-9]+ GET http://www.blocked.test/ - HIER_NONE/- "
check "403 page in English by default" grep -q '^Content-Language: en' "$T/head"

# The page follows Accept-Language where a translation exists.
code=$(status_of -H 'Accept-Language: fr-CH, de;q=0.9, en;q=0.8' "http://www.blocked.test/")
check "403 with Accept-Language de" [ "$code" = 403 ]
check "German page announced" grep -q '^Content-Language: de' "$T/head"
check "German page" grep -q 'Die Zugriffsregeln dieses Proxys' "$T/body"
check "German page is UTF-8" grep -q 'charset=utf-8' "$T/head"
code=$(status_of -H 'Accept-Language: fr, ja' "http://www.blocked.test/")
check "no translation: English" sh -c "grep -q '^Content-Language: en' '$T/head' && grep -q 'access rules' '$T/body'"
code=$(status_of -H 'Accept-Language: de;q=0' -H 'Accept-Language: *;q=0.1' "http://www.blocked.test/")
check "refused language not chosen" grep -q '^Content-Language: en' "$T/head"

code=$(status_of "http://127.0.0.1:$CLOSED_PORT/")
check "502 when the origin refuses ($code)" [ "$code" = 502 ]
check "502 says why" grep -qi 'refused' "$T/body"

code=$(status_of "$O/garbage")
check "502 when the origin answers garbage ($code)" [ "$code" = 502 ]
check "502 invalid response code" grep -q ERR_INVALID_RESP "$T/head"

code=$(status_of "$O/noresp")
check "502 when the origin closes without answering ($code)" [ "$code" = 502 ]

code=$(status_of "$O/slow?s=4")
check "504 when the origin is too slow ($code)" [ "$code" = 504 ]
check "504 read timeout code" grep -q ERR_READ_TIMEOUT "$T/head"

code=$(status_of "http://127.0.0.1:$BLACKHOLE_PORT/")
check "504 on connect timeout ($code)" [ "$code" = 504 ]
check "504 logged" log_has "TCP_MISS/504 [0-9]+ GET http://127.0.0.1:$BLACKHOLE_PORT/"

body=$(proxy_curl "http://twoaddr.test:$BLACKHOLE_PORT/hello")
check "connect timeout on one address moves on to the next" [ "$body" = hello ]

start=$(date +%s)
raw --split 1 --delay 0.5 --idle 5 "GET $O/hello HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaa\r\n\r\n" >"$T/slow.out"
check "a head trickling in is cut at request_timeout" grep -q '^HTTP/1.1 408' "$T/slow.out"
check "408 came in time ($(($(date +%s) - start)) s)" [ $(($(date +%s) - start)) -lt 12 ]

code=$(status_of "http://no-such-host.invalid/")
check "503 when the name does not resolve ($code)" [ "$code" = 503 ]
check "DNS error code" grep -q ERR_DNS_FAIL "$T/head"

big=$(head -c 6000 /dev/zero | tr '\0' a)
code=$(status_of -H "X-Big: $big" "$O/hello")
check "431 for an oversized head ($code)" [ "$code" = 431 ]

raw "NONSENSE\r\n\r\n" >"$T/raw400"
check "400 for a malformed request" grep -q '^HTTP/1.1 400' "$T/raw400"
check "400 logged" log_has "TAG_NONE/400 "
raw "GET /relative HTTP/1.1\r\nHost: x\r\n\r\n" >"$T/rel"
check "400 for an origin-form request to a forward proxy" grep -q ERR_INVALID_URL "$T/rel"
raw "GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n" >"$T/ftp"
check "400 for an unsupported scheme" grep -qi 'unsupported URL scheme' "$T/ftp"
raw "GET http://user:pw@127.0.0.1:$ORIGIN_PORT/ HTTP/1.1\r\nHost: x\r\n\r\n" >"$T/userinfo"
check "400 for user information in the URL" grep -q '^HTTP/1.1 400' "$T/userinfo"
raw "GET $O/hello HTTP/2.0\r\nHost: x\r\n\r\n" >"$T/h2"
check "400 for HTTP/2.0 in a request line" grep -q '^HTTP/1.1 400' "$T/h2"

body=$(proxy_curl "$O/hello")
check "still serving after all that" [ "$body" = hello ]
check "process alive" kill -0 "$BASCULE_PID"
finish
