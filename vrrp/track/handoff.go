package track

// ScriptResult is where one vrrp_script stands: its status and
// keepalived's rise/fall counter, for handing the trackers' results to
// another process (an in-place upgrade), so that the scripts' verdicts
// and the instances' priorities do not restart from "init".
type ScriptResult struct {
	Name   string `json:"name"`
	Status string `json:"status"` // "ok", "failed" or "init"
	Result int    `json:"result"` // the rise/fall counter
	Init   bool   `json:"init,omitempty"`
}

// ScriptResults returns the results of every tracked vrrp_script. Safe
// for concurrent use.
func (t *Tracker) ScriptResults() []ScriptResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]ScriptResult, 0, len(t.scripts))
	for _, o := range t.scripts {
		out = append(out, ScriptResult{Name: o.name, Status: statusNames[o.status], Result: o.result, Init: o.initState})
	}
	return out
}

// SeedScripts takes results another process had (ScriptResults), before
// Run: a script of the same name starts from that status and counter
// (clamped to its own rise+fall); unknown names and statuses are
// skipped. It returns how many scripts were seeded. The verdicts are
// recomputed and returned by State.
func (t *Tracker) SeedScripts(rs []ScriptResult) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	by := map[string]ScriptResult{}
	for _, r := range rs {
		by[r.Name] = r
	}
	n := 0
	for _, o := range t.scripts {
		r, ok := by[o.name]
		if !ok {
			continue
		}
		st := -1
		for i, name := range statusNames {
			if name == r.Status {
				st = i
			}
		}
		if st < 0 {
			continue
		}
		rise, fall := max(o.script.Rise, 1), max(o.script.Fall, 1)
		o.status = status(st)
		o.result = min(max(r.Result, 0), rise+fall-1)
		o.initState = r.Init
		n++
	}
	for _, is := range t.insts {
		is.latest = t.compute(is)
		is.sent = is.latest
	}
	return n
}
