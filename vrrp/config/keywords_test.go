package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The generated table has what keepalived's parsers install, with the
// right kind: what keepalived reads as a block of keywords, as a block of
// values, or as a line.
func TestKeywordTable(t *testing.T) {
	for _, tc := range []struct {
		path        string
		kind        kaKind
		since, till string
	}{
		{"vrrp_instance", kaBlock, "2.2.7", ""},
		{"vrrp_instance authentication", kaBlock, "2.2.7", ""},
		{"vrrp_instance authentication auth_type", kaLine, "2.2.7", ""},
		{"vrrp_instance virtual_ipaddress", kaValues, "2.2.7", ""},
		{"vrrp_instance virtual_ipaddress_excluded", kaValues, "2.2.7", ""},
		{"vrrp_instance unicast_peer", kaValues, "2.2.7", ""},
		{"vrrp_instance track_script", kaValues, "2.2.7", ""},
		{"vrrp_instance track_file", kaValues, "2.2.7", ""},
		{"vrrp_instance lvs_sync_daemon_interface", kaLine, "2.2.7", ""},
		{"vrrp_sync_group group", kaValues, "2.2.7", ""},
		{"global_defs notification_email", kaValues, "2.2.7", ""},
		{"global_defs log_unknown_vrids", kaLine, "2.2.7", ""},
		{"global_defs use_symlink_paths", kaLine, "2.3.0", ""},
		{"global_defs vrrp_delay_after_boot", kaLine, "2.4.0", ""},
		{"vrrp_instance auth_hmac", kaBlock, "2.4.0", ""},
		{"vrrp_track_file", kaBlock, "2.2.7", ""},
		{"virtual_server_group", kaValues, "2.2.7", ""},
		{"virtual_server real_server HTTP_GET url path", kaLine, "2.2.7", ""},
		{"virtual_server real_server MISC_CHECK misc_path", kaLine, "2.2.7", ""},
		{"net_namespace", kaLine, "2.2.7", ""},
	} {
		k := kaByPath[tc.path]
		if k == nil {
			t.Errorf("%s: not in the table", tc.path)
			continue
		}
		if k.kind != tc.kind || k.since() != tc.since || k.until() != tc.till {
			t.Errorf("%s: %v since %s until %q, want %v since %s until %q", tc.path, k.kind, k.since(), k.until(), tc.kind, tc.since, tc.till)
		}
	}
	// Names xvrrpd's hand-written lists had, which keepalived does not
	// know; MISC_CHECK has no connection keywords.
	for _, p := range []string{"global_defs vrrp_log_unknown_vrids", "global_defs lvs_sync_daemon_interface",
		"global_defs net_namespace", "vrrp_instance no_preempt", "vrrp_instance notify_fifo",
		"static_track_group", "vrrp_group", "virtual_server real_server MISC_CHECK connect_port", "real_server"} {
		if kaByPath[p] != nil {
			t.Errorf("%s is in the table", p)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{
		{"priority", "priority", 0}, {"priorty", "priority", 1}, {"prioirty", "priority", 1},
		{"", "abc", 3}, {"interface", "interfaces", 1}, {"virtual_ipadress", "virtual_ipaddress", 1},
		{"abc", "xyz", 3},
	} {
		if d := editDistance(tc.a, tc.b); d != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, d, tc.d)
		}
	}
}

func TestSuggest(t *testing.T) {
	for _, tc := range []struct {
		block, name, suggest, elsewhere string
	}{
		{"vrrp_instance", "priorty", "priority", ""},
		{"vrrp_instance", "Priority", "priority", ""},
		{"vrrp_instance", "virtual_ipadress", "virtual_ipaddress", ""},
		{"vrrp_instance", "nopreemt", "nopreempt", ""},
		{"vrrp_instance", "no_preempt", "nopreempt", ""},
		{"vrrp_instance", "notify_fifo", "", "global_defs"},
		{"global_defs", "enable_script_securty", "enable_script_security", ""},
		{"", "vrrp_instanse", "vrrp_instance", ""},
		{"", "real_server", "", "virtual_server"},
		{"", "priority", "", "vrrp_instance"},
		{"vrrp_instance", "completely_different", "", ""},
	} {
		s, e := kaSuggest(tc.block, tc.name)
		if s != tc.suggest || e != tc.elsewhere {
			t.Errorf("kaSuggest(%q, %q) = %q, %q; want %q, %q", tc.block, tc.name, s, e, tc.suggest, tc.elsewhere)
		}
	}
}

// probeAt returns a configuration with line written in block (a keyword
// path), and the line number of line.
func probeAt(block, line string) (string, int) {
	var open, close []string
	var path []string
	for _, b := range strings.Fields(block) {
		path = append(path, b)
		if p := strings.Join(path, " "); p == "vrrp_instance" {
			open = append(open, "vrrp_instance P {", " interface eth0", " virtual_router_id 1", " virtual_ipaddress {", "  10.0.0.1/24", " }")
		} else {
			open = append(open, blockHead(p))
		}
		close = append(close, "}")
	}
	lines := append(append(append([]string{}, open...), line), close...)
	return strings.Join(lines, "\n") + "\n", len(open) + 1
}

// blockHead is the line that opens the block of keyword path, with the
// arguments keepalived wants.
func blockHead(path string) string {
	f := strings.Fields(path)
	name := f[len(f)-1]
	switch {
	case path == "virtual_server":
		return "virtual_server 10.0.0.1 80 {"
	case path == "virtual_server real_server":
		return "real_server 10.0.0.2 80 {"
	case path == "global_defs" || len(f) > 1:
		return name + " {"
	}
	return name + " x {"
}

// typos returns misspellings of name: each character dropped, doubled,
// swapped with the next one.
func typos(name string) []string {
	var out []string
	for i := range name {
		out = append(out, name[:i]+name[i+1:])
		out = append(out, name[:i]+name[i:i+1]+name[i:])
		if i+1 < len(name) && name[i] != name[i+1] {
			out = append(out, name[:i]+name[i+1:i+2]+name[i:i+1]+name[i+2:])
		}
	}
	return out
}

// xvrrpd -t is never more lenient than keepalived on a typo: every
// misspelling of every keyword keepalived knows, written where keepalived
// would look for the keyword and not itself a keyword there, is an unknown
// keyword that fails -t (in keepalived's checker blocks too, which xvrrpd
// otherwise ignores).
func TestTyposFailTest(t *testing.T) {
	n := 0
	for i := range kaTable {
		k := &kaTable[i]
		if k.block() == "virtual_server_group" {
			continue // its lines are values
		}
		ts := typos(k.name())
		if testing.Short() {
			ts = ts[:min(len(ts), 6)]
		}
		for _, typo := range ts {
			if typo == "" || strings.ContainsAny(typo, "{}#!\"") || kaLookup(k.block(), typo) != nil ||
				strings.HasPrefix(typo, "include") || strings.HasPrefix(typo, "@") || strings.HasPrefix(typo, "$") {
				continue
			}
			text, line := probeAt(k.block(), typo+" 1")
			c, err := Parse("t.conf", []byte(text))
			found := false
			for _, w := range c.Warnings {
				if w.Line == line && w.Keyword == typo && w.Kind == KindUnknown {
					found = true
				}
			}
			if !found || NewVerdict("t.conf", c, err).OK {
				t.Errorf("%q (for %s) in %s: no unknown keyword that fails -t:\n%s%s", typo, k.name(), blockName(k.block()), text, warnList(c))
			}
			n++
		}
	}
	if n < 2000 {
		t.Errorf("only %d typos tried", n)
	}
}

// keepalived reads the lines of an unknown block as lines of the
// enclosing block, and the '}' that ends it ends the enclosing block:
// nested, the early ends chain up.
func TestUnknownBlockNested(t *testing.T) {
	c, _ := parse(t, `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    authentication {
        auth_typ {
            auth_type PASS
        }
        auth_pass secret1
    }
    priority 150
    virtual_ipaddress {
        10.0.0.10/24
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority 120
    virtual_ipaddress {
        10.0.0.11/24
    }
}
`)
	// auth_typ: its line auth_type PASS is read as a line of
	// authentication (the type is set), its '}' ends authentication;
	// auth_pass is then read in vrrp_instance (unknown), the '}' of
	// authentication ends vrrp_instance: priority and the addresses of
	// VI_1 land at the top level.
	a, b := c.Instance("VI_1"), c.Instance("VI_2")
	if a == nil || b == nil {
		t.Fatalf("instances %+v", c.Instances)
	}
	if a.Priority != 100 || len(a.VIPs) != 0 || a.AuthType != 0 {
		t.Errorf("VI_1: priority %d VIPs %v auth %v", a.Priority, a.VIPs, a.AuthType)
	}
	if b.Priority != 120 || len(b.VIPs) != 1 {
		t.Errorf("VI_2: priority %d VIPs %v", b.Priority, b.VIPs)
	}
	wantWarn(t, c, "t.conf", 5, "auth_typ", "ends authentication, then vrrp_instance VI_1 early")
	n := 0
	for _, w := range c.Warnings {
		if w.Kind == KindUnknown {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d unknown-keyword warnings, want the one for auth_typ:\n%s", n, warnList(c))
	}
}

// A keyword that takes no block given one: keepalived reads the line, then
// the lines of the block where the keyword is.
func TestLineKeywordWithBlock(t *testing.T) {
	c, _ := parse(t, instance("    nopreempt {\n        priority 150\n    }\n    priority 90\n"))
	in := c.Instances[0]
	if in.Preempt || in.Priority != 150 || len(in.VIPs) != 0 {
		t.Errorf("preempt %v priority %d VIPs %v", in.Preempt, in.Priority, in.VIPs)
	}
	wantWarn(t, c, "t.conf", 4, "nopreempt", "takes no block")
}

// TestKeywordTableAgainstKeepalived asks keepalived 2.2.7 about every
// block of the table, one file each: every keyword the table has there
// (from 2.2.7) must be known to it, and typos of them, written after,
// unknown (so the table misses no keyword keepalived knows near them).
func TestKeywordTableAgainstKeepalived(t *testing.T) {
	requireKeepalived227(t)
	// Keywords of other builds than Debian's (ipset, linkbeat), and
	// top-level keywords that change how keepalived runs.
	skip := set("global_defs vrrp_ipsets", "linkbeat_interfaces", "linkbeat_use_polling", "vrrp_instance linkbeat_use_polling",
		"net_namespace", "net_namespace_ipvs", "namespace_with_ipsets", "instance", "use_pid_dir", "child_wait_time")
	dir := t.TempDir()
	re := regexp.MustCompile(`Line (\d+)\) Unknown keyword '([^']*)'`)
	blocks := []string{""}
	for i := range kaTable {
		if k := &kaTable[i]; k.kind == kaBlock && k.first == 0 {
			blocks = append(blocks, k.path)
		}
	}
	known, typosTried := 0, 0
	for bi, block := range blocks {
		var lines []string
		isKnown := map[int]string{}
		isTypo := map[int]string{}
		var typoLines []string
		for _, name := range kaChildren[block] {
			k := kaLookup(block, name)
			if k.first != 0 || skip[k.path] {
				continue
			}
			switch k.kind {
			case kaLine:
				lines = append(lines, name+" 1")
			case kaBlock:
				if block == "virtual_server real_server" {
					// An empty checker crashes keepalived 2.2.7's
					// checker; the checker's own file names it.
					continue
				}
				lines = append(lines, blockHead(k.path), "}")
			default:
				lines = append(lines, name+" {", "}")
			}
			isKnown[len(lines)-boolInt(k.kind != kaLine)] = k.path
			for _, typo := range typos(name)[:2] {
				if typo != "" && kaLookup(block, typo) == nil && !strings.ContainsAny(typo, "{}#!\"@$") && !strings.HasPrefix(typo, "include") {
					typoLines = append(typoLines, typo+" 1")
				}
			}
		}
		for _, l := range typoLines {
			lines = append(lines, l)
			isTypo[len(lines)] = l
		}
		if block == "virtual_server_group" || len(lines) == 0 {
			continue
		}
		text, at := probeAt(block, "%LINES%")
		text = strings.Replace(text, "%LINES%", strings.Join(lines, "\n"), 1)
		f := filepath.Join(dir, fmt.Sprintf("b%d.conf", bi))
		if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, out := runKeepalived(t, f)
		unknown := map[int]bool{}
		for _, m := range re.FindAllStringSubmatch(out, -1) {
			var n int
			fmt.Sscan(m[1], &n)
			unknown[n-at+1] = true
		}
		for n, p := range isKnown {
			known++
			if unknown[n] {
				t.Errorf("keepalived 2.2.7 does not know %s", p)
			}
		}
		for n, l := range isTypo {
			typosTried++
			if !unknown[n] {
				t.Errorf("keepalived 2.2.7 knows %q in %s, the table does not:\n%s", l, blockName(block), out)
			}
		}
	}
	if known < 400 || typosTried < 800 {
		t.Errorf("only %d keywords and %d typos tried", known, typosTried)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FuzzKeepalivedTree: whatever the input, the tree kaNormalize returns
// holds only keywords keepalived knows where they are (the checker's
// blocks and the blocks of values kept as written), and every keyword it
// drops is reported.
func FuzzKeepalivedTree(f *testing.F) {
	for _, s := range []string{
		instance("    priorty 1\n"),
		"vrrp_instance A {\n virtual_ipadress {\n  10.0.0.1\n }\n priority 2\n}\n}\n",
		"global_defs {\n auth { x {\n } }\n}\nvirtual_server 1 2 {\n real_server 3 4 {\n wieght 1\n }\n}\n",
		"a {\nb {\nc\n}\n}\nvrrp_script s {\n script x\n}\n",
		"include /etc/*\n",
	} {
		f.Add(s)
	}
	files, _ := filepath.Glob("testdata/corpus/*.conf")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	// Includes are read in an empty directory only, as in FuzzLex.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		lx := fuzzLexer(dir)
		d := lx.diag
		lx.lexFile(filepath.Join(dir, "f.conf"), []byte(text))
		for _, file := range lx.files {
			if !within(dir, file) {
				t.Fatalf("read %s, outside the fuzz directory %s", file, dir)
			}
		}
		in := buildTree(lx.toks, d)
		before := len(d.warns)
		out := kaNormalize(in, d)
		var walk func(path string, ns []*node)
		walk = func(path string, ns []*node) {
			for _, n := range ns {
				k := kaLookup(path, n.keyword)
				if k == nil {
					t.Fatalf("%s: %q kept in %s", n.pos.at(), n.keyword, blockName(path))
				}
				if k.kind == kaBlock && !(path == "" && kaCheckerRoots[n.keyword]) {
					walk(k.path, n.children)
				} else if k.kind == kaLine && n.block {
					t.Fatalf("%s: %s kept with a block", n.pos.at(), n.keyword)
				}
			}
		}
		walk("", out)
		if count(out) > count(in) {
			t.Fatalf("%d statements out of %d", count(out), count(in))
		}
		if count(out) < count(in) && len(d.warns) == before {
			t.Fatalf("statements dropped without a finding")
		}
	})
}

// count is the number of statements of a tree.
func count(ns []*node) int {
	n := len(ns)
	for _, c := range ns {
		n += count(c.children)
	}
	return n
}
