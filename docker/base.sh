#!/bin/sh
# base.sh: make the offline Debian bookworm base image.  debootstrap runs once
# and its result is cached as a tarball under /var/cache/toolkata (never in the
# repository); the tarball is then `docker import`ed as debian:bookworm-slim
# unless that tag already exists.  Set TOOLKATA_CACHE to move the cache.
set -eu
cache=${TOOLKATA_CACHE:-/var/cache/toolkata}
tag=${BASE_TAG:-debian:bookworm-slim}
tarball="$cache/bookworm-minbase.tar"
mirror=${DEBIAN_MIRROR:-}
# The image build has no network: everything the sandbox needs comes in here.
pkgs=git,locales,ca-certificates,less,procps,curl,nano

if docker image inspect "$tag" >/dev/null 2>&1; then
	echo "base: $tag present"
	exit 0
fi

if [ ! -s "$tarball" ]; then
	if [ -z "$mirror" ]; then
		mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources \
		    2>/dev/null | head -n 1)
	fi
	[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
	mkdir -p "$cache"
	root=$(mktemp -d "$cache/root.XXXXXX")
	trap 'rm -rf "$root"' EXIT INT TERM
	echo "base: debootstrap bookworm from $mirror (cached in $tarball)"
	debootstrap --variant=minbase --include="$pkgs" bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
		tail -n 20 "$cache/debootstrap.log" >&2
		exit 1
	}
	# Trim what a container never needs; keeps the import small.
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
	    "$root"/usr/share/doc/* "$root"/usr/share/man/*
	tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
fi

echo "base: importing $tarball as $tag"
docker import "$tarball" "$tag" >/dev/null
