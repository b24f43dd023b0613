#!/bin/sh
# run.sh: the browser test of the playground, as `make check` runs it.
#   check/browser/run.sh            a private stack (its own ports, state,
#                                   instance), the test, then stop it
#   check/browser/run.sh BASE_URL   only the test, against a running stack
#                                   (e.g. http://localhost:8080/ of make run)
# Installs what it needs first (setup.sh, caddy/vendor.sh; both skip when
# done).  Last line: "browser: N passed, N failed"; exit 0 only if all passed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

fail() {
	echo "browser: $*" >&2
	echo "browser: 0 passed, 1 failed"
	exit 1
}

"$here/setup.sh" || fail "setup failed"
"$top/caddy/vendor.sh" >/dev/null || fail "caddy/vendor.sh failed"

if [ $# -gt 0 ]; then
	exec node "$here/playground.js" "$1"
fi

free_port() {
	node -e 'const s = require("net").createServer();
	    s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

dir=$(mktemp -d /tmp/tk-browser.XXXXXX) || fail "mktemp failed"
port=$(free_port) || fail "no free port"
wsport=$(free_port) || fail "no free port"
[ "$port" != "$wsport" ] || wsport=$(free_port)
# shellcheck disable=SC2317 # run by the trap
stop() {
	TOOLKATA_RUN_DIR=$dir "$top/deploy/stop-local.sh" >/dev/null 2>&1
	rm -rf "$dir"
}
trap stop EXIT
trap 'exit 1' INT TERM

if ! TOOLKATA_RUN_DIR=$dir TOOLKATA_HTTP_PORT=$port TOOLKATA_WS_PORT=$wsport \
    SANDBOX_INSTANCE=browser-$$ "$top/deploy/run-local.sh" >"$dir/up.log" 2>&1; then
	cat "$dir/up.log" "$dir/api.log" "$dir/caddy.log" 2>/dev/null | tail -n 20 >&2
	fail "the stack did not start"
fi
node "$here/playground.js" "http://127.0.0.1:$port/"
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "browser: relay log (last lines):"
	tail -n 10 "$dir/relay.log" 2>/dev/null | sed 's/^/  /'
fi
exit "$rc"
