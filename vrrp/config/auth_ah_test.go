package config

import (
	"testing"

	"github.com/xvrrp/xvrrp/vrrp"
)

// Reference: RFC 2338 §5.3.6.3 (IP Authentication Header); keepalived 2.2.7
// vrrp_parser.c: auth_type AH keys HMAC-MD5 with auth_pass truncated to 8
// bytes and NUL-padded, as PASS sends it.
func TestAuthenticationAH(t *testing.T) {
	c := mustParse(t, minimal+" authentication {\n  auth_type AH\n  auth_pass neutron-secret\n }\n}\n")
	in := c.Instances[0]
	if in.AuthType != vrrp.AuthAH {
		t.Errorf("AuthType = %v, want AuthAH (2)", in.AuthType)
	}
	if in.AuthPass != [8]byte{'n', 'e', 'u', 't', 'r', 'o', 'n', '-'} {
		t.Errorf("AuthPass = %q, want the first 8 bytes", in.AuthPass)
	}
	wantWarn(t, c, "t.conf", 9, "auth_pass", "truncated")

	c = mustParse(t, minimal+" authentication {\n  auth_type AH\n  auth_pass ab\n }\n}\n")
	if in := c.Instances[0]; in.AuthType != vrrp.AuthAH || in.AuthPass != [8]byte{'a', 'b'} {
		t.Errorf("short pass: %v %q", in.AuthType, in.AuthPass)
	}

	// VRRPv3 has no authentication (RFC 5798 §9): AH is dropped like PASS.
	c = mustParse(t, minimal+" version 3\n authentication {\n  auth_type AH\n  auth_pass x\n }\n}\n")
	if c.Instances[0].AuthType != vrrp.AuthNone {
		t.Error("v3 kept AH")
	}
	wantWarn(t, c, "t.conf", 8, "authentication", "VRRPv3")
}
