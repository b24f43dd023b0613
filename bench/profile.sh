#!/bin/sh
# profile.sh: where toolkata-api spends its instructions on the hot REST
# routes.  Runs the FastCGI daemon (one worker) under valgrind's callgrind
# on its own socket and state file, sends N requests of GET /health and of
# GET /api/v1/sessions/<id> (of an unknown id: no container needed) with
# cgi-fcgi, stops it with SIGTERM, and prints the top functions by
# inclusive and exclusive instruction counts.  Callgrind counts
# instructions, not time: the numbers repeat run to run.
#   bench/profile.sh [requests]   (default 500)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-500}
tmp=$(mktemp -d /tmp/tk-profile.XXXXXX)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT INT TERM

SANDBOX_LISTEN="$tmp/api.sock" SANDBOX_STATE_FILE="$tmp/state.db" \
    SANDBOX_AUDIT_LOG="$tmp/audit.log" SANDBOX_INSTANCE="profile-$$" \
    SANDBOX_WORKERS=1 SANDBOX_REAP_INTERVAL=3600 \
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
    "$top/bin/toolkata-api" 2>"$tmp/api.log" &
pid=$!
i=0
while [ ! -S "$tmp/api.sock" ]; do
	i=$((i + 1))
	[ "$i" -lt 300 ] || { cat "$tmp/api.log"; exit 1; }
	sleep 0.1
done
sleep 2	# the reconcile pass before serving

req() {
	REQUEST_METHOD=GET PATH_INFO=$1 REMOTE_ADDR=127.0.0.1 \
	    cgi-fcgi -bind -connect "$tmp/api.sock" >/dev/null
}
i=0
while [ "$i" -lt "$n" ]; do
	req /health
	req /api/v1/sessions/sess_0123456789abcdef0123456789abcdef
	i=$((i + 1))
done
kill -TERM "$pid"
wait "$pid" || true
echo "== $n x GET /health + $n x GET /api/v1/sessions/<unknown>: inclusive =="
callgrind_annotate --inclusive=yes "$tmp/cg.out" 2>/dev/null | sed -n '1,45p' |
    grep -vE '^--|^$' | cut -c1-150
echo "== exclusive =="
callgrind_annotate "$tmp/cg.out" 2>/dev/null | sed -n '/Ir/,$p' | sed -n '1,25p' |
    cut -c1-150
