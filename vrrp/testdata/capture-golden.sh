#!/bin/sh
# capture-golden.sh reproduces the golden VRRP advertisements used by
# vrrp/golden_test.go. It is a one-time manual step (run as root); the tests do
# not run it. It needs iproute2, tcpdump and keepalived (Debian 2.2.7 was used).
#
# Topology: namespace $K runs keepalived as MASTER on veth $KA; namespace $P
# holds the other end $PA and runs tcpdump. Both ends have fixed MACs and
# fixed addresses (192.0.2.1 / 192.0.2.2, fe80::1 / fe80::2) so the bytes are
# reproducible. Everything is removed on exit.
#
# Usage: capture-golden.sh OUTDIR   (writes v2-pass.pcap, v3-ipv4.pcap, v3-ipv6.pcap
# and prints each packet with tcpdump -xx)
set -eu
OUT=${1:?usage: $0 OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ID=$$
K=xv-gold-k-$ID
P=xv-gold-p-$ID
KA=xvgk$ID
PA=xvgp$ID
RUN=$(mktemp -d)
KPID=""

cleanup() {
	for f in "$RUN"/*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
	done
	[ -n "$KPID" ] && kill "$KPID" 2>/dev/null || true
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
ip netns exec "$K" sysctl -qw net.ipv6.conf."$KA".addr_gen_mode=1
ip netns exec "$P" sysctl -qw net.ipv6.conf."$PA".addr_gen_mode=1
ip -n "$K" addr add 192.0.2.1/24 dev "$KA"
ip -n "$P" addr add 192.0.2.2/24 dev "$PA"
ip -n "$K" addr add fe80::1/64 dev "$KA" nodad
ip -n "$P" addr add fe80::2/64 dev "$PA" nodad
ip -n "$K" link set "$KA" up
ip -n "$P" link set "$PA" up

# capture NAME CONFIG-BODY: run keepalived with the given vrrp_instance,
# capture three adverts, stop keepalived.
capture() {
	name=$1
	conf="$RUN/$name.conf"
	cat >"$conf"
	timeout 15 ip netns exec "$P" tcpdump -n -i "$PA" -c 3 -w "$OUT/$name.pcap" 'ip proto 112 or ip6 proto 112' 2>/dev/null &
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

# (a) VRRPv2, auth_type PASS, advert_int 1.
capture v2-pass <<CONF
global_defs {
	router_id gold
}
vrrp_instance V2 {
	state MASTER
	interface $KA
	virtual_router_id 51
	priority 150
	advert_int 1
	authentication {
		auth_type PASS
		auth_pass s3cr3t
	}
	virtual_ipaddress {
		192.0.2.100/24
		192.0.2.101/24
	}
}
CONF

# (b) VRRPv3 over IPv4, advert_int 0.1 (checksum with the IPv4 pseudo-header,
# keepalived's default).
capture v3-ipv4 <<CONF
global_defs {
	router_id gold
	vrrp_version 3
}
vrrp_instance V3A {
	state MASTER
	interface $KA
	virtual_router_id 52
	priority 200
	advert_int 0.1
	virtual_ipaddress {
		192.0.2.110/24
		192.0.2.111/24
	}
}
CONF

# (c) VRRPv3 over IPv6, advert_int 1.
capture v3-ipv6 <<CONF
global_defs {
	router_id gold
	vrrp_version 3
}
vrrp_instance V3B {
	state MASTER
	interface $KA
	virtual_router_id 53
	priority 100
	advert_int 1
	virtual_ipaddress {
		fe80::53/64
		2001:db8::53/64
	}
}
CONF
