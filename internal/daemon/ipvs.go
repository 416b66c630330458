package daemon

import (
	"github.com/google/nftables"
	"github.com/govs/govs/internal/adm"
	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/dataplane"
	"github.com/govs/govs/internal/dataplane/ipvs"
	"github.com/govs/govs/internal/nftipvs"
	"github.com/govs/govs/internal/vrrp"
)

// configureIPVS applies lvs_flush, lvs_flush_onstop (or -I) and lvs_sync_daemon to the
// kernel plane, before the first table goes in. Other planes ignore them. A sync daemon
// that names an instance follows its VRRP state (followSyncRole); one that names none
// runs as master and backup together, as keepalived's checker process runs it.
func (d *Daemon) configureIPVS(first bool) error {
	p, ok := d.dp.(*ipvs.Plane)
	if !ok {
		return nil
	}
	if first {
		p.Configure(ipvsOptions(d.plan.IPVS, d.opts.KeepIPVS))
	}
	sd, followsVRRP := syncRun(d.plan.IPVS.Sync, d.opts.ChecksOnly)
	if sd == nil && d.plan.IPVS.Sync != nil && first {
		d.log.Warn("lvs_sync_daemon names VRRP instance "+d.plan.IPVS.Sync.Instance+", and -C runs no VRRP: no sync daemon, as keepalived",
			"interface", d.plan.IPVS.Sync.Interface)
	}
	d.syncCfg.Store(sd)
	return p.SetSync(syncDaemon(sd), followsVRRP)
}

// syncRun says which sync daemon runs and whether VRRP decides its role: keepalived's
// checker process runs one that names no instance itself (master and backup), and
// leaves one that names an instance to its VRRP process, which -C does not run.
func syncRun(sd *config.SyncDaemon, checksOnly bool) (run *config.SyncDaemon, followsVRRP bool) {
	switch {
	case sd == nil:
		return nil, false
	case sd.Instance == "":
		return sd, false
	case checksOnly:
		return nil, false
	}
	return sd, true
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

// applyMarks makes the nftables_ipvs tables mark what the plan's groups need, and
// deletes them when it needs none.
func (d *Daemon) applyMarks() error {
	if d.plan.NFTMarks == nil {
		if d.marks == nil {
			return nil
		}
		return d.marks.Close()
	}
	if d.marks == nil {
		d.marks = nftipvs.New(func() (*nftables.Conn, error) { return nftables.New() })
	}
	return d.marks.Set(d.plan.NFTMarks.Options, d.plan.NFTMarks.Entries)
}

// closeMarks deletes the nftables_ipvs tables at stop, unless the IPVS table stays
// (-I), whose fwmark services still need them, as keepalived keeps both.
func (d *Daemon) closeMarks() {
	if d.marks == nil || d.opts.KeepIPVS {
		return
	}
	if err := d.marks.Close(); err != nil {
		d.log.Error("nftables_ipvs: deleting the tables", "err", err)
	}
}

// ipvsMarks says whether nftables_ipvs applies: with the ipvs data plane only, where
// the groups' fwmark services are what keepalived makes; the other planes serve the
// groups' addresses as they are.
func ipvsMarks(cfg *config.Config, opts Options) bool {
	if cfg.Global.NFTablesIPVS == "" || opts.VRRPOnly {
		return false
	}
	chosen, _, err := dataplane.Choose(opts.Dataplane)
	if err == nil && chosen == "ipvs" {
		return true
	}
	opts.Logger.Warn("nftables_ipvs applies to the ipvs data plane only; the groups are served by address", "plane", chosen)
	return false
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
