package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/snmp/kamib"
	"github.com/govs/govs/internal/snmp/kamib/vrrpmodule"
	"github.com/govs/govs/internal/snmp/vrrpmib"
	"github.com/govs/govs/internal/vrrp"
)

// snmpSettings are the SNMP keywords: the master's socket, the MIBs and enable_traps.
type snmpSettings struct {
	Socket string
	// RFCv2 and RFCv3 are the standard VRRP MIBs; VRRP and Checker KEEPALIVED-MIB's
	// parts (enable_snmp_vrrp, enable_snmp_checker).
	RFCv2, RFCv3, VRRP, Checker bool
	Traps                       bool
}

// snmpPlan is nil unless a MIB govs serves is enabled.
func snmpPlan(cfg *config.Config) *snmpSettings {
	g := cfg.Global
	s := &snmpSettings{Socket: g.SNMPSocket, RFCv2: g.EnableSNMPRFC || g.EnableSNMPRFCv2, RFCv3: g.EnableSNMPRFC || g.EnableSNMPRFCv3,
		VRRP: g.EnableSNMPVRRP, Checker: g.EnableSNMPChecker, Traps: g.EnableTraps}
	if !s.RFCv2 && !s.RFCv3 && !s.VRRP && !s.Checker {
		return nil
	}
	return s
}

// snmpAgent is the running subagent. keepalived runs one in its VRRP process and one
// in its checker process; govs is one process, so one agent registers every module
// the two would.
type snmpAgent struct {
	settings snmpSettings
	// vrrpPart and checkerPart say which KEEPALIVED-MIB parts it serves.
	vrrpPart, checkerPart bool
	rfc                   *vrrpmib.MIB       // nil without enable_snmp_rfc*
	kaVRRP                *vrrpmodule.Module // nil without the VRRP part
	agent                 *agentx.Agent
	cancel                context.CancelFunc
	done                  chan struct{}
	// eventsSent is when the engine's last event it announced happened (eventsMu).
	eventsMu   sync.Mutex
	eventsSent time.Time
}

// snmpModules are the modules sa serves: the VRRP ones where VRRP runs, the checker's
// where the checkers run, and the global objects with either KEEPALIVED-MIB part, as
// keepalived's processes share them.
func (d *Daemon) snmpModules(sa *snmpAgent) []agentx.MIB {
	var mibs []agentx.MIB
	if sa.vrrpPart || sa.checkerPart {
		mibs = append(mibs, &kamib.Global{Config: d.running.Load, Version: d.opts.Version})
	}
	if sa.vrrpPart {
		mibs = append(mibs, d.vrrpModule(sa))
	}
	if sa.checkerPart {
		mibs = append(mibs, d.checkerModule())
	}
	if sa.rfc != nil {
		mibs = append(mibs, sa.rfc)
	}
	return mibs
}

// startSNMP runs the subagent of s, if it serves anything here (the VRRP modules not
// under -C, the checker's not under -P); it announces the engine's events after since.
// The agent outlives the daemon's context, so that what stops with it (VRRP's STOP
// states, the checkers' shutdown) is announced: Stop ends it.
func (d *Daemon) startSNMP(s *snmpSettings, since time.Time) {
	if s == nil {
		return
	}
	sa := &snmpAgent{settings: *s, vrrpPart: s.VRRP && d.node != nil, checkerPart: s.Checker && d.eng != nil, done: make(chan struct{}), eventsSent: since}
	if (s.RFCv2 || s.RFCv3) && d.node != nil {
		sa.rfc = &vrrpmib.MIB{Node: d.node, V2: s.RFCv2, V3: s.RFCv3, Traps: s.Traps, Started: time.Now()}
	}
	mibs := d.snmpModules(sa)
	if len(mibs) == 0 {
		return
	}
	subtrees, source := agentx.Modules(mibs...)
	sa.agent = agentx.New(agentx.Options{Address: s.Socket, Name: "govs", Subtrees: subtrees, Source: source,
		Setters: agentx.Setters(mibs...), Logger: d.log})
	ctx, cancel := context.WithCancel(context.WithoutCancel(d.runCtx))
	sa.cancel = cancel
	go func() {
		defer close(sa.done)
		sa.agent.Run(ctx)
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
	d.startSNMP(next, time.Now())
}

func (d *Daemon) stopSNMP() {
	if sa := d.snmp.Swap(nil); sa != nil {
		sa.cancel()
		<-sa.done
	}
}

// snmpNotify sends notifications through sa.
func (d *Daemon) snmpNotify(sa *snmpAgent, what string, ns []agentx.Notification) {
	for _, n := range ns {
		if err := sa.agent.Notify(n.Trap, n.Vars...); err != nil {
			d.log.Warn("SNMP: a notification was not sent", "about", what, "err", err)
		}
	}
}

// snmpStateChanged sends the notifications of a VRRP state change.
func (d *Daemon) snmpStateChanged(ch vrrp.StateChange) {
	sa := d.snmp.Load()
	if sa == nil {
		return
	}
	d.snmpVRRPStateChanged(sa, ch)
	if sa.rfc != nil && ch.To == vrrp.StateMaster {
		d.snmpNotify(sa, ch.Instance, sa.rfc.NewMaster(ch.Instance))
	}
}
