#!/bin/bash
# plans.sh: part of `make check`.  The cloud scripts cannot reach Hetzner or
# Oracle from here, so their plans are asserted: every --dry-run prints the
# right cloud CLI calls and remote commands, in order, with the configured
# names; stub hcloud/oci/ssh programs (logging their argv) drive the real,
# non-dry paths (location fallback, OCIDs recorded and torn down in
# reverse); a missing tool, credential or variable is a clear error.  Also:
# the environment template names every variable of --help-config, and every
# deployment script is shellcheck clean.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/toolkata-plans.XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "plans: FAIL $*"; }
# in_order FILE PATTERN...: each extended regex matches a later line than the last.
in_order() {
	local f=$1 n=0 m p
	shift
	for p in "$@"; do
		m=$(grep -nE -- "$p" "$f" | awk -F: -v n="$n" '$1 > n { print $1; exit }')
		if [ -z "$m" ]; then
			echo "plans:   '$p' not found after line $n of:" >&2
			sed 's/^/plans:     /' "$f" >&2
			return 1
		fi
		n=$m
	done
}
t() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
# fails_with FILE REGEX CMD...: CMD exits non-zero and says REGEX.
fails_with() {
	local f=$1 re=$2
	shift 2
	if "$@" >"$f" 2>&1; then
		echo "plans:   succeeded: $*" >&2
		return 1
	fi
	grep -qE -- "$re" "$f" || { cat "$f" >&2; return 1; }
}

# A private copy of the scripts, so that state files land in $work.
cp -R "$top/hetzner" "$top/oracle" "$top/deploy" "$work/"
mkdir -p "$work/home/.ssh" "$work/stub" "$work/nostub"
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPLANTEST plans" >"$work/home/.ssh/id_ed25519.pub"
export HOME=$work/home
unset HCLOUD_TOKEN OCI_CLI_AUTH OCI_COMPARTMENT_ID
for b in bash sh sed grep awk cat tail head mkdir rm cp mktemp dirname tr wc id env printf git date basename; do
	p=$(command -v "$b") && ln -sf "$p" "$work/nostub/$b"
done
calls=$work/calls
# Stubs: log argv; hcloud's create fails in nbg1 (capacity), oci answers ids.
cat >"$work/stub/hcloud" <<'EOF'
#!/bin/sh
echo "hcloud $*" >>"$CALLS"
case "$*" in
"context active") [ -n "${STUB_NOCTX:-}" ] || echo toolkata ;;
"ssh-key describe"* | "server describe"*) exit 1 ;;
*"--location nbg1"*) echo "hcloud: resource_unavailable" >&2; exit 1 ;;
"server ip"*) echo 192.0.2.10 ;;
esac
exit 0
EOF
cat >"$work/stub/oci" <<'EOF'
#!/bin/sh
echo "oci $*" >>"$CALLS"
case "$*" in
"iam availability-domain list"*) echo "Uocm:EU-FRANKFURT-1-AD-1" ;;
"network vcn create"*) echo ocid1.vcn.oc1..v ;;
"network internet-gateway create"*) echo ocid1.internetgateway.oc1..g ;;
"network route-table create"*) echo ocid1.routetable.oc1..r ;;
"network security-list create"*) echo ocid1.securitylist.oc1..s ;;
"network subnet create"*) echo ocid1.subnet.oc1..n ;;
"compute image list"*) echo ocid1.image.oc1..i ;;
"compute instance launch"*) echo ocid1.instance.oc1..x ;;
"compute instance list-vnics"*) echo 192.0.2.20 ;;
esac
exit 0
EOF
cat >"$work/stub/ssh" <<'EOF'
#!/bin/sh
echo "ssh $*" >>"$CALLS"
cat >/dev/null
exit 0
EOF
chmod +x "$work/stub/"*
export CALLS=$calls
SPATH=$work/stub:$PATH

# --- hetzner -----------------------------------------------------------------
H=$work/hetzner
"$H/provision.sh" --dry-run --name tk-test --key-name tk-key >"$work/hp" 2>&1 || true
t "hetzner provision --dry-run: key, server (first location), ip, ssh, setup, server.env" in_order "$work/hp" \
    '^\+ hcloud ssh-key describe tk-key' \
    '^\+ hcloud ssh-key create --name tk-key --public-key-from-file .*/id_ed25519.pub$' \
    '^\+ hcloud server describe tk-test' \
    '^\+ hcloud server create --name tk-test --type cax11 --image debian-12 --location nbg1 --ssh-key tk-key$' \
    '^\+ hcloud server ip tk-test$' \
    '^\+ ssh .* root@<server-ip> true' \
    "^\+ ssh -o BatchMode=yes root@<server-ip> 'bash -s -- ' < deploy/setup-server.sh" \
    '^\+ write .*/server.env'
t "hetzner provision --dry-run creates nothing" test ! -e "$H/server.env"
: >"$calls"
PATH=$SPATH HCLOUD_TOKEN=x "$H/provision.sh" --name tk-test >"$work/hr" 2>&1 || { cat "$work/hr"; bad "hetzner provision (stubs)"; }
t "hetzner provision: nbg1 full, falls back to fsn1, stops there" in_order "$calls" \
    '^hcloud ssh-key create --name toolkata' \
    '^hcloud server create .*--location nbg1' \
    '^hcloud server create .*--location fsn1' \
    '^hcloud server ip tk-test' \
    '^ssh .*root@192.0.2.10 true' \
    "^ssh -o BatchMode=yes root@192.0.2.10 bash -s -- "
t "hetzner provision: hel1 never tried" bash -c "! grep -q hel1 '$calls'"
t "hetzner provision: server.env records the server" grep -qx 'SSH_TARGET=root@192.0.2.10' "$H/server.env"
t "hetzner provision: no hcloud is a clear error" fails_with "$work/e1" "'hcloud' not found.*apt-get install hcloud-cli" \
    env PATH="$work/nostub" "$H/provision.sh"
t "hetzner provision: no credentials is a clear error" fails_with "$work/e2" 'no Hetzner credentials: set HCLOUD_TOKEN' \
    env PATH="$SPATH" STUB_NOCTX=1 "$H/provision.sh"
if command -v hcloud >/dev/null; then
	# The real CLI (Debian's hcloud-cli) with no context and no token.
	mkdir -p "$work/emptyhome"
	t "hetzner provision: the real hcloud without credentials is a clear error" fails_with "$work/e2b" \
	    'no Hetzner credentials' env HOME="$work/emptyhome" "$H/provision.sh"
	t "hetzner: the real hcloud knows every flag provision uses" bash -c \
	    "h=\$(hcloud server create --help 2>&1); for f in --name --type --image --location --ssh-key; do grep -q -- \"\$f \" <<<\"\$h\" || exit 1; done; hcloud ssh-key create --help 2>&1 | grep -q -- --public-key-from-file"
fi
printf 'SANDBOX_API_KEY=k\nSANDBOX_ALLOWED_ORIGINS=https://a.example\nSANDBOX_DOMAIN=sandbox.example\n' >"$work/ok.env"
"$H/deploy.sh" --env "$work/ok.env" --src "$top" --dry-run >"$work/hd" 2>&1 || true
t "hetzner deploy --dry-run: the shared deploy, to server.env's host, in order" in_order "$work/hd" \
    '^deploy: deploying [0-9a-f]{40} to root@192.0.2.10' \
    "^\+ git -C .* archive --format=tar [0-9a-f]{40} \| ssh .* root@192.0.2.10 'sh -c \"rm -rf /usr/local/src/toolkata && mkdir -p /usr/local/src/toolkata && tar -x -C /usr/local/src/toolkata\"'" \
    "^\+ ssh .* root@192.0.2.10 'install -D -m 0600 -o root -g root /dev/stdin /etc/toolkata/sandbox.env.new' < .*ok.env" \
    "^\+ ssh .* root@192.0.2.10 '/usr/local/src/toolkata/deploy/install-host.sh --env /etc/toolkata/sandbox.env.new --build-image'"
t "hetzner teardown: refuses without a terminal or --yes" fails_with "$work/e3" 'pass --yes' \
    env PATH="$SPATH" HCLOUD_TOKEN=x "$H/teardown.sh" </dev/null
: >"$calls"
PATH=$SPATH HCLOUD_TOKEN=x "$H/teardown.sh" --yes >"$work/ht" 2>&1 || true
t "hetzner teardown --yes: server, then key, names from server.env" in_order "$calls" \
    '^hcloud server delete tk-test$' '^hcloud ssh-key delete toolkata$'
t "hetzner teardown: server.env removed" test ! -e "$H/server.env"

# --- deploy-remote -----------------------------------------------------------
printf 'SANDBOX_ALLOWED_ORIGINS=https://a.example\nSANDBOX_DOMAIN=d\n' >"$work/nokey.env"
t "deploy: an env file without SANDBOX_API_KEY is refused, naming it" fails_with "$work/e4" \
    'SANDBOX_API_KEY is not set' "$work/deploy/deploy-remote.sh" --host root@h --env "$work/nokey.env" --dry-run
t "deploy: a bad revision is refused" fails_with "$work/e5" 'not a commit' \
    "$work/deploy/deploy-remote.sh" --host root@h --env "$work/ok.env" --src "$top" --rev no-such-rev --dry-run
"$work/deploy/deploy-remote.sh" --host root@h --env "$work/ok.env" --src "$top" --image ship --port 2222 --dry-run >"$work/ds" 2>&1 || true
t "deploy --image ship: port, image compared then shipped, install without --build-image" in_order "$work/ds" \
    '^\+ git .* \| ssh .*-p 2222 root@h' \
    "^\+ ssh .*-p 2222 root@h 'docker image inspect -f \{\{.Id\}\} toolkata-sandbox:latest'" \
    "^\+ docker save toolkata-sandbox:latest \| ssh .*-p 2222 root@h 'docker load'" \
    "^\+ docker save toolkata-env-node:latest \| ssh .*-p 2222 root@h 'docker load'" \
    "^\+ docker save toolkata-env-python:latest \| ssh .*-p 2222 root@h 'docker load'" \
    "'/usr/local/src/toolkata/deploy/install-host.sh --env /etc/toolkata/sandbox.env.new'$"
printf 'SANDBOX_API_KEY=k\nSANDBOX_ALLOWED_ORIGINS=https://a.example\nSANDBOX_DOMAIN=d\nSANDBOX_ENVIRONMENTS=bash,python=my-python:3\n' >"$work/py.env"
"$work/deploy/deploy-remote.sh" --host root@h --env "$work/py.env" --src "$top" --image ship --dry-run >"$work/dp" 2>&1 || true
t "deploy --image ship: the images SANDBOX_ENVIRONMENTS names, and only those" in_order "$work/dp" \
    "^\+ docker save toolkata-sandbox:latest \|" "^\+ docker save my-python:3 \|" \
    "install-host.sh"
t "deploy --image ship: no node image when the env file names none" \
    sh -c "! grep -q toolkata-env-node '$work/dp'"

# --- oracle --------------------------------------------------------------------
O=$work/oracle
t "oracle provision: no compartment is a clear error" fails_with "$work/e6" 'no compartment' \
    env PATH="$SPATH" "$O/provision.sh" --dry-run
t "oracle provision: no oci is a clear error" fails_with "$work/e7" "'oci' not found" \
    env PATH="$work/nostub" "$O/provision.sh" --compartment ocid1.compartment.oc1..c
t "oracle provision: no ~/.oci/config is a clear error" fails_with "$work/e8" "no OCI credentials: run 'oci setup config'" \
    env PATH="$SPATH" "$O/provision.sh" --compartment ocid1.compartment.oc1..c
"$O/provision.sh" --dry-run --compartment ocid1.compartment.oc1..c --name tkx >"$work/op" 2>&1 || true
t "oracle provision --dry-run: network first, then the A1 instance, then the host" in_order "$work/op" \
    '^\+ oci iam availability-domain list --compartment-id ocid1.compartment.oc1..c' \
    '^\+ oci network vcn create .*--display-name tkx-vcn --cidr-block 10.0.0.0/16' \
    "^\+ oci network internet-gateway create .*--vcn-id '<vcn-ocid>' --display-name tkx-igw --is-enabled true" \
    "^\+ oci network route-table create .*--display-name tkx-rt --route-rules '\[\{\"destination\":\"0.0.0.0/0\",\"destinationType\":\"CIDR_BLOCK\",\"networkEntityId\":\"<igw-ocid>\"\}\]'" \
    '^\+ oci network security-list create .*--display-name tkx-sl .*"min":22,"max":22.*"min":80,"max":80.*"min":443,"max":443' \
    "^\+ oci network subnet create .*--route-table-id '<route-table-ocid>' --security-list-ids '\[\"<security-list-ocid>\"\]'" \
    "^\+ oci compute image list .*--operating-system 'Canonical Ubuntu' --operating-system-version 24.04 --shape VM.Standard.A1.Flex" \
    "^\+ oci compute instance launch .*--shape VM.Standard.A1.Flex --shape-config '\{\"ocpus\":2,\"memoryInGBs\":4\}' --image-id '<image-ocid>' --subnet-id '<subnet-ocid>' --assign-public-ip true" \
    '^\+ oci compute instance list-vnics' \
    '^\+ ssh .* ubuntu@<public-ip> true' \
    "^\+ ssh -o BatchMode=yes ubuntu@<public-ip> 'sudo bash -s' < oracle/open-web.sh" \
    "^\+ ssh -o BatchMode=yes ubuntu@<public-ip> 'sudo bash -s -- --no-ufw' < deploy/setup-server.sh"
mkdir -p "$work/oci" && : >"$work/oci/config"
: >"$calls"
PATH=$SPATH OCI_CLI_CONFIG_FILE=$work/oci/config "$O/provision.sh" --compartment ocid1.compartment.oc1..c >"$work/or" 2>&1 ||
	{ cat "$work/or"; bad "oracle provision (stubs)"; }
t "oracle provision: each OCID feeds the next call" in_order "$calls" \
    '^oci network internet-gateway create .*--vcn-id ocid1.vcn.oc1..v' \
    '^oci network route-table create .*ocid1.internetgateway.oc1..g' \
    '^oci network subnet create .*--route-table-id ocid1.routetable.oc1..r --security-list-ids \["ocid1.securitylist.oc1..s"\]' \
    '^oci compute instance launch .*--availability-domain Uocm:EU-FRANKFURT-1-AD-1 .*--image-id ocid1.image.oc1..i --subnet-id ocid1.subnet.oc1..n' \
    '^oci compute instance list-vnics --instance-id ocid1.instance.oc1..x' \
    '^ssh .*ubuntu@192.0.2.20 sudo bash -s$' \
    '^ssh .*ubuntu@192.0.2.20 sudo bash -s -- --no-ufw'
t "oracle provision: a second run refuses while state.env exists" fails_with "$work/e9" 'state.env exists' \
    env PATH="$SPATH" OCI_CLI_CONFIG_FILE="$work/oci/config" "$O/provision.sh" --compartment ocid1.compartment.oc1..c
"$O/deploy.sh" --env "$work/ok.env" --src "$top" --dry-run >"$work/od" 2>&1 || true
t "oracle deploy --dry-run: the same shared deploy, as ubuntu with sudo" in_order "$work/od" \
    '^deploy: deploying [0-9a-f]{40} to ubuntu@192.0.2.20' \
    "\| ssh .* ubuntu@192.0.2.20 'sudo sh -c " \
    "ubuntu@192.0.2.20 'sudo install -D -m 0600 -o root -g root /dev/stdin /etc/toolkata/sandbox.env.new'" \
    "ubuntu@192.0.2.20 'sudo /usr/local/src/toolkata/deploy/install-host.sh "
: >"$calls"
PATH=$SPATH "$O/teardown.sh" --yes >"$work/ot" 2>&1 || { cat "$work/ot"; bad "oracle teardown (stubs)"; }
t "oracle teardown: reverse dependency order, recorded OCIDs" in_order "$calls" \
    '^oci compute instance terminate --instance-id ocid1.instance.oc1..x --preserve-boot-volume false --wait-for-state TERMINATED --force' \
    '^oci network subnet delete --subnet-id ocid1.subnet.oc1..n' \
    '^oci network route-table delete --rt-id ocid1.routetable.oc1..r' \
    '^oci network security-list delete --security-list-id ocid1.securitylist.oc1..s' \
    '^oci network internet-gateway delete --ig-id ocid1.internetgateway.oc1..g' \
    '^oci network vcn delete --vcn-id ocid1.vcn.oc1..v'
t "oracle teardown: state.env removed" test ! -e "$O/state.env"

# --- open-web.sh on a copy of Oracle's rules.v4 ----------------------------------
cat >"$work/rules.v4" <<'EOF'
*filter
:INPUT ACCEPT [0:0]
:InstanceServices - [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-host-prohibited
-A OUTPUT -d 169.254.0.0/16 -j InstanceServices
COMMIT
EOF
sed -e "s|^f=/etc/iptables/rules.v4|f=$work/rules.v4|" -e 's|iptables-restore <"$f"|:|' "$top/oracle/open-web.sh" >"$work/open-web.sh"
bash "$work/open-web.sh" >/dev/null
t "open-web: 80/443 accepted before the REJECT, InstanceServices kept" in_order "$work/rules.v4" \
    '--dport 22 -j ACCEPT' '--dport 80 -j ACCEPT' '--dport 443 -j ACCEPT' 'udp --dport 443 -j ACCEPT' \
    '^-A INPUT -j REJECT' 'InstanceServices'
cp "$work/rules.v4" "$work/rules.once"
t "open-web: a second run changes nothing" bash -c "bash '$work/open-web.sh' | grep -q 'nothing changed' && cmp -s '$work/rules.v4' '$work/rules.once'"

# --- the template and the scripts ---------------------------------------------------
missing=""
for v in $("$top/bin/toolkata-api" --help-config | awk 'NR > 1 { print $1 }'); do
	grep -qE "^#?$v=" "$top/deploy/sandbox.env.example" || missing="$missing $v"
done
t "sandbox.env.example names every --help-config variable (missing:$missing)" test -z "$missing"
t "setup-server --list-packages: the runtime is there" bash -c \
    "'$top/deploy/setup-server.sh' --list-packages | grep -qx runsc && '$top/deploy/setup-server.sh' --list-packages | grep -qx websocketd"
for s in deploy/setup-server.sh deploy/install-host.sh deploy/deploy-remote.sh \
    hetzner/*.sh oracle/*.sh check/deploy/*.sh; do
	t "$s: set -euo pipefail" grep -q '^set -euo pipefail' "$top/$s"
done
if command -v shellcheck >/dev/null; then
	t "shellcheck -S warning on every deployment script" shellcheck -x -S warning \
	    "$top"/deploy/*.sh "$top"/deploy/toolkata-ws.in "$top"/hetzner/*.sh "$top"/oracle/*.sh "$top"/check/deploy/*.sh
fi
for s in hetzner/provision.sh hetzner/deploy.sh hetzner/teardown.sh oracle/provision.sh \
    oracle/deploy.sh oracle/teardown.sh deploy/deploy-remote.sh deploy/setup-server.sh deploy/install-host.sh; do
	t "$s --help" bash -c "'$top/$s' --help | grep -q usage"
done
# make install / uninstall into a DESTDIR.
d=$work/destdir
make -s -C "$top" install DESTDIR="$d" PREFIX=/opt/tk >/dev/null
t "make install: binaries, wrapper, units, drop-in, Caddyfile, image files, logrotate" bash -c "
    for f in /opt/tk/bin/toolkata-api /opt/tk/bin/toolkata-relay /opt/tk/libexec/toolkata/toolkata-ws \
        /opt/tk/lib/systemd/system/toolkata-api.service /opt/tk/lib/systemd/system/toolkata-ws.service \
        /opt/tk/lib/systemd/system/caddy.service.d/toolkata.conf /opt/tk/share/toolkata/Caddyfile \
        /opt/tk/share/toolkata/docker/Dockerfile /opt/tk/share/toolkata/sandbox.env.example /etc/logrotate.d/toolkata; do
        [ -f '$d'\$f ] || { echo missing \$f; exit 1; }; done"
t "make install: PREFIX substituted in the units, no @VAR@ left" bash -c \
    "grep -q '^ExecStart=/usr/bin/env SANDBOX_LISTEN=/run/toolkata/api.sock /opt/tk/bin/toolkata-api$' '$d/opt/tk/lib/systemd/system/toolkata-api.service' &&
    grep -q '^ExecStart=/opt/tk/libexec/toolkata/toolkata-ws$' '$d/opt/tk/lib/systemd/system/toolkata-ws.service' &&
    ! grep -rq '@[A-Z]*DIR@' '$d/opt/tk/lib' '$d/opt/tk/libexec' '$d/etc'"
make -s -C "$top" uninstall DESTDIR="$d" PREFIX=/opt/tk >/dev/null
t "make uninstall: no file left" test -z "$(find "$d" -type f)"

echo "check: $pass passed, $fail failed (deployment plans)"
[ "$fail" -eq 0 ]
