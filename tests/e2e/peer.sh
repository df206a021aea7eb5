#!/bin/sh
# cache_peer: bascule sends requests and tunnels through parent proxies.
# The parents are real proxies: a second bascule, and Squid with proxy
# authentication where Squid is installed; the test origin (origin.py)
# stands in as a parent that records exactly what it was sent.  The child
# cannot resolve far.test: only a parent can reach it.
. "${srcdir:-.}/e2e/lib.sh"
need curl nginx certtool python3

server_cert "$T/far" far.test blocked.test localhost
TLS_PORT=$(free_port)
nginx_run "$TLS_PORT" <<NGINX
	server {
		listen 127.0.0.1:$TLS_PORT ssl;
		ssl_certificate $T/far.pem;
		ssl_certificate_key $T/far.key;
		root $T/www;
	}
NGINX
head -c 5000000 /dev/urandom >"$T/www/large"
origin_start

# The recorder: an origin that also answers absolute-form requests, and
# logs every request line and field it receives.
REC_PORT=$(free_port)
python3 "$E2E/origin.py" "$REC_PORT" >"$T/rec.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$REC_PORT" || { fail "recorder did not start"; finish; }
DEAD_PORT=$(free_port) # nothing listens there

# child_restart: the child anew, with the lines on stdin between its port
# and its access rules, and an empty access log.
child_restart() {
	bascule_stop
	: >"$T/access.log"
	{
		echo "http_port 127.0.0.1:$PROXY_PORT"
		cat
		printf 'http_access allow localhost\nhttp_access deny all\n'
	} >"$T/child.lines"
	bascule_start <"$T/child.lines" # not in a pipe: it sets BASCULE_PID
}

# The parent: a second bascule, which knows far.test.
printf '127.0.0.1 localhost far.test blocked.test\n' >"$T/parent.hosts"
chmod 644 "$T/parent.hosts"
CHILD_PORT=$PROXY_PORT
PARENT_PORT=$(free_port)
PROXY_PORT=$PARENT_PORT
BASCULE_NAME=parent
bascule_start <<EOF
http_port 127.0.0.1:$PARENT_PORT
hosts_file $T/parent.hosts
acl blocked dstdomain blocked.test
http_access deny blocked
http_access allow localhost
http_access deny all
EOF
PARENT_PID=$BASCULE_PID
unset BASCULE_NAME
PROXY_PORT=$CHILD_PORT

# The child knows localhost and near.test only.
printf '127.0.0.1 localhost near.test\n' >"$T/hosts"
BUMP_PORT=$(free_port)
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
http_port 127.0.0.1:$BUMP_PORT ssl-bump
acl step1 at_step SslBump1
ssl_bump peek step1
ssl_bump peek all
acl rec dstdomain rec.test pass.test
acl pass dstdomain pass.test
acl nowhere dstdomain nowhere.test
acl near dstdomain near.test
cache_peer 127.0.0.1 parent $REC_PORT 0 no-query name=rec login=alice:s3cret
cache_peer_access rec deny pass
cache_peer_access rec allow rec
cache_peer_access rec deny all
cache_peer 127.0.0.1 parent $REC_PORT 0 no-query name=pass login=PASSTHRU
cache_peer_access pass allow pass
cache_peer_access pass deny all
cache_peer 127.0.0.1 parent $DEAD_PORT 0 no-query no-digest name=dead
cache_peer_access dead deny rec
cache_peer_access dead deny nowhere
cache_peer_access dead allow all
cache_peer localhost parent $PARENT_PORT 3130 no-query default name=up
cache_peer_access up deny rec
cache_peer_access up deny nowhere
always_direct allow near
never_direct allow all
acl linklocal dst 169.254.0.0/16
http_access deny linklocal
http_access allow localhost
http_access deny all
EOF

# far.test does not resolve here: the dst acl matches nothing, as in Squid.
body=$(proxy_curl "http://far.test:$ORIGIN_PORT/hello")
check "GET through the parent ($body)" [ "$body" = hello ]
code=$(proxy_curl -o /dev/null -w '%{http_code}' "http://169.254.1.1/")
check "the dst acl still denies an address it matches ($code)" [ "$code" = 403 ]
check "the first parent was down: the next one took it" \
	log_has "TCP_MISS/200 [0-9]+ GET http://far.test:$ORIGIN_PORT/hello - ANY_OLD_PARENT/127\.0\.0\.1 "
check "the dead parent is in the error log" errlog_has "connect 127\.0\.0\.1: Connection refused"
check "the parent went to the origin" \
	file_has "GET http://far.test:$ORIGIN_PORT/hello - HIER_DIRECT/127\.0\.0\.1 " "$T/parent.access.log"

head -c 100000 /dev/urandom | base64 >"$T/post"
proxy_curl --data-binary @"$T/post" -H 'Content-Type: text/plain' \
	"http://far.test:$ORIGIN_PORT/echo" >"$T/post.out"
check "POST body through the parent" grep -qF "$(tail -c 200 "$T/post")" "$T/post.out"
check "chunked POST through the parent" sh -c "curl -sS --max-time 10 \
	-x http://127.0.0.1:$PROXY_PORT -H 'Transfer-Encoding: chunked' \
	--data-binary @$T/post http://far.test:$ORIGIN_PORT/echo | grep -qF '$(tail -c 100 "$T/post")'"

body=$(proxy_curl --cacert "$T/far.pem" "https://far.test:$TLS_PORT/hello")
check "CONNECT through the parent ($body)" [ "$body" = hello ]
check "tunnel logged with its parent" \
	log_has "TCP_TUNNEL/200 [0-9]+ CONNECT far.test:$TLS_PORT - ANY_OLD_PARENT/127\.0\.0\.1 -"
check "the parent opened the tunnel" \
	file_has "TCP_TUNNEL/200 [0-9]+ CONNECT far.test:$TLS_PORT - HIER_DIRECT/127\.0\.0\.1 " "$T/parent.access.log"
proxy_curl --cacert "$T/far.pem" -o "$T/large.out" "https://far.test:$TLS_PORT/large"
check "5 MB through the parent's tunnel intact" cmp -s "$T/www/large" "$T/large.out"

body=$(curl -sS --max-time 10 -x "http://127.0.0.1:$BUMP_PORT" --cacert "$T/far.pem" \
	"https://far.test:$TLS_PORT/hello")
check "peek and splice through the parent ($body)" [ "$body" = hello ]
check "spliced at step 3 through the parent" \
	log_has "CONNECT far.test:$TLS_PORT - ANY_OLD_PARENT/127\.0\.0\.1 - sni=far.test ssl_bump=splice step=3 up=[1-9]"

code=$(proxy_curl -o /dev/null -w '%{http_code}' "http://blocked.test:$ORIGIN_PORT/hello")
check "the parent's 403 reaches the client ($code)" [ "$code" = 403 ]
code=$(proxy_curl -p -o /dev/null -w '%{http_connect}' "http://blocked.test:$TLS_PORT/" 2>/dev/null)
check "a CONNECT the parent refuses is a 502 ($code)" [ "$code" = 502 ]
check "the refusal is logged" errlog_has "cache_peer up refused the tunnel: 403 Forbidden"

# The recorder sees what a parent is sent: absolute-form, our credentials
# (never the client's), one persistent connection for two requests.
proxy_curl -D "$T/rec1.h" -U bob:secret "http://rec.test:$REC_PORT/echo" >"$T/rec1.out"
proxy_curl -D "$T/rec2.h" "http://rec.test:$REC_PORT/echo" >"$T/rec2.out"
check "absolute-form request line to the parent" \
	grep -q "^GET http://rec.test:$REC_PORT/echo HTTP/1.1" "$T/rec1.out"
check "login= credentials sent" grep -q "^Proxy-Authorization: Basic YWxpY2U6czNjcmV0" "$T/rec1.out"
check "the client's own credentials not passed on" [ "$(grep -c '^Proxy-Authorization' "$T/rec1.out")" = 1 ]
check "Via added" grep -q "^Via: 1.1 " "$T/rec1.out"
check "one persistent connection to the parent" \
	[ "$(grep -i '^X-Conn-Id' "$T/rec1.h")" = "$(grep -i '^X-Conn-Id' "$T/rec2.h")" ]
check "logged as the first parent" \
	log_has "GET http://rec.test:$REC_PORT/echo - FIRSTUP_PARENT/127\.0\.0\.1 "
proxy_curl -D "$T/pass.h" -U bob:secret "http://pass.test:$REC_PORT/echo" >"$T/pass.out"
check "login=PASSTHRU passes the client's credentials" \
	grep -q "^Proxy-Authorization: Basic Ym9iOnNlY3JldA==" "$T/pass.out"
proxy_curl -D "$T/pass2.h" "http://pass.test:$REC_PORT/echo" >"$T/pass2.out"
check "the next client has none" [ "$(grep -c '^Proxy-Authorization' "$T/pass2.out")" = 0 ]
check "nor bob's connection to the parent" \
	[ "$(grep -i '^X-Conn-Id' "$T/pass.h")" != "$(grep -i '^X-Conn-Id' "$T/pass2.h")" ]
code=$(proxy_curl -p -o /dev/null -w '%{http_connect}' "http://rec.test:443/" 2>/dev/null)
check "a parent that does not tunnel: 502 ($code)" [ "$code" = 502 ]
check "our CONNECT in authority-form with credentials" \
	file_has "CONNECT rec.test:443 HTTP/1.1" "$T/rec.log"
check "CONNECT carries login=" file_has "Proxy-Authorization: Basic YWxpY2U6czNjcmV0" "$T/rec.log"

code=$(proxy_curl -o "$T/nowhere.out" -w '%{http_code}' "http://nowhere.test/")
check "no parent may take it and never_direct: 503 ($code)" [ "$code" = 503 ]
check "ERR_CANNOT_FORWARD" grep -q ERR_CANNOT_FORWARD "$T/nowhere.out"

body=$(proxy_curl "http://near.test:$ORIGIN_PORT/hello")
check "always_direct goes to the origin ($body)" [ "$body" = hello ]
check "logged HIER_DIRECT" log_has "GET http://near.test:$ORIGIN_PORT/hello - HIER_DIRECT/127\.0\.0\.1 "

# fake_parent PORT silent|garbage: takes connections and, to each CONNECT,
# answers nothing, or bytes that are not HTTP.
fake_parent() {
	python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
for _ in range(16):
    c, _ = s.accept()
    held.append(c)
    if sys.argv[2] == "garbage":
        c.recv(4096)
        c.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
' "$1" "$2" &
	PIDS="$PIDS $!"
	wait_port "$1" || fail "the $2 parent did not start"
}

# A parent that takes the connection but never answers the CONNECT: after
# read_timeout, the next route.  One that answers garbage: a 502.
SILENT_PORT=$(free_port)
fake_parent "$SILENT_PORT" silent
GARBAGE_PORT=$(free_port)
fake_parent "$GARBAGE_PORT" garbage
child_restart <<EOF
read_timeout 2 seconds
acl junk dstdomain junk.test
cache_peer 127.0.0.1 parent $GARBAGE_PORT 0 no-query name=garbage
cache_peer_access garbage allow junk
cache_peer_access garbage deny all
cache_peer 127.0.0.1 parent $SILENT_PORT 0 no-query name=silent
cache_peer_access silent deny junk
cache_peer localhost parent $PARENT_PORT 0 no-query name=up
cache_peer_access up deny junk
never_direct allow all
EOF
code=$(proxy_curl -p -o /dev/null -w '%{http_connect}' "http://junk.test:443/" 2>/dev/null)
check "a parent answering garbage to CONNECT: 502 ($code)" [ "$code" = 502 ]
check "the garbage is logged" errlog_has "cache_peer garbage answered the CONNECT with garbage"
body=$(proxy_curl --cacert "$T/far.pem" "https://far.test:$TLS_PORT/hello")
check "a parent silent after CONNECT: the next one ($body)" [ "$body" = hello ]
check "the silence is logged" errlog_has "the cache_peer did not answer the CONNECT in time: trying the next route"

# Without never_direct: GET through the parent, the rest direct
# (nonhierarchical_direct), and direct when the parent is down.
child_restart <<EOF
cache_peer 127.0.0.1 parent $PARENT_PORT 0 no-query name=up
EOF
proxy_curl -o /dev/null "http://localhost:$ORIGIN_PORT/hello"
check "GET tries the parent first" \
	log_has "GET http://localhost:$ORIGIN_PORT/hello - FIRSTUP_PARENT/127\.0\.0\.1 "
proxy_curl -o /dev/null -d x "http://localhost:$ORIGIN_PORT/echo"
check "POST goes direct" log_has "POST http://localhost:$ORIGIN_PORT/echo - HIER_DIRECT/127\.0\.0\.1 "
proxy_curl -o /dev/null --cacert "$T/far.pem" "https://localhost:$TLS_PORT/hello"
check "CONNECT goes direct" log_has "CONNECT localhost:$TLS_PORT - HIER_DIRECT/127\.0\.0\.1 "
kill "$PARENT_PID"
wait "$PARENT_PID" 2>/dev/null
body=$(proxy_curl "http://localhost:$ORIGIN_PORT/hello?down")
check "parent down: direct ($body)" [ "$body" = hello ]
check "logged HIER_DIRECT" log_has "GET http://localhost:$ORIGIN_PORT/hello\?down - HIER_DIRECT/127\.0\.0\.1 "

child_restart <<EOF
cache_peer 127.0.0.1 parent $DEAD_PORT 0 no-query name=dead
never_direct allow all
EOF
code=$(proxy_curl -o "$T/dead.out" -w '%{http_code}' "http://localhost:$ORIGIN_PORT/hello")
check "the only parent is down: 502 ($code)" [ "$code" = 502 ]
check "ERR_CONNECT_FAIL" grep -q ERR_CONNECT_FAIL "$T/dead.out"

# A parent that keeps failing is down after connect-fail-limit failures in
# a row: the others are tried first, and it is not even tried while one of
# them answers.
refused_before=$(grep -c "Connection refused: trying the next route" "$T/bascule.err")
child_restart <<EOF
cache_peer 127.0.0.1 parent $DEAD_PORT 0 no-query name=dead connect-fail-limit=2
cache_peer 127.0.0.1 parent $REC_PORT 0 no-query name=rec
never_direct allow all
EOF
n=0
for i in 1 2 3 4; do
	[ "$(proxy_curl "http://rec.test:$REC_PORT/hello?n=$i")" = hello ] && n=$((n + 1))
done
check "four requests served ($n)" [ "$n" = 4 ]
check "down after two failures" errlog_has "cache_peer dead is down after 2 failures in a row"
refused=$(($(grep -c "Connection refused: trying the next route" "$T/bascule.err") - refused_before))
check "the down parent was tried twice only ($refused)" [ "$refused" = 2 ]
check "before: the second parent" log_has "GET http://rec.test:$REC_PORT/hello\?n=2 - ANY_OLD_PARENT/"
check "after: the second parent first" log_has "GET http://rec.test:$REC_PORT/hello\?n=4 - FIRSTUP_PARENT/"

# Squid as the parent, with proxy authentication (basic_ncsa_auth).
SQUID=/usr/sbin/squid
NCSA=/usr/lib/squid/basic_ncsa_auth
if [ -x "$SQUID" ] && [ -x "$NCSA" ] && [ "$(id -u)" = 0 ] &&
	id proxy >/dev/null 2>&1 && command -v openssl >/dev/null; then
	SQUID_PORT=$(free_port)
	mkdir "$T/squid"
	echo "alice:$(openssl passwd -apr1 s3cret)" >"$T/squid/passwd"
	cat >"$T/squid/squid.conf" <<EOF
http_port 127.0.0.1:$SQUID_PORT
visible_hostname squid.test
hosts_file $T/parent.hosts
dns_nameservers 127.0.0.1
auth_param basic program $NCSA $T/squid/passwd
auth_param basic children 1
acl authed proxy_auth REQUIRED
acl SSL_ports port $TLS_PORT
acl CONNECT method CONNECT
http_access deny CONNECT !SSL_ports
http_access allow authed
http_access deny all
cache deny all
access_log stdio:$T/squid/access.log
cache_log $T/squid/cache.log
pid_filename $T/squid/squid.pid
coredump_dir $T/squid
netdb_filename none
pinger_enable off
cache_effective_user proxy
shutdown_lifetime 1 seconds
EOF
	chown -R proxy:proxy "$T/squid"
	"$SQUID" -N -n "bascule$$" -f "$T/squid/squid.conf" >"$T/squid/stdout" 2>&1 &
	SQUID_PID=$!
	PIDS="$PIDS $SQUID_PID"
	if wait_port "$SQUID_PORT"; then
		child_restart <<EOF
acl wrong dstdomain localhost
cache_peer 127.0.0.1 parent $SQUID_PORT 0 no-query name=squid login=alice:s3cret
cache_peer_access squid deny wrong
cache_peer 127.0.0.1 parent $SQUID_PORT 0 no-query name=wrong login=alice:wrong
never_direct allow all
EOF
		body=$(proxy_curl "http://far.test:$ORIGIN_PORT/hello")
		check "GET through Squid with login= ($body)" [ "$body" = hello ]
		check "Squid saw alice" file_has "GET http://far.test:$ORIGIN_PORT/hello alice " "$T/squid/access.log"
		body=$(proxy_curl --cacert "$T/far.pem" "https://far.test:$TLS_PORT/hello")
		check "CONNECT through Squid with login= ($body)" [ "$body" = hello ]
		check "Squid tunnelled for alice" file_has "CONNECT far.test:$TLS_PORT alice " "$T/squid/access.log"
		check "logged as through squid" \
			log_has "CONNECT far.test:$TLS_PORT - FIRSTUP_PARENT/127\.0\.0\.1 "
		code=$(proxy_curl -o /dev/null -w '%{http_code}' "http://localhost:$ORIGIN_PORT/hello")
		check "Squid's 407 for a wrong password reaches the client ($code)" [ "$code" = 407 ]
		code=$(proxy_curl -p -o /dev/null -w '%{http_connect}' "http://localhost:$TLS_PORT/" 2>/dev/null)
		check "a CONNECT refused with 407 is a 502 ($code)" [ "$code" = 502 ]
	else
		fail "squid did not start: $(tail -3 "$T/squid/cache.log" 2>/dev/null)"
	fi
else
	echo "# Squid (squid-openssl), its basic_ncsa_auth or root missing: no Squid parent"
fi
finish
