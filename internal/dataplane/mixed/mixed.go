// Package mixed runs two data planes side by side: DR and TUN services on one that
// forwards packets (xdp), every other service on one that relays (proxy). It is what
// `--dataplane auto` runs on a host without IPVS when the configuration has DR or TUN
// services.
package mixed

import (
	"context"
	"errors"

	"github.com/govs/govs/internal/dataplane"
	"github.com/govs/govs/internal/table"
)

// Plane splits the table by each service's forwarding method.
type Plane struct {
	forwarding dataplane.Dataplane // DR and TUN services
	relaying   dataplane.Dataplane // NAT (and everything else)
}

var _ dataplane.Dataplane = (*Plane)(nil)

// New returns a plane that gives DR and TUN services to forwarding and the rest to
// relaying.
func New(forwarding, relaying dataplane.Dataplane) *Plane {
	return &Plane{forwarding: forwarding, relaying: relaying}
}

// Forwarded reports whether a service belongs to the forwarding plane. It looks at the
// service's own method, not its destinations', so a service never changes plane when
// health checks change its destinations.
func Forwarded(s table.Service) bool {
	return s.Method == table.Route || s.Method == table.Tunnel
}

// Split divides a table between the two planes; both get the timeouts.
func Split(t table.Table) (forwarded, relayed table.Table) {
	forwarded.Timeouts, relayed.Timeouts = t.Timeouts, t.Timeouts
	for _, s := range t.Services {
		if Forwarded(s) {
			forwarded.Services = append(forwarded.Services, s)
		} else {
			relayed.Services = append(relayed.Services, s)
		}
	}
	return forwarded, relayed
}

// Apply hands each plane its part; an error of one does not stop the other.
func (p *Plane) Apply(ctx context.Context, t table.Table) error {
	fwd, rel := Split(t)
	return errors.Join(p.forwarding.Apply(ctx, fwd), p.relaying.Apply(ctx, rel))
}

// Stats concatenates both planes' counters.
func (p *Plane) Stats() table.Stats {
	a, b := p.forwarding.Stats(), p.relaying.Stats()
	return table.Stats{Services: append(a.Services, b.Services...)}
}

// Close stops both planes.
func (p *Plane) Close(ctx context.Context) error {
	return errors.Join(p.forwarding.Close(ctx), p.relaying.Close(ctx))
}
