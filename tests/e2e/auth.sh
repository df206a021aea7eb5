#!/bin/sh
# Proxy authentication with Squid's Basic helpers: Squid's own
# basic_ncsa_auth against a passwd file made here, then a helper written
# here that answers by user name (OK, ERR, BH, garbage, slow, dying) to
# show that a broken helper costs one login and nothing else; proxy_auth
# user lists and regexes, the 407 re-challenge, CONNECT, the cache, the
# queue bound, concurrency=, reloads, and the credentials of a CONNECT
# reused inside a bump.
. "${srcdir:-.}/e2e/lib.sh"
need curl python3
origin_start
O="http://origin.test:$ORIGIN_PORT"
printf '127.0.0.1 localhost origin.test admin.test re.test\n' >"$T/hosts"
code() { proxy_curl -o /dev/null -w '%{http_code}' "$@"; }
# field N LINE-REGEX: field N of the last access.log line matching
field() { grep -E -- "$2" "$T/access.log" | tail -n 1 | awk "{print \$$1}"; }

# The helper: the answer depends on the user name it is sent.  It notes
# each start and each user (never a password) in helper.log.
cat >"$T/helper.py" <<'PY'
#!/usr/bin/env python3
import os, sys, threading, time, urllib.parse
log = open(sys.argv[1], "a")
concurrent = "--concurrency" in sys.argv
lock = threading.Lock()
def note(s):
    with lock:
        log.write(s + "\n")
        log.flush()
def say(ch, line):
    with lock:
        sys.stdout.write((ch + " " if concurrent else "") + line + "\n")
        sys.stdout.flush()
def handle(ch, user, pw):
    u = urllib.parse.unquote(user)
    note("user " + user)
    if u.startswith("ok"):
        say(ch, "OK")
    elif u == "bh":
        say(ch, "BH message=helper%20broke")
    elif u == "garbage":
        say(ch, "HELLO " + pw)  # echoes the password: never logged
    elif u == "die":
        os._exit(3)
    elif u.startswith("slow"):
        time.sleep(float(u[4:] or "4"))
        say(ch, "OK")
    elif user == "sp%20ace%25" and pw == "p%20w%3Ad%25":
        say(ch, "OK")
    else:
        say(ch, "ERR message=unknown%20user")
note("start %d" % os.getpid())
while True:
    line = sys.stdin.readline()
    if not line:
        break
    if concurrent:
        ch, user, pw = line.rstrip("\n").split(" ", 2)
        threading.Thread(target=handle, args=(ch, user, pw), daemon=True).start()
    else:
        user, pw = line.rstrip("\n").split(" ", 1)
        handle("", user, pw)
PY
chmod 755 "$T/helper.py"
starts() { grep -c '^start' "$T/helper.log" 2>/dev/null || echo 0; }
asked() { grep -c "^user $1\$" "$T/helper.log" 2>/dev/null || echo 0; }
# served USER: USER logs in (for wait_for, which runs it anew each time)
served() { [ "$(code -U "$1:pw" "$O/hello")" = 200 ]; }
reloads() { [ "$(grep -c "reloaded $T/bascule.conf" "$T/bascule.err")" = "$1" ]; }

# -k parse: a proxy_auth acl without a program is Squid's "Invalid ACL".
printf 'http_port 127.0.0.1:%s\nacl u proxy_auth REQUIRED\nhttp_access allow u\n' \
	"$PROXY_PORT" >"$T/noprog.conf"
"$BASCULE" -k parse -f "$T/noprog.conf" 2>"$T/noprog.err"
check "-k parse: proxy_auth without auth_param is an error" [ $? -eq 1 ]
check "-k parse: the error names the acl's line" \
	grep -q "noprog.conf:2: acl u: invalid acl: proxy_auth needs 'auth_param basic program'" "$T/noprog.err"

# ------------------------------------------------------------------
# Squid's basic_ncsa_auth, apr1 and MD5-crypt hashes
NCSA=/usr/lib/squid/basic_ncsa_auth
if [ ! -x "$NCSA" ] || ! command -v openssl >/dev/null; then
	echo "# SKIP: $NCSA or openssl missing: the basic_ncsa_auth cases"
else
	printf 'alice:%s\nbob:%s\n' "$(openssl passwd -apr1 secret)" \
		"$(openssl passwd -1 hunter2)" >"$T/passwd"
	chmod 644 "$T/passwd"
	bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
auth_param basic program $NCSA $T/passwd
auth_param basic realm bascule test
auth_param basic children 2 startup=1
auth_param basic credentialsttl 1 hour
acl authed proxy_auth REQUIRED
acl admins proxy_auth -i BOB
acl al_users proxy_auth_regex ^al
acl admin_site dstdomain admin.test
acl re_site dstdomain re.test
http_access deny admin_site !admins
http_access allow re_site al_users
http_access deny re_site
http_access allow authed
http_access deny all
EOF
	proxy_curl -D "$T/h407" -o "$T/b407" "$O/hello"
	check "no credentials: 407" grep -q '^HTTP/1.1 407 Proxy Authentication Required' "$T/h407"
	check "Proxy-Authenticate: Basic with the realm" \
		grep -q '^Proxy-Authenticate: Basic realm="bascule test"' "$T/h407"
	check "the page is ERR_CACHE_ACCESS_DENIED" grep -q ERR_CACHE_ACCESS_DENIED "$T/b407"
	check "logged TCP_DENIED/407, no user" \
		log_has "TCP_DENIED/407 [0-9]+ GET $O/hello - HIER_NONE/- "
	check "wrong password: 407" [ "$(code -U alice:b4dpa55 "$O/hello")" = 407 ]
	check "unknown user: 407" [ "$(code -U mallory:secret "$O/hello")" = 407 ]
	check "a refusal is logged" errlog_has "proxy auth: user alice: refused"
	check "without the password" sh -c "! grep -q b4dpa55 '$T/bascule.err'"
	check "right password (apr1): 200" [ "$(code -U alice:secret "$O/hello")" = 200 ]
	check "the user is the 8th field of the access log" \
		[ "$(field 8 "TCP_MISS/200 [0-9]+ GET $O/hello ")" = alice ]
	check "MD5-crypt password: 200" [ "$(code -U bob:hunter2 "$O/hello")" = 200 ]
	proxy_curl -U alice:secret -o "$T/echo.out" "$O/echo"
	check "the origin gets the request" grep -q '^GET /echo' "$T/echo.out"
	check "but never the Proxy-Authorization field" \
		sh -c "! grep -qi '^proxy-authorization' '$T/echo.out'"
	check "the password is in no log" \
		sh -c "! grep -q secret '$T/bascule.err' '$T/access.log'"
	out=$(proxy_curl -U alice:secret "$O/hello" "$O/hello")
	check "two requests on one connection" [ "$out" = "hello
hello" ]

	check "CONNECT without credentials: 407" \
		[ "$(proxy_curl -p -o /dev/null -w '%{http_connect}' "$O/hello")" = 407 ]
	body=$(proxy_curl -p -U alice:secret "$O/hello")
	check "CONNECT with credentials: the tunnel" [ "$body" = hello ]
	check "the tunnel is logged with the user" \
		log_has "TCP_TUNNEL/200 [0-9]+ CONNECT origin.test:$ORIGIN_PORT alice HIER_DIRECT"

	A="http://admin.test:$ORIGIN_PORT/hello"
	proxy_curl -U alice:secret -D "$T/hadmin" -o /dev/null "$A"
	check "deny whose last acl is proxy_auth: 407 again" \
		grep -q '^HTTP/1.1 407 ' "$T/hadmin"
	check "with a challenge" grep -q '^Proxy-Authenticate: Basic' "$T/hadmin"
	check "proxy_auth -i: BOB is bob" [ "$(code -U bob:hunter2 "$A")" = 200 ]
	check "proxy_auth_regex: alice matches ^al" \
		[ "$(code -U alice:secret "http://re.test:$ORIGIN_PORT/hello")" = 200 ]
	proxy_curl -U bob:hunter2 -D "$T/hre" -o /dev/null "http://re.test:$ORIGIN_PORT/hello"
	check "any other deny: 403" grep -q '^HTTP/1.1 403 ' "$T/hre"
	check "without a challenge" sh -c "! grep -q Proxy-Authenticate '$T/hre'"
	bascule_stop
	check "basic_ncsa_auth reaped at shutdown" \
		sh -c "! ps -eo ppid=,comm= | grep -q '^ *$BASCULE_PID basic_ncsa'"
fi

# ------------------------------------------------------------------
# The helper of this test: cache, escaping, bounds, failures
PROXY_PORT=$(free_port)
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
read_timeout 2 seconds
auth_param basic program $T/helper.py $T/helper.log
auth_param basic realm first
auth_param basic children 1 queue-size=1
auth_param basic credentialsttl 2 seconds
acl authed proxy_auth REQUIRED
http_access allow authed
http_access deny all
EOF
check "no helper before the first login (startup=0)" [ "$(starts)" = 0 ]
check "ok1: 200" [ "$(code -U ok1:pw "$O/hello")" = 200 ]
check "the helper started" [ "$(starts)" = 1 ]
check "ok1 again: 200" [ "$(code -U ok1:pw "$O/hello")" = 200 ]
check "cached: the helper was asked once" [ "$(asked ok1)" = 1 ]
check "another password is asked for" [ "$(code -U ok1:other "$O/hello")" = 200 ]
check "asked twice" [ "$(asked ok1)" = 2 ]
sleep 2.2
check "after credentialsttl: 200" [ "$(code -U ok1:other "$O/hello")" = 200 ]
check "asked again" [ "$(asked ok1)" = 3 ]
check "ERR: 407" [ "$(code -U nobody1:x "$O/hello")" = 407 ]
c=$(code -U nobody1:x "$O/hello")
check "ERR is not cached" test "$c" = 407 -a "$(asked nobody1)" = 2
check "the helper's message is logged" errlog_has "proxy auth: user nobody1: refused: unknown user"

check "space and '%' in user and password: percent-encoded" \
	[ "$(code -U 'sp ace%:p w:d%' "$O/hello")" = 200 ]
check "the user, percent-encoded in the access log" \
	[ "$(field 8 "TCP_MISS/200 [0-9]+ GET $O/hello ")" = "sp%20ace%25" ]
n=$(wc -l <"$T/helper.log")
# "ok\n:x", "ok\0:x", "ok\r:x", "ok\177:x", and 4500 bytes
for cred in b2sKOng= b2sAOng= b2sNOng= b2t/Ong= "$(python3 -c 'print("A" * 6000)')"; do
	out=$(raw "GET $O/hello HTTP/1.1\r\nHost: origin.test\r\nProxy-Authorization: Basic $cred\r\nConnection: close\r\n\r\n")
	case "$out" in "HTTP/1.1 407 "*) ok "bad credentials ${cred%"${cred#????????}"}...: 407" ;;
	*) fail "bad credentials $cred: $out" ;; esac
done
out=$(raw "GET $O/hello HTTP/1.1\r\nHost: origin.test\r\nProxy-Authorization: Bearer xyz\r\nConnection: close\r\n\r\n")
case "$out" in "HTTP/1.1 407 "*) ok "another scheme: 407" ;;
*) fail "another scheme: $out" ;; esac
check "newline, NUL, CR, DEL, oversize: the helper never saw them" \
	[ "$(wc -l <"$T/helper.log")" = "$n" ]

proxy_curl -U bh:x -D "$T/hbh" -o /dev/null "$O/hello"
check "BH: a failed login, 407" grep -q '^HTTP/1.1 407 ' "$T/hbh"
check "BH: logged with its message" errlog_has "user bh: the helper answered BH: helper broke"
check "served again after BH" [ "$(code -U ok2:pw "$O/hello")" = 200 ]

# A client that leaves while its helper works: nothing breaks.
proxy_curl --max-time 0.5 -U slow1:x "$O/hello" >/dev/null 2>&1
check "the answer after the client left is harmless" wait_for served ok3

# One helper, one request queued: a third one fails at once.
proxy_curl -o "$T/q1" -w '%{http_code}' -U slow1:a "$O/hello" >/dev/null 2>&1 &
q1=$!
sleep 0.3
proxy_curl -o "$T/q2" -w '%{http_code}' -U slow1:b "$O/hello" >"$T/q2.code" 2>/dev/null &
q2=$!
sleep 0.3
start=$(date +%s.%N)
c3=$(code -U ok4:pw "$O/hello")
took=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]) < 0.8)" "$start" "$(date +%s.%N)")
check "queue full: 407 at once" test "$c3" = 407 -a "$took" = True
check "queue full: logged" errlog_has "requests queued: overloaded"
wait "$q1"
wait "$q2"
check "the queued request was served" [ "$(cat "$T/q2.code")" = 200 ]

# Garbage: the helper is killed, a new one serves the next login.
before=$(starts)
proxy_curl -U garbage:pa55word -D "$T/hg" -o /dev/null "$O/hello"
check "garbage: 407" grep -q '^HTTP/1.1 407 ' "$T/hg"
check "garbage: the helper is killed" errlog_has "garbage answer \\(not OK, ERR or BH\\): killed"
check "garbage: the line is not logged (it had the password)" \
	sh -c "! grep -q pa55word '$T/bascule.err'"
check "garbage: a new helper serves" wait_for served ok5
check "garbage: restarted" [ "$(starts)" -gt "$before" ]

# A helper that dies mid-request, then one that never answers.
before=$(starts)
check "died: 407" [ "$(code -U die:x "$O/hello")" = 407 ]
check "died: logged" errlog_has "exited with status 3"
check "died: a new helper serves" wait_for served ok6
check "died: restarted" [ "$(starts)" -gt "$before" ]
check "too slow (read_timeout): 407" [ "$(code -U slow5:x "$O/hello")" = 407 ]
check "too slow: killed" errlog_has "no answer in time: killed"
check "too slow: a new helper serves" wait_for served ok7

# Reload: a new realm keeps the helper; other children restart it.
pid=$(sed -n 's/^start //p' "$T/helper.log" | tail -n 1)
before=$(starts)
sed -i 's/^auth_param basic realm first$/auth_param basic realm second realm/' "$T/bascule.conf"
kill -HUP "$BASCULE_PID"
check "reload" wait_for reloads 1
proxy_curl -D "$T/hrealm" -o /dev/null "$O/hello"
check "the new realm" grep -q '^Proxy-Authenticate: Basic realm="second realm"' "$T/hrealm"
c=$(code -U ok8:pw "$O/hello")
check "the helper went on" test "$c" = 200 -a "$(starts)" = "$before"
"$BASCULE" -k parse -f "$T/bascule.conf"
check "-k parse starts no helper" test $? -eq 0 -a "$(starts)" = "$before"
sed -i 's/^auth_param basic children 1 queue-size=1$/auth_param basic children 2/' "$T/bascule.conf"
kill -HUP "$BASCULE_PID"
check "reload with other children" wait_for reloads 2
check "the helpers are restarted" errlog_has "auth_param basic changed: the helpers of $T/helper.py are restarted"
check "the old helper exits and is reaped" wait_for sh -c "! kill -0 $pid 2>/dev/null"
c=$(code -U ok9:pw "$O/hello")
check "a new helper serves" test "$c" = 200 -a "$(starts)" -gt "$before"
pids=$(sed -n 's/^start //p' "$T/helper.log")
bascule_stop
for pid in $pids; do
	kill -0 "$pid" 2>/dev/null && fail "helper $pid outlived bascule"
done
ok "no helper outlives bascule, none is left a zombie"

# ------------------------------------------------------------------
# concurrency=: one helper, answers out of order by channel-ID
PROXY_PORT=$(free_port)
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
auth_param basic program $T/helper.py $T/helper.log --concurrency
auth_param basic children 1 concurrency=4
acl authed proxy_auth REQUIRED
http_access allow authed
EOF
before=$(starts)
proxy_curl -o /dev/null -w '%{http_code}' -U slow2:x "$O/hello" >"$T/slow.code" 2>/dev/null &
slow=$!
sleep 0.5
check "concurrency: a login while another waits" [ "$(code -U ok10:pw "$O/hello")" = 200 ]
check "concurrency: it did not wait for the slow one" kill -0 "$slow"
check "concurrency: same helper" [ "$(starts)" = $((before + 1)) ]
wait "$slow"
check "concurrency: the slow one is served too" [ "$(cat "$T/slow.code")" = 200 ]
check "concurrency: a wrong answer is ERR" [ "$(code -U nobody2:x "$O/hello")" = 407 ]
bascule_stop

# ------------------------------------------------------------------
# The CONNECT's credentials stand for the requests inside a bump.
if ! command -v nginx >/dev/null || ! command -v certtool >/dev/null; then
	echo "# SKIP: nginx or certtool missing: the bump cases"
	finish
fi
nginx_start tls
mkdir "$T/ca"
"$BASCULE" --init-ca --ca-dir "$T/ca" >/dev/null 2>&1 || { fail "--init-ca"; finish; }
PROXY_PORT=$(free_port)
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT ssl-bump tls-cert=$T/ca/ca.crt tls-key=$T/ca/ca.key
tls_outgoing_options cafile=$T/origin.pem
auth_param basic program $T/helper.py $T/helper.log
acl authed proxy_auth REQUIRED
acl okbob proxy_auth okbob
acl post method POST
http_access deny post !okbob
http_access allow authed
http_access deny all
ssl_bump bump all
EOF
S="https://localhost:$NGINX_TLS_PORT/hello"
check "bump: CONNECT without credentials: 407" \
	[ "$(proxy_curl -o /dev/null -w '%{http_connect}' --cacert "$T/ca/ca.crt" "$S")" = 407 ]
body=$(proxy_curl -U ok11:pw --cacert "$T/ca/ca.crt" "$S")
check "bump: the page" [ "$body" = hello ]
check "bump: the request inside is logged with the CONNECT's user" \
	log_has "GET $S ok11 HIER_DIRECT"
code=$(proxy_curl -U ok11:pw --cacert "$T/ca/ca.crt" -d x -o "$T/post.html" -w '%{http_code}' "$S")
check "bump: a proxy_auth deny inside is 403, nobody can log in there" [ "$code" = 403 ]
check "bump: with Squid's page" grep -q ERR_CACHE_ACCESS_DENIED "$T/post.html"
finish
