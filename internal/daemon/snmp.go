package daemon

import (
	"context"
	"time"

	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/snmp/vrrpmib"
	"github.com/govs/govs/internal/vrrp"
)

// snmpSettings are the SNMP keywords VRRP's subagent serves: the master's socket, the
// MIBs and enable_traps.
type snmpSettings struct {
	Socket        string
	V2, V3, Traps bool
}

// snmpPlan is nil unless a MIB govs serves is enabled.
func snmpPlan(cfg *config.Config) *snmpSettings {
	g := cfg.Global
	s := &snmpSettings{Socket: g.SNMPSocket, V2: g.EnableSNMPRFC || g.EnableSNMPRFCv2, V3: g.EnableSNMPRFC || g.EnableSNMPRFCv3, Traps: g.EnableTraps}
	if !s.V2 && !s.V3 {
		return nil
	}
	return s
}

// snmpAgent is VRRP's running subagent.
type snmpAgent struct {
	mib    *vrrpmib.MIB
	agent  *agentx.Agent
	cancel context.CancelFunc
	done   chan struct{}
}

// startSNMP runs the subagent of s for the VRRP node, as keepalived's VRRP process does.
func (d *Daemon) startSNMP(s *snmpSettings) {
	if s == nil || d.node == nil {
		return
	}
	mib := &vrrpmib.MIB{Node: d.node, V2: s.V2, V3: s.V3, Traps: s.Traps, Started: time.Now()}
	a := agentx.New(agentx.Options{Address: s.Socket, Name: "govs VRRP", Subtrees: mib.Subtrees(), Source: mib.Variables, Logger: d.log})
	ctx, cancel := context.WithCancel(d.runCtx)
	sa := &snmpAgent{mib: mib, agent: a, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(sa.done)
		a.Run(ctx)
	}()
	d.snmp.Store(sa)
}

// reloadSNMP follows a reload: nothing if the settings are the same, else the agent
// starts again with the new ones (or stops).
func (d *Daemon) reloadSNMP(old, next *snmpSettings) {
	if old != nil && next != nil && *old == *next {
		return
	}
	d.stopSNMP()
	d.startSNMP(next)
}

func (d *Daemon) stopSNMP() {
	if sa := d.snmp.Swap(nil); sa != nil {
		sa.cancel()
		<-sa.done
	}
}

// snmpStateChanged sends the new-master notifications of ch, with enable_traps.
func (d *Daemon) snmpStateChanged(ch vrrp.StateChange) {
	sa := d.snmp.Load()
	if sa == nil || ch.To != vrrp.StateMaster {
		return
	}
	for _, n := range sa.mib.NewMaster(ch.Instance) {
		if err := sa.agent.Notify(n.Trap, n.Vars...); err != nil {
			d.log.Warn("SNMP: the new master notification was not sent", "instance", ch.Instance, "err", err)
		}
	}
}
