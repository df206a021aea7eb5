#!/bin/sh
# Interception, in a network namespace of the test's own: nftables
# redirects the clients' connections (IPv4 and IPv6) to bascule's
# intercepting ports; bascule reads the original destination with
# SO_ORIGINAL_DST and goes there, whatever Host says, and takes TLS
# through the ssl_bump steps with a CONNECT made up from it, up to bump.
if [ -z "${BASCULE_NETNS:-}" ]; then
	if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null ||
		! command -v nft >/dev/null || ! unshare --net true 2>/dev/null; then
		echo "SKIP: intercept: needs root, unshare(1) and nft(8) to make a network namespace"
		exit 77
	fi
	BASCULE_NETNS=1 exec unshare --net sh "$0" "$@"
fi
. "${srcdir:-.}/e2e/lib.sh"
need curl nginx certtool gnutls-cli python3 ip
ip link set lo up || { fail "no loopback in the namespace"; finish; }

server_cert "$T/tls" good.test blocked.test bump.test
mkdir "$T/ca"
"$BASCULE" --init-ca --ca-dir "$T/ca" >/dev/null 2>&1 ||
	{ fail "--init-ca"; finish; }

origin_start
# A second origin on 127.0.0.2, which http_access denies as a destination.
DENIED_PORT=$(free_port)
python3 "$E2E/origin.py" "$DENIED_PORT" 127.0.0.2 >"$T/origin2.log" 2>&1 &
PIDS="$PIDS $!"
TLS_PORT=$(free_port)
V6_PORT=$(free_port)
nginx_run "$TLS_PORT" <<NGINX
	server {
		listen 127.0.0.1:$TLS_PORT ssl;
		ssl_certificate $T/tls.pem;
		ssl_certificate_key $T/tls.key;
		root $T/www;
	}
	server {
		listen [::1]:$V6_PORT;
		root $T/www;
	}
NGINX

HTTP_PORT=$(free_port)
TLSI_PORT=$(free_port)
printf '127.0.0.1 localhost good.test blocked.test bump.test\n127.0.0.2 elsewhere.test\n' >"$T/hosts"
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
http_port 127.0.0.1:$HTTP_PORT intercept
http_port [::1]:$HTTP_PORT intercept
https_port 127.0.0.1:$TLSI_PORT intercept ssl-bump tls-cert=$T/ca/ca.crt tls-key=$T/ca/ca.key
tls_outgoing_options cafile=$T/tls.pem
acl blocked ssl::server_name blocked.test
acl bumped ssl::server_name bump.test
acl step1 at_step SslBump1
acl denied_dst dst 127.0.0.2
http_access deny denied_dst
http_access allow localhost
ssl_bump peek step1
ssl_bump terminate blocked
ssl_bump bump bumped
ssl_bump splice all
EOF

# bascule runs as nobody: its own connections are not redirected.
nft -f - <<EOF || { fail "nft rules refused"; finish; }
table ip bascule_test {
	chain output {
		type nat hook output priority -100;
		meta skuid nobody return
		tcp dport $ORIGIN_PORT redirect to :$HTTP_PORT
		tcp dport $TLS_PORT redirect to :$TLSI_PORT
		ip daddr 127.0.0.2 tcp dport $DENIED_PORT redirect to :$HTTP_PORT
	}
}
table ip6 bascule_test {
	chain output {
		type nat hook output priority -100;
		meta skuid nobody return
		tcp dport $V6_PORT redirect to :$HTTP_PORT
	}
}
EOF

get() { curl -sS --max-time 10 -o "$T/body" -w '%{http_code}' "$@"; }

code=$(get "http://127.0.0.1:$ORIGIN_PORT/hello")
check "intercepted HTTP served" [ "$code" = 200 ] && check "intercepted body" grep -q '^hello' "$T/body"
check "logged with the URL from Host" log_has "TCP_MISS/200 [0-9]+ GET http://127.0.0.1:$ORIGIN_PORT/hello - ORIGINAL_DST/127.0.0.1 "
code=$(get -g "http://[::1]:$V6_PORT/hello")
check "intercepted IPv6 served" [ "$code" = 200 ]
check "IPv6 original destination" log_has "GET http://\\[::1\\]:$V6_PORT/hello - ORIGINAL_DST/::1 "

# Host names another server: bascule still goes where the client went.
code=$(get -H "Host: elsewhere.test:$ORIGIN_PORT" "http://127.0.0.1:$ORIGIN_PORT/hello")
check "Host mismatch: the original destination answers" [ "$code" = 200 ]
check "Host mismatch logged" errlog_has "Host elsewhere.test:$ORIGIN_PORT is not the original destination 127.0.0.1:$ORIGIN_PORT"
check "Host mismatch went to 127.0.0.1" log_has "GET http://elsewhere.test:$ORIGIN_PORT/hello - ORIGINAL_DST/127.0.0.1 "
# dst acls judge the original destination, not an address in Host.
code=$(get -H "Host: 10.9.9.9:$DENIED_PORT" "http://127.0.0.2:$DENIED_PORT/hello")
check "denied destination, forged Host: 403" [ "$code" = 403 ]
check "denied destination logged" log_has "TCP_DENIED/403 [0-9]+ GET http://10.9.9.9:$DENIED_PORT/hello "
code=$(get -H "Host:" "http://127.0.0.1:$ORIGIN_PORT/hello")
check "no Host: 400" [ "$code" = 400 ]

# TLS: a CONNECT made up from the original destination, then the steps.
code=$(get --cacert "$T/tls.pem" --resolve "good.test:$TLS_PORT:127.0.0.1" "https://good.test:$TLS_PORT/hello")
check "intercepted TLS spliced" [ "$code" = 200 ]
check "logged under its SNI" log_has "TCP_TUNNEL/200 [0-9]+ CONNECT good.test:$TLS_PORT - ORIGINAL_DST/127.0.0.1 - sni=good.test ssl_bump=splice step=2 "
printf 'GET /hello HTTP/1.1\r\nHost: good.test\r\nConnection: close\r\n\r\n' |
	timeout 10 gnutls-cli --x509cafile="$T/tls.pem" --sni-hostname=good.test \
		--verify-hostname=good.test -p "$TLS_PORT" 127.0.0.1 >"$T/gnutls.out" 2>&1
check "gnutls-cli through the intercepting port" grep -q "^hello" "$T/gnutls.out"
code=$(get --cacert "$T/tls.pem" --resolve "blocked.test:$TLS_PORT:127.0.0.1" "https://blocked.test:$TLS_PORT/hello")
check "intercepted TLS terminated by SNI" [ "$code" = 000 ]
check "terminate logged" log_has "CONNECT blocked.test:$TLS_PORT .* sni=blocked.test ssl_bump=terminate step=2"

# Intercepted TLS bumped: the certificate is bascule's, the request is seen.
code=$(get --cacert "$T/ca/ca.crt" --resolve "bump.test:$TLS_PORT:127.0.0.1" "https://bump.test:$TLS_PORT/hello")
check "intercepted TLS bumped" [ "$code" = 200 ]
check "the bumped request logged with its https URL" \
	log_has "TCP_MISS/200 [0-9]+ GET https://bump.test:$TLS_PORT/hello - ORIGINAL_DST/127\.0\.0\.1 "
check "the fake CONNECT logged as bumped" \
	log_has "NONE_NONE/200 [0-9]+ CONNECT bump.test:$TLS_PORT - ORIGINAL_DST/127\.0\.0\.1 - sni=bump.test ssl_bump=bump step=2 "
printf 'GET /hello HTTP/1.1\r\nHost: bump.test\r\nConnection: close\r\n\r\n' |
	timeout 10 gnutls-cli --x509cafile="$T/ca/ca.crt" --sni-hostname=bump.test \
		--verify-hostname=bump.test -p "$TLS_PORT" 127.0.0.1 >"$T/gnutls-bump.out" 2>&1
check "gnutls-cli verifies the mimicked certificate and gets the page" \
	grep -q "^hello" "$T/gnutls-bump.out"

# A connection straight to an intercepting port has no NAT destination.
raw_to() { python3 "$E2E/rawclient.py" 127.0.0.1 "$1" "$2"; }
out=$(raw_to "$HTTP_PORT" "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
check "direct connection to the intercepting port closed" [ -z "$out" ]
check "direct connection logged" errlog_has "intercepted connection without a NAT destination"

# host_verify_strict: a mismatch is refused with 409.
echo "host_verify_strict on" >>"$T/bascule.conf"
kill -HUP "$BASCULE_PID"
wait_for grep -q "reloaded" "$T/bascule.err"
code=$(get -H "Host: elsewhere.test:$ORIGIN_PORT" "http://127.0.0.1:$ORIGIN_PORT/hello")
check "host_verify_strict: 409" [ "$code" = 409 ]
check "409 names the conflict" grep -q ERR_CONFLICT_HOST "$T/body"
code=$(get "http://127.0.0.1:$ORIGIN_PORT/hello")
check "host_verify_strict: a matching Host passes" [ "$code" = 200 ]
check "the forward port still works" [ "$(proxy_curl -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ORIGIN_PORT/hello")" = 200 ]

# Proxy authentication never happens on an intercepting port (Squid
# refuses it there too: the client does not know of a proxy): there a
# proxy_auth acl does not match, and nothing is answered with 407.
printf '#!/bin/sh\nwhile read -r user pass; do echo OK; done\n' >"$T/okhelper"
chmod 755 "$T/okhelper"
sed -i "s|^http_access deny denied_dst\$|auth_param basic program $T/okhelper\\
acl authed proxy_auth REQUIRED\\
http_access allow authed\\
&|" "$T/bascule.conf"
reloads() { [ "$(grep -c "reloaded $T/bascule.conf" "$T/bascule.err")" = "$1" ]; }
kill -HUP "$BASCULE_PID"
check "reload with proxy_auth" wait_for reloads 2
code=$(get -D "$T/auth.h" "http://127.0.0.1:$ORIGIN_PORT/hello?auth=1")
check "intercepted: allow proxy_auth does not match, no 407" [ "$code" = 200 ]
check "intercepted: no challenge" sh -c "! grep -qi Proxy-Authenticate '$T/auth.h'"
check "intercepted: logged without a user" \
	log_has "TCP_MISS/200 [0-9]+ GET http://127.0.0.1:$ORIGIN_PORT/hello\\?auth=1 - ORIGINAL_DST/"
check "the forward port asks for credentials" \
	[ "$(proxy_curl -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ORIGIN_PORT/hello")" = 407 ]
check "and takes them" \
	[ "$(proxy_curl -U u:p -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ORIGIN_PORT/hello?auth=2")" = 200 ]
check "the forward request is logged with its user" \
	log_has "GET http://127.0.0.1:$ORIGIN_PORT/hello\\?auth=2 u HIER_DIRECT/"
sed -i 's/^http_access allow authed$/http_access deny !authed/' "$T/bascule.conf"
kill -HUP "$BASCULE_PID"
check "reload with deny !proxy_auth" wait_for reloads 3
code=$(get -D "$T/auth.h" "http://127.0.0.1:$ORIGIN_PORT/hello?auth=3")
check "intercepted: deny !proxy_auth is a 403, not a 407" [ "$code" = 403 ]
check "intercepted: still no challenge" sh -c "! grep -qi Proxy-Authenticate '$T/auth.h'"
finish
