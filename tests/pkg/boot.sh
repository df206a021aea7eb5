#!/bin/sh
# The package under real systemd: a minimal Debian (debootstrap) boots in
# systemd-nspawn, installs the .deb, and a oneshot unit checks that the
# service was enabled and started by the postinst, serves a request under
# the unit's sandboxing, reloads in place, reopens its log for logrotate,
# and that purge stops it and removes what it made.  Then it powers off.
#
#	sh tests/pkg/boot.sh DEBDIR         (DEBDIR holds bascule_*.deb)
#	sh tests/pkg/boot.sh --prepare DIR  (only make the root file system)
#
# Needs root, debootstrap, systemd-nspawn and Debian's archive; exits 77
# (skipped) when one is missing or this machine does not permit nspawn.
# BOOT_ROOT=DIR uses the root file system in DIR, made by --prepare (or
# by the first run) and kept: debootstrap takes one to several minutes,
# mostly downloading.  Without it the root is made in a temporary
# directory and removed.  The container shares the host's network: its
# bascule listens on 127.0.0.1:3130, and the origin it forwards to is
# started here, on the host's loopback.
srcdir=$(cd "$(dirname "$0")/.." && pwd)
. "$srcdir/e2e/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
need debootstrap systemd-nspawn python3 timeout findmnt

# The package's run-time dependencies are included, so the container
# needs no apt lists (checked against the .deb below); logrotate, which
# it recommends, is tested too.
INCLUDE=systemd-sysv,logrotate,libc-ares2,libev4,libgnutls30,libidn2-0

# make_root DIR: a minimal bookworm in DIR (absolute), unless it is there.
make_root() {
	[ -x "$1/lib/systemd/systemd" ] || debootstrap_root "$1" || return 1
	# debootstrap writes no /etc/hosts (an installer does), and bascule
	# cannot start without its default hosts_file yet: give the container
	# the file that every installed system has.
	[ -e "$1/etc/hosts" ] ||
		printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
			>"$1/etc/hosts"
}

debootstrap_root() {
	rm -rf --one-file-system "$1"
	debootstrap --variant=minbase --include="$INCLUDE" \
		--cache-dir=/var/cache/apt/archives bookworm "$1" >"$T/debootstrap.log" 2>&1
	rc=$?
	# Nothing may stay mounted in it (a killed debootstrap leaves /proc):
	# the root is removed with rm -rf.
	findmnt -rn -o TARGET | grep "^$1/" | sort -r | xargs -r umount -l
	[ $rc -eq 0 ] || tail -n 5 "$T/debootstrap.log"
	return $rc
}

if [ "${1:-}" = --prepare ] && [ $# -eq 2 ]; then
	case $2 in /*) root=$2 ;; *) root=$PWD/$2 ;; esac
	make_root "$root" || skip "debootstrap failed (no archive?)"
	exit 0
fi
[ $# -eq 1 ] || { echo "usage: $0 DEBDIR | --prepare DIR" >&2; exit 2; }
debdir=$(cd "$1" && pwd) || exit 2
set -- "$debdir"/bascule_*.deb
[ -f "$1" ] || { echo "no bascule_*.deb in $debdir" >&2; exit 2; }
deb=$1
if python3 -c 'import socket; socket.create_connection(("127.0.0.1", 3130), 1)' 2>/dev/null; then
	skip "127.0.0.1:3130 is taken: the container's bascule could not start"
fi

root=${BOOT_ROOT:-$T/root}
case $root in /*) ;; *) root=$PWD/$root ;; esac
make_root "$root" || skip "debootstrap failed (no archive?)"
for dep in $(dpkg-deb -f "$deb" Depends | sed 's/([^)]*)//g; s/|[^,]*//g; s/,/ /g'); do
	[ "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${db:Status-Status}' "$dep" 2>/dev/null)" = installed ] ||
		{ fail "$dep, a dependency, is not in the container: add it to INCLUDE"; finish; }
done
nspawn() {
	systemd-nspawn -q --register=no --keep-unit -D "$root" "$@"
}
nspawn /bin/true >"$T/probe.log" 2>&1 ||
	{ cat "$T/probe.log"; skip "this machine does not permit systemd-nspawn"; }

# The origin, on the loopback the container shares.
mkdir -p "$T/www" "$T/out"
echo "hello from the origin" >"$T/www/hello"
ORIGIN_PORT=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$ORIGIN_PORT" \
	>"$T/origin.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$ORIGIN_PORT" || { fail "origin did not start"; finish; }
echo "$ORIGIN_PORT" >"$T/out/origin_port"

# The test, run by systemd in the container once it is up.
cat >"$root/usr/local/sbin/bascule-boot-test" <<'EOF'
#!/bin/bash
exec >/out/log 2>&1
export DEBIAN_FRONTEND=noninteractive
failed=0
t() {
	local name=$1
	shift
	if "$@"; then echo "ok - $name"; else echo "FAIL - $name"; failed=$((failed + 1)); fi
}
origin=$(cat /out/origin_port)
# get URL: one request through bascule with bash alone; prints the reply.
get() {
	exec 3<>/dev/tcp/127.0.0.1/3130 || return 1
	printf 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$1" >&3
	timeout 10 cat <&3
	exec 3<&-
}
mainpid() { systemctl show -p MainPID --value bascule.service; }
journal_has() {
	local i
	for i in $(seq 50); do
		journalctl -q -u bascule.service | grep -q "$1" && return 0
		sleep 0.2
	done
	return 1
}
log_has() {
	local i
	for i in $(seq 50); do
		grep -q "$1" /var/log/bascule/access.log 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

deb=$(ls /deb/bascule_*.deb)
t "apt-get install $deb" apt-get install -y -q --no-install-recommends "$deb"
t "bascule.service is enabled" systemctl -q is-enabled bascule.service
t "bascule.service is active" systemctl -q is-active bascule.service
pid=$(mainpid)
t "it has a main pid" [ "${pid:-0}" -gt 0 ]
t "it runs as bascule" grep -Eq "^Uid:[[:space:]]+$(id -u bascule)[[:space:]]" "/proc/$pid/status"
t "ready, and says so" journal_has "bascule 0.1.0 started"
t "the CA key is bascule's, 600" [ "$(stat -c '%U %a' /etc/bascule/ca.key)" = "bascule 600" ]
t "/var/log/bascule is bascule's, 750" [ "$(stat -c '%U %a' /var/log/bascule)" = "bascule 750" ]

get "http://127.0.0.1:$origin/hello" >/tmp/reply
t "a request is forwarded" grep -q "hello from the origin" /tmp/reply
t "and logged in /var/log/bascule/access.log" log_has "TCP_MISS/200 .* GET http://127.0.0.1:$origin/hello "
get "http://127.0.0.1:25/" >/tmp/reply
t "the shipped rules refuse port 25" grep -q "^HTTP/1.1 403" /tmp/reply

t "systemctl reload" systemctl reload bascule.service
t "the reload is logged" journal_has "reloaded /etc/bascule/bascule.conf"
t "still active after the reload" systemctl -q is-active bascule.service
t "same main pid after the reload" [ "$(mainpid)" = "$pid" ]
get "http://127.0.0.1:$origin/hello?after-reload" >/tmp/reply
t "serves after the reload" grep -q "hello from the origin" /tmp/reply

# logrotate with the package's configuration; its postrotate sends SIGUSR1.
t "logrotate -f /etc/logrotate.d/bascule" logrotate -f /etc/logrotate.d/bascule
t "the log is rotated" [ -f /var/log/bascule/access.log.1 ]
t "the daemon reopens its log" journal_has "logs reopened"
get "http://127.0.0.1:$origin/hello?after-rotate" >/tmp/reply
t "the new log gets the next request" log_has "after-rotate"
t "the new log is bascule's" [ "$(stat -c %U /var/log/bascule/access.log)" = bascule ]

t "systemctl restart" systemctl restart bascule.service
t "a new main pid after the restart" [ "$(mainpid)" != "$pid" ]
t "the stop is logged" journal_has "bascule stopped"

t "apt-get purge bascule" apt-get purge -y -q bascule
t "the service is stopped" sh -c '! systemctl -q is-active bascule.service'
t "the unit is gone" sh -c '! systemctl cat bascule.service >/dev/null 2>&1'
for f in /etc/bascule /var/lib/bascule /var/cache/bascule /var/log/bascule \
	/etc/systemd/system/multi-user.target.wants/bascule.service; do
	t "purge removed $f" [ ! -e "$f" ]
done
t "the user stays" id -u bascule

echo "--- journal of bascule.service"
journalctl -q -b -u bascule.service --no-pager -o short-monotonic
echo "$failed" >/out/failed
# poweroff.target directly: "systemctl poweroff" would ask logind first
systemctl --no-block start poweroff.target
EOF
chmod 755 "$root/usr/local/sbin/bascule-boot-test"
cat >"$root/etc/systemd/system/bascule-boot-test.service" <<'EOF'
[Unit]
Description=bascule package test
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/bascule-boot-test
EOF
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf ../bascule-boot-test.service \
	"$root/etc/systemd/system/multi-user.target.wants/bascule-boot-test.service"

# Both flags are needed without systemd on the host.
timeout 300 systemd-nspawn -q --register=no --keep-unit \
	--bind-ro="$debdir:/deb" --bind="$T/out:/out" -D "$root" \
	--boot --console=pipe >"$T/boot.log" 2>&1
rc=$?
rm -f "$root/etc/systemd/system/multi-user.target.wants/bascule-boot-test.service"
cat "$T/out/log" 2>/dev/null
check "the container booted and powered off (nspawn status $rc)" [ $rc -eq 0 ]
check "the test ran to its end" [ -f "$T/out/failed" ]
check "every check in the container passed" [ "$(cat "$T/out/failed" 2>/dev/null)" = 0 ]
if [ "$FAILED" -ne 0 ]; then
	echo "--- console (last 40 lines)"
	tail -n 40 "$T/boot.log"
fi
finish
