package bpf_test

import (
	"testing"

	"github.com/xvrrp/xvrrp/bpf"
	"github.com/xvrrp/xvrrp/vrrp"
)

// TestDropReasonABI pins enum drop_reason to vrrp.DropReason: the stats map
// is indexed by these numbers on both sides.
func TestDropReasonABI(t *testing.T) {
	pairs := []struct {
		c   bpf.VrrpDropReason
		gov vrrp.DropReason
	}{
		{bpf.VrrpDropReasonDROP_NONE, vrrp.DropNone},
		{bpf.VrrpDropReasonDROP_TRUNCATED, vrrp.DropTruncated},
		{bpf.VrrpDropReasonDROP_BAD_VERSION, vrrp.DropBadVersion},
		{bpf.VrrpDropReasonDROP_BAD_TYPE, vrrp.DropBadType},
		{bpf.VrrpDropReasonDROP_BAD_LENGTH, vrrp.DropBadLength},
		{bpf.VrrpDropReasonDROP_BAD_INTERVAL, vrrp.DropBadInterval},
		{bpf.VrrpDropReasonDROP_BAD_CHECKSUM, vrrp.DropBadChecksum},
		{bpf.VrrpDropReasonDROP_BAD_FAMILY, vrrp.DropBadFamily},
		{bpf.VrrpDropReasonDROP_UNKNOWN_VRID, vrrp.DropUnknownVRID},
		{bpf.VrrpDropReasonDROP_BAD_TTL, vrrp.DropBadTTL},
		{bpf.VrrpDropReasonDROP_VERSION_MISMATCH, vrrp.DropVersionMismatch},
		{bpf.VrrpDropReasonDROP_OWN_ADDR, vrrp.DropOwnAddr},
		{bpf.VrrpDropReasonDROP_NOT_PEER, vrrp.DropNotPeer},
		{bpf.VrrpDropReasonDROP_SRC_NOT_LINK_LOCAL, vrrp.DropSrcNotLinkLocal},
		{bpf.VrrpDropReasonDROP_AUTH_TYPE, vrrp.DropAuthType},
		{bpf.VrrpDropReasonDROP_AUTH_DATA, vrrp.DropAuthData},
		{bpf.VrrpDropReasonDROP_INTERVAL_MISMATCH, vrrp.DropIntervalMismatch},
		{bpf.VrrpDropReasonDROP_ADDR_COUNT, vrrp.DropAddrCount},
		{bpf.VrrpDropReasonDROP_ADDR_LIST, vrrp.DropAddrList},
		{bpf.VrrpDropReasonDROP_RATE_LIMITED, vrrp.DropRateLimited},
	}
	if len(pairs) != vrrp.NumDropReasons {
		t.Fatalf("table has %d reasons, vrrp has %d", len(pairs), vrrp.NumDropReasons)
	}
	if int(bpf.VrrpDropReasonNUM_DROP_REASONS) != vrrp.NumDropReasons {
		t.Errorf("NUM_DROP_REASONS = %d, vrrp.NumDropReasons = %d", bpf.VrrpDropReasonNUM_DROP_REASONS, vrrp.NumDropReasons)
	}
	for i, p := range pairs {
		if int(p.gov) != i || uint32(p.c) != uint32(p.gov) {
			t.Errorf("%v: C %d, Go %d (row %d)", p.gov, p.c, p.gov, i)
		}
	}
	if int(bpf.VrrpStatSTAT_NOT_VRRP) != vrrp.NumDropReasons {
		t.Errorf("STAT_NOT_VRRP = %d, want the first index after the drop reasons", bpf.VrrpStatSTAT_NOT_VRRP)
	}
}
