package track

import (
	"errors"
	"path/filepath"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/xvrrp/xvrrp/vrrp/config"
)

// Results carried to a new Tracker give the same verdicts at once, before
// any script ran there: a failed weight -30 script keeps the priority
// down, a weight-0 script that had reported does not hold the instance in
// INIT again.
func TestSeedScripts(t *testing.T) {
	dir := t.TempDir()
	conf := `
vrrp_script chk {
  script "/bin/true"
  interval 1
  weight -30
  rise 2
  fall 2
}
vrrp_script gate {
  script "/bin/true"
  interval 1
  weight 0
}
vrrp_instance VI_1 {
  interface lo
  virtual_router_id 1
  priority 100
  virtual_ipaddress { 192.0.2.1 }
  track_script {
    chk
    gate
  }
}
`
	cfg, err := config.Parse(filepath.Join(dir, "k.conf"), []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	newTracker := func() *Tracker {
		tr, err := New(cfg, zaptest.NewLogger(t), Options{SkipSecurity: true})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	old := newTracker()
	if u, _ := old.State("VI_1"); !u.Waiting {
		t.Fatalf("before any result: %+v, want waiting on gate", u)
	}
	// What the old process saw: chk failed, gate succeeded.
	old.mu.Lock()
	for _, o := range old.scripts {
		o.record(o.name == "gate")
	}
	old.mu.Unlock()
	rs := old.ScriptResults()

	if n := newTracker().SeedScripts([]ScriptResult{{Name: "chk", Status: "bogus"}}); n != 0 {
		t.Fatalf("an unknown status was seeded (%d)", n)
	}
	nt := newTracker()
	if n := nt.SeedScripts(append(rs, ScriptResult{Name: "gone", Status: "ok"})); n != 2 {
		t.Fatalf("seeded %d scripts, want 2", n)
	}
	u, _ := nt.State("VI_1")
	if u.Waiting || u.Priority != 70 {
		t.Fatalf("seeded verdict %+v: want priority 70 (100 - 30), not waiting", u)
	}
	got := nt.ScriptResults()
	for i := range rs {
		if got[i] != rs[i] {
			t.Errorf("script %s: seeded %+v, had %+v", rs[i].Name, got[i], rs[i])
		}
	}
}

func TestDroppedForeign(t *testing.T) {
	if !DroppedForeign(errors.New("Wrong sender portid 2889634130, expected 0")) {
		t.Error("the library's foreign-sender report not recognised")
	}
	if DroppedForeign(errors.New("no buffer space available")) || DroppedForeign(nil) {
		t.Error("another error taken for a foreign sender")
	}
}
