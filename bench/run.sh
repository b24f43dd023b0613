#!/bin/sh
# run.sh: `make bench`.  Without BENCH_URL it starts four private stacks
# (deploy/run-local.sh in temporary folders, own ports and instances, rate
# limits off): gVisor (runsc) and runc, each with the warm pool (2) and
# without it (the cold path), runs bench/bench.js against them,
# stops them by their pids, writes bench/results/<date>.json and
# regenerates the tables in bench/REPORT.md.  With BENCH_URL (and
# BENCH_KEY) it measures that server instead (runsc numbers only).
# BENCH_QUICK=1: every scenario briefly (the smoke run in make check);
# BENCH_ONLY=rest,...: some scenarios in full; neither writes
# bench/results or REPORT.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
quick=${BENCH_QUICK:-}
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)

[ -d "$here/node_modules/ws" ] ||
	npm install --prefix "$here" --no-audit --no-fund \
	    --cache /var/cache/toolkata/npm >/dev/null 2>&1 ||
	{ echo "bench: npm install ws failed" >&2; exit 1; }

tmp=$(mktemp -d /tmp/tk-bench.XXXXXX)
cleanup() {
	# Keep the stacks' logs of a failed run for a post-mortem.
	if [ -n "${failed:-}" ]; then
		rm -rf /tmp/toolkata-bench-logs
		mkdir -p /tmp/toolkata-bench-logs
		for d in "$tmp"/runsc "$tmp"/runc; do
			[ -d "$d" ] || continue
			mkdir -p "/tmp/toolkata-bench-logs/${d##*/}"
			cp "$d"/*.log "/tmp/toolkata-bench-logs/${d##*/}/" 2>/dev/null || true
		done
		echo "bench: logs kept in /tmp/toolkata-bench-logs" >&2
	fi
	for d in "$tmp/runsc" "$tmp/runsc-cold" "$tmp/runc" "$tmp/runc-cold"; do
		[ -d "$d" ] && TOOLKATA_RUN_DIR=$d "$top/deploy/stop-local.sh" >/dev/null
	done
	# Sessions a failed run left behind: remove their containers by label.
	for g in runsc runsc-cold runc runc-cold; do
		ids=$(docker ps -aq --filter "label=toolkata.instance=bench-$g-$$")
		# shellcheck disable=SC2086
		[ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() {
	node -e 'const s = require("net").createServer();
	    s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

start_stack() { # dir gvisor pool-size
	mkdir -p "$1"
	TOOLKATA_RUN_DIR=$1 TOOLKATA_HTTP_PORT=$(free_port) \
	    TOOLKATA_WS_PORT=$(free_port) SANDBOX_USE_GVISOR=$2 \
	    SANDBOX_POOL_SIZE=$3 SANDBOX_EVICT_AFTER=0 \
	    SANDBOX_INSTANCE="bench-${1##*/}-$$" DISABLE_RATE_LIMIT=true \
	    CIRCUIT_MAX_CONTAINERS=1000 CIRCUIT_MAX_MEMORY_PERCENT=100 \
	    TOOLKATA_MAXFORKS=1000 SANDBOX_WORKERS=8 \
	    SANDBOX_IDLE_TIMEOUT=86400 SANDBOX_MAX_LIFETIME=86400 \
	    "$top/deploy/run-local.sh" | sed -n 's/.*is up: *\(http[^ ]*\)\/.*/\1/p'
}

set -- --out "$tmp/results.json"
[ -n "$quick" ] && set -- "$@" --quick
# BENCH_ONLY=rest,create: a subset; like the smoke run, it writes nothing.
[ -n "${BENCH_ONLY:-}" ] && set -- "$@" --only "$BENCH_ONLY" && quick=partial
if [ -n "${BENCH_URL:-}" ]; then
	set -- "$@" --url "$BENCH_URL"
	[ -n "${BENCH_KEY:-}" ] && set -- "$@" --key "$BENCH_KEY"
else
	# Warm (the default pool of 2) and cold (no pool) for each runtime.
	url=$(start_stack "$tmp/runsc" true 2 | sed 's/localhost/127.0.0.1/')
	cold=$(start_stack "$tmp/runsc-cold" true 0 | sed 's/localhost/127.0.0.1/')
	runc=$(start_stack "$tmp/runc" false 2 | sed 's/localhost/127.0.0.1/')
	runc_cold=$(start_stack "$tmp/runc-cold" false 0 |
	    sed 's/localhost/127.0.0.1/')
	set -- "$@" --url "$url" --runc-url "$runc" --cold-url "$cold" \
	    --runc-cold-url "$runc_cold" --runc-state "$tmp/runc/state.db" \
	    --state "$tmp/runsc/state.db" \
	    --websocketd-pid "$(cat "$tmp/runsc/websocketd.pid")" \
	    --api-pid "$(cat "$tmp/runsc/api.pid")"
fi
cmd="node bench/bench.js $*"
failed=1
node "$here/bench.js" "$@"
failed=
[ -n "$quick" ] && exit 0
mkdir -p "$here/results"
cp "$tmp/results.json" "$here/results/$stamp.json"
node "$here/report.js" "$here/results/$stamp.json" "$here/REPORT.md" \
    "BENCH_URL=${BENCH_URL:-} make bench  ($cmd)"
echo "bench: wrote bench/results/$stamp.json and bench/REPORT.md"
