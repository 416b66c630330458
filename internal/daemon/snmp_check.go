package daemon

import (
	"context"
	"net/netip"
	"time"

	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/engine"
	"github.com/govs/govs/internal/snmp/kamib/checkmodule"
	"github.com/govs/govs/internal/table"
)

// snmpAnswerTimeout bounds how long a request to the subagent waits for the engine.
const snmpAnswerTimeout = 2 * time.Second

// checkerModule is KEEPALIVED-MIB's checker part over the running configuration and
// the engine, checkers and data plane of this process. It reads d.running, never d.mu:
// a reload holds d.mu while it restarts the agent.
func (d *Daemon) checkerModule() *checkmodule.MIB {
	return &checkmodule.MIB{Source: checkmodule.Source{Config: d.running.Load, Keys: checkerKeys, Live: d.checkerLive, SetWeight: d.snmpSetWeight}}
}

// snmpSetWeight is a set of realServerWeight: the engine's weight of the server until
// the next reload, then the notifications of the quorum it may have moved.
func (d *Daemon) snmpSetWeight(key table.ServiceKey, rs netip.AddrPort, weight int) error {
	ctx, cancel := context.WithTimeout(d.runCtx, snmpAnswerTimeout)
	defer cancel()
	err := d.eng.SetWeight(ctx, key, rs, weight)
	d.snmpCheckerEvents(ctx)
	return err
}

// checkerKeys are the services a virtual server stands for, as the plan made them
// (nftables_ipvs's marks aside: a group served through them shows no live state).
func checkerKeys(vs *config.VirtualServer) []table.ServiceKey {
	keys, _ := serviceKeys(vs)
	return keys
}

// checkerLive reads the engine's health and quorum, the data plane's counters and the
// checkers' states; what cannot be read is left zero (every server down).
func (d *Daemon) checkerLive() checkmodule.Live {
	var live checkmodule.Live
	if d.eng == nil {
		return live
	}
	ctx, cancel := context.WithTimeout(d.runCtx, snmpAnswerTimeout)
	defer cancel()
	if st, err := d.eng.Status(ctx); err == nil {
		live.Services = st.Services
	}
	if d.dp != nil {
		live.Stats = d.dp.Stats()
	}
	if d.check != nil {
		live.Checks = d.check.Status()
	}
	return live
}

// snmpHealth applies a checker's verdict to the engine (as the health events' loop
// does) and then sends the notifications of what changed.
func (d *Daemon) snmpHealth(ctx context.Context, ev engine.HealthEvent) error {
	err := d.eng.Health(ctx, ev)
	d.snmpCheckerEvents(ctx)
	return err
}

// snmpCheckerEvents sends, with enable_traps, keepalived's realServerStateChange and
// virtualServerQuorumStateChange for the engine's events the agent has not announced
// yet: health changes, and the quorums a start or reload finds.
func (d *Daemon) snmpCheckerEvents(ctx context.Context) {
	sa := d.snmp.Load()
	if sa == nil || !sa.checkerPart || !sa.settings.Traps {
		return
	}
	st, err := d.eng.Status(ctx)
	if err != nil {
		return
	}
	sa.eventsMu.Lock()
	defer sa.eventsMu.Unlock()
	var news []engine.Event
	for _, e := range st.Events {
		if e.At.After(sa.eventsSent) {
			news = append(news, e)
		}
	}
	if len(news) == 0 {
		return
	}
	sa.eventsSent = news[len(news)-1].At
	d.snmpNotify(sa, "health checks", d.checkerModule().Notifications(news))
}

// snmpCheckerStopping is the engine's last word (engine.Options.Stopping): as
// keepalived's checkers shut down, every real server up goes down and every virtual
// server's quorum is announced stopping.
func (d *Daemon) snmpCheckerStopping(final engine.Status) {
	sa := d.snmp.Load()
	if sa == nil || !sa.checkerPart || !sa.settings.Traps {
		return
	}
	d.snmpNotify(sa, "stopping", d.checkerModule().Stopping(final))
}
