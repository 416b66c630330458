package daemon

import (
	"context"
	"slices"

	"github.com/govs/govs/internal/bfd"
	"github.com/govs/govs/internal/config"
	"github.com/vishvananda/netns"
)

// bfdConfigs maps the bfd_instance blocks.
func bfdConfigs(cfg *config.Config) []bfd.Config {
	var out []bfd.Config
	for _, b := range cfg.BFDInstances {
		out = append(out, bfd.Config{
			Name: b.Name, Neighbor: b.Neighbor, Source: b.SourceIP,
			MinRx: b.MinRx, MinTx: b.MinTx, IdleTx: b.IdleTx, Multiplier: uint8(b.Multiplier),
			Passive: b.Passive, TTL: b.TTL, MaxHops: b.MaxHops,
		})
	}
	return out
}

// startBFD runs the bfd_instance sessions for the daemon's life; their states go to
// the VRRP node, whose instances track them.
func (d *Daemon) startBFD(ctx context.Context) error {
	if len(d.plan.BFD) == 0 {
		return nil
	}
	if d.opts.NoBFD {
		d.log.Warn("BFD is not run (-B): instances tracking a bfd_instance stay in FAULT, BFD_CHECK servers down", "sessions", len(d.plan.BFD))
		return nil
	}
	r, err := bfd.Start(ctx, d.plan.BFD, netns.None(), d.log, d.bfdChanged, d.bfdThreads)
	if err != nil {
		return err
	}
	d.bfd = r
	// Stopping waits for the sessions' goodbyes (AdminDown).
	d.goRun("bfd", func() error { <-r.Done(); return nil })
	return nil
}

func (d *Daemon) bfdChanged(ev bfd.Event) {
	d.bfdMu.Lock()
	if d.bfdStates == nil {
		d.bfdStates = map[string]bool{}
	}
	d.bfdStates[ev.Name] = ev.Up
	if c, ok := d.bfdNext[ev.Name]; ok {
		close(c)
		delete(d.bfdNext, ev.Name)
	}
	d.bfdMu.Unlock()
	if d.node != nil {
		d.node.SetBFD(ev.Name, ev.Up)
	}
}

// bfdUp is BFD_CHECK's view of a session.
func (d *Daemon) bfdUp(name string) bool {
	d.bfdMu.Lock()
	defer d.bfdMu.Unlock()
	return d.bfdStates[name]
}

// bfdNextChange returns a channel closed at the next change of session name, for
// BFD_CHECK to follow it.
func (d *Daemon) bfdNextChange(name string) <-chan struct{} {
	d.bfdMu.Lock()
	defer d.bfdMu.Unlock()
	c, ok := d.bfdNext[name]
	if !ok {
		if d.bfdNext == nil {
			d.bfdNext = map[string]chan struct{}{}
		}
		c = make(chan struct{})
		d.bfdNext[name] = c
	}
	return c
}

// reloadBFD applies a reload's sessions, before d.plan is replaced: unchanged ones go
// on undisturbed.
func (d *Daemon) reloadBFD(cfgs []bfd.Config) error {
	switch {
	case slices.Equal(cfgs, d.plan.BFD):
		return nil
	case d.bfd == nil:
		d.plan.BFD = cfgs
		return d.startBFD(d.runCtx)
	}
	return d.bfd.Update(cfgs)
}
