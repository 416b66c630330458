package check

import "time"

// probe is one checker's position in keepalived's retry/delay cycle, kept as a plain
// value so the timing rules can be tested without clocks or sockets.
//
//   - Success: the retry counter resets; the next probe is delay_loop later. A checker
//     that was down comes back up at once (for HTTP_GET, once every URL has passed in a
//     row; fast_recovery runs those URL checks back to back instead of a tick apart).
//   - Failure with retries left: counter+1, next attempt delay_before_retry later.
//   - Failure beyond retry (retry+1 failures in a row): down; while down the probe runs
//     every delay_loop (HTTP_GET: max(delay_before_retry, delay_loop)).
//   - Start: without alpha the checker starts up with its retry counter exhausted, so
//     the first failure is final; with alpha it starts down.
type probe struct {
	timers       Timers
	steps        int  // URLs of HTTP_GET; 1 otherwise
	fastRecovery bool // fast_recovery (HTTP_GET)

	up       bool
	failures int // consecutive failures of the current step
	step     int // index of the step (URL) the next probe checks
	passed   int // steps passed in a row while down
}

func newProbe(t Timers, steps int, fastRecovery bool) probe {
	if steps < 1 {
		steps = 1
	}
	p := probe{timers: t, steps: steps, fastRecovery: fastRecovery, up: !t.Alpha}
	if p.up {
		p.failures = t.Retry
	}
	return p
}

// observe applies the result of probing step p.step and returns how long to wait before
// the next probe and whether the checker changed state.
func (p *probe) observe(ok bool) (next time.Duration, changed bool) {
	if ok {
		p.failures = 0
		p.step = (p.step + 1) % p.steps
		if p.up {
			return p.timers.DelayLoop, false
		}
		p.passed++
		if p.passed >= p.steps {
			p.up, p.passed = true, 0
			return p.timers.DelayLoop, true
		}
		if p.fastRecovery {
			return 0, false
		}
		return p.timers.DelayLoop, false
	}
	p.passed = 0
	if p.up {
		if p.failures < p.timers.Retry {
			p.failures++
			return p.timers.DelayBeforeRetry, false
		}
		p.up, p.failures = false, 0
		return p.downInterval(), true
	}
	return p.downInterval(), false
}

func (p *probe) downInterval() time.Duration {
	if p.steps > 1 && p.timers.DelayBeforeRetry > p.timers.DelayLoop {
		return p.timers.DelayBeforeRetry
	}
	return p.timers.DelayLoop
}

// carry keeps the state of an old probe (a reload that changed a checker's attributes)
// under new timing and step count.
func (p probe) carry(t Timers, steps int, fastRecovery bool) probe {
	q := newProbe(t, steps, fastRecovery)
	q.up, q.passed = p.up, 0
	q.failures = min(p.failures, t.Retry)
	if p.step < q.steps {
		q.step = p.step
	}
	return q
}

// DetectionBound is the longest keepalived's rules allow between a server failing and
// its checker going down (and likewise for recovery of a single-step checker):
// delay_loop + connect_timeout × (retry+1) + delay_before_retry × retry.
func (t Timers) DetectionBound() time.Duration {
	return t.DelayLoop + t.ConnectTimeout*time.Duration(t.Retry+1) + t.DelayBeforeRetry*time.Duration(t.Retry)
}
