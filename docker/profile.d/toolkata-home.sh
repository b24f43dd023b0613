# shellcheck shell=sh
# toolkata-home.sh (/etc/profile.d): a login shell can start before PID 1
# has put the dotfiles into the tmpfs home (the relay execs a shell as soon
# as the container runs), so the shell does it too; bash reads
# ~/.bash_profile after /etc/profile, so it finds them complete.
if [ -n "${HOME:-}" ] && [ ! -e "$HOME/.bash_profile" ]; then
	/usr/local/lib/toolkata/dotfiles.sh "$HOME"
fi
