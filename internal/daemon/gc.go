package daemon

import "runtime/debug"

// loadGCPercent is the garbage collector's target while a configuration is loaded.
//
// A running daemon's heap is small (about 6 MB with 1,000 virtual services x 10 real
// servers), while reading, checking and planning that configuration allocates about
// 26 MB that is garbage a moment later. At the default GOGC of 100 the collector would
// mark the live heap several times during one load; on one CPU (a small VM, or the
// kernel suite's guest) that doubled the time of a reload. At 400 the heap may grow to
// five times the live one instead, so a load runs with at most one collection.
const loadGCPercent = 400

// relaxGC raises the collector's target to loadGCPercent until the returned function
// is called. A higher target set by the operator (GOGC), or GOGC=off, is left alone;
// a GOMEMLIMIT still bounds the heap.
func relaxGC() (restore func()) {
	old := debug.SetGCPercent(loadGCPercent)
	if old < 0 || old >= loadGCPercent {
		debug.SetGCPercent(old)
		return func() {}
	}
	return func() { debug.SetGCPercent(old) }
}
