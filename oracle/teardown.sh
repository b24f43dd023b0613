#!/bin/bash
# teardown.sh: delete everything provision.sh created, in dependency
# order (instance, subnet, route table, security list, internet gateway,
# VCN), from the OCIDs in oracle/state.env, after a confirmation.  A
# resource already gone is reported and skipped, so a half-finished
# provision can be torn down too.
set -euo pipefail
prog=teardown
here=$(cd "$(dirname "$0")" && pwd)
cloud_top=$(cd "$here/.." && pwd)
. "$cloud_top/deploy/cloud-lib.sh"

usage() {
	cat <<'EOF2'
usage: oracle/teardown.sh [--yes] [--dry-run]
  --yes      do not ask (the instance and its boot volume are gone for good)
  --dry-run  print the oci calls; run none
EOF2
}
# shellcheck disable=SC2034 # yes: read by confirm()
yes=0 dry=0
# shellcheck disable=SC2034
while [ $# -gt 0 ]; do
	case $1 in
	--yes) yes=1 ;;
	--dry-run) dry=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "$prog: unknown option '$1'" >&2; usage >&2; exit 64 ;;
	esac
	shift
done
state=$here/state.env
need oci "install the OCI CLI (https://docs.oracle.com/iaas/Content/API/SDKDocs/cliinstall.htm)"
get() { [ -f "$state" ] || return 0; sed -n "s/^$1=//p" "$state" | tail -n 1; }
if [ ! -f "$state" ]; then
	[ "$dry" -eq 1 ] || die "no $state: nothing provisioned by this checkout"
fi
INSTANCE=$(get INSTANCE) SUBNET=$(get SUBNET) RT=$(get RT) SL=$(get SL)
IGW=$(get IGW) VCN=$(get VCN)
if [ "$dry" -eq 1 ]; then
	: "${INSTANCE:=<instance-ocid>}" "${SUBNET:=<subnet-ocid>}" "${RT:=<route-table-ocid>}"
	: "${SL:=<security-list-ocid>}" "${IGW:=<igw-ocid>}" "${VCN:=<vcn-ocid>}"
fi
confirm "delete the instance, subnet, route table, security list, gateway and VCN in $state"
del() {
	[ -n "$2" ] || { say "$1: not in $state, skipped"; return 0; }
	shift 2
	run oci "$@" --force
}
del instance "$INSTANCE" compute instance terminate --instance-id "$INSTANCE" \
    --preserve-boot-volume false --wait-for-state TERMINATED
del subnet "$SUBNET" network subnet delete --subnet-id "$SUBNET" --wait-for-state TERMINATED
del route-table "$RT" network route-table delete --rt-id "$RT" --wait-for-state TERMINATED
del security-list "$SL" network security-list delete --security-list-id "$SL" --wait-for-state TERMINATED
del internet-gateway "$IGW" network internet-gateway delete --ig-id "$IGW" --wait-for-state TERMINATED
del vcn "$VCN" network vcn delete --vcn-id "$VCN" --wait-for-state TERMINATED
run rm -f "$state"
say "done"
