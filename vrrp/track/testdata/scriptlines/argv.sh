#!/bin/sh
# Appends one line to the log beside this script: the script's name, then
# each argument in brackets ("argv-m: [a b] [c]"). One write per run, so
# runs at the same time do not mix their lines.
l=$(printf '%s:' "${0##*/}"; for a in "$@"; do printf ' [%s]' "$a"; done)
printf '%s\n' "$l" >> "${0%/*}/log"
