#!/bin/sh
# Bump: ssl_bump bump and stare, with a CA made by bascule --init-ca.
# nginx is the TLS origin (a chain root -> intermediate -> leaf, served
# whole, without its intermediate, and a self-signed stranger; and leaves
# served alone whose issuer is behind their caIssuers URL, on origin.py);
# curl, and openssl s_client are the clients; a second bascule is the
# parent proxy that bumped traffic leaves through.
. "${srcdir:-.}/e2e/lib.sh"
need curl nginx certtool openssl

# The origins' PKI: root, intermediate, leaves.
ca_cert "$T/root" "Test Root"
ca_cert "$T/inter" "Test Intermediate" "$T/root"
leaf_cert "$T/good" "$T/inter" good.test stare.test splice.test bare.test \
	first.test far.test
cat "$T/good.pem" "$T/inter.pem" >"$T/good-chain.pem"
server_cert "$T/evil" evil.test
server_cert "$T/lab" lab.test

# AIA (RFC 5280 4.2.2.1): leaves that name where their issuer is, a CA
# "AIA Intermediate" that no configuration knows, served by origin.py.
aia_cert() { # PREFIX SIGNER URL [NAME]: a leaf for NAME, or a CA
	certtool --generate-privkey --key-type=ecdsa --outfile "$1.key" \
		>/dev/null 2>&1
	{
		if [ $# -eq 4 ]; then
			printf 'cn = "%s"\ndns_name = "%s"\ntls_www_server\n' "$4" "$4"
		else
			printf 'cn = "AIA Sub Intermediate"\nca\ncert_signing_key\n'
		fi
		echo "ca_issuers_uri = \"$3\""
		echo "expiration_days = 30"
	} >"$1.tmpl"
	certtool --generate-certificate --load-privkey "$1.key" \
		--load-ca-certificate "$2.pem" --load-ca-privkey "$2.key" \
		--template "$1.tmpl" --outfile "$1.pem" >/dev/null 2>&1
}
mkdir "$T/aia"
ORIGIN_FILES=$T/aia
export ORIGIN_FILES
origin_start
AIA="http://aia.test:$ORIGIN_PORT"
ca_cert "$T/ainter" "AIA Intermediate" "$T/root"
aia_cert "$T/ainter2" "$T/ainter" "$AIA/file?name=ainter.der&via=sub"
openssl x509 -in "$T/ainter.pem" -outform DER -out "$T/aia/ainter.der"
openssl x509 -in "$T/ainter2.pem" -outform DER -out "$T/aia/ainter2.der"
cp "$T/ainter.pem" "$T/aia/ainter.pem"
certtool --p7-generate --load-certificate "$T/ainter.pem" --outder \
	--outfile "$T/aia/ainter.p7c" >/dev/null 2>&1
aia_cert "$T/aia-der" "$T/ainter" "$AIA/file?name=ainter.der" aia-der.test
aia_cert "$T/aia-p7" "$T/ainter" "$AIA/file?name=ainter.p7c" aia-p7.test
aia_cert "$T/aia-pem" "$T/ainter" "$AIA/file?name=ainter.pem" aia-pem.test
aia_cert "$T/aia-deep" "$T/ainter2" "$AIA/file?name=ainter2.der" aia-deep.test
aia_cert "$T/aia-wait" "$T/ainter" "$AIA/file?name=ainter.der&s=1" aia-wait.test
aia_cert "$T/aia-404" "$T/ainter" "$AIA/file?name=missing.der" aia-404.test
aia_cert "$T/aia-slow" "$T/ainter" "$AIA/slow?s=20" aia-slow.test
aia_cert "$T/aia-junk" "$T/ainter" "$AIA/hello" aia-junk.test
check "AIA: the certificates are made" \
	[ -s "$T/aia-junk.pem" ] && [ -s "$T/aia/ainter.p7c" ]

# The bumping CA, as the package makes it.
mkdir "$T/ca"
"$BASCULE" --init-ca --ca-dir "$T/ca" >/dev/null 2>&1
check "--init-ca made the bumping CA" [ -s "$T/ca/ca.crt" ]

# -k parse loads the CA: a certificate that is no CA stops it.
printf 'http_port 127.0.0.1:9 ssl-bump tls-cert=%s tls-key=%s\n' \
	"$T/good.pem" "$T/good.key" >"$T/notca.conf"
"$BASCULE" -k parse -f "$T/notca.conf" >"$T/notca.out" 2>&1
check "-k parse: a tls-cert= that is no CA is an error" [ $? -eq 1 ]
check "-k parse: the error names the port and the file" \
	grep -q "notca.conf:1: .*good.pem: not a CA certificate" "$T/notca.out"

TLS_PORT=$(free_port)
vhost() { # NAME CERT: a TLS server block for NAME, with CERT.pem and CERT.key
	printf '\tserver {\n\t\tlisten 127.0.0.1:%s ssl;\n\t\tserver_name %s;\n' \
		"$TLS_PORT" "$1"
	printf '\t\tssl_certificate %s.pem;\n\t\tssl_certificate_key %s.key;\n' \
		"$T/$2" "$T/$2"
	printf '\t\troot %s/www;\n\t}\n' "$T"
}
{
	cat <<NGINX
	ssl_protocols TLSv1.2 TLSv1.3;
	server {
		listen 127.0.0.1:$TLS_PORT ssl default_server;
		server_name good.test stare.test splice.test;
		ssl_certificate $T/good-chain.pem;
		ssl_certificate_key $T/good.key;
		root $T/www;
		location /echo-host { return 200 "host \$host\n"; }
	}
NGINX
	vhost bare.test good # without its intermediate
	vhost lab.test lab
	vhost evil.test evil
	for n in der p7 pem deep wait 404 slow junk; do
		vhost "aia-$n.test" "aia-$n"
	done
} >"$T/vhosts"
nginx_run "$TLS_PORT" <"$T/vhosts" # not in a pipe: its PID is kept
DEAD_PORT=$(free_port)

printf '127.0.0.1 localhost good.test stare.test splice.test bare.test evil.test lab.test first.test far.test\n' >"$T/hosts"
printf '127.0.0.1 aia.test aia-der.test aia-p7.test aia-pem.test aia-deep.test aia-wait.test aia-404.test aia-slow.test aia-junk.test silent.test\n' >>"$T/hosts"
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT ssl-bump tls-cert=$T/ca/ca.crt tls-key=$T/ca/ca.key
tls_outgoing_options cafile=$T/root.pem
sslproxy_foreign_intermediate_certs $T/inter.pem
acl step1 at_step SslBump1
acl step2 at_step SslBump2
acl first dstdomain first.test
acl stare_name ssl::server_name stare.test
acl splice_name ssl::server_name splice.test
acl put method PUT
acl lab dstdomain lab.test
acl self_signed ssl_error ssl::certSelfSigned
sslproxy_cert_error allow lab self_signed
sslproxy_cert_error deny all
http_access deny put
http_access allow localhost
ssl_bump bump first
ssl_bump peek step1
ssl_bump splice splice_name
ssl_bump stare step2 stare_name
ssl_bump bump all
EOF

pcurl() { curl -sS --max-time 10 -x "http://127.0.0.1:$PROXY_PORT" --cacert "$T/ca/ca.crt" "$@"; }
issuer() { # HOST [PROXY_PORT]: the issuer CN of what the client is shown
	echo | timeout 10 openssl s_client -proxy "127.0.0.1:${2:-$PROXY_PORT}" \
		-connect "$1:$TLS_PORT" -servername "$1" 2>/dev/null |
		openssl x509 -noout -issuer -nameopt multiline 2>/dev/null |
		sed -n 's/^ *commonName *= *//p'
}
serial() {
	echo | timeout 10 openssl s_client -proxy "127.0.0.1:$PROXY_PORT" \
		-connect "$1:$TLS_PORT" -servername "$1" 2>/dev/null |
		openssl x509 -noout -serial 2>/dev/null
}
ca_cn=$(openssl x509 -in "$T/ca/ca.crt" -noout -subject -nameopt multiline |
	sed -n 's/^ *commonName *= *//p')

# Peek at step 1, bump at step 2: the page, behind a mimicked certificate.
body=$(pcurl "https://good.test:$TLS_PORT/hello")
check "bumped: the page arrives" [ "$body" = hello ]
check "bumped: the CONNECT is logged as bumped at step 2" \
	log_has "NONE_NONE/200 [0-9]+ CONNECT good.test:$TLS_PORT - HIER_DIRECT/127\.0\.0\.1 - sni=good.test ssl_bump=bump step=2 "
check "bumped: the request inside is logged with its https URL" \
	log_has "TCP_MISS/200 [0-9]+ GET https://good.test:$TLS_PORT/hello - HIER_DIRECT/127\.0\.0\.1 text/plain"
check "bumped: the client is shown bascule's CA as issuer" \
	[ "$(issuer good.test)" = "$ca_cn" ]
s1=$(serial good.test)
s2=$(serial good.test)
check "the mimicked certificate is the same each time" \
	sh -c "[ -n '$s1' ] && [ '$s1' = '$s2' ]"
subj=$(echo | timeout 10 openssl s_client -proxy "127.0.0.1:$PROXY_PORT" \
	-connect "good.test:$TLS_PORT" -servername good.test 2>/dev/null |
	openssl x509 -noout -ext subjectAltName 2>/dev/null | tr -d ' \n')
check "the origin's names are copied" \
	sh -c "echo '$subj' | grep -q 'DNS:good.test,DNS:stare.test'"

# Keep-alive inside the bump: one CONNECT, two requests, one handshake.
: >"$T/access.log"
out=$(pcurl "https://good.test:$TLS_PORT/hello" "https://good.test:$TLS_PORT/echo-host")
check "two requests on one bumped connection" \
	sh -c "[ \"\$(echo '$out' | tr '\n' ' ')\" = 'hello host good.test ' ]"
check "both logged" log_has "GET https://good.test:$TLS_PORT/echo-host "
check "under one CONNECT" \
	[ "$(grep -c "CONNECT good.test:$TLS_PORT" "$T/access.log")" = 1 ]

# A request body goes through; nginx refuses POST to a file with 405.
code=$(pcurl -o /dev/null -w '%{http_code}' -d 'a=b' "https://good.test:$TLS_PORT/hello")
check "a POST inside the bump reaches the origin" [ "$code" = 405 ]

# http_access applies to every request inside the bump.
code=$(pcurl -o "$T/put.html" -w '%{http_code}' -X PUT -d x "https://good.test:$TLS_PORT/hello")
check "http_access denies inside the bump: 403" [ "$code" = 403 ]
check "the denial is an error page over TLS" grep -q ERR_ACCESS_DENIED "$T/put.html"
check "the denial is logged with the https URL" \
	log_has "TCP_DENIED/403 [0-9]+ PUT https://good.test:$TLS_PORT/hello "

# A head too large for the buffer leaves decrypted bytes in GnuTLS; its
# client keeps the connection open after the 431.  The worker serves
# others meanwhile (CONN_REPLY used to drain the socket, not the session,
# and side_feed_pending() fed EV_READ for ever: one client froze the loop).
python3 "$E2E/tlsclient.py" "$PROXY_PORT" good.test "$TLS_PORT" \
	--cafile "$T/ca/ca.crt" --timeout 10 --hold 4 \
	--send 'GET /hello HTTP/1.1\r\nHost: good.test\r\nX-Pad: ' \
	--pad 100000 >"$T/bighead.out" 2>&1 &
bighead=$!
sleep 1
body=$(curl -sS --max-time 3 -x "http://127.0.0.1:$PROXY_PORT" \
	--cacert "$T/ca/ca.crt" "https://good.test:$TLS_PORT/hello")
check "a client lingering after a 431 inside the bump stalls nobody" \
	[ "$body" = hello ]
wait "$bighead"
check "and it got its 431 over TLS" grep -q '^status 431' "$T/bighead.out"

# A server that omits its intermediate: completed from the local bundle.
body=$(pcurl "https://bare.test:$TLS_PORT/hello")
check "the missing intermediate comes from sslproxy_foreign_intermediate_certs" \
	[ "$body" = hello ]

# An untrusted server: the client sees an untrusted issuer, and an error
# page when it goes on anyway.
pcurl -o /dev/null "https://evil.test:$TLS_PORT/hello" 2>"$T/evil.err"
check "untrusted server: curl refuses the mimicked certificate" \
	grep -qi "certificate" "$T/evil.err"
check "untrusted server: signed by the untrusted issuer" \
	[ "$(issuer evil.test)" = "bascule untrusted issuer" ]
code=$(pcurl -k -o "$T/evil.html" -w '%{http_code}' "https://evil.test:$TLS_PORT/hello")
check "untrusted server: 503 when the client goes on" [ "$code" = 503 ]
check "untrusted server: ERR_SECURE_CONNECT_FAIL names the reason" \
	sh -c "grep -q ERR_SECURE_CONNECT_FAIL '$T/evil.html' && grep -q 'X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT' '$T/evil.html'"
check "untrusted server: logged" errlog_has "the certificate of evil.test is not trusted"

# sslproxy_cert_error lets one self-signed lab server through.
body=$(pcurl "https://lab.test:$TLS_PORT/hello")
check "sslproxy_cert_error allows the lab's self-signed certificate" [ "$body" = hello ]
check "the lab is shown a certificate of bascule's CA" \
	[ "$(issuer lab.test)" = "$ca_cn" ]
check "the allowed error is logged" \
	errlog_has "server lab.test: .*X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT \(allowed by sslproxy_cert_error\)"

# A server that is down: the error page comes over TLS, not a reset.
code=$(pcurl -o "$T/down.html" -w '%{http_code}' "https://good.test:$DEAD_PORT/hello")
check "server down: 502 inside the bump" [ "$code" = 502 ]
check "server down: ERR_CONNECT_FAIL" grep -q ERR_CONNECT_FAIL "$T/down.html"

# Stare at step 2: bascule's own handshake, the certificate's names at step 3.
body=$(pcurl "https://stare.test:$TLS_PORT/hello")
check "stare then bump" [ "$body" = hello ]
check "stare: decided at step 3" \
	log_has "CONNECT stare.test:$TLS_PORT - HIER_DIRECT/127\.0\.0\.1 - sni=stare.test ssl_bump=bump step=3 "

# Splice by name still leaves the origin's certificate alone.
check "splice by name: the origin's chain" \
	[ "$(issuer splice.test)" = "Test Intermediate" ]

# Bump at step 1 (the rule before any peek): ClientHello first, then the same.
body=$(pcurl "https://first.test:$TLS_PORT/hello")
check "bump at step 1" [ "$body" = hello ]
check "bump at step 1: logged at step 1" \
	log_has "CONNECT first.test:$TLS_PORT - HIER_DIRECT/127\.0\.0\.1 - sni=first.test ssl_bump=bump step=1 "

# A reload: run as root, bascule has dropped to nobody and can no longer
# read the CA key (0600 root): it keeps the CA it loaded at start.
if [ "$(id -u)" = 0 ]; then
	kill -HUP "$BASCULE_PID"
	check "reload: the unreadable CA is kept" \
		errlog_has "ca.key: .*keeping the certificate loaded before"
	check "reload: done" errlog_has "reloaded "
fi
body=$(pcurl "https://good.test:$TLS_PORT/hello")
check "bumping goes on after the reload" [ "$body" = hello ]

# The client refuses bascule's CA: logged, nothing else harmed.
curl -sS --max-time 10 -x "http://127.0.0.1:$PROXY_PORT" -o /dev/null \
	"https://good.test:$TLS_PORT/hello" 2>/dev/null
check "a client that refuses the CA is logged" errlog_has "TLS with the client failed"
body=$(pcurl "https://good.test:$TLS_PORT/hello")
check "and the next client is served" [ "$body" = hello ]

# Through a parent: bascule sends its own CONNECT, TLS runs inside it.
PARENT_PORT=$(free_port)
CHILD_PORT=$PROXY_PORT
PROXY_PORT=$PARENT_PORT
BASCULE_NAME=parent bascule_start <<EOF
http_port 127.0.0.1:$PARENT_PORT
http_access allow localhost
EOF
PROXY_PORT=$(free_port)
BASCULE_NAME=child bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT ssl-bump tls-cert=$T/ca/ca.crt tls-key=$T/ca/ca.key
tls_outgoing_options cafile=$T/root.pem
cache_peer 127.0.0.1 parent $PARENT_PORT 0 no-query name=up
never_direct allow all
acl step1 at_step SslBump1
http_access allow localhost
ssl_bump peek step1
ssl_bump bump all
EOF
body=$(pcurl "https://far.test:$TLS_PORT/echo-host")
check "bumped through a parent" [ "$body" = "host far.test" ]
check "the parent saw a CONNECT" \
	file_has "TCP_TUNNEL/200 [0-9]+ CONNECT far.test:$TLS_PORT " "$T/parent.access.log"
check "the child logs the request through the parent" \
	file_has "TCP_MISS/200 [0-9]+ GET https://far.test:$TLS_PORT/echo-host - FIRSTUP_PARENT/127\.0\.0\.1 " "$T/child.access.log"
pcurl -o /dev/null "https://bare.test:$TLS_PORT/hello" 2>"$T/bare.err"
check "without the local bundle, a missing intermediate fails" \
	grep -qi "certificate" "$T/bare.err"
PROXY_PORT=$CHILD_PORT

# AIA: bascule fetches a missing issuer from the caIssuers URL of the
# chain's end itself.  That is its own request: http_access, which denies
# every client request to aia.test here, does not apply to it.
PROXY_PORT=$(free_port)
BASCULE_NAME=bascule-aia bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT ssl-bump tls-cert=$T/ca/ca.crt tls-key=$T/ca/ca.key
tls_outgoing_options cafile=$T/root.pem
connect_timeout 2 seconds
read_timeout 2 seconds
acl aia dstdomain aia.test
http_access deny aia
http_access allow localhost
ssl_bump bump all
EOF
AIA_PID=$BASCULE_PID
aia_log() { file_has "$1" "$T/bascule-aia.err"; }
fetches() { grep -cF "GET /$1 HTTP/1.1" "$T/origin.log"; }
esc_port="aia\.test:$ORIGIN_PORT"

code=$(pcurl -o /dev/null -w '%{http_code}' "$AIA/file?name=ainter.der")
check "AIA: a client may not fetch from aia.test" [ "$code" = 403 ]
check "AIA: that request never reached the origin" \
	[ "$(fetches 'file?name=ainter.der')" = 0 ]
body=$(pcurl "https://aia-der.test:$TLS_PORT/hello")
check "AIA: a DER issuer completes the chain" [ "$body" = hello ]
check "AIA: fetched once" [ "$(fetches 'file?name=ainter.der')" = 1 ]
check "AIA: an HTTP/1.1 request with Host and Connection: close" \
	sh -c "grep -q 'Host: aia.test:$ORIGIN_PORT' '$T/origin.log' && grep -q 'Connection: close' '$T/origin.log'"
check "AIA: the fetch is logged" \
	aia_log "aia http://$esc_port/file\?name=ainter.der: 1 certificate, [0-9]+ bytes"
check "AIA: the client is shown bascule's CA" \
	[ "$(issuer aia-der.test)" = "$ca_cn" ]
body=$(pcurl "https://aia-der.test:$TLS_PORT/hello")
check "AIA: a second connection verifies too" [ "$body" = hello ]
check "AIA: from the cache: no second fetch" \
	[ "$(fetches 'file?name=ainter.der')" = 1 ]
check "AIA: the access log has the client's request, not bascule's" \
	sh -c "grep ainter '$T/bascule-aia.access.log' | grep -qv TCP_DENIED/403; [ \$? = 1 ]"

body=$(pcurl "https://aia-p7.test:$TLS_PORT/hello")
check "AIA: a certs-only PKCS#7 (DER) completes the chain" [ "$body" = hello ]
body=$(pcurl "https://aia-pem.test:$TLS_PORT/hello")
check "AIA: a PEM issuer completes the chain" [ "$body" = hello ]
body=$(pcurl "https://aia-deep.test:$TLS_PORT/hello")
check "AIA: two fetches up a chain of two missing issuers" [ "$body" = hello ]
check "AIA: the second URL is the first issuer's" \
	[ "$(fetches 'file?name=ainter.der&via=sub')" = 1 ]

# Two connections at once, one slow fetch: they share it.
pcurl -o "$T/wait1.out" "https://aia-wait.test:$TLS_PORT/hello" 2>/dev/null &
w1=$!
pcurl -o "$T/wait2.out" "https://aia-wait.test:$TLS_PORT/hello" 2>/dev/null &
w2=$!
wait "$w1"
wait "$w2"
check "AIA: two connections waiting for one fetch are both served" \
	[ "$(cat "$T/wait1.out" "$T/wait2.out" | tr '\n' ' ')" = "hello hello " ]
check "AIA: one fetch for both" [ "$(fetches 'file?name=ainter.der&s=1')" = 1 ]

# An issuer that is not there: the server stays untrusted, nothing else.
pcurl -o /dev/null "https://aia-404.test:$TLS_PORT/hello" 2>"$T/aia404.err"
check "AIA 404: the client refuses the certificate" \
	grep -qi certificate "$T/aia404.err"
check "AIA 404: signed by the untrusted issuer" \
	[ "$(issuer aia-404.test)" = "bascule untrusted issuer" ]
code=$(pcurl -k -o "$T/aia404.html" -w '%{http_code}' "https://aia-404.test:$TLS_PORT/hello")
check "AIA 404: 503 when the client goes on" [ "$code" = 503 ]
check "AIA 404: the page names the missing issuer" \
	grep -q X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY "$T/aia404.html"
check "AIA 404: the failed fetch is logged" \
	aia_log "aia http://$esc_port/file\?name=missing.der: HTTP status 404"
check "AIA 404: the failure is cached for a while" \
	[ "$(fetches 'file?name=missing.der')" = 1 ]
code=$(pcurl -k -o /dev/null -w '%{http_code}' "https://aia-junk.test:$TLS_PORT/hello")
check "AIA: a body that is no certificate leaves the server untrusted" \
	[ "$code" = 503 ]
check "AIA: and is logged" aia_log "aia http://$esc_port/hello: no CA certificate"

# A fetch that times out (read_timeout) while another connection is served.
pcurl -k -o /dev/null -w '%{http_code}' "https://aia-slow.test:$TLS_PORT/hello" \
	>"$T/slow.code" 2>/dev/null &
slow=$!
sleep 0.5
body=$(pcurl "https://aia-der.test:$TLS_PORT/hello")
check "AIA: other connections are served during a slow fetch" [ "$body" = hello ]
wait "$slow"
check "AIA timeout: the server stays untrusted: 503" [ "$(cat "$T/slow.code")" = 503 ]
check "AIA timeout: logged" \
	aia_log "aia http://$esc_port/slow\?s=20: no complete response in time \(read_timeout\)"
check "AIA: bascule is still running" kill -0 "$AIA_PID"

# A server that takes the connection and never answers the ClientHello:
# after read_timeout the client is bumped to be shown the 504, at once,
# not left without a word until request_timeout (conn_idle_cb() ran
# nothing after the timeout moved the connection to the client's
# handshake).
SILENT_PORT=$(free_port)
silent_start "$SILENT_PORT"
start=$(date +%s)
code=$(pcurl -o /dev/null -w '%{http_code}' "https://silent.test:$SILENT_PORT/")
check "a server that never answers the ClientHello: 504 to the client" \
	[ "$code" = 504 ]
check "...after read_timeout, not request_timeout" \
	[ $(($(date +%s) - start)) -lt 8 ]

# Where every client must log in, the AIA fetch still needs no credentials:
# it is bascule's own, and passes no http_access (DESIGN: mission item 5).
printf '#!/bin/sh\nwhile read -r user pass; do\n\t[ "$user" = alice ] && echo OK || echo ERR\ndone\n' \
	>"$T/authhelper"
chmod 755 "$T/authhelper"
PROXY_PORT=$(free_port)
BASCULE_NAME=bascule-auth bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT ssl-bump tls-cert=$T/ca/ca.crt tls-key=$T/ca/ca.key
tls_outgoing_options cafile=$T/root.pem
auth_param basic program $T/authhelper
acl users proxy_auth REQUIRED
acl aia dstdomain aia.test
http_access deny aia
http_access allow users
ssl_bump bump all
EOF
n=$(fetches 'file?name=ainter.pem')
code=$(pcurl -o /dev/null -w '%{http_connect}' "https://aia-pem.test:$TLS_PORT/hello")
check "AIA with proxy_auth: a client without credentials gets a 407" [ "$code" = 407 ]
body=$(pcurl -U alice:pw "https://aia-pem.test:$TLS_PORT/hello")
check "AIA with proxy_auth: the chain is completed for alice" [ "$body" = hello ]
check "AIA with proxy_auth: bascule fetched the issuer itself" \
	[ "$(fetches 'file?name=ainter.pem')" = $((n + 1)) ]
check "AIA with proxy_auth: the fetch carried no credentials" \
	sh -c "! grep -qi 'proxy-authorization' '$T/origin.log'"

finish
