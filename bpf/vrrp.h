/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every type shared by the BPF programs (vrrp.c) and Go. Go gets them through
 * `bpf2go -type` (see gen.go); never mirror one by hand on the Go side.
 *
 * Layout rules: fixed-width types only, explicit padding fields named pad*,
 * larger members first. Array-map keys are __u32 (an enum-typed key is
 * rejected by the kernel and cilium/ebpf then loads without BTF).
 */
#ifndef XVRRP_VRRP_H
#define XVRRP_VRRP_H

#include <linux/types.h>

/*
 * enum drop_reason is vrrp.DropReason, number for number: the stats map is
 * indexed by it and Go reads it with the Go names. Values are only ever
 * appended (bpf/enum_test.go asserts every value and the count).
 */
enum drop_reason {
	DROP_NONE = 0, /* accepted */
	DROP_TRUNCATED = 1,
	DROP_BAD_VERSION = 2,
	DROP_BAD_TYPE = 3,
	DROP_BAD_LENGTH = 4,
	DROP_BAD_INTERVAL = 5,
	DROP_BAD_CHECKSUM = 6,
	DROP_BAD_FAMILY = 7,
	DROP_UNKNOWN_VRID = 8,
	DROP_BAD_TTL = 9,
	DROP_VERSION_MISMATCH = 10,
	DROP_OWN_ADDR = 11,
	DROP_NOT_PEER = 12,
	DROP_SRC_NOT_LINK_LOCAL = 13,
	DROP_AUTH_TYPE = 14,
	DROP_AUTH_DATA = 15,
	DROP_INTERVAL_MISMATCH = 16,
	DROP_ADDR_COUNT = 17,
	DROP_ADDR_LIST = 18,
	DROP_RATE_LIMITED = 19,
	NUM_DROP_REASONS = 20,
};

/*
 * enum stat indexes the per-CPU stats array: the drop reasons first (index
 * 0, DROP_NONE, counts accepted adverts), then counters of their own.
 */
enum stat {
	/* 0 .. NUM_DROP_REASONS-1: enum drop_reason */
	STAT_NOT_VRRP = NUM_DROP_REASONS, /* not IP protocol 112: passed */
	STAT_PASS_IP = 21,  /* protocol 112 the stack must judge (fragment, bad IPv4 header): passed */
	STAT_EVENTS = 22,   /* ring-buffer records written */
	STAT_EVENTS_LOST = 23, /* ring buffer full: record lost */
	NUM_STATS = 24,
};

/* Address families as in the instance key (AF_INET, AF_INET6). */
enum family {
	FAMILY_IPV4 = 2,
	FAMILY_IPV6 = 10,
};

/* Bits of instance.flags. */
enum instance_flag {
	/* Unicast peers configured: no TTL check, no link-local check. */
	INSTANCE_UNICAST = 1,
	/* Drop sources that are not a configured peer (vrrp_check_unicast_src). */
	INSTANCE_CHECK_UNICAST_SRC = 2,
	/* Do not compare the address list, only the count. */
	INSTANCE_SKIP_CHECK_ADV_ADDR = 4,
	/* Every own address is in instance.own (else: the addrs map). */
	INSTANCE_OWN_INLINE = 8,
	/* Every VIP is in instance.vips (else: the addrs map). */
	INSTANCE_VIPS_INLINE = 16,
};

/* Addresses kept in the instance value itself, so the usual valid advert
 * needs no addrs-map lookup. More than these go to the addrs map only. */
#define INLINE_OWN 4
#define INLINE_VIPS 4

/* Key of the instances map: one virtual router. */
struct instance_key {
	__u32 ifindex; /* ingress interface */
	__u8 vrid;
	__u8 family; /* enum family */
	__u16 pad;
};

/* Value of the instances map: what one virtual router accepts (vrrp.Expect). */
struct instance {
	/* Configured advert_int in ns; VRRPv2 adverts must carry it. */
	__u64 interval_ns;
	/* Silence threshold: an advert after this long without one raises an event. */
	__u64 silence_ns;
	/* Rate limit: up to rate_per_interval adverts per advert interval per
	 * source, with a burst of rate_burst; rate_per_interval 0 disables it. */
	__u32 rate_per_interval;
	__u32 rate_burst;
	/* Number of configured VIPs (as configured, duplicates included; 256
	 * means "more than fit in an advert") and of distinct ones. */
	__u16 vip_count;
	__u16 vip_distinct;
	__u8 version; /* 2 or 3 */
	__u8 auth_type; /* v2: 0 none, 1 simple password */
	__u8 flags; /* enum instance_flag */
	__u8 pad;
	__u8 auth_data[8]; /* v2 password, NUL-padded */
	/* With INSTANCE_OWN_INLINE: own[0:own_count] are all own addresses
	 * (IPv4 in the first 4 bytes, the rest zero). */
	__u8 own_count;
	/* With INSTANCE_VIPS_INLINE (vip_count <= INLINE_VIPS): vips[j] is the
	 * VIP with bit index j; vip_match bit j is clear when VIP j can never
	 * appear in an advert of this family (it still counts as distinct). */
	__u8 vip_match;
	__u16 pad2;
	/* Index of this virtual router's entry in the adverts array. */
	__u32 slot;
	__u8 own[INLINE_OWN][16];
	__u8 vips[INLINE_VIPS][16];
};

/* Kinds of per-instance addresses in the addrs map. */
enum addr_kind {
	ADDR_OWN = 1,  /* one of our own addresses: an advert from it is looped back */
	ADDR_PEER = 2, /* a unicast peer */
	ADDR_VIP = 3,  /* a configured virtual address; value = its bit index */
};

/* Key of the addrs map. IPv4 addresses use addr[0:4], the rest zero. */
struct addr_key {
	__u32 ifindex;
	__u8 vrid;
	__u8 family; /* enum family */
	__u8 kind;   /* enum addr_kind */
	__u8 pad;
	__u8 addr[16];
};

/* Entries of the adverts array: one per configured virtual router. */
#define MAX_SLOTS 1024

/* Value of the adverts map (an mmapable array indexed by instance.slot, so
 * the steady state costs no hash lookup and Go reads it without a syscall):
 * the last valid advert of one virtual router; count 0: none yet. */
struct advert_state {
	__u64 last_seen_ns;  /* bpf_ktime_get_ns (CLOCK_MONOTONIC) of the last valid advert */
	__u64 last_event_ns; /* when the last ring-buffer record for this key was written */
	__u64 count;         /* valid adverts recorded (not rate-limited) */
	/* Rate state (GCRA theoretical arrival time, ns) of the source in
	 * master; other sources keep theirs in the rates map. */
	__u64 tat;
	__u8 master[16];     /* source address of the last valid advert */
	__u16 interval_cs;   /* advertised interval in centiseconds (v2: seconds * 100) */
	__u8 priority;
	__u8 version;
	__u8 addr_count;
	/* 1 while the silence watch's timer runs for the last advert: an
	 * EVENT_SILENT record will come if no advert follows in time. */
	__u8 watched;
	__u8 pad[2];
};

/* Key of the rate map (LRU): one source for one virtual router. */
struct rate_key {
	__u32 ifindex;
	__u8 vrid;
	__u8 family;
	__u16 pad;
	__u8 src[16];
};

/* Bits of event.kinds: why the record was written (several may be set). */
enum event_kind {
	EVENT_NEW_MASTER = 1,     /* source differs from the last recorded one (or none yet) */
	EVENT_PRIORITY = 2,       /* same source, another priority */
	EVENT_PRIORITY_ZERO = 4,  /* priority 0: the master resigns (every one is reported) */
	EVENT_INTERVAL = 8,       /* advertised interval changed */
	EVENT_AFTER_SILENCE = 16, /* first advert after instance.silence_ns without one (or ever) */
	EVENT_HEARTBEAT = 32,     /* nothing changed, but heartbeat_ns passed since the last record */
	/* No valid advert for 3 advertised intervals (the silence watch, see
	 * watch_silence): the fields describe the last advert; ns is now. */
	EVENT_SILENT = 64,
	/* A sample of a dropped VRRP packet whose 8-byte header was read
	 * (sample_interval_ns in vrrp.c; never set with another bit): reason
	 * says why, src, vrid, priority, version, addr_count and interval_cs
	 * are the packet's as sent (interval_cs read as VRRPv2 for version 2,
	 * as VRRPv3 otherwise), family and ifindex where it came in; ns is
	 * the drop, prev_* are zero. */
	EVENT_DROPPED = 128,
};

/* A ring-buffer record. Ring-buffer memory is not zeroed: every field,
 * padding included, is written. */
struct event {
	__u64 ns;      /* bpf_ktime_get_ns at the advert */
	__u32 ifindex;
	__u32 kinds;   /* enum event_kind bits */
	__u8 src[16];  /* advert source (IPv4 in src[0:4]) */
	__u16 interval_cs; /* advertised interval, centiseconds (v2: seconds * 100) */
	__u8 vrid;
	__u8 family;   /* enum family */
	__u8 priority;
	__u8 version;
	__u8 addr_count;
	__u8 prev_priority; /* the previous advert's (see prev_ns) */
	/* The previous valid advert of this virtual router, as the adverts
	 * map held it before this one (prev_ns 0: none). The control loop is
	 * not told about unchanged adverts; a Backup replays this one first,
	 * so its Master_Down_Timer restarts from the last advert of the old
	 * master or priority (RFC 5798 §6.4.2) before the change. */
	__u64 prev_ns;
	__u8 prev_src[16];
	__u16 prev_interval_cs;
	__u8 reason; /* EVENT_DROPPED: enum drop_reason; otherwise DROP_NONE */
	__u8 pad[5];
};

/*
 * Context of clock_probe (vrrp.c), which the loader runs with
 * BPF_PROG_TEST_RUN: one reading of the clock every ns field above comes
 * from. bpf_ktime_get_ns is CLOCK_MONOTONIC of the initial time namespace;
 * a process in another time namespace (unshare --time) reads its own
 * CLOCK_MONOTONIC with an offset, so the loader pairs its clock with this
 * reading instead.
 */
struct clock_reading {
	__u64 ns; /* bpf_ktime_get_ns at the run */
};

#endif /* XVRRP_VRRP_H */
