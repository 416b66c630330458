// Package estimator computes per-second rates from cumulative counters exactly as the
// Linux IPVS rate estimator (net/netfilter/ipvs/ip_vs_est.c) does, so the numbers govs
// shows under `--rate` match what ipvsadm shows on a real director for the same traffic.
//
// The kernel samples every counter each 2 seconds and keeps an exponentially weighted
// moving average with weight 1/4 in fixed point: connection and packet rates scaled by
// 2^10, byte rates by 2^5. The caller owns the 2-second clock (Interval) and calls
// Sample once per tick; Rates rounds the fixed-point averages the kernel's way.
package estimator

import (
	"time"

	"github.com/govs/govs/internal/table"
)

// Interval is how often Sample must be called: the kernel's estimation timer period.
const Interval = 2 * time.Second

// Counters are cumulative counters, as IPVS keeps them per service and destination;
// Rates are per-second rates (bytes, not bits). They are the desired table's own
// types, so a data plane reports what it estimates without converting.
type (
	Counters = table.Counters
	Rates    = table.Rates
)

// Estimator holds the smoothed rates of one set of counters. The zero value is an
// estimator whose previous sample is all zeros; use New to start from current counters.
// It is not safe for concurrent use.
type Estimator struct {
	last Counters
	// Fixed-point averages: cps, inpps, outpps scaled by 2^10; inbps, outbps by 2^5.
	cps, inpps, outpps, inbps, outbps int64
}

// New returns an estimator whose first Sample measures from c (as the kernel does when
// it starts estimating a new service or destination: ip_vs_start_estimator).
func New(c Counters) *Estimator {
	return &Estimator{last: c}
}

// Sample folds the counters read at one 2-second tick into the averages.
func (e *Estimator) Sample(c Counters) {
	// Each difference is scaled for fixed point and halved (2-second interval) in one
	// shift: <<9 is 2^10/2, <<4 is 2^5/2. The kernel does this in u64 and reinterprets as
	// s64, so a counter that went backwards wraps the same way.
	e.cps = ewma(e.cps, (c.Conns-e.last.Conns)<<9)
	e.inpps = ewma(e.inpps, (c.InPkts-e.last.InPkts)<<9)
	e.outpps = ewma(e.outpps, (c.OutPkts-e.last.OutPkts)<<9)
	e.inbps = ewma(e.inbps, (c.InBytes-e.last.InBytes)<<4)
	e.outbps = ewma(e.outbps, (c.OutBytes-e.last.OutBytes)<<4)
	e.last = c
}

// ewma is avg += (rate - avg) / 4 with the kernel's arithmetic right shift, which rounds
// toward minus infinity (so a decaying average sinks to zero rather than sticking at 1).
func ewma(avg int64, rate uint64) int64 {
	return avg + (int64(rate)-avg)>>2
}

// Rates returns the current averages rounded as ip_vs_read_estimator does: add half a
// unit and shift the fixed point away.
func (e *Estimator) Rates() Rates {
	return Rates{
		CPS:    uint64(e.cps+0x1FF) >> 10,
		InPPS:  uint64(e.inpps+0x1FF) >> 10,
		OutPPS: uint64(e.outpps+0x1FF) >> 10,
		InBPS:  uint64(e.inbps+0xF) >> 5,
		OutBPS: uint64(e.outbps+0xF) >> 5,
	}
}

// Zero restarts the estimator from c with all rates at zero, as `ipvsadm -Z` does
// (ip_vs_zero_estimator).
func (e *Estimator) Zero(c Counters) {
	*e = Estimator{last: c}
}
