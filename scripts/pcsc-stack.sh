#!/usr/bin/env bash
# pcsc-stack.sh: the real PC/SC stack the reader tests run against: Debian pcscd
# with the vsmartcard vpcd virtual reader driver (test-only; it listens on TCP
# 35963/35964 and must never be installed on a production device).
#
#   scripts/pcsc-stack.sh install   apt-get install pcscd vsmartcard-vpcd libpcsclite-dev
#                                   pcsc-tools python3-pyscard pkg-config when missing
#   scripts/pcsc-stack.sh start     start pcscd (root) unless it runs; wait for its socket
#   scripts/pcsc-stack.sh stop      SIGTERM pcscd and wait until it has exited
#   scripts/pcsc-stack.sh restart   stop then start
#   scripts/pcsc-stack.sh status    exit 0 when pcscd answers on its socket
#
# Every subcommand is idempotent and says what it does on stderr.
set -euo pipefail

RUN_DIR=/run/pcscd
SOCKET=$RUN_DIR/pcscd.comm
PIDFILE=$RUN_DIR/pcscd.pid
LOG=${PCSCD_LOG:-/tmp/pcscd.log}
PACKAGES=(pcscd vsmartcard-vpcd libpcsclite-dev pcsc-tools python3-pyscard pkg-config)

say() { echo "pcsc-stack: $*" >&2; }
die() { say "error: $*"; exit 1; }

# pcscd_pid prints the pid of the running pcscd, from its pid file, if that
# process is alive and is pcscd.
pcscd_pid() {
	local pid
	[ -r "$PIDFILE" ] || return 1
	pid=$(tr -dc '0-9' <"$PIDFILE")
	[ -n "$pid" ] || return 1
	[ -r "/proc/$pid/comm" ] || return 1
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = pcscd ] || return 1
	echo "$pid"
}

need_root() {
	[ "$(id -u)" -eq 0 ] || die "$1 needs root (pcscd is system-wide: one per machine, socket in $RUN_DIR)"
}

cmd_install() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$p")
		fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		say "packages already installed: ${PACKAGES[*]}"
		return 0
	fi
	need_root install
	say "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
		say "apt-get install failed; running apt-get update first"
		apt-get update -q >/dev/null
		apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
	fi
	say "installed: ${missing[*]}"
}

cmd_start() {
	local pid i
	if pid=$(pcscd_pid) && [ -S "$SOCKET" ]; then
		say "pcscd already running (pid $pid)"
		return 0
	fi
	need_root start
	command -v pcscd >/dev/null || die "pcscd not installed: run '$0 install'"
	[ -f /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] || say "warning: vpcd driver not installed (vsmartcard-vpcd): no virtual readers"
	# A socket or pid file left by a pcscd that died makes a new one refuse to start.
	if [ -e "$SOCKET" ] || [ -e "$PIDFILE" ]; then
		say "removing stale $SOCKET / $PIDFILE (no live pcscd)"
		rm -f "$SOCKET" "$PIDFILE"
	fi
	say "starting pcscd --foreground (log $LOG)"
	setsid pcscd --foreground </dev/null >"$LOG" 2>&1 &
	for i in $(seq 1 100); do
		if [ -S "$SOCKET" ] && pcscd_pid >/dev/null; then
			say "pcscd running (pid $(pcscd_pid)), socket $SOCKET"
			return 0
		fi
		sleep 0.05
	done
	die "pcscd did not create $SOCKET within 5 s; see $LOG"
}

cmd_stop() {
	local pid i
	if ! pid=$(pcscd_pid); then
		say "pcscd not running"
		return 0
	fi
	need_root stop
	say "stopping pcscd (pid $pid) with SIGTERM"
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 200); do
		if [ ! -d "/proc/$pid" ] || [ "$(cat "/proc/$pid/stat" 2>/dev/null | awk '{print $3}')" = Z ]; then
			# Gone, or a zombie waiting for its parent: either way it no longer serves.
			say "pcscd stopped"
			return 0
		fi
		sleep 0.05
	done
	die "pcscd (pid $pid) still running 10 s after SIGTERM"
}

cmd_status() {
	local pid
	if pid=$(pcscd_pid) && [ -S "$SOCKET" ]; then
		say "pcscd running (pid $pid)"
		return 0
	fi
	say "pcscd not running"
	return 1
}

case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
restart) cmd_stop && cmd_start ;;
status) cmd_status ;;
*)
	echo "usage: $0 install|start|stop|restart|status" >&2
	exit 2
	;;
esac
