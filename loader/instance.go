package loader

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xvrrp/xvrrp/bpf"
)

// Default rate limit of Instance.
const (
	DefaultRatePerInterval = 4
	DefaultRateBurst       = 8
)

// Instance is what one virtual router accepts, the kernel counterpart of
// vrrp.Expect (the daemon converts one into the other). The zero values of
// Silence, RatePerInterval and RateBurst select defaults.
type Instance struct {
	Ifindex int   // the receiving interface
	VRID    uint8 // 1-255
	IPv6    bool  // the instance's address family
	Version uint8 // 2 or 3

	// Interval is the configured advert_int: VRRPv2 adverts must carry it;
	// it also scales the rate limit and the default Silence.
	Interval time.Duration
	// AuthType (0 none, 1 simple password) and AuthData (the password
	// NUL-padded): VRRPv2 only.
	AuthType uint8
	AuthData [8]byte

	// VIPs are the advertised virtual addresses; an advert must carry as
	// many and, unless SkipCheckAdvAddr, every one of them.
	VIPs             []netip.Addr
	SkipCheckAdvAddr bool
	// UnicastPeers, when not empty, puts the instance in unicast mode (no
	// TTL check, no link-local check). CheckUnicastSrc then drops adverts
	// from other sources.
	UnicastPeers    []netip.Addr
	CheckUnicastSrc bool
	// OwnAddrs are this host's addresses: an advert from one is our own.
	OwnAddrs []netip.Addr

	// Silence: an advert after this long without one is reported as
	// EventAfterSilence. 0: three times Interval. Negative: never.
	Silence time.Duration
	// RatePerInterval adverts per advertisement interval are accepted from
	// one source, with bursts of RateBurst; more are dropped as
	// rate-limited. 0 selects the defaults; a negative RatePerInterval
	// disables the limit.
	RatePerInterval int
	RateBurst       int
}

func family(ipv6 bool) uint8 {
	if ipv6 {
		return uint8(bpf.VrrpFamilyFAMILY_IPV6)
	}
	return uint8(bpf.VrrpFamilyFAMILY_IPV4)
}

// addrBytes returns a as the map stores it for an instance of the given
// family: IPv4 in the first 4 bytes. ok is false when a can never match an
// address of that family.
func addrBytes(a netip.Addr, ipv6 bool) (b [16]byte, ok bool) {
	if !a.IsValid() || a.Is6() != ipv6 {
		return b, false
	}
	if ipv6 {
		return a.As16(), true
	}
	v4 := a.As4()
	copy(b[:], v4[:])
	return b, true
}

// entries converts in into the instances-map value and its addrs-map entries.
func (in *Instance) entries() (bpf.VrrpInstanceKey, bpf.VrrpInstance, map[bpf.VrrpAddrKey]uint32, error) {
	key := bpf.VrrpInstanceKey{Ifindex: uint32(in.Ifindex), Vrid: in.VRID, Family: family(in.IPv6)}
	switch {
	case in.Ifindex <= 0:
		return key, bpf.VrrpInstance{}, nil, fmt.Errorf("ifindex %d", in.Ifindex)
	case in.VRID == 0:
		return key, bpf.VrrpInstance{}, nil, errors.New("vrid 0")
	case in.Version != 2 && in.Version != 3:
		return key, bpf.VrrpInstance{}, nil, fmt.Errorf("version %d", in.Version)
	case in.Interval <= 0:
		return key, bpf.VrrpInstance{}, nil, fmt.Errorf("interval %s", in.Interval)
	}
	v := bpf.VrrpInstance{
		IntervalNs: uint64(in.Interval),
		Version:    in.Version,
		AuthType:   in.AuthType,
		AuthData:   in.AuthData,
	}
	switch {
	case in.Silence == 0:
		v.SilenceNs = uint64(3 * in.Interval)
	case in.Silence > 0:
		v.SilenceNs = uint64(in.Silence)
	}
	if in.RatePerInterval >= 0 {
		v.RatePerInterval, v.RateBurst = DefaultRatePerInterval, DefaultRateBurst
		if in.RatePerInterval > 0 {
			v.RatePerInterval = uint32(in.RatePerInterval)
		}
		if in.RateBurst > 0 {
			v.RateBurst = uint32(in.RateBurst)
		}
	}
	if len(in.UnicastPeers) > 0 {
		v.Flags |= uint8(bpf.VrrpInstanceFlagINSTANCE_UNICAST)
		if in.CheckUnicastSrc {
			v.Flags |= uint8(bpf.VrrpInstanceFlagINSTANCE_CHECK_UNICAST_SRC)
		}
	}
	if in.SkipCheckAdvAddr {
		v.Flags |= uint8(bpf.VrrpInstanceFlagINSTANCE_SKIP_CHECK_ADV_ADDR)
	}

	addrs := map[bpf.VrrpAddrKey]uint32{}
	ak := func(kind bpf.VrrpAddrKind, a [16]byte) bpf.VrrpAddrKey {
		return bpf.VrrpAddrKey{Ifindex: key.Ifindex, Vrid: key.Vrid, Family: key.Family, Kind: uint8(kind), Addr: a}
	}
	// Own addresses and peers compare unmapped and without zone
	// (vrrp.Expect's containsAddr).
	for _, a := range in.OwnAddrs {
		if b, ok := addrBytes(a.Unmap().WithZone(""), in.IPv6); ok {
			k := ak(bpf.VrrpAddrKindADDR_OWN, b)
			if _, dup := addrs[k]; dup {
				continue
			}
			addrs[k] = 0
			// The first few also inline (no lookup per advert).
			if int(v.OwnCount) < len(v.Own) {
				v.Own[v.OwnCount] = b
			}
			v.OwnCount++
		}
	}
	if int(v.OwnCount) <= len(v.Own) {
		v.Flags |= uint8(bpf.VrrpInstanceFlagINSTANCE_OWN_INLINE)
	} else {
		v.Own, v.OwnCount = [len(v.Own)][16]byte{}, 0
	}
	for _, a := range in.UnicastPeers {
		if b, ok := addrBytes(a.Unmap().WithZone(""), in.IPv6); ok {
			addrs[ak(bpf.VrrpAddrKindADDR_PEER, b)] = 0
		}
	}
	// VIPs compare exactly (containsVIP): each distinct one gets a bit.
	// One that can never appear in an advert of this family still counts
	// as distinct, so the list check then always fails, as in Go.
	if len(in.VIPs) > 255 {
		v.VipCount = 256 // never equal to an 8-bit Count
		return key, v, addrs, nil
	}
	v.VipCount = uint16(len(in.VIPs))
	seen := map[netip.Addr]bool{}
	for _, a := range in.VIPs {
		a = a.WithZone("")
		if seen[a] {
			continue
		}
		seen[a] = true
		if b, ok := addrBytes(a, in.IPv6); ok {
			addrs[ak(bpf.VrrpAddrKindADDR_VIP, b)] = uint32(v.VipDistinct)
			if int(v.VipDistinct) < len(v.Vips) {
				v.Vips[v.VipDistinct] = b
				v.VipMatch |= 1 << v.VipDistinct
			}
		}
		v.VipDistinct++
	}
	// Few VIPs: inline (the advert then has as few addresses).
	if int(v.VipCount) <= len(v.Vips) {
		v.Flags |= uint8(bpf.VrrpInstanceFlagINSTANCE_VIPS_INLINE)
	} else {
		v.Vips, v.VipMatch = [len(v.Vips)][16]byte{}, 0
	}
	return key, v, addrs, nil
}

// SetInstances replaces the configured virtual routers; call it again
// whenever the set changes (a reload, an interface back with another
// ifindex). Adverts of a VRID not configured on their interface and family
// are dropped as unknown. A router is identified by (Ifindex, VRID, IPv6):
// one that stays keeps its recorded advert (AdvertState) and silence
// watch, even when its other settings change; a removed one's are
// discarded (its watch stopped), and an added one starts with none. Not
// atomic: during the update a packet may see a partial configuration.
func (l *Loader) SetInstances(insts []Instance) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	type entry struct {
		v     bpf.VrrpInstance
		addrs map[bpf.VrrpAddrKey]uint32
	}
	want := map[bpf.VrrpInstanceKey]entry{}
	allAddrs := map[bpf.VrrpAddrKey]uint32{}
	for i := range insts {
		k, v, addrs, err := insts[i].entries()
		if err != nil {
			return fmt.Errorf("instance %d (vrid %d, ifindex %d): %w", i, insts[i].VRID, insts[i].Ifindex, err)
		}
		if _, dup := want[k]; dup {
			return fmt.Errorf("instance %d: vrid %d configured twice on ifindex %d", i, k.Vrid, k.Ifindex)
		}
		want[k] = entry{v, addrs}
		for ak, bit := range addrs {
			allAddrs[ak] = bit
		}
	}
	// Remove what is no longer wanted, then write the rest.
	if err := deleteExcept(l.objs.Addrs, func(k bpf.VrrpAddrKey) bool { _, ok := allAddrs[k]; return ok }); err != nil {
		return fmt.Errorf("update addrs map: %w", err)
	}
	if err := deleteExcept(l.objs.Instances, func(k bpf.VrrpInstanceKey) bool { _, ok := want[k]; return ok }); err != nil {
		return fmt.Errorf("update instances map: %w", err)
	}
	// Slots: a router that stays keeps its slot (and recorded state); a
	// new one gets the lowest free slot, cleared. A removed router's slot
	// is cleared now: its silence watch must not report it, nor run on
	// for the next router in the slot.
	slots := map[bpf.VrrpInstanceKey]uint32{}
	used := map[uint32]bool{}
	for k := range want {
		if s, ok := l.slots[k]; ok {
			slots[k] = s
			used[s] = true
		}
	}
	for k, s := range l.slots {
		if _, ok := want[k]; !ok {
			if err := l.clearSlot(s); err != nil {
				return err
			}
		}
	}
	next := uint32(0)
	for k := range want {
		if _, ok := slots[k]; ok {
			continue
		}
		for used[next] {
			next++
		}
		if next >= l.objs.Adverts.MaxEntries() {
			return fmt.Errorf("more than %d virtual routers", l.objs.Adverts.MaxEntries())
		}
		if err := l.clearSlot(next); err != nil {
			return err
		}
		slots[k] = next
		used[next] = true
	}
	for k := range want {
		e := want[k]
		e.v.Slot = slots[k]
		want[k] = e
	}
	l.slots = slots
	for k, bit := range allAddrs {
		if err := l.objs.Addrs.Put(k, bit); err != nil {
			return fmt.Errorf("update addrs map: %w", err)
		}
	}
	for k, e := range want {
		if err := l.objs.Instances.Put(k, e.v); err != nil {
			return fmt.Errorf("update instances map: %w", err)
		}
	}
	return nil
}

// clearSlot empties adverts-map entry slot and stops its silence watch:
// writing a watches entry from user space cancels and frees the bpf_timer
// in it (the next advert initialises a new one).
func (l *Loader) clearSlot(slot uint32) error {
	if err := l.objs.Watches.Put(slot, make([]byte, l.objs.Watches.ValueSize())); err != nil {
		return fmt.Errorf("clear watches map slot %d: %w", slot, err)
	}
	if err := l.objs.Adverts.Put(slot, bpf.VrrpAdvertState{}); err != nil {
		return fmt.Errorf("clear adverts map slot %d: %w", slot, err)
	}
	return nil
}

// deleteExcept deletes every key of the hash map m for which keep is false.
func deleteExcept[K comparable](m *ebpf.Map, keep func(K) bool) error {
	var del []K
	var k K
	var v []byte
	it := m.Iterate()
	for it.Next(&k, &v) {
		if !keep(k) {
			del = append(del, k)
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	for _, k := range del {
		if err := m.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return err
		}
	}
	return nil
}
