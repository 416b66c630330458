package vrrpmodule

import (
	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/snmp/kamib"
	"github.com/govs/govs/internal/vrrp"
)

// The BFD tables of keepalived's VRRP process.
var (
	trackedBFDEntry      = kamib.VRRPRoot.Append(17, 1)
	bfdEntry             = kamib.VRRPRoot.Append(18, 1)
	groupTrackedBFDEntry = kamib.VRRPRoot.Append(19, 1)
)

// bfdTables are vrrpBfdTable and the instances' and sync groups' tracked BFD tables.
func bfdTables(v view) []agentx.Variable {
	vars := bfds(v)
	for i, in := range v.run.Instances {
		g := v.groupOf(in.Name)
		ignored := g != nil && !g.TrackingWeight || in.Priority == 255
		vars = trackedRows(vars, trackedBFDEntry, uint32(i+1), v.bfdTracks(in.TrackBFDs, ignored))
	}
	for i, g := range v.run.SyncGroups {
		vars = trackedRows(vars, groupTrackedBFDEntry, uint32(i+1), v.bfdTracks(g.TrackBFDs, false))
	}
	return vars
}

// vrrpBFDs are the bfd_instance blocks VRRP gets (all but those for checkers only), in
// configuration order: keepalived's VRRP process knows no other.
func (v view) vrrpBFDs() []*config.BFDInstance {
	var out []*config.BFDInstance
	for _, b := range v.conf.BFDInstances {
		if b != nil && b.VRRP {
			out = append(out, b)
		}
	}
	return out
}

// bfds is vrrpBfdTable. Its result is keepalived's bfd_up as it is, 1 while the
// session is Up and 0 otherwise, not a TruthValue.
func bfds(v view) []agentx.Variable {
	var vars []agentx.Variable
	for i, b := range v.vrrpBFDs() {
		col := func(c uint32) agentx.OID { return bfdEntry.Append(c, uint32(i+1)) }
		up := 0
		if v.bfds[b.Name] {
			up = 1
		}
		vars = append(vars,
			agentx.String(col(2), b.Name),
			agentx.Int(col(3), up),
			agentx.Int(col(4), b.Weight.Value),
			agentx.Int(col(5), agentx.Truth(b.Weight.Reverse)))
	}
	return vars
}

// bfdTracks are the bfd_instances refs name, as keepalived keeps them: those VRRP gets
// (the configuration has dropped duplicates); where weights are ignored (a member of a
// sync group without sync_group_tracking_weight, the address owner) a weighted one is
// dropped.
func (v view) bfdTracks(refs []vrrp.TrackInterface, weightsIgnored bool) []trackedRow {
	var out []trackedRow
	for _, r := range refs {
		for _, b := range v.vrrpBFDs() {
			if b.Name != r.Name {
				continue
			}
			if !weightsIgnored || r.Weight == 0 {
				out = append(out, trackedRow{b.Name, b.Weight.Value, b.Weight.Reverse})
			}
		}
	}
	return out
}
