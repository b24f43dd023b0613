#!/bin/sh
# setup.sh: what check/browser/playground.js needs: playwright-core (the
# version pinned in package.json, from the npm registry, into
# check/browser/node_modules) and Debian's chromium at /usr/bin/chromium
# (installed when missing and we are root).  Idempotent and quiet when
# there is nothing to do.  npm's download cache: $TOOLKATA_NPM_CACHE
# (default /var/cache/toolkata/npm).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=${TOOLKATA_NPM_CACHE:-/var/cache/toolkata/npm}
chromium=${CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$chromium" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "browser setup: $chromium is missing; as root:" \
		    "apt-get install -y chromium" >&2
		exit 1
	fi
	echo "browser setup: installing chromium" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2 || {
		apt-get update -q >&2 &&
		    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		    chromium >&2
	}
fi

for tool in node npm; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "browser setup: $tool is missing (apt-get install nodejs" \
		    "npm)" >&2
		exit 1
	}
done

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
	echo "browser setup: playwright-core needs Node.js 20 or later, not" \
	    "$(node --version)" >&2
	exit 1
fi

want=$(sed -n 's/.*"playwright-core": *"\([^"]*\)".*/\1/p' "$here/package.json")
have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
	"$here/node_modules/playwright-core/package.json" 2>/dev/null || true)
if [ -n "$want" ] && [ "$have" = "$want" ]; then
	exit 0
fi
mkdir -p "$cache" 2>/dev/null || cache=$here/node_modules/.npm-cache
echo "browser setup: npm install playwright-core@$want" >&2
npm install --no-audit --no-fund --no-package-lock --loglevel=error \
	--cache "$cache" --prefer-offline --prefix "$here" >&2
