//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The VRRP receive path in the kernel: one parser, two entry points
 * (xdp_vrrp: XDP, multi-buffer capable; tc_vrrp: tcx ingress).
 *
 * For every frame: Ethernet, at most one 802.1Q tag, IPv4 (options allowed)
 * or IPv6 (fixed header only: an extension header before VRRP makes the
 * packet "not VRRP" and it goes to the stack untouched), protocol 112.
 * Everything else is passed at once, after one counter increment.
 *
 * A VRRP packet is validated exactly as vrrp.Validate does it, in the same
 * order (vrrp/packet.go Parse, then vrrp/packet_check.go Check), so that the
 * first failing check names the same enum drop_reason. Then a per-source
 * rate check, then the adverts map is updated and a ring-buffer record is
 * written only when something the control loop must know changed.
 *
 * Checks before the rate check: all of them. An invalid packet costs a
 * counter increment and never touches the rate map, so a flood of forged
 * packets that carry the real master's source address but fail any check
 * (checksum, auth, TTL, ...) cannot spend the master's tokens; only packets
 * that would be accepted are rate-limited, which is what protects the
 * adverts map and the ring buffer (the control loop) from a valid-looking
 * flood.
 *
 * Verdicts are decided by two load-time constants (see pass_valid and
 * pass_invalid below); the default drops both.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "vrrp.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* tcx return codes (linux/bpf.h of kernels >= 6.6; Debian's headers are older). */
#ifndef TCX_NEXT
#define TCX_NEXT -1
#define TCX_PASS 0
#define TCX_DROP 2
#endif

#define VRRP_PROTO 112
#define VRRP_TTL 255
#define VRRP_HDR_LEN 8
#define VRRP_AUTH_LEN 8
/* Largest advert: v3 over IPv6 with 255 addresses. */
#define VRRP_MAX_LEN (VRRP_HDR_LEN + 255 * 16)
/* Scratch buffer: a power of two for offset masks, plus room for one
 * 1020-byte checksum chunk at the largest masked offset. */
#define SCRATCH_MASK 0xfff
#define SCRATCH_SIZE (SCRATCH_MASK + 1 + 1024)

_Static_assert(VRRP_MAX_LEN <= SCRATCH_MASK, "scratch buffer too small");

/*
 * Load-time constants, set by the loader on the CollectionSpec.
 *
 * pass_valid: what happens to a valid advert after it was recorded.
 *   0 (default) XDP_DROP / TCX_DROP: the daemon gets everything it needs from
 *     the adverts map and the ring buffer, so the packet has no further use;
 *     dropping it saves the stack's work and, for unicast adverts to a host
 *     without a raw socket for protocol 112, avoids an ICMP "protocol
 *     unreachable" back to the master. Consequence: no socket on the host
 *     sees adverts (the socket dataplane cannot run at the same time), and
 *     tcpdump does not see them in XDP mode (XDP runs before the AF_PACKET
 *     tap); in tc mode tcpdump still sees them, its tap runs before tc
 *     ingress.
 *   1 XDP_PASS / TCX_NEXT: the stack and any raw socket still get the
 *     advert (for running both dataplanes side by side, or tcpdump in XDP
 *     mode).
 * pass_invalid: the same choice for packets dropped with a reason
 *   (0 default: drop; they are counted in stats either way).
 * heartbeat_ns: a record is also written for an unchanged advert when this
 *   long passed since the last record of its virtual router (0: never).
 */
volatile const __u8 pass_valid = 0;
volatile const __u8 pass_invalid = 0;
volatile const __u64 heartbeat_ns = 0;
/* watch_silence: 1 arms a timer per virtual router at a valid advert that
 * writes an EVENT_SILENT record when no valid advert followed for 3
 * advertised intervals (the part of Master_Down_Interval that does not
 * depend on the receiver's priority, RFC 5798 §6.1). The control loop can
 * then sleep through a master's steady adverts and still wake before its
 * Master_Down_Timer would fire. */
volatile const __u8 watch_silence = 0;
/* Samples of dropped VRRP packets (EVENT_DROPPED records), so a peer whose
 * adverts are all dropped (another auth_pass, version, interval, VRID...)
 * can be logged: only packets whose VRRP header was read, never other
 * traffic, and at most as a token bucket allows over the whole program
 * (every interface, CPU and reason): one sample per sample_interval_ns
 * with bursts of sample_burst_ns / sample_interval_ns + 1, so a flood of
 * bad packets wakes the control loop a few times a second at most.
 * sample_interval_ns 0: no samples. sample_skip: bit r set, drop reason r
 * is never sampled (nor takes a token). */
volatile const __u64 sample_interval_ns = 0;
volatile const __u64 sample_burst_ns = 0;
volatile const __u32 sample_skip = 0;

/* The virtual routers: (ifindex, VRID, family) -> settings. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_SLOTS);
	__type(key, struct instance_key);
	__type(value, struct instance);
} instances SEC(".maps");

/* Own addresses, unicast peers and VIPs of each virtual router. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct addr_key);
	__type(value, __u32);
} addrs SEC(".maps");

/* Last valid advert per virtual router, at instance.slot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct advert_state);
} adverts SEC(".maps");

/* The silence watch of one virtual router (index: its adverts slot).
 * Not in the adverts array: a map holding a bpf_timer cannot be mmapable. */
struct watch {
	struct bpf_timer timer;
	struct instance_key key; /* whose adverts slot this is (set when armed) */
	__u8 armed;              /* the timer runs */
	__u8 init;               /* bpf_timer_init done */
	__u8 pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct watch);
} watches SEC(".maps");

/* Per-source rate state: the GCRA theoretical arrival time in ns. LRU: an
 * evicted source starts again with a full burst, so eviction by a flood of
 * spoofed sources can only make the limit looser for the real master, never
 * stricter. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct rate_key);
	__type(value, __u64);
} rates SEC(".maps");

/* Counters: enum drop_reason, then the rest of enum stat. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NUM_STATS);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* The token bucket of the drop samples: the GCRA theoretical arrival time
 * (ns) of the next sample, one for the whole program (see sample_drop). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sample_bucket SEC(".maps");

/* Records for the control loop (struct event). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* The VRRP message copied out of the packet (works for XDP multi-buffer
 * frames and non-linear skbs alike). */
struct scratch {
	__u8 b[SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* bpf2go generates Go types only for types referenced in BTF. */
const enum drop_reason *unused_drop_reason __attribute__((unused));
const enum stat *unused_stat __attribute__((unused));
const enum family *unused_family __attribute__((unused));
const enum instance_flag *unused_instance_flag __attribute__((unused));
const enum addr_kind *unused_addr_kind __attribute__((unused));
const enum event_kind *unused_event_kind __attribute__((unused));
const struct event *unused_event __attribute__((unused));

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* What the IP layer says about one VRRP packet. */
struct pkt {
	__u32 ifindex;
	__u32 off;   /* offset of the VRRP message in the frame */
	__u32 len;   /* IP payload length (the VRRP message) */
	__u8 family; /* enum family */
	__u8 ttl;    /* IPv4 TTL or IPv6 Hop Limit */
	__u8 mapped; /* IPv6 with an IPv4-mapped source or destination */
	__u8 pad;
	__u8 src[16];
	__u8 dst[16];
};

enum action { ACT_PASS, ACT_DROP };

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &idx);

	/* Always non-NULL for idx < NUM_STATS; the verifier wants the check. */
	if (c)
		*c += 1;
}

/* drop counts reason and returns the verdict for an invalid packet. */
static __always_inline enum action drop(enum drop_reason reason)
{
	count(reason);
	return pass_invalid ? ACT_PASS : ACT_DROP;
}

static __always_inline long load(void *ctx, bool xdp, __u32 off, void *to, __u32 len)
{
	if (xdp)
		return bpf_xdp_load_bytes(ctx, off, to, len);
	return bpf_skb_load_bytes(ctx, off, to, len);
}

/* fold reduces a one's-complement sum to 16 bits; a message whose checksum
 * verifies folds to 0xffff (RFC 1071). Byte order does not matter as long as
 * every term is added in the same (memory) order. */
static __always_inline __u16 fold(__u64 acc)
{
	acc = (acc & 0xffffffff) + (acc >> 32);
	acc = (acc & 0xffffffff) + (acc >> 32);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	return acc;
}

/* sum32 adds n bytes of p (n a multiple of 4, at most 16) as 32-bit words. */
static __always_inline __u64 sum_addr(const __u8 *p, int n)
{
	__u64 acc = 0;
	__u32 w;

	for (int i = 0; i < n; i += 4) {
		__builtin_memcpy(&w, p + i, 4);
		acc += w;
	}
	return acc;
}

/* State of the VIP list check (bpf_loop callback context). */
struct vip_ctx {
	struct addr_key key; /* kind ADDR_VIP; addr set per address */
	__u64 seen[4];       /* bit i: the VIP with index i appeared */
	__u32 alen;          /* 4 or 16 */
};

/* vip_cb looks up advert address i; a VIP sets its bit. */
static long vip_cb(__u64 i, void *ctx)
{
	struct vip_ctx *vc = ctx;
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);

	/* Never NULL; the verifier wants the check. */
	if (!s)
		return 1;
	/* i < n <= 255: 8 + i*alen + alen <= len, within the copied message. */
	__u32 off = (VRRP_HDR_LEN + (__u32)i * vc->alen) & SCRATCH_MASK;
	if (vc->alen == 16)
		__builtin_memcpy(vc->key.addr, &s->b[off], 16);
	else
		__builtin_memcpy(vc->key.addr, &s->b[off], 4);
	__u32 *bit = bpf_map_lookup_elem(&addrs, &vc->key);
	if (!bit)
		return 0; /* not a VIP: allowed while all VIPs appear */
	__u32 b = *bit & 0xff;
	vc->seen[(b >> 6) & 3] |= 1ULL << (b & 63);
	return 0;
}

/* silence_deadline: 3 advertised intervals after the last advert. */
static __always_inline __u64 silence_deadline(const struct advert_state *st)
{
	return st->last_seen_ns + 3ULL * st->interval_cs * 10000000ULL;
}

/* watch_cb runs when a watch's timer expires: if an advert came since it
 * was armed, it is armed again for that advert's deadline; else the router
 * fell silent: one EVENT_SILENT record, and the watch stops until the next
 * advert. */
static int watch_cb(void *map, __u32 *slot, struct watch *w)
{
	struct advert_state *st = bpf_map_lookup_elem(&adverts, slot);

	if (!st) {
		w->armed = 0;
		return 0;
	}
	__u64 now = bpf_ktime_get_ns();
	__u64 dl = silence_deadline(st);
	if (dl > now) {
		bpf_timer_start(&w->timer, dl - now, 0);
		return 0;
	}
	w->armed = 0;
	st->watched = 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(STAT_EVENTS_LOST);
		return 0;
	}
	e->ns = now;
	e->ifindex = w->key.ifindex;
	e->kinds = EVENT_SILENT;
	__builtin_memcpy(e->src, st->master, 16);
	e->interval_cs = st->interval_cs;
	e->vrid = w->key.vrid;
	e->family = w->key.family;
	e->priority = st->priority;
	e->version = st->version;
	e->addr_count = st->addr_count;
	e->prev_priority = 0;
	e->prev_ns = 0;
	__builtin_memset(e->prev_src, 0, sizeof(e->prev_src));
	e->prev_interval_cs = 0;
	e->reason = DROP_NONE;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	bpf_ringbuf_submit(e, 0);
	count(STAT_EVENTS);
	return 0;
}

/* watch_arm starts the silence watch of slot if it is not running (the
 * steady state: one load and a branch per advert). */
static __always_inline void watch_arm(__u32 slot, const struct instance_key *ik,
				      struct advert_state *st)
{
	struct watch *w = bpf_map_lookup_elem(&watches, &slot);

	if (!w || w->armed)
		return;
	if (!w->init) {
		if (bpf_timer_init(&w->timer, &watches, 1 /* CLOCK_MONOTONIC */))
			return;
		bpf_timer_set_callback(&w->timer, watch_cb);
		w->init = 1;
	}
	w->key = *ik;
	w->armed = 1;
	st->watched = 1;
	bpf_timer_start(&w->timer, silence_deadline(st) - st->last_seen_ns, 0);
}

/*
 * sample_drop writes an EVENT_DROPPED record for a dropped VRRP packet
 * whose header is hdr (8 bytes), if the token bucket has a token.
 *
 * Not inlined: one copy per program instead of one per drop site, and the
 * valid-advert path never runs or carries any of it.
 *
 * The bucket is a GCRA over one shared value with plain loads and stores,
 * not atomics (compare-and-swap needs a newer BPF ISA than this object is
 * built for). Two CPUs dropping in the same few nanoseconds can both read
 * the same state, both take "the" token and both store the same next
 * state: a race can at most let each other CPU through once per token, so
 * the rate stays bounded by (number of CPUs) x the configured one, and in
 * practice (races need drops on several CPUs within nanoseconds) it is
 * the configured one.
 */
static __noinline void sample_drop(__u32 reason, const struct pkt *p, const __u8 *hdr)
{
	/* Reasons the loader asked not to sample (reason < 32). */
	if (reason < 32 && (sample_skip & (1U << reason)))
		return;
	__u32 zero = 0;
	__u64 *tat = bpf_map_lookup_elem(&sample_bucket, &zero);
	/* Never NULL (one-entry array); the verifier wants the check. */
	if (!tat)
		return;
	/* The coarse clock (same clock, one tick's resolution) is cheaper to
	 * read and plenty for a bucket refilled every sample_interval_ns; a
	 * flood of drops pays this lookup, the read and a compare each. */
	__u64 now = bpf_ktime_get_coarse_ns();
	__u64 at = *tat > now ? *tat : now;
	/* The bucket is empty: no sample (the drop is still counted). */
	if (at - now > sample_burst_ns)
		return;
	*tat = at + sample_interval_ns;

	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	/* Ring buffer full: the control loop is behind; count it. */
	if (!e) {
		count(STAT_EVENTS_LOST);
		return;
	}
	__u8 version = hdr[0] >> 4;
	/* Every field written: ring-buffer memory is not zeroed. */
	e->ns = bpf_ktime_get_ns(); /* the precise clock, as in other records */
	e->ifindex = p->ifindex;
	e->kinds = EVENT_DROPPED;
	__builtin_memcpy(e->src, p->src, 16);
	if (version == 2)
		e->interval_cs = (__u16)hdr[5] * 100; /* Adver Int, seconds */
	else
		e->interval_cs = ((__u16)hdr[4] << 8 | hdr[5]) & 0x0fff; /* Max Adver Int, cs */
	e->vrid = hdr[1];
	e->family = p->family;
	e->priority = hdr[2];
	e->version = version;
	e->addr_count = hdr[3];
	e->prev_priority = 0;
	e->prev_ns = 0;
	__builtin_memset(e->prev_src, 0, sizeof(e->prev_src));
	e->prev_interval_cs = 0;
	e->reason = reason;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	bpf_ringbuf_submit(e, 0);
	count(STAT_EVENTS);
}

/* reject is drop for a packet whose VRRP header hdr was read: with
 * sampling on (a load-time constant: off, the branch is dead code), the
 * drop may also be sampled to the control loop. */
static __always_inline enum action reject(enum drop_reason reason, const struct pkt *p, const __u8 *hdr)
{
	if (sample_interval_ns)
		sample_drop(reason, p, hdr);
	return drop(reason);
}

/*
 * vrrp_check validates the VRRP message described by p (vrrp.Validate) and,
 * if it is valid, records it. Returns the verdict.
 */
static __always_inline enum action vrrp_check(void *ctx, bool xdp, void *data, void *data_end,
					      struct pkt *p)
{
	__u8 hdr[VRRP_HDR_LEN];
	bool v6 = p->family == FAMILY_IPV6;
	__u32 m = p->len;

	/* vrrp.Parse: shorter than the fixed header. */
	if (m < VRRP_HDR_LEN)
		return drop(DROP_TRUNCATED);
	/* The frame holds at least off+len bytes (checked by the caller):
	 * read the header directly when it is in the linear part (always,
	 * in practice), else copy it. */
	void *q = data + (p->off & 0xff); /* off <= 18 + 60: the mask changes nothing */
	if (q + VRRP_HDR_LEN <= data_end)
		__builtin_memcpy(hdr, q, VRRP_HDR_LEN);
	else if (load(ctx, xdp, p->off, hdr, VRRP_HDR_LEN))
		return drop(DROP_TRUNCATED);

	__u8 version = hdr[0] >> 4;
	/* RFC 3768 §7.1 / RFC 5798 §7.1: version 2 or 3. */
	if (version != 2 && version != 3)
		return reject(DROP_BAD_VERSION, p, hdr);
	/* RFC 3768 §5.3.2 / RFC 5798 §5.2.2: type 1 (ADVERTISEMENT) only. */
	if ((hdr[0] & 0x0f) != 1)
		return reject(DROP_BAD_TYPE, p, hdr);
	/* RFC 3768 §5: VRRPv2 is IPv4 only. An IPv4-mapped address in an IPv6
	 * header is a family mix-up for the Go codec too (it unmaps). */
	if (v6 && (version == 2 || p->mapped))
		return reject(DROP_BAD_FAMILY, p, hdr);

	__u32 n = hdr[3];
	__u32 want = VRRP_HDR_LEN + n * (v6 ? 16 : 4) + (version == 2 ? VRRP_AUTH_LEN : 0);
	/* RFC 3768 §7.1 / RFC 5798 §7.1: the complete packet, as Count says. */
	if (m < want)
		return reject(DROP_TRUNCATED, p, hdr);
	if (m > want)
		return reject(DROP_BAD_LENGTH, p, hdr);

	__u16 interval_cs;
	if (version == 2)
		interval_cs = (__u16)hdr[5] * 100; /* Adver Int, seconds */
	else
		interval_cs = ((__u16)hdr[4] << 8 | hdr[5]) & 0x0fff; /* Max Adver Int, cs */
	/* A zero interval cannot come from a valid configuration. */
	if (interval_cs == 0)
		return reject(DROP_BAD_INTERVAL, p, hdr);

	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	/* Never NULL (one-entry per-CPU array); the verifier wants the check. */
	if (!s)
		return ACT_PASS;
	/* want <= VRRP_MAX_LEN < SCRATCH_MASK; the mask proves it to the
	 * verifier and changes nothing. want >= 8. */
	__u32 len = want & SCRATCH_MASK;
	if (len < VRRP_HDR_LEN)
		return reject(DROP_TRUNCATED, p, hdr);

	/* Checksum: len is a multiple of 4 (8 + 4n or 16n, + 8 for v2). */
	__u64 acc = 0;
	if (len <= 64 && q + len <= data_end) {
		/* Small adverts (up to 12 IPv4 or 3 IPv6 addresses) in the
		 * linear part, as usual: copy and add the words in one pass,
		 * no helper call. */
		__u32 *w = (__u32 *)s->b;
		for (__u32 i = 0; i < 16; i++) {
			if (i * 4 >= len)
				break;
			/* Implied by q + len <= data_end; the verifier wants it. */
			if (q + i * 4 + 4 > data_end)
				return reject(DROP_TRUNCATED, p, hdr);
			__u32 x;
			__builtin_memcpy(&x, q + i * 4, 4);
			w[i] = x;
			acc += x;
		}
	} else {
		if (load(ctx, xdp, p->off, s->b, len))
			return reject(DROP_TRUNCATED, p, hdr);
		/* bpf_csum_diff takes at most 512 bytes a call. Chunks start at
		 * even offsets, so their partial sums simply add up. */
		for (__u32 c = 0; c < (VRRP_MAX_LEN + 511) / 512; c++) {
			__u32 off = c * 512;
			if (off >= len)
				break;
			__u32 sz = len - off;
			if (sz > 512)
				sz = 512;
			/* sz <= 512 and a multiple of 4: the mask changes nothing,
			 * but done in asm on the very register passed, it proves
			 * sz <= 1020 to the verifier (clang otherwise passes an
			 * unbounded copy). off + 1020 is within the buffer
			 * (SCRATCH_SIZE). */
			asm volatile("%[sz] &= 0x3fc" : [sz] "+r"(sz));
			acc += (__u32)bpf_csum_diff(NULL, 0, (void *)&s->b[off], sz, 0);
		}
	}
	bool sum_ok;
	if (version == 2) {
		/* RFC 3768 §5.3.8: the VRRP message alone. */
		sum_ok = fold(acc) == 0xffff;
	} else {
		/* Pseudo-header terms in memory order: protocol and length are
		 * 16-bit big-endian words in both the IPv4 and the IPv6 form. */
		__u64 ph = bpf_htons(VRRP_PROTO) + bpf_htons((__u16)len);
		if (v6) {
			/* RFC 5798 §5.2.8: IPv6 pseudo-header (RFC 8200 §8.1). */
			sum_ok = fold(acc + ph + sum_addr(p->src, 16) + sum_addr(p->dst, 16)) == 0xffff;
		} else {
			/* IPv4: with the pseudo-header (keepalived, RFC 5798 §5.2.8),
			 * with 224.0.0.18 as destination (older keepalived unicast),
			 * or without one (RFC 9568 §5.2.8) - vrrp.checksumOK's order. */
			__u8 group[4] = { 224, 0, 0, 18 };
			__u64 srcs = sum_addr(p->src, 4);
			sum_ok = fold(acc + ph + srcs + sum_addr(p->dst, 4)) == 0xffff;
			if (!sum_ok && *(__u32 *)p->dst != *(__u32 *)group)
				sum_ok = fold(acc + ph + srcs + sum_addr(group, 4)) == 0xffff;
			if (!sum_ok)
				sum_ok = fold(acc) == 0xffff;
		}
	}
	/* RFC 3768 §7.1 / RFC 5798 §7.1: the checksum verifies. */
	if (!sum_ok)
		return reject(DROP_BAD_CHECKSUM, p, hdr);

	__u8 vrid = hdr[1];
	/* RFC 3768 §5.3.3 / RFC 5798 §5.2.3: VRID 1-255. */
	if (vrid == 0)
		return reject(DROP_UNKNOWN_VRID, p, hdr);
	/* RFC 3768 §5.3.6: Auth Type 0 or 1 (2 was removed). */
	if (version == 2 && hdr[4] > 1)
		return reject(DROP_AUTH_TYPE, p, hdr);

	/* End of vrrp.Parse; vrrp.Validate's lookup, then Expect.Check. */
	struct instance_key ik = { .ifindex = p->ifindex, .vrid = vrid, .family = p->family };
	struct instance *inst = bpf_map_lookup_elem(&instances, &ik);
	/* RFC 3768 §7.1 / RFC 5798 §7.1: the VRID is configured here. */
	if (!inst)
		return reject(DROP_UNKNOWN_VRID, p, hdr);

	bool unicast = inst->flags & INSTANCE_UNICAST;
	/* RFC 3768 §7.1 / RFC 5798 §7.1: TTL / Hop Limit 255 (not for unicast). */
	if (!unicast && p->ttl != VRRP_TTL)
		return reject(DROP_BAD_TTL, p, hdr);
	/* The instance's version only (no RFC 5798 §8.4 mixed mode). */
	if (version != inst->version)
		return reject(DROP_VERSION_MISMATCH, p, hdr);

	struct addr_key ak = { .ifindex = p->ifindex, .vrid = vrid, .family = p->family };
	__builtin_memcpy(ak.addr, p->src, 16);
	/* Our own advert, looped back. */
	if (inst->flags & INSTANCE_OWN_INLINE) {
		__u64 s0, s1;
		__builtin_memcpy(&s0, &p->src[0], 8);
		__builtin_memcpy(&s1, &p->src[8], 8);
		for (__u32 i = 0; i < INLINE_OWN; i++) {
			if (i >= inst->own_count)
				break;
			__u64 o0, o1;
			__builtin_memcpy(&o0, &inst->own[i][0], 8);
			__builtin_memcpy(&o1, &inst->own[i][8], 8);
			if (o0 == s0 && o1 == s1)
				return reject(DROP_OWN_ADDR, p, hdr);
		}
	} else {
		ak.kind = ADDR_OWN;
		if (bpf_map_lookup_elem(&addrs, &ak))
			return reject(DROP_OWN_ADDR, p, hdr);
	}
	/* keepalived's vrrp_check_unicast_src. */
	if (unicast && (inst->flags & INSTANCE_CHECK_UNICAST_SRC)) {
		ak.kind = ADDR_PEER;
		if (!bpf_map_lookup_elem(&addrs, &ak))
			return reject(DROP_NOT_PEER, p, hdr);
	}
	/* RFC 5798 §5.1.2.1: a multicast IPv6 advert comes from fe80::/10. */
	if (v6 && !unicast && !(p->src[0] == 0xfe && (p->src[1] & 0xc0) == 0x80))
		return reject(DROP_SRC_NOT_LINK_LOCAL, p, hdr);

	if (version == 2) {
		/* RFC 3768 §7.1: Auth Type matches ours. */
		if (hdr[4] != inst->auth_type)
			return reject(DROP_AUTH_TYPE, p, hdr);
		/* RFC 2338 §5.3.6.1: all 8 password bytes match (the trailer;
		 * want - 8 <= 1028, masked for the verifier). */
		if (inst->auth_type == 1) {
			__u64 got, exp;
			__builtin_memcpy(&got, &s->b[(len - VRRP_AUTH_LEN) & SCRATCH_MASK], 8);
			__builtin_memcpy(&exp, inst->auth_data, 8);
			if (got != exp)
				return reject(DROP_AUTH_DATA, p, hdr);
		}
		/* RFC 3768 §7.1: Adver Int equals ours. */
		if ((__u64)hdr[5] * 1000000000ULL != inst->interval_ns)
			return reject(DROP_INTERVAL_MISMATCH, p, hdr);
	}

	/* RFC 3768 §7.1 / RFC 5798 §7.1 (MAY; keepalived does): Count equals
	 * the number of configured VIPs... */
	if (n != inst->vip_count)
		return reject(DROP_ADDR_COUNT, p, hdr);
	/* ...and every configured VIP is in the list: each advert address that
	 * is a VIP sets the VIP's bit; all vip_distinct bits must end up set
	 * (vrrp.Expect.Check's "each VIP is contained", duplicates and all). */
	if (inst->flags & INSTANCE_SKIP_CHECK_ADV_ADDR) {
		/* Count only. */
	} else if (inst->flags & INSTANCE_VIPS_INLINE) {
		/* n == vip_count <= INLINE_VIPS: compare each advert address
		 * with each inline VIP (at most 16 pairs, no lookup). */
		__u32 seen = 0;
		for (__u32 i = 0; i < INLINE_VIPS; i++) {
			if (i >= n)
				break;
			__u64 a0 = 0, a1 = 0;
			if (v6) {
				__builtin_memcpy(&a0, &s->b[VRRP_HDR_LEN + i * 16], 8);
				__builtin_memcpy(&a1, &s->b[VRRP_HDR_LEN + i * 16 + 8], 8);
			} else {
				__u32 a;
				__builtin_memcpy(&a, &s->b[VRRP_HDR_LEN + i * 4], 4);
				a0 = a;
			}
			for (__u32 j = 0; j < INLINE_VIPS; j++) {
				__u64 v0, v1;
				__builtin_memcpy(&v0, &inst->vips[j][0], 8);
				__builtin_memcpy(&v1, &inst->vips[j][8], 8);
				if (v0 == a0 && v1 == a1)
					seen |= 1U << j;
			}
		}
		__u32 d = inst->vip_distinct;
		/* Only slots that can match count as seen; all d must be. */
		if ((seen & inst->vip_match) != (d >= 32 ? ~0U : (1U << d) - 1))
			return reject(DROP_ADDR_LIST, p, hdr);
	} else {
		struct vip_ctx vc = { .key = ak, .alen = v6 ? 16 : 4 };

		vc.key.kind = ADDR_VIP;
		if (n <= 4) {
			/* The usual few VIPs: no bpf_loop call. */
			for (__u32 i = 0; i < 4; i++) {
				if (i >= n)
					break;
				vip_cb(i, &vc);
			}
		} else {
			/* One callback per advert address (n <= 255). */
			bpf_loop(n, vip_cb, &vc, 0);
		}
		__u64 seen0 = vc.seen[0], seen1 = vc.seen[1], seen2 = vc.seen[2], seen3 = vc.seen[3];
		__u32 d = inst->vip_distinct;
		/* Expected word w: the low (d - 64w) bits, clamped to 0..64. */
#define FULL(w) (d >= 64 * ((w) + 1) ? ~0ULL : d > 64 * (w) ? (1ULL << (d - 64 * (w))) - 1 : 0)
		if (seen0 != FULL(0) || seen1 != FULL(1) || seen2 != FULL(2) || seen3 != FULL(3))
			return reject(DROP_ADDR_LIST, p, hdr);
#undef FULL
	}

	/* Valid. The adverts-map entry first: it also holds the rate state
	 * of the current master. */
	__u64 now = bpf_ktime_get_ns();
	__u8 prio = hdr[2];
	__u32 kinds = 0;
	__u32 slot = inst->slot;
	struct advert_state *st = bpf_map_lookup_elem(&adverts, &slot);
	/* Never NULL for a slot the loader assigned; the verifier wants it. */
	if (!st) {
		count(DROP_NONE);
		return pass_valid ? ACT_PASS : ACT_DROP;
	}
	__u64 a0, a1, b0, b1;
	__builtin_memcpy(&a0, &st->master[0], 8);
	__builtin_memcpy(&a1, &st->master[8], 8);
	__builtin_memcpy(&b0, &p->src[0], 8);
	__builtin_memcpy(&b1, &p->src[8], 8);
	/* count 0: no advert recorded yet. */
	bool same = st->count != 0 && a0 == b0 && a1 == b1;

	/* Now the per-source rate: a GCRA with emission interval
	 * T = min(configured, advertised interval) / rate_per_interval and
	 * burst tolerance (rate_burst - 1) * T. The lesser interval, so a
	 * master that legitimately advertises faster than our configuration
	 * (RFC 5798 §6.4.2 learns its Master_Adver_Interval) is not limited.
	 * The recorded master's state is st->tat (no lookup in the steady
	 * state); other sources' is in the rates map. */
	__u64 tat_next = 0;
	if (inst->rate_per_interval) {
		__u64 adv_ns = (__u64)interval_cs * 10000000ULL;
		__u64 base = inst->interval_ns < adv_ns ? inst->interval_ns : adv_ns;
		__u64 t = base / inst->rate_per_interval;
		__u64 tau = t * (inst->rate_burst ? inst->rate_burst - 1 : 0);
		__u64 tat = 0; /* none yet: a full burst */
		if (same) {
			tat = st->tat;
		} else {
			struct rate_key rk = { .ifindex = p->ifindex, .vrid = vrid, .family = p->family };
			__builtin_memcpy(rk.src, p->src, 16);
			__u64 *tp = bpf_map_lookup_elem(&rates, &rk);
			if (tp)
				tat = *tp;
		}
		__u64 at = tat > now ? tat : now;
		/* Over rate: the bucket is empty. Do not advance the TAT, so a
		 * flood is limited to the configured rate, not starved. */
		if (at - now > tau)
			return reject(DROP_RATE_LIMITED, p, hdr);
		tat_next = at + t;
		if (!same && st->count != 0) {
			/* The old master's state goes back to the rates map. */
			struct rate_key mk = { .ifindex = p->ifindex, .vrid = vrid, .family = p->family };
			__builtin_memcpy(mk.src, st->master, 16);
			bpf_map_update_elem(&rates, &mk, &st->tat, BPF_ANY);
		}
	}

	/* Record: adverts map, then a ring-buffer record on change only. */
	if (st->count == 0) {
		kinds = EVENT_NEW_MASTER | EVENT_AFTER_SILENCE;
	} else {
		if (!same)
			kinds |= EVENT_NEW_MASTER;
		else if (prio != st->priority)
			kinds |= EVENT_PRIORITY;
		if (interval_cs != st->interval_cs)
			kinds |= EVENT_INTERVAL;
		if (inst->silence_ns && now - st->last_seen_ns > inst->silence_ns)
			kinds |= EVENT_AFTER_SILENCE;
	}
	if (prio == 0)
		kinds |= EVENT_PRIORITY_ZERO;
	if (!kinds && heartbeat_ns && now - st->last_event_ns >= heartbeat_ns)
		kinds |= EVENT_HEARTBEAT;

	/* The previous advert, for the record (see struct event). */
	__u64 prev_ns = st->count ? st->last_seen_ns : 0;
	__u8 prev_prio = st->priority;
	__u16 prev_ics = st->interval_cs;
	__u64 p0 = a0, p1 = a1;

	/* Plain stores: two CPUs updating one entry at once is harmless (both
	 * carry a valid advert); count is atomic so it stays exact. */
	__builtin_memcpy(st->master, p->src, 16);
	st->tat = tat_next;
	st->last_seen_ns = now;
	st->interval_cs = interval_cs;
	st->priority = prio;
	st->version = version;
	st->addr_count = n;
	__sync_fetch_and_add(&st->count, 1);
	count(DROP_NONE);
	if (watch_silence)
		watch_arm(slot, &ik, st);

	if (kinds) {
		st->last_event_ns = now;
		struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		/* Ring buffer full: the control loop is behind; count it. */
		if (!e) {
			count(STAT_EVENTS_LOST);
		} else {
			/* Every field written: ring-buffer memory is not zeroed. */
			e->ns = now;
			e->ifindex = p->ifindex;
			e->kinds = kinds;
			__builtin_memcpy(e->src, p->src, 16);
			e->interval_cs = interval_cs;
			e->vrid = vrid;
			e->family = p->family;
			e->priority = prio;
			e->version = version;
			e->addr_count = n;
			e->prev_priority = prev_prio;
			e->prev_ns = prev_ns;
			__builtin_memcpy(&e->prev_src[0], &p0, 8);
			__builtin_memcpy(&e->prev_src[8], &p1, 8);
			e->prev_interval_cs = prev_ics;
			e->reason = DROP_NONE;
			__builtin_memset(e->pad, 0, sizeof(e->pad));
			bpf_ringbuf_submit(e, 0);
			count(STAT_EVENTS);
		}
	}
	return pass_valid ? ACT_PASS : ACT_DROP;
}

/* frame_len is the length of the whole frame, fragments included. */
static __always_inline __u32 frame_len(void *ctx, bool xdp, __u32 skb_len)
{
	if (!xdp)
		return skb_len;
	return bpf_xdp_get_buff_len(ctx);
}

/*
 * parse reads the link and IP headers between data and data_end (the linear
 * part of the frame, which always holds them for XDP; tc_vrrp pulls them in
 * first) and hands VRRP packets to vrrp_check. skb_len is the tc frame's
 * length (XDP asks a helper, only when the linear part is too short).
 */
static __always_inline enum action parse(void *ctx, bool xdp, void *data, void *data_end,
					 __u32 skb_len)
{
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);

	/* Shorter than an Ethernet header: not ours to judge. */
	if ((void *)(eth + 1) > data_end)
		goto not_vrrp;
	/* One 16-bit load (struct ethhdr is packed: byte loads otherwise). */
	__be16 proto = *(__be16 *)(data + 12);
	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan_hdr *vh = data + off;
		/* The tag must be complete. */
		if ((void *)(vh + 1) > data_end)
			goto not_vrrp;
		proto = vh->proto;
		off += sizeof(*vh);
	}

	struct pkt p = {};
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + off;
		/* The fixed IPv4 header must be there to read the protocol. */
		if ((void *)(ip + 1) > data_end)
			goto not_vrrp;
		if (ip->protocol != VRRP_PROTO)
			goto not_vrrp;

		/* Protocol 112 from here on. Packets the IP stack would drop or
		 * reassemble are its business: pass them (counted). */
		__u32 hl = ip->ihl * 4;
		__u32 tot = bpf_ntohs(ip->tot_len);
		if (ip->version != 4 || hl < sizeof(*ip) || tot < hl)
			goto pass_ip;
		/* A fragment (MF set or offset non-zero). */
		if (ip->frag_off & bpf_htons(0x3fff))
			goto pass_ip;

		/* The header with its options, checksummed (RFC 791): hl in
		 * [20, 60]; a frame that ends inside the options is truncated. */
		__u64 acc;
		if (hl == sizeof(*ip)) {
			/* No options (the usual case): add the 5 words in place. */
			__u32 *w = (__u32 *)ip;
			acc = (__u64)w[0] + w[1] + w[2] + w[3] + w[4];
		} else {
			__u8 h[60];
			if (off + hl > frame_len(ctx, xdp, skb_len) || load(ctx, xdp, off, h, hl))
				goto truncated;
			/* hl is a multiple of 4 in [24, 60]. */
			acc = (__u32)bpf_csum_diff(NULL, 0, (void *)h, hl, 0);
		}
		/* Bad header checksum: the stack drops it, let it. */
		if (fold(acc) != 0xffff)
			goto pass_ip;

		p.family = FAMILY_IPV4;
		p.off = off + hl;
		p.len = tot - hl;
		p.ttl = ip->ttl;
		__builtin_memcpy(p.src, &ip->saddr, 4);
		__builtin_memcpy(p.dst, &ip->daddr, 4);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;
		/* The fixed IPv6 header must be there. */
		if ((void *)(ip6 + 1) > data_end)
			goto not_vrrp;
		/* VRRP directly after the fixed header only: extension headers
		 * (never used by VRRP senders) make it "not VRRP" here. */
		if (ip6->nexthdr != VRRP_PROTO)
			goto not_vrrp;
		if (ip6->version != 6)
			goto pass_ip;

		p.family = FAMILY_IPV6;
		p.off = off + sizeof(*ip6);
		p.len = bpf_ntohs(ip6->payload_len);
		p.ttl = ip6->hop_limit;
		__builtin_memcpy(p.src, &ip6->saddr, 16);
		__builtin_memcpy(p.dst, &ip6->daddr, 16);
		/* ::ffff:0:0/96 in either address (the Go codec would unmap it). */
		p.mapped = (p.src[10] == 0xff && p.src[11] == 0xff && *(__u64 *)p.src == 0 &&
			    *(__u16 *)&p.src[8] == 0) ||
			   (p.dst[10] == 0xff && p.dst[11] == 0xff && *(__u64 *)p.dst == 0 &&
			    *(__u16 *)&p.dst[8] == 0);
	} else {
		goto not_vrrp;
	}

	/* The frame must hold the whole IP payload; link-layer padding after
	 * it is ignored (vrrp.Parse gets exactly the IP payload). The Go path
	 * never sees such a frame (the IP stack drops it); here it counts as a
	 * truncated advert. */
	/* Read only now: not-VRRP packets never pay for the loads. */
	p.ifindex = xdp ? ((struct xdp_md *)ctx)->ingress_ifindex : ((struct __sk_buff *)ctx)->ifindex;
	__u32 need = p.off + p.len;
	if (need > (__u32)(data_end - data) && need > frame_len(ctx, xdp, skb_len))
		goto truncated;
	return vrrp_check(ctx, xdp, data, data_end, &p);

truncated:
	return drop(DROP_TRUNCATED);
pass_ip:
	count(STAT_PASS_IP);
	return ACT_PASS;
not_vrrp:
	count(STAT_NOT_VRRP);
	return ACT_PASS;
}

/* xdp_vrrp: the XDP entry point. xdp.frags: loadable on interfaces with an
 * MTU above a page (jumbo frames); headers are in the linear part. */
SEC("xdp.frags")
int xdp_vrrp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	enum action a = parse(ctx, true, data, data_end, 0);
	/* ACT_DROP: invalid (or recorded valid) advert; everything else goes on. */
	return a == ACT_DROP ? XDP_DROP : XDP_PASS;
}

/* Link + VLAN + IPv6 headers: what parse reads directly. */
#define HDR_PULL (sizeof(struct ethhdr) + sizeof(struct vlan_hdr) + sizeof(struct ipv6hdr))

/* tc_vrrp: the tcx ingress entry point. */
SEC("tc")
int tc_vrrp(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	/* A non-linear skb whose linear part is shorter than the headers we
	 * read: pull them in (rare; drivers normally put headers linear). */
	if (data + HDR_PULL > data_end && skb->len > data_end - data) {
		bpf_skb_pull_data(skb, skb->len < HDR_PULL ? skb->len : HDR_PULL);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	enum action a = parse(skb, false, data, data_end, skb->len);
	/* TCX_DROP for a drop; TCX_NEXT lets later programs and the stack see it. */
	return a == ACT_DROP ? TCX_DROP : TCX_NEXT;
}

/* clock_probe: one reading of the clock bpf_ktime_get_ns uses, for the
 * loader to convert timestamps with (struct clock_reading). A syscall
 * program: never attached, only run with BPF_PROG_TEST_RUN, which copies
 * the context back. */
SEC("syscall")
int clock_probe(struct clock_reading *ctx)
{
	ctx->ns = bpf_ktime_get_ns();
	return 0;
}
