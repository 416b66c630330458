package config

import (
	"strings"
	"testing"
)

// TestRealServerPorts: a DR or TUN server (and sorry server) off the service's port, or
// with a port under a fwmark service, is warned about, as keepalived warns when it
// resets the port IPVS gets; two servers that IPVS would then see as one are an error.
// NAT servers and group members keep their ports silently.
func TestRealServerPorts(t *testing.T) {
	for _, tc := range []struct {
		name, vs, body string
		want           []string // diagnostics, in order; none when empty
	}{
		{"DR other port", "192.0.2.1 80", "lb_kind DR\n real_server 10.0.0.1 8080 {\n }",
			[]string{"t.conf:6:2: warning: virtual_server 192.0.2.1:80: real_server 10.0.0.1:8080 is not on the service's port; IPVS gets port 80 for a DR server, as keepalived (its checkers connect to 8080)"}},
		{"TUN fwmark", "fwmark 7", "lb_kind TUN\n real_server 10.0.0.1 80 {\n }",
			[]string{"t.conf:6:2: warning: virtual_server fwmark 7: real_server 10.0.0.1 has a port; IPVS gets port 0 for a TUN server of a fwmark service, as keepalived (its checkers connect to 80)"}},
		{"DR sorry server", "192.0.2.1 80", "lb_kind DR\n sorry_server 10.0.0.9 8080\n real_server 10.0.0.1 80 {\n }",
			[]string{"t.conf:6:2: warning: virtual_server 192.0.2.1:80: sorry_server 10.0.0.9:8080 is not on the service's port; IPVS gets port 80 for a DR server, as keepalived"}},
		{"DR two ports, one server", "192.0.2.1 80", "lb_kind DR\n real_server 10.0.0.1 80 {\n }\n real_server 10.0.0.1 8080 {\n }",
			[]string{"t.conf:8:2: warning: virtual_server 192.0.2.1:80: real_server 10.0.0.1:8080 is not on the service's port; IPVS gets port 80 for a DR server, as keepalived (its checkers connect to 8080)",
				"t.conf:8:2: error: virtual_server 192.0.2.1:80: real_server 10.0.0.1:80 is already defined at line 6"}},
		{"DR same port", "192.0.2.1 80", "lb_kind DR\n real_server 10.0.0.1 80 {\n }", nil},
		{"NAT other port", "192.0.2.1 80", "lb_kind NAT\n real_server 10.0.0.1 8080 {\n }", nil},
		{"group member", "group G", "lb_kind DR\n real_server 10.0.0.1 8080 {\n }", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proto := "\n protocol TCP"
			if strings.HasPrefix(tc.vs, "fwmark") {
				proto = ""
			}
			src := "virtual_server_group G {\n 192.0.2.2 443\n}\nvirtual_server " + tc.vs + " {\n " + tc.body + "\n lb_algo rr" + proto + "\n}\n"
			_, diags := Parse("t.conf", []byte(src), Options{})
			var got []string
			for _, d := range diags {
				got = append(got, d.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
