#!/bin/sh
# stop-local.sh: `make stop`.  Stops what `make run` started, by the pids it
# recorded in ./run/*.pid (never by name).  Sessions' containers stay: they
# end by themselves at their deadline, and the next `make run` reconciles.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
run=${TOOLKATA_RUN_DIR:-$top/run}

for name in caddy websocketd api; do
	f="$run/$name.pid"
	[ -f "$f" ] || continue
	pid=$(cat "$f")
	if kill "$pid" 2>/dev/null; then
		i=0
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$pid" 2>/dev/null || true
		echo "stop: $name ($pid) stopped"
	fi
	rm -f "$f"
done
