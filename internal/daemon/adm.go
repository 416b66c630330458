package daemon

import (
	"context"
	"time"

	"github.com/govs/govs/internal/adm"
	"github.com/govs/govs/internal/dataplane"
	"github.com/govs/govs/internal/engine"
	"github.com/govs/govs/internal/table"
)

// admBackend lets `govs adm` read and change the running table. A change is an
// engine.AdminOp that replays the ipvsadm command on an in-memory IPVS model of the
// table, so the kernel's rules and errors apply, and the engine keeps it until the
// next reload, as ipvsadm changes last until keepalived reloads.
type admBackend struct {
	eng *engine.Engine
	dp  dataplane.Dataplane
}

var _ adm.Backend = (*admBackend)(nil)

// admTimeout bounds one engine round trip for an admin command.
const admTimeout = 10 * time.Second

// Table is the kernel's own table, in the kernel's order, where the data plane is the
// kernel's IPVS (so -L --nosort answers as ipvsadm); elsewhere the engine's.
func (b *admBackend) Table() table.Table {
	if k, ok := b.dp.(kernelTabler); ok {
		if t, err := k.KernelTable(); err == nil {
			return t
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), admTimeout)
	defer cancel()
	t, _ := b.eng.Table(ctx)
	return t
}

// kernelTabler is implemented by data planes that read the kernel's table (ipvs).
type kernelTabler interface {
	KernelTable() (table.Table, error)
}

// daemonLister is implemented by data planes that run the kernel's sync daemon.
type daemonLister interface{ Daemons() []adm.Daemon }

func (b *admBackend) Stats() table.Stats { return b.dp.Stats() }

// Conns lists connections when the data plane can (ConnLister); the proxy keeps no
// per-connection table to list.
func (b *admBackend) Conns() []table.Conn {
	if l, ok := b.dp.(ConnLister); ok {
		return l.Conns()
	}
	return nil
}

// ConnLister is implemented by data planes that can list their connections (-L -c).
type ConnLister interface{ Conns() []table.Conn }

// Daemons lists the connection sync daemons, which exist only with the kernel's IPVS.
func (b *admBackend) Daemons() []adm.Daemon {
	if l, ok := b.dp.(daemonLister); ok {
		return l.Daemons()
	}
	return nil
}

func (b *admBackend) Apply(cmd adm.Command) error {
	ctx, cancel := context.WithTimeout(context.Background(), admTimeout)
	defer cancel()
	return b.eng.Admin(ctx, func(t table.Table) (table.Table, error) {
		m := adm.NewModel(adm.ModelOptions{})
		m.Load(t)
		if err := m.Apply(cmd); err != nil {
			return t, err
		}
		return m.Table(), nil
	})
}
