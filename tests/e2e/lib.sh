# Shared by the end-to-end tests: a private directory, free ports, real
# processes started and stopped by PID, and assertions.  Sourced, not run.
#
#   . "${srcdir:-.}/e2e/lib.sh"
#   need curl nginx
#   origin_start; bascule_start <<EOF ... EOF
#
# KEEP_TEST_DIR=1 keeps the directory of a failed run.

set -u
# Messages are checked in English whatever the caller's locale.
LC_ALL=C
export LC_ALL
unset LANGUAGE

: "${srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_srcdir:=$(cd "$srcdir/.." && pwd)}"
: "${BASCULE:=$top_srcdir/src/bascule}"
E2E="$srcdir/e2e"
TEST_NAME=$(basename "$0" .sh)

T=$(mktemp -d "${TMPDIR:-/tmp}/bascule-$TEST_NAME.XXXXXX") || exit 99
chmod 755 "$T"
# Run as root, the daemon drops to nobody: like /var/log/bascule for the
# service user, the directory it writes logs in must be its own.
[ "$(id -u)" = 0 ] && chown nobody "$T"
PIDS=""
FAILED=0
CHECKS=0

stop_all() {
	for pid in $PIDS; do
		kill "$pid" 2>/dev/null
	done
	for pid in $PIDS; do
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$pid" 2>/dev/null
	done
	PIDS=""
}

cleanup() {
	stop_all
	if [ "$FAILED" -ne 0 ] && [ -n "${KEEP_TEST_DIR:-}" ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

skip() {
	echo "SKIP: $TEST_NAME: $*"
	exit 77
}

need() {
	for cmd in "$@"; do
		command -v "$cmd" >/dev/null 2>&1 || skip "$cmd is not installed"
	done
}

# fail MESSAGE: records a failed check and shows the daemon's log.
fail() {
	echo "FAIL: $TEST_NAME: $*"
	FAILED=$((FAILED + 1))
	if [ -f "$T/bascule.err" ]; then
		echo "--- bascule log (last 20 lines)"
		tail -n 20 "$T/bascule.err"
	fi
}

ok() {
	CHECKS=$((CHECKS + 1))
	echo "ok $CHECKS - $*"
}

# check NAME COMMAND...: runs a command and records the outcome.
check() {
	name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name"; fi
}

finish() {
	# Stop everything first: a sanitizer reports leaks at exit.
	stop_all
	for f in "$T"/bascule*.err; do
		[ -f "$f" ] || continue
		if grep -qE "Sanitizer|runtime error:" "$f"; then
			fail "sanitizer report in $(basename "$f")"
			grep -E -A12 "Sanitizer|runtime error:" "$f" | head -n 40
		fi
	done
	if [ "$FAILED" -ne 0 ]; then
		echo "$TEST_NAME: $FAILED of $((CHECKS + FAILED)) checks failed"
		exit 1
	fi
	echo "$TEST_NAME: $CHECKS checks passed"
	exit 0
}

free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

PROXY_PORT=$(free_port)

# wait_port PORT: until something listens on 127.0.0.1:PORT (at most 10 s).
wait_port() {
	i=0
	while [ $i -lt 100 ]; do
		if python3 -c 'import socket, sys
s = socket.socket()
s.settimeout(0.2)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
		then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# wait_for COMMAND...: retries a command for at most 10 s.
wait_for() {
	i=0
	while [ $i -lt 100 ]; do
		"$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# origin_start: the test origin (tests/e2e/origin.py) on $ORIGIN_PORT.
origin_start() {
	need python3
	ORIGIN_PORT=$(free_port)
	python3 "$E2E/origin.py" "$ORIGIN_PORT" >"$T/origin.log" 2>&1 &
	ORIGIN_PID=$!
	PIDS="$PIDS $ORIGIN_PID"
	wait_port "$ORIGIN_PORT" || { fail "origin did not start"; finish; }
}

# nginx_run PORT: nginx with the server blocks (and other http-level
# directives) read on stdin, serving $T/www, where /hello is "hello";
# returns once something listens on PORT.
nginx_run() {
	need nginx
	mkdir -p "$T/www" "$T/nginx"
	printf 'hello\n' >"$T/www/hello"
	{
		cat <<NGINX
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 1024; }
http {
	access_log $T/nginx/access.log;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	keepalive_requests 10000;
NGINX
		cat
		echo "}"
	} >"$T/nginx/nginx.conf"
	nginx -e "$T/nginx/error.log" -p "$T/nginx" -c "$T/nginx/nginx.conf" \
		>"$T/nginx/stdout" 2>&1 &
	NGINX_PID=$!
	PIDS="$PIDS $NGINX_PID"
	wait_port "$1" || { fail "nginx did not start"; finish; }
}

# nginx_start [tls]: nginx serving $T/www on $NGINX_PORT (HTTP) and, with
# "tls", $NGINX_TLS_PORT with a certificate for localhost in $T/origin.pem.
nginx_start() {
	NGINX_PORT=$(free_port)
	tls_server=""
	if [ "${1:-}" = tls ]; then
		need certtool
		make_cert localhost "$T/origin"
		NGINX_TLS_PORT=$(free_port)
		tls_server="server {
		listen 127.0.0.1:$NGINX_TLS_PORT ssl;
		server_name localhost;
		ssl_certificate $T/origin.pem;
		ssl_certificate_key $T/origin.key;
		root $T/www;
	}"
	fi
	nginx_run "$NGINX_PORT" <<NGINX
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $T/www;
	}
	$tls_server
NGINX
}

# server_cert PREFIX NAME...: a self-signed server certificate for the
# NAMEs (the first is its CN) in PREFIX.pem, its key in PREFIX.key.
server_cert() {
	sc_prefix=$1
	shift
	certtool --generate-privkey --key-type=ecdsa --outfile "$sc_prefix.key" \
		>/dev/null 2>&1 || return 1
	{
		echo "cn = \"$1\""
		for sc_name in "$@"; do echo "dns_name = \"$sc_name\""; done
		echo "tls_www_server"
		echo "expiration_days = 30"
	} >"$sc_prefix.tmpl"
	certtool --generate-self-signed --load-privkey "$sc_prefix.key" \
		--template "$sc_prefix.tmpl" --outfile "$sc_prefix.pem" >/dev/null 2>&1
}

# make_cert NAME PREFIX: a self-signed certificate PREFIX.pem and key.
make_cert() {
	certtool --generate-privkey --key-type=ecdsa --outfile "$2.key" \
		>/dev/null 2>&1 || return 1
	cat >"$2.tmpl" <<TMPL
cn = "$1"
dns_name = "$1"
ca
signing_key
encryption_key
tls_www_server
expiration_days = 30
TMPL
	certtool --generate-self-signed --load-privkey "$2.key" \
		--template "$2.tmpl" --outfile "$2.pem" >/dev/null 2>&1
}

# ca_cert PREFIX CN [SIGNER]: a CA certificate PREFIX.pem and its key,
# self-signed or signed by the CA SIGNER.pem.
ca_cert() {
	certtool --generate-privkey --key-type=ecdsa --outfile "$1.key" \
		>/dev/null 2>&1
	printf 'cn = "%s"\nca\ncert_signing_key\nexpiration_days = 30\n' "$2" \
		>"$1.tmpl"
	if [ $# -eq 2 ]; then
		certtool --generate-self-signed --load-privkey "$1.key" \
			--template "$1.tmpl" --outfile "$1.pem" >/dev/null 2>&1
	else
		certtool --generate-certificate --load-privkey "$1.key" \
			--load-ca-certificate "$3.pem" --load-ca-privkey "$3.key" \
			--template "$1.tmpl" --outfile "$1.pem" >/dev/null 2>&1
	fi
}

# leaf_cert PREFIX SIGNER NAME...: a server certificate for the NAMEs (the
# first is its CN) signed by the CA SIGNER.pem.
leaf_cert() {
	lc_prefix=$1 lc_signer=$2
	shift 2
	certtool --generate-privkey --key-type=ecdsa --outfile "$lc_prefix.key" \
		>/dev/null 2>&1
	{
		echo "cn = \"$1\""
		for lc_name in "$@"; do echo "dns_name = \"$lc_name\""; done
		echo "tls_www_server"
		echo "expiration_days = 30"
	} >"$lc_prefix.tmpl"
	certtool --generate-certificate --load-privkey "$lc_prefix.key" \
		--load-ca-certificate "$lc_signer.pem" --load-ca-privkey "$lc_signer.key" \
		--template "$lc_prefix.tmpl" --outfile "$lc_prefix.pem" >/dev/null 2>&1
}

# silent_start PORT: a server on 127.0.0.1:PORT that accepts connections
# and never says a word, nor closes them; returns once it listens.
silent_start() {
	python3 -c 'import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
held = []
while True:
    held.append(s.accept()[0])' "$1" &
	PIDS="$PIDS $!"
	wait_port "$1" || fail "the silent server did not start"
}

# haproxy_start PORT BIND_OPTIONS SERVER: HAProxy in TCP mode on
# 127.0.0.1:PORT (BIND_OPTIONS such as "ssl crt FILE", or empty), passing
# every connection to SERVER ("NAME ADDR:PORT [OPTION...]"); returns once
# it listens.
haproxy_start() {
	cat >"$T/haproxy.cfg" <<HAP
global
	maxconn 64
defaults
	mode tcp
	timeout connect 5s
	timeout client 10s
	timeout server 10s
frontend f
	bind 127.0.0.1:$1 $2
	default_backend b
backend b
	server $3
HAP
	haproxy -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_port "$1" || fail "haproxy did not start"
}

# bascule_start: reads configuration lines on stdin and starts bascule
# in the foreground with them, plus an access log, a pid file and a hosts
# file.  The configuration listens on $PROXY_PORT, chosen when this file is
# sourced (set it anew before starting a second instance).  BASCULE_NAME
# names a second instance: its files are $T/NAME.conf, NAME.err, NAME.pid
# and NAME.access.log instead of bascule.conf, bascule.err, bascule.pid and
# access.log.
bascule_start() {
	bs=${BASCULE_NAME:-bascule}
	bs_log=$T/access.log
	[ "$bs" = bascule ] || bs_log=$T/$bs.access.log
	: >"$bs_log"
	[ "$(id -u)" = 0 ] && chown nobody "$bs_log"
	[ -f "$T/hosts" ] || printf '127.0.0.1 localhost origin.test\n::1 origin6.test\n' >"$T/hosts"
	{
		echo "pid_filename $T/$bs.pid"
		echo "access_log stdio:$bs_log squid"
		echo "hosts_file $T/hosts"
		echo "dns_nameservers 127.0.0.1:9"
		cat
	} >"$T/$bs.conf"
	chmod 644 "$T/$bs.conf" "$T/hosts"
	# BASCULE_WRAP: a command that execs bascule (setpriv ...), or empty.
	${BASCULE_WRAP:-} "$BASCULE" -N -d "${BASCULE_DEBUG:-5}" -f "$T/$bs.conf" \
		>>"$T/$bs.err" 2>&1 &
	BASCULE_PID=$!
	PIDS="$PIDS $BASCULE_PID"
	if ! wait_port "$PROXY_PORT"; then
		fail "$bs did not start"
		finish
	fi
}

bascule_stop() {
	kill "$BASCULE_PID" 2>/dev/null
	i=0
	while kill -0 "$BASCULE_PID" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# proxy_curl ARGS...: curl through bascule, bounded in time.
proxy_curl() {
	curl -sS --max-time 10 -x "http://127.0.0.1:$PROXY_PORT" "$@"
}

# raw [--split N --delay S --idle S] BYTES: sends raw bytes (Python escapes)
# to bascule and prints the reply (tests/e2e/rawclient.py).
raw() {
	opts=""
	while [ $# -gt 1 ]; do
		opts="$opts $1"
		shift
	done
	# shellcheck disable=SC2086 # options are single words
	python3 "$E2E/rawclient.py" $opts 127.0.0.1 "$PROXY_PORT" "$1"
}

# log_has REGEX: the access log has a matching line (waits up to 10 s).
log_has() {
	wait_for grep -Eq -- "$1" "$T/access.log" 2>/dev/null
}

# file_has REGEX FILE: FILE exists and has a matching line (waits up to 10 s).
file_has() {
	wait_for grep -Eq -- "$1" "$2" 2>/dev/null
}

errlog_has() {
	wait_for grep -Eq -- "$1" "$T/bascule.err" 2>/dev/null
}
