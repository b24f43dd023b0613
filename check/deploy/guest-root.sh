#!/bin/bash
# guest-root.sh: the cached Debian 12 root the deployment suite boots with
# systemd-nspawn.  debootstrap (minbase, systemd as init, sshd), then every
# package deploy/setup-server.sh installs, fetched here because the guest
# runs on a private network with no route out.  Cached under
# /var/cache/toolkata/nspawn/root-<hash of the package list>; prints its path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${TOOLKATA_NSPAWN_CACHE:-/var/cache/toolkata/nspawn}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

pkgs=$("$top/deploy/setup-server.sh" --list-packages | tr '\n' ' ')
key=$(printf '%s\n%s\n' "$pkgs" "$(sed -n '/^# key:/p' "$0")" | sha256sum | cut -c 1-12)
# key: v1 (bump to rebuild)
root=$cache/root-$key
if [ -x "$root/usr/sbin/dockerd" ] && [ -f "$root/.complete" ]; then
	echo "$root"
	exit 0
fi

new=$root.new
mkdir -p "$cache"
unmount() {
	local m
	for m in proc sys dev/pts dev; do
		mountpoint -q "$new/$m" 2>/dev/null && umount -l "$new/$m" || true
	done
}
trap unmount EXIT
unmount
rm -rf --one-file-system "$new"
echo "guest-root: debootstrap into $new (a few minutes, once)" >&2
debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,openssh-server,ca-certificates,iproute2,procps \
    bookworm "$new" "$mirror" >"$cache/debootstrap-guest.log" 2>&1 ||
	{ tail -n 20 "$cache/debootstrap-guest.log" >&2; exit 1; }
unmount
printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d"
chmod 755 "$new/usr/sbin/policy-rc.d"
mount -t proc proc "$new/proc"
echo "guest-root: apt-get install of setup-server's packages" >&2
# shellcheck disable=SC2086
chroot "$new" env DEBIAN_FRONTEND=noninteractive sh -c \
    "apt-get update -qq && apt-get install -y -qq --no-install-recommends $pkgs && apt-get clean" \
    >"$cache/apt-guest.log" 2>&1 || { tail -n 20 "$cache/apt-guest.log" >&2; exit 1; }
unmount
rm -f "$new/usr/sbin/policy-rc.d"
# nspawn needs an empty machine-id to make one; no password for anyone.
: >"$new/etc/machine-id"
echo toolkata-guest >"$new/etc/hostname"
touch "$new/.complete"
rm -rf --one-file-system "$root"
mv "$new" "$root"
echo "$root"
