#!/bin/bash
# entrypoint.sh: PID 1 of a sandbox container, running as user sandbox.
# The identity and prompt are system-wide (/etc/gitconfig, /etc/jj,
# /etc/bash.bashrc), so nothing is copied into the tmpfs HOME.  It lives
# exactly TOOLKATA_LIFETIME seconds (default 1800, 1..86400) and exits, ending the
# container at the session deadline.  As PID 1 it reaps orphaned zombies
# (bash reaps any child while in `wait`).  Arguments, if given, are exec'd.
set -u


if [ "$#" -gt 0 ]; then
	exec "$@"
fi

life=${TOOLKATA_LIFETIME:-1800}
case $life in
'' | *[!0-9]*) life=bad ;;
*) [ "${#life}" -le 6 ] && [ $((10#$life)) -ge 1 ] && [ $((10#$life)) -le 86400 ] ||
	life=bad ;;
esac
if [ "$life" = bad ]; then
	echo "entrypoint: TOOLKATA_LIFETIME must be 1..86400 seconds" >&2
	exit 64
fi
life=$((10#$life))

pid=
stop() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	exit "$1"
}
trap 'stop 129' HUP
trap 'stop 130' INT
trap 'stop 143' TERM

sleep "$life" &
pid=$!
# `wait` returns early when a signal arrives or a zombie is reaped; keep
# waiting until the sleep itself is gone.
while kill -0 "$pid" 2>/dev/null; do
	wait "$pid"
done
exit 0
