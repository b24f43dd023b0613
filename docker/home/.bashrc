# shellcheck shell=bash
# Shell setup for learners.  HOME is the per-session tmpfs /home/toolkata
# (passwd says /home/sandbox, which is read-only).  Prompt: cwd in blue, the
# git branch in yellow, then a green $.  Appended to /etc/bash.bashrc by the Dockerfile.
export HOME=/home/toolkata
export TERM=xterm-256color
case $- in *i*) ;; *) return ;; esac

# No job control: the session's pty is gVisor's, which sends no signals
# for ^C; toolkata-init does, to the shell's process group, which is the
# one running the command only while job control is off (docker/init).
set +m

# The branch is read by bash itself, walking up from $PWD to a .git (a
# folder, or a file naming one), so drawing a prompt starts no process: a
# fork costs 0.3-0.5 s under gVisor, and the prompt is on every Enter.
# Detached HEAD shows nothing, as `git symbolic-ref -q` did.
#
# Before that it tells docker/init how the last command ended (an APC
# string the init takes out of the output): init commands run one after
# another on it.
__tk_prompt() {
	printf '\e_tk;ps;%d\e\\' "$?"
	local d=$PWD g head
	__tk_b=
	while :; do
		g=$d/.git
		if [[ -f $g ]]; then
			read -r head <"$g" 2>/dev/null || head=
			g=${head#gitdir: }
			[[ $g == /* ]] || g=$d/$g
		fi
		if [[ -f $g/HEAD ]]; then
			read -r head <"$g/HEAD" 2>/dev/null || head=
			[[ $head == 'ref: refs/heads/'* ]] &&
				__tk_b=" (${head#ref: refs/heads/})"
			return 0
		fi
		[[ -z $d ]] && return 0
		d=${d%/*}
	done
}
PROMPT_COMMAND=__tk_prompt
PS1='\[\e[34m\]\w\[\e[33m\]${__tk_b}\[\e[32m\] \$\[\e[0m\] '

alias ls='ls --color=auto'
alias grep='grep --color=auto'
alias egrep='grep -E --color=auto'
alias fgrep='grep -F --color=auto'
