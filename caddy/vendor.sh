#!/bin/sh
# vendor.sh: fetch xterm.js and its fit addon from the npm registry into
# caddy/www/vendor/ (git-ignored) for the playground page.  Pinned
# versions; idempotent: does nothing when vendor/VERSIONS already names
# them and every file is there.  npm's download cache lives under
# $TOOLKATA_NPM_CACHE (default /var/cache/toolkata/npm) so reruns are
# fast and work from the cache.
set -eu

XTERM_VERSION=5.5.0
FIT_VERSION=0.10.0

top=$(cd "$(dirname "$0")/.." && pwd)
dest=$top/caddy/www/vendor
cache=${TOOLKATA_NPM_CACHE:-/var/cache/toolkata/npm}
stamp="@xterm/xterm@$XTERM_VERSION @xterm/addon-fit@$FIT_VERSION"
files="xterm.js xterm.css addon-fit.js"

up_to_date() {
	[ -f "$dest/VERSIONS" ] || return 1
	[ "$(cat "$dest/VERSIONS")" = "$stamp" ] || return 1
	for f in $files; do
		[ -s "$dest/$f" ] || return 1
	done
	return 0
}

if up_to_date; then
	echo "vendor: $stamp already in caddy/www/vendor"
	exit 0
fi

command -v npm >/dev/null 2>&1 || {
	echo "vendor: npm is missing (apt-get install npm)" >&2
	exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/toolkata-vendor.XXXXXX")
new=$dest.new.$$
trap 'rm -rf "$tmp" "$new"' EXIT
trap 'exit 1' INT TERM

mkdir -p "$cache" 2>/dev/null || cache=$tmp/cache
npm install --no-audit --no-fund --no-save --no-package-lock \
	--loglevel=error --cache "$cache" --prefer-offline --prefix "$tmp" \
	"@xterm/xterm@$XTERM_VERSION" "@xterm/addon-fit@$FIT_VERSION" >&2

mod=$tmp/node_modules/@xterm
mkdir -p "$new"
cp "$mod/xterm/lib/xterm.js" "$mod/xterm/css/xterm.css" \
	"$mod/addon-fit/lib/addon-fit.js" "$new/"
cp "$mod/xterm/LICENSE" "$new/LICENSE.xterm"
[ -f "$mod/addon-fit/LICENSE" ] &&
	cp "$mod/addon-fit/LICENSE" "$new/LICENSE.addon-fit"
echo "$stamp" >"$new/VERSIONS"
rm -rf "$dest"
mv "$new" "$dest"
echo "vendor: $stamp -> caddy/www/vendor"
