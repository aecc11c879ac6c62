#!/bin/bash
# Records what keepalived runs for each script line: run as root where
# keepalived is installed (Debian 12: 2.2.7), from this directory:
#
#   ./run.sh [CASE.conf...]     (default: every *.conf)
#
# In CASE.conf, ARGVDIR stands for a root-owned temporary directory holding
# argv-s, argv-m and argv-n: copies of argv.sh, which appends a line to
# ARGVDIR/log naming itself and listing its arguments, each in brackets
# ("argv-m: [a b] [c]"). run.sh puts enable_script_security and
# script_user root in front of the file (keepalived refuses to run scripts
# without them here), runs `keepalived -t`, then keepalived for 3 s in a
# private network namespace with a veth0 (the instance becomes MASTER, the
# vrrp_script runs about three times), and writes CASE.keepalived: the -t
# exit status, keepalived's messages about scripts, and the distinct lines
# of the log, ARGVDIR put back. TestScriptLinesAsKeepalived (vrrp/track)
# runs the same lines with xvrrpd's reading and compares.
set -u
cd "$(dirname "$0")"
[ $# -gt 0 ] || set -- *.conf
for f in "$@"; do
  d=$(mktemp -d)
  chmod 0755 "$d"
  for s in argv-s argv-m argv-n; do
    install -m 0755 argv.sh "$d/$s"
  done
  { printf 'global_defs {\n  enable_script_security\n  script_user root\n}\n'; sed "s|ARGVDIR|$d|g" "$f"; } > "$d/k.conf"
  ns=xvrrp-argv-$$
  ip netns add $ns || exit 1
  ip -n $ns link add veth0 type veth peer name veth1
  ip -n $ns addr add 10.0.0.1/24 dev veth0; ip -n $ns link set veth0 up; ip -n $ns link set veth1 up; ip -n $ns link set lo up
  ip netns exec $ns bash -c '
    d=$1
    echo "== keepalived -t"
    timeout 10 keepalived -t -l -f $d/k.conf 2>&1; echo "exit status $?"
    echo "== keepalived"
    timeout -s KILL 8 keepalived -n -l -D -G -P -f $d/k.conf -p $d/k.pid -r $d/v.pid -c $d/c.pid -b $d/b.pid 2>&1 &
    kp=$!
    sleep 3
    kill -TERM $(cat $d/k.pid 2>/dev/null) 2>/dev/null
    wait $kp
  ' run "$d" 2>&1 |
    sed -e 's/^[A-Z][a-z][a-z] [A-Z][a-z][a-z] [ 0-9]* [0-9:]* [0-9]*: //' -e "s|$d|ARGVDIR|g" |
    grep -aE '^(== |exit status)|[Ss]cript|[Uu]ser|[Gg]roup|quote|terminating|escape|Unable' |
    grep -avE 'Opening file|SECURITY|NOTICE|Please|Script security enabled|^Running on|Starting|Stopping|Registering|exited with|Unsafe permissions|^Stopped|^CPU usage' > "${f%.conf}.keepalived"
  echo "== runs" >> "${f%.conf}.keepalived"
  [ -f "$d/log" ] && sed "s|$d|ARGVDIR|g" "$d/log" | sort -u >> "${f%.conf}.keepalived"
  ip netns del $ns
  rm -rf "$d"
done
