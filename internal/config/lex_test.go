package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// TestModelGolden dumps the resolved model of testdata/model/*.conf as JSON and
// compares it with the .json golden beside it (-update rewrites them).
func TestModelGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "model", "*.conf"))
	if len(files) == 0 {
		t.Fatal("no testdata/model/*.conf")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cfg, diags := Parse(filepath.Base(f), data, Options{ConfigID: "node1"})
		if diags.HasErrors() {
			t.Fatalf("%s:\n%s", f, diags)
		}
		out, err := json.MarshalIndent(struct {
			Config      *Config
			Diagnostics Diagnostics
		}{cfg, diags}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, strings.TrimSuffix(f, ".conf")+".json", string(out)+"\n")
	}
}

func mustParse(t *testing.T, src string, opts Options) *Config {
	t.Helper()
	cfg, diags := Parse("t.conf", []byte(src), opts)
	if diags.HasErrors() {
		t.Fatalf("unexpected errors:\n%s", diags)
	}
	return cfg
}

func TestLexicalRules(t *testing.T) {
	vi := func(body string) string {
		return "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n" + body + "\n}\n"
	}
	tests := []struct {
		name string
		src  string
		id   string
		want func(c *Config) string // returns a description of what is wrong, or ""
	}{
		{"comments and quotes", "global_defs {\n router_id \"r1 #x\" # comment\n}\n", "", func(c *Config) string {
			return check(c.Global.RouterID == "r1 #x", "router_id %q", c.Global.RouterID)
		}},
		{"escaped comment char", "global_defs {\n router_id a\\#b ! comment\n}\n", "", func(c *Config) string {
			return check(c.Global.RouterID == "a#b", "router_id %q", c.Global.RouterID)
		}},
		{"block on one line", "global_defs { router_id r2 }\n", "", func(c *Config) string {
			return check(c.Global.RouterID == "r2", "router_id %q", c.Global.RouterID)
		}},
		{"brace on next line", "global_defs\n{\n router_id r3\n}\n", "", func(c *Config) string {
			return check(c.Global.RouterID == "r3", "router_id %q", c.Global.RouterID)
		}},
		{"conditional match", vi("@a priority 10\n@b priority 20"), "a", func(c *Config) string {
			return check(c.Instances[0].Priority == 10, "priority %d", c.Instances[0].Priority)
		}},
		{"negated conditional", vi("@^a priority 10\n@^b priority 20"), "a", func(c *Config) string {
			return check(c.Instances[0].Priority == 20, "priority %d", c.Instances[0].Priority)
		}},
		{"no config id drops @ lines", vi("@a priority 10"), "", func(c *Config) string {
			return check(c.Instances[0].Priority == 100, "priority %d", c.Instances[0].Priority)
		}},
		{"parameters are expanded at use", "$B=10.2.${S}\n$S=0\n" + vi("virtual_ipaddress {\n${B}.100/32\n}\n$S=10"), "", func(c *Config) string {
			return check(c.Instances[0].VirtualIPs[0].Prefix.String() == "10.2.0.100/32", "vip %v", c.Instances[0].VirtualIPs)
		}},
		{"~SEQ and ~LST", vi("virtual_ipaddress {\n~SEQ(N,1,3) 10.0.0.$N\n~LST({A,B},{1,2},{3,4}) 10.1.${A}.${B}\n}"), "", func(c *Config) string {
			return check(len(c.Instances[0].VirtualIPs) == 5 && c.Instances[0].VirtualIPs[4].Prefix.String() == "10.1.3.4/32", "vips %v", c.Instances[0].VirtualIPs)
		}},
		{"~SEQx", vi("virtual_ipaddress {\n~SEQx(N,0x9,0xb) fe80::$N\n}"), "", func(c *Config) string {
			return check(len(c.Instances[0].VirtualIPs) == 3 && c.Instances[0].VirtualIPs[2].Prefix.Addr().String() == "fe80::b", "vips %v", c.Instances[0].VirtualIPs)
		}},
		{"predefined parameters", "global_defs {\n router_id ${_INSTANCE}\n}\n", "n1", func(c *Config) string {
			return check(c.Global.RouterID == "n1", "router_id %q", c.Global.RouterID)
		}},
		{"script argv", "vrrp_script s {\n script \"/bin/sh -c 'exit 1' \\x41\"\n user nobody nogroup\n}\n", "", func(c *Config) string {
			s := c.Scripts[0]
			return check(strings.Join(s.Script.Argv, "|") == "/bin/sh|-c|exit 1|A" && s.RunAs == UserGroup{"nobody", "nogroup"}, "script %+v", s)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msg := tt.want(mustParse(t, tt.src, Options{ConfigID: tt.id})); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func check(ok bool, format string, args ...any) string {
	if ok {
		return ""
	}
	return "got " + strings.TrimSpace(fmt.Sprintf(format, args...))
}

func TestIncludes(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/k/main.conf":        {Data: []byte("include conf.d/*.conf\ninclude /etc/k/{x,y}.inc\n")},
		"etc/k/conf.d/a.conf":    {Data: []byte("global_defs {\n")},
		"etc/k/conf.d/b.conf":    {Data: []byte(" router_id from_b\n}\n")},
		"etc/k/x.inc":            {Data: []byte("vrrp_script x {\n script /bin/true\n}\n")},
		"etc/k/y.inc":            {Data: []byte("vrrp_script y {\n script /bin/true\n}\n")},
		"etc/k/deep/self.conf":   {Data: []byte("include self.conf\n")},
		"etc/k/missing_opt.conf": {Data: []byte("include nothere.conf\n")},
	}
	main := fsys["etc/k/main.conf"].Data
	cfg, diags := Parse("/etc/k/main.conf", main, Options{FS: fsys})
	if diags.HasErrors() || cfg.Global.RouterID != "from_b" || len(cfg.Scripts) != 2 {
		t.Fatalf("router_id %q, %d scripts:\n%s", cfg.Global.RouterID, len(cfg.Scripts), diags)
	}
	if p := cfg.Scripts[1].Pos; p.File != "/etc/k/y.inc" || p.Line != 1 {
		t.Errorf("script y at %v, want /etc/k/y.inc:1", p)
	}
	_, diags = Parse("/etc/k/deep/self.conf", fsys["etc/k/deep/self.conf"].Data, Options{FS: fsys})
	if !strings.Contains(diags.String(), "include cycle") {
		t.Errorf("no cycle error:\n%s", diags)
	}
	_, diags = Parse("/etc/k/missing_opt.conf", fsys["etc/k/missing_opt.conf"].Data, Options{FS: fsys})
	if diags.HasErrors() || len(diags) != 1 {
		t.Errorf("a plain include of a missing file should only warn:\n%s", diags)
	}
}

// TestIncludeCheck: include_check and govs run -e make include lines strict from where
// they are set, as keepalived's include_check and -e (--all-config) do; an included
// file's setting ends with it.
func TestIncludeCheck(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/k/there.conf":    {Data: []byte("! nothing\n")},
		"etc/k/sets.conf":     {Data: []byte("global_defs {\n include_check\n}\ninclude inner_missing.conf\n")},
		"etc/k/conf.d/a.conf": {Data: []byte("! nothing\n")},
	}
	gd := func(body string) string { return "global_defs {\n" + body + "\n}\n" }
	tests := []struct {
		name   string
		src    string
		all    bool
		errors []string // substrings, one per expected error
	}{
		{"plain include of a missing file warns", "include missing.conf\n", false, nil},
		{"-e: it fails", "include missing.conf\n", true, []string{"missing.conf"}},
		{"-e: a pattern that matches nothing fails", "include none.d/*.conf\n", true, []string{"matches no files"}},
		{"include_check alone: all checks", gd("include_check") + "include missing.conf\n", false, []string{"missing.conf"}},
		{"only the lines after it", "include missing.conf\n" + gd("include_check"), false, nil},
		{"match: a missing file fails, an empty pattern does not", gd("include_check match") + "include conf.d/*.none\ninclude missing.conf\n", false, []string{"missing.conf"}},
		{"match: a pattern in a missing directory fails", gd("include_check match") + "include none.d/*.conf\n", false, []string{"directory /etc/k/none.d/ does not exist"}},
		{"wildcard_match: an empty pattern fails", gd("include_check wildcard_match") + "include none.d/*.conf\ninclude missing.conf\n", false, []string{"matches no files"}},
		{"a matching pattern passes", gd("include_check") + "include conf.d/*.conf\ninclude there.conf\n", false, nil},
		{"-match after -e", gd("include_check -match") + "include missing.conf\n", true, nil},
		{"+match adds", gd("include_check read +match") + "include missing.conf\n", false, []string{"missing.conf"}},
		{"an included file's setting ends with it", "include sets.conf\ninclude missing.conf\n", false, []string{"inner_missing.conf"}},
		{"outside global_defs it is not applied", "vrrp_script s {\n include_check\n script /bin/true\n}\ninclude missing.conf\n", false, nil},
		{"unknown and duplicate types", gd("include_check match brace_match bogus"), false, []string{"duplicate include_check \"brace_match\"", "duplicate include_check \"bogus\""}},
		{"an unknown signed type", gd("include_check +bogus"), false, []string{"unknown include_check type \"bogus\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := Parse("/etc/k/main.conf", []byte(tt.src), Options{FS: fsys, AllIncludes: tt.all})
			errs := diags.Errors()
			if len(errs) != len(tt.errors) {
				t.Fatalf("%d errors, want %d:\n%s", len(errs), len(tt.errors), diags)
			}
			for i, want := range tt.errors {
				if !strings.Contains(errs[i].Message, want) {
					t.Errorf("error %d: %q, want it to contain %q", i, errs[i].Message, want)
				}
			}
		})
	}
}

func TestLimits(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"huge seq", "~SEQ(A,1,100000000) x\n", "more than the limit"},
		{"nested seq", "~SEQ(A,1,200) ~SEQ(B,1,200) x $A $B\n", "more than"},
		{"self reference", "$A=$A $A\n$A\n", "does not terminate"},
		{"deep nesting", strings.Repeat("a {\n", 100) + strings.Repeat("}\n", 100), "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, diags := Parse("t.conf", []byte(tt.src), Options{Limits: Limits{MaxLines: 10000}})
			if !strings.Contains(diags.String(), tt.want) {
				t.Errorf("want %q in:\n%s", tt.want, diags)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	cfg := mustParse(t, `vrrp_instance M {
 state MASTER
 interface eth0
 virtual_router_id 1
}
virtual_server 10.0.0.1 80 {
 lb_algo rr
 lb_kind NAT
 protocol TCP
 weight 4
 delay_loop 20
 persistence_timeout
 real_server 10.0.0.2 80 {
  retry 5
  TCP_CHECK {}
  DNS_CHECK {}
  MISC_CHECK { misc_path /bin/true }
  HTTP_GET { url { path / } }
 }
}
`, Options{})
	vi := cfg.Instances[0]
	if vi.Priority != 255 || vi.AdvertInt != time.Second || vi.Version != 2 || !vi.Accept {
		t.Errorf("instance defaults: priority %d advert %v version %d accept %v", vi.Priority, vi.AdvertInt, vi.Version, vi.Accept)
	}
	vs := cfg.VirtualServers[0]
	rs := vs.RealServers[0]
	if vs.Persistence != 360*time.Second || rs.Weight != 4 || rs.Forwarding.Method != "NAT" {
		t.Errorf("vs/rs defaults: persistence %v weight %d method %q", vs.Persistence, rs.Weight, rs.Forwarding.Method)
	}
	if rs.Line("weight").Line != 10 {
		t.Errorf("inherited weight should point at the virtual_server line 10, got %v", rs.Line("weight"))
	}
	want := map[CheckerType]struct {
		retry    int
		dbr      time.Duration
		warmup   time.Duration
		delayPos int
	}{
		TCPCheck:  {5, time.Second, 20 * time.Second, 11},
		DNSCheck:  {5, 20 * time.Second, 20 * time.Second, 11},
		MiscCheck: {5, time.Second, 20 * time.Second, 11},
		HTTPGet:   {5, 3 * time.Second, 20 * time.Second, 11},
	}
	for _, c := range rs.Checkers {
		w := want[c.Type]
		if c.Retry != w.retry || c.DelayBeforeRetry != w.dbr || c.Warmup != w.warmup || c.DelayLoop != 20*time.Second ||
			c.ConnectTimeout != 5*time.Second || c.ConnectIP != rs.Addr || c.ConnectPort != 80 || c.Line("delay_loop").Line != w.delayPos {
			t.Errorf("%s: %+v", c.Type, c)
		}
	}
	if rs.Checkers[1].DNSType != "SOA" || rs.Checkers[1].Name != "." || rs.Checkers[2].MiscTimeout != 20*time.Second {
		t.Errorf("type defaults: dns %q %q misc timeout %v", rs.Checkers[1].DNSType, rs.Checkers[1].Name, rs.Checkers[2].MiscTimeout)
	}
	if rs.Checkers[3].URLs[0].StatusCodes[0] != (StatusRange{200, 299}) {
		t.Errorf("status codes %v", rs.Checkers[3].URLs[0].StatusCodes)
	}
}
