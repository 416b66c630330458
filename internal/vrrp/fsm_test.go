package vrrp

import (
	"net/netip"
	"testing"
	"time"

	"pgregory.net/rapid"
)

var (
	addrLow  = netip.MustParseAddr("10.0.0.1")
	addrMine = netip.MustParseAddr("10.0.0.2")
	addrHigh = netip.MustParseAddr("10.0.0.3")
)

func params(version, prio uint8, interval time.Duration) Params {
	return Params{Version: version, Priority: prio, AdvertInterval: interval, DownTimerAdverts: 3, Address: addrMine}
}

func advert(src netip.Addr, prio uint8, interval time.Duration) Event {
	return Event{Kind: EventAdvert, Advert: AdvertInfo{Source: src, Priority: prio, Interval: interval}}
}

func TestTimers(t *testing.T) {
	for _, tc := range []struct {
		name           string
		version, prio  uint8
		interval       time.Duration
		skew, downTime time.Duration
	}{
		// Measured on keepalived 2.2.7: prio 100 → master after 3.61 s, 150 → 3.41 s.
		{"v2 prio 100", 2, 100, time.Second, 609375 * time.Microsecond, 3609375 * time.Microsecond},
		{"v2 prio 150", 2, 150, time.Second, 414062500, 3414062500},
		{"v2 skew ignores the interval", 2, 100, 3 * time.Second, 609375 * time.Microsecond, 9609375 * time.Microsecond},
		{"v3 prio 100 at 0.1 s", 3, 100, 100 * time.Millisecond, 60937500, 360937500},
		{"v3 prio 254 at 1 s", 3, 254, time.Second, 7812500, 3007812500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := params(tc.version, tc.prio, tc.interval)
			if got := SkewTime(tc.version, tc.prio, tc.interval); got != tc.skew {
				t.Errorf("SkewTime = %v, want %v", got, tc.skew)
			}
			if got := MasterDownInterval(p, tc.interval); got != tc.downTime {
				t.Errorf("MasterDownInterval = %v, want %v", got, tc.downTime)
			}
		})
	}
}

// step is one event and what must follow it.
type step struct {
	ev        Event
	p         *Params // nil: the test's params
	state     State
	send      bool
	sendPrio  uint8
	timer     time.Duration // 0: not armed by this step
	stopTimer bool
	want      bool // WantMaster reported
	demote    bool // DemoteOwner reported
}

func TestStep(t *testing.T) {
	v2 := params(2, 100, time.Second)
	v3 := params(3, 100, time.Second)
	owner := params(2, 255, time.Second)
	nopre := v2
	nopre.Nopreempt = true
	delayed := params(2, 150, time.Second)
	delayed.PreemptDelay = 10 * time.Second
	synced := v2
	synced.Synced = true
	lowNoAdv := v2
	lowNoAdv.LowerPrioNoAdvert = true
	down2 := MasterDownInterval(v2, time.Second)
	skew2 := SkewTime(2, 100, time.Second)

	for _, tc := range []struct {
		name  string
		p     Params
		steps []step
	}{
		{"starts backup, becomes master on timeout", v2, []step{
			{ev: Event{Kind: EventStart}, state: StateBackup, timer: down2},
			{ev: Event{Kind: EventTimer}, state: StateMaster, send: true, sendPrio: 100, timer: time.Second},
			{ev: Event{Kind: EventTimer}, state: StateMaster, send: true, sendPrio: 100, timer: time.Second},
		}},
		{"owner starts master at once", owner, []step{
			{ev: Event{Kind: EventStart}, state: StateMaster, send: true, sendPrio: 255, timer: time.Second},
		}},
		{"starts faulted", v2, []step{
			{ev: Event{Kind: EventStart, Fault: true}, state: StateFault},
			{ev: Event{Kind: EventTimer}, state: StateFault},
			{ev: advert(addrHigh, 200, time.Second), state: StateFault},
			{ev: Event{Kind: EventFaultCleared}, state: StateBackup, timer: down2},
		}},
		{"backup accepts higher and equal priority, ignores lower", v2, []step{
			{ev: Event{Kind: EventStart}, state: StateBackup, timer: down2},
			{ev: advert(addrHigh, 200, time.Second), state: StateBackup, timer: down2},
			{ev: advert(addrLow, 100, time.Second), state: StateBackup, timer: down2},
			{ev: advert(addrLow, 99, time.Second), state: StateBackup},
			{ev: Event{Kind: EventTimer}, state: StateMaster, send: true, sendPrio: 100, timer: time.Second},
		}},
		{"priority 0 means takeover after skew time", v2, []step{
			{ev: Event{Kind: EventStart}, state: StateBackup, timer: down2},
			{ev: advert(addrHigh, 200, time.Second), state: StateBackup, timer: down2},
			{ev: advert(addrHigh, 0, time.Second), state: StateBackup, timer: skew2},
			{ev: Event{Kind: EventTimer}, state: StateMaster, send: true, sendPrio: 100, timer: time.Second},
		}},
		{"v3 backup adopts the master's interval", v3, []step{
			{ev: Event{Kind: EventStart}, state: StateBackup, timer: MasterDownInterval(v3, time.Second)},
			{ev: advert(addrHigh, 200, 200*time.Millisecond), state: StateBackup, timer: 3*200*time.Millisecond + SkewTime(3, 100, 200*time.Millisecond)},
			{ev: advert(addrHigh, 0, 200*time.Millisecond), state: StateBackup, timer: SkewTime(3, 100, 200*time.Millisecond)},
		}},
		{"a master whose address was deleted resigns, and is back after skew time", v2, []step{
			{ev: Event{Kind: EventStart}, state: StateBackup, timer: down2},
			{ev: Event{Kind: EventTimer}, state: StateMaster, send: true, sendPrio: 100, timer: time.Second},
			{ev: Event{Kind: EventResign}, state: StateBackup, send: true, sendPrio: 0, timer: skew2},
			{ev: Event{Kind: EventResign}, state: StateBackup},
			{ev: Event{Kind: EventTimer}, state: StateMaster, send: true, sendPrio: 100, timer: time.Second},
		}},
		{"master yields to higher priority without a priority-0 advert", v2, []step{
			{ev: Event{Kind: EventStart}, state: StateBackup, timer: down2},
			{ev: Event{Kind: EventTimer}, state: StateMaster, send: true, sendPrio: 100, timer: time.Second},
			{ev: advert(addrLow, 101, time.Second), state: StateBackup, timer: down2},
		}},
		{"equal priority tie-break on the higher address", v2, []step{
			{ev: Event{Kind: EventStart}, state: StateBackup, timer: down2},
			{ev: Event{Kind: EventTimer}, state: StateMaster, send: true, sendPrio: 100, timer: time.Second},
			{ev: advert(addrLow, 100, time.Second), state: StateMaster, send: true, sendPrio: 100},
			{ev: advert(addrHigh, 100, time.Second), state: StateBackup, timer: down2},
		}},
		{"master answers lower priority at once, and priority 0 too", v2, []step{
			{ev: Event{Kind: EventStart}, state: StateBackup, timer: down2},
			{ev: Event{Kind: EventTimer}, state: StateMaster, send: true, sendPrio: 100, timer: time.Second},
			{ev: advert(addrHigh, 50, time.Second), state: StateMaster, send: true, sendPrio: 100},
			{ev: advert(addrHigh, 0, time.Second), state: StateMaster, send: true, sendPrio: 100, timer: time.Second},
		}},
		{"lower_prio_no_advert keeps quiet", lowNoAdv, []step{
			{ev: Event{Kind: EventStart}, state: StateBackup, timer: down2},
			{ev: Event{Kind: EventTimer}, state: StateMaster, send: true, sendPrio: 100, timer: time.Second},
			{ev: advert(addrHigh, 50, time.Second), state: StateMaster},
		}},
		{"nopreempt backup accepts a lower master", nopre, []step{
			{ev: Event{Kind: EventStart}, state: StateBackup, timer: down2},
			{ev: advert(addrLow, 50, time.Second), state: StateBackup, timer: down2},
			{ev: advert(addrLow, 50, time.Second), state: StateBackup, timer: down2},
			{ev: advert(addrLow, 0, time.Second), state: StateBackup, timer: skew2},
			{ev: Event{Kind: EventTimer}, state: StateMaster, send: true, sendPrio: 100, timer: time.Second},
		}},
		{"preempt_delay holds a lower master for its delay", delayed, []step{
			{ev: Event{Kind: EventStart}, state: StateBackup, timer: MasterDownInterval(delayed, time.Second)},
			{ev: Event{Kind: EventAdvert, Now: 1 * time.Second, Advert: AdvertInfo{addrLow, 100, time.Second}}, state: StateBackup, timer: MasterDownInterval(delayed, time.Second)},
			{ev: Event{Kind: EventAdvert, Now: 10 * time.Second, Advert: AdvertInfo{addrLow, 100, time.Second}}, state: StateBackup, timer: MasterDownInterval(delayed, time.Second)},
			{ev: Event{Kind: EventAdvert, Now: 11 * time.Second, Advert: AdvertInfo{addrLow, 100, time.Second}}, state: StateBackup},
			{ev: Event{Kind: EventTimer, Now: 14 * time.Second}, state: StateMaster, send: true, sendPrio: 150, timer: time.Second},
		}},
		{"fault from master resigns with priority 0", v2, []step{
			{ev: Event{Kind: EventStart}, state: StateBackup, timer: down2},
			{ev: Event{Kind: EventTimer}, state: StateMaster, send: true, sendPrio: 100, timer: time.Second},
			{ev: Event{Kind: EventFault}, state: StateFault, send: true, sendPrio: 0, stopTimer: true},
			{ev: Event{Kind: EventFault}, state: StateFault},
			{ev: Event{Kind: EventFaultCleared}, state: StateBackup, timer: down2},
		}},
		{"shutdown of a master sends priority 0 and stops", v2, []step{
			{ev: Event{Kind: EventStart}, state: StateBackup, timer: down2},
			{ev: Event{Kind: EventTimer}, state: StateMaster, send: true, sendPrio: 100, timer: time.Second},
			{ev: Event{Kind: EventShutdown}, state: StateStop, send: true, sendPrio: 0, stopTimer: true},
			{ev: Event{Kind: EventTimer}, state: StateStop},
			{ev: Event{Kind: EventFaultCleared}, state: StateStop},
		}},
		{"shutdown of a backup is silent", v2, []step{
			{ev: Event{Kind: EventStart}, state: StateBackup, timer: down2},
			{ev: Event{Kind: EventShutdown}, state: StateStop, stopTimer: true},
		}},
		{"synced backup waits for its group", synced, []step{
			{ev: Event{Kind: EventStart}, state: StateBackup, timer: down2},
			{ev: Event{Kind: EventTimer}, state: StateBackup, timer: down2, want: true},
			{ev: Event{Kind: EventGroupMaster}, state: StateMaster, send: true, sendPrio: 100, timer: time.Second},
			{ev: Event{Kind: EventGroupBackup}, state: StateBackup, timer: down2},
		}},
		{"startup delay holds the owner in BACKUP", owner, []step{
			{ev: Event{Kind: EventStart, Hold: 5 * time.Second}, state: StateBackup, timer: 5 * time.Second},
			{ev: Event{Kind: EventTimer}, state: StateMaster, send: true, sendPrio: 255, timer: time.Second},
		}},
		{"an owner whose fault clears during the startup delay still waits", owner, []step{
			{ev: Event{Kind: EventStart, Fault: true, Hold: 5 * time.Second}, state: StateFault},
			{ev: Event{Kind: EventFaultCleared, Hold: 4 * time.Second}, state: StateBackup, timer: 4 * time.Second},
			{ev: Event{Kind: EventTimer}, state: StateMaster, send: true, sendPrio: 255, timer: time.Second},
		}},
		{"startup delay longer than the down timer", v2, []step{
			{ev: Event{Kind: EventStart, Hold: 10 * time.Second}, state: StateBackup, timer: 10 * time.Second},
		}},
		{"startup delay shorter than the down timer", v2, []step{
			{ev: Event{Kind: EventStart, Hold: time.Second}, state: StateBackup, timer: down2},
		}},
		{"two owners: the one that hears the other lowers itself to 254 and yields", owner, []step{
			{ev: Event{Kind: EventStart}, state: StateMaster, send: true, sendPrio: 255, timer: time.Second},
			{ev: advert(addrLow, 255, time.Second), state: StateBackup, demote: true,
				timer: MasterDownInterval(params(2, OwnerConflictPriority, time.Second), time.Second)},
		}},
		{"tracking lowers the priority a master advertises", v2, []step{
			{ev: Event{Kind: EventStart}, state: StateBackup, timer: down2},
			{ev: Event{Kind: EventTimer}, state: StateMaster, send: true, sendPrio: 100, timer: time.Second},
			{ev: Event{Kind: EventTimer}, p: &Params{Version: 2, Priority: 60, AdvertInterval: time.Second, Address: addrMine}, state: StateMaster, send: true, sendPrio: 60, timer: time.Second},
			{ev: advert(addrLow, 90, time.Second), p: &Params{Version: 2, Priority: 60, AdvertInterval: time.Second, Address: addrMine}, state: StateBackup, timer: 3*time.Second + SkewTime(2, 60, time.Second)},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Machine
			for i, s := range tc.steps {
				p := tc.p
				if s.p != nil {
					p = *s.p
				}
				prev := m.State
				var act Actions
				m, act = Step(m, p, s.ev)
				if m.State != s.state {
					t.Fatalf("step %d (%v): state %v, want %v", i, s.ev.Kind, m.State, s.state)
				}
				if act.Changed != (prev != m.State) || act.Changed && (act.From != prev || act.To != m.State) {
					t.Errorf("step %d: transition %+v for %v→%v", i, act, prev, m.State)
				}
				if act.Send != s.send || act.Send && act.SendPriority != s.sendPrio {
					t.Errorf("step %d (%v): send=%v prio %d, want send=%v prio %d", i, s.ev.Kind, act.Send, act.SendPriority, s.send, s.sendPrio)
				}
				if got := map[bool]time.Duration{true: act.Timer}[act.TimerSet]; got != s.timer {
					t.Errorf("step %d (%v): timer %v, want %v", i, s.ev.Kind, got, s.timer)
				}
				if act.StopTimer != s.stopTimer || act.WantMaster != s.want || act.DemoteOwner != s.demote {
					t.Errorf("step %d (%v): stop=%v want=%v demote=%v", i, s.ev.Kind, act.StopTimer, act.WantMaster, act.DemoteOwner)
				}
			}
		})
	}
}

func TestDownTimerShift(t *testing.T) {
	for _, tc := range []struct {
		name           string
		version        uint8
		from, to       uint8
		interval, want time.Duration
	}{
		{"v2 priority up 100→150 brings the takeover 195 ms closer", 2, 100, 150, time.Second, -195312500},
		{"v2 priority down 150→100", 2, 150, 100, time.Second, 195312500},
		{"v3 scales with the master's interval", 3, 100, 150, 100 * time.Millisecond, -19531250},
		{"no change", 3, 90, 90, time.Second, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DownTimerShift(tc.version, tc.from, tc.to, tc.interval); got != tc.want {
				t.Errorf("DownTimerShift = %v, want %v", got, tc.want)
			}
			// After the shift the remaining time is what the new priority's timer gives.
			p := params(tc.version, tc.from, tc.interval)
			q := params(tc.version, tc.to, tc.interval)
			if MasterDownInterval(p, tc.interval)+DownTimerShift(tc.version, tc.from, tc.to, tc.interval) != MasterDownInterval(q, tc.interval) {
				t.Errorf("shifted down timer differs from the new priority's")
			}
		})
	}
}

// TestStepProperties checks invariants over random event sequences.
func TestStepProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := Params{
			Version:          uint8(rapid.IntRange(2, 3).Draw(t, "version")),
			Priority:         uint8(rapid.IntRange(1, 255).Draw(t, "prio")),
			AdvertInterval:   time.Duration(rapid.IntRange(1, 255).Draw(t, "interval")) * 10 * time.Millisecond,
			Nopreempt:        rapid.Bool().Draw(t, "nopreempt"),
			PreemptDelay:     time.Duration(rapid.IntRange(0, 5).Draw(t, "delay")) * time.Second,
			DownTimerAdverts: 3,
			Synced:           rapid.Bool().Draw(t, "synced"),
			Address:          addrMine,
		}
		var m Machine
		now := time.Duration(0)
		for i := range rapid.IntRange(1, 40).Draw(t, "n") {
			ev := Event{Kind: EventKind(rapid.IntRange(0, int(EventGroupBackup)).Draw(t, "kind")), Now: now}
			if ev.Kind == EventAdvert {
				ev.Advert = AdvertInfo{
					Source:   rapid.SampledFrom([]netip.Addr{addrLow, addrHigh}).Draw(t, "src"),
					Priority: uint8(rapid.IntRange(0, 255).Draw(t, "aprio")),
					Interval: time.Duration(rapid.IntRange(1, 4095).Draw(t, "aint")) * 10 * time.Millisecond,
				}
			}
			ev.Fault = rapid.Bool().Draw(t, "fault")
			now += time.Duration(rapid.IntRange(0, 3000).Draw(t, "dt")) * time.Millisecond
			prev := m
			var act Actions
			m, act = Step(m, p, ev)
			if prev.State == StateStop && m.State != StateStop {
				t.Fatalf("step %d: left STOP for %v", i, m.State)
			}
			if prev.State == StateFault && m.State != StateFault && ev.Kind != EventFaultCleared && ev.Kind != EventShutdown {
				t.Fatalf("step %d: left FAULT on %v", i, ev.Kind)
			}
			if act.TimerSet && act.Timer <= 0 {
				t.Fatalf("step %d: timer armed for %v", i, act.Timer)
			}
			if act.Send && act.SendPriority == 0 && prev.State != StateMaster {
				t.Fatalf("step %d: priority-0 advert from %v", i, prev.State)
			}
			if act.Changed && act.To == StateMaster && (!act.Send || act.SendPriority != p.Priority || act.Timer != p.AdvertInterval) {
				t.Fatalf("step %d: became master without advertising: %+v", i, act)
			}
			if m.State == StateMaster && ev.Kind == EventTimer && !act.Send {
				t.Fatalf("step %d: master timer without an advert", i)
			}
		}
	})
}

// TestLowerPriorityAdvertRefreshesARP: a master that hears a lower priority master (a
// backup that briefly took over and sent its own GARPs) asks for a GARP burst, as
// keepalived's garp_lower_prio_repeat; nothing else does.
func TestLowerPriorityAdvertRefreshesARP(t *testing.T) {
	p := params(2, 100, time.Second)
	m, _ := Step(Machine{}, p, Event{Kind: EventStart})
	m, _ = Step(m, p, Event{Kind: EventTimer})
	for _, tc := range []struct {
		prio uint8
		src  netip.Addr
		want bool
	}{
		{50, addrHigh, true},
		{100, addrLow, true}, // equal priority, lower address: still ours
		{0, addrHigh, false}, // a resigning master
	} {
		next, act := Step(m, p, advert(tc.src, tc.prio, time.Second))
		if act.LowerPrioAdvert != tc.want || next.State != StateMaster {
			t.Errorf("advert prio %d from %v: LowerPrioAdvert %v state %v, want %v MASTER", tc.prio, tc.src, act.LowerPrioAdvert, next.State, tc.want)
		}
	}
	if _, act := Step(m, p, advert(addrHigh, 200, time.Second)); act.LowerPrioAdvert {
		t.Error("a higher priority advert asked for a GARP burst")
	}
}

// TestHigherPrioSendAdvert: with higher_prio_send_advert, a master that hears a higher
// priority advert sends one of its own (at its own priority) as it becomes backup;
// without it, it goes quietly.
func TestHigherPrioSendAdvert(t *testing.T) {
	for _, on := range []bool{false, true} {
		p := params(2, 100, time.Second)
		p.HigherPrioSendAdvert = on
		m, _ := Step(Machine{}, p, Event{Kind: EventStart})
		m, _ = Step(m, p, Event{Kind: EventTimer})
		next, act := Step(m, p, advert(addrHigh, 200, time.Second))
		if next.State != StateBackup {
			t.Fatalf("state %v, want BACKUP", next.State)
		}
		if act.Send != on || on && act.SendPriority != 100 {
			t.Errorf("higher_prio_send_advert %v: send %v priority %d", on, act.Send, act.SendPriority)
		}
	}
}
