#!/bin/bash
# deploy-remote.sh: the deploy both clouds share (hetzner/deploy.sh and
# oracle/deploy.sh only find the host and call this).  From a workstation:
# ship the source at a git revision over ssh, upload the environment file
# (mode 0600), get the sandbox image there (built on the host, or shipped
# with docker save | docker load), then run deploy/install-host.sh on the
# host, which builds, installs and restarts only what changed.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: deploy-remote.sh --host [USER@]HOST --env FILE [options]
  --host [USER@]HOST  the server (a non-root USER needs passwordless sudo)
  --env FILE          environment file (see deploy/sandbox.env.example);
                      must set SANDBOX_API_KEY, SANDBOX_ALLOWED_ORIGINS and
                      SANDBOX_DOMAIN
  --rev REV           git revision to deploy (default HEAD)
  --src DIR           git work tree to take it from (default: this one)
  --port N            ssh port (default 22)
  --ssh-config FILE   ssh -F FILE (e.g. a ProxyCommand)
  --image MODE        build: make image on the host (default)
                      ship: docker save the local toolkata-sandbox:latest
                            (or --ship-ref REF) and load it there as
                            toolkata-sandbox:latest, and the same for every
                            image of SANDBOX_ENVIRONMENTS in the env file
                            (default: toolkata-env-node:latest and
                            toolkata-env-python:latest); each is skipped
                            if the host has it already
                      keep: leave the host's images alone (production
                            refuses to start if one is missing)
  --ship-ref REF      local image to ship (default toolkata-sandbox:latest)
  --dry-run           print every command, in order, and run none
  -h, --help          this text
EOF
}

host="" envf="" rev=HEAD src="" port=22 sshcfg="" image=build dry=0
img=toolkata-sandbox:latest ref=""
while [ $# -gt 0 ]; do
	case $1 in
	--host) host=${2:?--host needs a value}; shift ;;
	--env) envf=${2:?--env needs a file}; shift ;;
	--rev) rev=${2:?--rev needs a revision}; shift ;;
	--src) src=${2:?--src needs a folder}; shift ;;
	--port) port=${2:?--port needs a number}; shift ;;
	--ssh-config) sshcfg=${2:?--ssh-config needs a file}; shift ;;
	--image) image=${2:?--image needs build, ship or keep}; shift ;;
	--ship-ref) ref=${2:?--ship-ref needs an image}; shift ;;
	--dry-run) dry=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "deploy: unknown option '$1'" >&2; usage >&2; exit 64 ;;
	esac
	shift
done
die() { echo "deploy: error: $*" >&2; exit 1; }
say() { echo "deploy: $*"; }
[ -n "$host" ] || die "--host is required"
[ -n "$envf" ] || die "--env is required (copy deploy/sandbox.env.example)"
case $image in build | ship | keep) ;; *) die "--image must be build, ship or keep" ;; esac
src=${src:-$(cd "$(dirname "$0")/.." && pwd)}
for t in git ssh; do
	command -v "$t" >/dev/null || die "'$t' not found on this machine"
done
[ "$image" != ship ] || command -v docker >/dev/null ||
	die "'docker' not found (needed by --image ship)"
[ -f "$envf" ] || die "--env $envf: no such file"
for v in SANDBOX_API_KEY SANDBOX_ALLOWED_ORIGINS SANDBOX_DOMAIN; do
	grep -Eq "^$v=.+" "$envf" || die "$envf: $v is not set"
done
commit=$(git -C "$src" rev-parse --verify --quiet "$rev^{commit}") ||
	die "--rev $rev: not a commit in $src"

ssh_cmd=(ssh -o BatchMode=yes -o ConnectTimeout=10 -p "$port")
[ -z "$sshcfg" ] || ssh_cmd+=(-F "$sshcfg")
sudo=""
case $host in root@* | *@*) [ "${host%%@*}" = root ] || sudo="sudo " ;; esac
dst=/usr/local/src/toolkata

# remote CMD [< INPUT-DESCRIPTION]: one ssh call, printed in a dry run.
remote() {
	if [ "$dry" -eq 1 ]; then
		echo "+ ${ssh_cmd[*]} $host '$1'${2:+ < $2}"
		[ -z "${2:-}" ] || cat >/dev/null
		return 0
	fi
	"${ssh_cmd[@]}" "$host" "$1"
}

# The images of the environments the env file configures (name=image
# entries of SANDBOX_ENVIRONMENTS; bash runs the tool pair's image).
env_images() {
	local list
	list=$(sed -n 's/^SANDBOX_ENVIRONMENTS=//p' "$envf" | tail -n 1 | tr -d "\"'")
	[ -n "$list" ] || list="bash,node=toolkata-env-node:latest,python=toolkata-env-python:latest"
	tr ',' '\n' <<<"$list" | sed -n 's/^ *[a-z0-9_-]*= *//p'
}

# ship_image LOCAL_REF REMOTE_TAG: docker save | docker load, unless the
# host has the same image id under REMOTE_TAG already.
ship_image() {
	local ref=$1 tag=$2 local_id remote_id
	local_id=$(docker image inspect -f '{{.Id}}' "$ref" 2>/dev/null) ||
		{ [ "$dry" -eq 1 ] && local_id="<local-image-id>"; } ||
		die "no local image $ref to ship (make image)"
	if [ "$dry" -eq 1 ]; then
		echo "+ ${ssh_cmd[*]} $host '${sudo}docker image inspect -f {{.Id}} $tag'"
		echo "+ docker save $ref | ${ssh_cmd[*]} $host '${sudo}docker load'   (when the ids differ)"
		[ "$ref" = "$tag" ] || echo "+ ${ssh_cmd[*]} $host '${sudo}docker tag $ref $tag && ${sudo}docker rmi $ref'"
		return 0
	fi
	remote_id=$(remote "${sudo}docker image inspect -f '{{.Id}}' $tag 2>/dev/null" || true)
	if [ "$remote_id" = "$local_id" ]; then
		say "image $tag: already there ($local_id), not shipped"
		return 0
	fi
	docker save "$ref" | remote "${sudo}docker load -q" >/dev/null
	[ "$ref" = "$tag" ] ||
		remote "${sudo}docker tag $ref $tag && ${sudo}docker rmi $ref" >/dev/null
	say "image $tag: shipped ($local_id)"
}

t0=$(date +%s)
say "deploying $commit to $host"
# 1. The source, at that revision, in a fixed folder (the build path is
#    part of the binary's debug info: a fixed one keeps builds repeatable).
if [ "$dry" -eq 1 ]; then
	echo "+ git -C $src archive --format=tar $commit | ${ssh_cmd[*]} $host '${sudo}sh -c \"rm -rf $dst && mkdir -p $dst && tar -x -C $dst\"'"
else
	git -C "$src" archive --format=tar "$commit" |
	    remote "${sudo}sh -c 'rm -rf $dst && mkdir -p $dst && tar -x -C $dst'"
fi
# 2. The environment file, never in argv or in the source tree.
remote "${sudo}install -D -m 0600 -o root -g root /dev/stdin /etc/toolkata/sandbox.env.new" "$envf" <"$envf"
# 3. The sandbox images.
ibuild=""
case $image in
build) ibuild=" --build-image" ;;
ship)
	ship_image "${ref:-$img}" "$img"
	for e in $(env_images); do
		ship_image "$e" "$e"
	done ;;
esac
# 4. Build, install, restart what changed, verify.
remote "${sudo}$dst/deploy/install-host.sh --env /etc/toolkata/sandbox.env.new$ibuild"
[ "$dry" -eq 1 ] || say "deployed $commit in $(($(date +%s) - t0)) s"
