package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// garpValues are the derived GARP settings of the global block and of an instance
// that sets none of its own.
type garpValues struct {
	delay, refresh, lowerDelay time.Duration
	repeat, refreshRepeat      int
	lowerRepeat                int
}

// TestMinGarp: vrrp_min_garp changes each global GARP setting that is still at its
// default when its line is read, as keepalived's vrrp_min_garp_handler: master delay 0,
// repeat 1, refresh 0, refresh repeat 0. A keyword on a later line wins; one on an
// earlier line wins unless it wrote the default; the lower_prio settings follow the
// master ones; instances inherit the result.
func TestMinGarp(t *testing.T) {
	dflt := garpValues{delay: 5 * time.Second, repeat: 5, refreshRepeat: 1, lowerDelay: 5 * time.Second, lowerRepeat: 5}
	minimal := garpValues{repeat: 1, lowerRepeat: 1}
	for _, tc := range []struct {
		name   string
		global string
		want   garpValues
	}{
		{"absent", "", dflt},
		{"bare", "vrrp_min_garp", minimal},
		{"true", "vrrp_min_garp true", minimal},
		{"false", "vrrp_min_garp false", dflt},
		{"earlier non-default wins", "vrrp_garp_master_repeat 3\n vrrp_garp_master_delay 2\n vrrp_min_garp",
			garpValues{delay: 2 * time.Second, repeat: 3, lowerDelay: 2 * time.Second, lowerRepeat: 3}},
		{"earlier default is replaced", "vrrp_garp_master_repeat 5\n vrrp_garp_master_refresh_repeat 1\n vrrp_min_garp", minimal},
		{"later line wins even with the default", "vrrp_min_garp\n vrrp_garp_master_repeat 5\n vrrp_garp_master_delay 5",
			garpValues{delay: 5 * time.Second, repeat: 5, lowerDelay: 5 * time.Second, lowerRepeat: 5}},
		{"earlier refresh kept", "vrrp_garp_master_refresh 60\n vrrp_garp_master_refresh_repeat 2\n vrrp_min_garp",
			garpValues{refresh: 60 * time.Second, refreshRepeat: 2, repeat: 1, lowerRepeat: 1}},
		{"lower_prio set explicitly", "vrrp_min_garp\n vrrp_garp_lower_prio_repeat 4\n vrrp_garp_lower_prio_delay 3",
			garpValues{repeat: 1, lowerRepeat: 4, lowerDelay: 3 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, "global_defs {\n "+tc.global+"\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n}\n", Options{})
			g := cfg.Global
			got := garpValues{g.GarpMasterDelay, g.GarpMasterRefresh, g.GarpLowerPrioDelay, g.GarpMasterRepeat, g.GarpRefreshRepeat, g.GarpLowerPrioRepeat}
			if got != tc.want {
				t.Errorf("global: got %+v, want %+v", got, tc.want)
			}
			vi := cfg.Instances[0]
			got = garpValues{vi.GarpMasterDelay, vi.GarpMasterRefresh, vi.GarpLowerPrioDelay, vi.GarpMasterRepeat, vi.GarpRefreshRepeat, vi.GarpLowerPrioRepeat}
			if got != tc.want {
				t.Errorf("instance: got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestInstanceLowerPrioGarp: an instance's unset garp_lower_prio_* come from the global
// lower-priority settings, which default to the global master ones, never from the
// instance's own garp_master_* (keepalived's vrrp_complete_init, then
// vrrp_complete_instance); strict mode zeroes them, with a warning only for the
// instance's own non-zero line.
func TestInstanceLowerPrioGarp(t *testing.T) {
	for _, tc := range []struct {
		name, global, instance string
		repeat                 int
		delay                  time.Duration
		warn                   string // part of a warning; "" for none
	}{
		{"defaults", "", "", 5, 5 * time.Second, ""},
		{"own master settings are not inherited", "", "garp_master_repeat 2\n garp_master_delay 1", 5, 5 * time.Second, ""},
		{"global master settings are", "vrrp_garp_master_repeat 3\n vrrp_garp_master_delay 2", "garp_master_repeat 1", 3, 2 * time.Second, ""},
		{"global lower settings", "vrrp_garp_lower_prio_repeat 4\n vrrp_garp_lower_prio_delay 6", "", 4, 6 * time.Second, ""},
		{"own lower settings", "vrrp_garp_lower_prio_repeat 4", "garp_lower_prio_repeat 7\n garp_lower_prio_delay 8", 7, 8 * time.Second, ""},
		{"strict zeroes", "vrrp_garp_lower_prio_repeat 4", "strict_mode", 0, 0, ""},
		{"strict zeroes own", "", "strict_mode\n garp_lower_prio_repeat 2", 0, 0, "t.conf:9:2: warning: vrrp_instance VI_1: strict mode requires no repeat GARPs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := oneInstance("global_defs {\n "+tc.global+"\n}", "priority 255\n "+tc.instance)
			cfg, diags := Parse("t.conf", []byte(src), Options{})
			if diags.HasErrors() {
				t.Fatalf("unexpected errors:\n%s", diags)
			}
			vi := cfg.Instances[0]
			if vi.GarpLowerPrioRepeat != tc.repeat || vi.GarpLowerPrioDelay != tc.delay {
				t.Errorf("garp_lower_prio repeat %d delay %v, want %d %v", vi.GarpLowerPrioRepeat, vi.GarpLowerPrioDelay, tc.repeat, tc.delay)
			}
			got := diags.String()
			if tc.warn == "" && strings.Contains(got, "GARP") || tc.warn != "" && !strings.Contains(got, tc.warn) {
				t.Errorf("diagnostics %q, want one containing %q", got, tc.warn)
			}
		})
	}
}

// TestGarpGroup: a garp_group's interfaces are interface plus interfaces; one already
// in an earlier group stays there, and a group without a pause or interface is
// dropped, each with a warning naming its line, as keepalived.
func TestGarpGroup(t *testing.T) {
	src := `garp_group {
 garp_interval 0.1
 interface bond0
 interfaces {
  bond1
  bond2
 }
}
garp_group {
 gna_interval 0.2
 interfaces {
  bond2
  eth3
 }
}
garp_group {
 interface eth4
}
garp_group {
 garp_interval 1
 interface bond0
}
`
	cfg, diags := Parse("t.conf", []byte(src), Options{})
	if diags.HasErrors() {
		t.Fatalf("unexpected errors:\n%s", diags)
	}
	var got []string
	for _, g := range cfg.GarpGroups {
		got = append(got, fmt.Sprintf("%v/%v %s", g.GarpInterval, g.GnaInterval, strings.Join(g.Members, ",")))
	}
	if want := "100ms/0s bond0,bond1,bond2 0s/200ms eth3"; strings.Join(got, " ") != want {
		t.Errorf("groups %q, want %q", strings.Join(got, " "), want)
	}
	for _, w := range []string{
		"t.conf:11:2: warning: garp_group: interface bond2 is already in an earlier garp_group",
		"t.conf:16:1: warning: garp_group without garp_interval or gna_interval",
		"t.conf:21:2: warning: garp_group: interface bond0 is already in an earlier garp_group",
		"t.conf:19:1: warning: garp_group names no interface",
	} {
		if !strings.Contains(diags.String(), w) {
			t.Errorf("diagnostics lack %q:\n%s", w, diags)
		}
	}
}

// TestUmask: the forms keepalived's umask_handler takes, and what it rejects.
func TestUmask(t *testing.T) {
	for _, tc := range []struct {
		args string
		want FileMask
		err  string // part of the error; "" when accepted
	}{
		{"022", 0o022, ""},
		{"0077", 0o077, ""},
		{"0", 0, ""},
		{"18", 0o022, ""}, // strtol base 0: decimal without a leading 0
		{"0x12", 0o022, ""},
		{"0777", 0o777, ""},
		{"IWGRP|IWOTH", 0o022, ""},
		{"IWGRP | IWOTH", 0o022, ""},
		{"IWGRP |IWOTH|IXOTH", 0o023, ""},
		{"IRUSR|IWUSR|IXUSR|IRGRP|IWGRP|IXGRP|IROTH|IWOTH|IXOTH", 0o777, ""},
		{"01000", 0, "invalid umask"},
		{"08", 0, "invalid umask"},
		{"0o22", 0, "invalid umask"},
		{"0_22", 0, "invalid umask"},
		{"22x", 0, "invalid umask"},
		{"022 IWGRP", 0, "no further words"},
		{"IWGRP IWOTH", 0, "joined by '|'"},
		{"IWGRP|", 0, "without a bit"},
		{"IWGRP |", 0, "without a bit"},
		{"|IWGRP", 0, "unknown umask bit"},
		{"iwgrp", 0, "unknown umask bit"},
		{"IWGR", 0, "unknown umask bit"},
		{"IWGRPX", 0, "joined by '|'"},
	} {
		t.Run(tc.args, func(t *testing.T) {
			src := "global_defs {\n umask " + tc.args + "\n}\n"
			cfg, diags := Parse("k.conf", []byte(src), Options{})
			if tc.err != "" {
				if !diags.HasErrors() || !strings.Contains(diags.String(), tc.err) || !strings.Contains(diags.String(), "k.conf:2") {
					t.Fatalf("umask %s: want an error with %q at k.conf:2, got %q", tc.args, tc.err, diags)
				}
				return
			}
			if diags.HasErrors() || cfg.Global.Umask == nil || *cfg.Global.Umask != tc.want {
				t.Fatalf("umask %s: got %v %v, want %04o", tc.args, cfg.Global.Umask, diags, tc.want)
			}
		})
	}
	if cfg := mustParse(t, "global_defs {\n router_id x\n}\n", Options{}); cfg.Global.Umask != nil {
		t.Errorf("umask without the keyword: %04o, want nil", *cfg.Global.Umask)
	}
}

// TestNotifyPriorityChanges: an instance's notify_priority_changes is its own, else its
// sync group's, else global vrrp_notify_priority_changes, else off.
func TestNotifyPriorityChanges(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		global, group, instance string
		wantGrouped, wantAlone  bool
	}{
		{"none", "", "", "", false, false},
		{"global", "vrrp_notify_priority_changes", "", "", true, true},
		{"global false", "vrrp_notify_priority_changes false", "", "", false, false},
		{"group", "", "notify_priority_changes", "", true, false},
		{"group off over global", "vrrp_notify_priority_changes", "notify_priority_changes off", "", false, true},
		{"instance over group", "", "notify_priority_changes", "notify_priority_changes no", false, false},
		{"instance on", "", "", "notify_priority_changes yes", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "global_defs {\n " + tc.global + "\n}\n" +
				"vrrp_sync_group G {\n group {\n  VI_1\n  VI_2\n }\n " + tc.group + "\n}\n"
			for i, name := range []string{"VI_1", "VI_2", "VI_3"} {
				own := ""
				if name != "VI_2" {
					own = tc.instance
				}
				src += fmt.Sprintf("vrrp_instance %s {\n interface eth0\n virtual_router_id %d\n %s\n}\n", name, i+1, own)
			}
			cfg := mustParse(t, src, Options{})
			got := map[string]bool{}
			for _, vi := range cfg.Instances {
				got[vi.Name] = vi.NotifyPriorityChanges
			}
			// VI_2 (grouped, never its own keyword) follows the group or the global.
			want2 := tc.wantGrouped
			if tc.instance != "" {
				want2 = tc.group == "notify_priority_changes" || tc.group == "" && tc.global == "vrrp_notify_priority_changes"
			}
			if got["VI_1"] != tc.wantGrouped || got["VI_2"] != want2 || got["VI_3"] != tc.wantAlone {
				t.Errorf("got %v, want VI_1 %v, VI_2 %v, VI_3 %v", got, tc.wantGrouped, want2, tc.wantAlone)
			}
		})
	}
}

// TestNFTables: the table keywords read in line order as Debian's keepalived 2.2.7
// (nftables only) reads them, and accept mode as strict mode leaves it.
func TestNFTables(t *testing.T) {
	for _, tc := range []struct {
		name, global, instance string
		table                  string
		priority               int
		accept                 bool
		warn                   string // part of a warning; "" for none
	}{
		{"nothing", "", "", "", -1, true, ""},
		{"named", "nftables gk\n nftables_priority 5", "", "gk", 5, true, ""},
		{"unnamed", "nftables", "", "keepalived", -1, true, ""},
		{"vrrp_iptables", "vrrp_iptables INPUT", "", "keepalived", -1, true, "t.conf:2:2: warning: iptables not supported, using nftables instead"},
		{"vrrp_iptables then nftables", "vrrp_iptables\n nftables gk", "", "keepalived", -1, true, "t.conf:3:2: warning: nftables already specified"},
		{"nftables then vrrp_iptables", "nftables gk\n vrrp_iptables", "", "keepalived", -1, true, "iptables not supported"},
		{"priority reset", "nftables_priority 5\n nftables gk", "", "gk", -1, true, "t.conf:2:2: warning: nftables_priority is reset to -1"},
		{"strict", "vrrp_strict", "", "", -1, false, ""},
		{"strict v2 accept", "vrrp_strict", "accept", "", -1, false, "accept mode for VRRP version 2 does not comply with RFC3768"},
		{"strict v3 accept", "vrrp_strict", "accept\n version 3", "", -1, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := oneInstance("global_defs {\n "+tc.global+"\n}", "priority 100\n "+tc.instance)
			cfg, diags := Parse("t.conf", []byte(src), Options{})
			if diags.HasErrors() {
				t.Fatalf("unexpected errors:\n%s", diags)
			}
			g := cfg.Global
			if g.NFTables != tc.table || g.NFTablesPriority != tc.priority || cfg.Instances[0].Accept != tc.accept {
				t.Errorf("table %q priority %d accept %v, want %q %d %v", g.NFTables, g.NFTablesPriority, cfg.Instances[0].Accept, tc.table, tc.priority, tc.accept)
			}
			got := diags.String()
			if tc.warn == "" && got != "" || tc.warn != "" && !strings.Contains(got, tc.warn) {
				t.Errorf("diagnostics %q, want one containing %q", got, tc.warn)
			}
		})
	}
	long := "global_defs {\n nftables " + strings.Repeat("t", 256) + "\n}\n"
	if _, diags := Parse("t.conf", []byte(long), Options{}); !strings.Contains(diags.String(), "t.conf:2:2: error: nftables table name too long") {
		t.Errorf("a 256-byte table name: %q", diags)
	}
}

// TestLinkDelays: interface_up_down_delays lines, a later line for the same interface
// winning, and keepalived's shortening against the instances' down timer.
func TestLinkDelays(t *testing.T) {
	for _, tc := range []struct {
		name, lines, instance string
		down, up              time.Duration
		diag                  string // part of a diagnostic; "" for none
	}{
		{"down only", "eth0 0.5", "", 500 * time.Millisecond, 0, ""},
		{"both", "eth0 1 0.25", "", time.Second, 250 * time.Millisecond, ""},
		{"microseconds", "eth0 0.000001", "", time.Microsecond, 0, ""},
		{"later line wins", "eth0 1\n eth0 0.5 0.5", "", 500 * time.Millisecond, 500 * time.Millisecond, "t.conf:3:2: warning: interface_up_down_delays: eth0 given again"},
		{"not under the down timer", "eth0 2.5 1", "", 2*time.Second - time.Second/256, time.Second, "interface eth0 debounce timer(s) not less than 2 * advert_int"},
		{"down_timer_adverts 1", "eth0 0.5", "down_timer_adverts 1", 0, 0, "cannot use debounce timers with down_timer_adverts = 1"},
		{"other interface", "eth1 9", "", 0, 0, ""},
		{"too long", "eth0 256", "", 0, 0, "error"},
		{"no delay", "eth0", "", 0, 0, "error"},
		{"too many", "eth0 1 1 1", "", 0, 0, "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := oneInstance("interface_up_down_delays {\n "+tc.lines+"\n}", tc.instance)
			cfg, diags := Parse("t.conf", []byte(src), Options{})
			if wantDiagnostic(t, diags, tc.diag); diags.HasErrors() {
				return
			}
			var down, up time.Duration
			for _, d := range cfg.LinkDelays {
				if d.Interface == "eth0" {
					down, up = d.Down, d.Up
				}
			}
			if down != tc.down || up != tc.up {
				t.Errorf("eth0 delays %v/%v, want %v/%v", down, up, tc.down, tc.up)
			}
		})
	}
}

// TestGarpGroupVMAC: a garp_group naming a VMAC (its own name or keepalived's default
// vrrp.VRID) drops it with a warning, as keepalived does.
func TestGarpGroupVMAC(t *testing.T) {
	src := `garp_group {
 garp_interval 0.1
 interfaces {
  vrrp.7
  mine
  eth1
 }
}
vrrp_instance A {
 interface eth0
 virtual_router_id 7
 use_vmac
 virtual_ipaddress {
  192.0.2.1
 }
}
vrrp_instance B {
 interface eth0
 virtual_router_id 8
 use_vmac mine
 virtual_ipaddress {
  192.0.2.2
 }
}
`
	cfg, diags := Parse("t.conf", []byte(src), Options{})
	if diags.HasErrors() {
		t.Fatalf("unexpected errors:\n%s", diags)
	}
	if got := cfg.GarpGroups[0].Members; len(got) != 1 || got[0] != "eth1" {
		t.Errorf("members %v, want [eth1]", got)
	}
	for _, vmac := range []string{"vrrp.7", "mine"} {
		if !strings.Contains(diags.String(), "garp_group: "+vmac+" is a VMAC") {
			t.Errorf("no warning for %s: %s", vmac, diags)
		}
	}
}

// TestGarpExtraIf: garp_extra_if [all] SECS, the instance's taking the global
// vrrp_garp_extra_if when unset, and keepalived's ranges (0 turns an instance's off;
// the global one needs at least 1).
func TestGarpExtraIf(t *testing.T) {
	for _, tc := range []struct {
		name, global, instance string
		want                   *GarpExtraIf
		diag                   string
	}{
		{"none", "", "", nil, ""},
		{"instance", "", "garp_extra_if 100", &GarpExtraIf{Interval: 100 * time.Second}, ""},
		{"all first", "", "garp_extra_if all 60", &GarpExtraIf{Interval: time.Minute, All: true}, ""},
		{"all last", "", "garp_extra_if 60 all", &GarpExtraIf{Interval: time.Minute, All: true}, ""},
		{"inherited", "vrrp_garp_extra_if all 30", "", &GarpExtraIf{Interval: 30 * time.Second, All: true}, ""},
		{"own wins", "vrrp_garp_extra_if all 30", "garp_extra_if 0", &GarpExtraIf{}, ""},
		{"old spelling", "", "vmac_garp_intvl 5", &GarpExtraIf{Interval: 5 * time.Second}, "deprecated"},
		{"no time", "", "garp_extra_if all", nil, "error"},
		{"too long", "", "garp_extra_if 86401", nil, "error"},
		{"global 0", "vrrp_garp_extra_if 0", "", nil, "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := oneInstance("global_defs {\n "+tc.global+"\n}", tc.instance)
			cfg, diags := Parse("t.conf", []byte(src), Options{})
			if wantDiagnostic(t, diags, tc.diag); diags.HasErrors() {
				return
			}
			e := cfg.Instances[0].GarpExtraIf
			if (e == nil) != (tc.want == nil) || e != nil && *e != *tc.want {
				t.Errorf("garp_extra_if %+v, want %+v", e, tc.want)
			}
		})
	}
}

// TestBFDInstance: bfd_instance values in keepalived's units and defaults, and
// track_bfd taking the instance's weight unless it gives its own.
func TestBFDInstance(t *testing.T) {
	src := `bfd_instance a {
 neighbor_ip 192.0.2.2
 min_rx 2.5
 idle_tx 1500
 weight -20 reverse
}
bfd_instance b {
 neighbour_ip 2001:db8::2
 source_ip 2001:db8::1
 passive
 max_hops 300
}
vrrp_instance VI_1 {
 interface eth0
 virtual_router_id 1
 track_bfd {
  a
  b weight 5
 }
 virtual_ipaddress {
  192.0.2.1
 }
}
`
	if _, diags := Parse("t.conf", []byte(src), Options{}); !strings.Contains(diags.String(), "max_hops") {
		t.Errorf("max_hops 300: %s", diags)
	}
	src = strings.Replace(src, " max_hops 300\n", "", 1)
	cfg, diags := Parse("t.conf", []byte(src), Options{})
	if diags.String() != "" {
		t.Fatalf("diagnostics: %s", diags)
	}
	a, b := cfg.BFDInstances[0], cfg.BFDInstances[1]
	if a.MinRx != 2500*time.Microsecond || a.MinTx != 10*time.Millisecond || a.IdleTx != 1500*time.Millisecond ||
		a.Multiplier != 5 || a.TTL != 255 || a.MaxHops != 0 || !a.VRRP || !a.Checker {
		t.Errorf("a: %+v", a)
	}
	if b.TTL != 64 || !b.Passive || b.SourceIP.String() != "2001:db8::1" {
		t.Errorf("b: %+v", b)
	}
	tr := cfg.Instances[0].TrackBFDs
	if len(tr) != 2 || tr[0].Weight != -20 || !tr[0].Reverse || tr[1].Weight != 5 || tr[1].Reverse {
		t.Errorf("track_bfd: %+v", tr)
	}
	for _, tc := range []struct{ name, src, err string }{
		{"unknown", "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n track_bfd {\n  nosuch\n }\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n", "not defined"},
		{"no neighbour", "bfd_instance x {\n min_rx 10\n}\n", "neighbor_ip"},
		{"families", "bfd_instance x {\n neighbor_ip 192.0.2.2\n source_ip 2001:db8::1\n}\n", "same family"},
		{"duplicate neighbour", "bfd_instance x {\n neighbor_ip 192.0.2.2\n}\nbfd_instance y {\n neighbor_ip 192.0.2.2\n}\n", "already has a session"},
		{"idle_tx below 1 s", "bfd_instance x {\n neighbor_ip 192.0.2.2\n idle_tx 999\n}\n", "milliseconds"},
		{"BFD_CHECK unknown", "virtual_server 192.0.2.1 80 {\n real_server 192.0.2.9 80 {\n  BFD_CHECK {\n   name nosuch\n  }\n }\n}\n", "BFD nosuch not configured"},
		{"BFD_CHECK of a VRRP-only session", "bfd_instance x {\n neighbor_ip 192.0.2.9\n vrrp\n}\nvirtual_server 192.0.2.1 80 {\n real_server 192.0.2.9 80 {\n  BFD_CHECK {\n   name x\n  }\n }\n}\n", "only VRRP gets"},
		{"checker only", "bfd_instance x {\n neighbor_ip 192.0.2.2\n checker\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n track_bfd {\n  x\n }\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n", "only checkers"},
	} {
		if _, diags := Parse("t.conf", []byte(tc.src), Options{}); !diags.HasErrors() || !strings.Contains(diags.String(), tc.err) {
			t.Errorf("%s: %q, want an error with %q", tc.name, diags, tc.err)
		}
	}
}

// TestHigherPrioSendAdvert: the instance takes the global setting, and strict mode
// turns it off (with a warning when the instance asked for it), as keepalived.
func TestHigherPrioSendAdvert(t *testing.T) {
	for _, tc := range []struct {
		name, global, instance string
		want                   bool
		warn                   string
	}{
		{"default", "", "", false, ""},
		{"global", "vrrp_higher_prio_send_advert", "", true, ""},
		{"own", "", "higher_prio_send_advert", true, ""},
		{"strict ignores the global", "vrrp_higher_prio_send_advert\n vrrp_strict", "", false, ""},
		{"strict resets its own", "vrrp_strict", "higher_prio_send_advert", false, "strict mode requires higher_prio_send_advert to be false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := oneInstance("global_defs {\n "+tc.global+"\n}", "version 3\n "+tc.instance)
			cfg, diags := Parse("t.conf", []byte(src), Options{})
			if got := cfg.Instances[0].HigherPrioSendAdvert; got != tc.want {
				t.Errorf("higher_prio_send_advert %v, want %v", got, tc.want)
			}
			if got := diags.String(); tc.warn == "" && got != "" || !strings.Contains(got, tc.warn) {
				t.Errorf("diagnostics %q, want %q", got, tc.warn)
			}
		})
	}
}

// TestUnicastWithoutPeers: a unicast keyword without peers falls back to multicast
// with keepalived's deprecation warning, unless unicast_fault_no_peer asks for FAULT.
func TestUnicastWithoutPeers(t *testing.T) {
	for _, tc := range []struct{ instance, warn string }{
		{"unicast_peer {\n }", "without any unicast peers. Defaulting to multicast"},
		{"unicast_peer {\n }\n unicast_fault_no_peer", ""},
		{"", ""},
	} {
		src := oneInstance("", tc.instance)
		_, diags := Parse("t.conf", []byte(src), Options{})
		if got := diags.String(); tc.warn == "" && strings.Contains(got, "unicast") || !strings.Contains(got, tc.warn) {
			t.Errorf("%q: diagnostics %q, want %q", tc.instance, got, tc.warn)
		}
	}
}

// oneInstance is a configuration of top-level blocks (top) and one IPv4 instance on
// eth0 with the given extra lines.
func oneInstance(top, lines string) string {
	return top + "\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n " + lines + "\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n"
}

// wantDiagnostic stops the test unless the diagnostics contain want, or are empty when
// want is.
func wantDiagnostic(t *testing.T, diags Diagnostics, want string) {
	t.Helper()
	if got := diags.String(); want == "" && got != "" || want != "" && !strings.Contains(got, want) {
		t.Fatalf("diagnostics %q, want one containing %q", got, want)
	}
}

// TestRandomSeed: ${_RANDOM} follows the caller's seed, unless global_defs sets
// random_seed, which then seeds every ${_RANDOM} of the file, those before it too.
func TestRandomSeed(t *testing.T) {
	src := func(global string) string {
		return "vrrp_instance VI_${_RANDOM 0 1000000000} {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n" +
			"global_defs {\n " + global + "\n}\n"
	}
	name := func(text string, seed int64) string {
		t.Helper()
		cfg, diags := Parse("t.conf", []byte(text), Options{RandomSeed: seed})
		if diags.HasErrors() || len(cfg.Instances) != 1 {
			t.Fatalf("diagnostics:\n%s", diags)
		}
		return cfg.Instances[0].Name
	}
	if a, b := name(src(""), 1), name(src(""), 2); a == b {
		t.Errorf("seeds 1 and 2 both gave %s", a)
	}
	a, b := name(src("random_seed 4000000000"), 1), name(src("random_seed 4000000000"), 2)
	if a != b || a != name(src(""), 4000000000) {
		t.Errorf("random_seed 4000000000: %s and %s; the caller's seed 4000000000 gives %s", a, b, name(src(""), 4000000000))
	}
	_, diags := Parse("t.conf", []byte(src("random_seed -1")), Options{})
	wantDiagnostic(t, diags, `t.conf:9:14: error: random_seed: "-1" is not a number 0..4294967295`)
}

// TestURLRegex: keepalived's rules for a url block's regex settings, and what govs
// cannot honour.
func TestURLRegex(t *testing.T) {
	vs := func(url string) string {
		return "virtual_server 192.0.2.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.1 80 {\n  HTTP_GET {\n   url {\n    path /\n    " + url + "\n   }\n  }\n }\n}\n"
	}
	for _, tc := range []struct {
		name, url string
		options   []string
		max       int
		warn      string
	}{
		{"honoured", "regex ok\n    regex_options caseless extended no_start_optimize\n    regex_stack 32768 65536", []string{"caseless", "extended", "no_start_optimize"}, 0, ""},
		{"not honoured", "regex ok\n    regex_options ucp caseless", []string{"caseless"}, 0, "t.conf:10:5: warning: regex_options ucp: not supported by govs's regular expressions (Go's RE2); ignored"},
		{"unknown", "regex ok\n    regex_options fast", nil, 0, "t.conf:10:5: warning: regex_options fast: not a PCRE2 option keepalived knows; ignored"},
		{"without regex", "regex_options caseless\n    regex_min_offset 3", nil, 0, "t.conf:9:5: warning: regex_options without regex: ignored"},
		{"offsets cross", "regex ok\n    regex_min_offset 9\n    regex_max_offset 3", nil, 0, "t.conf:11:5: warning: regex min offset 9 > regex_max_offset 3 - ignoring both"},
		{"offsets", "regex ok\n    regex_min_offset 3\n    regex_max_offset 3", nil, 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, diags := Parse("t.conf", []byte(vs(tc.url)), Options{})
			if diags.HasErrors() {
				t.Fatalf("errors:\n%s", diags)
			}
			wantDiagnostic(t, diags, tc.warn)
			u := cfg.VirtualServers[0].RealServers[0].Checkers[0].URLs[0]
			if !slices.Equal(u.RegexOptions, tc.options) && len(u.RegexOptions)+len(tc.options) > 0 || u.RegexMaxOffset != tc.max {
				t.Errorf("options %q, max %d; want %q, %d", u.RegexOptions, u.RegexMaxOffset, tc.options, tc.max)
			}
		})
	}
}

// TestUseVMACArguments: use_vmac [NAME] [MAC] in either order, the MAC of five octets
// taking the virtual_router_id as its sixth, and what keepalived 2.2.7 will not use
// (bad octets, multicast, RFC 5798's own) refused with the argument named; strict mode
// clears the MAC with keepalived's warning.
func TestUseVMACArguments(t *testing.T) {
	for _, tc := range []struct {
		args, extra string
		want        VMAC
		wantErr     string
		wantWarn    string
	}{
		{args: "", want: VMAC{}},
		{args: "mine", want: VMAC{Name: "mine"}},
		{args: "mine 02:11:22:33:44:55", want: VMAC{Name: "mine", MAC: "02:11:22:33:44:55"}},
		{args: "2:a:bb:C:d:e mine", want: VMAC{Name: "mine", MAC: "02:0a:bb:0c:0d:0e"}},
		{args: "02:11:22:33:44", want: VMAC{MAC: "02:11:22:33:44:2a", MACUsesVRID: true}},
		{args: "02:11:22:33:44:", want: VMAC{MAC: "02:11:22:33:44:2a", MACUsesVRID: true}},
		{args: "02:11:22:33:44:55", extra: "strict_mode", want: VMAC{}, wantWarn: "cannot specify MAC address with strict mode - clearing"},
		{args: "02:11:22:33", wantErr: "want six octets"},
		{args: "02:11:22:33:44:55:66", wantErr: "want six octets"},
		{args: "02:11:22:33:44:5g", wantErr: `octet "5g" is not one or two hexadecimal digits`},
		{args: "02:11:22:333:44:55", wantErr: `octet "333"`},
		{args: "01:11:22:33:44:55", wantErr: "multicast"},
		{args: "00:00:5e:00:01:2a", wantErr: "RFC 5798"},
		{args: "00:00:5e:00:02:", wantErr: "RFC 5798"},
		{args: "a b", wantErr: "VMAC interface name already specified"},
		{args: "02:11:22:33:44:55 02:11:22:33:44:56", wantErr: "VMAC interface address already specified"},
	} {
		t.Run(tc.args, func(t *testing.T) {
			src := fmt.Sprintf("vrrp_instance A {\n interface eth0\n virtual_router_id 42\n priority 255\n %s\n use_vmac %s\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n", tc.extra, tc.args)
			cfg, diags := Parse("t.conf", []byte(src), Options{})
			if tc.wantErr != "" {
				if !diags.HasErrors() || !strings.Contains(diags.String(), tc.wantErr) || !strings.Contains(diags.String(), "t.conf:6:") {
					t.Fatalf("want an error at t.conf:6 with %q, got:\n%s", tc.wantErr, diags)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("unexpected errors:\n%s", diags)
			}
			if got := *cfg.Instances[0].UseVMAC; got != tc.want {
				t.Errorf("use_vmac %s: %+v, want %+v", tc.args, got, tc.want)
			}
			if tc.wantWarn != "" && !strings.Contains(diags.String(), tc.wantWarn) {
				t.Errorf("no warning %q: %s", tc.wantWarn, diags)
			}
		})
	}
}

// TestDBusServiceName: dbus_service_name must be a name the bus accepts; a bad one is an
// error naming the line.
func TestDBusServiceName(t *testing.T) {
	for _, tc := range []struct{ name, wantErr string }{
		{"org.keepalived.Vrrp1", ""},
		{"com.example.lb-1.Vrrp_2", ""},
		{"keepalived", "two elements or more"},
		{"org..keepalived", "non-empty"},
		{"org.1keepalived", "does not start with a digit"},
		{"org.keep alived", `' ' is not allowed`},
		{"org.kéepalived", `'é' is not allowed`},
		{"org." + strings.Repeat("a", 260), "at most 255"},
	} {
		src := "global_defs {\n enable_dbus\n dbus_service_name " + strconv.Quote(tc.name) + "\n}\n"
		cfg, diags := Parse("t.conf", []byte(src), Options{})
		if tc.wantErr == "" {
			if diags.HasErrors() || cfg.Global.DBusServiceName != tc.name || !cfg.Global.EnableDBus {
				t.Errorf("%q: %+v %s", tc.name, cfg.Global.DBusServiceName, diags)
			}
			continue
		}
		if !diags.HasErrors() || !strings.Contains(diags.String(), tc.wantErr) || !strings.Contains(diags.String(), "t.conf:3:") {
			t.Errorf("%q: want an error at t.conf:3 with %q, got:\n%s", tc.name, tc.wantErr, diags)
		}
	}
}

// TestNetNamespaceIPVSName: a name that is not a file of /run/netns is an error.
func TestNetNamespaceIPVSName(t *testing.T) {
	for name, bad := range map[string]bool{"lvs": false, "blue-1": false, "../etc": true, "a/b": true, "..": true} {
		_, diags := Parse("t.conf", []byte("net_namespace_ipvs "+name+"\n"), Options{})
		if diags.HasErrors() != bad || bad && !strings.Contains(diags.String(), "t.conf:1:") {
			t.Errorf("%q: %s", name, diags)
		}
	}
}
