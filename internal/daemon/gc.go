package daemon

import (
	"runtime/debug"
	"sync"
)

// loadGCPercent is the garbage collector's target while a configuration is loaded.
//
// A running daemon's heap is small (about 6 MB with 1,000 virtual services x 10 real
// servers), while reading, checking and planning that configuration allocates 3–4 times
// as much that is garbage a moment later. At the default GOGC of 100 the collector
// marked the live heap several times during one load: 40% of the time of a reload on
// one CPU (a small VM, or the kernel suite's guest). At 400 the heap may grow to five
// times the live one instead, so a load runs with at most one collection; the price is
// memory while it runs, handed back when it ends (docs/performance.md, Kernel IPVS plane).
const loadGCPercent = 400

// gcLoads counts the loads under way, so that concurrent ones (several daemons in one
// test binary) raise the target once and restore it once, after the last.
var gcLoads struct {
	sync.Mutex
	n      int
	raised bool // the target was raised and saved must be restored
	saved  int
}

// relaxGC raises the collector's target to loadGCPercent until the returned function
// is called. A higher target set by the operator (GOGC), or GOGC=off, is left alone; a
// GOMEMLIMIT still bounds the heap.
func relaxGC() (restore func()) {
	gcLoads.Lock()
	defer gcLoads.Unlock()
	if gcLoads.n == 0 {
		old := debug.SetGCPercent(loadGCPercent)
		gcLoads.raised = old >= 0 && old < loadGCPercent
		if !gcLoads.raised {
			debug.SetGCPercent(old)
		}
		gcLoads.saved = old
	}
	gcLoads.n++
	var once sync.Once
	return func() {
		once.Do(func() {
			gcLoads.Lock()
			gcLoads.n--
			last := gcLoads.n == 0 && gcLoads.raised
			if last {
				debug.SetGCPercent(gcLoads.saved)
			}
			gcLoads.Unlock()
			if last {
				releaseMemory()
			}
		})
	}
}

// releaseMemory hands the pages a load freed back to the OS. The load's garbage grew the
// heap to several times the live one, and the runtime returns such pages only over
// minutes; one collection (6–11 ms of mostly concurrent marking with 1,000 x 10 services)
// brings the resident size down at once. It runs beside the caller, so a reload is not
// held up by it. Tests replace it.
var releaseMemory = func() { go debug.FreeOSMemory() }
