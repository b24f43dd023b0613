#!/bin/sh
# jj/install.sh: runs inside the Dockerfile's first stage (never in the final
# image).  Verifies docker/jj/jj-v$JJ_VERSION-<arch>-unknown-linux-musl.tar.gz
# against its pinned sha256 and leaves the binary in /out/jj, or leaves /out
# empty when TOOLKATA_JJ=absent.  Any mismatch fails the build.
set -eu
mkdir -p /out
arch=$(uname -m)
case $arch in
x86_64) sum=$JJ_SHA256_X86_64 ;;
aarch64) sum=$JJ_SHA256_AARCH64 ;;
*) sum= ;;
esac
name="jj-v$JJ_VERSION-$arch-unknown-linux-musl.tar.gz"
f="/tmp/jj/$name"
die() { echo "toolkata: $*" >&2; exit 1; }

if [ "$TOOLKATA_JJ" = absent ]; then
	if [ -f "$f" ]; then why="TOOLKATA_JJ=absent"; else why="no docker/jj/$name"; fi
	echo "toolkata: jj NOT installed ($why); image labelled toolkata.jj=absent"
	exit 0
fi
[ "$TOOLKATA_JJ" = "$JJ_VERSION" ] ||
	die "TOOLKATA_JJ=$TOOLKATA_JJ must be 'absent' or JJ_VERSION ($JJ_VERSION)"
[ -f "$f" ] || die "docker/jj/$name missing"
[ -n "$sum" ] || die "no sha256 known for $arch"
echo "$sum  $f" | sha256sum -c --quiet - >/dev/null 2>&1 ||
	die "sha256 MISMATCH for docker/jj/$name (want $sum)"
mkdir /tmp/x
tar -xzf "$f" -C /tmp/x
bin=$(find /tmp/x -type f -name jj | head -n 1)
[ -n "$bin" ] || die "no jj binary in $name"
install -m 0755 "$bin" /out/jj
echo "toolkata: jj installed: $(/out/jj --version)"
