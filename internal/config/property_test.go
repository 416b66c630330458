package config

import (
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// The property tests generate models of the mail, FIFO, SSL and extension settings,
// print them as keepalived.conf text in canonical form, and parse them back.

var (
	genLabel    = rapid.StringMatching(`[a-z][a-z0-9-]{0,8}[a-z0-9]`)
	genWord     = rapid.StringMatching(`[A-Za-z0-9_./-]{1,12}`)
	genHostName = rapid.Custom(func(t *rapid.T) string {
		return strings.Join(rapid.SliceOfN(genLabel, 1, 4).Draw(t, "labels"), ".")
	})
	genAddr = rapid.Custom(func(t *rapid.T) netip.Addr {
		if rapid.Bool().Draw(t, "v6") {
			var b [16]byte
			copy(b[:], rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "a16"))
			return netip.AddrFrom16(b)
		}
		var b [4]byte
		copy(b[:], rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "a4"))
		return netip.AddrFrom4(b)
	})
	genMailbox = rapid.Custom(func(t *rapid.T) string {
		local := rapid.StringMatching(`[A-Za-z0-9!#$%&'*+/=?^_{|}~.-]{1,10}`).Draw(t, "local")
		if rapid.Bool().Draw(t, "domain") {
			return local + "@" + genHostName.Draw(t, "domain")
		}
		return local
	})
	genOwner = rapid.Custom(func(t *rapid.T) UserGroup {
		ug := UserGroup{User: genLabel.Draw(t, "user")}
		if rapid.Bool().Draw(t, "has group") {
			ug.Group = genLabel.Draw(t, "group")
		}
		return ug
	})
	genScript = rapid.Custom(func(t *rapid.T) *Script {
		s := &Script{Argv: append([]string{"/" + genWord.Draw(t, "cmd")}, rapid.SliceOfN(genWord, 0, 3).Draw(t, "args")...)}
		if rapid.Bool().Draw(t, "script user") {
			ug := genOwner.Draw(t, "script owner")
			s.User, s.Group = ug.User, ug.Group
		}
		return s
	})
	// genTimer draws a positive duration with microsecond resolution.
	genTimer = rapid.Custom(func(t *rapid.T) time.Duration {
		return time.Duration(rapid.Int64Range(1, 4294967295).Draw(t, "µs")) * time.Microsecond
	})
)

// genNotifyModel draws a Config whose mail, FIFO, SSL, smtp_alert and extension fields
// are set, consistently with what the finisher resolves (objects get no mail when no
// mail can be sent; every FIFO has its own path).
func genNotifyModel(t *rapid.T) *Config {
	cfg := &Config{}
	g := &cfg.Global
	if rapid.Bool().Draw(t, "smtp_server") {
		hp := &HostPort{Port: uint16(rapid.IntRange(1, 65535).Draw(t, "smtp port"))}
		if rapid.Bool().Draw(t, "server by name") {
			hp.Host = genHostName.Draw(t, "server name")
		} else {
			hp.Host = genAddr.Draw(t, "server addr").String()
		}
		g.SMTPServer = hp
	}
	g.NotificationEmail = rapid.SliceOfN(genMailbox, 0, 4).Draw(t, "emails")
	if len(g.NotificationEmail) == 0 {
		g.NotificationEmail = nil
	}
	if rapid.Bool().Draw(t, "from") {
		g.NotificationEmailFrom = genMailbox.Draw(t, "from addr")
	}
	if rapid.Bool().Draw(t, "helo") {
		g.SMTPHeloName = genHostName.Draw(t, "helo name")
	}
	g.SMTPConnectTimeout = time.Duration(rapid.IntRange(1, 4294).Draw(t, "smtp timeout")) * time.Second
	g.SMTPAlert = rapid.Bool().Draw(t, "smtp_alert")
	g.SMTPAlertVRRP = rapid.Bool().Draw(t, "smtp_alert_vrrp")
	g.SMTPAlertChecker = rapid.Bool().Draw(t, "smtp_alert_checker")
	g.NoEmailFaults = rapid.Bool().Draw(t, "no_email_faults")
	g.NoCheckerEmails = rapid.Bool().Draw(t, "no_checker_emails")
	g.CheckerLogAllFailures = rapid.Bool().Draw(t, "checker_log_all_failures")
	for i, p := range []struct {
		fifo   **FIFO
		script **Script
	}{{&g.NotifyFIFO, &g.NotifyFIFOScript}, {&g.VRRPNotifyFIFO, &g.VRRPNotifyFIFOScript}, {&g.LVSNotifyFIFO, &g.LVSNotifyFIFOScript}} {
		if !rapid.Bool().Draw(t, "fifo") {
			continue
		}
		*p.fifo = &FIFO{Path: fmt.Sprintf("/run/%d/%s", i, genWord.Draw(t, "fifo path")), Owner: genOwner.Draw(t, "fifo owner")}
		if rapid.Bool().Draw(t, "fifo script") {
			*p.script = genScript.Draw(t, "fifo reader")
		}
	}
	g.FIFOWriteVRRPStatesOnReload = rapid.Bool().Draw(t, "fifo_write_vrrp_states_on_reload")
	if rapid.Bool().Draw(t, "http") {
		if rapid.Bool().Draw(t, "any") {
			g.HTTPListenAny = true
			g.HTTPListen = netip.AddrPortFrom(rapid.SampledFrom([]netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()}).Draw(t, "unspecified"), uint16(rapid.IntRange(0, 65535).Draw(t, "http port")))
		} else {
			g.HTTPListen = netip.AddrPortFrom(genAddr.Draw(t, "http addr"), uint16(rapid.IntRange(0, 65535).Draw(t, "http port")))
			if g.HTTPListen.Addr().IsUnspecified() {
				g.HTTPListenAny = true
			}
		}
		if rapid.Bool().Draw(t, "token") {
			g.HTTPToken = Secret(rapid.StringMatching(`[A-Za-z0-9._~+/-]{1,40}={0,2}`).Draw(t, "token value"))
		}
	}
	if rapid.Bool().Draw(t, "SSL") {
		cfg.SSL = &SSL{
			Password:    Secret(genWord.Draw(t, "password")),
			CA:          "/" + genWord.Draw(t, "ca"),
			Certificate: "/" + genWord.Draw(t, "certificate"),
			Key:         "/" + genWord.Draw(t, "key"),
		}
	}
	mail := g.MailEnabled()
	for i := range rapid.IntRange(0, 3).Draw(t, "instances") {
		cfg.Instances = append(cfg.Instances, &Instance{Name: fmt.Sprintf("VI_%d", i), Interface: "eth0", VRID: i + 1,
			SMTPAlert: mail && rapid.Bool().Draw(t, "instance smtp_alert")})
	}
	for i := range rapid.IntRange(0, 3).Draw(t, "virtual servers") {
		vs := &VirtualServer{Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), Port: 80, Protocol: "TCP", Scheduler: "rr",
			Forwarding: Forwarding{Method: "NAT"}, SMTPAlert: mail && rapid.Bool().Draw(t, "vs smtp_alert"),
			ProxyProtocol: rapid.IntRange(0, 2).Draw(t, "proxy_protocol")}
		if rapid.Bool().Draw(t, "dynamic_feedback") {
			fb := &DynamicFeedback{
				AgentPort:  uint16(rapid.IntRange(0, 65535).Draw(t, "agent_port")),
				Smoothing:  float64(rapid.IntRange(1, 1000).Draw(t, "smoothing‰")) / 1000,
				MinPercent: rapid.IntRange(0, 1000).Draw(t, "min_percent"),
			}
			fb.MaxPercent = rapid.IntRange(max(1, fb.MinPercent), 1000).Draw(t, "max_percent")
			if rapid.Bool().Draw(t, "agent_interval") {
				fb.AgentInterval = genTimer.Draw(t, "interval")
			}
			if rapid.Bool().Draw(t, "agent_timeout") {
				fb.AgentTimeout = genTimer.Draw(t, "timeout")
			}
			if rapid.Bool().Draw(t, "latency_target") {
				fb.LatencyTarget = genTimer.Draw(t, "latency")
			}
			vs.DynamicFeedback = fb
		}
		for j := range rapid.IntRange(1, 3).Draw(t, "real servers") {
			vs.RealServers = append(vs.RealServers, &RealServer{Addr: netip.AddrFrom4([4]byte{10, 1, byte(i), byte(j + 1)}), Port: 80,
				Weight: rapid.IntRange(0, 1000).Draw(t, "weight"), SMTPAlert: mail && rapid.Bool().Draw(t, "rs smtp_alert")})
		}
		cfg.VirtualServers = append(cfg.VirtualServers, vs)
	}
	return cfg
}

// quoteWord quotes a value the lexer would otherwise cut or reinterpret: comment
// characters, braces, blanks, parameters, and a leading conditional or loop marker.
func quoteWord(s string) string {
	if strings.ContainsAny(s, "#!{} \t$") || strings.HasPrefix(s, "@") || strings.HasPrefix(s, "~") {
		return `"` + s + `"`
	}
	return s
}

// printNotifyModel writes the generated fields in canonical form: one keyword a line,
// every value explicit, quoted where it must be. A draw picks how timers are spelt, so
// that both forms are read.
func printNotifyModel(t *rapid.T, cfg *Config) string {
	var b strings.Builder
	onOff := func(v bool) string {
		if v {
			return "on"
		}
		return "off"
	}
	timer := func(d time.Duration) string {
		if rapid.Bool().Draw(t, "duration form") {
			return d.String()
		}
		return fmtSeconds(d)
	}
	script := func(s *Script) string {
		out := strconv.Quote(strings.Join(s.Argv, " "))
		if s.User != "" {
			out += " " + s.User
		}
		if s.Group != "" {
			out += " " + s.Group
		}
		return out
	}
	g := &cfg.Global
	b.WriteString("global_defs {\n")
	if len(g.NotificationEmail) > 0 {
		b.WriteString("    notification_email {\n")
		for _, m := range g.NotificationEmail {
			fmt.Fprintf(&b, "        %s\n", quoteWord(m))
		}
		b.WriteString("    }\n")
	}
	if g.NotificationEmailFrom != "" {
		fmt.Fprintf(&b, "    notification_email_from %s\n", quoteWord(g.NotificationEmailFrom))
	}
	if g.SMTPServer != nil {
		fmt.Fprintf(&b, "    smtp_server %s %d\n", g.SMTPServer.Host, g.SMTPServer.Port)
	}
	if g.SMTPHeloName != "" {
		fmt.Fprintf(&b, "    smtp_helo_name %s\n", g.SMTPHeloName)
	}
	fmt.Fprintf(&b, "    smtp_connect_timeout %d\n", g.SMTPConnectTimeout/time.Second)
	fmt.Fprintf(&b, "    smtp_alert %s\n    smtp_alert_vrrp %s\n    smtp_alert_checker %s\n", onOff(g.SMTPAlert), onOff(g.SMTPAlertVRRP), onOff(g.SMTPAlertChecker))
	if g.NoEmailFaults {
		b.WriteString("    no_email_faults\n")
	}
	fmt.Fprintf(&b, "    no_checker_emails %s\n    checker_log_all_failures %s\n", onOff(g.NoCheckerEmails), onOff(g.CheckerLogAllFailures))
	for _, f := range []struct {
		name   string
		fifo   *FIFO
		script *Script
	}{{"notify_fifo", g.NotifyFIFO, g.NotifyFIFOScript}, {"vrrp_notify_fifo", g.VRRPNotifyFIFO, g.VRRPNotifyFIFOScript}, {"lvs_notify_fifo", g.LVSNotifyFIFO, g.LVSNotifyFIFOScript}} {
		if f.fifo != nil {
			fmt.Fprintf(&b, "    %s %s %s\n", f.name, f.fifo.Path, strings.TrimSpace(f.fifo.Owner.User+" "+f.fifo.Owner.Group))
		}
		if f.script != nil {
			fmt.Fprintf(&b, "    %s_script %s\n", f.name, script(f.script))
		}
	}
	if g.FIFOWriteVRRPStatesOnReload {
		b.WriteString("    fifo_write_vrrp_states_on_reload\n")
	}
	if g.HTTPListen.IsValid() {
		fmt.Fprintf(&b, "    http_listen %s\n", g.HTTPListen)
	}
	if g.HTTPListenAny {
		b.WriteString("    http_listen_any\n")
	}
	if g.HTTPToken != "" {
		fmt.Fprintf(&b, "    http_token %s\n", string(g.HTTPToken))
	}
	b.WriteString("}\n")
	if s := cfg.SSL; s != nil {
		fmt.Fprintf(&b, "SSL {\n    password %s\n    ca %s\n    certificate %s\n    key %s\n}\n", string(s.Password), s.CA, s.Certificate, s.Key)
	}
	for _, vi := range cfg.Instances {
		fmt.Fprintf(&b, "vrrp_instance %s {\n    interface %s\n    virtual_router_id %d\n    smtp_alert %s\n}\n", vi.Name, vi.Interface, vi.VRID, onOff(vi.SMTPAlert))
	}
	for _, vs := range cfg.VirtualServers {
		fmt.Fprintf(&b, "virtual_server %s %d {\n    protocol %s\n    lb_algo %s\n    lb_kind %s\n    smtp_alert %s\n",
			vs.Addr, vs.Port, vs.Protocol, vs.Scheduler, vs.Forwarding.Method, onOff(vs.SMTPAlert))
		if vs.ProxyProtocol != 0 {
			fmt.Fprintf(&b, "    proxy_protocol %d\n", vs.ProxyProtocol)
		}
		if fb := vs.DynamicFeedback; fb != nil {
			fmt.Fprintf(&b, "    dynamic_feedback {\n        agent_port %d\n        smoothing %s\n        min_percent %d\n        max_percent %d%%\n",
				fb.AgentPort, strconv.FormatFloat(fb.Smoothing, 'g', -1, 64), fb.MinPercent, fb.MaxPercent)
			for _, d := range []struct {
				name string
				v    time.Duration
			}{{"agent_interval", fb.AgentInterval}, {"agent_timeout", fb.AgentTimeout}, {"latency_target", fb.LatencyTarget}} {
				if d.v != 0 {
					fmt.Fprintf(&b, "        %s %s\n", d.name, timer(d.v))
				}
			}
			b.WriteString("    }\n")
		}
		for _, rs := range vs.RealServers {
			fmt.Fprintf(&b, "    real_server %s %d {\n        weight %d\n        smtp_alert %s\n    }\n", rs.Addr, rs.Port, rs.Weight, onOff(rs.SMTPAlert))
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// projectNotifyModel keeps of a parsed model the fields genNotifyModel sets.
func projectNotifyModel(in *Config) *Config {
	out := &Config{}
	g, h := &out.Global, &in.Global
	g.NotificationEmail, g.NotificationEmailFrom, g.SMTPServer, g.SMTPHeloName = h.NotificationEmail, h.NotificationEmailFrom, h.SMTPServer, h.SMTPHeloName
	g.SMTPConnectTimeout, g.SMTPAlert, g.SMTPAlertVRRP, g.SMTPAlertChecker = h.SMTPConnectTimeout, h.SMTPAlert, h.SMTPAlertVRRP, h.SMTPAlertChecker
	g.NoEmailFaults, g.NoCheckerEmails, g.CheckerLogAllFailures = h.NoEmailFaults, h.NoCheckerEmails, h.CheckerLogAllFailures
	g.NotifyFIFO, g.NotifyFIFOScript, g.VRRPNotifyFIFO, g.VRRPNotifyFIFOScript = h.NotifyFIFO, h.NotifyFIFOScript, h.VRRPNotifyFIFO, h.VRRPNotifyFIFOScript
	g.LVSNotifyFIFO, g.LVSNotifyFIFOScript, g.FIFOWriteVRRPStatesOnReload = h.LVSNotifyFIFO, h.LVSNotifyFIFOScript, h.FIFOWriteVRRPStatesOnReload
	g.HTTPListen, g.HTTPListenAny, g.HTTPToken = h.HTTPListen, h.HTTPListenAny, h.HTTPToken
	if in.SSL != nil {
		out.SSL = &SSL{Password: in.SSL.Password, CA: in.SSL.CA, Certificate: in.SSL.Certificate, Key: in.SSL.Key}
	}
	for _, vi := range in.Instances {
		out.Instances = append(out.Instances, &Instance{Name: vi.Name, Interface: vi.Interface, VRID: vi.VRID, SMTPAlert: vi.SMTPAlert})
	}
	for _, vs := range in.VirtualServers {
		p := &VirtualServer{Addr: vs.Addr, Port: vs.Port, Protocol: vs.Protocol, Scheduler: vs.Scheduler,
			Forwarding: vs.Forwarding, SMTPAlert: vs.SMTPAlert, ProxyProtocol: vs.ProxyProtocol}
		if fb := vs.DynamicFeedback; fb != nil {
			c := *fb
			c.Source = Source{}
			p.DynamicFeedback = &c
		}
		for _, rs := range vs.RealServers {
			p.RealServers = append(p.RealServers, &RealServer{Addr: rs.Addr, Port: rs.Port, Weight: rs.Weight, SMTPAlert: rs.SMTPAlert})
		}
		out.VirtualServers = append(out.VirtualServers, p)
	}
	return out
}

// TestPropertyCanonicalRoundTrip: a generated model printed in canonical form parses,
// without errors, back to the same model.
func TestPropertyCanonicalRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		want := genNotifyModel(t)
		src := printNotifyModel(t, want)
		cfg, diags := Parse("gen.conf", []byte(src), Options{})
		if diags.HasErrors() {
			t.Fatalf("errors in generated configuration:\n%s\n%s", src, diags.Errors())
		}
		if got := projectNotifyModel(cfg); !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip differs\n%s\ngot  %s\nwant %s", src, dumpModel(got), dumpModel(want))
		}
	})
}

func dumpModel(c *Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%+v ssl=%+v", c.Global, c.SSL)
	for _, vi := range c.Instances {
		fmt.Fprintf(&b, "\n  %+v", *vi)
	}
	for _, vs := range c.VirtualServers {
		fmt.Fprintf(&b, "\n  %+v fb=%+v", *vs, vs.DynamicFeedback)
		for _, rs := range vs.RealServers {
			fmt.Fprintf(&b, "\n    %+v", *rs)
		}
	}
	return b.String()
}

// TestPropertyMutationsNeverPanic: random edits of a valid configuration (bytes
// inserted, deleted or replaced, lines duplicated) never make Parse panic or hang, and
// every diagnostic points into the file.
func TestPropertyMutationsNeverPanic(t *testing.T) {
	interesting := []byte("{}\"'\\$@~#!;=%\n\t 0123456789.:-/[]()")
	rapid.Check(t, func(t *rapid.T) {
		src := []byte(printNotifyModel(t, genNotifyModel(t)))
		for range rapid.IntRange(1, 8).Draw(t, "mutations") {
			i := rapid.IntRange(0, len(src)).Draw(t, "at")
			switch rapid.IntRange(0, 3).Draw(t, "edit") {
			case 0: // insert
				c := rapid.SampledFrom(interesting).Draw(t, "byte")
				if rapid.Bool().Draw(t, "any byte") {
					c = rapid.Byte().Draw(t, "raw byte")
				}
				src = append(src[:i], append([]byte{c}, src[i:]...)...)
			case 1: // delete a run
				j := min(len(src), i+rapid.IntRange(1, 16).Draw(t, "run"))
				src = append(src[:i], src[j:]...)
			case 2: // replace
				if i < len(src) {
					src[i] = rapid.SampledFrom(interesting).Draw(t, "replacement")
				}
			case 3: // duplicate the line around i
				start := strings.LastIndexByte(string(src[:i]), '\n') + 1
				end := i + strings.IndexByte(string(src[i:])+"\n", '\n')
				line := append([]byte{}, src[start:min(end+1, len(src))]...)
				src = append(src[:start], append(line, src[start:]...)...)
			}
		}
		start := time.Now()
		cfg, diags := Parse("m.conf", src, Options{Limits: Limits{MaxLines: 20000, MaxExpansions: 500}})
		if cfg == nil {
			t.Fatal("nil config")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("parse took %v", d)
		}
		lines := strings.Count(string(src), "\n") + 1
		for _, d := range diags {
			if d.Pos.File == "m.conf" && d.Pos.Line > lines {
				t.Fatalf("diagnostic past the end (%d lines): %s", lines, d)
			}
		}
	})
}

// TestPropertyTimerRoundTrip: every timer keepalived can express prints as seconds that
// read back exactly.
func TestPropertyTimerRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := time.Duration(rapid.Int64Range(0, 4294967295).Draw(t, "µs")) * time.Microsecond
		got, err := parseTimer(fmtSeconds(d), 0, 0, maxTimer)
		if err != nil || got != d {
			t.Fatalf("%v printed as %q reads back as %v, %v", d, fmtSeconds(d), got, err)
		}
	})
}
