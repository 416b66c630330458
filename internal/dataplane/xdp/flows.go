package xdp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"

	"github.com/govs/govs/internal/table"
)

const protoTCP = 6

// The program stamps each flow with a coarse clock the Go side advances (clock, in
// clockUnit steps); a flow not seen for its protocol's timeout is over, whether or not
// the client closed it. The scan counts the flows each real server holds and deletes the
// idle ones, so that flows that end without a client FIN or RST (the server closed them,
// the client vanished, the LRU evicted them) stop counting as active.
const (
	clockUnit     = time.Second
	flowScanEvery = 2 * time.Second
	// flowScanShare bounds the time spent scanning: the next scan waits at least
	// flowScanShare times the last one's duration (about 0.36 µs a flow here: a full
	// table of 1 Mi flows is scanned every 7 s or so, 5% of a core).
	flowScanShare = 20
	// flowScanBatch is how many flows one BPF_MAP_LOOKUP_BATCH returns.
	flowScanBatch = 4096
)

// IPVS's default timeouts (ipvsadm --set): established TCP, TCP after the client's FIN
// or RST, UDP.
const (
	defaultTCPTimeout = 15 * time.Minute
	defaultFinTimeout = 2 * time.Minute
	defaultUDPTimeout = 5 * time.Minute
)

// clock is the program's clock at t: whole clockUnits since the plane was loaded.
func (p *Plane) clock(t time.Time) uint32 { return uint32(t.Sub(p.epoch) / clockUnit) }

// writeClock installs the clock at now when it moved; p.mu is held or p is not shared
// yet. The program's clock is a global variable the kernel lets us write in place (one
// aligned 4-byte store, which a packet reads whole).
func (p *Plane) writeClock(now time.Time) error {
	c := p.clock(now)
	if c == p.clockSet {
		// Also at load: the variable starts at 0, as the clock does.
		return nil
	}
	if err := p.objs.Clock.Set(c); err != nil {
		return fmt.Errorf("xdp: installing the clock: %w", err)
	}
	p.clockSet = c
	// Each CPU's flow cache then sends each flow's next packet to the shared table,
	// which so learns the flow is still alive.
	return p.moveEpoch()
}

// flowTimeouts are the timeouts in clock units: established TCP, closed TCP, UDP.
func flowTimeouts(t table.Timeouts) (tcp, fin, udp uint32) {
	units := func(d, def time.Duration) uint32 {
		if d <= 0 {
			d = def
		}
		return uint32((d + clockUnit - 1) / clockUnit)
	}
	return units(t.TCP, defaultTCPTimeout), units(t.TCPFin, defaultFinTimeout), units(t.UDP, defaultUDPTimeout)
}

// scanLoop scans the flow table every flowScanEvery, or less often when a scan takes
// long, until ctx is done.
func (p *Plane) scanLoop(ctx context.Context) {
	wait := flowScanEvery
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		start := time.Now()
		if err := p.scanFlows(); err != nil {
			p.log.Warn("scanning the flow table", "error", err)
		}
		wait = max(flowScanEvery, flowScanShare*time.Since(start))
	}
}

// flowCount is what a scan found for one destination.
type flowCount struct{ open, closed int64 }

// destGen names one holder of a destination id.
type destGen struct{ id, gen uint32 }

// scanFlows walks the flow table: it deletes the flows idle past their timeout and
// counts, per real server, the open and closed flows left. The counts replace the
// servers' active-flow figures as of the counters read just before the walk.
func (p *Plane) scanFlows() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.readCounters()
	type base struct{ conns, closes uint64 }
	before := make(map[uint32]base, len(p.dests))
	for _, d := range p.dests {
		before[d.id] = base{d.raw.Conns, d.raw.Closes}
	}
	now := p.clock(p.now())
	tcp, fin, udp := flowTimeouts(p.timeouts)
	p.mu.Unlock()

	counts := map[destGen]*flowCount{}
	var idle []govsXDPFlowKey
	var cursor ebpf.MapBatchCursor
	keys := make([]govsXDPFlowKey, flowScanBatch)
	vals := make([]govsXDPFlow, flowScanBatch)
	for {
		n, err := p.objs.Flows.BatchLookup(&cursor, keys, vals, nil)
		for i := range n {
			k, f := keys[i], vals[i]
			timeout := udp
			switch {
			case k.Proto == protoTCP && f.Closed != 0:
				timeout = fin
			case k.Proto == protoTCP:
				timeout = tcp
			}
			if now-f.Seen > timeout {
				idle = append(idle, k)
				continue
			}
			c := counts[destGen{f.Dest, f.Gen}]
			if c == nil {
				c = &flowCount{}
				counts[destGen{f.Dest, f.Gen}] = c
			}
			if f.Closed != 0 {
				c.closed++
			} else {
				c.open++
			}
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			break
		}
		if err != nil {
			return fmt.Errorf("xdp: reading the flow table: %w", err)
		}
	}
	for len(idle) > 0 {
		// In batches, not a syscall each. A batch stops at a flow the LRU evicted
		// meanwhile: the rest goes on after it.
		n, err := p.objs.Flows.BatchDelete(idle[:min(len(idle), flowScanBatch)], nil)
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			n++
		} else if err != nil {
			return fmt.Errorf("xdp: deleting idle flows: %w", err)
		}
		idle = idle[n:]
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.dests {
		b, ok := before[d.id]
		if !ok {
			continue // installed during the walk: its counters alone are right
		}
		var c flowCount
		if fc := counts[destGen{d.id, d.gen}]; fc != nil {
			c = *fc
		}
		d.scanOpen, d.scanClosed = c.open, c.closed
		d.scanConns, d.scanCloses = b.conns, b.closes
	}
	return nil
}
