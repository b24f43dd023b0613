#!/bin/bash
# deploy.sh: deploy toolkata-sandbox to the server provision.sh made (its
# address from hetzner/server.env, or --host).  The work is the shared
# deploy/deploy-remote.sh; every other option is passed to it.
set -euo pipefail
# shellcheck disable=SC2034 # used by cloud-lib.sh
prog=deploy
here=$(cd "$(dirname "$0")" && pwd)
cloud_top=$(cd "$here/.." && pwd)
dry=0
case " $* " in *" --dry-run "*) dry=1 ;; esac
. "$cloud_top/deploy/cloud-lib.sh"

if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
	cat <<'EOF2'
usage: hetzner/deploy.sh --env FILE [--host root@IP] [--rev REV] [--image build|ship|keep] [--dry-run]
Ships the source at REV (default HEAD) to the server in hetzner/server.env,
builds there, installs, restarts only what changed, checks /health.
See deploy/deploy-remote.sh --help for every option.
EOF2
	exit 0
fi
case " $* " in *" --host "*) exec "$cloud_top/deploy/deploy-remote.sh" "$@" ;; esac
if [ ! -f "$here/server.env" ] && [ "$dry" -eq 1 ]; then
	exec "$cloud_top/deploy/deploy-remote.sh" --host 'root@<server-ip>' "$@"
fi
[ -f "$here/server.env" ] ||
	die "no hetzner/server.env: run hetzner/provision.sh first, or pass --host root@IP"
target=$(sed -n 's/^SSH_TARGET=//p' "$here/server.env")
[ -n "$target" ] || die "hetzner/server.env has no SSH_TARGET"
exec "$cloud_top/deploy/deploy-remote.sh" --host "$target" "$@"
