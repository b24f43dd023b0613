#!/bin/bash
# nspawn.sh: `make check-deploy`.  The deployment, for real, on a throwaway
# Debian 12 host with systemd as PID 1: a systemd-nspawn guest booted from a
# copy of the cached root (guest-root.sh) on a private network (its own
# netns: its Caddy has 80/443 to itself, its ufw and dockerd touch only it;
# ssh reaches its sshd through `nsenter -n` + tcpio.py).  Then:
# setup-server.sh twice (the second changes nothing), deploy twice (the
# second restarts nothing and keeps a live terminal), services as their
# users, /health over HTTPS (Caddy's internal CA), a session and a terminal
# through the installed stack, a changed toolkata-api restarts only
# toolkata-api, `systemctl stop` ends it cleanly, a docker restart keeps the
# session's container (live-restore), a reboot brings every service back
# and ends the session whose container died, freeing its slot.
# Everything it starts it stops by pid, on every path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
img=toolkata-sandbox:latest
work=$(mktemp -d /var/tmp/toolkata-deploy.XXXXXX)
guest=$work/root
nspawn_pid="" hold_pid="" pass=0 fail=0
domain=sandbox.localhost
key=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

log() { echo "deploy-check: $*"; }
ok() { pass=$((pass + 1)); echo "deploy-check: ok   $*"; }
bad() { fail=$((fail + 1)); echo "deploy-check: FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

stop_guest() {
	local i=0
	[ -n "$nspawn_pid" ] || return 0
	kill -TERM "$nspawn_pid" 2>/dev/null || true
	while kill -0 "$nspawn_pid" 2>/dev/null && [ "$i" -lt 100 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	kill -KILL "$nspawn_pid" 2>/dev/null || true
	wait "$nspawn_pid" 2>/dev/null || true
	nspawn_pid=""
}
cleanup() {
	local d
	[ -z "${ship:-}" ] || docker rmi "$ship" >/dev/null 2>&1 || true
	[ -z "$hold_pid" ] || { kill "$hold_pid" 2>/dev/null; wait "$hold_pid" 2>/dev/null; } || true
	stop_guest
	# --keep-unit leaves empty payload/ and supervisor/ cgroup trees
	# behind (mechanics.md H4); only when no other nspawn guest runs.
	if ! pgrep -x systemd-nspawn >/dev/null; then
		for d in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified /sys/fs/cgroup; do
			for c in "$d/payload" "$d/supervisor"; do
				[ ! -d "$c" ] || find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
			done
		done
	fi
	if [ "${TOOLKATA_KEEP:-0}" = 1 ]; then
		log "kept $work"
	else
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for t in systemd-nspawn nsenter ssh ssh-keygen python3 docker curl git; do
	command -v "$t" >/dev/null || { echo "deploy-check: '$t' not found (make deps)" >&2; exit 1; }
done
docker image inspect "$img" >/dev/null 2>&1 ||
	{ echo "deploy-check: no $img here (make image)" >&2; exit 1; }

t_all=$(date +%s)
cached=$("$here/guest-root.sh")
log "copying $cached"
cp -a --reflink=auto "$cached" "$guest"
ssh-keygen -q -t ed25519 -N '' -C deploy-check -f "$work/id"
install -d -m 0700 "$guest/root/.ssh"
install -m 0600 "$work/id.pub" "$guest/root/.ssh/authorized_keys"

pid1=""
boot() {
	local i=0
	SYSTEMD_SECCOMP=0 systemd-nspawn --quiet --register=no --keep-unit -b \
	    -D "$guest" --private-network --console=passive \
	    --machine="tkdeploy$$" >>"$work/nspawn.log" 2>&1 </dev/null &
	nspawn_pid=$!
	pid1=""
	while [ "$i" -lt 300 ]; do
		pid1=$(pgrep -P "$nspawn_pid" -x systemd || true)
		if [ -n "$pid1" ]; then
			st=$(nsenter -t "$pid1" -m -u -i -n -p systemctl is-system-running 2>/dev/null || true)
			case $st in running | degraded) break ;; esac
		fi
		sleep 0.2
		i=$((i + 1))
	done
	[ -n "$pid1" ] || { echo "deploy-check: the guest did not boot" >&2; tail "$work/nspawn.log" >&2; exit 1; }
	cat >"$work/ssh_config" <<EOF
Host guest
	HostName 127.0.0.1
	User root
	IdentityFile $work/id
	StrictHostKeyChecking no
	UserKnownHostsFile /dev/null
	LogLevel ERROR
	ProxyCommand nsenter -t $pid1 -n python3 $here/tcpio.py 127.0.0.1 22
EOF
	i=0
	until gssh true 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 50 ] || { echo "deploy-check: no ssh into the guest" >&2; exit 1; }
		sleep 0.2
	done
	log "guest booted ($st), pid 1 = $pid1"
}
gssh() { ssh -F "$work/ssh_config" -o BatchMode=yes guest "$@"; }
# gcurl ARGS: curl inside the guest's network namespace, trusting its Caddy CA.
ca=$guest/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt
gcurl() {
	nsenter -t "$pid1" -n curl -sS --max-time 20 --cacert "$ca" \
	    --resolve "$domain:443:127.0.0.1" "$@"
}
mainpids() {
	gssh 'for s in toolkata-api toolkata-ws caddy; do printf "%s=%s " $s $(systemctl show -p MainPID --value $s); done'
}
deploy() {
	"$top/deploy/deploy-remote.sh" --host root@guest --ssh-config "$work/ssh_config" \
	    --env "$work/sandbox.env" "$@"
}

boot

# --- setup-server, twice ---------------------------------------------------
# --nested: runsc needs --ignore-cgroups here (read-only cgroups);
# --firewall: ufw and fail2ban act on the guest's own netns.
t=$(date +%s)
gssh 'bash -s -- --nested --firewall' <"$top/deploy/setup-server.sh" >"$work/setup1.log" 2>&1 ||
	{ cat "$work/setup1.log"; bad "setup-server.sh (first run)"; exit 1; }
t_setup=$(($(date +%s) - t))
ok "setup-server.sh first run (${t_setup} s): $(tail -n 1 "$work/setup1.log")"
sed 's/^/    /' "$work/setup1.log"
gssh 'bash -s -- --nested --firewall' <"$top/deploy/setup-server.sh" >"$work/setup2.log" 2>&1 ||
	{ cat "$work/setup2.log"; bad "setup-server.sh (second run)"; exit 1; }
check "setup-server.sh second run changes nothing" grep -qx 'setup: nothing changed' "$work/setup2.log"
check "ufw active in the guest" gssh 'ufw status | grep -q "Status: active"'
check "fail2ban sshd jail up" gssh 'fail2ban-client status sshd >/dev/null'
check "daemon.json: live-restore, json-file 10m x 3, runsc --network=none" gssh \
    'docker info --format "{{.LiveRestoreEnabled}} {{.LoggingDriver}}" | grep -qx "true json-file" && grep -q "\"max-size\": \"10m\", \"max-file\": \"3\"" /etc/docker/daemon.json && docker info --format "{{json .Runtimes}}" | grep -q "network=none"'
check "sshd: no passwords, root by key only" gssh \
    'sshd -T | grep -qx "passwordauthentication no" && sshd -T | grep -qx "permitrootlogin without-password"'
check "unattended-upgrades: security origin only, no reboot" gssh \
    'apt-config dump | grep -q "Origins-Pattern:: \"origin=Debian,codename=\${distro_codename}-security" && ! apt-config dump | grep -q "Origins-Pattern:: \"origin=Debian,codename=\${distro_codename},label=Debian\"" && apt-config dump | grep -qx "Unattended-Upgrade::Automatic-Reboot \"false\";"'

# --- first deploy ------------------------------------------------------------
cat >"$work/sandbox.env" <<EOF
SANDBOX_API_KEY=$key
SANDBOX_ALLOWED_ORIGINS=https://$domain
SANDBOX_DOMAIN=$domain
SANDBOX_ENV=production
SANDBOX_WS_SECRET=deploycheck-ws-secret-$$-0123456789
SANDBOX_INSTANCE=deploycheck
SANDBOX_GVISOR_RUNTIME=runsc-nocg
MAX_CONCURRENT_PER_IP=1
SANDBOX_REAP_INTERVAL=2
EOF
# A private tag: a concurrent `make image` may move toolkata-sandbox:latest.
ship=toolkata-sandbox:deploycheck-$$
docker tag "$img" "$ship"
t=$(date +%s)
deploy --image ship --ship-ref "$ship" >"$work/deploy1.log" 2>&1 || { cat "$work/deploy1.log"; bad "first deploy"; exit 1; }
t_deploy1=$(($(date +%s) - t))
ok "first deploy (${t_deploy1} s, image shipped)"
sed 's/^/    /' "$work/deploy1.log"
for s in toolkata-api:toolkata toolkata-ws:toolkata caddy:caddy; do
	check "${s%:*} active as ${s#*:}" gssh \
	    "systemctl is-active --quiet ${s%:*} && [ \$(ps -o user= -p \$(systemctl show -p MainPID --value ${s%:*})) = ${s#*:} ]"
done
check "websocketd and every relay run as toolkata" gssh \
    '[ -z "$(ps -o user= --ppid $(systemctl show -p MainPID --value toolkata-ws) | grep -v toolkata)" ]'
for u in toolkata-api.service toolkata-ws.service caddy.service; do
	check "systemd-analyze verify $u" gssh "systemd-analyze verify $u 2>&1 | grep -v 'Failed to set fd limit\|policy-rc\|docker.socket' | tee /dev/stderr | grep -q . && exit 1 || exit 0"
	score=$(gssh "systemd-analyze security --no-pager $u | tail -n 1")
	log "systemd-analyze security $u: $score"
	gssh "systemd-analyze security --no-pager $u" >"$work/security-$u.txt" 2>&1 || true
done
check "logrotate accepts /etc/logrotate.d/toolkata" gssh 'logrotate -d /etc/logrotate.d/toolkata 2>&1 | grep -q "rotating pattern: /var/log/toolkata/\*.log" && ! logrotate -d /etc/logrotate.d/toolkata 2>&1 | grep -qi "error"'
check "/etc/toolkata/sandbox.env is 0600 root:root" gssh '[ "$(stat -c "%a %U:%G" /etc/toolkata/sandbox.env)" = "600 root:root" ]'
h=$(gcurl "https://$domain/health" || true)
check "/health over HTTPS: $h" grep -q '"status"' <<<"$h"
check "/health: gVisor (runsc-nocg) available" grep -q '"available": *true' <<<"$h"

new_session() {
	gcurl -X POST -H "X-API-Key: $key" -H "Origin: https://$domain" \
	    -H 'Content-Type: application/json' -d '{"toolPair":"jj-git"}' \
	    "https://$domain/api/v1/sessions"
}
r=$(new_session || true)
sid=$(sed -n 's/.*"sessionId": *"\(sess_[0-9a-f]*\)".*/\1/p' <<<"$r")
check "POST /api/v1/sessions: 201 with a sessionId ($sid)" test -n "$sid"
wsurl="wss://$domain/api/v1/sessions/$sid/ws?api_key=$key"
check "a terminal through Caddy, websocketd, the relay into the container" \
    nsenter -t "$pid1" -n python3 "$here/wsclient.py" "$wsurl" "https://$domain" "$ca"
# A terminal held open across the second deploy and the api's restart.
poke=$work/poke
nsenter -t "$pid1" -n python3 "$here/wsclient.py" "$wsurl" "https://$domain" "$ca" \
    --hold "$poke" >"$work/hold.log" 2>&1 &
hold_pid=$!
alive() {
	local n=$1 i=0
	touch "$poke"
	while ! grep -qx "alive $n" "$work/hold.log"; do
		kill -0 "$hold_pid" 2>/dev/null || return 1
		i=$((i + 1))
		[ "$i" -lt 150 ] || return 1
		sleep 0.2
	done
}
i=0; while ! grep -qx 'alive 1' "$work/hold.log" && [ "$i" -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
check "held terminal open" grep -qx 'alive 1' "$work/hold.log"

# --- second deploy of the same revision ---------------------------------------
p1=$(mainpids)
t=$(date +%s)
deploy --image ship --ship-ref "$ship" >"$work/deploy2.log" 2>&1 || { cat "$work/deploy2.log"; bad "second deploy"; exit 1; }
t_deploy2=$(($(date +%s) - t))
p2=$(mainpids)
sed 's/^/    /' "$work/deploy2.log"
check "second deploy (${t_deploy2} s) restarted nothing: $p2" test "$p1" = "$p2"
check "second deploy: image not shipped again" grep -q 'already there' "$work/deploy2.log"
check "second deploy: caddy not reloaded" grep -q 'caddy.service: config unchanged, not reloaded' "$work/deploy2.log"
check "held terminal survived the second deploy" alive 2
# RSS counts the shared libraries; Private_* is what each more costs.
log "memory with one terminal open (RSS / private KiB): $(gssh 'mem() { echo "$(ps -o rss= -p "$1" | tr -d " ")/$(awk "/^Private/ { s += \$2 } END { print s }" /proc/"$1"/smaps_rollup)"; }; ws=$(systemctl show -p MainPID --value toolkata-ws); echo "websocketd $(mem "$ws"), relay $(mem "$(ps -o pid= --ppid "$ws" | head -n 1 | tr -d " ")"), toolkata-api $(mem "$(systemctl show -p MainPID --value toolkata-api)")"')"

# --- a changed toolkata-api ---------------------------------------------------
git clone -q --no-hardlinks "$top" "$work/src"
git -C "$work/src" checkout -q "$(git -C "$top" rev-parse HEAD)"
echo '__attribute__((used)) static const char deploy_check_mark[] = "changed";' >>"$work/src/fcgi/main.c"
git -C "$work/src" -c user.name=check -c user.email=check@localhost commit -qam 'deploy check: a changed toolkata-api'
deploy --image keep --src "$work/src" >"$work/deploy3.log" 2>&1 || { cat "$work/deploy3.log"; bad "third deploy"; exit 1; }
p3=$(mainpids)
sed 's/^/    /' "$work/deploy3.log"
check "changed binary: toolkata-api restarted" grep -q 'toolkata-api.service: restarted (toolkata-api changed)' "$work/deploy3.log"
check "changed binary: only toolkata-api ($p2 -> $p3)" test \
    "$(sed 's/toolkata-api=[0-9]* //' <<<"$p2")" = "$(sed 's/toolkata-api=[0-9]* //' <<<"$p3")" -a "$p2" != "$p3"
check "held terminal survived toolkata-api's restart" alive 3

# --- systemctl stop: the SIGTERM path ------------------------------------------
gssh 'systemctl stop toolkata-api' || true
st=$(gssh 'systemctl show -p Result -p ExecMainStatus -p ExecMainCode toolkata-api | tr "\n" " "')
check "systemctl stop toolkata-api: clean exit ($st)" grep -q 'Result=success.*ExecMainStatus=0\|ExecMainStatus=0.*Result=success' <<<"$st"
check "toolkata-api logged its orderly stop" gssh 'journalctl -u toolkata-api -n 20 --no-pager | grep -q "stopped"'
check "the socket is gone after stop" gssh '! test -e /run/toolkata/api.sock'
gssh 'systemctl start toolkata-api'

# --- docker restart keeps live sessions (live-restore) ----------------------------
# The session's container from the state file (a warm-pool container is
# labelled toolkata.pool, not with the session): its id and start time.
cid() {
	gssh "c=\$(sqlite3 /var/lib/toolkata/state.db \"select container_id from sessions where id = '$sid'\") &&
	    [ -n \"\$c\" ] && docker inspect -f '{{.Id}} {{.State.Running}} {{.State.StartedAt}}' \"\$c\""
}
c1=$(cid)
gssh 'systemctl restart docker'
c2=$(cid)
check "docker restart: the session's container still runs, not restarted ($c2)" \
    bash -c "[ -n '$c1' ] && [ '$c1' = '$c2' ] && grep -q ' true ' <<<'$c2'"
s=$(gcurl -H "X-API-Key: $key" "https://$domain/api/v1/sessions/$sid" || true)
check "docker restart: the session is still live" grep -qi '"status": *"running"' <<<"$s"
check "docker restart: a new terminal reaches the same session" \
    nsenter -t "$pid1" -n python3 "$here/wsclient.py" "$wsurl" "https://$domain" "$ca"
# The attach stream runs through dockerd: its restart ends live WebSockets
# (the client reconnects to the same shell, as above).
if kill -0 "$hold_pid" 2>/dev/null; then
	log "note: the held terminal survived the docker restart"
else
	log "note: the docker restart ended the held WebSocket ($(tail -n 1 "$work/hold.log")); session and shell survived"
fi
kill "$hold_pid" 2>/dev/null || true
wait "$hold_pid" 2>/dev/null || true
hold_pid=""

# --- a changed environment file: every unit that reads it, and a new
# SANDBOX_* variable reaches Caddy and the relays without a unit change ----
pa=$(mainpids)
echo "SANDBOX_DEPLOYCHECK_MARK=deploycheck-$$" >>"$work/sandbox.env"
deploy --image keep >"$work/deploy4.log" 2>&1 || { cat "$work/deploy4.log"; bad "fourth deploy"; exit 1; }
pb=$(mainpids)
sed 's/^/    /' "$work/deploy4.log"
check "changed environment: api, websocketd and Caddy restarted ($pa -> $pb)" bash -c \
    "for s in toolkata-api toolkata-ws caddy; do a=\$(tr ' ' '\n' <<<'$pa' | grep \"^\$s=\"); b=\$(tr ' ' '\n' <<<'$pb' | grep \"^\$s=\"); [ \"\$a\" != \"\$b\" ] || exit 1; done"
check "a new SANDBOX_* reaches websocketd's --passenv" gssh \
    'tr "\0" " " </proc/$(systemctl show -p MainPID --value toolkata-ws)/cmdline | grep -q "passenv [^ ]*SANDBOX_DEPLOYCHECK_MARK"'
check "a new SANDBOX_* is in Caddy's environment" gssh \
    'tr "\0" "\n" </proc/$(systemctl show -p MainPID --value caddy)/environ | grep -qx "SANDBOX_DEPLOYCHECK_MARK=deploycheck-[0-9]*"'
check "GOMEMLIMIT = 10 MiB x maxforks + 32 MiB for websocketd" gssh \
    'tr "\0" "\n" </proc/$(systemctl show -p MainPID --value toolkata-ws)/environ | grep -qx "GOMEMLIMIT=1032MiB"'

# --- reboot --------------------------------------------------------------------------
log "rebooting the guest (stop + boot)"
stop_guest
boot
for s in toolkata-api toolkata-ws caddy docker; do
	check "after reboot: $s active" gssh "systemctl is-active --quiet $s"
done
i=0
while :; do
	s=$(gcurl -H "X-API-Key: $key" "https://$domain/api/v1/sessions/$sid" || true)
	grep -qi '"status": *"running"' <<<"$s" || break
	i=$((i + 1))
	[ "$i" -lt 30 ] || break
	sleep 1
done
check "after reboot: the dead session has ended ($s)" test "$i" -lt 30
r=$(new_session || true)
sid2=$(sed -n 's/.*"sessionId": *"\(sess_[0-9a-f]*\)".*/\1/p' <<<"$r")
check "after reboot: its slot is free (MAX_CONCURRENT_PER_IP=1): a new session ($sid2)" test -n "$sid2"
check "after reboot: a terminal in the new session" nsenter -t "$pid1" -n python3 \
    "$here/wsclient.py" "wss://$domain/api/v1/sessions/$sid2/ws?api_key=$key" "https://$domain" "$ca"
check "session.expired or destroyed audited for the dead session" gssh \
    "grep \"$sid\" /var/log/toolkata/audit.log | grep -q 'session\\.\\(expired\\|destroyed\\)'"

log "times: setup-server ${t_setup} s, first deploy ${t_deploy1} s, second deploy ${t_deploy2} s, suite $(($(date +%s) - t_all)) s"
echo "check: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
