#!/bin/sh
# The sd_notify(3) protocol that the systemd unit (Type=notify) relies on:
# READY=1 once serving, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on
# SIGTERM; with one process and with workers.
. "${srcdir:-.}/e2e/lib.sh"
need curl python3

# A notification socket of our own, logging each datagram on a line.
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(1)
end = time.time() + 60
with open(sys.argv[2], "a") as log:
    while time.time() < end:
        try:
            msg = s.recv(4096)
        except socket.timeout:
            continue
        log.write(msg.decode(errors="replace").replace("\n", " ") + "\n")
        log.flush()' "$T/notify.sock" "$T/notify.log" &
PIDS="$PIDS $!"
wait_for test -S "$T/notify.sock" || { fail "no notification socket"; finish; }
: >"$T/notify.log"
chmod 777 "$T/notify.sock"
origin_start

for workers in 1 2; do
	: >"$T/notify.log"
	PROXY_PORT=$(free_port)
	NOTIFY_SOCKET=$T/notify.sock
	export NOTIFY_SOCKET
	bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
http_access allow localhost
workers $workers
EOF
	unset NOTIFY_SOCKET
	check "workers $workers: READY=1" wait_for grep -q "READY=1" "$T/notify.log"
	code=$(proxy_curl -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ORIGIN_PORT/hello")
	check "workers $workers: serving when ready" [ "$code" = 200 ]
	kill -HUP "$BASCULE_PID"
	check "workers $workers: RELOADING=1 on SIGHUP" wait_for grep -q "RELOADING=1" "$T/notify.log"
	check "workers $workers: READY=1 again after the reload" \
		wait_for sh -c "grep -c 'READY=1' '$T/notify.log' | grep -q 2"
	bascule_stop
	check "workers $workers: STOPPING=1 on SIGTERM" grep -q "STOPPING=1" "$T/notify.log"
	check "workers $workers: the main process alone, in order" \
		[ "$(tr '\n' ' ' <"$T/notify.log")" = "READY=1 RELOADING=1 READY=1 STOPPING=1 " ]
done
finish
