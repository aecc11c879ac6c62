#!/bin/sh
# record.sh writes keepalived.txt: the verdict of `keepalived -t` on every
# *.conf of this directory (its exit status and what it prints, with this
# directory's path removed). Run it as root with keepalived 2.2.7 installed;
# each file is checked in a network namespace of its own (unshare -n, gone
# when keepalived exits) where the interfaces the corpus names exist, so the
# verdicts do not depend on the host's interfaces.
#
# The test that reads keepalived.txt (cmd/xvrrpd/corpus_test.go) needs
# neither root nor keepalived.
set -eu
cd "$(dirname "$0")"
dir=$(pwd)
ifaces="eth0 eth1 ens192 bond0 ha-3f2a9c1d-7e"
version=$(keepalived --version 2>&1 | head -n 1)
user=absent
if id keepalived_script >/dev/null 2>&1; then user=present; fi
out=keepalived.txt
{
	echo "# keepalived -t on each file, recorded by record.sh"
	echo "# version: $version"
	echo "# interfaces: $ifaces"
	echo "# keepalived_script user: $user"
	progs=$(grep -ho -E '(script|notify[a-z_]*)[[:space:]]+"?/[^" ]+' *.conf conf.d/*.conf | awk '{print $2}' | tr -d '"' | sort -u)
	present=""
	for p in $progs; do
		if [ -e "$p" ]; then present="$present $p"; fi
	done
	echo "# programs present:$present"
	for f in *.conf; do
		echo "== $f"
		rc=0
		unshare -n sh -c '
			n=0
			for i in $1; do
				ip link add "$i" type veth peer name "xvpeer$n"
				ip link set "$i" up
				n=$((n + 1))
			done
			ip link set lo up
			exec keepalived -t -f "$0"' "$dir/$f" "$ifaces" >"$out.tmp" 2>&1 || rc=$?
		sed "s#$dir/##g" "$out.tmp"
		echo "rc $rc"
	done
} >"$out.new"
rm -f "$out.tmp"
mv "$out.new" "$out"
echo "wrote $dir/$out"
