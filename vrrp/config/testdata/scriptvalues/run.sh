#!/bin/bash
# Records the values keepalived runs a vrrp_script or track_file with: run
# as root where keepalived is installed (Debian 12: 2.2.7), from this
# directory:
#
#   ./run.sh [CASE.conf...]     (default: every *.conf)
#
# For each CASE.conf it writes CASE.keepalived: the output of `keepalived -t`
# and its exit status, the vrrp_script and track_file lines of the
# configuration dump (-d) of a run of ~1.5 s in a private network namespace
# (with a veth0), and what the run left in the track files under
# /tmp/xvrrp-scriptvalues: the ones named pre-* hold 99 before the run, the
# others do not exist. keepalived -t and keepalived running differ: -t
# ignores a line whose number has a problem, a run reads the number the
# word starts with. script_test.go's tables cite these files;
# TestScriptValuesRecorded (XVRRP_KEEPALIVED=1) runs this script again and
# compares.
set -u
cd "$(dirname "$0")"
dir=$(pwd)
files=/tmp/xvrrp-scriptvalues
[ $# -gt 0 ] || set -- *.conf
for f in "$@"; do
  ns=xvrrp-sv-$$
  ip netns add $ns || exit 1
  ip -n $ns link add veth0 type veth peer name veth1
  ip -n $ns link set veth0 up; ip -n $ns link set veth1 up; ip -n $ns link set lo up
  rm -rf $files; mkdir -p $files
  for p in $(grep -o "$files/pre-[A-Za-z0-9_-]*" "$f" | sort -u); do echo 99 > "$p"; done
  {
    ip netns exec $ns bash -c '
      echo "== keepalived -t"
      timeout 10 keepalived -t -l -f "$1" 2>&1; echo "exit status $?"
      echo "== keepalived -d"
      d=$(mktemp -d)
      timeout -s KILL 5 keepalived -n -l -D -d -G -P -f "$1" -p $d/k.pid -r $d/v.pid -c $d/c.pid -b $d/b.pid 2>&1 &
      kp=$!
      sleep 1.5
      kill -TERM $(cat $d/k.pid 2>/dev/null) 2>/dev/null
      wait $kp
      rm -rf $d
    ' run "$dir/$f" 2>&1 |
      sed -e 's/^[A-Z][a-z][a-z] [A-Z][a-z][a-z] [ 0-9]* [0-9:]* [0-9]*: //' -e "s|$dir/||g" |
      grep -aE '^(== |exit status|\(.*Line [0-9]+\)| VRRP Script = |   (Interval|Timeout|Weight|Rise|Fall|File) = | Track file = )'
    echo "== files"
    for p in $files/*; do [ -e "$p" ] && echo "$(basename "$p"): $(cat "$p")"; done
  } > "${f%.conf}.keepalived"
  rm -rf $files
  ip netns del $ns
done
