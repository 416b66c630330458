package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConf(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const validConf = `vrrp_instance VI_1 {
    interface lo
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.10/24
    }
}
virtual_server 192.0.2.10 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 8080 {
        TCP_CHECK {
        }
    }
}
`

func TestCheckCommand(t *testing.T) {
	valid := writeConf(t, validConf)
	warn := writeConf(t, strings.Replace(validConf, "lb_algo rr", "lb_algo rr\n    prority 3", 1))
	broken := writeConf(t, strings.Replace(validConf, "virtual_router_id 51", "virtual_router_id 300", 1))
	// Parses, but govs run could not run it: RE2 has no back-references.
	backref := writeConf(t, strings.Replace(validConf, "TCP_CHECK {\n        }", "HTTP_GET {\n            url {\n                path /\n                regex \"(a)\\1\"\n            }\n        }", 1))
	tests := []struct {
		name       string
		args       []string
		code       int
		wantStderr string
		wantStdout string
	}{
		{"valid", []string{"-f", valid}, 0, "", ""},
		{"warning", []string{"-f", warn}, 0, "warning: unknown keyword \"prority\"", ""},
		{"strict", []string{"-f", warn, "--strict"}, 1, "error: unknown keyword \"prority\"", ""},
		{"error", []string{"-f", broken}, 1, ":3:23: error: virtual_router_id: 300 is out of range 1..255", ""},
		{"regex RE2 cannot run", []string{"-f", backref}, 1, `:16:17: regex "(a)\\1": error parsing regexp: invalid escape sequence`, ""},
		{"missing file", []string{"-f", filepath.Join(t.TempDir(), "nope.conf")}, 1, "cannot read", ""},
		{"dump", []string{"-f", valid, "--dump", "json"}, 0, "", `"virtual_router_id": 51`},
		{"bad dump", []string{"-f", valid, "--dump", "yaml"}, 2, "only json", ""},
		{"bad flag", []string{"--nope"}, 2, "flag provided but not defined", ""},
		{"help", []string{"-h"}, 0, "usage: govs check", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := dispatch(append([]string{"check"}, tt.args...), &out, &errb)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, errb.String())
			}
			if !strings.Contains(errb.String(), tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), tt.wantStderr)
			}
			if !strings.Contains(out.String(), tt.wantStdout) {
				t.Errorf("stdout lacks %q", tt.wantStdout)
			}
			if tt.name == "dump" && !json.Valid(out.Bytes()) {
				t.Errorf("dump is not JSON")
			}
		})
	}
}
