#!/bin/bash
# teardown.sh: delete the server and the SSH key provision.sh made (names
# from hetzner/server.env or the options), after a confirmation.
set -euo pipefail
prog=teardown
here=$(cd "$(dirname "$0")" && pwd)
cloud_top=$(cd "$here/.." && pwd)
. "$cloud_top/deploy/cloud-lib.sh"

usage() {
	cat <<'EOF2'
usage: hetzner/teardown.sh [--name NAME] [--key-name NAME] [--yes] [--dry-run]
  --yes      do not ask (the server and its disk are gone for good)
  --dry-run  print the hcloud calls; run none
EOF2
}
# shellcheck disable=SC2034 # yes: read by confirm()
name="" key_name="" yes=0 dry=0
if [ -f "$here/server.env" ]; then
	name=$(sed -n 's/^SERVER_NAME=//p' "$here/server.env")
	key_name=$(sed -n 's/^KEY_NAME=//p' "$here/server.env")
fi
name=${name:-toolkata-sandbox} key_name=${key_name:-toolkata}
while [ $# -gt 0 ]; do
	case $1 in
	--name) name=${2:?}; shift ;;
	--key-name) key_name=${2:?}; shift ;;
	--yes) yes=1 ;;
	--dry-run) dry=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "$prog: unknown option '$1'" >&2; usage >&2; exit 64 ;;
	esac
	shift
done
need hcloud "install the hcloud CLI (Debian: apt-get install hcloud-cli)"
# `hcloud context active` exits 0 and prints nothing when there is none.
if [ "$dry" -eq 0 ] && [ -z "${HCLOUD_TOKEN:-}" ] &&
    [ -z "$(hcloud context active 2>/dev/null)" ]; then
	die "no Hetzner credentials: set HCLOUD_TOKEN or run 'hcloud context create toolkata'"
fi
confirm "delete server '$name' and ssh key '$key_name'"
run hcloud server delete "$name"
run hcloud ssh-key delete "$key_name"
run rm -f "$here/server.env"
say "server $name and key $key_name deleted"
