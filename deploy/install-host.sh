#!/bin/bash
# install-host.sh: the server half of a deploy, run as root from the
# unpacked source tree (deploy-remote.sh ships it and calls this).  Builds,
# optionally builds the sandbox image, installs the environment file (0600)
# and `make install`s, then restarts only what changed, comparing sha256
# sums of the installed files before and after:
#   toolkata-api   binary, unit or environment file changed (or not running)
#   toolkata-ws    websocketd, its wrapper, unit or environment changed; a
#                  new toolkata-relay needs nothing (websocketd execs it
#                  afresh for each terminal), live terminals stay
#   caddy          restart if its drop-in or the environment changed (an
#                  {env.VAR} placeholder is read from the running process's
#                  environment, which a reload keeps), reload if only the
#                  Caddyfile changed, otherwise left alone (a reload drops
#                  every live terminal)
# Then checks each service runs as its user and /health answers over HTTPS.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: install-host.sh [--env FILE] [--build-image] [--dry-run]
  --env FILE      new environment file to install as /etc/toolkata/sandbox.env
  --build-image   make image (the sandbox image, built on this host)
  --dry-run       build nothing, say what would be done
EOF
}

envnew="" build_image=0 dry=0
while [ $# -gt 0 ]; do
	case $1 in
	--env) envnew=${2:?--env needs a file}; shift ;;
	--build-image) build_image=1 ;;
	--dry-run) dry=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "install: unknown option '$1'" >&2; usage >&2; exit 64 ;;
	esac
	shift
done

top=$(cd "$(dirname "$0")/.." && pwd)
prefix=${PREFIX:-/usr/local}
unitdir=$prefix/lib/systemd/system
envfile=/etc/toolkata/sandbox.env
say() { echo "install: $*"; }
die() { echo "install: error: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root"
for t in make cc systemctl curl sha256sum; do
	command -v "$t" >/dev/null || die "'$t' not found: run deploy/setup-server.sh first"
done
id toolkata >/dev/null 2>&1 || die "no user toolkata: run deploy/setup-server.sh first"

# What each service depends on (installed paths).
api_files="$prefix/bin/toolkata-api $unitdir/toolkata-api.service $envfile"
ws_files="/usr/bin/websocketd $prefix/libexec/toolkata/toolkata-ws $unitdir/toolkata-ws.service $envfile"
relay_files="$prefix/bin/toolkata-relay"
caddy_restart_files="$unitdir/caddy.service.d/toolkata.conf /usr/bin/caddy $envfile"
caddy_reload_files="$prefix/share/toolkata/Caddyfile"
unit_files="$unitdir/toolkata-api.service $unitdir/toolkata-ws.service $unitdir/caddy.service.d/toolkata.conf"

sums() {
	local f
	for f in "$@"; do
		if [ -f "$f" ]; then sha256sum "$f"; else echo "absent $f"; fi
	done
}
declare -A before
snapshot() {
	local f
	for f in $api_files $ws_files $relay_files $caddy_restart_files \
	    $caddy_reload_files $unit_files; do
		before[$f]=$(sums "$f")
	done
}
changed() {
	local f
	for f in "$@"; do
		[ "${before[$f]}" = "$(sums "$f")" ] || return 0
	done
	return 1
}

t0=$(date +%s)
if [ "$dry" -eq 1 ]; then
	say "would: make all; ${envnew:+install $envnew as $envfile; }make install PREFIX=$prefix; restart what changed"
	exit 0
fi
make -s -C "$top" all >/dev/null
say "built $(cd "$top" && "./bin/toolkata-api" --version)"
if [ "$build_image" -eq 1 ]; then
	make -s -C "$top" image
fi

snapshot
if [ -n "$envnew" ]; then
	[ -f "$envnew" ] || die "--env $envnew: no such file"
	install -m 0600 -o root -g root "$envnew" "$envfile.tmp"
	mv "$envfile.tmp" "$envfile"
	rm -f "$envnew"
fi
[ -f "$envfile" ] || die "$envfile missing: pass --env FILE (deploy.sh --env)"
make -s -C "$top" install PREFIX="$prefix" >/dev/null

if changed $unit_files; then
	systemctl daemon-reload
	say "systemd: units changed, daemon-reload"
fi
systemctl enable --quiet toolkata-api.service toolkata-ws.service caddy.service

# service NAME WHY-RESTART
service() {
	local name=$1 why=$2
	if ! systemctl is-active --quiet "$name"; then
		systemctl start "$name"
		say "$name: started"
	elif [ -n "$why" ]; then
		systemctl restart "$name"
		say "$name: restarted ($why changed)"
	else
		say "$name: unchanged, not restarted"
	fi
}
why() {
	local f out=""
	for f in "$@"; do
		[ "${before[$f]}" = "$(sums "$f")" ] || out="$out${out:+, }$(basename "$f")"
	done
	echo "$out"
}

service toolkata-api.service "$(why $api_files)"
service toolkata-ws.service "$(why $ws_files)"
changed $relay_files &&
	say "toolkata-relay: new binary; new terminals use it, live ones keep theirs"
if ! systemctl is-active --quiet caddy.service; then
	systemctl start caddy.service
	say "caddy.service: started"
elif changed $caddy_restart_files; then
	systemctl restart caddy.service
	say "caddy.service: restarted ($(why $caddy_restart_files) changed)"
elif changed $caddy_reload_files; then
	systemctl reload caddy.service
	say "caddy.service: reloaded ($(why $caddy_reload_files) changed)"
else
	say "caddy.service: config unchanged, not reloaded"
fi

# Verify: active, right user, /health over HTTPS.
for s in toolkata-api:toolkata toolkata-ws:toolkata caddy:caddy; do
	name=${s%:*} want=${s#*:} i=0
	while ! systemctl is-active --quiet "$name"; do
		i=$((i + 1))
		[ "$i" -lt 50 ] || die "$name is not active: journalctl -u $name"
		sleep 0.2
	done
	pid=$(systemctl show -p MainPID --value "$name")
	user=$(ps -o user= -p "$pid")
	[ "$user" = "$want" ] || die "$name runs as '$user', not $want"
	say "$name: active, pid $pid, user $user"
done
domain=$(sed -n 's/^SANDBOX_DOMAIN=//p' "$envfile" | tail -n 1)
[ -n "$domain" ] || die "SANDBOX_DOMAIN is not set in $envfile"
ca=/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt
i=0
# A local name (localhost, *.localhost, *.local) gets Caddy's internal CA.
while :; do
	cacert=()
	[ -f "$ca" ] && cacert=(--cacert "$ca")
	body=$(curl -fsS --max-time 5 --resolve "$domain:443:127.0.0.1" \
	    "${cacert[@]}" "https://$domain/health" 2>/tmp/toolkata-health.err) &&
		break
	i=$((i + 1))
	[ "$i" -lt 60 ] || die "https://$domain/health: $(cat /tmp/toolkata-health.err)"
	sleep 1
done
say "https://$domain/health: $body"
say "done in $(($(date +%s) - t0)) s"
