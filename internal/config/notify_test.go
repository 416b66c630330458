package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// mailConf is a configuration with one instance, one sync group, one virtual server and
// its real server; globals and each object's extra lines are filled in.
func mailConf(global, instance, group, vs, rs string) string {
	return "global_defs {\n" + global + "\n}\n" +
		"vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n" + instance + "\n}\n" +
		"vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 2\n}\n" +
		"vrrp_sync_group G {\n group { VI_1 VI_2 }\n" + group + "\n}\n" +
		"virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n" + vs + "\n" +
		" real_server 10.0.1.1 80 {\n" + rs + "\n  TCP_CHECK {}\n }\n}\n"
}

const mailOn = " smtp_server 127.0.0.1\n notification_email { ops@example.com }\n"

// TestSMTPAlertResolution checks keepalived's defaults: instances, sync groups and
// virtual servers take smtp_alert_vrrp / smtp_alert_checker, which take smtp_alert, and
// are off otherwise; real servers are on unless a global says otherwise; nothing is on
// when no mail can be sent.
func TestSMTPAlertResolution(t *testing.T) {
	type want struct{ instance, group, vs, rs bool }
	tests := []struct {
		name                    string
		global                  string
		instance, group, vs, rs string
		want                    want
	}{
		{name: "defaults", global: mailOn, want: want{rs: true}},
		{name: "no mail turns all off", global: " smtp_alert", rs: " smtp_alert on", want: want{}},
		{name: "server without recipients", global: " smtp_server 127.0.0.1\n smtp_alert", want: want{}},
		{name: "global on", global: mailOn + " smtp_alert", want: want{true, true, true, true}},
		{name: "global off turns real servers off", global: mailOn + " smtp_alert off", want: want{}},
		{name: "vrrp off, rest on", global: mailOn + " smtp_alert\n smtp_alert_vrrp no", want: want{vs: true, rs: true}},
		{name: "checker off, rest on", global: mailOn + " smtp_alert\n smtp_alert_checker false", want: want{instance: true, group: true}},
		{name: "checker on only", global: mailOn + " smtp_alert_checker", want: want{vs: true, rs: true}},
		{name: "objects override", global: mailOn + " smtp_alert off", instance: " smtp_alert", group: " smtp_alert yes", vs: " smtp_alert", rs: " smtp_alert true", want: want{true, true, true, true}},
		{name: "real server off", global: mailOn, rs: " smtp_alert off", want: want{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustParse(t, mailConf(tt.global, tt.instance, tt.group, tt.vs, tt.rs), Options{})
			vs := cfg.VirtualServers[0]
			got := want{cfg.Instances[0].SMTPAlert, cfg.SyncGroups[0].SMTPAlert, vs.SMTPAlert, vs.RealServers[0].SMTPAlert}
			if got != tt.want {
				t.Errorf("instance/group/vs/rs = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSMTPAlertLines(t *testing.T) {
	cfg := mustParse(t, mailConf(mailOn+" smtp_alert", "", "", "", ""), Options{})
	g := cfg.Global
	if g.Line("smtp_alert_checker") != g.Line("smtp_alert") || g.Line("smtp_alert").Line != 4 {
		t.Errorf("smtp_alert_checker inherits smtp_alert's line 4; got %v and %v", g.Line("smtp_alert_checker"), g.Line("smtp_alert"))
	}
	if rs := cfg.VirtualServers[0].RealServers[0]; rs.Line("smtp_alert").Line != 4 {
		t.Errorf("real server smtp_alert comes from line 4, got %v", rs.Line("smtp_alert"))
	}
	cfg = mustParse(t, mailConf(mailOn, "", "", "", ""), Options{})
	if rs := cfg.VirtualServers[0].RealServers[0]; rs.IsSet("smtp_alert") || !rs.SMTPAlert {
		t.Errorf("real server default: on and set by no line; got %v at %v", rs.SMTPAlert, rs.Line("smtp_alert"))
	}
}

func TestMailGlobals(t *testing.T) {
	tests := []struct {
		name   string
		global string
		check  func(g *GlobalDefs) string
	}{
		{"defaults", "", func(g *GlobalDefs) string {
			return check(g.SMTPServer == nil && g.SMTPConnectTimeout == 30*time.Second && !g.MailEnabled(), "%+v", g)
		}},
		{"server with port, IPv6", " smtp_server 2001:DB8::1 2525", func(g *GlobalDefs) string {
			return check(g.SMTPServer.String() == "[2001:db8::1]:2525", "%v", g.SMTPServer)
		}},
		{"server by name, port 25", " smtp_server mail.example.com.", func(g *GlobalDefs) string {
			return check(*g.SMTPServer == HostPort{"mail.example.com.", 25}, "%v", g.SMTPServer)
		}},
		{"recipients, several per line", " notification_email {\n a@example.com b@example.com\n c\n }", func(g *GlobalDefs) string {
			return check(strings.Join(g.NotificationEmail, ",") == "a@example.com,b@example.com,c", "%q", g.NotificationEmail)
		}},
		{"enabled", mailOn, func(g *GlobalDefs) string { return check(g.MailEnabled(), "MailEnabled false") }},
		{"flags", " no_email_faults\n no_checker_emails\n checker_log_all_failures on", func(g *GlobalDefs) string {
			return check(g.NoEmailFaults && g.NoCheckerEmails && g.CheckerLogAllFailures, "%+v", g)
		}},
		{"no_checker_emails off", " no_checker_emails off", func(g *GlobalDefs) string { return check(!g.NoCheckerEmails, "on") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustParse(t, "global_defs {\n"+tt.global+"\n}\n", Options{})
			if msg := tt.check(&cfg.Global); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func TestCheckerLogAllFailures(t *testing.T) {
	cfg := mustParse(t, mailConf(" checker_log_all_failures", "", "", "", ""), Options{})
	c := cfg.VirtualServers[0].RealServers[0].Checkers[0]
	if !c.LogAllFailures || c.Line("log_all_failures").Line != 2 {
		t.Errorf("checker: log_all_failures %v from %v, want on from line 2", c.LogAllFailures, c.Line("log_all_failures"))
	}
	cfg = mustParse(t, mailConf("", "", "", "", ""), Options{})
	if c := cfg.VirtualServers[0].RealServers[0].Checkers[0]; c.LogAllFailures {
		t.Error("log_all_failures on without any setting")
	}
}

func TestFIFOs(t *testing.T) {
	tests := []struct {
		name   string
		global string
		check  func(g *GlobalDefs) string
		warn   string // a warning that must be reported, "" for none
	}{
		{"owner from script_user", " script_user ks kg\n notify_fifo /run/n.fifo", func(g *GlobalDefs) string {
			return check(*g.NotifyFIFO == FIFO{"/run/n.fifo", UserGroup{"ks", "kg"}}, "%+v", g.NotifyFIFO)
		}, ""},
		{"own owner", " script_user ks\n lvs_notify_fifo /run/l.fifo root", func(g *GlobalDefs) string {
			return check(g.LVSNotifyFIFO.Owner == UserGroup{User: "root"}, "%+v", g.LVSNotifyFIFO)
		}, ""},
		{"script without its FIFO", " vrrp_notify_fifo_script /bin/reader", func(g *GlobalDefs) string {
			return check(g.VRRPNotifyFIFOScript == nil, "script kept")
		}, "has no vrrp_notify_fifo to read"},
		{"vrrp FIFO is the global one", " notify_fifo /run/n.fifo\n vrrp_notify_fifo /run/./n.fifo\n vrrp_notify_fifo_script /bin/r", func(g *GlobalDefs) string {
			return check(g.VRRPNotifyFIFO == nil && g.VRRPNotifyFIFOScript == nil && g.NotifyFIFO != nil, "%+v %+v", g.VRRPNotifyFIFO, g.VRRPNotifyFIFOScript)
		}, "is also notify_fifo"},
		{"lvs and vrrp share a FIFO, both with scripts", " vrrp_notify_fifo /run/v.fifo\n vrrp_notify_fifo_script /bin/v\n lvs_notify_fifo /run/v.fifo\n lvs_notify_fifo_script /bin/l", func(g *GlobalDefs) string {
			return check(g.LVSNotifyFIFO != nil && g.LVSNotifyFIFOScript == nil && g.VRRPNotifyFIFOScript != nil, "%+v", g)
		}, "lvs_notify_fifo_script is ignored"},
		{"reload flag", " fifo_write_vrrp_states_on_reload", func(g *GlobalDefs) string {
			return check(g.FIFOWriteVRRPStatesOnReload, "off")
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := Parse("t.conf", []byte("global_defs {\n"+tt.global+"\n}\n"), Options{})
			if diags.HasErrors() || (tt.warn == "") != (len(diags) == 0) || !strings.Contains(diags.String(), tt.warn) {
				t.Errorf("want warning %q, got:\n%s", tt.warn, diags)
			}
			if msg := tt.check(&cfg.Global); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// TestExtensionsParse checks the values of the govs extensions, and that a file using
// them gets no diagnostic at all, even with --strict.
func TestExtensionsParse(t *testing.T) {
	src := `global_defs {
 http_listen 0.0.0.0:9100
 http_listen_any
 http_token abc-DEF_123.~+/xyz0123==
}
virtual_server 10.0.0.1 80 {
 lb_algo wlc
 lb_kind NAT
 protocol TCP
 proxy_protocol 1
 dynamic_feedback {
  agent_port 8089
  agent_interval 1.5
  agent_timeout 750ms
  latency_target 0.02
  min_percent 0
  max_weight 1000%
 }
 real_server 10.0.1.1 80 {
  TCP_CHECK {}
 }
}
`
	cfg, diags := Parse("t.conf", []byte(src), Options{Strict: true})
	if len(diags) != 0 {
		t.Fatalf("extensions must be accepted silently:\n%s", diags)
	}
	g := cfg.Global
	if g.HTTPListen != netip.MustParseAddrPort("0.0.0.0:9100") || !g.HTTPListenAny || string(g.HTTPToken) != "abc-DEF_123.~+/xyz0123==" {
		t.Errorf("http: %v %v %q", g.HTTPListen, g.HTTPListenAny, g.HTTPToken)
	}
	vs := cfg.VirtualServers[0]
	want := DynamicFeedback{AgentPort: 8089, AgentInterval: 1500 * time.Millisecond, AgentTimeout: 750 * time.Millisecond,
		LatencyTarget: 20 * time.Millisecond, Smoothing: 0.3, MinPercent: 0, MaxPercent: 1000}
	got := *vs.DynamicFeedback
	got.Source, want.Source = Source{}, Source{}
	if vs.ProxyProtocol != 1 || !reflect.DeepEqual(got, want) {
		t.Errorf("proxy_protocol %d, dynamic_feedback %+v, want %+v", vs.ProxyProtocol, got, want)
	}
}

func TestSecretHidden(t *testing.T) {
	for _, s := range []Secret{"", "x"} {
		b, _ := s.MarshalText()
		if (s == "") != (len(b) == 0) || strings.Contains(string(b), "x") {
			t.Errorf("Secret(%q) marshals as %q", s, b)
		}
	}
}
