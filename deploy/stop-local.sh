#!/bin/sh
# stop-local.sh: `make stop`.  Stops what `make run` started, by the pids it
# recorded in ./run/*.pid (never by name).  Sessions' containers stay: they
# end by themselves at their deadline, and the next `make run` reconciles.
# The warm pool's unclaimed containers (the state file's pool rows) are
# removed: nobody would claim them, and each holds memory for 40 minutes.
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

db="$run/state.db"
if [ -f "$db" ] && command -v sqlite3 >/dev/null 2>&1; then
	ids=$(sqlite3 "$db" "SELECT container_id FROM pool WHERE container_id<>''" \
	    2>/dev/null) || ids=
	# shellcheck disable=SC2086 # one id per word
	[ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
	sqlite3 "$db" "DELETE FROM pool" 2>/dev/null || true
	[ -z "$ids" ] || echo "stop: removed $(echo "$ids" | wc -l) warm pool container(s)"
fi
