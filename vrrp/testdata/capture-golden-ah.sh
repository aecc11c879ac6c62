#!/bin/sh
# capture-golden-ah.sh reproduces the golden IPsec AH adverts (auth_type AH)
# used by vrrp/auth_ah_golden_test.go. A one-time manual step, run as root;
# the tests do not run it. It needs iproute2, tcpdump and keepalived (Debian's
# 2.2.7 was used).
#
# Namespace $K runs keepalived on veth $KA (192.0.2.1/24); namespace $P holds
# the peer end $PA (192.0.2.2/24) and runs tcpdump. Fixed MACs and addresses
# keep the bytes reproducible. Everything is removed on exit.
#
# Usage: capture-golden-ah.sh OUTDIR   (writes v2-ah.pcap and v2-ah-unicast.pcap
# and prints each packet with tcpdump -xx)
set -eu
OUT=${1:?usage: $0 OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ID=$$
K=xv-ahgold-k-$ID
P=xv-ahgold-p-$ID
KA=xvak$ID
PA=xvap$ID
RUN=$(mktemp -d)
KPID=""

cleanup() {
	[ -n "$KPID" ] && kill "$KPID" 2>/dev/null || true
	for f in "$RUN"/*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
	done
	sleep 0.5
	ip netns del "$K" 2>/dev/null || true
	ip netns del "$P" 2>/dev/null || true
	rm -rf "$RUN"
}
trap cleanup EXIT INT TERM

ip netns add "$K"
ip netns add "$P"
ip link add "$KA" netns "$K" address 02:00:5e:10:00:01 type veth peer name "$PA" netns "$P" address 02:00:5e:10:00:02
for ns in "$K" "$P"; do
	ip netns exec "$ns" ip link set lo up
done
ip -n "$K" addr add 192.0.2.1/24 dev "$KA"
ip -n "$P" addr add 192.0.2.2/24 dev "$PA"
ip -n "$K" link set "$KA" up
ip -n "$P" link set "$PA" up

# capture NAME: run keepalived with the configuration on stdin until tcpdump
# has seen three AH packets (keepalived starts an AH instance as BACKUP, so
# the first advert comes after Master_Down_Interval), then stop it.
capture() {
	name=$1
	conf="$RUN/$name.conf"
	cat >"$conf"
	timeout 20 ip netns exec "$P" tcpdump -n -i "$PA" -c 3 -w "$OUT/$name.pcap" 'ip proto 51' 2>/dev/null &
	tpid=$!
	sleep 1
	ip netns exec "$K" keepalived -n -l -D -G -P -f "$conf" \
		-p "$RUN/$name-k.pid" -r "$RUN/$name-v.pid" -c "$RUN/$name-c.pid" -b "$RUN/$name-b.pid" \
		>"$RUN/$name.log" 2>&1 &
	KPID=$!
	wait "$tpid" || true
	kill "$KPID" 2>/dev/null || true
	wait "$KPID" 2>/dev/null || true
	KPID=""
	rm -f "$RUN/$name"-*.pid
	echo "== $name"
	tcpdump -n -v -xx -r "$OUT/$name.pcap" 2>/dev/null
}

# (a) VRRPv2, auth_type AH, multicast, advert_int 1.
capture v2-ah <<CONF
global_defs {
	router_id gold
}
vrrp_instance AH1 {
	state BACKUP
	interface $KA
	virtual_router_id 54
	priority 150
	advert_int 1
	authentication {
		auth_type AH
		auth_pass s3cr3t
	}
	virtual_ipaddress {
		192.0.2.120/24
		192.0.2.121/24
	}
}
CONF

# (b) The same over unicast (keepalived then leaves the TTL out of the ICV),
# advert_int 2, a password of the full 8 bytes.
capture v2-ah-unicast <<CONF
global_defs {
	router_id gold
}
vrrp_instance AH2 {
	state BACKUP
	interface $KA
	virtual_router_id 55
	priority 100
	advert_int 2
	unicast_src_ip 192.0.2.1
	unicast_peer {
		192.0.2.2
	}
	authentication {
		auth_type AH
		auth_pass eightby8
	}
	virtual_ipaddress {
		192.0.2.130/24
	}
}
CONF
