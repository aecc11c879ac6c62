#!/usr/bin/env bash
# Failover demo: a bridge, two routers running xvrrpd and a client, each in a
# network namespace of its own (created here, removed on exit). xvrrpd runs
# a built-in keepalived.conf; the master is killed (SIGKILL and link down)
# and the demo prints who holds the VIP and how long the takeover took.
# Usage: sudo scripts/demo.sh [path/to/xvrrpd]   (make demo builds it first)
set -euo pipefail
XVRRPD=${1:-bin/xvrrpd}
[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces)" >&2; exit 1; }
[ -x "$XVRRPD" ] || { echo "demo: $XVRRPD not built (run make build)" >&2; exit 1; }
XVRRPD=$(readlink -f "$XVRRPD")

P="xvd$$"                      # unique prefix for this run's namespaces and links
VIP=10.99.0.100
WORK=$(mktemp -d /tmp/xvrrp-demo.XXXXXX)
PIDS=()

cleanup() {
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	sleep 0.3
	for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	for ns in r1 r2 client br; do ip netns del "$P-$ns" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$P-br"
ip -n "$P-br" link add br0 type bridge
ip -n "$P-br" link set br0 up
i=1
for node in r1 r2 client; do
	ip netns add "$P-$node"
	ip -n "$P-$node" link set lo up
	ip link add "$P-$node" type veth peer name eth0 netns "$P-$node"
	ip link set "$P-$node" netns "$P-br"
	ip -n "$P-br" link set "$P-$node" master br0 up
	ip -n "$P-$node" addr add "10.99.0.$i/24" dev eth0
	ip -n "$P-$node" link set eth0 up
	i=$((i + 1))
done

# The built-in configuration: the classic MASTER 101 / BACKUP 100 pair.
for node in r1 r2; do
	if [ $node = r1 ]; then state=MASTER prio=101; else state=BACKUP prio=100; fi
	cat >"$WORK/$node.conf" <<CONF
global_defs {
    router_id demo_$node
}
vrrp_instance VI_1 {
    state $state
    interface eth0
    virtual_router_id 51
    priority $prio
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass demo1234
    }
    virtual_ipaddress {
        $VIP/24
    }
}
CONF
	ip netns exec "$P-$node" "$XVRRPD" -f "$WORK/$node.conf" --run-dir "$WORK/$node" \
		--log-format console 2>"$WORK/$node.log" &
	PIDS+=($!)
done
R1=${PIDS[0]}

has_vip() { ip -n "$P-$1" -4 addr show dev eth0 | grep -q "inet $VIP/"; }
holder() {
	local h=""
	for n in r1 r2; do if has_vip $n; then h="$h $n"; fi; done
	echo "${h:- nobody}"
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

echo "demo: waiting for an election (VIP $VIP) ..."
deadline=$(( $(now_ms) + 10000 ))
until has_vip r1 && ! has_vip r2; do
	[ "$(now_ms)" -lt "$deadline" ] || { echo "demo: no master elected; logs:"; cat "$WORK"/*.log; exit 1; }
	sleep 0.05
done
echo "demo: VIP held by:$(holder)"
echo "demo: $(grep -o 'dataplane chosen.*' "$WORK/r2.log" | head -1)"
ip netns exec "$P-client" ping -c 1 -W 1 "$VIP" >/dev/null && echo "demo: client reaches $VIP"

echo "demo: killing the master (SIGKILL, link down)"
t0=$(now_ms)
kill -KILL "$R1"
wait "$R1" 2>/dev/null || true
ip -n "$P-r1" link set eth0 down 2>/dev/null || true
deadline=$(( t0 + 10000 ))
until has_vip r2; do
	[ "$(now_ms)" -lt "$deadline" ] || { echo "demo: backup did not take over; logs:"; cat "$WORK"/*.log; exit 1; }
	sleep 0.01
done
t1=$(now_ms)
echo "demo: VIP taken by r2 after $((t1 - t0)) ms (Master_Down_Interval = 3 s + skew 0.61 s)"
ip netns exec "$P-client" ping -c 1 -W 1 "$VIP" >/dev/null && echo "demo: client reaches $VIP again"
echo "demo: r2's log of the takeover:"
grep -E "state transition|virtual address|bpf program attached" "$WORK/r2.log" | sed 's/^/    /'
echo "demo: done; cleaning up namespaces"
