package daemon

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/check"
	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/notify"
	"github.com/govs/govs/internal/table"
	"github.com/govs/govs/internal/vrrp"
)

func parse(t *testing.T, src string) *config.Config {
	t.Helper()
	cfg, diags := config.Parse("test.conf", []byte(src), config.Options{})
	if diags.HasErrors() {
		t.Fatalf("config errors:\n%s", diags.String())
	}
	return cfg
}

func TestPlanVirtualServer(t *testing.T) {
	cfg := parse(t, `
virtual_server 192.0.2.10 80 {
    delay_loop 3
    lb_algo sh
    sh-port
    lb_kind DR
    protocol TCP
    persistence_timeout 120
    persistence_granularity 255.255.255.0
    quorum 2
    hysteresis 1
    sorry_server 10.0.0.99 8080
    real_server 10.0.0.1 80 {
        weight 3
        inhibit_on_failure
        HTTP_GET {
            url {
                path /health
                status_code 200-204
            }
            connect_timeout 2
        }
        TCP_CHECK { connect_port 81 }
    }
    real_server 10.0.0.2 80 {
        lvs_method NAT
        uthreshold 100
        lthreshold 50
    }
}
virtual_server fwmark 7 {
    lb_algo rr
    real_server 2001:db8::1 {
        MISC_CHECK {
            misc_path "/bin/check arg1"
            misc_dynamic
        }
    }
}`)
	p, err := NewPlan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Spec.Services) != 2 {
		t.Fatalf("%d services, want 2", len(p.Spec.Services))
	}
	vs := p.Spec.Services[0]
	wantKey := table.ServiceKey{Protocol: table.TCP, Addr: netip.MustParseAddrPort("192.0.2.10:80")}
	if vs.Service.ServiceKey != wantKey || vs.Service.Scheduler != "sh" || vs.Service.Flags != table.SchedFlag2 {
		t.Errorf("service = %+v", vs.Service)
	}
	if vs.Service.Persistence.Timeout != 120*time.Second || vs.Service.Persistence.PrefixLen != 24 {
		t.Errorf("persistence = %+v", vs.Service.Persistence)
	}
	if vs.Quorum != 2 || vs.Hysteresis != 1 || vs.Sorry == nil || vs.Sorry.Addr != netip.MustParseAddrPort("10.0.0.99:80") || vs.Sorry.Method != table.Route {
		t.Errorf("quorum/sorry = %d %d %+v", vs.Quorum, vs.Hysteresis, vs.Sorry)
	}
	rs1, rs2 := vs.RealServers[0], vs.RealServers[1]
	if rs1.Weight != 3 || !rs1.InhibitOnFailure || !rs1.Checked || rs1.Method != table.Route {
		t.Errorf("rs1 = %+v", rs1)
	}
	if rs2.Weight != 1 || rs2.Checked || rs2.Method != table.Masquerade || rs2.UThreshold != 100 || rs2.LThreshold != 50 {
		t.Errorf("rs2 = %+v", rs2)
	}
	if len(p.Checks) != 2 {
		t.Fatalf("%d checked real servers, want 2", len(p.Checks))
	}
	c := p.Checks[0]
	if c.VS != wantKey || c.Addr != netip.MustParseAddrPort("10.0.0.1:80") || len(c.Checkers) != 2 || !c.Inhibit {
		t.Fatalf("checks[0] = %+v", c)
	}
	http := c.Checkers[0]
	if http.Type != "HTTP_GET" || *http.Timing.ConnectTimeout != 2*time.Second || *http.Timing.DelayLoop != 3*time.Second || *http.Timing.DelayBeforeRetry != 3*time.Second {
		t.Errorf("HTTP_GET spec = %+v timing %+v", http, http.Timing)
	}
	ho := http.Options.(*check.HTTPOptions)
	if len(ho.URLs) != 1 || ho.URLs[0].Path != "/health" || ho.URLs[0].StatusCodes[0] != (check.StatusRange{Lo: 200, Hi: 204}) {
		t.Errorf("HTTP options = %+v", ho)
	}
	if tcp := c.Checkers[1]; tcp.ConnectPort != 81 || *tcp.Timing.Retry != 1 {
		t.Errorf("TCP_CHECK spec = %+v", tcp)
	}

	fwm := p.Spec.Services[1]
	if fwm.Service.FWMark != 7 || !fwm.Service.IPv6 || fwm.RealServers[0].Addr != netip.MustParseAddrPort("[2001:db8::1]:0") {
		t.Errorf("fwmark service = %+v", fwm)
	}
	misc := p.Checks[1].Checkers[0]
	mo := misc.Options.(*check.MiscOptions)
	if strings.Join(mo.Argv, " ") != "/bin/check arg1" || !mo.Dynamic || *misc.Timing.Retry != 0 {
		t.Errorf("MISC_CHECK = %+v %+v", misc, mo)
	}
}

// TestPlanRealServerPorts: the table sends to a DR or TUN server at the port of its
// address service, and at port 0 for a fwmark service, as keepalived programs IPVS; the
// server is known (checks, notifications) by that address, but its checkers connect to
// the port configured, as keepalived's, made before it resets the port. A NAT server
// keeps its port, and one without takes the service's. A group's servers are known by
// their configured address, the table's port being each member's.
func TestPlanRealServerPorts(t *testing.T) {
	for _, tc := range []struct {
		name, vs, rs string
		table, known string
		connect      uint16 // the port the checker connects to
	}{
		{"DR, other port", "192.0.2.10 80", "10.0.0.1 8080 {\n lvs_method DR", "10.0.0.1:80", "10.0.0.1:80", 8080},
		{"DR, same port", "192.0.2.10 80", "10.0.0.1 80 {\n lvs_method DR", "10.0.0.1:80", "10.0.0.1:80", 80},
		{"TUN, no port", "192.0.2.10 80", "10.0.0.1 {\n lvs_method TUN", "10.0.0.1:80", "10.0.0.1:80", 80},
		{"DR, fwmark", "fwmark 7", "10.0.0.1 80 {\n lvs_method DR", "10.0.0.1:0", "10.0.0.1:0", 80},
		{"NAT, other port", "192.0.2.10 80", "10.0.0.1 8080 {\n lvs_method NAT", "10.0.0.1:8080", "10.0.0.1:8080", 8080},
		{"NAT, no port", "192.0.2.10 80", "10.0.0.1 {\n lvs_method NAT", "10.0.0.1:80", "10.0.0.1:80", 80},
		{"NAT, fwmark", "fwmark 7", "10.0.0.1 8080 {\n lvs_method NAT", "10.0.0.1:8080", "10.0.0.1:8080", 8080},
		{"group, DR", "group G", "10.0.0.1 8080 {\n lvs_method DR", "10.0.0.1:443", "10.0.0.1:8080", 8080},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPlan(parse(t, fmt.Sprintf(`
virtual_server_group G {
    192.0.2.20 443
}
virtual_server %s {
    protocol TCP
    real_server %s
        TCP_CHECK {
        }
    }
}`, tc.vs, tc.rs)))
			if err != nil {
				t.Fatal(err)
			}
			rs, c := p.Spec.Services[0].RealServers[0], p.Checks[0]
			known := rs.Addr
			if rs.CheckedAs.IsValid() {
				known = rs.CheckedAs
			}
			if rs.Addr.String() != tc.table || known.String() != tc.known || c.Addr.String() != tc.known {
				t.Errorf("table %s, engine knows it as %s, checks as %s; want %s, %s", rs.Addr, known, c.Addr, tc.table, tc.known)
			}
			if got := c.Checkers[0].ConnectPort; got != tc.connect {
				t.Errorf("the checker connects to port %d, want %d", got, tc.connect)
			}
		})
	}
}

// TestPlanUncheckedNotifies: a real server without checkers goes to the check manager
// only when keepalived would run something for it (notify_up with rs_init_notifies,
// notify_down or the mail when a reload removes it), with no checker and no feedback.
// With mail configured, every real server has smtp_alert by default.
func TestPlanUncheckedNotifies(t *testing.T) {
	const servers = `
virtual_server 192.0.2.10 80 {
    real_server 10.0.0.1 80 {
        notify_up "/bin/echo up"
    }
    real_server 10.0.0.2 80 {
        notify_down /bin/true
    }
    real_server 10.0.0.3 80 {
    }
}`
	for _, tc := range []struct {
		name, global, want string
	}{
		{"no mail", "rs_init_notifies", "10.0.0.1:80 10.0.0.2:80"},
		{"mail", "rs_init_notifies\n notification_email {\n  ops@example.com\n }\n smtp_server 127.0.0.1", "10.0.0.1:80 10.0.0.2:80 10.0.0.3:80"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPlan(parse(t, "global_defs {\n "+tc.global+"\n}\n"+servers))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range p.Checks {
				if len(c.Checkers) != 0 || c.Feedback != nil || !c.InitNotify {
					t.Errorf("%s: %d checkers, feedback %v, InitNotify %v; want none, none, true", c.Addr, len(c.Checkers), c.Feedback, c.InitNotify)
				}
				got = append(got, c.Addr.String())
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("check manager gets %v, want %s", got, tc.want)
			}
			if up := p.Checks[0].NotifyUp; strings.Join(up, " ") != "/bin/echo up" {
				t.Errorf("notify_up argv %q", up)
			}
		})
	}
}

func TestPlanGroupAndVRRP(t *testing.T) {
	cfg := parse(t, `
vrrp_script chk {
    script "/bin/true"
    interval 2
    weight -20
    fall 2
    rise 3
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    advert_int 1.5 # VRRPv2 rounds it to 2 s
    authentication {
        auth_type PASS
        auth_pass secret
    }
    virtual_ipaddress {
        192.0.2.10/24 dev eth0 label eth0:vip
    }
    unicast_peer { 192.0.2.2 }
    track_script { chk }
    notify "/bin/notify"
}
virtual_server_group G {
    192.0.2.20-21 80
    fwmark 3
}
virtual_server group G {
    protocol TCP
    real_server 10.0.0.1 80 { }
}`)
	p, err := NewPlan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range p.Spec.Services {
		keys = append(keys, s.Service.ServiceKey.String())
	}
	if got, want := strings.Join(keys, ","), "TCP 192.0.2.20:80,TCP 192.0.2.21:80,FWM 3"; got != want {
		t.Errorf("group services = %s, want %s", got, want)
	}
	if len(p.VRRP.Instances) != 1 {
		t.Fatalf("instances = %+v", p.VRRP.Instances)
	}
	in := p.VRRP.Instances[0]
	if in.Name != "VI_1" || in.VRID != 51 || in.Priority != 255 || in.InitialState != vrrp.StateMaster ||
		in.AdvertInterval != 2*time.Second || in.Version != 2 || in.AuthType != vrrp.AuthPass || in.AuthPass != "secret" {
		t.Errorf("instance = %+v", in)
	}
	if len(in.VIPs) != 1 || in.VIPs[0].Prefix != netip.MustParsePrefix("192.0.2.10/24") || in.VIPs[0].Label != "eth0:vip" || in.VIPs[0].Dev != "eth0" {
		t.Errorf("VIPs = %+v", in.VIPs)
	}
	if len(in.UnicastPeers) != 1 || len(in.TrackScripts) != 1 || in.TrackScripts[0].Name != "chk" || in.Notify.Generic == nil {
		t.Errorf("instance peers/tracking/notify = %+v", in)
	}
	if s := p.VRRP.Scripts[0]; s.Name != "chk" || s.Weight != -20 || s.Fall != 2 || s.Rise != 3 || s.Interval != 2*time.Second {
		t.Errorf("script = %+v", s)
	}
}

// TestPlanConformanceSamples maps every keepalived sample govs accepts: what `govs
// check` accepts, `govs run` must be able to run (AH authentication included).
func TestPlanConformanceSamples(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "conformance", "keepalived-samples")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("no conformance samples beside the checkout: %v", err)
	}
	mapped := 0
	for _, e := range entries {
		if e.Name() == "INDEX.md" {
			continue
		}
		cfg, diags := config.Load(filepath.Join(dir, e.Name()), config.Options{ConfigID: "high"})
		if diags.HasErrors() {
			continue // rejected samples are config's tests
		}
		p, err := NewPlan(cfg)
		switch {
		case err != nil || p.VRRPErr != nil:
			t.Errorf("%s: %v %v", e.Name(), err, p.VRRPErr)
		default:
			mapped++
		}
	}
	if mapped < 20 {
		t.Errorf("only %d samples mapped", mapped)
	}
}

func TestLoadPlanRefusesBadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(path, []byte("virtual_server 192.0.2.1 80 {\n lb_algo wrrr\n}\n"), 0o644)
	var diag strings.Builder
	_, err := loadPlan(Options{ConfigPath: path, ConfigErrors: &diag})
	if !errors.Is(err, ErrConfig) || !strings.Contains(diag.String(), "bad.conf:2:") {
		t.Errorf("err = %v, diagnostics %q", err, diag.String())
	}
}

func TestVRRPMail(t *testing.T) {
	tests := []struct {
		group         bool
		state         vrrp.State
		subject, body string
	}{
		{false, vrrp.StateMaster, "[lb1] VRRP Instance VI_1 - Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="},
		{false, vrrp.StateBackup, "[lb1] VRRP Instance VI_1 - Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="},
		{false, vrrp.StateFault, "[lb1] VRRP Instance VI_1 - Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <="},
		{false, vrrp.StateStop, "[lb1] VRRP Instance VI_1 - Stopping", "=> VRRP Instance stopping <="},
		{true, vrrp.StateMaster, "[lb1] VRRP Group VI_1 - Entering MASTER state", "=> All VRRP group instances are now in MASTER state <="},
		{true, vrrp.StateFault, "[lb1] VRRP Group VI_1 - Entering FAULT state", "=> All VRRP group instances are now in FAULT state <="},
		{true, vrrp.StateStop, "[lb1] VRRP Group VI_1 - Stopping", "=> All VRRP group instances are now stopping <="},
	}
	for _, tt := range tests {
		m, ok := vrrpMessage("lb1", tt.group, "VI_1", tt.state)
		if !ok || m.Subject != tt.subject || m.Body != tt.body {
			t.Errorf("vrrpMessage(%v, %v) = %q / %q, want %q / %q", tt.group, tt.state, m.Subject, m.Body, tt.subject, tt.body)
		}
	}
}

func TestVRRPMailOncePerState(t *testing.T) {
	for _, noFaults := range []bool{false, true} {
		var got []string
		a := &mailAlerter{send: func(m notify.Message) bool { got = append(got, m.Subject); return true }, routerID: "lb1",
			noEmailFaults: noFaults, last: map[alertKey]vrrp.State{}}
		for _, s := range []vrrp.State{vrrp.StateBackup, vrrp.StateBackup, vrrp.StateFault, vrrp.StateBackup, vrrp.StateMaster, vrrp.StateInit, vrrp.StateStop} {
			a.Alert(false, "VI_1", s, 100)
		}
		a.Alert(true, "G", vrrp.StateBackup, 0) // a group is mailed apart from its instances
		want := []string{"[lb1] VRRP Instance VI_1 - Entering BACKUP state"}
		if !noFaults {
			want = append(want, "[lb1] VRRP Instance VI_1 - Entering FAULT state", "[lb1] VRRP Instance VI_1 - Entering BACKUP state")
		}
		want = append(want, "[lb1] VRRP Instance VI_1 - Entering MASTER state", "[lb1] VRRP Instance VI_1 - Stopping", "[lb1] VRRP Group G - Entering BACKUP state")
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("no_email_faults=%v: mailed\n%s\nwant\n%s", noFaults, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

func TestPlanVMACAndAH(t *testing.T) {
	src := `vrrp_instance A {
    interface eth0
    virtual_router_id 7
    priority 100
    use_vmac vrrp-a
    vmac_xmit_base
    authentication {
        auth_type AH
        auth_pass secret
    }
    virtual_ipaddress {
        192.0.2.7/24
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 8
    priority 100
    use_vmac 02:00:00:00:01:
    virtual_ipaddress {
        192.0.2.8/24
    }
}
`
	cfg, diags := config.Parse("test.conf", []byte(src), config.Options{})
	if diags.HasErrors() || len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	p, err := NewPlan(cfg)
	if err != nil || p.VRRPErr != nil {
		t.Fatalf("NewPlan: %v %v", err, p.VRRPErr)
	}
	byName := map[string]vrrp.InstanceConfig{}
	for _, in := range p.VRRP.Instances {
		byName[in.Name] = in
	}
	a, b := byName["A"], byName["B"]
	if !a.UseVMAC || a.VMACName != "vrrp-a" || !a.VMACXmitBase || a.AuthType != vrrp.AuthAH || a.AuthPass != "secret" {
		t.Errorf("A = use_vmac %v %q xmit_base %v auth %v %q", a.UseVMAC, a.VMACName, a.VMACXmitBase, a.AuthType, a.AuthPass)
	}
	if !b.UseVMAC || b.VMACName != "" || b.VMACXmitBase || b.VMACMAC.String() != "02:00:00:00:01:08" {
		t.Errorf("B = use_vmac %v %q xmit_base %v mac %v", b.UseVMAC, b.VMACName, b.VMACXmitBase, b.VMACMAC)
	}
	if a.VMACMAC != nil {
		t.Errorf("A's VMAC MAC %v, want the virtual router MAC (nil)", a.VMACMAC)
	}
}

// TestPlanSSLBlock: the global SSL block is SSL_GET's client context (CA, certificate
// and key), not HTTP_GET's; a password-protected key is not loaded.
func TestPlanSSLBlock(t *testing.T) {
	servers := `
virtual_server 192.0.2.10 443 {
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.1 443 {
        SSL_GET {
            url {
                path /
                status_code 200
            }
        }
        HTTP_GET {
            url {
                path /
                status_code 200
            }
        }
    }
}
`
	for _, tc := range []struct {
		name, ssl     string
		ca, cert, key string
	}{
		{"ca and client certificate", "SSL {\n ca /etc/ca.pem\n certificate /etc/c.pem\n key /etc/k.pem\n}\n", "/etc/ca.pem", "/etc/c.pem", "/etc/k.pem"},
		{"encrypted key", "SSL {\n certificate /etc/c.pem\n key /etc/k.pem\n password x\n}\n", "", "", ""},
		{"none", "", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPlan(parse(t, tc.ssl+servers))
			if err != nil {
				t.Fatal(err)
			}
			specs := p.Checks[0].Checkers
			ssl, http := specs[0].Options.(*check.HTTPOptions), specs[1].Options.(*check.HTTPOptions)
			if ssl.CAFile != tc.ca || ssl.CertFile != tc.cert || ssl.KeyFile != tc.key {
				t.Errorf("SSL_GET: ca %q cert %q key %q, want %q %q %q", ssl.CAFile, ssl.CertFile, ssl.KeyFile, tc.ca, tc.cert, tc.key)
			}
			if http.CAFile != "" || http.CertFile != "" {
				t.Errorf("HTTP_GET got the SSL block: %+v", http)
			}
		})
	}
}

// TestSNMPCommandLine: govs run -x serves every MIB and -A names the master, as
// keepalived's -x and -A, whatever the file says; without them the file decides.
func TestSNMPCommandLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snmp.conf")
	for _, tc := range []struct {
		name, global string
		opts         Options
		want         *snmpSettings
	}{
		{"nothing", "", Options{}, nil},
		{"file", "enable_snmp_vrrp\n snmp_socket tcp:127.0.0.1:705", Options{},
			&snmpSettings{Socket: "tcp:127.0.0.1:705", VRRP: true}},
		{"-x", "enable_traps", Options{SNMP: true},
			&snmpSettings{Socket: "unix:/var/agentx/master", RFCv2: true, RFCv3: true, VRRP: true, Checker: true, Traps: true}},
		{"-A alone serves nothing", "", Options{SNMPSocket: "/run/agentx"}, nil},
		{"-x -A over snmp_socket", "snmp_socket tcp:127.0.0.1:705", Options{SNMP: true, SNMPSocket: "/run/agentx"},
			&snmpSettings{Socket: "/run/agentx", RFCv2: true, RFCv3: true, VRRP: true, Checker: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte("global_defs {\n "+tc.global+"\n}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			opts := tc.opts
			opts.ConfigPath = path
			plan, err := loadPlan(opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(plan.SNMP, tc.want) {
				t.Errorf("SNMP = %+v, want %+v", plan.SNMP, tc.want)
			}
		})
	}
}
