#!/bin/bash
# provision.sh: an Oracle Cloud (OCI) Ampere A1 instance for
# toolkata-sandbox, from a workstation with the oci CLI configured
# (~/.oci/config, or OCI_CLI_AUTH).  In the compartment: a VCN, an
# internet gateway, a route table (0.0.0.0/0 -> gateway), a security list
# (22/tcp, 80/tcp, 443/tcp, 443/udp in; all out), a public subnet, then a
# VM.Standard.A1.Flex from the newest Canonical Ubuntu 24.04 image.  Then,
# over SSH: Oracle's image firewall opened for 80/443 (its iptables rules
# reject everything but 22), and deploy/setup-server.sh --no-ufw.  Every
# OCID goes to oracle/state.env, which teardown.sh deletes in reverse.
set -euo pipefail
prog=provision
here=$(cd "$(dirname "$0")" && pwd)
cloud_top=$(cd "$here/.." && pwd)
. "$cloud_top/deploy/cloud-lib.sh"

usage() {
	cat <<'EOF2'
usage: oracle/provision.sh --compartment OCID [options]
  --compartment OCID  compartment (or OCI_COMPARTMENT_ID)
  --name NAME         display-name prefix (default toolkata)
  --ocpus N           A1 OCPUs (default 2; the free tier allows 4 in total)
  --memory-gb N       memory (default 4; the free tier allows 24 in total)
  --os-version V      Canonical Ubuntu version (default 24.04)
  --ssh-key FILE      public key (default ~/.ssh/id_ed25519.pub, then id_rsa.pub)
  --dry-run           print every oci call and remote command; run none
  -h, --help          this text
EOF2
}

compartment=${OCI_COMPARTMENT_ID:-} name=toolkata ocpus=2 mem=4 osver=24.04
ssh_key="" dry=0
while [ $# -gt 0 ]; do
	case $1 in
	--compartment) compartment=${2:?}; shift ;;
	--name) name=${2:?}; shift ;;
	--ocpus) ocpus=${2:?}; shift ;;
	--memory-gb) mem=${2:?}; shift ;;
	--os-version) osver=${2:?}; shift ;;
	--ssh-key) ssh_key=${2:?}; shift ;;
	--dry-run) dry=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "$prog: unknown option '$1'" >&2; usage >&2; exit 64 ;;
	esac
	shift
done

need oci "install the OCI CLI (https://docs.oracle.com/iaas/Content/API/SDKDocs/cliinstall.htm)"
need ssh "install openssh-client"
[ -n "$compartment" ] || die "no compartment: --compartment OCID or OCI_COMPARTMENT_ID"
if [ "$dry" -eq 0 ] && [ -z "${OCI_CLI_AUTH:-}" ] && [ ! -f "${OCI_CLI_CONFIG_FILE:-$HOME/.oci/config}" ]; then
	die "no OCI credentials: run 'oci setup config' (~/.oci/config) or set OCI_CLI_AUTH"
fi
key=$(pubkey "$ssh_key")
state=$here/state.env
[ "$dry" -eq 1 ] || [ ! -f "$state" ] ||
	die "$state exists: an earlier provision; run oracle/teardown.sh first"
record() {
	[ "$dry" -eq 1 ] || echo "$1=$2" >>"$state"
}
C=(--compartment-id "$compartment")
W=(--wait-for-state AVAILABLE --query data.id --raw-output)

record COMPARTMENT "$compartment"
ad=$(out '<availability-domain>' oci iam availability-domain list "${C[@]}" \
    --query 'data[0].name' --raw-output)
vcn=$(out '<vcn-ocid>' oci network vcn create "${C[@]}" --display-name "$name-vcn" \
    --cidr-block 10.0.0.0/16 --dns-label "$name" "${W[@]}")
record VCN "$vcn"
igw=$(out '<igw-ocid>' oci network internet-gateway create "${C[@]}" --vcn-id "$vcn" \
    --display-name "$name-igw" --is-enabled true "${W[@]}")
record IGW "$igw"
rt=$(out '<route-table-ocid>' oci network route-table create "${C[@]}" --vcn-id "$vcn" \
    --display-name "$name-rt" \
    --route-rules "[{\"destination\":\"0.0.0.0/0\",\"destinationType\":\"CIDR_BLOCK\",\"networkEntityId\":\"$igw\"}]" \
    "${W[@]}")
record RT "$rt"
tcp() { printf '{"source":"0.0.0.0/0","protocol":"6","isStateless":false,"tcpOptions":{"destinationPortRange":{"min":%s,"max":%s}}}' "$1" "$1"; }
ingress="[$(tcp 22),$(tcp 80),$(tcp 443),{\"source\":\"0.0.0.0/0\",\"protocol\":\"17\",\"isStateless\":false,\"udpOptions\":{\"destinationPortRange\":{\"min\":443,\"max\":443}}}]"
sl=$(out '<security-list-ocid>' oci network security-list create "${C[@]}" --vcn-id "$vcn" \
    --display-name "$name-sl" \
    --egress-security-rules '[{"destination":"0.0.0.0/0","protocol":"all","isStateless":false}]' \
    --ingress-security-rules "$ingress" "${W[@]}")
record SL "$sl"
subnet=$(out '<subnet-ocid>' oci network subnet create "${C[@]}" --vcn-id "$vcn" \
    --display-name "$name-subnet" --cidr-block 10.0.0.0/24 --dns-label sandbox \
    --route-table-id "$rt" --security-list-ids "[\"$sl\"]" "${W[@]}")
record SUBNET "$subnet"
image=$(out '<image-ocid>' oci compute image list "${C[@]}" \
    --operating-system 'Canonical Ubuntu' --operating-system-version "$osver" \
    --shape VM.Standard.A1.Flex --sort-by TIMECREATED --sort-order DESC \
    --query 'data[0].id' --raw-output)
[ -n "$image" ] && [ "$image" != null ] || die "no Canonical Ubuntu $osver image for VM.Standard.A1.Flex"
inst=$(out '<instance-ocid>' oci compute instance launch "${C[@]}" \
    --availability-domain "$ad" --display-name "$name-sandbox" \
    --shape VM.Standard.A1.Flex --shape-config "{\"ocpus\":$ocpus,\"memoryInGBs\":$mem}" \
    --image-id "$image" --subnet-id "$subnet" --assign-public-ip true \
    --ssh-authorized-keys-file "$key" \
    --wait-for-state RUNNING --query data.id --raw-output)
record INSTANCE "$inst"
ip=$(out '<public-ip>' oci compute instance list-vnics --instance-id "$inst" \
    --query 'data[0]."public-ip"' --raw-output)
record SERVER_IP "$ip"
record SSH_TARGET "ubuntu@$ip"

wait_ssh "ubuntu@$ip"
# Oracle's Ubuntu images: /etc/iptables/rules.v4 rejects all input but 22
# (and its InstanceServices chain must stay: boot volume, metadata).
echo "+ ssh -o BatchMode=yes ubuntu@$ip 'sudo bash -s' < oracle/open-web.sh"
[ "$dry" -eq 1 ] || ssh -o BatchMode=yes "ubuntu@$ip" 'sudo bash -s' <"$here/open-web.sh"
setup_server "ubuntu@$ip" --no-ufw
say "next: DNS A record for your SANDBOX_DOMAIN -> $ip, then oracle/deploy.sh --env FILE"
