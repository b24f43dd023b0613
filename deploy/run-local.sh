#!/bin/sh
# run-local.sh: `make run`.  Brings up the local stack: dockerd (if none
# answers), toolkata-api as a FastCGI daemon, websocketd running
# toolkata-relay per terminal on 127.0.0.1:$TOOLKATA_WS_PORT (8081), and
# Caddy on http://localhost:$TOOLKATA_HTTP_PORT (8080) with the playground.  State, logs and pidfiles go
# to ./run/ (or $TOOLKATA_RUN_DIR).  Restarts what an earlier `make run`
# left running; `make stop` stops it by the recorded pids.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
run=${TOOLKATA_RUN_DIR:-$top/run}
port=${TOOLKATA_HTTP_PORT:-8080}
wsport=${TOOLKATA_WS_PORT:-8081}

mkdir -p "$run"
"$top/docker/dockerd-up.sh"
"$top/deploy/stop-local.sh" >/dev/null 2>&1 || true

export SANDBOX_LISTEN="$run/api.sock"
export SANDBOX_STATE_FILE="$run/state.db"
export SANDBOX_AUDIT_LOG="$run/audit.log"
export SANDBOX_INSTANCE="${SANDBOX_INSTANCE:-local}"
export TOOLKATA_API_SOCK="$run/api.sock"
export TOOLKATA_HTTP_PORT="$port"
export TOOLKATA_WS_PORT="$wsport"
export TOOLKATA_WWW="$top/caddy/www"
export SANDBOX_RELAY_LOG="$run/relay.log"
export TOOLKATA_CADDY_LOG="$run/caddy-access.log"
export XDG_DATA_HOME="$run/caddy" XDG_CONFIG_HOME="$run/caddy"
# The secret Caddy hands the relay (Xwssecret): without it every terminal
# is refused.  Kept in $run so that a restart keeps it.
if [ -z "${SANDBOX_WS_SECRET:-}" ]; then
	[ -s "$run/ws-secret" ] || (umask 077 &&
	    od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$run/ws-secret")
	SANDBOX_WS_SECRET=$(cat "$run/ws-secret")
fi
export SANDBOX_WS_SECRET

nohup "$top/bin/toolkata-api" >>"$run/api.log" 2>&1 </dev/null &
echo $! >"$run/api.pid"
# websocketd --binary holds a 10 MiB buffer per connection, which inflates
# Go's GC target: RSS grew 11 -> 71 MB in a soak and stayed (mechanics.md
# H3).  GOGC=10 keeps garbage near a tenth of the live heap whatever the
# number of connections; GOMEMLIMIT is the ceiling at --maxforks of them.
maxforks=${TOOLKATA_MAXFORKS:-200}
GOGC=10 GOMEMLIMIT="$((maxforks * 10 + 32))MiB" \
nohup websocketd --address=127.0.0.1 --port="$wsport" --binary \
	--loglevel=error --maxforks="$maxforks" --closems=200 \
	--passenv "$("$top/bin/toolkata-relay" --passenv-list)" \
	"$top/bin/toolkata-relay" >>"$run/websocketd.log" 2>&1 </dev/null &
echo $! >"$run/websocketd.pid"
nohup caddy run --config "$top/caddy/Caddyfile.local" --adapter caddyfile \
	>>"$run/caddy.log" 2>&1 </dev/null &
echo $! >"$run/caddy.pid"

i=0
until curl -fsS --max-time 2 "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ "$i" -gt 100 ]; then
		echo "run: the stack did not come up; see $run/api.log and" \
		    "$run/caddy.log" >&2
		exit 1
	fi
	sleep 0.2
done
cat <<MSG
toolkata sandbox is up:  http://localhost:$port/
  lesson:   http://localhost:$port/lesson.html   (an inline terminal with init commands and a step check)
  health:   curl http://localhost:$port/health
  session:  curl -X POST -d '{"toolPair":"jj-git"}' http://localhost:$port/api/v1/sessions
  logs:     $run/api.log  $run/audit.log  $run/caddy.log
  stop:     make stop
MSG
