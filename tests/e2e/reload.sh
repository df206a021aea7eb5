#!/bin/sh
# SIGHUP and -k reconfigure apply a new configuration to new connections
# while established ones go on; a broken configuration is refused and the
# old one kept; -k rotate reopens the access log; -k shutdown is graceful.
. "${srcdir:-.}/e2e/lib.sh"
need curl python3
origin_start
O="http://origin.test:$ORIGIN_PORT"
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
acl origin dstdomain origin.test
http_access deny origin
http_access allow localhost
EOF
conf="$T/bascule.conf"
code() { proxy_curl -o /dev/null -w '%{http_code}' "$@"; }

check "-k check finds the daemon" "$BASCULE" -f "$conf" -k check
check "denied before the reload" [ "$(code "$O/hello")" = 403 ]

# An established tunnel must survive reloads: hold one open.
python3 - "$PROXY_PORT" "$ORIGIN_PORT" "$T/tunnel" <<'PY' &
import socket, sys, time, os
p, o, flag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", p), timeout=20)
s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n" % o)
reply = s.recv(4096)
open(flag + ".open", "w").write(reply.decode())
for _ in range(200):
    if os.path.exists(flag + ".go"):
        break
    time.sleep(0.1)
s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
open(flag + ".done", "w").write(data.decode())
PY
TUNNEL=$!
PIDS="$PIDS $TUNNEL"
check "tunnel established" file_has '200' "$T/tunnel.open"

sed -i 's/^http_access deny origin$/http_access allow origin/' "$conf"
kill -HUP "$BASCULE_PID"
check "reload logged" errlog_has "reloaded $conf"
check "allowed after SIGHUP" [ "$(code "$O/hello")" = 200 ]

printf 'http_access allow no_such_acl\nbogus_directive 1\n' >>"$conf"
kill -HUP "$BASCULE_PID"
check "broken configuration refused" errlog_has "keeping the running configuration"
check "error reported with file and line" errlog_has "$conf:[0-9]+: "
check "old configuration still in force" [ "$(code "$O/hello")" = 200 ]
"$BASCULE" -f "$conf" -k reconfigure 2>"$T/reconf.err"
check "-k reconfigure refuses a broken file" [ $? -eq 1 ]
check "-k reconfigure prints FILE:LINE" grep -q "$conf:[0-9]*: " "$T/reconf.err"

head -n -2 "$conf" >"$conf.new" && mv "$conf.new" "$conf" && chmod 644 "$conf"
sed -i 's/^http_access allow origin$/http_access deny origin/' "$conf"
check "-k reconfigure" "$BASCULE" -f "$conf" -k reconfigure
check "denied again after -k reconfigure" wait_for [ "$(code "$O/hello")" = 403 ]

touch "$T/tunnel.go"
check "established tunnel survived the reloads" file_has '^hello' "$T/tunnel.done"

mv "$T/access.log" "$T/access.log.1"
check "-k rotate" "$BASCULE" -f "$conf" -k rotate
check "rotation logged" errlog_has "logs reopened"
code "$O/hello" >/dev/null
check "new access.log after rotation" file_has "TCP_DENIED/403" "$T/access.log"

# Graceful shutdown: an in-flight request completes.
sed -i 's/^http_access deny origin$/http_access allow origin/' "$conf"
"$BASCULE" -f "$conf" -k reconfigure
wait_for [ "$(code "$O/hello")" = 200 ]
proxy_curl "$O/slow?s=2" >"$T/slow.out" &
SLOW=$!
sleep 0.5
check "-k shutdown" "$BASCULE" -f "$conf" -k shutdown
check "stopped accepting" wait_for sh -c "! curl -s --max-time 2 -x http://127.0.0.1:$PROXY_PORT $O/hello >/dev/null"
wait "$SLOW"
check "in-flight request finished" grep -qx slow "$T/slow.out"
check "daemon exited" wait_for sh -c "! kill -0 $BASCULE_PID 2>/dev/null"
check "shutdown logged" errlog_has "bascule stopped"
finish
