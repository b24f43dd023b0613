#!/bin/bash
# deploy.sh: deploy toolkata-sandbox to the instance provision.sh made (its
# address from oracle/state.env, or --host).  The same deploy as Hetzner's:
# deploy/deploy-remote.sh, with the image's sudo-capable user "ubuntu".
set -euo pipefail
# shellcheck disable=SC2034 # prog is read by cloud-lib.sh
prog=deploy
here=$(cd "$(dirname "$0")" && pwd)
cloud_top=$(cd "$here/.." && pwd)
dry=0
case " $* " in *" --dry-run "*) dry=1 ;; esac
. "$cloud_top/deploy/cloud-lib.sh"

if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
	cat <<'EOF2'
usage: oracle/deploy.sh --env FILE [--host ubuntu@IP] [--rev REV] [--image build|ship|keep] [--dry-run]
Ships the source at REV (default HEAD) to the instance in oracle/state.env,
builds there, installs, restarts only what changed, checks /health.
See deploy/deploy-remote.sh --help for every option.
EOF2
	exit 0
fi
case " $* " in *" --host "*) exec "$cloud_top/deploy/deploy-remote.sh" "$@" ;; esac
if [ ! -f "$here/state.env" ] && [ "$dry" -eq 1 ]; then
	exec "$cloud_top/deploy/deploy-remote.sh" --host 'ubuntu@<public-ip>' "$@"
fi
[ -f "$here/state.env" ] ||
	die "no oracle/state.env: run oracle/provision.sh first, or pass --host ubuntu@IP"
target=$(sed -n 's/^SSH_TARGET=//p' "$here/state.env")
[ -n "$target" ] || die "oracle/state.env has no SSH_TARGET"
exec "$cloud_top/deploy/deploy-remote.sh" --host "$target" "$@"
