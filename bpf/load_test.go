package bpf_test

import (
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/loader"
	"github.com/xvrrp/xvrrp/vrrp"
)

func TestLoadSmoke(t *testing.T) {
	r := router(vrrp.V3, 7, false, time.Second, vip4a)
	start := time.Now()
	l := newLoader(t, loader.Options{}, r.inst)
	t.Logf("load %v", time.Since(start))
	xdp, tc := l.Programs()
	a := vrrp.Advert{Version: vrrp.V3, VRID: 7, Priority: 100, Interval: time.Second, Addrs: r.expect.VIPs}
	f := frame{src: peer4, dst: vrrp.GroupIPv4, ttl: 255, payload: advert(t, a, peer4, vrrp.GroupIPv4)}
	if v := runProg(t, xdp, f.bytes()); v != xdpDrop {
		t.Errorf("xdp verdict %d", v)
	}
	if v := runProg(t, tc, f.bytes()); v != tcxDrop {
		t.Errorf("tc verdict %d", v)
	}
	t.Logf("%+v", stats(t, l))
}
