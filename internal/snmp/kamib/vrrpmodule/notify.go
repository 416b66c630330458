package vrrpmodule

import (
	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/snmp/kamib"
	"github.com/govs/govs/internal/vrrp"
)

// The notifications, KEEPALIVED-MIB's vrrpNotifications (…5.2.10.0).
var (
	SyncGroupStateChange = kamib.VRRPRoot.Append(10, 0, 1)
	InstanceStateChange  = kamib.VRRPRoot.Append(10, 0, 2)
)

// trapState is the state keepalived's notifications carry: init(0) to fault(3) as
// they are, stop(5), deleted(6), and unknown(4) for anything else.
func trapState(s vrrp.State) int {
	switch s {
	case vrrp.StateStop:
		return 5
	case vrrp.StateDeleted:
		return 6
	}
	return snmpState(s)
}

// InstanceTrap is vrrpInstanceStateChange as keepalived's vrrp_snmp_instance_trap
// sends it. Its variables are named by their columns without the instance's index
// (vrrpInstanceName, not vrrpInstanceName.N): keepalived's quirk, copied so that trap
// receivers see the same names. initial is the configured state, sent as it is.
func InstanceTrap(name string, state, initial vrrp.State, routerID string) agentx.Notification {
	return agentx.Notification{Trap: InstanceStateChange, Vars: []agentx.Variable{
		agentx.String(instanceEntry.Append(2), name),
		agentx.Int(instanceEntry.Append(4), trapState(state)),
		agentx.Int(instanceEntry.Append(5), int(initial)),
		agentx.String(kamib.RouterIDOID, routerID),
	}}
}

// GroupTrap is vrrpSyncGroupStateChange as keepalived's vrrp_snmp_group_trap sends
// it, its variables without the group's index as well.
func GroupTrap(name string, state vrrp.State, routerID string) agentx.Notification {
	return agentx.Notification{Trap: SyncGroupStateChange, Vars: []agentx.Variable{
		agentx.String(syncGroupEntry.Append(2), name),
		agentx.Int(syncGroupEntry.Append(3), trapState(state)),
		agentx.String(kamib.RouterIDOID, routerID),
	}}
}

// memo is what a notification needs of an instance once a reload has removed it.
type memo struct {
	initial       vrrp.State
	notifyDeleted bool
}

// StateChanged follows an instance's state change and returns the notifications
// keepalived sends with its notify scripts: the instance's (none for INIT), then its
// sync group's when every member has reached the new state. An instance a reload
// removed is announced as FAULT, or DELETED with notify_deleted. Nothing is returned
// without enable_traps.
func (m *Module) StateChanged(ch vrrp.StateChange) []agentx.Notification {
	v := m.view()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.states == nil {
		m.states, m.groups, m.memos = map[string]vrrp.State{}, map[string]vrrp.State{}, map[string]memo{}
	}
	m.states[ch.Instance] = ch.To
	for _, in := range v.run.Instances {
		if in.Name == ch.Instance {
			c := v.confInstance(in.Name)
			m.memos[in.Name] = memo{initial: configuredState(in, c), notifyDeleted: c.NotifyDeleted != nil}
		}
	}
	routerID := kamib.RouterID(&v.conf.Global)
	var out []agentx.Notification
	if ch.To != vrrp.StateInit {
		state, mm := ch.To, m.memos[ch.Instance]
		if ch.To == vrrp.StateStop && !running(v, ch.Instance) {
			state = vrrp.StateFault
			if mm.notifyDeleted {
				state = vrrp.StateDeleted
			}
			delete(m.states, ch.Instance)
			delete(m.memos, ch.Instance)
		}
		out = append(out, InstanceTrap(ch.Instance, state, mm.initial, routerID))
	}
	if g := v.groupOf(ch.Instance); g != nil && m.groups[g.Name] != ch.To {
		all := true
		for _, name := range g.Members {
			all = all && m.states[name] == ch.To
		}
		if all {
			m.groups[g.Name] = ch.To
			out = append(out, GroupTrap(g.Name, ch.To, routerID))
		}
	}
	if !m.Traps {
		return nil
	}
	return out
}

// running says whether the node's configuration has instance name.
func running(v view, name string) bool {
	for _, in := range v.run.Instances {
		if in.Name == name {
			return true
		}
	}
	return false
}
