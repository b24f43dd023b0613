# shellcheck shell=bash
# Login shells (bash -l) read this file; keep one configuration in .bashrc.
# Copied into /home/toolkata by entrypoint.sh.
[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"
