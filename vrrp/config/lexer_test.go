package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnterminatedQuote(t *testing.T) {
	_, errs := parse(t, "global_defs {\n router_id \"abc\n}\n")
	wantErr(t, errs, "t.conf:2: ", "unterminated quoted string")
}

func TestBracePlacement(t *testing.T) {
	for name, text := range map[string]string{
		"same line":          "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
		"next line":          "vrrp_instance VI_1\n{\n interface eth0\n virtual_router_id 5\n virtual_ipaddress\n {\n 10.0.0.1\n }\n}\n",
		"one line":           "vrrp_instance VI_1 { interface eth0\n virtual_router_id 5\n virtual_ipaddress { 10.0.0.1 } }\n",
		"blank line between": "vrrp_instance VI_1\n\n{\n interface eth0\n virtual_router_id 5\n virtual_ipaddress { 10.0.0.1 }\n}\n",
	} {
		t.Run(name, func(t *testing.T) {
			c := mustParse(t, text)
			if len(c.Instances) != 1 {
				t.Fatalf("%d instances", len(c.Instances))
			}
			in := c.Instances[0]
			if in.Name != "VI_1" || in.Interface != "eth0" || in.VRID != 5 || len(in.VIPs) != 1 || in.VIPs[0].Prefix.String() != "10.0.0.1/32" {
				t.Errorf("decoded %+v", in)
			}
		})
	}
}

func TestTreeErrors(t *testing.T) {
	_, errs := parse(t, "vrrp_instance VI_1 {\n interface eth0\n virtual_ipaddress {\n 10.0.0.1\n")
	wantErr(t, errs, "t.conf:1: ", `block "vrrp_instance VI_1" is never closed`)
	wantErr(t, errs, "t.conf:3: ", `block "virtual_ipaddress" is never closed`)

	_, errs = parse(t, "global_defs {\n}\n}\n")
	wantErr(t, errs, "t.conf:3: ", "unexpected '}'")

	_, errs = parse(t, "{\n}\n")
	wantErr(t, errs, "t.conf:1: ", "unexpected '{'")
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestIncludeGlob(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "keepalived.conf")
	write(t, main, "include conf.d/*.conf\ninclude scripts/{a,b}.inc\n")
	write(t, filepath.Join(dir, "conf.d", "20-vi2.conf"), minimal2("VI_2", 52))
	write(t, filepath.Join(dir, "conf.d", "10-vi1.conf"), minimal2("VI_1", 51))
	write(t, filepath.Join(dir, "conf.d", "ignored.txt"), "garbage {\n")
	// Relative to the including file's directory, not the main file's.
	write(t, filepath.Join(dir, "scripts", "a.inc"), "include nested/s.inc\n")
	write(t, filepath.Join(dir, "scripts", "nested", "s.inc"), "vrrp_script chk {\n script \"/bin/true\"\n}\n")
	write(t, filepath.Join(dir, "scripts", "b.inc"), "vrrp_script chk2 {\n script /bin/false\n bogus 1\n}\n")

	c, err := Load(main)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Instances) != 2 || c.Instances[0].Name != "VI_1" || c.Instances[1].Name != "VI_2" {
		t.Fatalf("instances in glob order: %+v", c.Instances)
	}
	if c.Instances[0].File != filepath.Join(dir, "conf.d", "10-vi1.conf") || c.Instances[0].Line != 1 {
		t.Errorf("instance position %s:%d", c.Instances[0].File, c.Instances[0].Line)
	}
	if c.Script("chk") == nil || c.Script("chk2") == nil {
		t.Errorf("scripts from nested includes: %+v", c.Scripts)
	}
	wantWarn(t, c, filepath.Join(dir, "scripts", "b.inc"), 3, "bogus", "unknown keyword")
	if len(c.Files) != 6 || c.Files[0] != main {
		t.Errorf("files read: %q", c.Files)
	}
}

func minimal2(name string, vrid int) string {
	return strings.NewReplacer("VI_1", name, "51", itoa(vrid)).Replace(minimal) + "}\n"
}

func itoa(i int) string { return fmt.Sprintf("%02d", i) }

func TestIncludeInsideBlock(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "vips.inc"), "10.0.0.7/24 dev eth0\n")
	main := filepath.Join(dir, "k.conf")
	write(t, main, "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 9\n virtual_ipaddress {\n  include vips.inc\n }\n}\n")
	c, err := Load(main)
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Instances[0].VIPs; len(v) != 1 || v[0].Prefix.String() != "10.0.0.7/24" || v[0].Dev != "eth0" {
		t.Errorf("VIPs %+v", v)
	}
}

func TestIncludeCycle(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.conf"), filepath.Join(dir, "b.conf")
	write(t, a, "include b.conf\n")
	write(t, b, "\ninclude a.conf\n")
	_, err := Load(a)
	errs := errLines(t, err)
	wantErr(t, errs, b+":2: ", "include cycle: "+a+" -> "+b+" -> "+a)

	// A file including itself.
	write(t, a, "include *.conf\n")
	_, err = Load(a)
	wantErr(t, errLines(t, err), a+":1: ", "include cycle")
}

func TestIncludeDepth(t *testing.T) {
	dir := t.TempDir()
	// Distinct files, so no cycle: only the depth limit stops it.
	for i := 0; i < maxIncludeDepth+3; i++ {
		write(t, filepath.Join(dir, "f"+itoa(i)+".conf"), "include f"+itoa(i+1)+".conf\n")
	}
	_, err := Load(filepath.Join(dir, "f00.conf"))
	wantErr(t, errLines(t, err), filepath.Join(dir, "f"+itoa(maxIncludeDepth-1)+".conf")+":1: ", "nested deeper than")
}

func TestIncludeMissing(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "k.conf")
	write(t, main, "include nothing/*.conf\nincludea none.conf\n")
	c, err := Load(main)
	wantErr(t, errLines(t, err), main+":2: ", "includea none.conf: no such file or directory")
	wantWarn(t, c, main, 1, "include", "nothing/*.conf: no such file or directory; nothing included")
}
