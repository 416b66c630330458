package vrrpmodule

import (
	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/vrrp"
)

// groupState is a sync group's state as keepalived keeps it: FAULT as soon as a
// member is faulty, MASTER as soon as one is master (the others follow it), BACKUP
// otherwise, which is also where a group starts.
func groupState(v view, g vrrp.SyncGroupConfig) vrrp.State {
	state := vrrp.StateBackup
	for _, name := range g.Members {
		switch v.status[name].State {
		case vrrp.StateFault:
			return vrrp.StateFault
		case vrrp.StateMaster:
			state = vrrp.StateMaster
		}
	}
	return state
}

// syncGroups is vrrpSyncGroupTable and vrrpSyncGroupMemberTable: one row per
// vrrp_sync_group in configuration order, and one per member in the group's order.
func syncGroups(v view) []agentx.Variable {
	var vars []agentx.Variable
	for i, g := range v.run.SyncGroups {
		idx := uint32(i + 1)
		col := func(c uint32) agentx.OID { return syncGroupEntry.Append(c, idx) }
		n := g.Notify
		vars = append(vars,
			agentx.String(col(2), g.Name),
			agentx.Int(col(3), snmpState(groupState(v, g))),
			agentx.Int(col(4), agentx.Truth(g.SMTPAlert)),
			agentx.Int(col(5), agentx.Truth(notifyExec(n))),
			agentx.Int(col(10), agentx.Truth(g.TrackingWeight)),
		)
		vars = append(vars, scriptVar(col(6), n.Master)...)
		vars = append(vars, scriptVar(col(7), n.Backup)...)
		vars = append(vars, scriptVar(col(8), n.Fault)...)
		vars = append(vars, scriptVar(col(9), n.Generic)...)
		vars = append(vars, scriptVar(col(11), n.Stop)...)
		for j, m := range g.Members {
			vars = append(vars, agentx.String(syncGroupMemberEntry.Append(2, idx, uint32(j+1)), m))
		}
	}
	return vars
}
