package daemon

import (
	"fmt"
	"os"

	"github.com/google/nftables"
	"github.com/govs/govs/internal/adm"
	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/dataplane"
	"github.com/govs/govs/internal/dataplane/ipvs"
	"github.com/govs/govs/internal/nftipvs"
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
	return d.configureSync(p, first)
}

// configureVRRPSync runs lvs_sync_daemon under -P, where there is no data plane: as
// keepalived's VRRP process, which drives the kernel's sync daemon itself, it opens
// IPVS for that alone (leaving the table to the -C process) once the configuration
// has a daemon for it to run.
func (d *Daemon) configureVRRPSync(first bool) error {
	if d.syncOnly == nil {
		if run, _, _ := syncRun(d.plan.IPVS.Sync, d.opts); run == nil {
			return d.configureSync(nil, first)
		}
		p, err := ipvs.NewIn(d.plan.IPVS.Namespace, d.log)
		if err != nil {
			return fmt.Errorf("lvs_sync_daemon: %w", err)
		}
		p.Configure(ipvs.Options{OnStop: ipvs.KeepTable})
		d.syncOnly = p
	}
	return d.configureSync(d.syncOnly, first)
}

// configureSync hands lvs_sync_daemon to p, the plane that runs it (nil: none). A
// daemon that names an instance follows its VRRP state (followSyncRole); one that
// names none runs as master and backup together.
func (d *Daemon) configureSync(p *ipvs.Plane, first bool) error {
	run, followsVRRP, skipped := syncRun(d.plan.IPVS.Sync, d.opts)
	if first && skipped != "" {
		d.log.Warn("lvs_sync_daemon: "+skipped, "interface", d.plan.IPVS.Sync.Interface)
	}
	d.syncCfg.Store(run)
	d.syncPlane.Store(p)
	if p == nil {
		return nil
	}
	return p.SetSync(syncDaemon(run), followsVRRP)
}

// syncRun says which sync daemon runs in this process and whether VRRP decides its
// role, as keepalived's processes share the work: its checker process runs one that
// names no instance itself (master and backup together), its VRRP process one that
// names an instance. skipped says why a configured daemon does not run here.
func syncRun(sd *config.SyncDaemon, opts Options) (run *config.SyncDaemon, followsVRRP bool, skipped string) {
	switch {
	case sd == nil:
		return nil, false, ""
	case sd.Instance == "" && opts.VRRPOnly:
		return nil, false, "it names no VRRP instance, and -P runs no checker: no sync daemon, as keepalived"
	case sd.Instance == "":
		return sd, false, ""
	case opts.ChecksOnly:
		return nil, false, "it names VRRP instance " + sd.Instance + ", and -C runs no VRRP: no sync daemon, as keepalived"
	}
	return sd, true, ""
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
		newConn := func() (*nftables.Conn, error) { return nftables.New() }
		if ns := d.plan.IPVS.Namespace; ns != "" {
			// keepalived makes its nftables_ipvs tables where IPVS is.
			f, err := os.Open(ns)
			if err != nil {
				return fmt.Errorf("net_namespace_ipvs: %w", err)
			}
			d.marksNS = f
			newConn = func() (*nftables.Conn, error) { return nftables.New(nftables.WithNetNSFd(int(f.Fd()))) }
		}
		d.marks = nftipvs.New(newConn)
	}
	return d.marks.Set(d.plan.NFTMarks.Options, d.plan.NFTMarks.Entries)
}

// closeMarks deletes the nftables_ipvs tables at stop, unless the IPVS table stays
// (-I), whose fwmark services still need them, as keepalived keeps both.
func (d *Daemon) closeMarks() {
	defer func() {
		if d.marksNS != nil {
			d.marksNS.Close()
		}
	}()
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
	p, sd := d.syncPlane.Load(), d.syncCfg.Load()
	if p == nil || sd == nil || sd.Instance != ch.Instance {
		return
	}
	if err := p.SetSyncRole(ch.To == vrrp.StateMaster); err != nil {
		d.log.Error("lvs_sync_daemon: switching role", "instance", ch.Instance, "master", ch.To == vrrp.StateMaster, "err", err)
	}
}
