package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes the parser panic or loop, and that
// every error and warning carries a position.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/seed/*.conf")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		minimal + "}\n",
		"{}}{{\n}",
		"a \"b\nc\" {\n",
		"vrrp_instance { { } }",
		"include *\n",
		"include {a,{b,c}}/{d,e}\n",
		"vrrp_instance X {\n virtual_ipaddress {\n fd00::1/129 dev\n }\n advert_int 1e400\n version 3\n}\n",
		"global_defs {\n vrrp_garp_interval NaN\n}\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		// The name places relative includes in an empty directory.
		c, err := Parse(filepath.Join(dir, "fuzz.conf"), data)
		if c == nil {
			t.Fatal("nil Config")
		}
		for _, e := range errLines(t, err) {
			if e == "" {
				t.Error("empty error")
			}
		}
		for _, w := range c.Warnings {
			if w.Line < 1 || w.Keyword == "" && w.Message == "" {
				t.Errorf("warning without position: %+v", w)
			}
		}
	})
}
