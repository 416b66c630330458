package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// State is a VRRP instance state: the RFC's Initialize, Backup and Master, keepalived's
// FAULT, and Stop once the instance has been shut down.
type State uint8

// Instance states.
const (
	StateInit State = iota
	StateBackup
	StateMaster
	StateFault
	StateStop
	// StateDeleted is never a machine's state: notifies use it for an instance a
	// reload removed (keepalived's DELETED).
	StateDeleted
)

// String is the state's name as keepalived logs and notifies it.
func (s State) String() string {
	switch s {
	case StateInit:
		return "INIT"
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	case StateFault:
		return "FAULT"
	case StateStop:
		return "STOP"
	case StateDeleted:
		return "DELETED"
	}
	return fmt.Sprintf("STATE(%d)", uint8(s))
}

// Params are what the state machine needs to know about its instance. They may change
// between steps (tracking changes the effective priority).
type Params struct {
	// Version is 2 or 3: it decides how Skew_Time is computed and whether a backup adopts
	// the master's advertised interval.
	Version uint8
	// Priority is the effective priority, 1..255 (255 = address owner).
	Priority uint8
	// AdvertInterval is the configured advertisement interval.
	AdvertInterval time.Duration
	// Nopreempt makes a backup accept any master, so it only takes over when the master
	// disappears. Ignored for the owner.
	Nopreempt bool
	// PreemptDelay lets a higher priority backup accept a lower priority master for this
	// long after it first sees it.
	PreemptDelay time.Duration
	// DownTimerAdverts is how many missed adverts make the master down (RFC: 3).
	DownTimerAdverts int
	// HigherPrioSendAdvert makes a master that hears a higher priority advert send
	// one of its own before it becomes backup (higher_prio_send_advert): that master,
	// hearing a lower priority, repeats its gratuitous ARPs (garp_lower_prio_repeat).
	HigherPrioSendAdvert bool
	// LowerPrioNoAdvert stops a master from answering a lower-priority advert with an
	// immediate advert of its own (keepalived answers by default, the RFC does not).
	LowerPrioNoAdvert bool
	// Address is this node's source address, compared with a master's on equal
	// priority.
	Address netip.Addr
	// Synced says the instance is in a sync group: instead of going MASTER on its own when
	// its down timer expires it reports WantMaster and waits for EventGroupMaster.
	Synced bool
}

// EventKind says what happened to an instance.
type EventKind uint8

// Events.
const (
	// EventStart starts an instance in INIT (Fault says whether it starts faulted).
	EventStart EventKind = iota
	// EventAdvert is a valid advert for the instance (Advert is filled in).
	EventAdvert
	// EventTimer is the expiry of the timer the last Actions armed.
	EventTimer
	// EventFault: a tracked object failed (or a sync group member is in FAULT).
	EventFault
	// EventFaultCleared: every fault is gone.
	EventFaultCleared
	// EventShutdown stops the instance for good (daemon stop or instance removed).
	EventShutdown
	// EventGroupMaster: every member of the sync group wants MASTER.
	EventGroupMaster
	// EventGroupBackup: another member of the sync group left MASTER for BACKUP.
	EventGroupBackup
	// EventResign: something else deleted one of the master's addresses, routes or
	// rules. It resigns (a priority-0 advert) and goes back to MASTER after Skew_Time
	// unless another router takes over first, which puts everything back, as
	// keepalived does.
	EventResign
)

var eventNames = [...]string{"start", "advert", "timer", "fault", "fault_cleared", "shutdown", "group_master", "group_backup", "resign"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event is one input to Step.
type Event struct {
	Kind EventKind
	// Now is a monotonic timestamp (any fixed origin); only preempt_delay reads it.
	Now time.Duration
	// Fault is EventStart's initial fault condition.
	Fault bool
	// Hold is what is left of vrrp_startup_delay at EventStart or EventFaultCleared: the
	// instance goes to BACKUP whatever its priority (the owner included), and its timer
	// runs at least this long.
	Hold time.Duration
	// Advert describes the advert of an EventAdvert.
	Advert AdvertInfo
}

// AdvertInfo is the part of a received advert the state machine acts on.
type AdvertInfo struct {
	Source   netip.Addr
	Priority uint8
	// Interval is the advertised interval (a VRRPv3 backup adopts it).
	Interval time.Duration
}

// Machine is the state of one instance's state machine. Its zero value is an instance
// in INIT.
type Machine struct {
	State State
	// MasterAdverInterval is the interval the master advertises (v3) or ours (v2).
	MasterAdverInterval time.Duration
	// Master is the address and priority of the current master as last heard; invalid
	// when unknown or when we are master.
	Master         netip.Addr
	MasterPriority uint8
	// PreemptDeadline is when a running preempt_delay ends (0: not running).
	PreemptDeadline time.Duration
	// WantMaster is set on a synced backup whose down timer expired.
	WantMaster bool
}

// Actions tell the I/O layer what to do after a step. It is a value, so a step never
// allocates.
type Actions struct {
	// Send an advert now, with SendPriority (the effective priority, or 0 on resigning).
	Send         bool
	SendPriority uint8
	// Timer, when TimerSet, (re)arms the instance's single timer to fire after Timer;
	// StopTimer disarms it.
	TimerSet  bool
	Timer     time.Duration
	StopTimer bool
	// From and To are set when the state changed: the I/O layer then adds or removes
	// addresses, sends gratuitous ARPs and runs notifies.
	Changed  bool
	From, To State
	// WantMaster reports that a synced instance is ready for MASTER.
	WantMaster bool
	// LowerPrioAdvert reports that this master heard a lower priority master: the I/O
	// layer refreshes the hosts' ARP caches (garp_lower_prio_repeat).
	LowerPrioAdvert bool
	// DemoteOwner reports that this address owner (priority 255) heard another owner:
	// as keepalived does, it lowers its own priority to 254 for good (a configuration
	// error it logs) and the step already compared with 254. The I/O layer must use 254
	// as the base priority from now on.
	DemoteOwner bool
}

// OwnerConflictPriority is what an address owner lowers itself to when it hears
// another owner of the same virtual router.
const OwnerConflictPriority = 254

// SkewTime is RFC 3768/5798's Skew_Time for a priority: (256 − priority)/256 s for v2,
// and that fraction of the master's advert interval for v3.
func SkewTime(version uint8, priority uint8, masterInterval time.Duration) time.Duration {
	if version == 2 {
		return time.Duration(256-int(priority)) * time.Second / 256
	}
	return time.Duration(256-int(priority)) * masterInterval / 256
}

// MasterDownInterval is DownTimerAdverts × the master's advert interval + Skew_Time.
func MasterDownInterval(p Params, masterInterval time.Duration) time.Duration {
	n := p.DownTimerAdverts
	if n <= 0 {
		n = 3
	}
	return time.Duration(n)*masterInterval + SkewTime(p.Version, p.Priority, masterInterval)
}

// Step applies one event to the machine and returns its new state and what the I/O
// layer must do. It is a pure function: no clock, no I/O.
func Step(m Machine, p Params, ev Event) (Machine, Actions) {
	var act Actions
	from := m.State
	if m.MasterAdverInterval == 0 || p.Version == 2 {
		m.MasterAdverInterval = p.AdvertInterval
	}
	switch ev.Kind {
	case EventStart:
		if m.State != StateInit {
			break
		}
		switch {
		case ev.Fault:
			m.State = StateFault
		case p.Priority == 255 && ev.Hold <= 0:
			m = becomeMaster(m, p, &act)
		default:
			m = becomeBackup(m, p, &act)
			act.Timer = max(act.Timer, ev.Hold)
		}
	case EventShutdown:
		if m.State == StateMaster {
			act.Send, act.SendPriority = true, 0
		}
		m.State, act.StopTimer = StateStop, true
		m.WantMaster = false
	case EventFault:
		if m.State == StateStop || m.State == StateFault {
			break
		}
		if m.State == StateMaster {
			act.Send, act.SendPriority = true, 0
		}
		m.State, act.StopTimer = StateFault, true
		m.Master, m.MasterPriority, m.WantMaster = netip.Addr{}, 0, false
		m.MasterAdverInterval = p.AdvertInterval
	case EventFaultCleared:
		if m.State != StateFault {
			break
		}
		if p.Priority == 255 && ev.Hold <= 0 {
			m = becomeMaster(m, p, &act)
		} else {
			m = becomeBackup(m, p, &act)
			act.Timer = max(act.Timer, ev.Hold)
		}
	case EventTimer:
		switch m.State {
		case StateMaster:
			act.Send, act.SendPriority = true, p.Priority
			act.TimerSet, act.Timer = true, p.AdvertInterval
		case StateBackup:
			if p.Synced {
				m.WantMaster, act.WantMaster = true, true
				act.TimerSet, act.Timer = true, MasterDownInterval(p, m.MasterAdverInterval)
			} else {
				m = becomeMaster(m, p, &act)
			}
		}
	case EventGroupMaster:
		if m.State == StateBackup {
			m = becomeMaster(m, p, &act)
		}
	case EventGroupBackup:
		if m.State == StateMaster {
			m = becomeBackup(m, p, &act)
		}
	case EventResign:
		if m.State == StateMaster {
			m = becomeBackup(m, p, &act)
			m.Master, m.MasterPriority = netip.Addr{}, 0
			act.Send, act.SendPriority = true, 0
			act.Timer = SkewTime(p.Version, p.Priority, m.MasterAdverInterval)
		}
	case EventAdvert:
		switch m.State {
		case StateBackup:
			m = backupAdvert(m, p, ev, &act)
		case StateMaster:
			m = masterAdvert(m, p, ev, &act)
		}
	}
	if m.State != from {
		act.Changed, act.From, act.To = true, from, m.State
	}
	return m, act
}

// backupAdvert is RFC 5798 §6.4.2 with keepalived's preempt_delay and nopreempt.
func backupAdvert(m Machine, p Params, ev Event, act *Actions) Machine {
	adv := ev.Advert
	if adv.Priority == 0 {
		// The master resigned: take over after Skew_Time, not Master_Down_Interval.
		m.Master, m.MasterPriority = netip.Addr{}, 0
		act.TimerSet, act.Timer = true, SkewTime(p.Version, p.Priority, m.MasterAdverInterval)
		return m
	}
	preemptHeld := p.PreemptDelay > 0 && (m.PreemptDeadline == 0 || ev.Now < m.PreemptDeadline)
	if p.Nopreempt && p.Priority != 255 || adv.Priority >= p.Priority || preemptHeld {
		if p.Version == 3 && adv.Interval > 0 {
			m.MasterAdverInterval = adv.Interval
		}
		m.Master, m.MasterPriority, m.WantMaster = adv.Source, adv.Priority, false
		if p.PreemptDelay > 0 {
			if adv.Priority > p.Priority {
				m.PreemptDeadline = 0
			} else if m.PreemptDeadline == 0 {
				m.PreemptDeadline = ev.Now + p.PreemptDelay
			}
		}
		act.TimerSet, act.Timer = true, MasterDownInterval(p, m.MasterAdverInterval)
	}
	// A lower priority master with preemption allowed is ignored: our down timer runs
	// out and we take over.
	return m
}

// masterAdvert is RFC 5798 §6.4.3 with keepalived's immediate answer to a lower
// priority master.
func masterAdvert(m Machine, p Params, ev Event, act *Actions) Machine {
	adv := ev.Advert
	if adv.Priority == 255 && p.Priority == 255 {
		// Two owners: keepalived lowers its own priority to 254 and goes on as usual,
		// which hands the virtual router to the other owner.
		act.DemoteOwner = true
		p.Priority = OwnerConflictPriority
	}
	switch {
	case adv.Priority == 0:
		act.Send, act.SendPriority = true, p.Priority
		act.TimerSet, act.Timer = true, p.AdvertInterval
	case adv.Priority > p.Priority || adv.Priority == p.Priority && adv.Source.Compare(p.Address) > 0:
		if p.Version == 3 && adv.Interval > 0 {
			m.MasterAdverInterval = adv.Interval
		}
		m = becomeBackup(m, p, act)
		if p.HigherPrioSendAdvert {
			act.Send, act.SendPriority = true, p.Priority
		}
		m.Master, m.MasterPriority = adv.Source, adv.Priority
	default:
		if !p.LowerPrioNoAdvert {
			act.Send, act.SendPriority = true, p.Priority
		}
		act.LowerPrioAdvert = true
	}
	return m
}

// DownTimerShift is how much a running backup timer moves when the effective priority
// changes from old to new: keepalived adjusts a running down timer by the change of
// Skew_Time, so a backup whose priority rises takes over sooner and one whose priority
// falls later, without waiting for the next advert.
func DownTimerShift(version uint8, oldPrio, newPrio uint8, masterInterval time.Duration) time.Duration {
	return SkewTime(version, newPrio, masterInterval) - SkewTime(version, oldPrio, masterInterval)
}

func becomeMaster(m Machine, p Params, act *Actions) Machine {
	m.State, m.WantMaster = StateMaster, false
	m.Master, m.MasterPriority, m.PreemptDeadline = netip.Addr{}, 0, 0
	m.MasterAdverInterval = p.AdvertInterval
	act.Send, act.SendPriority = true, p.Priority
	act.TimerSet, act.Timer = true, p.AdvertInterval
	return m
}

func becomeBackup(m Machine, p Params, act *Actions) Machine {
	m.State, m.WantMaster = StateBackup, false
	act.Send = false
	act.TimerSet, act.Timer = true, MasterDownInterval(p, m.MasterAdverInterval)
	return m
}
