#!/bin/sh
# create.sh: session create latency, POST /api/v1/sessions -> 201 through
# Caddy and FastCGI, against the raw Engine API create+start of an
# identical container measured in the same run, under runsc and runc; and
# the RSS of an idle toolkata-api.  Starts its own stacks (deploy/
# run-local.sh) on port $BENCH_PORT in a temporary folder; prints ratio
# lines a script can read.  Usage: bench/create.sh [runs]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-10}
port=${BENCH_PORT:-18180}
sock=/var/run/docker.sock
tmp=$(mktemp -d /tmp/tk-bench.XXXXXX)
trap 'TOOLKATA_RUN_DIR=$tmp "$top/deploy/stop-local.sh" >/dev/null; rm -rf "$tmp"' EXIT INT TERM

ms() { awk -v t="$1" 'BEGIN { printf "%.1f\n", t * 1000 }'; }

# p50 of a file of numbers (ms).
p50() { sort -n "$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

engine_body() {
	# The same container toolkata-api makes (lib/engine.c), minus the
	# session-specific label values.
	cat <<JSON
{"Image":"toolkata-sandbox:latest","Env":["TOOL_PAIR=jj-git","TOOLKATA_LIFETIME=1800"],
"Labels":{"toolkata.session":"sess_bench","toolkata.instance":"bench-raw","toolkata.tool-pair":"jj-git"},
"Tty":false,"OpenStdin":false,"HostConfig":{"NetworkMode":"none","ReadonlyRootfs":true,
"Tmpfs":{"/home/toolkata":"rw,nosuid,nodev,size=50m,uid=1000,gid=1000,mode=0755","/tmp":"rw,nosuid,nodev,size=10m"},
"Memory":134217728,"MemorySwap":134217728,"CpuPeriod":100000,"CpuQuota":50000,"PidsLimit":$2,
"ShmSize":10485760,"CapDrop":["ALL"],"SecurityOpt":["no-new-privileges"],
"Ulimits":[{"Name":"nofile","Soft":64,"Hard":64}],"AutoRemove":false,"LogConfig":{"Type":"none"},"Runtime":"$1"}}
JSON
}

raw_once() {
	t0=$(date +%s.%N)
	id=$(curl -fsS --unix-socket "$sock" -H 'Content-Type: application/json' \
	    -d "$(engine_body "$1" "$2")" http://localhost/v1.41/containers/create |
	    sed 's/.*"Id":"\([0-9a-f]*\)".*/\1/')
	curl -fsS --unix-socket "$sock" -X POST \
	    "http://localhost/v1.41/containers/$id/start" >/dev/null
	t1=$(date +%s.%N)
	curl -fsS --unix-socket "$sock" -X DELETE \
	    "http://localhost/v1.41/containers/$id?force=1" >/dev/null
	ms "$(echo "$t1 - $t0" | bc)"
}

api_once() {
	t0=$(date +%s.%N)
	out=$(curl -fsS -d '{"toolPair":"jj-git"}' "http://127.0.0.1:$port/api/v1/sessions")
	t1=$(date +%s.%N)
	id=$(echo "$out" | sed 's/.*"sessionId":"\(sess_[0-9a-f]*\)".*/\1/')
	curl -fsS -X DELETE "http://127.0.0.1:$port/api/v1/sessions/$id" >/dev/null
	ms "$(echo "$t1 - $t0" | bc)"
}

measure() { # runtime pids gvisor
	TOOLKATA_RUN_DIR=$tmp TOOLKATA_HTTP_PORT=$port SANDBOX_USE_GVISOR=$3 \
	    SANDBOX_INSTANCE=bench DISABLE_RATE_LIMIT=true \
	    "$top/deploy/run-local.sh" >/dev/null
	pid=$(cat "$tmp/api.pid")
	rss0=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
	: >"$tmp/raw.$1"
	: >"$tmp/api.$1"
	i=0
	while [ "$i" -lt "$runs" ]; do
		raw_once "$1" "$2" >>"$tmp/raw.$1"
		api_once >>"$tmp/api.$1"
		i=$((i + 1))
	done
	rss1=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
	raw=$(p50 "$tmp/raw.$1")
	api=$(p50 "$tmp/api.$1")
	echo "create_${1}_api_p50_ms: $api"
	echo "create_${1}_engine_p50_ms: $raw"
	echo "create_${1}_p50_ratio_vs_engine: $(awk -v a="$api" -v b="$raw" 'BEGIN { printf "%.2f", a / b }')"
	echo "api_rss_idle_kib: $rss0"
	echo "api_rss_after_${runs}_creates_kib: $rss1"
	TOOLKATA_RUN_DIR=$tmp "$top/deploy/stop-local.sh" >/dev/null
}

echo "runs: $runs"
measure runsc 256 true
measure runc 50 false
