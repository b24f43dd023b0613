#!/bin/sh
# test-image.sh: quick manual self-test of toolkata-sandbox:latest (not part of
# the suite).  For runsc (PidsLimit 256) and runc (PidsLimit 50) it creates a
# container with the sandbox HostConfig over the Engine API, times create and
# start, runs checks through `docker exec`, and times the self-exit after
# TOOLKATA_LIFETIME=20 s.  Usage: docker/test-image.sh [runsc|runc ...]
set -eu
image=${IMAGE:-toolkata-sandbox:latest}
sock=${DOCKER_SOCK:-/var/run/docker.sock}
life=${LIFE:-20}
fails=0

api() { # METHOD PATH [JSON]: prints the body, then "http_code seconds"
	curl -sS --unix-socket "$sock" -X "$1" -H 'Content-Type: application/json' \
	    ${3:+--data "$3"} -o /dev/stdout -w '%{http_code} %{time_total}\n' \
	    "http://localhost/v1.41$2"
}
now() { date +%s.%N; }
ok() { echo "  ok   $*"; }
bad() { echo "  FAIL $*"; fails=$((fails + 1)); }

run() {
	rt=$1 pids=$2
	echo "== runtime $rt, PidsLimit $pids"
	body='{"Image":"'"$image"'","Env":["TOOLKATA_LIFETIME='"$life"'"],"HostConfig":{
	 "NetworkMode":"none","ReadonlyRootfs":true,
	 "Tmpfs":{"/home/toolkata":"size=50M,uid=1000,gid=1000","/tmp":"size=10M"},
	 "Memory":134217728,"CpuQuota":50000,"PidsLimit":'"$pids"',"CapDrop":["ALL"],
	 "SecurityOpt":["no-new-privileges"],"Ulimits":[{"Name":"nofile","Soft":64,"Hard":64}],
	 "AutoRemove":false,"Runtime":"'"$rt"'"}}'
	out=$(api POST /containers/create "$body")
	id=$(printf '%s' "$out" | sed -n 's/.*"Id":"\([0-9a-f]*\)".*/\1/p')
	[ -n "$id" ] || { bad "create: $out"; return; }
	echo "  create: $(printf '%s' "$out" | tail -n 1)"
	t0=$(now)
	out=$(api POST "/containers/$id/start")
	echo "  start:  $out (code seconds)"
	sleep 0.3
	res=$(docker exec -u sandbox -e HOME=/home/toolkata -w /home/toolkata "$id" bash -lc \
	    'id; git --version; git config user.email; touch /x || echo ro-ok; echo hi > ~/f && cat ~/f; locale' 2>&1) || true
	printf '%s\n' "$res" | sed 's/^/    | /'
	for want in 'uid=1000(sandbox) gid=1000(sandbox)' 'git version' 'sandbox@toolkata.com' \
	    'ro-ok' '^hi$' 'LC_ALL=en_US.UTF-8'; do
		if printf '%s\n' "$res" | grep -q "$want"; then ok "$want"; else bad "$want"; fi
	done
	if printf '%s\n' "$res" | grep -qi 'cannot set\|no such file or directory'; then
		bad "locale warnings"; fi
	# runsc 20221219 statx bug: needs shim/statx-shim.c (via /etc/ld.so.preload).
	res=$(docker exec "$id" sh -c 'ls -la ~ >/dev/null && stat -c %U ~/.gitconfig && ls -d /' 2>&1) || true
	if [ "$res" = "$(printf 'sandbox\n/')" ]; then ok "ls/stat work"; else bad "ls/stat: $res"; fi
	# An orphan whose parent exits must be reaped, not left as a zombie.
	docker exec "$id" sh -c '(sleep 1 &) ; true' >/dev/null 2>&1 || true
	sleep 2
	z=$(docker exec "$id" ps -eo stat=,comm= 2>&1 | grep -c '^Z' || true)
	if [ "$z" = 0 ]; then ok "no zombies"; else bad "$z zombies"; fi
	st=$(docker exec "$id" sh -c 'grep -E "^(CapEff|NoNewPrivs)" /proc/1/status; ulimit -n; find / -xdev -perm /6000 -type f 2>/dev/null | wc -l' 2>&1 | tr '\n' ' ')
	echo "  caps/nnp/nofile/setuid-count: $st"
	out=$(curl -sS --max-time $((life + 30)) --unix-socket "$sock" -X POST \
	    "http://localhost/v1.41/containers/$id/wait") || out="wait failed"
	t1=$(now)
	el=$(awk "BEGIN{printf \"%.2f\", $t1 - $t0}")
	echo "  exited after ${el}s: $out"
	case $out in *'"StatusCode":0'*) ok "self-exit status 0" ;; *) bad "exit $out" ;; esac
	api DELETE "/containers/$id?force=1" >/dev/null
}

stopcheck() { # docker stop must not need the 10 s SIGKILL fallback
	id=$(docker run -d --runtime "$1" -e TOOLKATA_LIFETIME=600 "$image")
	sleep 1
	t0=$(now); docker stop "$id" >/dev/null; t1=$(now)
	code=$(docker inspect -f '{{.State.ExitCode}}' "$id")
	el=$(awk "BEGIN{printf \"%.2f\", $t1 - $t0}")
	echo "== $1: docker stop took ${el}s, exit $code"
	case $code in 143) ok "TERM trapped" ;; *) bad "stop exit $code" ;; esac
	docker rm -f "$id" >/dev/null
	code=0
	docker run --rm --runtime "$1" -e TOOLKATA_LIFETIME=abc "$image" 2>/dev/null || code=$?
	case $code in 64) ok "bad TOOLKATA_LIFETIME -> 64" ;; *) bad "bad lifetime gave $code" ;; esac
}

[ "$#" -gt 0 ] || set -- runsc runc
for rt in "$@"; do
	case $rt in runsc) run runsc 256 ;; *) run "$rt" 50 ;; esac
	stopcheck "$rt"
done
echo "failures: $fails"
[ "$fails" = 0 ]
