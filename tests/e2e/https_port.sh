#!/bin/sh
# https_port: clients that speak TLS to the proxy itself, then send
# requests inside that TLS: plain HTTP in absolute form, and CONNECT to
# another host, whose own TLS runs inside the proxy's.  The client's SNI
# names the proxy, the CONNECT names the origin: they differ, and that is
# how it must be.  curl (--proxy https://), openssl s_client and
# gnutls-cli are the clients; nginx is the origin, plain and TLS; HAProxy
# passes the PROXY protocol in front of one port.
. "${srcdir:-.}/e2e/lib.sh"
need curl nginx certtool openssl gnutls-cli

# One test CA for everything: the clients trust it for the proxy and for
# the origin.
ca_cert "$T/root" "Test Root"
leaf_cert "$T/proxy" "$T/root" proxy.test
leaf_cert "$T/origin" "$T/root" origin.test
leaf_cert "$T/other" "$T/root" other.test
cat "$T/proxy.pem" "$T/proxy.key" >"$T/proxy-both.pem" # key in the same file
check "the certificates are made" [ -s "$T/proxy.pem" ] && [ -s "$T/origin.pem" ]

# -k parse loads the proxy's certificate: a key that is not its key, or an
# https_port without a certificate, is an error at its line.
printf 'http_access allow all\nhttps_port 127.0.0.1:9 tls-cert=%s tls-key=%s\n' \
	"$T/proxy.pem" "$T/other.key" >"$T/mismatch.conf"
"$BASCULE" -k parse -f "$T/mismatch.conf" >"$T/mismatch.out" 2>&1
check "-k parse: a key that is not the certificate's is an error" [ $? -eq 1 ]
check "-k parse: the error names the line and the files" \
	grep -q "mismatch.conf:2: .*proxy.pem, .*other.key: .*do not match" "$T/mismatch.out"
printf 'https_port 127.0.0.1:9\n' >"$T/nocert.conf"
"$BASCULE" -k parse -f "$T/nocert.conf" >"$T/nocert.out" 2>&1
check "-k parse: https_port needs tls-cert=" [ $? -eq 1 ]
check "-k parse: says so at its line" \
	grep -q "nocert.conf:1: https_port: tls-cert= is required" "$T/nocert.out"

# The origin: /hello and a large file, over HTTP and HTTPS; origin.py
# echoes, and nginx passes /echo on to it.
origin_start
NGINX_PORT=$(free_port)
TLS_PORT=$(free_port)
mkdir -p "$T/www"
head -c 8000000 /dev/urandom >"$T/www/big"
nginx_run "$TLS_PORT" <<NGINX
	client_max_body_size 10m;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $T/www;
	}
	server {
		listen 127.0.0.1:$TLS_PORT ssl;
		server_name origin.test;
		ssl_certificate $T/origin.pem;
		ssl_certificate_key $T/origin.key;
		root $T/www;
		location /echo { proxy_pass http://127.0.0.1:$ORIGIN_PORT; }
	}
NGINX
wait_port "$NGINX_PORT" || fail "nginx listens on $NGINX_PORT"

# A Basic helper (Squid's protocol) for private.test: credentials go
# inside the TLS with the proxy.
cat >"$T/helper.sh" <<'SH'
#!/bin/sh
while read -r user pass; do
	if [ "$user" = alice ] && [ "$pass" = s3cret ]; then echo OK; else echo ERR; fi
done
SH
chmod 755 "$T/helper.sh"
printf '127.0.0.1 localhost origin.test private.test\n' >"$T/hosts"

P13_PORT=$(free_port)
PP_PORT=$(free_port)
bascule_start <<EOF
https_port 127.0.0.1:$PROXY_PORT tls-cert=$T/proxy.pem tls-key=$T/proxy.key
https_port 127.0.0.1:$P13_PORT tls-cert=$T/proxy-both.pem tls-min-version=1.3
https_port 127.0.0.1:$PP_PORT require-proxy-header tls-cert=$T/proxy.pem tls-key=$T/proxy.key
proxy_protocol_access allow localhost
acl SSL_ports port $TLS_PORT
acl CONNECT method CONNECT
acl denied dstdomain denied.test
auth_param basic program $T/helper.sh
auth_param basic realm bascule-test
acl authed proxy_auth REQUIRED
acl private dstdomain private.test
http_access deny CONNECT !SSL_ports
http_access deny denied
http_access deny private !authed
http_access allow all
request_timeout 2 seconds
EOF
wait_port "$P13_PORT" && wait_port "$PP_PORT" || fail "bascule listens on every port"

# curl through the proxy over TLS, trusting the test CA for the proxy.
tls_curl() { # PORT ARGS...
	tc_port=$1
	shift
	curl -sS --max-time 10 --proxy "https://proxy.test:$tc_port" \
		--resolve "proxy.test:$tc_port:127.0.0.1" \
		--proxy-cacert "$T/root.pem" "$@"
}
hs_count() { grep -c "TLS with the client: " "$T/bascule.err"; }

body=$(tls_curl "$PROXY_PORT" "http://origin.test:$NGINX_PORT/hello")
check "plain HTTP inside TLS to the proxy" [ "$body" = hello ]
check "it is logged as a forward request" \
	log_has "TCP_MISS/200 [0-9]+ GET http://origin.test:$NGINX_PORT/hello "
check "the client's SNI names the proxy" \
	errlog_has "TLS with the client: TLSv1.3, SNI proxy.test"

# CONNECT inside TLS: the origin's TLS runs in the proxy's, and the client
# verifies the origin, not the proxy, at the end of it.
body=$(tls_curl "$PROXY_PORT" --cacert "$T/root.pem" \
	"https://origin.test:$TLS_PORT/hello")
check "CONNECT to another host inside TLS to the proxy" [ "$body" = hello ]
check "the tunnel is logged under the CONNECT's name" \
	log_has "TCP_TUNNEL/200 [0-9]+ CONNECT origin.test:$TLS_PORT "

sum() { sha256sum | cut -d' ' -f1; }
want=$(sum <"$T/www/big")
got=$(tls_curl "$PROXY_PORT" --cacert "$T/root.pem" \
	"https://origin.test:$TLS_PORT/big" | sum)
check "8 MB through a tunnel inside TLS arrive whole" [ "$got" = "$want" ]
got=$(tls_curl "$PROXY_PORT" "http://origin.test:$NGINX_PORT/big" | sum)
check "8 MB of a plain response inside TLS arrive whole" [ "$got" = "$want" ]

# A TLS 1.3 client that asks bascule to update its keys (RFC 8446 4.6.3)
# while bascule's writes to it wait: GnuTLS would send the record it holds
# half-sent a second time after the KeyUpdate, and the client would get
# 16 KiB twice (struct bump_io, src/bump.h).
got=$(python3 "$E2E/gnutls_peer.py" keyupdate "$PROXY_PORT" \
	"http://origin.test:$NGINX_PORT/big" --hold 2 --updates 3 --timeout 90)
check "a KeyUpdate while bascule's writes wait: each byte arrives once" \
	[ "$got" = "8000000 $want" ]

# Uploads, echoed: through the tunnel, and inside TLS to the proxy.
head -c 3000000 /dev/urandom >"$T/upload"
want=$(sum <"$T/upload")
got=$(tls_curl "$PROXY_PORT" --cacert "$T/root.pem" --data-binary @"$T/upload" \
	"https://origin.test:$TLS_PORT/echo" | tail -c 3000000 | sum)
check "a 3 MB POST through a tunnel inside TLS arrives whole" [ "$got" = "$want" ]
got=$(tls_curl "$PROXY_PORT" --data-binary @"$T/upload" \
	"http://127.0.0.1:$ORIGIN_PORT/echo" | tail -c 3000000 | sum)
check "a 3 MB POST inside TLS to the proxy arrives whole" [ "$got" = "$want" ]

# Keep-alive: two requests, one TLS session with the proxy.
before=$(hs_count)
n=$(tls_curl "$PROXY_PORT" -o /dev/null -o /dev/null -w '%{http_code}\n' \
	"http://origin.test:$NGINX_PORT/hello" \
	"http://origin.test:$NGINX_PORT/hello" | grep -c '^200$')
check "two requests on one connection" [ "$n" = 2 ]
check "...after one handshake" [ "$(hs_count)" -eq $((before + 1)) ]

# http_access inside TLS: the refusal is an HTTP answer inside the session.
code=$(tls_curl "$PROXY_PORT" -o "$T/denied.html" -w '%{http_code}' \
	"http://denied.test/")
check "a denied request gets 403 inside TLS" [ "$code" = 403 ]
check "...with the error page" grep -q ERR_ACCESS_DENIED "$T/denied.html"
check "...and the denial is logged" \
	log_has "TCP_DENIED/403 [0-9]+ GET http://denied.test/ "
code=$(tls_curl "$PROXY_PORT" -o /dev/null -w '%{http_connect}' \
	--proxytunnel "http://origin.test:$NGINX_PORT/hello")
check "CONNECT to a port not in SSL_ports: 403" [ "$code" = 403 ]

# Proxy authentication inside TLS: the credentials never cross in clear.
code=$(tls_curl "$PROXY_PORT" -o /dev/null -w '%{http_code}' \
	"http://private.test:$NGINX_PORT/hello")
check "no credentials inside TLS: 407" [ "$code" = 407 ]
body=$(tls_curl "$PROXY_PORT" --proxy-user alice:s3cret \
	"http://private.test:$NGINX_PORT/hello")
check "Basic credentials inside TLS to the proxy" [ "$body" = hello ]
check "...the user is logged" \
	log_has "TCP_MISS/200 [0-9]+ GET http://private.test:$NGINX_PORT/hello alice "

# A client that does not trust the proxy's certificate.
curl -sS --max-time 10 --proxy "https://proxy.test:$PROXY_PORT" \
	--resolve "proxy.test:$PROXY_PORT:127.0.0.1" \
	"http://origin.test:$NGINX_PORT/hello" >/dev/null 2>"$T/untrusted.err"
check "a client that does not trust the proxy stops" [ $? -eq 60 ]
check "bascule logs the failed handshake" \
	errlog_has "TLS with the client failed: "

# Plain HTTP to a TLS port is no TLS: closed, with the reason logged.
raw 'GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n' >"$T/plain.out"
check "plain HTTP to an https_port gets no HTTP answer" \
	sh -c "! grep -q HTTP/ '$T/plain.out'"

# A client that opens a connection and says nothing is closed after
# request_timeout, and nobody else waits for it.
python3 - "$PROXY_PORT" >"$T/stall.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(15)
start = time.monotonic()
try:
    data = s.recv(1)
except OSError:
    data = b""
print("closed after %.0f s" % (time.monotonic() - start) if not data else "data")
PY
STALL_PID=$!
body=$(tls_curl "$PROXY_PORT" "http://origin.test:$NGINX_PORT/hello")
check "others are served while a handshake stalls" [ "$body" = hello ]
wait "$STALL_PID"
check "a stalled handshake is closed" grep -q "closed after" "$T/stall.out"
check "...and logged" errlog_has "TLS handshake did not finish in time"

# tls-min-version=1.3, and the tls-cert= file that holds the key too.
body=$(tls_curl "$P13_PORT" "http://origin.test:$NGINX_PORT/hello")
check "a port whose tls-cert= file holds the key" [ "$body" = hello ]
openssl s_client -connect "127.0.0.1:$P13_PORT" -servername proxy.test \
	-tls1_2 </dev/null >"$T/tls12.out" 2>&1
check "tls-min-version=1.3 refuses TLS 1.2" [ $? -ne 0 ]
gnutls-cli -p "$PROXY_PORT" --sni-hostname proxy.test \
	--verify-hostname proxy.test --x509cafile "$T/root.pem" \
	--priority "NORMAL:-VERS-ALL:+VERS-TLS1.1" 127.0.0.1 \
	</dev/null >"$T/tls11.out" 2>&1
check "TLS 1.1 is refused by default (RFC 8996)" [ $? -ne 0 ]
printf 'GET http://origin.test:%s/hello HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n' \
	"$NGINX_PORT" | openssl s_client -quiet -connect "127.0.0.1:$PROXY_PORT" \
	-servername proxy.test -CAfile "$T/root.pem" -tls1_2 \
	>"$T/tls12ok.out" 2>&1
check "TLS 1.2 is taken by default" grep -q '^hello' "$T/tls12ok.out"

# Session tickets: a second connection resumes the first session.
printf 'GET http://origin.test:%s/hello HTTP/1.1\r\nHost: origin.test\r\n\r\n' \
	"$NGINX_PORT" >"$T/req"
gnutls-cli -p "$PROXY_PORT" --sni-hostname proxy.test \
	--verify-hostname proxy.test --x509cafile "$T/root.pem" --resume \
	--waitresumption 127.0.0.1 <"$T/req" >"$T/resume.out" 2>&1
check "a client resumes its session with a ticket" \
	grep -q "This is a resumed session" "$T/resume.out"
check "...logged as resumed" errlog_has "TLS with the client: TLSv1.3, resumed"

# The PROXY protocol in front of TLS: HAProxy passes the client address.
if command -v haproxy >/dev/null 2>&1; then
	HA_PORT=$(free_port)
	haproxy_start "$HA_PORT" "" "bascule 127.0.0.1:$PP_PORT send-proxy-v2"
	body=$(tls_curl "$HA_PORT" --interface 127.0.0.2 \
		"http://origin.test:$NGINX_PORT/hello")
	check "TLS to the proxy behind HAProxy's PROXY header" [ "$body" = hello ]
	check "...logged with the client's own address" \
		log_has "127.0.0.2 TCP_MISS/200 [0-9]+ GET http://origin.test:$NGINX_PORT/hello "
else
	echo "# no haproxy: the PROXY protocol case is skipped"
fi

# A reload keeps serving with the certificate (read again, or kept when
# the key can no longer be read after privileges were dropped).
kill -HUP "$BASCULE_PID"
check "reload" errlog_has "reloaded"
body=$(tls_curl "$PROXY_PORT" "http://origin.test:$NGINX_PORT/hello")
check "TLS to the proxy after a reload" [ "$body" = hello ]

# A reload that moves the port lines (which needs a restart: the running
# ports stay) must not move the ports' certificates and versions with
# them: the first two https_port lines swapped, and a new port in front.
reloads() { grep -c "reloaded" "$T/bascule.err"; }
before=$(reloads)
awk -v extra="http_port 127.0.0.1:$(free_port)" '
	/^https_port .*:'"$PROXY_PORT"' / { first = $0; next }
	/^https_port .*:'"$P13_PORT"' / { print extra; print; print first; next }
	{ print }' "$T/bascule.conf" >"$T/moved.conf"
cp "$T/moved.conf" "$T/bascule.conf"
kill -HUP "$BASCULE_PID"
wait_for sh -c "[ \$(grep -c reloaded '$T/bascule.err') -gt $before ]"
check "moved port lines: a restart is asked for" \
	errlog_has "http_port cannot change on reload"
body=$(tls_curl "$PROXY_PORT" "http://origin.test:$NGINX_PORT/hello")
check "...and TLS to the proxy still works" [ "$body" = hello ]
printf 'GET http://origin.test:%s/hello HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n' \
	"$NGINX_PORT" | openssl s_client -quiet -connect "127.0.0.1:$PROXY_PORT" \
	-servername proxy.test -CAfile "$T/root.pem" -tls1_2 \
	>"$T/moved12.out" 2>&1
check "...with the port's own tls-min-version (1.2)" grep -q '^hello' "$T/moved12.out"
openssl s_client -connect "127.0.0.1:$P13_PORT" -servername proxy.test \
	-tls1_2 </dev/null >"$T/moved13.out" 2>&1
check "...and the other port's (1.3)" [ $? -ne 0 ]
check "bascule is still running" kill -0 "$BASCULE_PID"
finish
