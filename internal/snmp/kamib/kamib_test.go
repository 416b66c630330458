package kamib

import (
	"testing"

	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/snmp/agentx"
)

// TestGlobal: the scalars keepalived derives rather than copies — the smtp_alert
// tristates (an inherited smtp_alert leaves smtp_alert_vrrp unset), lvs_flush_on_stop's
// three forms, the address type of an unset SMTP server — and the emailTable's rows.
func TestGlobal(t *testing.T) {
	for _, tc := range []struct {
		name, globals string
		want          map[string]any
	}{
		{"defaults", "", map[string]any{
			"3.1.0": int32(2), "3.2.0": []byte{0, 0, 0, 0}, "3.3.0": uint32(0), "3.6.0": uint32(0),
			"3.8.0": int32(3), "3.9.0": int32(3), "3.10.0": int32(3), "11.0": int32(2), "2.0": "(host)",
		}},
		{"inherited smtp_alert", "smtp_alert\nlvs_flush_on_stop\n", map[string]any{
			"3.8.0": int32(1), "3.9.0": int32(3), "3.10.0": int32(3), "11.0": int32(1),
		}},
		{"own smtp_alert_vrrp", "smtp_alert off\nsmtp_alert_vrrp on\nlvs_flush_on_stop VS\n", map[string]any{
			"3.8.0": int32(2), "3.9.0": int32(1), "3.10.0": int32(3), "11.0": int32(3),
		}},
		{"mail", "router_id r1\nsmtp_server 192.0.2.25 587\nnotification_email {\na@example.org\nb@example.org\n}\nnotification_email_from lb@example.org\n", map[string]any{
			"2.0": []byte("r1"), "3.1.0": int32(1), "3.2.0": []byte{192, 0, 2, 25}, "3.3.0": uint32(30), "3.6.0": uint32(587),
			"3.4.0": []byte("lb@example.org"), "3.5.1.2.1": []byte("a@example.org"), "3.5.1.2.2": []byte("b@example.org"),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, diags := config.Parse("k.conf", []byte("global_defs {\n"+tc.globals+"}\n"), config.Options{})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			g := &Global{Config: func() *config.Config { return cfg }, Version: "v1"}
			got := map[string]agentx.Variable{}
			for _, v := range g.Variables() {
				if !v.Name.HasPrefix(GlobalRoot) {
					t.Fatalf("%s is outside %s", v.Name, GlobalRoot)
				}
				got[v.Name[len(GlobalRoot):].String()] = v
			}
			for name, want := range tc.want {
				v, ok := got[name]
				switch {
				case !ok:
					t.Errorf("%s: absent", name)
				case want == "(host)":
					if len(v.Value.([]byte)) == 0 {
						t.Errorf("%s: no router_id by default", name)
					}
				case !equal(v.Value, want):
					t.Errorf("%s = %v, want %v", name, v.Value, want)
				}
			}
		})
	}
	if vars := (&Global{Config: func() *config.Config { return nil }}).Variables(); vars != nil {
		t.Errorf("without a configuration: %v", vars)
	}
}

func equal(a, b any) bool {
	if x, ok := a.([]byte); ok {
		y, ok := b.([]byte)
		return ok && string(x) == string(y)
	}
	return a == b
}
