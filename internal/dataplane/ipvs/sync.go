package ipvs

import (
	"errors"
	"fmt"

	"github.com/govs/govs/internal/adm"
)

// Connection synchronisation (lvs_sync_daemon) as keepalived runs it: the director
// whose VRRP instance is MASTER runs the kernel's master sync daemon, which multicasts
// its connections; the others run a backup daemon, which creates them in their own
// table, so established connections survive a failover. keepalived starts the backup
// daemon at once and swaps daemons on every VRRP transition.

// SetSync configures the sync daemon (lvs_sync_daemon; d.State is ignored) and starts it
// in the backup role, as keepalived does before VRRP has decided; nil stops it. A
// changed configuration restarts the daemon in its current role; an unchanged one sends
// nothing.
func (p *Plane) SetSync(d *adm.Daemon) error {
	if d != nil {
		if d.Interface == "" {
			return fmt.Errorf("ipvs: lvs_sync_daemon: no interface")
		}
		if d.SyncID < 0 || d.SyncID > 255 {
			return fmt.Errorf("ipvs: lvs_sync_daemon: id %d: want 0..255", d.SyncID)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if d != nil && p.sync != nil && p.syncRole != 0 && sameSync(*d, *p.sync) {
		return nil
	}
	role := p.syncRole
	if role == 0 {
		role = adm.DaemonBackup
	}
	var errs []error
	if p.syncRole != 0 {
		errs = append(errs, p.stopDaemon(p.syncRole))
	}
	p.sync = nil
	if d == nil {
		return errors.Join(errs...)
	}
	cfg := *d
	p.sync = &cfg
	errs = append(errs, p.startDaemon(role))
	return errors.Join(errs...)
}

// SetSyncRole follows a VRRP transition of the instance lvs_sync_daemon names: master
// runs the master daemon, anything else the backup daemon. Without lvs_sync_daemon it
// does nothing.
func (p *Plane) SetSyncRole(master bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sync == nil {
		return nil
	}
	role := adm.DaemonBackup
	if master {
		role = adm.DaemonMaster
	}
	if role == p.syncRole {
		return nil
	}
	var errs []error
	if p.syncRole != 0 {
		errs = append(errs, p.stopDaemon(p.syncRole))
	}
	errs = append(errs, p.startDaemon(role))
	p.log.Info("ipvs: sync daemon role", "role", role.String(), "interface", p.sync.Interface, "syncid", p.sync.SyncID)
	return errors.Join(errs...)
}

// Daemons lists the kernel's running sync daemons (-L --daemon).
func (p *Plane) Daemons() []adm.Daemon {
	p.reads.Add(1)
	ds, err := p.k.Daemons()
	if err != nil {
		p.log.Warn("ipvs: listing sync daemons", "err", err)
	}
	return ds
}

func (p *Plane) startDaemon(role adm.DaemonState) error {
	d := *p.sync
	d.State = role
	p.applied.Add(1)
	if err := p.k.NewDaemon(d); err != nil {
		return err
	}
	p.syncRole = role
	return nil
}

func (p *Plane) stopDaemon(role adm.DaemonState) error {
	p.applied.Add(1)
	p.syncRole = 0
	return p.k.DelDaemon(role)
}

func sameSync(a, b adm.Daemon) bool {
	a.State, b.State = 0, 0
	return a == b
}
