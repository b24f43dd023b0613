#!/bin/bash
# setup-server.sh: turn a fresh Debian 12 / Ubuntu 24.04 host into one that
# can run toolkata-sandbox.  Run as root on the host (provision.sh pipes it
# over ssh).  Idempotent: every step says what it changed, or that nothing
# changed, one line each; a second run changes nothing.
#
# Steps: distribution packages; Docker's daemon.json (json-file 10m x 3,
# live-restore, runsc with --network=none); kernel.pid_max; the service
# user (docker group) and its state/log/config folders; Caddy's user in the
# service group (for the FastCGI socket); ufw; fail2ban for sshd;
# unattended-upgrades (security only, no reboot); sshd hardening.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: setup-server.sh [options]
  --dry-run          say what each step would do; change nothing
  --user NAME        service user (default toolkata)
  --ssh-port N       sshd port that ufw limits (default 22)
  --no-ufw           leave the firewall alone (e.g. Oracle's images, whose
                     own iptables rules are the firewall: see oracle/README.md)
  --firewall         run ufw and fail2ban even inside a container (only in a
                     guest with its own network namespace)
  --nested           also register runsc as "runsc-nocg" with
                     --ignore-cgroups (a host that is itself a container,
                     whose cgroups are read-only: NO container limits)
  --list-packages    print the Debian packages this script installs and exit
  -h, --help         this text
Inside a container (systemd-detect-virt --container) the steps that would
act on the host's kernel or firewall are skipped with a message: the
kernel.pid_max sysctl, and ufw/fail2ban unless --firewall.
EOF
}

# Runtime, image build and build dependencies; all from the distribution.
PACKAGES="docker.io runsc caddy websocketd ca-certificates curl git sqlite3
logrotate ufw fail2ban python3-systemd unattended-upgrades openssh-server
debootstrap iptables procps gcc make libc6-dev pkg-config libfcgi-dev
libfcgi-bin libjansson-dev libcurl4-openssl-dev libsqlite3-dev"

dry=0 svc_user=toolkata ssh_port=22 ufw=1 force_fw=0 nested=0
while [ $# -gt 0 ]; do
	case $1 in
	--dry-run) dry=1 ;;
	--user) svc_user=${2:?--user needs a name}; shift ;;
	--ssh-port) ssh_port=${2:?--ssh-port needs a number}; shift ;;
	--no-ufw) ufw=0 ;;
	--firewall) force_fw=1 ;;
	--nested) nested=1 ;;
	--list-packages) echo "$PACKAGES" | tr -s ' \n' '\n\n'; exit 0 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "setup: unknown option '$1'" >&2; usage >&2; exit 64 ;;
	esac
	shift
done
case $ssh_port in '' | *[!0-9]*) echo "setup: bad --ssh-port '$ssh_port'" >&2; exit 64 ;; esac

say() { echo "setup: $*"; }
die() { echo "setup: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (try: sudo $0)"
command -v apt-get >/dev/null || die "apt-get not found: Debian 12 or Ubuntu 24.04 only"
[ -r /etc/os-release ] && . /etc/os-release
case "${ID:-}:${VERSION_ID:-}" in
debian:12 | ubuntu:24.04) ;;
*) say "warning: tested on Debian 12 and Ubuntu 24.04, this is ${PRETTY_NAME:-unknown}" ;;
esac
incontainer=0
if command -v systemd-detect-virt >/dev/null &&
    systemd-detect-virt --container --quiet; then
	incontainer=1
	say "running in a container ($(systemd-detect-virt --container))"
fi

changed=0
# put FILE MODE OWNER: install stdin as FILE when it differs; returns 0 when
# the file changed, 1 when it was already so.
put() {
	local file=$1 mode=$2 owner=$3 tmp
	tmp=$(mktemp)
	cat >"$tmp"
	if [ -f "$file" ] && cmp -s "$tmp" "$file" &&
	    [ "$(stat -c '%a %U:%G' "$file")" = "${mode#0} $owner" ]; then
		rm -f "$tmp"
		say "$file: unchanged"
		return 1
	fi
	if [ "$dry" -eq 1 ]; then
		say "$file: would write (mode $mode, $owner)"
		rm -f "$tmp"
		return 0
	fi
	mkdir -p "$(dirname "$file")"
	install -m "$mode" -o "${owner%:*}" -g "${owner#*:}" "$tmp" "$file"
	rm -f "$tmp"
	say "$file: written"
	changed=$((changed + 1))
	return 0
}

# act WHAT CMD...: run CMD (or say it would), counting a change.
act() {
	local what=$1
	shift
	if [ "$dry" -eq 1 ]; then
		say "$what: would run: $*"
		return 0
	fi
	"$@"
	say "$what: done"
	changed=$((changed + 1))
}

step_packages() {
	local p missing=""
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing="$missing $p"
	done
	if [ -z "$missing" ]; then
		say "packages: all $(echo "$PACKAGES" | wc -w) installed, nothing to do"
		return
	fi
	if [ "$dry" -eq 1 ]; then
		say "packages: would install$missing"
		return
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Ubuntu has no runsc package: gVisor's own repository has it.
	case " $missing " in *" runsc "*)
		if ! apt-cache show runsc >/dev/null 2>&1; then
			gvisor_repo
			apt-get update -qq
		fi ;;
	esac
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	say "packages: installed$missing"
	changed=$((changed + 1))
}

gvisor_repo() {
	local key=/usr/share/keyrings/gvisor-archive-keyring.gpg
	say "runsc: not in this distribution; adding gVisor's apt repository"
	command -v gpg >/dev/null || apt-get install -y -qq gnupg >/dev/null
	curl -fsSL https://gvisor.dev/archive.key | gpg --dearmor --yes -o "$key"
	echo "deb [arch=$(dpkg --print-architecture) signed-by=$key] https://storage.googleapis.com/gvisor/releases release main" |
	    put /etc/apt/sources.list.d/gvisor.list 0644 root:root || true
}

step_docker() {
	local nocg=""
	[ "$nested" -eq 1 ] && nocg=',
		"runsc-nocg": {
			"path": "/usr/bin/runsc",
			"runtimeArgs": ["--network=none", "--ignore-cgroups"]
		}'
	if put /etc/docker/daemon.json 0644 root:root <<EOF; then
{
	"log-driver": "json-file",
	"log-opts": { "max-size": "10m", "max-file": "3" },
	"live-restore": true,
	"runtimes": {
		"runsc": {
			"path": "/usr/bin/runsc",
			"runtimeArgs": ["--network=none"]
		}$nocg
	}
}
EOF
		act "docker.service: restart (daemon.json changed)" \
		    systemctl restart docker.service
	fi
	if ! systemctl is-enabled --quiet docker.service 2>/dev/null; then
		act "docker.service: enable" systemctl enable --now --quiet docker.service
	else
		say "docker.service: enabled, unchanged"
	fi
}

# The bench hit the 32768 default at ~300 runsc sessions (gVisor's threads
# count as host tasks).  4194304 is the 64-bit maximum.
step_sysctl() {
	local f=/etc/sysctl.d/60-toolkata.conf
	if put "$f" 0644 root:root <<'EOF'; then
# toolkata-sandbox: every runsc sandbox costs ~100 host tasks.
kernel.pid_max = 4194304
EOF
		if [ "$incontainer" -eq 1 ]; then
			say "kernel.pid_max: skipped (in a container the kernel is the host's; $f is for a real boot)"
		else
			act "kernel.pid_max: applied" sysctl -q -p "$f"
		fi
	elif [ "$incontainer" -eq 0 ] &&
	    [ "$(cat /proc/sys/kernel/pid_max)" != 4194304 ]; then
		act "kernel.pid_max: re-applied" sysctl -q -p "$f"
	fi
}

step_user() {
	if id "$svc_user" >/dev/null 2>&1; then
		say "user $svc_user: exists, unchanged"
	else
		act "user $svc_user: created" useradd --system --user-group \
		    --home-dir /var/lib/toolkata --no-create-home \
		    --shell /usr/sbin/nologin "$svc_user"
	fi
	if id -nG "$svc_user" 2>/dev/null | tr ' ' '\n' | grep -qx docker; then
		say "user $svc_user: in group docker, unchanged"
	else
		act "user $svc_user: added to group docker" usermod -aG docker "$svc_user"
	fi
	# Caddy reaches the FastCGI socket (srwxrwx--- toolkata:toolkata).
	if id -nG caddy 2>/dev/null | tr ' ' '\n' | grep -qx "$svc_user"; then
		say "user caddy: in group $svc_user, unchanged"
	else
		act "user caddy: added to group $svc_user" usermod -aG "$svc_user" caddy
	fi
	dir /var/lib/toolkata 0750 "$svc_user:$svc_user"
	dir /var/log/toolkata 0750 "$svc_user:$svc_user"
	dir /etc/toolkata 0750 "root:$svc_user"
	dir /var/log/caddy 0750 caddy:caddy
}

# dir PATH MODE OWNER
dir() {
	if [ -d "$1" ] && [ "$(stat -c '%a %U:%G' "$1")" = "${2#0} $3" ]; then
		say "$1: $2 $3, unchanged"
		return
	fi
	act "$1: made $2 $3" install -d -m "$2" -o "${3%:*}" -g "${3#*:}" "$1"
}

firewall_ok() {
	if [ "$ufw" -eq 0 ]; then
		say "$1: skipped (--no-ufw)"
		return 1
	fi
	if [ "$incontainer" -eq 1 ] && [ "$force_fw" -eq 0 ]; then
		say "$1: skipped (in a container: a guest sharing the host's network would change the host's firewall; --firewall when it has its own)"
		return 1
	fi
}

step_ufw() {
	local before after
	firewall_ok ufw || return 0
	before=$(ufw status verbose 2>/dev/null || true)
	if [ "$dry" -eq 1 ]; then
		say "ufw: would set: default deny incoming, allow outgoing, limit $ssh_port/tcp, allow 80/tcp 443/tcp 443/udp, enable"
		return
	fi
	ufw default deny incoming >/dev/null
	ufw default allow outgoing >/dev/null
	ufw limit "$ssh_port/tcp" >/dev/null
	ufw allow 80/tcp >/dev/null
	ufw allow 443/tcp >/dev/null
	ufw allow 443/udp >/dev/null
	ufw --force enable >/dev/null
	after=$(ufw status verbose)
	if [ "$before" = "$after" ]; then
		say "ufw: active, rules unchanged"
	else
		say "ufw: now active: deny in, allow out, limit $ssh_port/tcp, allow 80,443"
		changed=$((changed + 1))
	fi
}

step_fail2ban() {
	local f=/etc/fail2ban/jail.d/toolkata.local c=0 ban=ufw
	# Without ufw (Oracle's images) bans go straight to iptables.
	[ "$ufw" -eq 1 ] || ban=iptables-multiport
	put "$f" 0644 root:root <<EOF && c=1
# toolkata-sandbox: sshd jail, journal backend (no /var/log/auth.log here).
[DEFAULT]
bantime = 1h
findtime = 10m
maxretry = 3
banaction = $ban

[sshd]
enabled = true
port = $ssh_port
backend = systemd
EOF
	if [ "$incontainer" -eq 1 ] && [ "$force_fw" -eq 0 ]; then
		say "fail2ban: not started (in a container: its bans would change the host's firewall; --firewall when it has its own network)"
		return 0
	fi
	if [ "$c" -eq 1 ] || ! systemctl is-active --quiet fail2ban; then
		act "fail2ban: enabled and (re)started" \
		    systemctl enable --quiet fail2ban
		[ "$dry" -eq 1 ] || systemctl restart fail2ban
	else
		say "fail2ban: active, unchanged"
	fi
}

step_upgrades() {
	put /etc/apt/apt.conf.d/52toolkata-unattended 0644 root:root <<'EOF' || true
// toolkata-sandbox: security updates only, never an automatic reboot.
#clear Unattended-Upgrade::Origins-Pattern;
#clear Unattended-Upgrade::Allowed-Origins;
Unattended-Upgrade::Origins-Pattern {
	"origin=Debian,codename=${distro_codename}-security,label=Debian-Security";
	"origin=Ubuntu,archive=${distro_codename}-security";
};
Unattended-Upgrade::Automatic-Reboot "false";
Unattended-Upgrade::Remove-Unused-Kernel-Packages "true";
Unattended-Upgrade::Remove-Unused-Dependencies "true";
EOF
	put /etc/apt/apt.conf.d/20auto-upgrades 0644 root:root <<'EOF' || true
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
APT::Periodic::AutocleanInterval "7";
EOF
	if systemctl is-enabled --quiet unattended-upgrades 2>/dev/null; then
		say "unattended-upgrades: enabled, unchanged"
	else
		act "unattended-upgrades: enabled" systemctl enable --now --quiet unattended-upgrades
	fi
}

# First value wins in sshd_config, and Debian/Ubuntu include
# sshd_config.d/*.conf at the top: 10- sorts before cloud-init's 50-.
step_sshd() {
	local f=/etc/ssh/sshd_config.d/10-toolkata.conf keys=/root/.ssh/authorized_keys
	if [ ! -s "$keys" ] && [ -z "$(find /home -maxdepth 3 -path '*/.ssh/authorized_keys' -size +0 2>/dev/null)" ]; then
		say "sshd: NOT hardened: no authorized_keys for root or any user (it would lock you out)"
		return
	fi
	if put "$f" 0644 root:root <<'EOF'; then
# toolkata-sandbox: keys only; root by key only.
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
X11Forwarding no
MaxAuthTries 3
EOF
		# Ubuntu 24.04 socket-activates sshd: no /run/sshd, no running
		# daemon to reload until a connection comes (which reads the
		# new file anyway).
		[ "$dry" -eq 1 ] || { mkdir -p /run/sshd && sshd -t; } ||
			die "sshd -t rejects $f"
		act "sshd: reloaded" systemctl try-reload-or-restart ssh.service
	fi
}

step_packages
step_docker
step_sysctl
step_user
step_ufw
step_fail2ban
step_upgrades
step_sshd
if [ "$dry" -eq 1 ]; then
	say "dry run: nothing changed"
elif [ "$changed" -eq 0 ]; then
	say "nothing changed"
else
	say "$changed change(s)"
fi
