#!/bin/sh
# fetch-jj.sh: try to download the pinned jj release archive for this machine's
# architecture into docker/jj/.  The pins (JJ_VERSION, JJ_SHA256_*) are the
# Dockerfile's ARG defaults unless set in the environment.  Unreachable or bad
# downloads are reported and are NOT errors (the image then builds without jj).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pin() { sed -n "s/^ARG $1=//p" "$here/Dockerfile" | head -n 1; }

ver=${JJ_VERSION:-$(pin JJ_VERSION)}
case $(uname -m) in
x86_64 | amd64) arch=x86_64 sum=${JJ_SHA256_X86_64:-$(pin JJ_SHA256_X86_64)} ;;
aarch64 | arm64) arch=aarch64 sum=${JJ_SHA256_AARCH64:-$(pin JJ_SHA256_AARCH64)} ;;
*) echo "fetch-jj: no jj release for $(uname -m)"; exit 0 ;;
esac
name="jj-v$ver-$arch-unknown-linux-musl.tar.gz"
out="$here/jj/$name"
url=${JJ_URL:-https://github.com/jj-vcs/jj/releases/download/v$ver/$name}

ok() { echo "$sum  $1" | sha256sum -c --quiet - >/dev/null 2>&1; }

if [ -f "$out" ] && ok "$out"; then
	echo "fetch-jj: $name present"
	exit 0
fi
tmp="$out.part"
trap 'rm -f "$tmp"' EXIT INT TERM
if ! curl -fsSL --connect-timeout 5 --max-time 120 -o "$tmp" "$url" 2>/dev/null; then
	echo "fetch-jj: $url unreachable; image will be built without jj"
	exit 0
fi
if ! ok "$tmp"; then
	echo "fetch-jj: $name downloaded but sha256 does not match $sum; discarded"
	exit 0
fi
mv "$tmp" "$out"
echo "fetch-jj: $name downloaded and verified"
