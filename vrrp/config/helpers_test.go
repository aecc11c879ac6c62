package config

import (
	"errors"
	"strings"
	"testing"
)

// parse parses text as "t.conf" and returns the config and each error line.
func parse(t *testing.T, text string) (*Config, []string) {
	t.Helper()
	c, err := Parse("t.conf", []byte(text))
	if c == nil {
		t.Fatal("Parse returned a nil Config")
	}
	return c, errLines(t, err)
}

func errLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, want Errors", err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Error()
	}
	return out
}

// mustParse parses text and fails on any error.
func mustParse(t *testing.T, text string) *Config {
	t.Helper()
	c, errs := parse(t, text)
	if len(errs) > 0 {
		t.Fatalf("unexpected errors:\n%s", strings.Join(errs, "\n"))
	}
	return c
}

// wantErr asserts that one error line starts with prefix ("t.conf:3: ") and
// contains sub.
func wantErr(t *testing.T, errs []string, prefix, sub string) {
	t.Helper()
	for _, e := range errs {
		if strings.HasPrefix(e, prefix) && strings.Contains(e, sub) {
			return
		}
	}
	t.Errorf("no error %q...%q among:\n%s", prefix, sub, strings.Join(errs, "\n"))
}

// wantWarn asserts a warning for keyword at file:line whose message contains sub.
func wantWarn(t *testing.T, c *Config, file string, line int, keyword, sub string) {
	t.Helper()
	for _, w := range c.Warnings {
		if w.File == file && w.Line == line && w.Keyword == keyword && strings.Contains(w.Message, sub) {
			return
		}
	}
	var got []string
	for _, w := range c.Warnings {
		got = append(got, w.String())
	}
	t.Errorf("no warning %s:%d %s %q among:\n%s", file, line, keyword, sub, strings.Join(got, "\n"))
}

// minimal is a valid instance to build on.
const minimal = `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.10/24
    }
`
