package vrrp

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// runner is the goroutine that owns a sync group's instances (or a single instance):
// their state machines, timers and transitions.
type runner struct {
	n       *Node
	group   *SyncGroupConfig // nil for an instance outside any group
	members []*instance
	tr      *tracker
	notif   *notifier
	h       *netlink.Handle
	rx      chan rxAdvert
	wake    chan struct{}
	epoch   time.Time

	groupState State // last state notified for the group
	// statesOnReload: fifo_write_vrrp_states_on_reload, for a runner a reload started.
	statesOnReload bool
	// ownThreads puts the runner's goroutines on threads of their own with the node's
	// scheduling settings (vrrp_priority, vrrp_rt_priority, vrrp_cpu_affinity).
	ownThreads bool

	// own asks the runner to look for its masters' addresses, routes and rules
	// (something may have deleted them).
	own chan struct{}
	// garp carries SendGARP's requests: names of members to announce.
	garp chan string
	// do carries the runtime changes of members (SetBasePriority, SetPreempt).
	do chan func()

	cancel  context.CancelFunc   // ends the readers
	stopc   chan map[string]bool // end's request: which members to hand over
	carried map[string]carry
	done    chan struct{}
	readers sync.WaitGroup
}

func newRunner(n *Node, g *SyncGroupConfig, members []*instance, tr *tracker, notif *notifier, h *netlink.Handle) *runner {
	return &runner{
		n: n, group: g, members: members, tr: tr, notif: notif, h: h,
		rx: make(chan rxAdvert, 64), done: make(chan struct{}), epoch: time.Now(),
		stopc: make(chan map[string]bool, 1), own: make(chan struct{}, 1), garp: make(chan string, 4),
		do: make(chan func()),
	}
}

// begin starts the runner; instances found in carried resume their state. Only end
// stops it, so that a node's shutdown and a reload go through the same path.
func (r *runner) begin(carried map[string]carry) {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wake = r.tr.subscribe()
	for _, i := range r.members {
		if i.absent != "" {
			continue // no socket
		}
		r.readers.Add(1)
		go func() {
			defer r.readers.Done()
			defer r.joinThreads()()
			i.readLoop(ctx, r.rx)
		}()
	}
	go func() {
		defer r.joinThreads()()
		r.loop(carried)
	}()
}

// joinThreads puts the calling goroutine on a thread of the node's VRRP thread group
// when the runner has settings to give it; the returned func leaves it.
func (r *runner) joinThreads() (leave func()) {
	if !r.ownThreads {
		return func() {}
	}
	return r.n.threads.Join()
}

// end stops the runner and returns the state of the members named in keep; the others
// are shut down. A nil keep shuts everything down.
func (r *runner) end(keep map[string]bool) map[string]carry {
	r.stopc <- keep
	<-r.done
	r.cancel()
	for _, i := range r.members {
		i.close()
	}
	r.readers.Wait()
	r.tr.unsubscribe(r.wake)
	return r.carried
}

func (r *runner) loop(carried map[string]carry) {
	defer close(r.done)
	r.retrack(true)
	for _, i := range r.members {
		if c, ok := carried[i.cfg.Name]; ok {
			r.resume(i, c)
			continue
		}
		r.step(i, Event{Kind: EventStart, Fault: i.faulted, Hold: time.Until(r.n.holdUntil)})
		if i.m.State != StateMaster {
			// keepalived's "removing VIPs" at start: a node that crashed while master
			// left them behind, and a backup must not answer for them.
			if err := i.plan.remove(r.h); err != nil {
				i.logger.Warn("removing leftover virtual addresses", "err", err)
			}
		}
	}
	if carried != nil && r.statesOnReload {
		r.writeStates()
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if next := r.nextDeadline(); !next.IsZero() {
			timer.Reset(time.Until(next) - timerSlack)
		} else {
			timer.Stop()
		}
		select {
		case keep := <-r.stopc:
			r.finish(keep)
			return
		case a := <-r.rx:
			r.receive(a)
		case <-r.wake:
			r.retrack(false)
		case <-r.own:
			r.checkOwn()
		case name := <-r.garp:
			r.announceOnRequest(name)
		case f := <-r.do:
			f()
		case <-timer.C:
			next := r.nextDeadline()
			now := waitPrecisely(next)
			if r.ownThreads {
				r.n.threads.Overdue(now.Sub(next))
			}
			r.fire(now)
		}
	}
}

// receive counts an advert and steps its instance. An AH advert whose sequence number
// is not above the instance's counter is a replay and dropped (keepalived's
// anti-replay); otherwise the counter takes its number.
func (r *runner) receive(a rxAdvert) {
	i := a.inst
	if i.ah != nil {
		if a.ahSeq <= i.ahSeq {
			i.countBad(packetErr(ReasonAuth, "AH sequence number", 8, "%d, already at %d (replayed or old)", a.ahSeq, i.ahSeq), a.info.Source)
			return
		}
		i.ahSeq = a.ahSeq
	}
	i.stats.advertsReceived.Add(1)
	if a.info.Priority == 0 {
		i.stats.priority0Received.Add(1)
	}
	r.step(i, Event{Kind: EventAdvert, Advert: a.info})
}

// timerSlack is how early the runner's Go timer fires before a deadline. The runtime
// wakes timers from its network poller with millisecond resolution, so they fire up to
// a millisecond late (0.6 ms median measured); the last stretch is slept with
// clock_nanosleep, which keeps the takeover and the advert cadence within about 0.1 ms
// of the RFC timers.
const timerSlack = time.Millisecond

// waitPrecisely sleeps until deadline when it is at most timerSlack away and returns
// the time after. It blocks the runner for under a millisecond, only in a system call.
func waitPrecisely(deadline time.Time) time.Time {
	if d := time.Until(deadline); d > 0 && d <= timerSlack {
		ts := unix.NsecToTimespec(int64(d))
		for unix.ClockNanosleep(unix.CLOCK_MONOTONIC, 0, &ts, &ts) == unix.EINTR {
		}
	}
	return time.Now()
}

// resume adopts a predecessor's state on reload: a master keeps its addresses (those
// still configured) and goes on advertising.
func (r *runner) resume(i *instance, c carry) {
	i.m = c.m
	now := time.Now()
	switch i.m.State {
	case StateMaster:
		i.holdDrops()
		i.install(r.h)
		if c.plan != nil {
			if err := c.plan.without(i.plan).remove(r.h); err != nil {
				i.logger.Error("removing addresses no longer configured", "err", err)
			}
		}
		// The firewall counts holders: what both configurations cover stays dropped.
		c.held.release(i)
		i.timerAt = now
		r.scheduleExtra(i, now)
	case StateBackup:
		i.timerAt = now.Add(MasterDownInterval(i.params, i.m.MasterAdverInterval))
	}
	if i.faulted && i.m.State != StateFault {
		r.step(i, Event{Kind: EventFault})
	} else if !i.faulted && i.m.State == StateFault {
		r.step(i, Event{Kind: EventFaultCleared, Hold: time.Until(r.n.holdUntil)})
	}
	i.publish(time.Time{})
}

// finish hands over or shuts down every member when the runner's context ends.
func (r *runner) finish(keep map[string]bool) {
	r.carried = map[string]carry{}
	for _, i := range r.members {
		if keep[i.cfg.Name] {
			r.carried[i.cfg.Name] = carry{m: i.m, plan: i.plan, held: i.held}
			i.held = nil
			continue
		}
		i.deleted = keep != nil
		i.retained = keep == nil && r.n.dontRelease
		r.step(i, Event{Kind: EventShutdown})
	}
}

func (r *runner) nextDeadline() time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, i := range r.members {
		consider(i.timerAt)
		if i.garpLeft > 0 {
			consider(i.garpNext)
		}
		consider(i.burstAt)
		consider(i.lowerAt)
		consider(i.refresh)
		consider(i.extraAt)
		consider(i.extraNext)
	}
	return next
}

// fire handles every deadline that has passed.
func (r *runner) fire(now time.Time) {
	for _, i := range r.members {
		if !i.timerAt.IsZero() && !now.Before(i.timerAt) {
			if i.m.State == StateBackup && now.Before(r.n.holdUntil) {
				i.timerAt = r.n.holdUntil // vrrp_startup_delay holds the takeover
				continue
			}
			i.timerAt = time.Time{}
			r.step(i, Event{Kind: EventTimer})
		}
		if i.m.State != StateMaster {
			continue
		}
		g := i.cfg.GARP
		if !i.burstAt.IsZero() && !now.Before(i.burstAt) {
			i.burstAt = time.Time{}
			r.startBurst(i, g.MasterRepeat, now)
		}
		if !i.lowerAt.IsZero() && !now.Before(i.lowerAt) {
			i.lowerAt = time.Time{}
			r.startBurst(i, g.LowerPrioRepeat, now)
		}
		if !i.refresh.IsZero() && !now.Before(i.refresh) {
			i.refresh = now.Add(g.MasterRefresh)
			r.startBurst(i, g.MasterRefreshRepeat, now)
		}
		if !i.extraAt.IsZero() && !now.Before(i.extraAt) {
			r.sendExtra(i, now)
			r.scheduleExtra(i, now)
		} else if len(i.extraQueue) > 0 && !now.Before(i.extraNext) {
			r.drainExtra(i, now)
		}
		r.sendGARPs(i, now)
	}
}

// sendGARPs sends the GARPs / NAs of the current burst that are due: a round (one
// per target) after another, back to back while their interfaces' schedules allow,
// else each packet when its schedule is free (vrrp_garp_interval, garp_group).
func (r *runner) sendGARPs(i *instance, now time.Time) {
	n := i.announce.targetCount()
	for i.garpLeft > 0 && !now.Before(i.garpNext) {
		if n == 0 {
			i.garpLeft = 0
			return
		}
		if at, ok := r.n.garp.take(i.announce.pacing(i.garpTarget), now); !ok {
			i.garpNext = at
			return
		}
		if err := i.announce.announceTarget(i.garpTarget); err != nil && !i.garpFailed {
			// Once per burst: a link that is down fails every packet of it.
			i.garpFailed = true
			i.logger.Warn("gratuitous ARP / NA", "err", err)
		}
		if i.garpTarget++; i.garpTarget == n {
			i.garpTarget = 0
			i.garpLeft--
		}
	}
}

// writeStates writes every member's state, and the group's, to the notify FIFO
// (fifo_write_vrrp_states_on_reload), so a reader that restarts with the reload knows
// where things stand.
func (r *runner) writeStates() {
	for _, i := range r.members {
		r.notif.enqueue(notifyJob{name: i.cfg.Name, state: i.m.State, priority: i.params.Priority, fifoOnly: true})
	}
	if r.group != nil {
		r.notif.enqueue(notifyJob{group: true, name: r.group.Name, state: r.members[0].m.State, fifoOnly: true})
	}
}

// scheduleExtra sets the next garp_extra_if refresh.
func (r *runner) scheduleExtra(i *instance, now time.Time) {
	if len(i.extra) > 0 {
		i.extraAt = now.Add(i.cfg.GARP.ExtraIfInterval)
	}
}

// sendExtra queues garp_extra_if's GARP / NA for each of its interfaces; they leave
// as their interfaces' schedules allow (vrrp_garp_interval, garp_group), as keepalived
// queues them.
func (r *runner) sendExtra(i *instance, now time.Time) {
	for _, k := range i.extra {
		if !slices.Contains(i.extraQueue, k) {
			i.extraQueue = append(i.extraQueue, k)
		}
	}
	r.drainExtra(i, now)
}

// drainExtra sends the queued garp_extra_if packets that their schedules allow now,
// and notes when the next one may go.
func (r *runner) drainExtra(i *instance, now time.Time) {
	for len(i.extraQueue) > 0 {
		k := i.extraQueue[0]
		if at, ok := r.n.garp.take(i.announce.pacing(k), now); !ok {
			i.extraNext = at
			return
		}
		if err := i.announce.announceTarget(k); err != nil {
			i.logger.Warn("gratuitous ARP / NA (garp_extra_if)", "err", err)
		}
		i.extraQueue = i.extraQueue[1:]
	}
	i.extraNext = time.Time{}
}

// announceOnRequest adds a round of GARPs / NAs for member name if it is master.
func (r *runner) announceOnRequest(name string) {
	for _, i := range r.members {
		if i.cfg.Name == name && i.m.State == StateMaster {
			i.logger.Info("sending gratuitous ARPs / NAs on request")
			r.startBurst(i, 1, time.Now())
		}
	}
}

// startBurst adds n rounds to the current burst, or starts one.
func (r *runner) startBurst(i *instance, n int, now time.Time) {
	if i.garpLeft == 0 {
		i.garpNext, i.garpTarget, i.garpFailed = now, 0, false
	}
	i.garpLeft += n
}

// retrack recomputes effective priorities and faults from the tracker. A sync group
// is faulted as a whole when any member is.
func (r *runner) retrack(initial bool) {
	groupFaults := []string(nil)
	for _, i := range r.members {
		prio, faults := r.tr.priority(i.base, i.items)
		if i.base == 255 && !initial {
			// keepalived's vrrp_set_effective_priority leaves an address owner's
			// priority alone: a base raised to 255 at run time keeps the one it had.
			prio = i.params.Priority
		}
		if i.absent != "" {
			faults = append(faults, i.absent)
		}
		if f := i.cfg.ConfigFault; f != "" {
			faults = append(faults, f)
		}
		if i.srcGone != "" {
			faults = append(faults, i.srcGone)
		}
		if prio != i.params.Priority && !initial {
			i.logger.Info("effective priority changed", "from", i.params.Priority, "to", prio)
			r.shiftDownTimer(i, prio)
			if i.cfg.NotifyPriorityChanges {
				r.notif.enqueue(notifyJob{name: i.cfg.Name, state: i.m.State, priority: prio, priorityChange: true})
			}
		}
		i.params.Priority = prio
		i.faults = faults
		for _, f := range faults {
			groupFaults = append(groupFaults, i.cfg.Name+": "+f)
		}
	}
	for _, i := range r.members {
		faulted := len(i.faults) > 0
		if r.group != nil && len(groupFaults) > 0 {
			faulted = true
			i.faults = groupFaults
		}
		was := i.faulted
		i.faulted = faulted
		if initial {
			continue
		}
		switch {
		case faulted && !was:
			i.logger.Warn("entering FAULT", "why", i.faults)
			r.step(i, Event{Kind: EventFault})
		case !faulted && was:
			r.step(i, Event{Kind: EventFaultCleared, Hold: time.Until(r.n.holdUntil)})
		default:
			i.publish(time.Time{})
		}
	}
}

// shiftDownTimer moves a backup's running down timer by the change of Skew_Time that
// the new effective priority brings, as keepalived does.
func (r *runner) shiftDownTimer(i *instance, prio uint8) {
	if i.m.State != StateBackup || i.timerAt.IsZero() {
		return
	}
	i.timerAt = i.timerAt.Add(DownTimerShift(i.params.Version, i.params.Priority, prio, i.m.MasterAdverInterval))
}

// step runs the state machine for one event and carries out its actions, then keeps
// the sync group together.
func (r *runner) step(i *instance, ev Event) {
	ev.Now = time.Since(r.epoch)
	r.nextMasterReason(i, ev)
	m, act := Step(i.m, i.params, ev)
	i.m = m
	now := time.Now()
	if act.DemoteOwner {
		i.logger.Error("another address owner (priority 255) advertises this virtual router: lowering our priority to 254 (configuration error)")
		i.base = OwnerConflictPriority
		i.params.Priority, _ = r.tr.priority(i.base, i.items)
	}
	if act.Send && !i.retained {
		i.sendAdvert(act.SendPriority)
	}
	if act.LowerPrioAdvert {
		// After an intermittent break the other node went master too; this lets a
		// script take back what its notify_master took (keepalived's rationale).
		r.notif.enqueue(notifyJob{name: i.cfg.Name, state: StateMaster, priority: i.params.Priority, cmds: i.cfg.Notify, rxLowerPri: true})
	}
	if act.LowerPrioAdvert && i.cfg.GARP.LowerPrioRepeat > 0 {
		r.startBurst(i, i.cfg.GARP.LowerPrioRepeat, now)
		r.sendGARPs(i, now)
		if d := i.cfg.GARP.LowerPrioDelay; d > 0 {
			i.lowerAt = now.Add(d)
		}
	}
	if act.StopTimer {
		i.timerAt = time.Time{}
	}
	if act.TimerSet {
		i.timerAt = now.Add(act.Timer)
	}
	if act.Changed {
		r.transition(i, act.From, act.To, now)
	}
	i.publish(time.Time{})
	if r.group == nil || len(r.members) < 2 {
		return
	}
	if act.WantMaster {
		for _, o := range r.members {
			if o.m.State != StateMaster && !o.m.WantMaster {
				return
			}
		}
		for _, o := range r.members {
			if o.m.State == StateBackup {
				r.step(o, Event{Kind: EventGroupMaster})
			}
		}
	}
	if act.Changed && act.From == StateMaster && act.To == StateBackup {
		// A member that resigned takes the others along the same way (keepalived's
		// set_vrrp_backup), so the group comes back together after Skew_Time.
		kind := EventGroupBackup
		if ev.Kind == EventResign {
			kind = EventResign
		}
		for _, o := range r.members {
			if o != i && o.m.State == StateMaster {
				r.step(o, Event{Kind: kind})
			}
		}
	}
}

// nextMasterReason keeps why the instance would become master now, as keepalived
// keeps it for RFC 6527: the address owner starting preempts; a backup that hears
// priority 0 takes over for that reason, one that hears a lower priority it may preempt
// preempts, and one that hears any other advert takes over only if that master stops.
// It also keeps the last advertiser's address (HeardMaster).
func (r *runner) nextMasterReason(i *instance, ev Event) {
	var reason uint32
	switch ev.Kind {
	case EventStart:
		reason = MasterReasonMasterNoResponse
		if i.params.Priority == 255 {
			reason = MasterReasonPreempted
		}
	case EventAdvert:
		i.heardMaster = ev.Advert.Source
		switch {
		case i.m.State == StateMaster:
			return
		case ev.Advert.Priority == 0:
			reason = MasterReasonPriority
		case ev.Advert.Priority < i.params.Priority && !i.params.Nopreempt:
			reason = MasterReasonPreempted
		default:
			reason = MasterReasonMasterNoResponse
		}
	default:
		return
	}
	i.stats.nextMasterReason.Store(reason)
}

// transition does what entering and leaving a state means outside the state machine.
func (r *runner) transition(i *instance, from, to State, now time.Time) {
	i.logger.Info("(" + i.cfg.Name + ") Entering " + to.String() + " STATE")
	i.stats.transitions.Add(1)
	if from == StateMaster {
		i.stats.releasedMaster.Add(1)
		i.garpLeft, i.burstAt, i.lowerAt, i.refresh, i.extraAt = 0, time.Time{}, time.Time{}, time.Time{}, time.Time{}
		i.extraQueue, i.extraNext = nil, time.Time{}
		if !i.retained {
			if err := i.plan.remove(r.h); err != nil {
				i.logger.Error("removing virtual addresses", "err", err)
			}
		}
		i.releaseDrops()
	}
	if to == StateMaster {
		i.stats.becameMaster.Add(1)
		i.stats.masterReason.Store(i.stats.nextMasterReason.Load())
		i.holdDrops()
		i.install(r.h)
		g := i.cfg.GARP
		r.startBurst(i, g.MasterRepeat, now)
		r.sendGARPs(i, now) // the first burst goes out at once
		if g.MasterDelay > 0 {
			i.burstAt = now.Add(g.MasterDelay)
		}
		if g.MasterRefresh > 0 {
			i.refresh = now.Add(g.MasterRefresh)
		}
		r.scheduleExtra(i, now)
	}
	i.publish(now)
	select {
	case r.n.events <- StateChange{Instance: i.cfg.Name, From: from, To: to, Priority: i.params.Priority, Time: now}:
	default:
		if r.n.dropped.Add(1)%100 == 1 {
			r.n.logger.Warn("Events() reader is behind, state changes dropped", "dropped", r.n.dropped.Load())
		}
	}
	if to != StateInit {
		state := to
		if to == StateStop && i.deleted {
			// Removed by a reload: keepalived announces DELETED when notify_deleted is
			// configured, FAULT otherwise.
			state = StateFault
			if i.cfg.Notify.AnnounceDeleted {
				state = StateDeleted
			}
		}
		r.notif.enqueue(notifyJob{name: i.cfg.Name, state: state, priority: i.params.Priority, cmds: i.cfg.Notify, smtp: i.cfg.SMTPAlert})
	}
	if r.group == nil {
		return
	}
	for _, o := range r.members {
		if o.m.State != to {
			return
		}
	}
	if r.groupState != to {
		r.groupState = to
		r.notif.enqueue(notifyJob{group: true, name: r.group.Name, state: to, cmds: r.group.Notify, smtp: r.group.SMTPAlert})
	}
}

// ownChanged asks the runner to check its masters' objects; it does not block.
func (r *runner) ownChanged() {
	select {
	case r.own <- struct{}{}:
	default: // a check is already asked for
	}
}

// checkOwn makes a master resign when something else deleted one of its tracked
// addresses, routes or rules, as keepalived does: a priority-0 advert, BACKUP, and
// MASTER again after Skew_Time (everything put back) unless another router takes
// over first. In a sync group the other masters resign with it. An instance whose
// source address (taken from its interface) is gone is in FAULT until the instances
// are built again on an address the interface has (keepalived: "Deassigned address").
func (r *runner) checkOwn() {
	var routes, rules bool
	for _, i := range r.members {
		if i.m.State == StateMaster {
			routes, rules = routes || len(i.plan.routes) > 0, rules || len(i.plan.rules) > 0
		}
	}
	ks, err := readKernelState(r.h, routes, rules)
	if err != nil {
		r.n.logger.Warn("checking the instances' addresses, routes and rules", "err", err)
		return
	}
	sourceChanged := false
	for _, i := range r.members {
		if i.srcIndex == 0 || i.absent != "" {
			continue
		}
		switch has := ks.hasIP(i.srcIndex, i.src); {
		case has && i.srcGone != "":
			i.srcGone, sourceChanged = "", true
			i.logger.Info("(" + i.cfg.Name + ") source address " + i.src.String() + " is back")
		case !has:
			if i.srcGone == "" {
				i.srcGone, sourceChanged = fmt.Sprintf("source address %v is no longer on %s", i.src, i.cfg.Interface), true
				i.logger.Warn("(" + i.cfg.Name + ") " + i.srcGone + ": FAULT until it is back or the interface has another")
			}
			// Another address to send from: the instances are built again on it. (A
			// link-local address that a link flap takes away comes back the same.)
			if slices.ContainsFunc(ks.ips[i.srcIndex], i.couldSendFrom) {
				r.n.rebuild()
			}
		}
	}
	if sourceChanged {
		r.retrack(false)
	}
	for _, i := range r.members {
		if i.m.State != StateMaster || i.retained {
			continue
		}
		var deleted []string
		for _, o := range i.plan.missing(ks) {
			if !i.unplaced[o.what] {
				deleted = append(deleted, o.what)
			}
		}
		if len(deleted) > 0 {
			i.logger.Warn("("+i.cfg.Name+") deleted by something else: leaving MASTER, back after Skew_Time unless another router takes over", "deleted", deleted)
			r.step(i, Event{Kind: EventResign})
		}
	}
}
