package daemon

import (
	"cmp"
	"context"

	"github.com/govs/govs/internal/api/dbusapi"
	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/vrrp"
)

// dbusSettings are enable_dbus's: the bus name and the objects' paths.
type dbusSettings struct {
	ServiceName string
	// Instance is global instance, which keepalived puts in the objects' paths.
	Instance string
}

// dbusPlan is nil unless enable_dbus is set.
func dbusPlan(cfg *config.Config) *dbusSettings {
	if !cfg.Global.EnableDBus {
		return nil
	}
	return &dbusSettings{ServiceName: cmp.Or(cfg.Global.DBusServiceName, dbusapi.DefaultServiceName), Instance: cfg.Instance}
}

// dbusObjects are the instances' objects.
func dbusObjects(c vrrp.Config) []dbusapi.Object {
	objs := make([]dbusapi.Object, 0, len(c.Instances))
	for _, in := range c.Instances {
		objs = append(objs, dbusapi.Object{Name: in.Name, Interface: in.Interface, VRID: in.VRID, IPv6: in.IPv6()})
	}
	return objs
}

// startDBus connects the VRRP instances of c to the bus as keepalived's VRRP process
// does; a bus that cannot be reached is logged and tried again, and VRRP runs on.
func (d *Daemon) startDBus(s *dbusSettings, c vrrp.Config) {
	if s == nil || d.node == nil {
		return
	}
	d.dbus.Store(dbusapi.Start(dbusapi.Options{ServiceName: s.ServiceName, NetNamespace: d.opts.NetNamespace, Instance: s.Instance, Logger: d.log},
		dbusObjects(c), d.node, dbusapi.Actions{
			PrintData:       func() { d.LogDump(context.Background(), "state", d.DumpData) },
			PrintStats:      func() { d.LogDump(context.Background(), "statistics", d.DumpStats) },
			PrintStatsClear: func() { d.LogDump(context.Background(), "statistics (then cleared)", d.DumpStatsAndClear) },
			ReloadConfig:    d.requestReload,
		}))
}

// reloadDBus follows a reload: the objects of the new instances, or the interface
// started or stopped with enable_dbus, or moved to a new bus name.
func (d *Daemon) reloadDBus(old, next *dbusSettings, c vrrp.Config) {
	svc := d.dbus.Load()
	if svc != nil && next != nil && old != nil && *old == *next {
		if err := svc.Reload(dbusObjects(c)); err != nil {
			d.log.Error("enable_dbus: updating the D-Bus objects", "err", err)
		}
		return
	}
	d.stopDBus()
	d.startDBus(next, c)
}

func (d *Daemon) stopDBus() {
	if svc := d.dbus.Swap(nil); svc != nil {
		svc.Stop()
	}
}

// requestReload asks the process to reload as SIGHUP does (ReloadRequested).
func (d *Daemon) requestReload() {
	select {
	case d.reloadReq <- struct{}{}:
	default: // one is pending already
	}
}

// ReloadRequested delivers the reloads asked for other than by SIGHUP (D-Bus's
// ReloadConfig); the caller reloads as it does on SIGHUP.
func (d *Daemon) ReloadRequested() <-chan struct{} { return d.reloadReq }
