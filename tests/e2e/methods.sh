#!/bin/sh
# Every method, bodies with Content-Length and chunked coding both ways,
# hop-by-hop fields removed, Via and X-Forwarded-For added, Max-Forwards.
. "${srcdir:-.}/e2e/lib.sh"
need curl python3
origin_start
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
http_access allow localhost
EOF
O="http://127.0.0.1:$ORIGIN_PORT"

first_line_is() { printf '%s\n' "$1" | head -n 1 | grep -qx "$2"; }
last_line_is() { printf '%s\n' "$1" | tail -n 1 | grep -qx "$2"; }
has_line() { printf '%s\n' "$1" | grep -q "$2"; }

for m in GET POST PUT DELETE OPTIONS PATCH; do
	out=$(proxy_curl -X "$m" -d "body-$m" "$O/echo")
	check "$m reaches the origin in origin-form" first_line_is "$out" "$m /echo HTTP/1.1"
	check "$m body arrives" last_line_is "$out" "body-$m"
done
check "each method logged" log_has "TCP_MISS/200 [0-9]+ PATCH $O/echo"

head -c 200000 /dev/urandom | base64 >"$T/upload"
proxy_curl -H 'Transfer-Encoding: chunked' --data-binary @"$T/upload" "$O/echo" >"$T/chunked.out"
tail -c "$(wc -c <"$T/upload")" "$T/chunked.out" >"$T/chunked.body"
check "chunked request body reaches the origin" cmp -s "$T/chunked.body" "$T/upload"
check "origin saw chunked framing" grep -qi 'Transfer-Encoding: chunked' "$T/origin.log"

out=$(proxy_curl "$O/chunked?n=5")
check "chunked response relayed" [ "$(printf '%s\n' "$out" | wc -l)" -eq 5 ]
out=$(proxy_curl -0 -D "$T/h10" "$O/chunked?n=4")
check "chunked response decoded for an HTTP/1.0 client" [ "$(printf '%s\n' "$out" | grep -c '^chunk')" -eq 4 ]
check "no Transfer-Encoding to the HTTP/1.0 client" sh -c "! grep -qi '^Transfer-Encoding' '$T/h10'"

proxy_curl -o "$T/bigclose" "$O/bigclose?n=3000000"
python3 -c 'import sys; sys.stdout.buffer.write((bytes(range(256)) * 11719)[:3000000])' >"$T/bigclose.want"
check "3 MB close-delimited body intact" cmp -s "$T/bigclose" "$T/bigclose.want"
proxy_curl -o /dev/null "$O/truncated?n=2000000" 2>/dev/null
check "a body cut short by the origin is an error for the client" [ $? -ne 0 ]
check "and logged as aborted" log_has "TCP_MISS_ABORTED/200 [0-9]+ GET $O/truncated"

out=$(proxy_curl "$O/close")
check "close-delimited response relayed" [ "$out" = close-delimited ]

proxy_curl -H 'Connection: X-Secret, keep-alive' -H 'X-Secret: 1' \
	-H 'Keep-Alive: timeout=5' -H 'TE: trailers' -H 'Upgrade: h2c' \
	-H 'Proxy-Authorization: Basic dTpw' -H 'Proxy-Connection: keep-alive' \
	-H 'Trailer: X-T' -H 'X-Forwarded-For: 192.0.2.9' -H 'Via: 1.0 other' \
	-H 'X-Kept: yes' "$O/echo" >"$T/hop.out"
for h in X-Secret Keep-Alive TE Upgrade Proxy-Authorization Proxy-Connection Trailer Connection; do
	check "$h removed" sh -c "! grep -qi '^$h:' '$T/hop.out'"
done
check "end-to-end field kept" grep -q '^X-Kept: yes' "$T/hop.out"
check "Via appended" grep -Eq '^Via: 1.0 other, 1.1 [^ ]+ \(bascule/' "$T/hop.out"
check "X-Forwarded-For appended" grep -q '^X-Forwarded-For: 192.0.2.9, 127.0.0.1' "$T/hop.out"
check "Host from the URL" grep -q "^Host: 127.0.0.1:$ORIGIN_PORT" "$T/hop.out"

proxy_curl -X OPTIONS -H 'Max-Forwards: 0' -D "$T/mf0" -o /dev/null "$O/echo"
check "OPTIONS Max-Forwards: 0 answered by the proxy" grep -qi '^Allow:' "$T/mf0"
out=$(proxy_curl -X TRACE -H 'Max-Forwards: 0' "$O/echo")
check "TRACE Max-Forwards: 0 echoes the request" has_line "$out" "^TRACE $O/echo HTTP/1.1"
out=$(proxy_curl -X OPTIONS -H 'Max-Forwards: 3' "$O/echo")
check "Max-Forwards decremented" has_line "$out" '^Max-Forwards: 2'

code=$(proxy_curl -o /dev/null -w '%{http_code}' "$O/status?code=204")
check "204 without a body" [ "$code" = 204 ]
code=$(proxy_curl -o /dev/null -w '%{http_code}' "$O/status?code=304")
check "304 without a body" [ "$code" = 304 ]
out=$(proxy_curl -d 'x' "$O/early100")
check "100 Continue and the final response in one read" [ "$out" = final ]
out=$(proxy_curl -X TRACE -H 'Max-Forwards: 0' -H 'Proxy-Authorization: Basic c2VjcmV0' \
	-H 'Cookie: s=1' -H 'X-Seen: yes' "$O/echo")
check "TRACE echo keeps ordinary fields" has_line "$out" '^X-Seen: yes'
check "TRACE echo leaves out credentials" sh -c "! printf '%s' \"\$1\" | grep -qiE '^(Proxy-Authorization|Cookie):'" - "$out"
out=$(proxy_curl -H 'Expect: 100-continue' -d 'after-continue' "$O/echo")
check "Expect: 100-continue" last_line_is "$out" after-continue
finish
