# cloud-lib.sh: sourced by hetzner/*.sh and oracle/*.sh (bash).  The dry-run
# printer, tool and credential checks, the ssh wait and the setup step, so
# the two clouds share them instead of copying.
# Callers set: prog (message prefix), dry (0/1), cloud_top (the repo).
# shellcheck shell=bash disable=SC2154

die() { echo "$prog: error: $*" >&2; exit 1; }
say() { echo "$prog: $*"; }

# show CMD...: "+ CMD", each word single-quoted when it needs quoting.
show() {
	local a line="+"
	for a in "$@"; do
		case $a in
		'' | *[!A-Za-z0-9_./:=@,+%-]*) a="'${a//\'/\'\\\'\'}'" ;;
		esac
		line="$line $a"
	done
	echo "$line"
}

# run CMD...: show it; run it unless a dry run.
run() {
	show "$@"
	[ "$dry" -eq 1 ] || "$@"
}

# out PLACEHOLDER CMD...: like run, but prints the command's stdout for
# capture; a dry run prints PLACEHOLDER instead.
out() {
	local ph=$1
	shift
	show "$@" >&2
	if [ "$dry" -eq 1 ]; then
		echo "$ph"
	else
		"$@"
	fi
}

# need TOOL HINT: the tool must exist, except in a dry run.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "$dry" -eq 1 ] && { say "note: '$1' not found (dry run goes on)" >&2; return 0; }
	die "'$1' not found: $2"
}

# confirm WHAT: ask on the terminal unless --yes.
confirm() {
	[ "${yes:-0}" -eq 1 ] && return 0
	[ "$dry" -eq 1 ] && return 0
	[ -t 0 ] || die "refusing to $1 without a terminal to confirm on: pass --yes"
	local a
	read -r -p "$prog: $1? type 'yes': " a
	[ "$a" = yes ] || die "not confirmed"
}

# wait_ssh USER@IP: up to 60 tries, 5 s apart.
wait_ssh() {
	local i=0
	echo "+ ssh -o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=accept-new $1 true   (until it answers, up to 5 min)"
	[ "$dry" -eq 1 ] && return 0
	until ssh -o BatchMode=yes -o ConnectTimeout=5 \
	    -o StrictHostKeyChecking=accept-new "$1" true 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 60 ] || die "no ssh to $1 after 5 minutes"
		sleep 5
	done
}

# setup_server USER@IP ARGS...: deploy/setup-server.sh on the host, as root.
setup_server() {
	local target=$1 sudo=""
	shift
	[ "${target%%@*}" = root ] || sudo="sudo "
	echo "+ ssh -o BatchMode=yes $target '${sudo}bash -s -- $*' < deploy/setup-server.sh"
	[ "$dry" -eq 1 ] && return 0
	ssh -o BatchMode=yes "$target" "${sudo}bash -s -- $*" <"$cloud_top/deploy/setup-server.sh"
}

# pubkey PATH: the ssh public key to install (default id_ed25519, id_rsa).
pubkey() {
	local k
	for k in "$1" ~/.ssh/id_ed25519.pub ~/.ssh/id_rsa.pub; do
		[ -n "$k" ] && [ -f "$k" ] && { echo "$k"; return 0; }
	done
	[ "$dry" -eq 1 ] && { echo "${1:-$HOME/.ssh/id_ed25519.pub}"; return 0; }
	die "no ssh public key (~/.ssh/id_ed25519.pub or --ssh-key FILE)"
}
