#!/bin/sh
# deps.sh: install the Debian packages the project needs (`make deps`).
# Idempotent: only missing packages are installed, with apt-get, as root.
# The package list comes from the Makefile (PKGS) as arguments.
set -eu
missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
# Node.js and npm (for vendoring xterm.js and the browser test) may come
# from elsewhere (e.g. nodesource's nodejs, which conflicts with Debian's
# npm): ask for Debian's only when there is no npm at all.
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -n "$missing" ] || exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
