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
// daemon at once and swaps daemons on every VRRP transition. Where lvs_sync_daemon names
// no instance, no VRRP state decides, and keepalived's checker process runs the master
// and the backup daemon together from start to stop: every director sends its
// connections and takes the others'.

// bothDaemons is the role set of the master and the backup daemon running together.
const bothDaemons = adm.DaemonMaster | adm.DaemonBackup

// SetSync configures the sync daemon (lvs_sync_daemon; d.State is ignored); nil stops
// it. followsVRRP says whether an instance decides the role: then the daemon starts in
// the backup role, as keepalived does before VRRP has decided, and SetSyncRole swaps
// it; otherwise the master and the backup daemon run together. A changed configuration
// restarts the daemons in their current roles; an unchanged one sends nothing.
func (p *Plane) SetSync(d *adm.Daemon, followsVRRP bool) error {
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
	if d != nil && p.sync != nil && p.syncRoles != 0 && sameSync(*d, *p.sync) && followsVRRP == p.syncFollows {
		return nil
	}
	roles := p.syncRoles
	switch {
	case !followsVRRP:
		roles = bothDaemons
	case roles == 0 || roles == bothDaemons:
		roles = adm.DaemonBackup
	}
	errs := []error{p.stopDaemons()}
	p.sync = nil
	if d == nil {
		return errors.Join(errs...)
	}
	cfg := *d
	p.sync, p.syncFollows = &cfg, followsVRRP
	errs = append(errs, p.startDaemons(roles))
	return errors.Join(errs...)
}

// SetSyncRole follows a VRRP transition of the instance lvs_sync_daemon names: master
// runs the master daemon, anything else the backup daemon. Without lvs_sync_daemon, or
// with one that names no instance, it does nothing.
func (p *Plane) SetSyncRole(master bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sync == nil || !p.syncFollows {
		return nil
	}
	role := adm.DaemonBackup
	if master {
		role = adm.DaemonMaster
	}
	if role == p.syncRoles {
		return nil
	}
	errs := []error{p.stopDaemons(), p.startDaemons(role)}
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

// startDaemons starts a daemon in each of roles (master first, as keepalived).
func (p *Plane) startDaemons(roles adm.DaemonState) error {
	for _, role := range []adm.DaemonState{adm.DaemonMaster, adm.DaemonBackup} {
		if roles&role == 0 {
			continue
		}
		d := *p.sync
		d.State = role
		p.applied.Add(1)
		if err := p.k.NewDaemon(d); err != nil {
			return err
		}
		p.syncRoles |= role
	}
	return nil
}

// stopDaemons stops the daemons the plane started.
func (p *Plane) stopDaemons() error {
	var errs []error
	for _, role := range []adm.DaemonState{adm.DaemonMaster, adm.DaemonBackup} {
		if p.syncRoles&role == 0 {
			continue
		}
		p.applied.Add(1)
		p.syncRoles &^= role
		errs = append(errs, p.k.DelDaemon(role))
	}
	return errors.Join(errs...)
}

func sameSync(a, b adm.Daemon) bool {
	a.State, b.State = 0, 0
	return a == b
}
