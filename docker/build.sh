#!/bin/sh
# build.sh: `make image`.  Ensures dockerd, tries to fetch jj (non-fatal),
# compiles the statx shim (shim/) and the init (init/) once, then for every
# environment in TOOLKATA_ENVS (default: bash node python) makes its offline
# base (base.sh, cached) and builds its image from the one docker/Dockerfile:
#   bash    $IMAGE          (toolkata-sandbox:latest)
#   node    $IMAGE_NODE     (toolkata-env-node:latest)
#   python  $IMAGE_PYTHON   (toolkata-env-python:latest)
# Offline and idempotent: one summary line per image on success, the tail of
# $TOOLKATA_BUILD_LOG on failure.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
envs=${TOOLKATA_ENVS:-bash node python}
log=${TOOLKATA_BUILD_LOG:-/tmp/toolkata-image-build.log}
pin() { sed -n "s/^ARG $1=//p" "$here/Dockerfile" | head -n 1; }

ver=${JJ_VERSION:-$(pin JJ_VERSION)}
sum_x86=${JJ_SHA256_X86_64:-$(pin JJ_SHA256_X86_64)}
sum_arm=${JJ_SHA256_AARCH64:-$(pin JJ_SHA256_AARCH64)}
export JJ_VERSION="$ver" JJ_SHA256_X86_64="$sum_x86" JJ_SHA256_AARCH64="$sum_arm"

fail() {
	echo "build: $1 failed; last lines of $log:" >&2
	tail -n 15 "$log" | cut -c 1-160 >&2
	exit 1
}

: >"$log"
"$here/dockerd-up.sh" >>"$log" 2>&1 || fail dockerd-up.sh
"$here/fetch-jj.sh" >>"$log" 2>&1 || echo "build: fetch-jj.sh failed (ignored)" >>"$log"

# The statx shim is compiled on the host (the base image has no compiler).
shim="$here/shim/libtk-statx.so"
if [ ! -f "$shim" ] || [ -n "$(find "$here/shim/statx-shim.c" -newer "$shim")" ]; then
	cc -O2 -Wall -shared -fPIC -o "$shim" "$here/shim/statx-shim.c" >>"$log" 2>&1 ||
		fail "cc shim/statx-shim.c"
fi

# PID 1 of every sandbox: the init that holds the session's shell.
init="$here/init/toolkata-init"
lib=$here/../lib
if [ ! -f "$init" ] || [ -n "$(find "$here/init/init.c" "$lib/tkmsg.c" "$lib/tkmsg.h" -newer "$init")" ]; then
	cc -std=c11 -O2 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	    -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE -pie -I"$lib" \
	    -o "$init" "$here/init/init.c" "$lib/tkmsg.c" >>"$log" 2>&1 || fail "cc init/init.c"
fi

# The step-check runner (init/check.c), started by toolkata-api's exec.
check="$here/init/toolkata-check"
if [ ! -f "$check" ] || [ -n "$(find "$here/init/check.c" -newer "$check")" ]; then
	cc -std=c11 -O2 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	    -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE -pie \
	    -o "$check" "$here/init/check.c" >>"$log" 2>&1 || fail "cc init/check.c"
fi

case $(uname -m) in
aarch64 | arm64) arch=aarch64 ;;
*) arch=x86_64 ;;
esac
want=absent
[ -f "$here/jj/jj-v$ver-$arch-unknown-linux-musl.tar.gz" ] && want=$ver

# One environment's image: $1 name, $2 tag.  The init binaries above are
# compiled once and the Dockerfile copies them into every image.
build_env() {
	base=debian:bookworm-slim jjarg=$want pair=jj-git
	if [ "$1" != bash ]; then
		base=toolkata-base:$1 jjarg=absent pair=any
	fi
	"$here/base.sh" "$1" >>"$log" 2>&1 || fail "base.sh $1"
	# The 28.x client has no buildx here; the legacy builder works offline.
	DOCKER_BUILDKIT=0 docker build -t "$2" \
		--build-arg TOOLKATA_BASE="$base" \
		--build-arg TOOLKATA_ENV="$1" \
		--build-arg TOOLKATA_TOOL_PAIR="$pair" \
		--build-arg JJ_VERSION="$ver" \
		--build-arg JJ_SHA256_X86_64="$sum_x86" \
		--build-arg JJ_SHA256_AARCH64="$sum_arm" \
		--build-arg TOOLKATA_JJ="$jjarg" \
		"$here" >>"$log" 2>&1 || fail "docker build ($1)"
	jj=$(docker image inspect -f '{{index .Config.Labels "toolkata.jj"}}' "$2")
	size=$(docker image inspect -f '{{.Size}}' "$2")
	if [ "$1" != bash ]; then
		what="($1, no jj)"
	elif [ "$jj" = absent ]; then
		what="WITHOUT jj (no docker/jj/jj-v$ver-$arch-unknown-linux-musl.tar.gz)"
	else
		what="with jj $jj"
	fi
	echo "image: $2 built $what, statx shim, $((size / 1048576)) MB"
}

for e in $envs; do
	case $e in
	bash) build_env bash "${IMAGE:-toolkata-sandbox:latest}" ;;
	node) build_env node "${IMAGE_NODE:-toolkata-env-node:latest}" ;;
	python) build_env python "${IMAGE_PYTHON:-toolkata-env-python:latest}" ;;
	*) echo "build: unknown environment '$e'" >&2; exit 1 ;;
	esac
done
