#!/bin/bash
# Records how keepalived reads each case: run as root where keepalived is
# installed (Debian 12: 2.2.7), from this directory:
#
#   ./run.sh [CASE.conf...]     (default: every *.conf)
#
# For each CASE.conf it writes CASE.keepalived: the output of `keepalived -t`
# and, from a run of ~1.5 s in a private network namespace (with a veth0),
# the lines of keepalived's configuration dump (-d) that show what its VRRP
# process read. The configuration id is "lexhost" (-i), LEXPRIO=42 is in
# the environment. Paths are shown relative to this directory. The lexer's
# tables (lexer_keepalived_test.go) cite these files; TestKeepalivedRecorded
# (XVRRP_KEEPALIVED=1) runs this script again and compares.
set -u
cd "$(dirname "$0")"
dir=$(pwd)
[ $# -gt 0 ] || set -- *.conf
for f in "$@"; do
  ns=xvrrp-lex-$$
  ip netns add $ns || exit 1
  ip -n $ns link add veth0 type veth peer name veth1
  ip -n $ns link set veth0 up; ip -n $ns link set veth1 up; ip -n $ns link set lo up
  ip netns exec $ns env LEXPRIO=42 bash -c '
    echo "== keepalived -t"
    timeout 10 keepalived -t -l -i lexhost -f "$1" 2>&1; echo "exit status $?"
    echo "== keepalived -d"
    d=$(mktemp -d)
    timeout -s KILL 5 keepalived -n -l -D -d -G -P -i lexhost -f "$1" -p $d/k.pid -r $d/v.pid -c $d/c.pid -b $d/b.pid 2>&1 &
    kp=$!
    sleep 1.5
    kill -TERM $(cat $d/k.pid 2>/dev/null) 2>/dev/null
    wait $kp
    rm -rf $d
  ' run "$dir/$f" 2>&1 |
    sed -e 's/^[A-Z][a-z][a-z] [A-Z][a-z][a-z] [ 0-9]* [0-9:]* [0-9]*: //' -e "s|$dir/||g" -e 's/^run: line [0-9]*: *[0-9]* Segmentation fault .*/Segmentation fault/' |
    grep -aE '^(== |exit status|\(|[A-Za-z].*(Line|line|quote|keyword|missing|match|file|SEQ|LST|efinition|Unknown|Unexpected|Extra|xtra|segmentation)|Warning - keepalived has no|------< VRRP (Topology|Scripts)| VRRP Instance =|   Virtual Router ID =|   Priority =|   Advert interval =|   Password =|     [0-9a-f.:]+(/[0-9]+)? dev veth0|     [0-9a-f.:]+ min_ttl| VRRP Script =|   Command =)' |
    grep -avE 'Opening file|^Configuration file |Command line|pid [0-9]+ exited|child process|Respawn|Restart of|Please|SECURITY|NOTICE|[(]VI.*(entering|removing)' > "${f%.conf}.keepalived"
  ip netns del $ns
done
