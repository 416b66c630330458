package vrrp

import (
	"context"
	"log/slog"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// LinkDelay is interface_up_down_delays for one interface: how long it must stay down
// (or up) before VRRP sees it so. A change undone within the delay is never seen.
type LinkDelay struct {
	Down, Up time.Duration
}

// linkFollower keeps the tracker's link states current from netlink notifications,
// holding back the changes of interfaces with delays as keepalived does: the first
// state of an interface, and anything before it was first seen up, counts at once.
type linkFollower struct {
	tr      *tracker
	delays  map[string]LinkDelay
	logger  *slog.Logger
	state   map[string]bool // as the tracker has it
	seenUp  map[string]bool
	pending map[string]*pendingLink
	fired   chan pendingLink
	gen     uint64

	// built are the interfaces the instances were built on, with their indexes then;
	// ours the VMACs the node made; rebuild asks for the instances to be built again.
	built   map[string]int
	ours    map[string]bool
	rebuild func()
	asked   map[string]int // the index a rebuild was asked for, by interface

	// resume are changes taken over from the previous generation's follower.
	resume []resumed

	// resubscribe follows the links anew once the notifications stopped (their
	// socket overflowed): a new subscription, the links as they are now, and what
	// ends that subscription.
	resubscribe func(ctx context.Context) (chan netlink.LinkUpdate, []netlink.Link, context.CancelFunc, error)
}

// pendingLink is a delayed change: the state it will set, when, and which timer it is.
type pendingLink struct {
	name  string
	up    bool
	gen   uint64
	at    time.Time
	timer *time.Timer
}

// newLinkFollower starts from initial, the links as the kernel has them now. prev,
// the follower of the generation a reload replaces (stopped), hands over what VRRP
// saw: a change still held back stays so for the rest of its delay, and an interface
// seen up before stays seen.
func newLinkFollower(tr *tracker, initial map[string]bool, delays map[string]LinkDelay, logger *slog.Logger, prev *linkFollower) *linkFollower {
	f := &linkFollower{tr: tr, delays: delays, logger: logger, state: map[string]bool{}, seenUp: map[string]bool{},
		pending: map[string]*pendingLink{}, fired: make(chan pendingLink)}
	for name, up := range initial {
		f.state[name], f.seenUp[name] = up, up
		if prev == nil {
			continue
		}
		f.seenUp[name] = up || prev.seenUp[name]
		if seen, ok := prev.state[name]; ok && seen != up {
			// VRRP goes on seeing what it saw; run takes the kernel's state as a
			// change, held back for what is left of a pending delay.
			f.state[name] = seen
			tr.setLink(name, seen)
			f.resume = append(f.resume, resumed{name: name, up: up, left: prev.left(name, up)})
		}
	}
	return f
}

// resumed is a change a follower takes over at start: to up, after left (or after
// the configured delay when its predecessor was not holding it back).
type resumed struct {
	name string
	up   bool
	left time.Duration
}

// left is how long the stopped follower was still to hold back name's change to up,
// or -1 if it was not holding it back.
func (f *linkFollower) left(name string, up bool) time.Duration {
	if p := f.pending[name]; p != nil && p.up == up {
		return max(time.Until(p.at), 0)
	}
	return -1
}

// watchRebuilds makes the follower call rebuild when an interface an instance was
// built on comes back with another index (deleted and re-created: its sockets and
// addresses name the old one), or when one of our VMACs is deleted (to create it
// again).
func (f *linkFollower) watchRebuilds(insts []*instance, ours map[string]bool, rebuild func()) {
	f.built, f.ours, f.rebuild, f.asked = map[string]int{}, ours, rebuild, map[string]int{}
	for _, i := range insts {
		for name, idx := range i.devices {
			f.built[name] = idx
		}
	}
}

func (f *linkFollower) run(ctx context.Context, updates chan netlink.LinkUpdate) {
	stopSub := func() {}
	defer func() {
		stopSub()
		for _, p := range f.pending {
			p.timer.Stop()
		}
	}()
	var retry <-chan time.Time
	for _, r := range f.resume {
		if r.left < 0 {
			f.update(ctx, r.name, r.up, false)
		} else {
			f.hold(ctx, r.name, r.up, r.left)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-updates:
			if !ok {
				if ctx.Err() != nil {
					return
				}
				// A subscription that fails to receive (its buffer overflowed) ends:
				// keepalived would go on missing what overflowed; govs starts again
				// and takes every link's state as it is now.
				f.logger.Warn("link notifications stopped; following the links anew (raise vrrp_netlink_monitor_rcv_bufs if this repeats)")
				updates, retry = f.resync(ctx, &stopSub)
				continue
			}
			if u.Link == nil {
				continue
			}
			gone := u.Header.Type == unix.RTM_DELLINK
			f.checkRebuild(u.Link.Attrs(), gone)
			f.update(ctx, u.Link.Attrs().Name, !gone && linkUp(u.Link), gone)
		case <-retry:
			updates, retry = f.resync(ctx, &stopSub)
		case p := <-f.fired:
			if cur := f.pending[p.name]; cur != nil && cur.gen == p.gen {
				delete(f.pending, p.name)
				f.apply(p.name, p.up)
			}
		}
	}
}

// resync subscribes again and applies every link's present state, as notifications
// would have; it returns the new notifications, or when that failed when to try again.
func (f *linkFollower) resync(ctx context.Context, stopSub *func()) (chan netlink.LinkUpdate, <-chan time.Time) {
	(*stopSub)()
	updates, links, stop, err := f.resubscribe(ctx)
	if err != nil {
		*stopSub = func() {}
		f.logger.Warn("following the links again; retrying in a second", "err", err)
		return nil, time.After(time.Second)
	}
	*stopSub = stop
	present := map[string]bool{}
	for _, l := range links {
		a := l.Attrs()
		present[a.Name] = true
		f.checkRebuild(a, false)
		f.update(ctx, a.Name, linkUp(l), false)
	}
	for name := range f.state {
		if !present[name] {
			f.checkRebuild(&netlink.LinkAttrs{Name: name}, true)
			f.update(ctx, name, false, true)
		}
	}
	return updates, nil
}

func (f *linkFollower) checkRebuild(l *netlink.LinkAttrs, gone bool) {
	idx, built := f.built[l.Name]
	switch {
	case f.rebuild == nil || !built:
	case gone && f.ours[l.Name]:
		f.logger.Info("VMAC " + l.Name + " deleted, creating it again")
		f.asked[l.Name] = 0
		f.rebuild()
	case !gone && l.Index != idx && f.asked[l.Name] != l.Index:
		// Once per new index: the node retries a rebuild that cannot run yet.
		if idx == 0 {
			f.logger.Info("interface appeared", "interface", l.Name) // dynamic_interfaces
		} else {
			f.logger.Info("interface re-created", "interface", l.Name, "index", l.Index, "was", idx)
		}
		f.asked[l.Name] = l.Index
		f.rebuild()
	}
}

// update takes one notified state; a removed interface counts at once.
func (f *linkFollower) update(ctx context.Context, name string, up, gone bool) {
	if p := f.pending[name]; p != nil {
		if p.up == up && !gone {
			return // already on its way
		}
		p.timer.Stop()
		delete(f.pending, name)
		f.logger.Info("Delay timer for " + name + " cancelled")
	}
	if f.state[name] == up {
		return
	}
	delay := f.delays[name].Down
	if up {
		delay = f.delays[name].Up
	}
	if gone || delay <= 0 || !f.seenUp[name] {
		f.apply(name, up)
		return
	}
	f.hold(ctx, name, up, delay)
	f.logger.Info("delaying a link change", "interface", name, "up", up, "delay", delay)
}

// hold applies name's change to up after delay, unless another change comes first.
func (f *linkFollower) hold(ctx context.Context, name string, up bool, delay time.Duration) {
	f.gen++
	p := &pendingLink{name: name, up: up, gen: f.gen, at: time.Now().Add(delay)}
	p.timer = time.AfterFunc(delay, func() {
		select {
		case f.fired <- pendingLink{name: p.name, up: p.up, gen: p.gen}:
		case <-ctx.Done():
		}
	})
	f.pending[name] = p
}

func (f *linkFollower) apply(name string, up bool) {
	f.state[name] = up
	if up {
		f.seenUp[name] = true
	}
	f.tr.setLink(name, up)
}
