#!/bin/sh
# CONNECT: a blind tunnel to a TLS origin (the client sees the origin's own
# certificate), bulk data intact, Safe_ports/SSL_ports rules honoured.
. "${srcdir:-.}/e2e/lib.sh"
need curl nginx certtool python3
nginx_start tls
head -c 5000000 /dev/urandom >"$T/www/large"
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
acl SSL_ports port 443 $NGINX_TLS_PORT
acl CONNECT method CONNECT
http_access deny CONNECT !SSL_ports
http_access allow localhost
http_access deny all
EOF

body=$(proxy_curl --cacert "$T/origin.pem" "https://localhost:$NGINX_TLS_PORT/hello")
check "HTTPS through a CONNECT tunnel" [ "$body" = hello ]
check "tunnel logged" log_has "TCP_TUNNEL/200 [0-9]+ CONNECT localhost:$NGINX_TLS_PORT - HIER_DIRECT/127\.0\.0\.1 -"

proxy_curl --cacert "$T/origin.pem" -o "$T/large.out" "https://localhost:$NGINX_TLS_PORT/large"
check "5 MB through the tunnel intact" cmp -s "$T/www/large" "$T/large.out"
check "tunnel bytes logged" log_has "TCP_TUNNEL/200 5[0-9]{6} CONNECT"

code=$(proxy_curl -p -o /dev/null -w '%{http_connect}' "http://127.0.0.1:$NGINX_PORT/hello")
check "CONNECT to a port outside SSL_ports is denied ($code)" [ "$code" = 403 ]
check "denied CONNECT logged" log_has "TCP_DENIED/403 [0-9]+ CONNECT 127\.0\.0\.1:$NGINX_PORT"

raw "CONNECT localhost:$NGINX_TLS_PORT HTTP/1.1\r\nHost: localhost\r\n\r\nGET / HTTP/1.0\r\n\r\n" >"$T/raw.out"
check "200 Connection established" grep -q '^HTTP/1.1 200 Connection established' "$T/raw.out"
check "bytes after CONNECT reach the origin" grep -q '400' "$T/raw.out"

# The request line arrives with the CONNECT head, in one read that empties
# the socket; the blank line ending it comes later and must still be read.
split=$((64 + ${#NGINX_TLS_PORT}))
raw --split "$split" --delay 0.5 "CONNECT localhost:$NGINX_TLS_PORT HTTP/1.1\r\nHost: localhost\r\n\r\nGET / HTTP/1.0\r\n\r\n" >"$T/late.out"
check "bytes after a short first read reach the origin" grep -q '400' "$T/late.out"

raw "CONNECT localhost HTTP/1.1\r\nHost: localhost\r\n\r\n" >"$T/noport.out"
check "CONNECT without a port is a 400" grep -q '^HTTP/1.1 400' "$T/noport.out"
finish
