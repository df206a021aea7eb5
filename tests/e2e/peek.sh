#!/bin/sh
# Peek and splice: ssl_bump rules at steps 1, 2 and 3 on an ssl-bump port,
# with nginx as a TLS origin with two certificates (SNI vhosts), curl,
# openssl s_client and a Python TLS client that writes its ClientHello one
# byte at a time or over several records.
. "${srcdir:-.}/e2e/lib.sh"
need curl nginx certtool openssl python3

# Two certificates: one for the names the rules test, one whose second
# name only its certificate shows.
server_cert "$T/a" good.test blocked.test xn--bcher-kva.test
server_cert "$T/b" cert-only.test only-in-cert.test
cat "$T/a.pem" "$T/b.pem" >"$T/ca.pem"

TLS_PORT=$(free_port)
nginx_run "$TLS_PORT" <<NGINX
	ssl_protocols TLSv1.2 TLSv1.3;
	server {
		listen 127.0.0.1:$TLS_PORT ssl default_server;
		server_name good.test;
		ssl_certificate $T/a.pem;
		ssl_certificate_key $T/a.key;
		root $T/www;
	}
	server {
		listen 127.0.0.1:$TLS_PORT ssl;
		server_name cert-only.test;
		ssl_certificate $T/b.pem;
		ssl_certificate_key $T/b.key;
		root $T/www;
	}
NGINX
origin_start

printf '127.0.0.1 localhost good.test blocked.test xn--bcher-kva.test cert-only.test\n127.0.0.9 denied.test\n' >"$T/hosts"
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT ssl-bump
request_timeout 3 seconds
client_hello_max_size 200 KB
acl step1 at_step SslBump1
acl step2 at_step SslBump2
acl closed_port port 9
acl blocked ssl::server_name blocked.test
acl idn ssl::server_name .bücher.test
acl in_cert ssl::server_name_regex -i ^ONLY-IN-CERT\\.test\$
acl plain_origin port $ORIGIN_PORT
acl denied_dst dst 127.0.0.9
http_access deny denied_dst
http_access allow localhost
ssl_bump terminate closed_port
ssl_bump peek step1
ssl_bump terminate blocked
ssl_bump terminate idn
ssl_bump peek step2
ssl_bump terminate in_cert
ssl_bump splice all
on_unsupported_protocol tunnel plain_origin
on_unsupported_protocol respond all
EOF

tls() { python3 "$E2E/tlsclient.py" "$PROXY_PORT" "$@" --cafile "$T/ca.pem" --timeout 5; }
origin_fp=$(certtool -i --infile "$T/a.pem" | sed -n '/Fingerprint:/,/Public Key ID:/s/^[[:space:]]*sha256:\([0-9a-f]*\)$/\1/p')

# Peek at steps 1 and 2, then splice at step 3: nothing changed.
out=$(tls good.test "$TLS_PORT")
check "spliced: the page arrives" sh -c "echo '$out' | grep -q '^body hello$'"
check "spliced: the origin's own certificate" sh -c "echo '$out' | grep -q '^cert $origin_fp$'"
code=$(curl -sS --max-time 10 -x "http://127.0.0.1:$PROXY_PORT" --cacert "$T/ca.pem" \
	-o "$T/body" -w '%{http_code}' "https://good.test:$TLS_PORT/hello")
check "curl through peek and splice" [ "$code" = 200 ]
check "logged with SNI and step 3" \
	log_has "TCP_TUNNEL/200 [0-9]+ CONNECT good.test:$TLS_PORT - HIER_DIRECT/127.0.0.1 - sni=good.test ssl_bump=splice step=3 up=[1-9][0-9]*$"
s_fp=$(echo | timeout 10 openssl s_client -proxy "127.0.0.1:$PROXY_PORT" \
	-connect "good.test:$TLS_PORT" -servername good.test 2>/dev/null |
	openssl x509 -noout -fingerprint -sha256 2>/dev/null |
	sed 's/.*=//; s/://g' | tr A-F a-f)
check "openssl s_client sees the origin certificate" [ "$s_fp" = "$origin_fp" ]

# The ClientHello one byte per write, and spread over three records.
out=$(tls good.test "$TLS_PORT" --split 1)
check "ClientHello in 1-byte writes" sh -c "echo '$out' | grep -q '^body hello$'"
out=$(tls good.test "$TLS_PORT" --records 3)
check "ClientHello over three records" sh -c "echo '$out' | grep -q '^body hello$'"
out=$(tls good.test "$TLS_PORT" --records 2 --split 7)
check "two records in 7-byte writes" sh -c "echo '$out' | grep -q '^body hello$'"

# Terminate by server name at step 2; the IDN rule matches punycode SNI.
out=$(tls blocked.test "$TLS_PORT")
check "terminated by SNI" sh -c "echo '$out' | grep -q '^error'"
check "terminate logged at step 2" \
	log_has "CONNECT blocked.test:$TLS_PORT - HIER_NONE/- - sni=blocked.test ssl_bump=terminate step=2 up=0$"
out=$(tls xn--bcher-kva.test "$TLS_PORT")
check "IDN rule terminates punycode SNI" sh -c "echo '$out' | grep -q '^error'"
check "IDN terminate logged" log_has "sni=xn--bcher-kva.test ssl_bump=terminate step=2"

# Step 3: a name only the certificate shows (TLS 1.2; TLS 1.3 hides it).
out=$(tls cert-only.test "$TLS_PORT" --max-version 1.2)
check "TLS 1.2: terminated by a certificate name" sh -c "echo '$out' | grep -q '^error'"
check "certificate-name terminate at step 3" \
	log_has "sni=cert-only.test ssl_bump=terminate step=3"
out=$(tls cert-only.test "$TLS_PORT" --max-version 1.3)
check "TLS 1.3: certificate not visible, spliced" sh -c "echo '$out' | grep -q '^body hello$'"
check "TLS 1.3 splice at step 3" log_has "sni=cert-only.test ssl_bump=splice step=3"

# Step 1: terminate by port, before any 200.
raw "CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n" >"$T/term1"
check "terminate at step 1 sends nothing" [ ! -s "$T/term1" ]
check "step 1 terminate logged" log_has "TCP_DENIED/000 0 CONNECT 127.0.0.1:9 .* ssl_bump=terminate step=1"

# Not TLS: tunnelled to the plain origin, answered elsewhere.
raw "CONNECT 127.0.0.1:$ORIGIN_PORT HTTP/1.1\r\nHost: 127.0.0.1:$ORIGIN_PORT\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" >"$T/plain"
check "HTTP in the tunnel reaches the origin" grep -q "^hello" "$T/plain"
check "unsupported protocol tunnelled" log_has "CONNECT 127.0.0.1:$ORIGIN_PORT .* ssl_bump=tunnel step=2"
raw "CONNECT good.test:$TLS_PORT HTTP/1.1\r\nHost: good.test:$TLS_PORT\r\n\r\nSSH-2.0-OpenSSH_9.2p1 Debian-2\r\n" >"$T/ssh"
check "SSH banner answered with an error" grep -q "X-Bascule-Error: ERR_PROTOCOL_UNKNOWN" "$T/ssh"
raw "CONNECT good.test:$TLS_PORT HTTP/1.1\r\nHost: good.test:$TLS_PORT\r\n\r\n\x00\xff\x13garbage" >"$T/garbage"
check "garbage answered with an error" grep -q "HTTP/1.1 400" "$T/garbage"
check "unsupported protocol answered" log_has "CONNECT good.test:$TLS_PORT .* ssl_bump=respond"

# http_access with a dst acl decides before step 1: a 403, never a 200.
raw "CONNECT denied.test:443 HTTP/1.1\r\nHost: denied.test:443\r\n\r\n" >"$T/denied"
check "dst-denied CONNECT: 403 before any step" grep -q "^HTTP/1.1 403" "$T/denied"
check "dst-denied CONNECT logged" log_has "TCP_DENIED/403 [0-9]+ CONNECT denied.test:443 .* ssl_bump=none step=0"

# TLS that cannot be read is terminated, not tunnelled unread.
echo | timeout 10 openssl s_client -proxy "127.0.0.1:$PROXY_PORT" \
	-connect "good.test:$TLS_PORT" -servername 'good!test' >"$T/badsni" 2>&1
check "unreadable ClientHello: no certificate reached the client" sh -c "! grep -q 'BEGIN CERTIFICATE' '$T/badsni'"
check "unreadable ClientHello terminated" errlog_has "unreadable ClientHello: "
check "unreadable ClientHello logged" log_has "ssl_bump=terminate step=2"

# A 120 KB ClientHello (about the largest possible) over eight records:
# the buffers grow to client_hello_max_size and the SNI is read.
bighello() { # bighello ARGS...: CONNECT, then bighello.py's ClientHello
	{
		printf 'CONNECT good.test:%s HTTP/1.1\r\nHost: good.test\r\n\r\n' "$TLS_PORT"
		python3 "$E2E/bighello.py" "$@"
	} | python3 "$E2E/rawclient.py" 127.0.0.1 "$PROXY_PORT" -
}
bighello blocked.test 65000 55000 >"$T/big"
check "120 KB ClientHello read at step 2" log_has "CONNECT good.test:$TLS_PORT .* sni=blocked.test ssl_bump=terminate step=2"
bighello good.test 1000 1000 300000 >"$T/huge"
check "ClientHello over client_hello_max_size terminated" errlog_has "unreadable ClientHello: ClientHello too large"

# A ClientHello that never completes times out (request_timeout 3 s).
raw --idle 6 "CONNECT good.test:$TLS_PORT HTTP/1.1\r\nHost: good.test:$TLS_PORT\r\n\r\n\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" >"$T/slow"
check "unfinished ClientHello: closed" grep -q "200 Connection established" "$T/slow"
check "unfinished ClientHello timed out" errlog_has "no complete ClientHello in time"
check "the proxy still serves" sh -c "python3 '$E2E/tlsclient.py' $PROXY_PORT good.test $TLS_PORT --cafile '$T/ca.pem' | grep -q '^body hello$'"

# After a reload the port is still an ssl-bump port.
kill -HUP "$BASCULE_PID"
wait_for grep -q "reloaded" "$T/bascule.err"
out=$(tls blocked.test "$TLS_PORT")
check "after a reload: still terminated by SNI" sh -c "echo '$out' | grep -q '^error'"
out=$(tls good.test "$TLS_PORT")
check "after a reload: still spliced" sh -c "echo '$out' | grep -q '^body hello$'"
finish
