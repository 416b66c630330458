package vrrpmodule

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/snmp/kamib"
	"github.com/govs/govs/internal/snmp/vrrpmib"
	"github.com/govs/govs/internal/vrrp"
)

type fakeNode struct {
	status []vrrp.InstanceStatus
	cfg    vrrp.Config
}

func (n *fakeNode) Status() []vrrp.InstanceStatus     { return n.status }
func (n *fakeNode) Running() vrrp.Config              { return n.cfg }
func (n *fakeNode) TrackFileValues() map[string]int64 { return map[string]int64{"f1": 7} }
func (n *fakeNode) ScriptResults() map[string]vrrp.ScriptResult {
	return map[string]vrrp.ScriptResult{"chk": vrrp.ScriptBad}
}

func prefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// fixture is two instances in a sync group (one IPv4 VRRPv2 on eth0, one IPv6
// VRRPv3) and a unicast VRRPv3 one outside it that tracks interfaces and a script.
func fixture() (*fakeNode, *config.Config) {
	node := &fakeNode{
		cfg: vrrp.Config{
			Instances: []vrrp.InstanceConfig{
				{Name: "A", Interface: "eth0", VRID: 1, Priority: 150, Version: 2, AdvertInterval: 2 * time.Second,
					InitialState: vrrp.StateMaster, AuthType: vrrp.AuthPass, MulticastGroup: netip.MustParseAddr("224.0.0.18"),
					VIPs:         []vrrp.VIP{{Prefix: prefix("10.0.0.1/24"), Broadcast: netip.MustParseAddr("10.0.0.255"), Label: "eth0:a", Scope: "link"}},
					ExcludedVIPs: []vrrp.VIP{{Prefix: prefix("10.0.0.2/32")}},
					GARP:         vrrp.GARPConfig{MasterDelay: 5 * time.Second},
					Notify:       vrrp.NotifyConfig{Backup: &vrrp.Command{Argv: []string{"/nonexistent/notify", "a b"}}}},
				{Name: "B", Interface: "eth0", VRID: 2, Priority: 100, Version: 3, AdvertInterval: 500 * time.Millisecond,
					MulticastGroup: netip.MustParseAddr("ff02::12"),
					VIPs:           []vrrp.VIP{{Prefix: prefix("2001:db8::1/64"), Label: "ignored"}}},
				{Name: "C", Interface: "eth0", VRID: 3, Priority: 90, Version: 3, AdvertInterval: time.Second, NoAccept: true,
					Nopreempt: true, UnicastPeers: []netip.Addr{netip.MustParseAddr("10.0.0.9")},
					VIPs:       []vrrp.VIP{{Prefix: prefix("10.0.1.1/24")}},
					TrackFiles: []vrrp.TrackRef{{Name: "f1", Weight: -2, WeightSet: true}, {Name: "nofile"}}},
			},
			SyncGroups: []vrrp.SyncGroupConfig{{Name: "G", Members: []string{"A", "B"},
				TrackInterfaces: []vrrp.TrackInterface{{Name: "eth1", Weight: -3}, {Name: "gone"}},
				TrackScripts:    []vrrp.TrackRef{{Name: "unknown"}, {Name: "chk", Weight: 4, Reverse: true}}}},
			TrackFiles: []vrrp.TrackFileConfig{{Name: "f1", File: "/run/f1", Weight: 3}},
			Scripts:    []vrrp.ScriptConfig{{Name: "chk", Command: vrrp.Command{Argv: []string{"<", "/etc/x"}}, Interval: 2 * time.Second, Weight: -4, Rise: 2, Fall: 3}},
		},
		status: []vrrp.InstanceStatus{
			{Name: "A", State: vrrp.StateMaster, Priority: 150, EffectivePriority: 150, Transitions: 2},
			{Name: "B", State: vrrp.StateBackup, Priority: 100, EffectivePriority: 100, Transitions: 1},
			{Name: "C", State: vrrp.StateFault, Priority: 95, EffectivePriority: 70, Nopreempt: true},
		},
	}
	conf := &config.Config{
		Global: config.GlobalDefs{RouterID: "r1", LVSSyncDaemon: &config.SyncDaemon{Interface: "eth1", Instance: "C"}},
		Instances: []*config.Instance{
			{Name: "A", State: config.StateMaster, TrackInterfaces: []config.TrackedObject{{Name: "eth1", Weight: -20}}},
			{Name: "B"},
			{Name: "C", NotifyDeleted: &config.Script{},
				TrackInterfaces: []config.TrackedObject{{Name: "eth0"}, {Name: "eth1", Weight: 5, Reverse: true}, {Name: "gone"}},
				TrackScripts:    []config.TrackedObject{{Name: "chk", Weight: -4}, {Name: "unknown"}}},
		},
	}
	return node, conf
}

func module(node Node, conf *config.Config) *Module {
	return &Module{
		Node: node, Config: func() *config.Config { return conf }, Traps: true,
		Link: func(name string) (vrrpmib.Link, bool) {
			i := map[string]int{"eth0": 2, "eth1": 3}[name]
			return vrrpmib.Link{Index: i}, i != 0
		},
		HasAddress: func(dev string, a netip.Addr) bool { return a != netip.MustParseAddr("10.0.0.2") },
		// The kernel lacks two routes and a rule; a route naming no device goes on
		// its instance's interface (none for a static one).
		HasRoute: func(r vrrp.Route, dev string) bool {
			return r.Dst != prefix("10.3.0.0/16") && r.Dst != prefix("10.6.0.0/16") && (dev == "" || dev == "eth0")
		},
		HasRule: func(r vrrp.Rule) bool { return r.Priority != 201 },
	}
}

func TestVariables(t *testing.T) {
	node, conf := fixture()
	got := byName(module(node, conf).Variables())
	r := kamib.VRRPRoot.String() + "."
	for _, tc := range []struct {
		name string
		oid  string
		want any // nil: absent
	}{
		{"group name", "1.1.2.1", []byte("G")},
		{"group state: a member is master", "1.1.3.1", int32(2)},
		{"group tracking weight", "1.1.10.1", int32(2)},
		{"member", "2.1.2.1.2", []byte("B")},
		{"instance name", "3.1.2.3", []byte("C")},
		{"vrid", "3.1.3.2", uint32(2)},
		{"state fault", "3.1.4.3", int32(3)},
		{"initial state MASTER", "3.1.5.1", int32(2)},
		{"wanted: configured backup", "3.1.6.2", int32(1)},
		{"wanted: fault", "3.1.6.3", int32(3)},
		{"base priority", "3.1.7.2", int32(100)},
		{"base priority as a set left it", "3.1.7.3", int32(95)},
		{"effective priority", "3.1.8.3", int32(70)},
		{"vips enabled on master", "3.1.9.1", int32(1)},
		{"vips not enabled on backup", "3.1.9.2", int32(2)},
		{"tracks an interface", "3.1.11.1", int32(1)},
		{"tracks no interface", "3.1.11.2", int32(2)},
		{"advert_int v2 in seconds", "3.1.12.1", uint32(2)},
		{"advert_int v3 in centiseconds", "3.1.12.2", uint32(50)},
		{"nopreempt", "3.1.13.3", int32(2)},
		{"auth PASS", "3.1.15.1", int32(1)},
		{"no auth in v3", "3.1.15.3", int32(0)},
		{"lvs sync daemon", "3.1.16.3", int32(1)},
		{"lvs sync interface", "3.1.17.3", []byte("eth1")},
		{"no lvs sync interface", "3.1.17.1", nil},
		{"sync group", "3.1.18.2", []byte("G")},
		{"no sync group", "3.1.18.3", nil},
		{"garp delay", "3.1.19.1", uint32(5)},
		{"notify exec", "3.1.21.1", int32(1)},
		{"notify backup quoted", "3.1.23.1", []byte("'/nonexistent/notify' 'a b'")},
		{"accept is 0 in v2", "3.1.27.1", int32(0)},
		{"no_accept in v3", "3.1.27.3", int32(2)},
		{"notify_deleted", "3.1.33.3", int32(1)},
		{"multicast group v6", "3.1.35.2", netip.MustParseAddr("ff02::12").AsSlice()},
		{"no multicast group with unicast", "3.1.34.3", nil},
		{"tracked interface, own and unknown ones dropped", "4.1.1.3.1", []byte("eth1")},
		{"its weight", "4.1.2.3.1", int32(5)},
		{"its reverse", "4.1.3.3.1", int32(1)},
		{"in a group without tracking weight: weight 0", "4.1.2.1.1", int32(0)},
		{"tracked script", "5.1.2.3.1", []byte("chk")},
		{"unknown script dropped", "5.1.2.3.2", nil},
		{"address value", "6.1.3.1.1", []byte{10, 0, 0, 1}},
		{"broadcast", "6.1.4.1.1", []byte{10, 0, 0, 255}},
		{"no broadcast", "6.1.4.1.2", []byte{0, 0, 0, 0}},
		{"scope link", "6.1.6.1.1", int32(2)},
		{"ifindex", "6.1.7.1.1", int32(2)},
		{"label", "6.1.9.1.1", []byte("eth0:a")},
		{"IPv6 has no label", "6.1.9.2.1", nil},
		{"IPv6 scope global", "6.1.6.2.1", int32(14)},
		{"set on master", "6.1.10.1.1", int32(1)},
		{"not set: not on its device", "6.1.10.1.2", int32(2)},
		{"first instance's VIP advertised", "6.1.11.1.1", int32(1)},
		{"excluded not advertised", "6.1.11.1.2", int32(2)},
		{"keepalived's quirk: later VIPs not advertised", "6.1.11.2.1", int32(2)},
		{"script command: redirection unquoted", "9.1.3.1", []byte("< '/etc/x'")},
		{"script interval", "9.1.4.1", int32(2)},
		{"script weight", "9.1.5.1", int32(-4)},
		{"script result", "9.1.6.1", int32(2)},
		{"script rise", "9.1.7.1", uint32(2)},
		{"tracked file", "12.1.2.3.1", []byte("f1")},
		{"tracked file: the file's weight, not the tracking one", "12.1.3.3.1", int32(3)},
		{"tracked file: unknown dropped", "12.1.2.3.2", nil},
		{"file path", "13.1.3.1", []byte("/run/f1")},
		{"file value", "13.1.4.1", int32(7)},
		{"group tracked interface: name in column 1", "14.1.1.1.1", []byte("eth1")},
		{"group tracked interface weight", "14.1.2.1.1", int32(-3)},
		{"group tracked interface: missing one dropped", "14.1.1.1.2", nil},
		{"group tracked script: unknown one dropped", "15.1.2.1.1", []byte("chk")},
		{"group tracked script reverse", "15.1.4.1.1", int32(1)},
	} {
		t.Run(tc.name, func(t *testing.T) { expectVar(t, got, r+tc.oid, tc.want) })
	}
}

// TestVariablesWithoutState: no status and no configuration give the rows of the
// node's configuration, without what needs a state, and never a panic.
func TestVariablesWithoutState(t *testing.T) {
	node, _ := fixture()
	node.status = nil
	m := &Module{Node: node, Link: func(string) (vrrpmib.Link, bool) { return vrrpmib.Link{}, false }}
	for _, v := range m.Variables() {
		if v.Name.String() == instanceEntry.Append(4, 1).String() {
			t.Errorf("vrrpInstanceState without a status: %v", v.Value)
		}
	}
}

func TestCommandString(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"/nonexistent/x", "-a", "b c"}, "'/nonexistent/x' '-a' 'b c'"},
		{[]string{">/tmp/f"}, ">/tmp/f"},
		{[]string{"not-a-program-anywhere"}, "'not-a-program-anywhere'"},
	} {
		if got := commandString(&vrrp.Command{Argv: tc.argv}); got != tc.want {
			t.Errorf("commandString(%q) = %s, want %s", tc.argv, got, tc.want)
		}
	}
}

func TestWantedState(t *testing.T) {
	for _, tc := range []struct {
		name             string
		st               vrrp.InstanceStatus
		configured, want vrrp.State
	}{
		{"starting", vrrp.InstanceStatus{State: vrrp.StateInit}, vrrp.StateMaster, vrrp.StateMaster},
		{"configured master, backup since start", vrrp.InstanceStatus{State: vrrp.StateBackup, Transitions: 1}, vrrp.StateMaster, vrrp.StateMaster},
		{"configured master, back from master", vrrp.InstanceStatus{State: vrrp.StateBackup, Transitions: 3}, vrrp.StateMaster, vrrp.StateBackup},
		{"master", vrrp.InstanceStatus{State: vrrp.StateMaster}, vrrp.StateBackup, vrrp.StateMaster},
		{"stopping", vrrp.InstanceStatus{State: vrrp.StateStop}, vrrp.StateBackup, vrrp.StateBackup},
	} {
		if got := wantedState(tc.st, tc.configured); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// trapSummary names a notification by its trap and its state variable.
func trapSummary(n agentx.Notification) string {
	name := string(n.Vars[0].Value.([]byte))
	kind := "instance"
	if n.Trap.String() == SyncGroupStateChange.String() {
		kind = "group"
	}
	return kind + " " + name + " " + string(rune('0'+n.Vars[1].Value.(int32)))
}

func TestStateChanged(t *testing.T) {
	node, conf := fixture()
	m := module(node, conf)
	var got []string
	steps := []vrrp.StateChange{
		{Instance: "A", From: vrrp.StateInit, To: vrrp.StateInit},
		{Instance: "A", To: vrrp.StateBackup},
		{Instance: "B", To: vrrp.StateBackup},
		{Instance: "C", To: vrrp.StateMaster},
		{Instance: "A", To: vrrp.StateMaster},
		{Instance: "B", To: vrrp.StateMaster},
		{Instance: "B", To: vrrp.StateMaster}, // the group is already master
	}
	for _, ch := range steps {
		for _, n := range m.StateChanged(ch) {
			got = append(got, trapSummary(n))
		}
	}
	want := []string{"instance A 1", "instance B 1", "group G 1", "instance C 2", "instance A 2", "instance B 2", "group G 2", "instance B 2"}
	if !slices.Equal(got, want) {
		t.Errorf("notifications %q, want %q", got, want)
	}

	// A reload removes C (notify_deleted) and A: their STOP is DELETED and FAULT.
	node.cfg.Instances = node.cfg.Instances[1:2]
	node.cfg.SyncGroups = nil
	got = nil
	for _, name := range []string{"C", "A"} {
		for _, n := range m.StateChanged(vrrp.StateChange{Instance: name, To: vrrp.StateStop}) {
			got = append(got, trapSummary(n))
		}
	}
	if want := []string{"instance C 6", "instance A 3"}; !slices.Equal(got, want) {
		t.Errorf("removed instances' notifications %q, want %q", got, want)
	}

	n := InstanceTrap("X", vrrp.StateStop, vrrp.StateBackup, "r1")
	if n.Trap.String() != kamib.VRRPRoot.String()+".10.0.2" || n.Vars[0].Name.String() != kamib.VRRPRoot.String()+".3.1.2" ||
		n.Vars[1].Value != int32(5) || n.Vars[2].Value != int32(1) || n.Vars[3].Name.String() != kamib.RouterIDOID.String() {
		t.Errorf("InstanceTrap = %+v", n)
	}

	m.Traps = false
	if ns := m.StateChanged(vrrp.StateChange{Instance: "B", To: vrrp.StateBackup}); ns != nil {
		t.Errorf("notifications without enable_traps: %v", ns)
	}
}

// byName indexes variables by their OID's text.
func byName(vars []agentx.Variable) map[string]any {
	got := map[string]any{}
	for _, v := range vars {
		got[v.Name.String()] = v.Value
	}
	return got
}

// expectVar checks variable name in got: absent where want is nil, else of value want.
func expectVar(t *testing.T, got map[string]any, name string, want any) {
	t.Helper()
	v, ok := got[name]
	switch {
	case want == nil && ok:
		t.Errorf("%s = %v, want absent", name, v)
	case want == nil:
	case !ok:
		t.Errorf("%s absent, want %v", name, want)
	default:
		if b, isBytes := want.([]byte); isBytes {
			if gb, _ := v.([]byte); !slices.Equal(gb, b) {
				t.Errorf("%s = %q, want %q", name, v, b)
			}
		} else if v != want {
			t.Errorf("%s = %#v, want %#v", name, v, want)
		}
	}
}
