#!/bin/sh
# cache_peer ... tls: bascule speaks TLS to its parent, and sends plain
# HTTP, CONNECT, peeked and spliced tunnels, and bumped traffic (the
# origin's TLS inside the parent's) through it.  The parents are real TLS
# proxies: a second bascule on an https_port, and HAProxy terminating TLS
# in front of that bascule's plain port.  nginx is the TLS origin.
. "${srcdir:-.}/e2e/lib.sh"
need curl nginx certtool openssl

ca_cert "$T/root" "Test Root"
leaf_cert "$T/proxy" "$T/root" proxy.test
leaf_cert "$T/origin" "$T/root" origin.test bump.test
cat "$T/proxy.pem" "$T/proxy.key" >"$T/proxy-both.pem"

# -k parse: the tls-* options of cache_peer.
parse() { # NAME LINE...: -k parse on the lines, output in $T/NAME.out
	pn=$1
	shift
	printf '%s\n' "http_port 127.0.0.1:9" "$@" >"$T/$pn.conf"
	"$BASCULE" -k parse -f "$T/$pn.conf" >"$T/$pn.out" 2>&1
}
parse nocafile "cache_peer 127.0.0.1 parent 9 0 tls tls-cafile=$T/none.pem"
check "-k parse: a tls-cafile= that cannot be read is an error" [ $? -eq 1 ]
check "...at its line" grep -q "nocafile.conf:2: cache_peer: .*none.pem" "$T/nocafile.out"
parse cert "cache_peer 127.0.0.1 parent 9 0 tls tls-cert=$T/proxy.pem"
check "-k parse: client certificates to a parent are refused" [ $? -eq 1 ]
check "...saying so" grep -q "cert.conf:2: cache_peer: option 'tls-cert=.*' is not supported yet" "$T/cert.out"
parse notls "cache_peer 127.0.0.1 parent 9 0 tls-cafile=$T/root.pem"
check "-k parse: tls-* options without tls only warn" [ $? -eq 0 ]
check "...with a warning" grep -q "notls.conf:2: cache_peer: 'tls-cafile=.*' is ignored without tls" "$T/notls.out"
parse flags "cache_peer 127.0.0.1 parent 9 0 ssl sslflags=DONT_VERIFY_PEER ssldomain=proxy.test"
check "-k parse: Squid 3's ssl* names" [ $? -eq 0 ]

# The origin, plain and TLS; every name is 127.0.0.1 for the parent.
NGINX_PORT=$(free_port)
TLS_PORT=$(free_port)
printf '127.0.0.1 localhost origin.test bump.test untrusted.test wrongname.test noname.test ha.test swap.test hr.test stall.test\n' >"$T/hosts"
nginx_run "$TLS_PORT" <<NGINX
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
	}
NGINX
head -c 6000000 /dev/urandom >"$T/www/big"

# The parent: a second bascule, TLS on one port, plain HTTP on another,
# which HAProxy puts TLS in front of.
CHILD_PORT=$PROXY_PORT
PARENT_PORT=$(free_port)
PARENT_PLAIN=$(free_port)
PROXY_PORT=$PARENT_PORT
BASCULE_NAME=parent
bascule_start <<EOF
https_port 127.0.0.1:$PARENT_PORT tls-cert=$T/proxy.pem tls-key=$T/proxy.key
http_port 127.0.0.1:$PARENT_PLAIN
http_access allow localhost
http_access deny all
EOF
PARENT_PID=$BASCULE_PID
unset BASCULE_NAME
PROXY_PORT=$CHILD_PORT

HA_PORT=""
if command -v haproxy >/dev/null 2>&1; then
	HA_PORT=$(free_port)
	haproxy_start "$HA_PORT" "ssl crt $T/proxy-both.pem" \
		"parent 127.0.0.1:$PARENT_PLAIN"
fi

# A TLS 1.2 parent that sends a HelloRequest in the middle of a request
# body, once bascule's writes to it wait (tests/e2e/gnutls_peer.py).
HR_PORT=$(free_port)
python3 "$E2E/gnutls_peer.py" hellorequest "$HR_PORT" "$T/proxy.pem" \
	"$T/proxy.key" --hold 2 --timeout 90 >"$T/hr.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$HR_PORT" || fail "the HelloRequest parent did not start"

# A "parent" that takes the TCP connection and never says a word: its TLS
# handshake times out.
STALL_PORT=$(free_port)
silent_start "$STALL_PORT"

# The child: every request through a parent, chosen by name; bump.test
# is bumped, other TLS peeked at and spliced.
mkdir "$T/ca"
"$BASCULE" --init-ca --ca-dir "$T/ca" >/dev/null 2>&1
BUMP_PORT=$(free_port)
{
	cat <<EOF
http_port 127.0.0.1:$PROXY_PORT
http_port 127.0.0.1:$BUMP_PORT ssl-bump tls-cert=$T/ca/ca.crt tls-key=$T/ca/ca.key
acl bumping ssl::server_name bump.test stall.test
acl step1 at_step SslBump1
ssl_bump peek step1
ssl_bump bump bumping
ssl_bump splice all
cache_peer 127.0.0.1 parent $PARENT_PORT 0 no-query name=good tls tls-cafile=$T/root.pem tls-domain=proxy.test
cache_peer 127.0.0.1 parent $PARENT_PORT 0 no-query name=untrusted tls
cache_peer 127.0.0.1 parent $PARENT_PORT 0 no-query name=wrongname tls tls-cafile=$T/root.pem tls-domain=wrong.test
cache_peer 127.0.0.1 parent $PARENT_PORT 0 no-query name=noname tls tls-cafile=$T/root.pem tls-domain=wrong.test tls-flags=DONT_VERIFY_DOMAIN
acl via_untrusted dstdomain untrusted.test
acl via_wrongname dstdomain wrongname.test
acl via_noname dstdomain noname.test
acl via_ha dstdomain ha.test
cache_peer 127.0.0.1 parent $HR_PORT 0 no-query name=hr tls tls-cafile=$T/root.pem tls-domain=proxy.test
cache_peer 127.0.0.1 parent $STALL_PORT 0 no-query name=stall tls connect-timeout=2 tls-cafile=$T/root.pem
acl via_stall dstdomain stall.test
cache_peer_access stall allow via_stall
cache_peer_access stall deny all
cache_peer_access good deny via_stall
acl via_hr dstdomain hr.test
cache_peer_access hr allow via_hr
cache_peer_access hr deny all
cache_peer_access good deny via_hr
cache_peer_access untrusted allow via_untrusted
cache_peer_access untrusted deny all
cache_peer_access wrongname allow via_wrongname
cache_peer_access wrongname deny all
cache_peer_access noname allow via_noname
cache_peer_access noname deny all
cache_peer_access good deny via_untrusted
cache_peer_access good deny via_wrongname
cache_peer_access good deny via_noname
cache_peer_access good deny via_ha
never_direct allow all
tls_outgoing_options cafile=$T/root.pem
http_access allow localhost
http_access deny all
EOF
	if [ -n "$HA_PORT" ]; then
		echo "cache_peer 127.0.0.1 parent $HA_PORT 0 no-query name=ha tls tls-cafile=$T/root.pem tls-domain=proxy.test"
		echo "cache_peer_access ha allow via_ha"
		echo "cache_peer_access ha deny all"
	fi
} >"$T/child.lines"
bascule_start <"$T/child.lines"
wait_port "$BUMP_PORT" || fail "the child listens on every port"

parent_log_has() { file_has "$1" "$T/parent.access.log"; }
parent_hs() { grep -c "TLS with the client: " "$T/parent.err"; }

# Plain HTTP through the TLS parent, twice on one client connection.
before=$(parent_hs)
n=$(curl -sS --max-time 10 -x "http://127.0.0.1:$PROXY_PORT" \
	"http://origin.test:$NGINX_PORT/hello" "http://origin.test:$NGINX_PORT/hello" |
	grep -c '^hello$')
check "plain HTTP through a TLS parent, keep-alive" [ "$n" = 2 ]
check "the child logs the parent hop" \
	log_has "GET http://origin.test:$NGINX_PORT/hello - FIRSTUP_PARENT/127.0.0.1 "
check "the parent got the requests over TLS" \
	parent_log_has "GET http://origin.test:$NGINX_PORT/hello "
check "...in one session for the client's two requests" \
	[ "$(parent_hs)" -eq $((before + 1)) ]
check "the child logs its TLS with the parent" \
	errlog_has "TLS with cache_peer good: TLSv1.3"
check "the parent sees the tls-domain= as SNI" \
	file_has "TLS with the client: TLSv1.3, SNI proxy.test" "$T/parent.err"

# CONNECT through the TLS parent: the origin's TLS inside the parent's.
body=$(curl -sS --max-time 10 -x "http://127.0.0.1:$PROXY_PORT" \
	--cacert "$T/root.pem" "https://origin.test:$TLS_PORT/hello")
check "CONNECT through a TLS parent" [ "$body" = hello ]
check "the parent tunnelled it" \
	parent_log_has "TCP_TUNNEL/200 [0-9]+ CONNECT origin.test:$TLS_PORT "
check "a later connection to the parent resumes the session" \
	errlog_has "TLS with cache_peer good: TLSv1.3, resumed"
check "...as the parent saw it" \
	file_has "TLS with the client: TLSv1.3, resumed, SNI proxy.test" "$T/parent.err"
sum() { sha256sum | cut -d' ' -f1; }
want=$(sum <"$T/www/big")
got=$(curl -sS --max-time 20 -x "http://127.0.0.1:$PROXY_PORT" \
	--cacert "$T/root.pem" "https://origin.test:$TLS_PORT/big" | sum)
check "6 MB through a tunnel through a TLS parent" [ "$got" = "$want" ]

# Peek and splice: the client still verifies the origin itself.
body=$(curl -sS --max-time 10 -x "http://127.0.0.1:$BUMP_PORT" \
	--cacert "$T/root.pem" "https://origin.test:$TLS_PORT/hello")
check "peek and splice through a TLS parent" [ "$body" = hello ]
check "...logged as spliced at step 2" \
	log_has "CONNECT origin.test:$TLS_PORT .*ssl_bump=splice step=2"

# Bump: bascule's TLS with the origin runs inside its TLS with the parent.
body=$(curl -sS --max-time 10 -x "http://127.0.0.1:$BUMP_PORT" \
	--cacert "$T/ca/ca.crt" "https://bump.test:$TLS_PORT/hello")
check "bump through a TLS parent" [ "$body" = hello ]
check "...the request inside is logged with its https URL" \
	log_has "GET https://bump.test:$TLS_PORT/hello - FIRSTUP_PARENT/127.0.0.1 "
got=$(curl -sS --max-time 20 -x "http://127.0.0.1:$BUMP_PORT" \
	--cacert "$T/ca/ca.crt" "https://bump.test:$TLS_PORT/big" | sum)
check "6 MB bumped through a TLS parent" [ "$got" = "$want" ]

# A bumped client whose parent's TLS handshake times out is told so at
# once, through its own (bumped) TLS, not left waiting for request_timeout.
start=$(date +%s)
code=$(curl -sS --max-time 20 -x "http://127.0.0.1:$BUMP_PORT" \
	--cacert "$T/ca/ca.crt" -o /dev/null -w '%{http_code}' \
	"https://stall.test:$TLS_PORT/hello")
check "a parent's TLS handshake that times out: 504 to a bumped client" \
	[ "$code" = 504 ]
check "...after connect-timeout=, not request_timeout" \
	[ $(($(date +%s) - start)) -lt 10 ]

# Parents that do not verify are parents that failed.
code=$(curl -sS --max-time 10 -x "http://127.0.0.1:$PROXY_PORT" \
	-o "$T/untrusted.html" -w '%{http_code}' "http://untrusted.test/")
check "a parent whose certificate is not trusted: 503" [ "$code" = 503 ]
check "...with the reason on the page" \
	grep -q "TLS with cache_peer untrusted failed" "$T/untrusted.html"
check "...and in the log" \
	errlog_has "TLS with cache_peer untrusted failed: The certificate is NOT trusted"
code=$(curl -sS --max-time 10 -x "http://127.0.0.1:$PROXY_PORT" \
	-o /dev/null -w '%{http_code}' "http://wrongname.test/")
check "a parent that is not tls-domain=: 503" [ "$code" = 503 ]
check "...for its name" \
	errlog_has "TLS with cache_peer wrongname failed: .*name in the certificate does not match"
body=$(curl -sS --max-time 10 -x "http://127.0.0.1:$PROXY_PORT" \
	"http://noname.test:$NGINX_PORT/hello")
check "tls-flags=DONT_VERIFY_DOMAIN takes another name" [ "$body" = hello ]
check "...through its parent" \
	parent_log_has "GET http://noname.test:$NGINX_PORT/hello "

# The parent's HelloRequest arrives while bascule waits to write the body
# to it: the no_renegotiation alert must not make GnuTLS send the record
# it holds half-sent twice (struct bump_io, src/bump.h).
head -c 8000000 /dev/urandom >"$T/upload"
want=$(sum <"$T/upload")
# Slow on purpose (a 4 KiB receive buffer): bounded at 90 s for loaded
# machines.
got=$(curl -sS --max-time 90 -x "http://127.0.0.1:$PROXY_PORT" -H 'Expect:' \
	--data-binary @"$T/upload" "http://hr.test/upload")
check "a parent's HelloRequest during an 8 MB upload: the body arrives whole" \
	[ "$got" = "8000000 $want" ]
check "...and bascule refused the renegotiation" \
	grep -q "alert: No renegotiation" "$T/hr.log"

if [ -n "$HA_PORT" ]; then
	body=$(curl -sS --max-time 10 -x "http://127.0.0.1:$PROXY_PORT" \
		"http://ha.test:$NGINX_PORT/hello")
	check "a parent behind HAProxy's TLS" [ "$body" = hello ]
	check "...over TLS with it" errlog_has "TLS with cache_peer ha: TLSv1.3"
	check "...and the parent saw the request" \
		parent_log_has "GET http://ha.test:$NGINX_PORT/hello "
fi

# A reload that adds tls to a parent: an idle plain connection to it in
# the pool must not take the requests meant for TLS.  The parent's plain
# port speaks no TLS, so the request fails, as it must, instead of going
# out in clear over the pooled connection.
swap_lines() { # [tls]
	echo "cache_peer 127.0.0.1 parent $PARENT_PLAIN 0 no-query name=swap login=alice:secret $*"
	echo "acl via_swap dstdomain swap.test"
	echo "cache_peer_access swap allow via_swap"
	echo "cache_peer_access swap deny all"
	echo "cache_peer_access good deny via_swap"
}
{ cat "$T/child.lines"; swap_lines; } >"$T/child2.lines"
bascule_conf_reload() { # LINES-FILE
	sed -n '1,4p' "$T/bascule.conf" >"$T/bascule.conf.new"
	cat "$1" >>"$T/bascule.conf.new"
	mv "$T/bascule.conf.new" "$T/bascule.conf"
	before=$(grep -c reloaded "$T/bascule.err")
	kill -HUP "$BASCULE_PID"
	wait_for sh -c "[ \$(grep -c reloaded '$T/bascule.err') -gt $before ]"
}
bascule_conf_reload "$T/child2.lines"
body=$(curl -sS --max-time 10 -x "http://127.0.0.1:$PROXY_PORT" \
	"http://swap.test:$NGINX_PORT/hello")
check "a plain parent, before the reload" [ "$body" = hello ]
{ cat "$T/child.lines"; swap_lines tls tls-cafile="$T/root.pem" tls-domain=proxy.test; } >"$T/child3.lines"
bascule_conf_reload "$T/child3.lines"
code=$(curl -sS --max-time 10 -x "http://127.0.0.1:$PROXY_PORT" \
	-o /dev/null -w '%{http_code}' "http://swap.test:$NGINX_PORT/hello")
check "a reload adding tls: no pooled plain connection carries the request" \
	[ "$code" = 503 ]
check "...which tried TLS with the parent" \
	errlog_has "TLS with cache_peer swap failed"
check "...and the parent saw the request only once" \
	[ "$(grep -c "GET http://swap.test:$NGINX_PORT/hello " "$T/parent.access.log")" -eq 1 ]

check "the child is still running" kill -0 "$BASCULE_PID"
check "the parent is still running" kill -0 "$PARENT_PID"
finish
