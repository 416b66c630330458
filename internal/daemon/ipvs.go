package daemon

import (
	"github.com/govs/govs/internal/adm"
	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/dataplane/ipvs"
	"github.com/govs/govs/internal/vrrp"
)

// configureIPVS applies lvs_flush, lvs_flush_onstop (or -I) and lvs_sync_daemon to the
// kernel plane, before the first table goes in. Other planes ignore them.
func (d *Daemon) configureIPVS(first bool) error {
	p, ok := d.dp.(*ipvs.Plane)
	if !ok {
		return nil
	}
	if first {
		p.Configure(ipvsOptions(d.plan.IPVS, d.opts.KeepIPVS))
	}
	d.syncCfg.Store(d.plan.IPVS.Sync)
	return p.SetSync(syncDaemon(d.plan.IPVS.Sync))
}

// ipvsOptions maps the keywords as keepalived reads them: lvs_flush_onstop with no
// argument ("RS") flushes the whole table; "VS" and its absence remove only what govs
// owns; -I keeps everything so a restart adopts it.
func ipvsOptions(s IPVSSettings, keep bool) ipvs.Options {
	o := ipvs.Options{FlushOnStart: s.Flush, OnStop: ipvs.RemoveOwned}
	switch {
	case keep:
		o.OnStop = ipvs.KeepTable
	case s.FlushOnStop == "RS":
		o.OnStop = ipvs.FlushAll
	}
	return o
}

func syncDaemon(sd *config.SyncDaemon) *adm.Daemon {
	if sd == nil {
		return nil
	}
	return &adm.Daemon{Interface: sd.Interface, SyncID: sd.SyncID, MaxLen: sd.MaxLen, Port: int(sd.Port), TTL: sd.TTL, Group: sd.Group}
}

// followSyncRole makes the kernel's sync daemon master on the director whose
// lvs_sync_daemon instance is MASTER, and backup elsewhere, as keepalived does.
func (d *Daemon) followSyncRole(ch vrrp.StateChange) {
	p, ok := d.dp.(*ipvs.Plane)
	sd := d.syncCfg.Load()
	if !ok || sd == nil || sd.Instance != ch.Instance {
		return
	}
	if err := p.SetSyncRole(ch.To == vrrp.StateMaster); err != nil {
		d.log.Error("lvs_sync_daemon: switching role", "instance", ch.Instance, "master", ch.To == vrrp.StateMaster, "err", err)
	}
}
