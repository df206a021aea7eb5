#!/bin/sh
# The installed package serves: /usr/sbin/bascule, started by hand as root
# on the shipped configuration's rules, drops to the package's bascule
# user, forwards one request to a local origin, refuses what the shipped
# rules refuse, reloads, reopens its log (what logrotate asks for) and
# stops on SIGTERM.  Only the listening port (free, chosen now), the pid
# file and the access log (in a private directory) differ from the
# shipped file, so no systemd is needed.  Run as root after installing:
#
#	sh tests/pkg/installed.sh
#
# Exits 0, 1 (a check failed) or 77 (skipped: not root, not installed).
srcdir=$(cd "$(dirname "$0")/.." && pwd)
BASCULE=${BASCULE:-/usr/sbin/bascule}
SHIPPED=${SHIPPED:-/etc/bascule/bascule.conf}
. "$srcdir/e2e/lib.sh"
need curl python3
[ "$(id -u)" = 0 ] || skip "needs root: the daemon must drop to the bascule user"
[ -x "$BASCULE" ] || skip "$BASCULE is not installed"
[ -f "$SHIPPED" ] || skip "$SHIPPED is missing"

check "the bascule system user exists" sh -c "id -u bascule >/dev/null"
check "its home is /var/lib/bascule" \
	[ "$(getent passwd bascule | cut -d: -f6)" = /var/lib/bascule ]
uid=$(id -u bascule) || finish
# The daemon writes its pid file and access log here once it is bascule.
chown bascule "$T"

# The origin: a plain python3 web server on a free loopback port.
mkdir "$T/www"
echo "hello from the origin" >"$T/www/hello"
ORIGIN_PORT=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$ORIGIN_PORT" \
	>"$T/origin.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$ORIGIN_PORT" || { fail "origin did not start"; finish; }

# The shipped rules, with our own port, pid file and access log.
sed -e '/^http_port[[:space:]]/d' -e '/^access_log[[:space:]]/d' \
	-e '/^pid_filename[[:space:]]/d' -e '/^cache_effective_user[[:space:]]/d' \
	"$SHIPPED" >"$T/shipped.rules"
check "the shipped file has http_access rules" \
	grep -q '^http_access allow localhost' "$T/shipped.rules"
{
	cat "$T/shipped.rules"
	echo "http_port 127.0.0.1:$PROXY_PORT"
	echo "cache_effective_user bascule"
} >"$T/ours.conf"
bascule_start <"$T/ours.conf"
conf="$T/bascule.conf"
check "-k parse accepts the configuration" "$BASCULE" -k parse -f "$conf"

body=$(proxy_curl "http://127.0.0.1:$ORIGIN_PORT/hello") || fail "curl through bascule"
check "the origin's body comes through" [ "$body" = "hello from the origin" ]
check "the access log has the request" \
	log_has "TCP_MISS/200 [0-9]+ GET http://127.0.0.1:$ORIGIN_PORT/hello "
check "the origin saw it" grep -q '"GET /hello HTTP/1.1" 200' "$T/origin.log"

check "the daemon runs as bascule" \
	grep -Eq "^Uid:[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]" "/proc/$BASCULE_PID/status"

# The shipped rules hold: no unsafe ports, CONNECT to 443 only.
code=$(proxy_curl -o /dev/null -w '%{http_code}' "http://127.0.0.1:25/")
check "port 25 is refused (Safe_ports)" [ "$code" = 403 ]
code=$(proxy_curl -o /dev/null -w '%{http_connect}' -p "http://127.0.0.1:$ORIGIN_PORT/hello" 2>/dev/null)
check "CONNECT to a port other than 443 is refused (SSL_ports)" [ "$code" = 403 ]

# Reload, as the unit's ExecReload does it (here through the pid file).
check "-k reconfigure signals the daemon" "$BASCULE" -k reconfigure -f "$conf"
check "the reload is logged" errlog_has "reloaded $conf"

# Rotation, as logrotate does it: move the file, then SIGUSR1.
mv "$T/access.log" "$T/access.log.1"
check "-k rotate signals the daemon" "$BASCULE" -k rotate -f "$conf"
check "the daemon reopens its logs" errlog_has "logs reopened"
proxy_curl -o /dev/null "http://127.0.0.1:$ORIGIN_PORT/hello?after-rotate" ||
	fail "curl after the rotation"
check "a new access log is written" log_has "GET http://127.0.0.1:$ORIGIN_PORT/hello\\?after-rotate "
check "created by bascule, as its own" [ "$(stat -c %U "$T/access.log")" = bascule ]
check "the old one is left alone" \
	sh -c "! grep -q after-rotate '$T/access.log.1'"

# Stop by PID, as systemd does.
kill -TERM "$BASCULE_PID"
wait "$BASCULE_PID"
check "SIGTERM stops it with status 0" [ $? -eq 0 ]
check "it says so" errlog_has "bascule stopped"
check "the pid file is removed" [ ! -e "$T/bascule.pid" ]
finish
