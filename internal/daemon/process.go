package daemon

import (
	"cmp"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/threadprio"
)

// processSettings are the keepalived per-process knobs that govs, one process, applies
// to itself as a whole: process_name, *_no_swap, and the RLIMIT_RTTIME its real-time
// threads run under.
type processSettings struct {
	// Name is process_name; "": the name the process started with.
	Name   string
	NoSwap bool
	// RTTimeLimit is µs (the largest *_rlimit_rttime of the parts with real-time
	// threads); 0 without any.
	RTTimeLimit uint64
}

func processPlan(g config.GlobalDefs) processSettings {
	p := processSettings{Name: g.ProcessName, NoSwap: g.VRRPNoSwap || g.CheckerNoSwap || g.BFDNoSwap}
	// max_auto_priority may make VRRP and BFD threads real-time at any time.
	if g.VRRPRTPriority > 0 || g.MaxAutoPriority > 0 {
		p.RTTimeLimit = uint64(g.VRRPRlimitRTTime)
	}
	if g.BFDRTPriority > 0 || g.MaxAutoPriority > 0 {
		p.RTTimeLimit = max(p.RTTimeLimit, uint64(g.BFDRlimitRTTime))
	}
	return p
}

// threadSettings are one part's scheduling, with the global max_auto_priority.
func threadSettings(g config.GlobalDefs, nice, rt int, cpus []int) threadprio.Settings {
	s := threadprio.Settings{Nice: nice, RealTime: rt, CPUs: cpus}
	if g.MaxAutoPriority > 0 {
		s.AutoRealTime, s.AutoDelay = g.MaxAutoPriority, time.Duration(g.MinAutoPriorityDelay)*time.Microsecond
	}
	return s
}

// applyProcess moves the process from d.process to p; failures are logged and govs
// runs on, as keepalived does.
func (d *Daemon) applyProcess(p processSettings) {
	if p.Name != d.process.Name {
		if err := setProcessName(cmp.Or(p.Name, startName)); err != nil {
			d.log.Warn("applying process_name", "err", err)
		}
	}
	if p.NoSwap != d.process.NoSwap {
		if err := threadprio.LockMemory(p.NoSwap); err != nil {
			d.log.Warn("applying *_no_swap", "err", err)
		}
	}
	if p.RTTimeLimit != d.process.RTTimeLimit {
		if err := d.rtLimit.Set(p.RTTimeLimit); err != nil {
			d.log.Warn("applying *_rlimit_rttime", "err", err)
		}
	}
	d.process = p
}

// startName is the process's name before any process_name.
var startName = func() string {
	b, _ := os.ReadFile("/proc/self/comm")
	return strings.TrimSuffix(string(b), "\n")
}()

// setProcessName names the process as prctl(PR_SET_NAME) names keepalived's single
// thread: through /proc/self/comm, which is the main thread's whichever thread writes.
func setProcessName(name string) error {
	return os.WriteFile("/proc/self/comm", []byte(name), 0)
}

// watchRTTime logs each SIGXCPU: a real-time thread used half of its
// *_rlimit_rttime without blocking, and the kernel kills govs at all of it.
func (d *Daemon) watchRTTime() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGXCPU)
	d.goRun("SIGXCPU", func() error {
		defer signal.Stop(sigs)
		for {
			select {
			case <-sigs:
				d.log.Warn("a real-time VRRP or BFD thread has run for half of its *_rlimit_rttime without blocking; at all of it the kernel kills govs")
			case <-d.runCtx.Done():
				return nil
			}
		}
	})
}
