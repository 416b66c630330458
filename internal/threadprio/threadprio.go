// Package threadprio gives the OS threads of one part of govs (VRRP, BFD) the
// scheduling keepalived gives that part's process: {vrrp,bfd}_priority (nice),
// _rt_priority (SCHED_RR) and _cpu_affinity. govs is one process, so the settings go
// to the threads its goroutines are locked to, not to the whole process.
package threadprio

import (
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Settings are one part's scheduling. The zero value leaves a thread as it is.
type Settings struct {
	// Nice is the nice value, -20..19 (*_priority); unused with RealTime, as keepalived.
	Nice int
	// RealTime is the SCHED_RR priority, 1..99 (*_rt_priority); 0: the normal policy.
	RealTime int
	// CPUs the threads may run on (*_cpu_affinity); none: every CPU.
	CPUs []int
	// AutoRealTime is max_auto_priority: each time a thread of the group finds a timer
	// overdue by more than AutoDelay (min_auto_priority_delay), the group's SCHED_RR
	// priority goes up one step (from none to 1), up to AutoRealTime; 0: never.
	AutoRealTime int
	AutoDelay    time.Duration
}

// IsZero reports whether s changes nothing.
func (s Settings) IsZero() bool {
	return s.Nice == 0 && s.RealTime == 0 && len(s.CPUs) == 0 && s.AutoRealTime == 0
}

func (s Settings) equal(o Settings) bool {
	return s.Nice == o.Nice && s.RealTime == o.RealTime && slices.Equal(s.CPUs, o.CPUs) &&
		s.AutoRealTime == o.AutoRealTime && s.AutoDelay == o.AutoDelay
}

// Group is the threads of one part and the settings they share.
type Group struct {
	name   string
	logger *slog.Logger

	mu       sync.Mutex
	settings Settings
	// raised is the SCHED_RR priority Overdue reached; it lasts until AutoRealTime is
	// turned off, as keepalived keeps a raised priority.
	raised int
	tids   map[int]bool
	warned map[string]bool
}

// NewGroup makes the group of a part named name ("vrrp", "bfd") in log lines.
func NewGroup(name string, s Settings, logger *slog.Logger) *Group {
	return &Group{name: name, logger: logger, settings: s, tids: map[int]bool{}, warned: map[string]bool{}}
}

// Join locks the calling goroutine to its thread and gives the thread the group's
// settings. The goroutine calls leave as it ends (deferred): the thread leaves the
// group and, still locked, exits with the goroutine instead of going back to the
// runtime's pool with settings other goroutines must not get. The program's main
// goroutine must keep the main thread (runtime.LockOSThread in an init function): the
// runtime parks, rather than ends, a main thread whose locked goroutine ends.
func (g *Group) Join() (leave func()) {
	runtime.LockOSThread()
	tid := unix.Gettid()
	g.mu.Lock()
	g.tids[tid] = true
	g.apply(tid, Settings{}, g.effective())
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		delete(g.tids, tid)
		g.mu.Unlock()
	}
}

// Set gives the group's threads, present and future, s.
func (g *Group) Set(s Settings) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s.equal(g.settings) {
		return
	}
	old := g.effective()
	g.settings = s
	g.moveAll(old, g.effective())
}

// Overdue is told by a thread of the group that a timer fired late, after it should
// have: beyond AutoDelay the group's real-time priority is raised one step, with
// keepalived's log lines.
func (g *Group) Overdue(late time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.settings
	if s.AutoRealTime == 0 || late <= s.AutoDelay {
		return
	}
	g.logger.Info(fmt.Sprintf("A thread timer expired %.6f seconds ago", late.Seconds()), "threads", g.name)
	old := g.effective()
	if old.RealTime >= s.AutoRealTime {
		return
	}
	g.raised = old.RealTime + 1
	g.moveAll(old, g.effective())
	g.logger.Info(fmt.Sprintf("Set realtime priority %d", g.raised), "threads", g.name)
}

// effective is what the threads get: the settings, with a raised priority where it
// is above theirs. g.mu is held.
func (g *Group) effective() Settings {
	s := g.settings
	if r := min(g.raised, s.AutoRealTime); r > s.RealTime {
		s.RealTime = r
	}
	return s
}

// moveAll moves every thread from old to s. g.mu is held.
func (g *Group) moveAll(old, s Settings) {
	for tid := range g.tids {
		g.apply(tid, old, s)
	}
}

// apply moves thread tid from settings old to s; what fails is logged once per
// cause, as keepalived logs and runs on. g.mu is held.
func (g *Group) apply(tid int, old, s Settings) {
	if s.RealTime > 0 || old.RealTime > 0 {
		attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL, Nice: int32(s.Nice)}
		if s.RealTime > 0 {
			attr = unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Priority: uint32(s.RealTime)}
		}
		if err := unix.SchedSetAttr(tid, &attr, 0); err != nil {
			g.warn(fmt.Sprintf("setting %s_rt_priority %d", g.name, s.RealTime), err)
		}
	} else if s.Nice != 0 || old.Nice != 0 {
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, s.Nice); err != nil {
			g.warn(fmt.Sprintf("setting %s_priority %d", g.name, s.Nice), err)
		}
	}
	if len(s.CPUs) > 0 || len(old.CPUs) > 0 {
		var set unix.CPUSet
		for _, c := range s.CPUs {
			set.Set(c)
		}
		if len(s.CPUs) == 0 {
			if err := unix.SchedGetaffinity(0, &set); err != nil { // the process's own
				g.warn("reading the process's CPU affinity", err)
				return
			}
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			g.warn(fmt.Sprintf("setting %s_cpu_affinity %v", g.name, s.CPUs), err)
		}
	}
}

func (g *Group) warn(what string, err error) {
	key := what + err.Error()
	if g.warned[key] {
		return
	}
	g.warned[key] = true
	g.logger.Warn(what+" on the "+g.name+" threads", "err", err)
}
