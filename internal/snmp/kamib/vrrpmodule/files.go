package vrrpmodule

import (
	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/snmp/kamib"
	"github.com/govs/govs/internal/vrrp"
)

// The track_file tables and the sync groups' tracked-object tables.
var (
	trackedFileEntry        = kamib.VRRPRoot.Append(12, 1)
	fileEntry               = kamib.VRRPRoot.Append(13, 1)
	groupTrackedIfEntry     = kamib.VRRPRoot.Append(14, 1)
	groupTrackedScriptEntry = kamib.VRRPRoot.Append(15, 1)
	groupTrackedFileEntry   = kamib.VRRPRoot.Append(16, 1)
)

// files is vrrpFileTable: every track_file block, in configuration order, with the
// value last read from its file.
func files(v view) []agentx.Variable {
	var vars []agentx.Variable
	for i, f := range v.run.TrackFiles {
		col := func(c uint32) agentx.OID { return fileEntry.Append(c, uint32(i+1)) }
		vars = append(vars,
			agentx.String(col(2), f.Name),
			agentx.String(col(3), f.File),
			agentx.Int(col(4), int(v.fileValues[f.Name])),
			agentx.Int(col(5), f.Weight),
			agentx.Int(col(6), agentx.Truth(f.Reverse)))
	}
	return vars
}

// trackFile is the track_file block name, if there is one.
func (v view) trackFile(name string) (vrrp.TrackFileConfig, bool) {
	for _, f := range v.run.TrackFiles {
		if f.Name == name {
			return f, true
		}
	}
	return vrrp.TrackFileConfig{}, false
}

// fileTracks are the track_file blocks refs name, as keepalived keeps them: those that
// exist (the configuration has dropped duplicates); where weights are ignored (a member
// of a sync group without sync_group_tracking_weight, the address owner) one with a
// weight other than the default 1 or 0 is dropped.
func (v view) fileTracks(refs []vrrp.TrackRef, weightsIgnored bool) []vrrp.TrackFileConfig {
	var out []vrrp.TrackFileConfig
	for _, r := range refs {
		f, ok := v.trackFile(r.Name)
		if !ok {
			continue
		}
		weight := f.Weight
		if r.WeightSet {
			weight = r.Weight
		}
		if weightsIgnored && weight != 0 && weight != 1 {
			continue
		}
		out = append(out, f)
	}
	return out
}

// fileRows appends a tracked-file table's rows for files under entry, index first:
// keepalived shows each file's own weight and reverse there, not the tracking ones.
func fileRows(vars []agentx.Variable, entry agentx.OID, index uint32, files []vrrp.TrackFileConfig) []agentx.Variable {
	for j, f := range files {
		idx := []uint32{index, uint32(j + 1)}
		vars = append(vars,
			agentx.String(entry.Append(2).Append(idx...), f.Name),
			agentx.Int(entry.Append(3).Append(idx...), f.Weight),
			agentx.Int(entry.Append(4).Append(idx...), agentx.Truth(f.Reverse)))
	}
	return vars
}

// trackedFiles is vrrpTrackedFileTable, indexed by instance and position.
func trackedFiles(v view) []agentx.Variable {
	var vars []agentx.Variable
	for i, in := range v.run.Instances {
		g := v.groupOf(in.Name)
		ignored := g != nil && !g.TrackingWeight || in.Priority == 255
		vars = fileRows(vars, trackedFileEntry, uint32(i+1), v.fileTracks(in.TrackFiles, ignored))
	}
	return vars
}

// groupTracked is the sync groups' tracked interface, script and file tables
// (vrrpSyncGroupTrackedInterfaceTable's name is its column 1, as the instances').
func groupTracked(v view) []agentx.Variable {
	known := map[string]bool{}
	for _, s := range v.run.Scripts {
		known[s.Name] = true
	}
	var vars []agentx.Variable
	for i, g := range v.run.SyncGroups {
		gi := uint32(i + 1)
		n := uint32(0)
		for _, t := range g.TrackInterfaces {
			if _, ok := v.link(t.Name); !ok && !v.conf.Global.DynamicInterfaces {
				continue
			}
			n++
			vars = append(vars,
				agentx.String(groupTrackedIfEntry.Append(1, gi, n), t.Name),
				agentx.Int(groupTrackedIfEntry.Append(2, gi, n), t.Weight),
				agentx.Int(groupTrackedIfEntry.Append(3, gi, n), agentx.Truth(t.Reverse)))
		}
		n = 0
		for _, t := range g.TrackScripts {
			if !known[t.Name] {
				continue
			}
			n++
			vars = append(vars,
				agentx.String(groupTrackedScriptEntry.Append(2, gi, n), t.Name),
				agentx.Int(groupTrackedScriptEntry.Append(3, gi, n), t.Weight),
				agentx.Int(groupTrackedScriptEntry.Append(4, gi, n), agentx.Truth(t.Reverse)))
		}
		vars = fileRows(vars, groupTrackedFileEntry, gi, v.fileTracks(g.TrackFiles, false))
	}
	return vars
}
