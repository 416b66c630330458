package vrrpmodule

import (
	"testing"
	"time"

	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/snmp/kamib"
	"github.com/govs/govs/internal/vrrp"
)

// The live states of fakeNode (vrrpmodule_test.go): vrrp_track_process web has two
// processes and its quorum, BFD session bfd_b is Up.
func (n *fakeNode) TrackProcessStates() map[string]vrrp.ProcessState {
	return map[string]vrrp.ProcessState{"web": {Processes: 2, Quorum: true}}
}
func (n *fakeNode) BFDStates() map[string]bool { return map[string]bool{"bfd_b": true} }

// trackedFixture: sync group G1 (A, B) without sync_group_tracking_weight, address
// owner C, and D in G2 with it; three vrrp_track_processes and three bfd_instances,
// one of them for checkers only.
func trackedFixture() (*fakeNode, *config.Config) {
	node := &fakeNode{cfg: vrrp.Config{
		TrackProcesses: []vrrp.TrackProcessConfig{
			{Name: "web", Process: "web", Weight: 10, Reverse: true, Quorum: 1, QuorumMax: 3, QuorumMaxSet: true,
				ForkDelay: 1500 * time.Millisecond, TerminateDelay: 1500 * time.Millisecond},
			{Name: "cmd", Process: "/bin/sleep", Params: []string{"31", "x"}, ParamMatch: vrrp.ParamMatchInitial, FullCommand: true,
				Weight: -5, Quorum: 1, ForkDelay: 250 * time.Millisecond},
			{Name: "part", Process: "web", Params: []string{"9"}, ParamMatch: vrrp.ParamMatchPartial, FullCommand: true, QuorumMaxSet: true},
		},
		Instances: []vrrp.InstanceConfig{
			{Name: "A", Priority: 100,
				TrackProcesses: []vrrp.TrackRef{{Name: "cmd", WeightSet: true}, {Name: "nope"}},
				TrackBFDs:      []vrrp.TrackInterface{{Name: "bfd_a", Weight: 7}, {Name: "bfd_b"}}},
			{Name: "B", Priority: 100, TrackBFDs: []vrrp.TrackInterface{{Name: "bfd_b"}}},
			{Name: "C", Priority: 255,
				TrackProcesses: []vrrp.TrackRef{{Name: "web", Weight: 5, WeightSet: true}},
				TrackBFDs:      []vrrp.TrackInterface{{Name: "bfd_b", Weight: -3}, {Name: "bfd_a"}}},
			{Name: "D", Priority: 100, TrackBFDs: []vrrp.TrackInterface{{Name: "bfd_a", Weight: 7}}},
		},
		SyncGroups: []vrrp.SyncGroupConfig{
			{Name: "G1", Members: []string{"A", "B"},
				TrackProcesses: []vrrp.TrackRef{{Name: "web", Weight: 3, WeightSet: true}, {Name: "part"}},
				TrackBFDs:      []vrrp.TrackInterface{{Name: "bfd_b", Weight: 2}, {Name: "bfd_a", Weight: 7}, {Name: "chk"}}},
			{Name: "G2", Members: []string{"D"}, TrackingWeight: true},
		},
	}}
	conf := &config.Config{BFDInstances: []*config.BFDInstance{
		{Name: "bfd_a", VRRP: true, Weight: config.Weight{Value: 7, Reverse: true}},
		{Name: "chk", Checker: true},
		{Name: "bfd_b", VRRP: true, Checker: true},
	}}
	return node, conf
}

func TestTrackedProcessAndBFDTables(t *testing.T) {
	node, conf := trackedFixture()
	got := byName(module(node, conf).Variables())
	r := kamib.VRRPRoot.String() + "."
	for _, tc := range []struct {
		name string
		oid  string
		want any // nil: absent
	}{
		{"process name", "21.1.2.1", []byte("web")},
		{"process path", "21.1.3.2", []byte("/bin/sleep")},
		{"parameters, space-separated", "21.1.4.2", []byte("31 x")},
		{"no parameters: empty", "21.1.4.1", []byte("")},
		{"param_match none", "21.1.5.1", int32(0)},
		{"param_match initial is keepalived's 2", "21.1.5.2", int32(2)},
		{"param_match partial is keepalived's 3", "21.1.5.3", int32(3)},
		{"process weight", "21.1.6.2", int32(-5)},
		{"process reverse", "21.1.7.1", int32(1)},
		{"process not reverse", "21.1.7.2", int32(2)},
		{"quorum", "21.1.8.1", uint32(1)},
		{"quorum 0 with quorum_max 0", "21.1.8.3", uint32(0)},
		{"quorum_max", "21.1.9.1", int32(3)},
		{"no quorum_max: UINT_MAX as -1", "21.1.9.2", int32(-1)},
		{"quorum_max 0", "21.1.9.3", int32(0)},
		{"fork_delay in microseconds", "21.1.10.2", uint32(250000)},
		{"terminate_delay in microseconds", "21.1.11.1", uint32(1500000)},
		{"no terminate_delay", "21.1.11.2", uint32(0)},
		{"comm match", "21.1.12.1", int32(2)},
		{"full command", "21.1.12.2", int32(1)},
		{"processes running", "21.1.13.1", int32(2)},
		{"no state yet: none running", "21.1.13.2", int32(0)},
		{"in quorum", "21.1.14.1", int32(1)},
		{"no state yet: not in quorum", "21.1.14.2", int32(2)},
		{"no fourth process", "21.1.2.4", nil},

		{"tracked process", "20.1.2.1.1", []byte("cmd")},
		{"tracked process: the block's weight, not the tracking one", "20.1.3.1.1", int32(-5)},
		{"tracked process: unknown dropped", "20.1.2.1.2", nil},
		{"no tracked process", "20.1.2.2.1", nil},
		{"the address owner keeps a weighted process", "20.1.2.3.1", []byte("web")},
		{"its weight", "20.1.3.3.1", int32(10)},
		{"its reverse", "20.1.4.3.1", int32(1)},
		{"group's tracked process", "22.1.2.1.1", []byte("web")},
		{"group's tracked process: the block's weight", "22.1.3.1.1", int32(10)},
		{"group's second tracked process", "22.1.2.1.2", []byte("part")},
		{"group without tracked processes", "22.1.2.2.1", nil},

		{"BFD", "18.1.2.1", []byte("bfd_a")},
		{"BFD for checkers only left out", "18.1.2.2", []byte("bfd_b")},
		{"no third BFD", "18.1.2.3", nil},
		{"BFD down is 0", "18.1.3.1", int32(0)},
		{"BFD up is 1", "18.1.3.2", int32(1)},
		{"BFD weight", "18.1.4.1", int32(7)},
		{"BFD default weight", "18.1.4.2", int32(0)},
		{"BFD reverse", "18.1.5.1", int32(1)},
		{"BFD not reverse", "18.1.5.2", int32(2)},

		{"group member without tracking weight: weighted BFD dropped", "17.1.2.1.1", []byte("bfd_b")},
		{"no second row", "17.1.2.1.2", nil},
		{"unweighted BFD kept", "17.1.2.2.1", []byte("bfd_b")},
		{"address owner: weighted BFD dropped", "17.1.2.3.1", []byte("bfd_a")},
		{"tracked BFD: the instance's weight, not the tracking one", "17.1.3.3.1", int32(7)},
		{"tracked BFD reverse", "17.1.4.3.1", int32(1)},
		{"address owner: no second row", "17.1.2.3.2", nil},
		{"with sync_group_tracking_weight the weighted BFD stays", "17.1.2.4.1", []byte("bfd_a")},
		{"group's tracked BFD", "19.1.2.1.1", []byte("bfd_b")},
		{"group's tracked BFD: the instance's weight", "19.1.3.1.1", int32(0)},
		{"group keeps a weighted BFD", "19.1.2.1.2", []byte("bfd_a")},
		{"group: BFD for checkers only dropped", "19.1.2.1.3", nil},
	} {
		t.Run(tc.name, func(t *testing.T) { expectVar(t, got, r+tc.oid, tc.want) })
	}
}
