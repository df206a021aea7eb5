#!/bin/sh
# Started as a non-root user with CAP_NET_BIND_SERVICE (what the systemd
# unit grants), bascule binds a port below 1024, then holds no capability.
. "${srcdir:-.}/e2e/lib.sh"
need curl python3 setpriv
[ "$(id -u)" = 0 ] || skip "granting a capability needs root"

# A free port below 1024, found at run time.
PROXY_PORT=$(python3 -c 'import socket
for p in range(1023, 900, -1):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(p)
    break')
[ -n "$PROXY_PORT" ] || skip "no free port below 1024"
wrap="setpriv --reuid=nobody --regid=$(id -gn nobody) --clear-groups"

# Without the capability the port cannot be bound: the grant matters.
printf 'http_port 127.0.0.1:%s\nhttp_access allow localhost\npid_filename none\naccess_log none\n' \
	"$PROXY_PORT" >"$T/nocap.conf"
chmod 644 "$T/nocap.conf"
$wrap "$BASCULE" -N -f "$T/nocap.conf" >"$T/nocap.err" 2>&1
check "no capability: cannot bind below 1024" [ $? -eq 1 ]
check "no capability: says why" grep -q "Permission denied" "$T/nocap.err"

origin_start
BASCULE_WRAP="$wrap --inh-caps=+net_bind_service --ambient-caps=+net_bind_service"
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
http_access allow localhost
EOF
caps() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$BASCULE_PID/status"; }
check "runs as nobody" [ "$(stat -c %U "/proc/$BASCULE_PID")" = nobody ]
for c in CapInh CapPrm CapEff CapAmb; do
	check "$c is empty after binding" [ "$(caps $c)" = 0000000000000000 ]
done
code=$(proxy_curl -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$ORIGIN_PORT/hello")
check "serves on the low port" [ "$code" = 200 ]
check "request logged" log_has "TCP_MISS/200 [0-9]+ GET http://127.0.0.1:$ORIGIN_PORT/hello"
finish
