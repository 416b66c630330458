// Package dataplane defines the one interface every data plane implements (proxy, xdp,
// ipvs) and the registry that chooses one by name. The engine hands a data plane the
// whole desired table; the data plane reconciles and reports counters.
package dataplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/govs/govs/internal/registry"
	"github.com/govs/govs/internal/table"
)

// ErrNotSupported is returned by a factory when this host cannot run the data plane
// (no kernel module, no privilege); the message says why and what to use instead.
var ErrNotSupported = errors.New("data plane not supported on this host")

// Dataplane forwards traffic for the services of the desired table.
type Dataplane interface {
	// Apply reconciles what runs with t. It is called from the engine goroutine only,
	// with the whole table every time; it diffs on identity (ServiceKey, Dest.Addr).
	Apply(ctx context.Context, t table.Table) error
	// Stats returns a snapshot of every service's and destination's counters.
	Stats() table.Stats
	// Close stops forwarding. Established connections get until ctx is done to finish.
	Close(ctx context.Context) error
}

// Options are what a factory gets.
type Options struct {
	Logger *slog.Logger
	// Interfaces are where clients' packets arrive, for planes that attach to
	// interfaces (xdp); empty lets the plane find them from the real servers' routes.
	Interfaces []string
	// IPVSNamespace is the path of the network namespace where the ipvs plane programs
	// IPVS (net_namespace_ipvs); "": the process's. The other planes serve in the
	// process's namespace.
	IPVSNamespace string
}

// Factory builds a data plane.
type Factory func(opts Options) (Dataplane, error)

var planes = registry.New[Factory]("data plane")

// Register makes a data plane available by name. A duplicate name panics.
func Register(name string, f Factory) { planes.Register(name, f) }

// New builds the named data plane.
func New(name string, opts Options) (Dataplane, error) {
	f, ok := planes.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("dataplane: unknown data plane %q (known: %v)", name, Names())
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return f(opts)
}

// Names lists the registered data planes, sorted.
func Names() []string { return planes.Names() }
