#!/bin/sh
# dotfiles.sh DST: put the sandbox user's dotfiles (/home/sandbox) into the
# tmpfs home DST, each appearing whole (copied aside, then renamed in) and
# .bash_profile last, so a login shell that finds .bash_profile finds the
# rest complete.  PID 1 (entrypoint.sh) and every login shell
# (/etc/profile.d/toolkata-home.sh) run it; whoever comes first does the
# work, the other renames identical files over them.
src=/home/sandbox
dst=${1:-}
[ -n "$dst" ] && [ -d "$dst" ] && [ -w "$dst" ] || exit 0
[ -e "$dst/.bash_profile" ] && exit 0
tmp=$(mktemp -d "$dst/.dotfiles.XXXXXX" 2>/dev/null) || exit 0
if [ -d "$src/.config/jj" ] && cp -a "$src/.config/jj" "$tmp/jj" 2>/dev/null; then
	mkdir -p "$dst/.config" 2>/dev/null
	[ -e "$dst/.config/jj" ] || mv -T "$tmp/jj" "$dst/.config/jj" 2>/dev/null
fi
for f in .gitconfig .bashrc .bash_profile; do
	[ -e "$src/$f" ] || continue
	cp -a "$src/$f" "$tmp/$f" 2>/dev/null && mv -f "$tmp/$f" "$dst/$f" 2>/dev/null
done
rm -rf "$tmp"
