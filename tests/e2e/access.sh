#!/bin/sh
# http_access with Squid's semantics: first match wins, the default is the
# opposite of the last rule; src, dst, port, method and dstdomain ACLs, IDN
# names, values from a file; and the shipped configuration.
. "${srcdir:-.}/e2e/lib.sh"
need curl python3
origin_start
O="http://origin.test:$ORIGIN_PORT"
printf '127.0.0.1 localhost origin.test\n::1 origin6.test\n127.0.0.9 evil.test\n127.0.0.1 evil.test\n' >"$T/hosts"
printf '# blocked names\n.blocked-from-file.test\n' >"$T/blocked.txt"
chmod 644 "$T/blocked.txt"
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
acl idn dstdomain .bücher.example
acl origin_name dstdomain origin.test
acl fromfile dstdomain "$T/blocked.txt"
acl lo6 dst ::1
acl lo dst 127.0.0.1
acl puts method PUT
acl other_client src 127.0.0.2
acl closed_port port 1-1023
http_access deny idn
http_access deny fromfile
http_access deny lo6
http_access deny lo !origin_name
http_access deny puts
http_access deny other_client
http_access deny closed_port
EOF

code() { proxy_curl -o /dev/null -w '%{http_code}' "$@"; }

check "allowed by default after a deny-only list" [ "$(code "$O/hello")" = 200 ]
check "IDN dstdomain matches the punycode name" [ "$(code "http://www.xn--bcher-kva.example/")" = 403 ]
check "IDN dstdomain matches the parent name" [ "$(code "http://xn--bcher-kva.example/")" = 403 ]
check "dstdomain from a file" [ "$(code "http://a.blocked-from-file.test/")" = 403 ]
check "dst ACL after resolution" [ "$(code "http://origin6.test:$ORIGIN_PORT/hello")" = 403 ]
check "a denied address is never tried after an allowed one fails" \
	[ "$(code "http://evil.test:$ORIGIN_PORT/evil")" = 502 ]
check "the origin never saw it" sh -c "! grep -q 'GET /evil' '$T/origin.log'"
proxy_curl -X OPTIONS -H 'Max-Forwards: 0' -D "$T/mf0" -o /dev/null "$O/echo"
check "Max-Forwards: 0 answered with a dst ACL configured" grep -qi '^Allow:' "$T/mf0"
check "method ACL" [ "$(code -X PUT -d x "$O/echo")" = 403 ]
check "POST not matched by the PUT ACL" [ "$(code -d x "$O/echo")" = 200 ]
check "src ACL" [ "$(code --interface 127.0.0.2 "$O/hello")" = 403 ]
check "port ACL" [ "$(code "http://origin.test:80/")" = 403 ]
bascule_stop

# No http_access line at all: deny everything (Squid).
PROXY_PORT=$(free_port)
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
EOF
check "no http_access lines: denied" [ "$(code "$O/hello")" = 403 ]
bascule_stop

# The shipped configuration, moved to a free port.
PROXY_PORT=$(free_port)
sed -e "s/^http_port .*//" -e "s/^access_log .*//" -e "s/^pid_filename .*//" \
	"$top_srcdir/conf/bascule.conf" >"$T/shipped.conf"
bascule_start <<EOF
include $T/shipped.conf
http_port 127.0.0.1:$PROXY_PORT
EOF
chmod 644 "$T/shipped.conf"
check "shipped: loopback client allowed" [ "$(code "$O/hello")" = 200 ]
check "shipped: other clients denied" [ "$(code --interface 127.0.0.2 "$O/hello")" = 403 ]
check "shipped: CONNECT only to SSL_ports" [ "$(proxy_curl -p -o /dev/null -w '%{http_connect}' "$O/hello")" = 403 ]
check "shipped: unsafe port denied" [ "$(code "http://origin.test:25/")" = 403 ]
finish
