#!/bin/sh
# dockerd-up.sh: make sure a Docker engine answers on /var/run/docker.sock,
# with the runsc runtime registered from docker/daemon.json.  Starts dockerd
# in the background (logging to /var/log/toolkata-dockerd.log) when none runs.
# Idempotent; used by `make run`, `make check` and .ci/run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sock=${DOCKER_SOCK:-/var/run/docker.sock}

ping() {
	curl -fsS --max-time 2 --unix-socket "$sock" http://localhost/_ping \
	    >/dev/null 2>&1
}

has_runsc() {
	curl -fsS --max-time 5 --unix-socket "$sock" http://localhost/info \
	    2>/dev/null | grep -q '"runsc"'
}

if ! cmp -s "$here/daemon.json" /etc/docker/daemon.json; then
	if [ -f /etc/docker/daemon.json ] && ! grep -q runsc /etc/docker/daemon.json; then
		echo "dockerd-up: /etc/docker/daemon.json exists without runsc;" \
		    "merge docker/daemon.json into it by hand" >&2
	elif [ ! -f /etc/docker/daemon.json ]; then
		mkdir -p /etc/docker
		cp "$here/daemon.json" /etc/docker/daemon.json
	fi
fi

if ping; then
	has_runsc || echo "dockerd-up: warning: engine runs without runsc" >&2
	exit 0
fi

echo "dockerd-up: starting dockerd" >&2
nohup dockerd >>/var/log/toolkata-dockerd.log 2>&1 </dev/null &
i=0
while ! ping; do
	i=$((i + 1))
	if [ "$i" -gt 150 ]; then
		echo "dockerd-up: dockerd did not answer in 30 s;" \
		    "see /var/log/toolkata-dockerd.log" >&2
		exit 1
	fi
	sleep 0.2
done
has_runsc || echo "dockerd-up: warning: engine runs without runsc" >&2
echo "dockerd-up: dockerd ready" >&2
