package checkmodule

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/govs/govs/internal/check"
	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/engine"
	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/table"
)

const conf = `global_defs {
    router_id lb1
    lvs_sync_daemon eth0 VI_1 id 7 port 8850
    lvs_timeouts tcp 900 udp 60
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.100/24
    }
}
virtual_server_group G1 {
    192.0.2.10 80
    192.0.2.20-22 80
    fwmark 9
}
virtual_server 192.0.2.1 80 {
    lb_algo sh
    sh-port
    hashed
    lb_kind NAT
    protocol TCP
    quorum 5
    quorum_up "/bin/echo up now"
    persistence_granularity 255.255.255.0
    sorry_server 10.0.0.9 8080
    real_server 10.0.0.1 80 {
        weight 2
        uthreshold 100
        notify_down /bin/down
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.0.0.2 80 {
        weight 1
        inhibit_on_failure
        retry 3
    }
}
virtual_server fwmark 7 {
    lb_algo wrr
    lb_kind DR
    real_server 10.0.0.3 80 {
        weight 1
    }
}
virtual_server group G1 {
    lb_algo rr
    lb_kind TUN type gue port 6080
    protocol TCP
    real_server 10.0.0.4 80 {
        weight 1
    }
}
`

// fixture is the configuration above running with 10.0.0.1 up (its checker passing)
// and 10.0.0.2 down, the first virtual server's quorum down.
func fixture(t *testing.T) *MIB {
	t.Helper()
	cfg, diags := config.Parse("k.conf", []byte(conf), config.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	vs1 := table.ServiceKey{Protocol: table.TCP, Addr: netip.MustParseAddrPort("192.0.2.1:80")}
	fwm := table.ServiceKey{FWMark: 7}
	grp := table.ServiceKey{Protocol: table.TCP, Addr: netip.MustParseAddrPort("192.0.2.10:80")}
	rs1, rs2 := netip.MustParseAddrPort("10.0.0.1:80"), netip.MustParseAddrPort("10.0.0.2:80")
	live := Live{
		Services: []engine.ServiceStatus{
			// The quorum down, the sorry server alone is in the table.
			{Key: vs1, Quorum: false, RealServers: []engine.RealServerStatus{{Addr: rs1, CheckedVS: vs1, CheckedAddr: rs1, Up: true, Weight: 2, EffectiveWeight: 2, TableWeight: -1},
				{Addr: rs2, CheckedVS: vs1, CheckedAddr: rs2, Weight: 1, EffectiveWeight: 1, TableWeight: -1}}},
			{Key: fwm, Quorum: true, RealServers: []engine.RealServerStatus{{Addr: rs1, CheckedVS: fwm, CheckedAddr: rs1, Up: true, Weight: 1, EffectiveWeight: 1, TableWeight: 1}}},
			{Key: grp, Quorum: true, RealServers: []engine.RealServerStatus{{Addr: netip.MustParseAddrPort("10.0.0.4:80"), CheckedVS: grp, CheckedAddr: netip.MustParseAddrPort("10.0.0.4:80"), Up: true, Weight: 1, EffectiveWeight: 1, TableWeight: 1}}},
		},
		Stats: table.Stats{Services: []table.ServiceStats{{Key: vs1, Counters: table.Counters{Conns: 7, InBytes: 1 << 40}, Rates: table.Rates{CPS: 5<<32 | 3},
			Dests: []table.DestStats{{Addr: rs1, ActiveConn: 2, PersistConn: 1, Counters: table.Counters{InPkts: 1<<32 + 4}}}}}},
		Checks: []check.ServerStatus{{VS: vs1, RS: rs1, Up: true, Weight: 2, Checkers: []check.CheckerStatus{{Name: "TCP_CHECK#0", Up: false}}}},
	}
	keys := map[string][]table.ServiceKey{"": {vs1}, "7": {fwm}, "G1": {grp}}
	return &MIB{Source: Source{
		Config: func() *config.Config { return cfg },
		Keys: func(vs *config.VirtualServer) []table.ServiceKey {
			if vs.Group != nil {
				return keys[vs.Group.Name]
			}
			if vs.FwMark != 0 {
				return keys[fmt.Sprint(vs.FwMark)]
			}
			return keys[""]
		},
		Live: func() Live { return live },
	}}
}

// show is a value as text: an octet string as text where it is printable, else in hex.
func show(v agentx.Variable) string {
	switch x := v.Value.(type) {
	case []byte:
		for _, c := range x {
			if c < ' ' || c > '~' {
				return fmt.Sprintf("%x", x)
			}
		}
		return string(x)
	case agentx.OID:
		return x.String()
	}
	return fmt.Sprint(v.Value)
}

// TestVariables: the rows, their indexes and values, and the columns keepalived leaves
// out, for each kind of virtual server, the sorry server row and the scalars.
func TestVariables(t *testing.T) {
	got := map[string]string{}
	for _, v := range fixture(t).Variables() {
		name := strings.TrimPrefix(v.Name.String(), "1.3.6.1.4.1.9586.100.5.3.")
		if _, dup := got[name]; dup {
			t.Errorf("%s twice", name)
		}
		got[name] = show(v)
	}
	for _, c := range []struct{ oid, want string }{ // want "" : absent
		{"1.1.2.1", "G1"},
		{"2.1.2.1.1", "1"}, {"2.1.3.1.1", "9"}, {"2.1.4.1.1", ""}, // the mark first
		{"2.1.2.1.2", "2"}, {"2.1.5.1.2", "c000020a"}, {"2.1.6.1.2", ""}, {"2.1.8.1.2", "80"},
		{"2.1.2.1.3", "3"}, {"2.1.6.1.3", "c0000214"}, {"2.1.7.1.3", "c0000216"}, {"2.1.5.1.3", ""},
		// 192.0.2.1:80
		{"3.1.2.1", "2"}, {"3.1.6.1", "c0000201"}, {"3.1.7.1", "80"}, {"3.1.8.1", "1"}, {"3.1.9.1", "8"},
		{"3.1.11.1", "1"}, {"3.1.13.1", "1"}, {"3.1.14.1", "360"}, // granularity sets persistence
		{"3.1.15.1", "ffffff00"}, {"3.1.51.1", ""},
		{"3.1.20.1", "2"}, {"3.1.21.1", "1"}, {"3.1.22.1", "3"}, {"3.1.23.1", "2"}, // quorum 5 > 3: 3
		{"3.1.24.1", "'/bin/echo' 'up' 'now'"}, {"3.1.25.1", ""},
		{"3.1.27.1", "7"}, {"3.1.30.1", "1099511627776"}, {"3.1.32.1", "3"}, {"3.1.41.1", "0"}, {"3.1.42.1", "5"},
		{"3.1.52.1", "2"}, {"3.1.53.1", "2"}, {"3.1.54.1", "1"}, {"3.1.63.1", "1"}, // hashed sets nothing; sh-port is mh-port's bit
		{"3.1.57.1", "0"}, {"3.1.59.1", "0"}, {"3.1.64.1", "60000000"}, {"3.1.67.1", "5000000"}, {"3.1.68.1", ""},
		// fwmark 7: no address, protocol or port; both granularity columns
		{"3.1.2.2", "1"}, {"3.1.4.2", "7"}, {"3.1.6.2", ""}, {"3.1.8.2", ""}, {"3.1.15.2", "ffffffff"}, {"3.1.51.2", "4294967295"},
		// the group
		{"3.1.2.3", "3"}, {"3.1.3.3", "G1"}, {"3.1.6.3", ""}, {"3.1.8.3", "1"}, {"3.1.10.3", "3"},
		{"3.1.68.3", "2"}, {"3.1.69.3", "6080"}, {"3.1.70.3", "1"},
		// the sorry server is row 1.1
		{"4.1.2.1.1", "2"}, {"4.1.4.1.1", "0a000009"}, {"4.1.5.1.1", "8080"}, {"4.1.6.1.1", ""}, {"4.1.7.1.1", ""},
		{"4.1.13.1.1", ""}, {"4.1.42.1.1", "2"}, {"4.1.46.1.1", "0"}, {"4.1.47.1.1", "2"},
		{"4.1.2.1.2", "1"}, {"4.1.4.1.2", "0a000001"}, {"4.1.6.1.2", "1"}, {"4.1.7.1.2", "2"}, {"4.1.8.1.2", "100"}, {"4.1.9.1.2", ""},
		{"4.1.10.1.2", "1"}, {"4.1.11.1.2", ""}, {"4.1.12.1.2", "'/bin/down'"}, {"4.1.13.1.2", "1"},
		{"4.1.15.1.2", "2"}, {"4.1.17.1.2", "1"}, {"4.1.18.1.2", "4"}, {"4.1.28.1.2", "4294967300"},
		{"4.1.43.1.2", "0"}, {"4.1.46.1.2", "60"}, {"4.1.47.1.2", "1"},
		{"4.1.6.1.3", "2"}, {"4.1.10.1.3", "2"}, {"4.1.43.1.3", "3"},
		// DR under a fwmark: the port is dropped
		{"4.1.5.2.1", "0"}, {"4.1.40.2.1", "2"}, {"4.1.52.2.1", ""},
		{"4.1.52.3.1", "2"}, {"4.1.53.3.1", "6080"},
		{"6.1.0", "1"}, {"6.2.0", "eth0"}, {"6.3.0", "VI_1"}, {"6.4.0", "7"}, {"6.6.0", "8850"}, {"6.7.0", "0"}, {"6.8.0", ""},
		{"7.1.0", "900"}, {"7.2.0", ""}, {"7.3.0", "60"},
	} {
		if g := got[c.oid]; g != c.want {
			t.Errorf("%s = %q, want %q", c.oid, g, c.want)
		}
	}
}

// TestMissingState: no configuration shows nothing; a configuration without live
// state shows every virtual and real server, down, and never fails.
func TestMissingState(t *testing.T) {
	if vars := (&MIB{}).Variables(); len(vars) != 0 {
		t.Errorf("no source: %d variables", len(vars))
	}
	m := fixture(t)
	m.Source.Live, m.Source.Keys = nil, nil
	got := map[string]string{}
	for _, v := range m.Variables() {
		got[strings.TrimPrefix(v.Name.String(), "1.3.6.1.4.1.9586.100.5.3.")] = show(v)
	}
	for oid, want := range map[string]string{"3.1.11.1": "2", "3.1.21.1": "0", "4.1.6.1.2": "2", "4.1.7.1.2": "2", "3.1.27.1": "0"} {
		if got[oid] != want {
			t.Errorf("%s = %q, want %q", oid, got[oid], want)
		}
	}
	if n := m.Notifications([]engine.Event{{Kind: "rs-down", Service: "TCP 192.0.2.1:80", RS: "10.0.0.1:80"}}); len(n) != 0 {
		t.Errorf("notifications of a service the engine does not run: %v", n)
	}
}

func trapText(n agentx.Notification) string {
	var b strings.Builder
	b.WriteString(strings.TrimPrefix(n.Trap.String(), "1.3.6.1.4.1.9586.100.5."))
	for _, v := range n.Vars {
		fmt.Fprintf(&b, " %s=%s", strings.TrimPrefix(v.Name.String(), "1.3.6.1.4.1.9586.100.5."), show(v))
	}
	return b.String()
}

// TestNotifications: the engine's events become keepalived's notifications, with the
// variables of check_snmp_rs_trap and check_snmp_quorum_trap in their order.
func TestNotifications(t *testing.T) {
	m := fixture(t)
	for _, c := range []struct {
		name string
		ev   engine.Event
		want string // "": none
	}{
		{"real server down", engine.Event{Kind: "rs-down", Service: "TCP 192.0.2.1:80", RS: "10.0.0.2:80"},
			"3.5.0.1 3.4.1.3=1 3.4.1.4=0a000002 3.4.1.5=80 3.4.1.6=2 3.3.1.2=2 3.3.1.5=1 3.3.1.6=c0000201 3.3.1.7=80 3.3.1.8=1 3.3.1.21=1 3.3.1.20=2 1.2.0=lb1"},
		{"quorum lost", engine.Event{Kind: "quorum-down", Service: "TCP 192.0.2.1:80"},
			"3.5.0.2 3.3.1.2=2 3.3.1.5=1 3.3.1.6=c0000201 3.3.1.7=80 3.3.1.8=1 3.3.1.23=2 3.3.1.22=3 3.3.1.21=1 3.3.1.20=2 1.2.0=lb1"},
		{"fwmark: protocol false", engine.Event{Kind: "rs-up", Service: "FWM 7", RS: "10.0.0.1:80"},
			"3.5.0.1 3.4.1.3=1 3.4.1.4=0a000003 3.4.1.5=0 3.4.1.6=1 3.3.1.2=1 3.3.1.4=7 3.3.1.8=2 3.3.1.21=1 3.3.1.20=1 1.2.0=lb1"},
		{"group: its name", engine.Event{Kind: "quorum-up", Service: "TCP 192.0.2.10:80"},
			"3.5.0.2 3.3.1.2=3 3.3.1.3=G1 3.3.1.8=1 3.3.1.23=1 3.3.1.22=1 3.3.1.21=1 3.3.1.20=1 1.2.0=lb1"},
		{"other events", engine.Event{Kind: "reload", Service: "TCP 192.0.2.1:80"}, ""},
		{"a service govs adm added", engine.Event{Kind: "rs-down", Service: "TCP 192.0.2.99:80", RS: "10.0.0.1:80"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, n := range m.Notifications([]engine.Event{c.ev}) {
				got = append(got, trapText(n))
			}
			if strings.Join(got, "\n") != c.want {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), c.want)
			}
		})
	}
}
