package vrrp

import (
	"errors"
	"fmt"
	"time"
)

// runtimeSets are what SetBasePriority and SetPreempt changed, by instance name. The
// instances a rebuild makes again (an interface re-created) keep them; a reload drops
// them, as keepalived's reload re-reads the configuration.
type runtimeSets struct {
	base      map[string]uint8
	nopreempt map[string]bool
}

// SetBasePriority changes instance name's base priority until the next reload, as
// keepalived's SNMP set of vrrpInstanceBasePriority does: the effective priority
// follows at once (tracking moves it from the new base, within 1..254), a backup's
// down timer moves with it, and the next adverts carry it, so that a backup raised
// above the master preempts it. As keepalived's vrrp_set_effective_priority, which
// leaves an address owner's priority alone, a base of 255 leaves the effective priority
// as it is.
func (n *Node) SetBasePriority(name string, prio uint8) error {
	if prio == 0 {
		return errors.New("vrrp: base priority 0: want 1..255")
	}
	return n.change(name, func(s *runtimeSets) {
		if s.base == nil {
			s.base = map[string]uint8{}
		}
		s.base[name] = prio
	}, func(r *runner, i *instance) {
		i.logger.Info("base priority changed", "from", i.base, "to", prio)
		i.base = prio
		r.retrack(false)
	})
}

// SetPreempt allows or stops instance name's preemption until the next reload, as
// keepalived's SNMP set of vrrpInstancePreempt does (nopreempt off or on).
func (n *Node) SetPreempt(name string, preempt bool) error {
	return n.change(name, func(s *runtimeSets) {
		if s.nopreempt == nil {
			s.nopreempt = map[string]bool{}
		}
		s.nopreempt[name] = !preempt
	}, func(r *runner, i *instance) {
		if preempt {
			i.logger.Info("preemption enabled")
		} else {
			i.logger.Info("preemption disabled")
		}
		i.params.Nopreempt = !preempt
		i.publish(time.Time{})
	})
}

// change records a runtime change of instance name in n.sets and applies it on the
// goroutine of the instance's runner, which owns its state; it returns once applied.
func (n *Node) change(name string, record func(*runtimeSets), apply func(*runner, *instance)) error {
	n.mu.Lock()
	r := n.runnerOf[name]
	if r != nil {
		record(&n.sets)
	}
	n.mu.Unlock()
	if r == nil {
		return fmt.Errorf("vrrp: no instance %s", name)
	}
	var i *instance
	for _, m := range r.members {
		if m.cfg.Name == name {
			i = m
		}
	}
	done := make(chan struct{})
	select {
	case r.do <- func() { apply(r, i); close(done) }:
		<-done
		return nil
	case <-r.done:
		// Stopped for a reload or a rebuild: a rebuild's instance has the change.
		return fmt.Errorf("vrrp: instance %s is being rebuilt", name)
	}
}

// applySets gives an instance being built the runtime changes made to the one it
// replaces (n.mu held).
func (n *Node) applySets(i *instance) {
	if p, ok := n.sets.base[i.cfg.Name]; ok {
		i.base = p
	}
	if np, ok := n.sets.nopreempt[i.cfg.Name]; ok {
		i.params.Nopreempt = np
	}
}

// dropSets forgets the runtime changes for a reload, and returns what puts them back
// if the reload fails.
func (n *Node) dropSets() (restore func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	sets := n.sets
	n.sets = runtimeSets{}
	return func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.sets = sets
	}
}
