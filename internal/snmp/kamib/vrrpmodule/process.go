package vrrpmodule

import (
	"strings"
	"time"

	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/snmp/kamib"
	"github.com/govs/govs/internal/vrrp"
)

// The vrrp_track_process tables.
var (
	trackedProcessEntry      = kamib.VRRPRoot.Append(20, 1)
	processEntry             = kamib.VRRPRoot.Append(21, 1)
	groupTrackedProcessEntry = kamib.VRRPRoot.Append(22, 1)
)

// paramMatches are vrrpProcessParamMatch's values as keepalived answers them: its
// param_match_t, in which initial is 2 and partial 3, the other way round from the
// MIB's labels.
var paramMatches = map[vrrp.ParamMatch]int{
	vrrp.ParamMatchNone: 0, vrrp.ParamMatchExact: 1, vrrp.ParamMatchInitial: 2, vrrp.ParamMatchPartial: 3,
}

// processTables are vrrpProcessTable and the instances' and sync groups' tracked
// process tables.
func processTables(v view) []agentx.Variable {
	vars := processes(v)
	for i, in := range v.run.Instances {
		vars = trackedRows(vars, trackedProcessEntry, uint32(i+1), v.processTracks(in.TrackProcesses))
	}
	for i, g := range v.run.SyncGroups {
		vars = trackedRows(vars, groupTrackedProcessEntry, uint32(i+1), v.processTracks(g.TrackProcesses))
	}
	return vars
}

// processes is vrrpProcessTable: every vrrp_track_process, in configuration order,
// with how many processes match it now and whether it is in quorum.
func processes(v view) []agentx.Variable {
	var vars []agentx.Variable
	for i, p := range v.run.TrackProcesses {
		col := func(c uint32) agentx.OID { return processEntry.Append(c, uint32(i+1)) }
		// Without quorum_max keepalived's maximum is UINT_MAX, which its 32-bit
		// INTEGER column shows as -1.
		quorumMax := -1
		if p.QuorumMaxSet {
			quorumMax = p.QuorumMax
		}
		st := v.procs[p.Name]
		vars = append(vars,
			agentx.String(col(2), p.Name),
			agentx.String(col(3), p.Process),
			agentx.String(col(4), strings.Join(p.Params, " ")),
			agentx.Int(col(5), paramMatches[p.ParamMatch]),
			agentx.Int(col(6), p.Weight),
			agentx.Int(col(7), agentx.Truth(p.Reverse)),
			agentx.Unsigned(col(8), uint64(p.Quorum)),
			agentx.Int(col(9), quorumMax),
			agentx.Unsigned(col(10), uint64(p.ForkDelay/time.Microsecond)),
			agentx.Unsigned(col(11), uint64(p.TerminateDelay/time.Microsecond)),
			agentx.Int(col(12), agentx.Truth(p.FullCommand)),
			agentx.Int(col(13), st.Processes),
			agentx.Int(col(14), agentx.Truth(st.Quorum)))
	}
	return vars
}

// processTracks are the vrrp_track_process blocks refs name, as keepalived keeps them:
// those that exist (the configuration has dropped duplicates). None is dropped where
// weights are ignored (a member of a sync group without sync_group_tracking_weight, the
// address owner): keepalived drops weighted scripts, files and BFDs there, never
// processes.
func (v view) processTracks(refs []vrrp.TrackRef) []trackedRow {
	var out []trackedRow
	for _, r := range refs {
		for _, p := range v.run.TrackProcesses {
			if p.Name == r.Name {
				out = append(out, trackedRow{p.Name, p.Weight, p.Reverse})
			}
		}
	}
	return out
}

// trackedRow is a row of a tracked process or BFD table: keepalived shows the
// object's own weight and reverse there, not the tracking ones.
type trackedRow struct {
	name    string
	weight  int
	reverse bool
}

// trackedRows appends the rows of one instance or sync group (index) to a tracked
// process or BFD table, indexed by index and position.
func trackedRows(vars []agentx.Variable, entry agentx.OID, index uint32, rows []trackedRow) []agentx.Variable {
	for j, r := range rows {
		idx := []uint32{index, uint32(j + 1)}
		vars = append(vars,
			agentx.String(entry.Append(2).Append(idx...), r.name),
			agentx.Int(entry.Append(3).Append(idx...), r.weight),
			agentx.Int(entry.Append(4).Append(idx...), agentx.Truth(r.reverse)))
	}
	return vars
}
