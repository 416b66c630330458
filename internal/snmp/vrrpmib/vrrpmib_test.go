package vrrpmib

import (
	"net/netip"
	"testing"
	"time"

	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/vrrp"
)

type fakeNode struct {
	cfg vrrp.Config
	st  []vrrp.InstanceStatus
}

func (f fakeNode) Status() []vrrp.InstanceStatus { return f.st }
func (f fakeNode) Running() vrrp.Config          { return f.cfg }

// TestRows: a backup's row shows the master it last heard and its counters where
// keepalived puts them; a VMAC instance shows the VMAC's hardware address and the base
// interface's index and address; the VRRPv2 MIB skips VRRPv3 and IPv6 instances.
func TestRows(t *testing.T) {
	vip := func(s string) []vrrp.VIP { return []vrrp.VIP{{Prefix: netip.MustParsePrefix(s)}} }
	node := fakeNode{
		cfg: vrrp.Config{Instances: []vrrp.InstanceConfig{
			{Name: "B", Interface: "eth0", VRID: 5, Priority: 90, Version: 2, AdvertInterval: 2 * time.Second, AuthType: vrrp.AuthAH, Nopreempt: true, VIPs: vip("10.0.0.5/24")},
			{Name: "V", Interface: "eth0", VRID: 6, Priority: 100, Version: 3, AdvertInterval: 500 * time.Millisecond, UseVMAC: true, VMACName: "vrrp.6", NoAccept: true, VIPs: vip("10.0.0.6/24")},
			{Name: "N", Interface: "eth0", VRID: 7, Priority: 100, Version: 3}, // no VIP: not shown
		}},
		st: []vrrp.InstanceStatus{
			{Name: "B", State: vrrp.StateBackup, Priority: 90, Nopreempt: true, HeardMaster: netip.MustParseAddr("10.0.0.9"), AdvertsReceived: 40, MasterReason: 3, ProtoErrReason: 3,
				BadPackets: map[string]uint64{"checksum": 2, "address_count": 1, "addresses": 1, "too_short": 4, "auth": 5}},
			{Name: "V", State: vrrp.StateFault, Priority: 100, BecameMaster: 1},
			{Name: "N", State: vrrp.StateMaster, Priority: 100},
		},
	}
	links := map[string]Link{
		"eth0":   {Index: 4, MAC: []byte{2, 0, 0, 0, 0, 4}, V4: netip.MustParseAddr("10.0.0.1")},
		"vrrp.6": {Index: 9, MAC: []byte{0, 0, 0x5e, 0, 1, 6}},
	}
	m := &MIB{Node: node, V2: true, V3: true, Link: func(n string) (Link, bool) { l, ok := links[n]; return l, ok }}
	vars := map[string]agentx.Variable{}
	for _, v := range m.Variables() {
		vars[v.Name.String()] = v
	}
	for name, want := range map[string]any{
		"1.3.6.1.2.1.68.1.3.1.3.4.5":               int32(2),                        // backup
		"1.3.6.1.2.1.68.1.3.1.7.4.5":               netip.MustParseAddr("10.0.0.9"), // the master heard
		"1.3.6.1.2.1.68.1.3.1.9.4.5":               int32(3),                        // AH
		"1.3.6.1.2.1.68.1.3.1.11.4.5":              int32(2),                        // seconds
		"1.3.6.1.2.1.68.1.3.1.12.4.5":              int32(2),                        // nopreempt
		"1.3.6.1.2.1.68.2.4.1.4.4.5":               uint32(5),                       // auth failures
		"1.3.6.1.2.1.68.2.4.1.9.4.5":               uint32(2),                       // address list errors
		"1.3.6.1.2.1.68.2.1.0":                     uint32(2),                       // checksum errors
		"1.3.6.1.2.1.207.1.1.1.1.3.4.5.1":          []byte{10, 0, 0, 9},             // master heard
		"1.3.6.1.2.1.207.1.1.1.1.9.4.5.1":          int32(200),                      // centiseconds
		"1.3.6.1.2.1.207.1.2.5.1.2.4.5.1":          int32(3),                        // masterNoResponse
		"1.3.6.1.2.1.207.1.2.5.1.6.4.5.1":          int32(3),                        // checksumError
		"1.3.6.1.2.1.207.1.2.5.1.3.4.5.1":          uint64(40),                      // adverts received
		"1.3.6.1.2.1.207.1.2.5.1.11.4.5.1":         uint64(4),                       // packet length errors
		"1.3.6.1.2.1.207.1.1.1.1.5.4.6.1":          []byte{0, 0, 0x5e, 0, 1, 6},     // the VMAC's address
		"1.3.6.1.2.1.207.1.1.1.1.6.4.6.1":          int32(1),                        // FAULT shows as initialize
		"1.3.6.1.2.1.207.1.1.1.1.11.4.6.1":         int32(2),                        // no_accept
		"1.3.6.1.2.1.207.1.1.1.1.12.4.6.1":         uint32(0),                       // no uptime outside backup/master
		"1.3.6.1.2.1.207.1.2.5.1.13.4.6.1":         uint32(500),                     // ms
		"1.3.6.1.2.1.207.1.1.2.1.2.4.6.1.10.0.0.6": int32(1),
	} {
		v, ok := vars[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if got, wantB := v.Value, want; !equal(got, wantB) {
			t.Errorf("%s = %v (%T), want %v (%T)", name, got, got, want, want)
		}
	}
	for name := range vars {
		for _, absent := range []string{"1.3.6.1.2.1.68.1.3.1.2.4.6", "1.3.6.1.2.1.207.1.1.1.1.6.4.7.1", "1.3.6.1.2.1.68.1.3.1.10.4.5"} {
			if name == absent {
				t.Errorf("%s should not be shown", name)
			}
		}
	}
	if n := m.NewMaster("V"); n != nil {
		t.Errorf("notifications without enable_traps: %v", n)
	}
	m.Traps = true
	if n := m.NewMaster("B"); len(n) != 2 || n[0].Trap.String() != "1.3.6.1.2.1.68.0.1" || n[1].Trap.String() != "1.3.6.1.2.1.207.0.1" {
		t.Errorf("B's notifications: %v", n)
	}
}

func equal(a, b any) bool {
	if ab, ok := a.([]byte); ok {
		bb, ok := b.([]byte)
		return ok && string(ab) == string(bb)
	}
	return a == b
}
