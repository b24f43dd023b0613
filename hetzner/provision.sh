#!/bin/bash
# provision.sh: a Hetzner Cloud server for toolkata-sandbox, from a
# workstation with the hcloud CLI (Debian: apt-get install hcloud-cli).
# SSH key (created or reused), server (created or reused; locations tried
# in order), wait for SSH, deploy/setup-server.sh on it as root, then
# hetzner/server.env for deploy.sh and teardown.sh.
set -euo pipefail
prog=provision
here=$(cd "$(dirname "$0")" && pwd)
cloud_top=$(cd "$here/.." && pwd)
. "$cloud_top/deploy/cloud-lib.sh"

usage() {
	cat <<'EOF2'
usage: hetzner/provision.sh [options]
  --name NAME        server name (default toolkata-sandbox)
  --type TYPE        server type (default cax11: ARM64, 2 vCPU, 4 GB)
  --image IMAGE      image (default debian-12; ubuntu-24.04 also works)
  --locations LIST   locations to try in order (default nbg1,fsn1,hel1)
  --key-name NAME    hcloud SSH key name (default toolkata)
  --ssh-key FILE     public key (default ~/.ssh/id_ed25519.pub, then id_rsa.pub)
  --dry-run          print every hcloud call and remote command; run none
  -h, --help         this text
Credentials: HCLOUD_TOKEN, or an active context (hcloud context create).
EOF2
}

name=toolkata-sandbox type=cax11 image=debian-12 locations=nbg1,fsn1,hel1
key_name=toolkata ssh_key="" dry=0
while [ $# -gt 0 ]; do
	case $1 in
	--name) name=${2:?}; shift ;;
	--type) type=${2:?}; shift ;;
	--image) image=${2:?}; shift ;;
	--locations) locations=${2:?}; shift ;;
	--key-name) key_name=${2:?}; shift ;;
	--ssh-key) ssh_key=${2:?}; shift ;;
	--dry-run) dry=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "$prog: unknown option '$1'" >&2; usage >&2; exit 64 ;;
	esac
	shift
done

need hcloud "install the hcloud CLI (Debian: apt-get install hcloud-cli)"
need ssh "install openssh-client"
# `hcloud context active` exits 0 and prints nothing when there is none.
if [ "$dry" -eq 0 ] && [ -z "${HCLOUD_TOKEN:-}" ] &&
    [ -z "$(hcloud context active 2>/dev/null)" ]; then
	die "no Hetzner credentials: set HCLOUD_TOKEN or run 'hcloud context create toolkata'"
fi
key=$(pubkey "$ssh_key")

# 1. SSH key.
if [ "$dry" -eq 0 ] && hcloud ssh-key describe "$key_name" >/dev/null 2>&1; then
	say "ssh key $key_name: exists, reused"
else
	[ "$dry" -eq 0 ] || echo "+ hcloud ssh-key describe $key_name   (create when absent:)"
	run hcloud ssh-key create --name "$key_name" --public-key-from-file "$key"
fi

# 2. Server, trying each location.
if [ "$dry" -eq 0 ] && hcloud server describe "$name" >/dev/null 2>&1; then
	say "server $name: exists, reused"
else
	[ "$dry" -eq 0 ] || echo "+ hcloud server describe $name   (create when absent:)"
	made=0
	IFS=, read -r -a locs <<<"$locations"
	for loc in "${locs[@]}"; do
		if run hcloud server create --name "$name" --type "$type" \
		    --image "$image" --location "$loc" --ssh-key "$key_name"; then
			made=1
			[ "$dry" -eq 1 ] || say "server $name: created in $loc"
			break
		fi
		say "server $name: not in $loc, trying the next location"
	done
	[ "$made" -eq 1 ] || die "no location of $locations could create a $type"
fi

# 3. SSH, then the server's setup.
ip=$(out '<server-ip>' hcloud server ip "$name")
wait_ssh "root@$ip"
setup_server "root@$ip"

# 4. What deploy.sh and teardown.sh read.
if [ "$dry" -eq 1 ]; then
	echo "+ write $here/server.env (SERVER_NAME=$name SERVER_IP=$ip SSH_TARGET=root@$ip KEY_NAME=$key_name)"
else
	cat >"$here/server.env" <<EOF2
SERVER_NAME=$name
SERVER_IP=$ip
SSH_TARGET=root@$ip
KEY_NAME=$key_name
EOF2
fi
say "next: DNS A record for your SANDBOX_DOMAIN -> $ip (AAAA: hcloud server describe $name), then hetzner/deploy.sh --env FILE"
