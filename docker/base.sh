#!/bin/sh
# base.sh [ENV]: make the offline Debian bookworm base image of an
# environment.  debootstrap runs once per environment and its result is
# cached as a tarball under /var/cache/toolkata (never in the repository).
#
#   bash (default)  bookworm-minbase.tar, `docker import`ed as
#                   debian:bookworm-slim unless that tag already exists.
#   node, python    the same debootstrap plus nodejs (python3), cached as
#                   bookworm-ENV-overlay.tar: only the files that are new or
#                   differ from the minbase root, ADDed as one layer on top of
#                   debian:bookworm-slim and tagged toolkata-base:ENV.  The
#                   images share the base layer (docker stores it once).
#
# Set TOOLKATA_CACHE to move the cache.  The image build itself has no
# network: everything an environment needs comes in here.
set -eu
envname=${1:-bash}
cache=${TOOLKATA_CACHE:-/var/cache/toolkata}
tag=${BASE_TAG:-debian:bookworm-slim}
tarball="$cache/bookworm-minbase.tar"
mirror=${DEBIAN_MIRROR:-}
pkgs=git,locales,ca-certificates,less,procps,curl,nano
case $envname in
bash) extra= ;;
node) extra=nodejs ;;
python) extra=python3 ;;
*) echo "base: unknown environment '$envname'" >&2; exit 1 ;;
esac

root=
trap '[ -z "$root" ] || rm -rf "$root"' EXIT INT TERM

# debootstrap bookworm with packages $1 into a new folder under the cache;
# prints the folder.  Trims what a container never needs.
strap() {
	if [ -z "$mirror" ]; then
		mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources \
		    2>/dev/null | head -n 1)
	fi
	[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
	mkdir -p "$cache/debs"
	d=$(mktemp -d "$cache/root.XXXXXX")
	echo "base: debootstrap bookworm +$1 from $mirror" >&2
	debootstrap --variant=minbase --cache-dir="$cache/debs" --include="$1" \
	    bookworm "$d" "$mirror" >"$cache/debootstrap-$envname.log" 2>&1 || {
		tail -n 20 "$cache/debootstrap-$envname.log" >&2
		rm -rf "$d"
		exit 1
	}
	rm -rf "$d"/var/cache/apt/archives/*.deb "$d"/var/lib/apt/lists/* \
	    "$d"/usr/share/doc/* "$d"/usr/share/man/*
	echo "$d"
}

# The files of root $1 that the minbase tarball lacks or holds otherwise,
# as a tarball $2 (directories new to the base come along).
overlay() {
	b=$(mktemp -d "$cache/minbase.XXXXXX")
	tar -C "$b" -xf "$tarball"
	(cd "$1" && find . -mindepth 1 -path ./dev -prune -o -print) | while IFS= read -r f; do
		if [ -L "$1/$f" ]; then
			[ -L "$b/$f" ] && [ "$(readlink "$1/$f")" = "$(readlink "$b/$f")" ] &&
			    continue
		elif [ -d "$1/$f" ]; then
			[ -d "$b/$f" ] && [ ! -L "$b/$f" ] && continue
		elif [ -f "$1/$f" ]; then
			[ -f "$b/$f" ] && [ ! -L "$b/$f" ] && cmp -s "$1/$f" "$b/$f" &&
			    continue
		fi
		printf '%s\n' "$f"
	done >"$b.list"
	rm -rf "$b"
	tar -C "$1" --numeric-owner --no-recursion -cf "$2.tmp" -T "$b.list"
	echo "base: $envname overlay: $(wc -l <"$b.list") paths" >&2
	rm -f "$b.list"
	mv "$2.tmp" "$2"
}

if ! docker image inspect "$tag" >/dev/null 2>&1; then
	if [ ! -s "$tarball" ]; then
		root=$(strap "$pkgs")
		tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
		mv "$tarball.tmp" "$tarball"
		rm -rf "$root"
		root=
	fi
	echo "base: importing $tarball as $tag"
	docker import "$tarball" "$tag" >/dev/null
else
	echo "base: $tag present"
fi
[ -n "$extra" ] || exit 0

etag=toolkata-base:$envname
if docker image inspect "$etag" >/dev/null 2>&1; then
	echo "base: $etag present"
	exit 0
fi
otar="$cache/bookworm-$envname-overlay.tar"
if [ ! -s "$otar" ]; then
	root=$(strap "$pkgs,$extra")
	overlay "$root" "$otar"
	rm -rf "$root"
	root=
fi
# A build context of the overlay alone (hard-linked, so nothing is copied).
root=$(mktemp -d "$cache/ctx.XXXXXX")
ln "$otar" "$root/overlay.tar" 2>/dev/null || cp "$otar" "$root/overlay.tar"
printf 'FROM %s\nADD overlay.tar /\nLABEL toolkata.base="%s"\n' "$tag" \
    "$envname" >"$root/Dockerfile"
echo "base: adding $otar to $tag as $etag"
DOCKER_BUILDKIT=0 docker build -q -t "$etag" "$root" >/dev/null
