package config

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func lineTokens(s string) []Token {
	var toks []Token
	for _, w := range strings.Fields(s) {
		toks = append(toks, Token{Text: w})
	}
	return toks
}

// checkEntry parses line with parse and compares the result with want, or the error
// with wantErr when it is set.
func checkEntry(t *testing.T, parse func([]Token) (any, error), line string, want any, wantErr string) {
	t.Helper()
	got, err := parse(lineTokens(line))
	switch {
	case wantErr != "":
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: error %v, want %q", line, err, wantErr)
		}
	case err != nil:
		t.Errorf("%q: %v", line, err)
	case !reflect.DeepEqual(got, want):
		t.Errorf("%q:\n got %+v\nwant %+v", line, got, want)
	}
}

func TestParseRoute(t *testing.T) {
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	for _, tc := range []struct {
		line    string
		want    Route
		wantErr string
	}{
		{line: "10.1.0.0/16 via 10.0.0.1 dev eth0", want: Route{Type: "unicast", Dest: p("10.1.0.0/16"), Via: a("10.0.0.1"), Dev: "eth0"}},
		{line: "src 10.0.0.9 to blackhole 10.1.2.0/24 table 7 metric 9 protocol bird tos 0x10 append",
			want: Route{Type: "blackhole", Dest: p("10.1.2.0/24"), Src: a("10.0.0.9"), Table: "7", Metric: 9, Protocol: "bird", Tos: "0x10", Mode: "append"}},
		{line: "default via 10.0.0.1 onlink realms 1/2 add",
			want: Route{Type: "unicast", Dest: p("0.0.0.0/0"), Via: a("10.0.0.1"), OnLink: true, Realms: "1/2", Mode: "add"}},
		{line: "inet6 default via fe80::1 dev eth0", want: Route{Type: "unicast", Dest: p("::/0"), Via: a("fe80::1"), Dev: "eth0"}},
		{line: "10.1.0.0/16 mtu lock 1400 rtt 100ms rttvar 2s rto_min 300ms features ecn quickack 1 congctl cubic hoplimit 9",
			want: Route{Type: "unicast", Dest: p("10.1.0.0/16"), Metrics: RouteMetrics{MTU: 1400, Locked: []string{"mtu"},
				RTT: 1600, RTTVar: 8000, RtoMin: 300, ECN: true, QuickACK: true, Congctl: "cubic", Hoplimit: 9}}},
		{line: "10.1.0.0/16 rtt 2000", want: Route{Type: "unicast", Dest: p("10.1.0.0/16"), Metrics: RouteMetrics{RTT: 2000}}},
		{line: "10.1.0.0/16 nexthop via 10.0.0.1 dev eth0 weight 2 nexthop via 10.0.0.2 onlink",
			want: Route{Type: "unicast", Dest: p("10.1.0.0/16"), Nexthops: []Nexthop{{Via: a("10.0.0.1"), Dev: "eth0", Weight: 2}, {Via: a("10.0.0.2"), OnLink: true}}}},
		{line: "10.1.0.0/16 via 10.0.0.1 or 10.0.0.2",
			want: Route{Type: "unicast", Dest: p("10.1.0.0/16"), Nexthops: []Nexthop{{Via: a("10.0.0.1")}, {Via: a("10.0.0.2")}}}},
		{line: "2001:db8::/64 dev eth0 pref high no_track track_group G",
			want: Route{Type: "unicast", Dest: p("2001:db8::/64"), Dev: "eth0", NoTrack: true, TrackGroup: "G", Ignored: []string{"pref is not supported"}}},
		{line: "10.1.0.0/16 via 2001:db8::1", wantErr: "cannot mix IPv4 and IPv6"},
		{line: "10.1.0.0/16 pref high", wantErr: "cannot mix"},
		{line: "10.1.0.0/16 bogus 1", wantErr: `unknown route option "bogus"`},
		{line: "10.1.0.0/16 encap mpls 100", wantErr: "encap is not supported"},
		{line: "10.1.0.0/16 features fast", wantErr: "feature \"fast\""},
		{line: "10.1.0.0/16 nexthop via 10.0.0.1 weight 0", wantErr: "1..256"},
		{line: "via 10.0.0.1", wantErr: "no destination"},
		{line: "dev eth0", wantErr: "no destination"},
		{line: "10.1.0.0/16 mtu lock", wantErr: "needs a value"},
	} {
		checkEntry(t, parseRoute, tc.line, tc.want, tc.wantErr)
	}
}

func TestParseRule(t *testing.T) {
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		line    string
		want    Rule
		wantErr string
	}{
		{line: "from 10.0.0.0/8 table 100", want: Rule{From: p("10.0.0.0/8"), Table: "100", Action: "table", Family: "inet"}},
		{line: "not to 2001:db8::/32 lookup main order 9 fwmark 0x5/0xff",
			want: Rule{To: p("2001:db8::/32"), Not: true, Table: "main", Action: "table", Preference: 9, FwMark: 5, FwMask: 0xff, Family: "inet6"}},
		{line: "from all goto 20 priority 10 dev eth0 oif eth1", want: Rule{Action: "goto", Goto: 20, Preference: 10, IIF: "eth0", OIF: "eth1", Family: "inet"}},
		{line: "type blackhole inet6", want: Rule{Action: "blackhole", Family: "inet6"}},
		{line: "ipproto tcp dport 80-90 sport 1000 table 1",
			want: Rule{IPProto: "tcp", DPort: &[2]uint16{80, 90}, Table: "1", Action: "table", Family: "inet",
				Ignored: []string{"invalid sport range 1000 (keepalived takes N-M)"}}},
		{line: "uidrange 5-9 protocol 18 table 1", want: Rule{UIDRange: &[2]uint32{5, 9}, Protocol: func() *uint8 { v := uint8(18); return &v }(), Table: "1", Action: "table", Family: "inet"}},
		{line: "from 10.0.0.0/8", wantErr: "no action"},
		{line: "table 1 nop", wantErr: "one of table"},
		{line: "goto 5", wantErr: "needs a preference"},
		{line: "goto 5 preference 9", wantErr: "not below its goto target"},
		{line: "realms 1/2 blackhole", wantErr: "need a table action"},
		{line: "from 10.0.0.0/8 to 2001:db8::/32 table 1", wantErr: "cannot mix"},
		{line: "table 0", wantErr: "table 0"},
		{line: "fwmark x table 1", wantErr: "not a number"},
		{line: "l3mdev", wantErr: "not supported"},
		{line: "frm 10.0.0.0/8", wantErr: `did you mean "from"`},
	} {
		checkEntry(t, parseRule, tc.line, tc.want, tc.wantErr)
	}
}

// TestRouteChecks: the checks keepalived makes once a route or rule is read.
func TestRouteChecks(t *testing.T) {
	cfg, diags := Parse("k.conf", []byte(`track_group TG {
  group {
    VI_1
    VI_X
  }
}
static_ipaddress {
  10.0.0.5/24 dev eth0 track_group TG
  10.0.0.6/24 dev eth0 track_group TG no_track
  10.0.0.7/24 dev eth0 track_group LATER
}
static_routes {
  10.1.0.0/16 via 10.0.0.1 dev eth0 protocol bird track_group TG
  10.2.0.0/16 via 10.0.0.1 track_group TG
}
static_rules {
  from 10.3.0.0/16 table 1
  from 10.4.0.0/16 table 1 track_group TG
  from 2001:db8::/32 table 1
}
track_group LATER {
  group {
    VI_1
  }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  priority 100
  virtual_ipaddress {
    10.0.0.100/24
  }
  virtual_rules {
    from 10.5.0.0/16 table 1
  }
}
`), Options{})
	var msgs []string
	for _, d := range diags {
		msgs = append(msgs, d.String())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		"k.conf:1:1: warning: vrrp instance VI_X specified in track group TG doesn't exist - ignoring",
		"k.conf:9:3: warning: Static address has both track_group and no_track set - not tracking",
		"k.conf:10:3: warning: track_group LATER not found",
		"k.conf:13:3: warning: Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol",
		"k.conf:14:3: warning: Warning - cannot track route 10.2.0.0/16 with no interface specified, not tracking",
		"k.conf:14:3: warning: Static route cannot have track group if no oif specified",
		"k.conf:17:3: warning: Rule has no preference specified - setting to 16384.",
		"k.conf:18:3: warning: Static rule cannot have track_group if dev/iif not specified",
		"k.conf:19:3: warning: Rule has no preference specified - setting to 16384.",
		"k.conf:34:5: warning: Rule has no preference specified - setting to 16382.",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q in\n%s", want, all)
		}
	}
	if cfg == nil {
		t.Fatal("no configuration")
	}
	if got := cfg.StaticAddresses[0].TrackGroup; got != "TG" {
		t.Errorf("static address's track_group %q, want TG", got)
	}
	for i, want := range []string{"", ""} {
		if got := cfg.StaticAddresses[i+1].TrackGroup; got != want {
			t.Errorf("static address %d's track_group %q, want none", i+2, got)
		}
	}
	if r := cfg.StaticRoutes[0]; r.Protocol != "" || r.TrackGroup != "TG" {
		t.Errorf("static route 1: protocol %q, track_group %q; want keepalived's and TG", r.Protocol, r.TrackGroup)
	}
	if r := cfg.StaticRoutes[1]; !r.NoTrack || r.TrackGroup != "" {
		t.Errorf("static route 2 without dev: no_track %v, track_group %q; want untracked", r.NoTrack, r.TrackGroup)
	}
	if got := []int{cfg.StaticRules[0].Preference, cfg.StaticRules[1].Preference, cfg.StaticRules[2].Preference, cfg.Instances[0].VirtualRules[0].Preference}; !reflect.DeepEqual(got, []int{16384, 16383, 16384, 16382}) {
		t.Errorf("rule preferences %v, want keepalived's 16384 16383 16384(IPv6) 16382", got)
	}
}

// TestSyncDaemonAsKeepalived: lvs_sync_daemon's id defaults to its instance's
// virtual_router_id, an unknown instance clears it with a warning, and an instance's deprecated
// lvs_sync_daemon_interface stands for it unless it is set (keepalived 2.2.7's rules).
func TestSyncDaemonAsKeepalived(t *testing.T) {
	instance := `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 42
  priority 100
  %s
  virtual_ipaddress {
    10.0.0.100/24
  }
}
`
	for _, tc := range []struct {
		name, global, inInstance string
		want                     *SyncDaemon
		wantWarn                 string
	}{
		{name: "id from the instance", global: "lvs_sync_daemon eth1 VI_1", want: &SyncDaemon{Interface: "eth1", Instance: "VI_1", SyncID: 42}},
		{name: "id given", global: "lvs_sync_daemon eth1 VI_1 id 7", want: &SyncDaemon{Interface: "eth1", Instance: "VI_1", SyncID: 7}},
		{name: "no instance", global: "lvs_sync_daemon eth1", want: &SyncDaemon{Interface: "eth1"}},
		{name: "unknown instance", global: "lvs_sync_daemon eth1 VI_9", want: nil,
			wantWarn: "Unable to find vrrp instance VI_9 for lvs_syncd - clearing lvs_syncd config"},
		{name: "deprecated keyword", inInstance: "lvs_sync_daemon_interface eth2", want: &SyncDaemon{Interface: "eth2", Instance: "VI_1", SyncID: 42},
			wantWarn: "Specifying lvs_sync_daemon_interface against a vrrp is deprecated"},
		{name: "both", global: "lvs_sync_daemon eth1 VI_1", inInstance: "lvs_sync_daemon_interface eth2", want: &SyncDaemon{Interface: "eth1", Instance: "VI_1", SyncID: 42},
			wantWarn: "lvs_sync_daemon_interface has already been specified as eth1 - ignoring"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "global_defs {\n  " + tc.global + "\n}\n" + fmt.Sprintf(instance, tc.inInstance)
			cfg, diags := Parse("k.conf", []byte(src), Options{})
			var msgs []string
			for _, d := range diags {
				if d.Severity == Error {
					t.Fatalf("error: %v", d)
				}
				msgs = append(msgs, d.String())
			}
			got := cfg.Global.LVSSyncDaemon
			if got != nil {
				got = &SyncDaemon{Interface: got.Interface, Instance: got.Instance, SyncID: got.SyncID}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("lvs_sync_daemon %+v, want %+v", got, tc.want)
			}
			if tc.wantWarn != "" && !strings.Contains(strings.Join(msgs, "\n"), tc.wantWarn) {
				t.Errorf("no warning %q in %q", tc.wantWarn, msgs)
			}
		})
	}
}
