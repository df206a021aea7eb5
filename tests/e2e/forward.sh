#!/bin/sh
# Plain HTTP forward proxying to a real nginx: bodies arrive intact, Via is
# added, the access log has Squid's native line.
. "${srcdir:-.}/e2e/lib.sh"
need curl nginx python3
nginx_start
head -c 3000000 /dev/urandom >"$T/www/large"
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
http_access allow localhost
http_access deny all
EOF

body=$(proxy_curl "http://127.0.0.1:$NGINX_PORT/hello")
check "GET through the proxy" [ "$body" = hello ]
check "access log line in Squid's format" log_has \
	"^[0-9]+\.[0-9]{3} +[0-9]+ 127\.0\.0\.1 TCP_MISS/200 [0-9]+ GET http://127\.0\.0\.1:$NGINX_PORT/hello - HIER_DIRECT/127\.0\.0\.1 "

proxy_curl -o "$T/large.out" "http://127.0.0.1:$NGINX_PORT/large"
check "3 MB body intact" cmp -s "$T/www/large" "$T/large.out"

proxy_curl -I "http://127.0.0.1:$NGINX_PORT/hello" >"$T/head.out"
check "HEAD answered" grep -q '^HTTP/1.1 200' "$T/head.out"
check "Via added to the response" grep -qi '^Via: 1.1 .*(bascule/' "$T/head.out"

proxy_curl "http://origin.test:$NGINX_PORT/hello" >"$T/hosts.out"
check "hosts_file maps names" grep -qx hello "$T/hosts.out"

code=$(proxy_curl -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NGINX_PORT/missing")
check "origin 404 passed through" [ "$code" = 404 ]
check "404 logged" log_has "TCP_MISS/404 .* GET http://127\.0\.0\.1:$NGINX_PORT/missing"

code=$(proxy_curl -0 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NGINX_PORT/hello")
check "HTTP/1.0 client" [ "$code" = 200 ]
finish
