package daemon

import (
	"github.com/govs/govs/internal/snmp/kamib/vrrpmodule"
	"github.com/govs/govs/internal/vrrp"
)

// vrrpModule is KEEPALIVED-MIB's VRRP part for sa, kept in sa for its notifications:
// it reads the live node and the configuration in force (d.running, without d.mu: a
// reload holds d.mu while it restarts the agent).
func (d *Daemon) vrrpModule(sa *snmpAgent) *vrrpmodule.Module {
	sa.kaVRRP = &vrrpmodule.Module{Node: d.node, Config: d.running.Load, Traps: sa.settings.Traps}
	return sa.kaVRRP
}

// snmpVRRPStateChanged sends KEEPALIVED-MIB's notifications of a state change: the
// instance's, and its sync group's when the group changes with it.
func (d *Daemon) snmpVRRPStateChanged(sa *snmpAgent, ch vrrp.StateChange) {
	if sa.kaVRRP != nil {
		d.snmpNotify(sa, ch.Instance, sa.kaVRRP.StateChanged(ch))
	}
}
