#!/bin/sh
# The files bascule writes as root: the pid file is locked while it runs
# and removed at exit; neither it nor an access log is opened through a
# symbolic link (a service user could plant one to get a root file).
. "${srcdir:-.}/e2e/lib.sh"
need python3
bascule_start <<EOF
http_port 127.0.0.1:$PROXY_PORT
max_filedescriptors 4321
EOF
check "pid file holds the pid" [ "$(cat "$T/bascule.pid")" = "$BASCULE_PID" ]
check "max_filedescriptors sets the limit" \
	grep -Eq '^Max open files +4321 ' "/proc/$BASCULE_PID/limits"

other=$(free_port)
sed "s/^http_port .*/http_port 127.0.0.1:$other/" "$T/bascule.conf" >"$T/second.conf"
"$BASCULE" -N -f "$T/second.conf" 2>"$T/second.err"
check "a second instance on the same pid file refuses to start" [ $? -ne 0 ]
check "it says why" grep -q 'is locked' "$T/second.err"
check "the first one's pid file is intact" [ "$(cat "$T/bascule.pid")" = "$BASCULE_PID" ]

bascule_stop
check "pid file removed at exit" [ ! -e "$T/bascule.pid" ]

if [ "$(id -u)" = 0 ]; then
	echo secret >"$T/root-only"
	chmod 600 "$T/root-only"
	ln -s "$T/root-only" "$T/evil.log"
	sed "s|^access_log .*|access_log stdio:$T/evil.log|" "$T/bascule.conf" >"$T/evil.conf"
	"$BASCULE" -N -f "$T/evil.conf" 2>"$T/evil.err" &
	pid=$!
	PIDS="$PIDS $pid"
	check "symlinked access log refused" wait_for sh -c "! kill -0 $pid 2>/dev/null"
	check "refusal names the log" grep -q "access_log $T/evil.log" "$T/evil.err"
	check "the link's target is still root's" [ "$(stat -c %U "$T/root-only")" = root ]

	ln -s "$T/root-only" "$T/evil.pid"
	sed "s|^pid_filename .*|pid_filename $T/evil.pid|" "$T/bascule.conf" >"$T/evilpid.conf"
	"$BASCULE" -N -f "$T/evilpid.conf" 2>"$T/evilpid.err" &
	pid=$!
	PIDS="$PIDS $pid"
	check "symlinked pid file refused" wait_for sh -c "! kill -0 $pid 2>/dev/null"
	check "the pid file's link target is untouched" grep -qx secret "$T/root-only"
fi
finish
