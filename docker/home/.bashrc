# shellcheck shell=bash
# Shell setup for learners.  HOME is the per-session tmpfs /home/toolkata
# (passwd says /home/sandbox, which is read-only).  Prompt: cwd in blue, the
# git branch in yellow, then a green $.  Copied in by entrypoint.sh.
export HOME=/home/toolkata
export TERM=xterm-256color
case $- in *i*) ;; *) return ;; esac

__tk_branch() {
	local b
	b=$(git symbolic-ref --short -q HEAD 2>/dev/null) || return 0
	printf ' (%s)' "$b"
}
PS1='\[\e[34m\]\w\[\e[33m\]$(__tk_branch)\[\e[32m\] \$\[\e[0m\] '

alias ls='ls --color=auto'
alias grep='grep --color=auto'
alias egrep='grep -E --color=auto'
alias fgrep='grep -F --color=auto'
