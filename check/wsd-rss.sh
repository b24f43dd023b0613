#!/bin/sh
# wsd-rss.sh: websocketd's own RSS with 20 --binary connections each
# pushed 5 MiB (100-byte lines), under the GC settings given as arguments
# ("default", or VAR=value ...).  Not part of make check; its figures are in
# RELIABILITY.md.  Usage: check/wsd-rss.sh [VAR=value...]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/wsd-rss.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cc -std=c11 -D_GNU_SOURCE -O1 -I"$top/lib" -I"$top/check" -o "$tmp/rss" \
    "$top/check/wsd_rss.c" "$top/lib/id.c" "$top/lib/log.c"
cat >"$tmp/push.sh" <<'PUSH'
#!/bin/sh
yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa |
    head -c 5242880
sleep 12
PUSH
chmod +x "$tmp/push.sh"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env "$@" websocketd --address=127.0.0.1 --port="$port" --binary \
    --loglevel=error --maxforks=100 "$tmp/push.sh" >/dev/null 2>&1 &
pid=$!
sleep 0.5
echo "websocketd ${*:-default}: start $(awk '/VmRSS/ {print $2}' "/proc/$pid/status") KiB"
"$tmp/rss" "$port" 20 "$pid" 5242880 | grep -v idle
awk '{print "cpu ticks (utime+stime): " $14 + $15}' "/proc/$pid/stat"
kill "$pid"
wait "$pid" 2>/dev/null || true
