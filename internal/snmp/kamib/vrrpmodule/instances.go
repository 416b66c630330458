package vrrpmodule

import (
	"time"

	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/vrrp"
)

// configuredState is keepalived's configured_state: `state MASTER`, or without a state
// keyword the address owner (priority 255); BACKUP otherwise, and for an AH instance
// that is not the owner ("Initial state master is incompatible with AH").
func configuredState(in vrrp.InstanceConfig, c *config.Instance) vrrp.State {
	want := vrrp.StateBackup
	switch {
	case c.State == config.StateBackup:
	case in.InitialState == vrrp.StateMaster || in.Priority == 255:
		want = vrrp.StateMaster
	}
	if want == vrrp.StateMaster && in.AuthType == vrrp.AuthAH && in.Priority != 255 {
		want = vrrp.StateBackup
	}
	return want
}

// wantedState is keepalived's wantstate: the state the instance goes for. A master
// wants MASTER and a faulty one FAULT; a backup wants BACKUP, except one configured
// MASTER that has not moved since it started as backup (keepalived keeps the
// configured state until a transition replaces it).
func wantedState(st vrrp.InstanceStatus, configured vrrp.State) vrrp.State {
	switch st.State {
	case vrrp.StateMaster, vrrp.StateFault:
		return st.State
	case vrrp.StateBackup:
		if configured == vrrp.StateMaster && st.Transitions <= 1 {
			return vrrp.StateMaster
		}
		return vrrp.StateBackup
	}
	return configured
}

// lvsSync says whether the instance drives the LVS sync daemon, and its interface.
func lvsSync(v view, name string, c *config.Instance) (string, bool) {
	if d := v.conf.Global.LVSSyncDaemon; d != nil {
		return d.Interface, d.Instance == name
	}
	return c.LVSSyncDaemonInterface, c.LVSSyncDaemonInterface != ""
}

// notifyExec is keepalived's notify_exec: a notify script of any kind is configured
// (a bare notify_deleted is not one).
func notifyExec(n vrrp.NotifyConfig) bool {
	for _, c := range []*vrrp.Command{n.Master, n.Backup, n.Fault, n.Stop, n.Generic, n.Deleted, n.MasterRxLowerPri} {
		if c != nil && len(c.Argv) > 0 {
			return true
		}
	}
	return false
}

// scriptVar is a notify script's column: absent without one.
func scriptVar(name agentx.OID, c *vrrp.Command) []agentx.Variable {
	if c == nil || len(c.Argv) == 0 {
		return nil
	}
	return []agentx.Variable{agentx.String(name, commandString(c))}
}

func seconds(d time.Duration) uint64 { return uint64(max(d, 0) / time.Second) }

// instances is vrrpInstanceTable: one row per vrrp_instance, in configuration order.
func instances(v view) []agentx.Variable {
	var vars []agentx.Variable
	for i, in := range v.run.Instances {
		idx := uint32(i + 1)
		col := func(c uint32) agentx.OID { return instanceEntry.Append(c, idx) }
		c := v.confInstance(in.Name)
		configured := configuredState(in, c)
		vars = append(vars,
			agentx.String(col(2), in.Name),
			agentx.Unsigned(col(3), uint64(in.VRID)),
			agentx.Int(col(5), snmpState(configured)),
			agentx.Int(col(11), agentx.Truth(len(interfaceTracks(v, in, c)) > 0)),
			agentx.Unsigned(col(14), seconds(in.PreemptDelay)),
			agentx.Unsigned(col(19), seconds(in.GARP.MasterDelay)),
			agentx.Int(col(20), agentx.Truth(in.SMTPAlert)),
			agentx.Int(col(21), agentx.Truth(notifyExec(in.Notify))),
			agentx.Int(col(28), agentx.Truth(in.PromoteSecondaries)),
			// linkbeat_use_polling is refused by govs's configuration: never set.
			agentx.Int(col(29), agentx.Truth(false)),
			agentx.Int(col(30), int(in.Version)),
			agentx.Int(col(33), agentx.Truth(c.NotifyDeleted != nil)),
		)
		// The base priority and preemption as the instance has them now (a set
		// changes them), as configured before it runs.
		prio, nopreempt := in.Priority, in.Nopreempt
		if st, ok := v.status[in.Name]; ok {
			prio, nopreempt = st.Priority, st.Nopreempt
			vars = append(vars,
				agentx.Int(col(4), snmpState(st.State)),
				agentx.Int(col(6), snmpState(wantedState(st, configured))),
				agentx.Int(col(8), int(st.EffectivePriority)),
				// keepalived's vipset: the addresses are up, which only a master does.
				agentx.Int(col(9), agentx.Truth(st.State == vrrp.StateMaster)),
			)
		}
		vars = append(vars, agentx.Int(col(7), int(prio)), agentx.Int(col(13), agentx.Truth(!nopreempt)))
		// vrrpInstancePrimaryInterface is the interface adverts go by: the VMAC's
		// for an instance on one.
		switch {
		case in.UseVMAC && in.VMACName != "":
			vars = append(vars, agentx.String(col(10), in.VMACName))
		case in.Interface != "":
			vars = append(vars, agentx.String(col(10), in.Interface))
		}
		// The advert interval in the version's units: seconds for VRRPv2,
		// centiseconds for VRRPv3.
		adv := uint64(in.AdvertInterval / time.Second)
		if in.Version == 3 {
			adv = uint64(in.AdvertInterval / (10 * time.Millisecond))
		}
		vars = append(vars, agentx.Unsigned(col(12), adv))
		// Authentication and accept mode: 0, outside the enumerations, where the
		// version has none (VRRPv3 authentication, VRRPv2 accept mode), as
		// keepalived answers.
		auth, accept := 0, 0
		if in.Version == 2 {
			auth = int(in.AuthType)
		} else {
			accept = agentx.Truth(!in.NoAccept)
		}
		vars = append(vars, agentx.Int(col(15), auth), agentx.Int(col(27), accept))
		ifname, syncd := lvsSync(v, in.Name, c)
		vars = append(vars, agentx.Int(col(16), agentx.Truth(syncd)))
		if syncd {
			vars = append(vars, agentx.String(col(17), ifname))
		}
		if g := v.groupOf(in.Name); g != nil {
			vars = append(vars, agentx.String(col(18), g.Name))
		}
		n := in.Notify
		vars = append(vars, scriptVar(col(22), n.Master)...)
		vars = append(vars, scriptVar(col(23), n.Backup)...)
		vars = append(vars, scriptVar(col(24), n.Fault)...)
		vars = append(vars, scriptVar(col(25), n.Stop)...)
		vars = append(vars, scriptVar(col(26), n.Generic)...)
		vars = append(vars, scriptVar(col(31), n.MasterRxLowerPri)...)
		vars = append(vars, scriptVar(col(32), n.Deleted)...)
		// The multicast group, absent for a unicast instance.
		if len(in.UnicastPeers) == 0 && in.MulticastGroup.IsValid() {
			vars = append(vars,
				agentx.Int(col(34), addrType(in.MulticastGroup)),
				agentx.Octets(col(35), addrBytes(in.MulticastGroup)))
		}
	}
	return vars
}

// interfaceTracks is the instance's track_interface list as keepalived keeps it:
// interfaces that exist (or may appear, with dynamic_interfaces), not the instance's
// own (the configuration has dropped duplicates); a member of a sync group without
// sync_group_tracking_weight tracks them with weight 0, and the address owner drops the
// weighted ones.
func interfaceTracks(v view, in vrrp.InstanceConfig, c *config.Instance) []config.TrackedObject {
	var out []config.TrackedObject
	g := v.groupOf(in.Name)
	for _, t := range c.TrackInterfaces {
		if t.Name == in.Interface {
			continue
		}
		if _, ok := v.link(t.Name); !ok && !v.conf.Global.DynamicInterfaces {
			continue
		}
		switch {
		case g != nil && !g.TrackingWeight:
			t.Weight = 0
		case in.Priority == 255 && t.Weight != 0:
			continue
		}
		out = append(out, t)
	}
	return out
}

// scriptTracks is the instance's track_script list as keepalived keeps it: scripts that
// exist (the configuration has dropped duplicates); weighted ones are dropped by a
// member of a sync group without sync_group_tracking_weight and by the address owner.
func scriptTracks(v view, in vrrp.InstanceConfig, c *config.Instance) []config.TrackedObject {
	known := map[string]bool{}
	for _, s := range v.run.Scripts {
		known[s.Name] = true
	}
	var out []config.TrackedObject
	g := v.groupOf(in.Name)
	for _, t := range c.TrackScripts {
		if !known[t.Name] {
			continue
		}
		if t.Weight != 0 && (g != nil && !g.TrackingWeight || in.Priority == 255) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// trackedInterfaces is vrrpTrackedInterfaceTable, indexed by instance and position
// (its name is column 1: keepalived has no index column there).
func trackedInterfaces(v view) []agentx.Variable {
	var vars []agentx.Variable
	for i, in := range v.run.Instances {
		for j, t := range interfaceTracks(v, in, v.confInstance(in.Name)) {
			idx := []uint32{uint32(i + 1), uint32(j + 1)}
			vars = append(vars,
				agentx.String(trackedIfEntry.Append(1).Append(idx...), t.Name),
				agentx.Int(trackedIfEntry.Append(2).Append(idx...), t.Weight),
				agentx.Int(trackedIfEntry.Append(3).Append(idx...), agentx.Truth(t.Reverse)))
		}
	}
	return vars
}

// trackedScripts is vrrpTrackedScriptTable, indexed by instance and position.
func trackedScripts(v view) []agentx.Variable {
	var vars []agentx.Variable
	for i, in := range v.run.Instances {
		for j, t := range scriptTracks(v, in, v.confInstance(in.Name)) {
			idx := []uint32{uint32(i + 1), uint32(j + 1)}
			vars = append(vars,
				agentx.String(trackedScriptEntry.Append(2).Append(idx...), t.Name),
				agentx.Int(trackedScriptEntry.Append(3).Append(idx...), t.Weight),
				agentx.Int(trackedScriptEntry.Append(4).Append(idx...), agentx.Truth(t.Reverse)))
		}
	}
	return vars
}
