package sched

// Literal ports of the kernel's list-scanning schedulers (net/netfilter/ipvs/ip_vs_*.c),
// kept deliberately naive: the differential tests check that the indexed schedulers pick
// exactly what these pick.

// refScan is the shape shared by lc, wlc, sed, nq, fo and ovf.
type refScan func(dests []*Dest) *Dest

var refSchedulers = map[string]refScan{
	"lc":  refLC,
	"wlc": refWLC,
	"sed": refSED,
	"nq":  refNQ,
	"fo":  refFO,
	"ovf": refOVF,
}

func refLC(dests []*Dest) *Dest {
	var least *Dest
	var loh int64
	for _, d := range dests {
		if d.Overloaded() || d.Weight() == 0 {
			continue
		}
		doh := d.Overhead()
		if least == nil || doh < loh {
			least, loh = d, doh
		}
	}
	return least
}

// refWeighted is ip_vs_wlc/ip_vs_sed: the first available destination, then every later
// non-overloaded one that beats it by cross-multiplication.
func refWeighted(dests []*Dest, overhead func(*Dest) int64) *Dest {
	var least *Dest
	var loh int64
	i := 0
	for ; i < len(dests); i++ {
		d := dests[i]
		if !d.Overloaded() && d.Weight() > 0 {
			least, loh = d, overhead(d)
			break
		}
	}
	if least == nil {
		return nil
	}
	for _, d := range dests[i+1:] {
		if d.Overloaded() {
			continue
		}
		doh := overhead(d)
		if loh*int64(d.Weight()) > doh*int64(least.Weight()) {
			least, loh = d, doh
		}
	}
	return least
}

func refWLC(dests []*Dest) *Dest { return refWeighted(dests, (*Dest).Overhead) }

func refSED(dests []*Dest) *Dest {
	return refWeighted(dests, func(d *Dest) int64 { return d.Active() + 1 })
}

func refNQ(dests []*Dest) *Dest {
	var least *Dest
	var loh int64
	for _, d := range dests {
		if d.Overloaded() || d.Weight() == 0 {
			continue
		}
		doh := d.Active() + 1
		if d.Active() == 0 {
			return d
		}
		if least == nil || loh*int64(d.Weight()) > doh*int64(least.Weight()) {
			least, loh = d, doh
		}
	}
	return least
}

func refFO(dests []*Dest) *Dest {
	var best *Dest
	hw := 0
	for _, d := range dests {
		if !d.Overloaded() && d.Weight() > hw {
			best, hw = d, d.Weight()
		}
	}
	return best
}

func refOVF(dests []*Dest) *Dest {
	var h *Dest
	for _, d := range dests {
		w := d.Weight()
		if d.Overloaded() || d.Active() > int64(w) || w == 0 {
			continue
		}
		if h == nil || w > h.Weight() {
			h = d
		}
	}
	return h
}

// refWRR is ip_vs_wrr with its mark; cl is a list index, -1 for the head.
type refWRR struct {
	dests      []*Dest
	cl         int
	cw, mw, di int
}

// changed is ip_vs_wrr_dest_changed.
func (m *refWRR) changed(dests []*Dest) {
	m.dests = dests
	m.cl = -1
	g, mx := 0, 0
	for _, d := range dests {
		w := d.Weight()
		if w > 0 {
			if g > 0 {
				g = int(gcd(int32(w), int32(g)))
			} else {
				g = w
			}
		}
		mx = max(mx, w)
	}
	if g == 0 {
		g = 1
	}
	m.di = g
	m.mw = mx - (g - 1)
	if m.cw > m.mw || m.cw == 0 {
		m.cw = m.mw
	} else if m.di > 1 {
		m.cw = (m.cw/m.di)*m.di + 1
	}
}

// schedule is ip_vs_wrr_schedule, list walk and all.
func (m *refWRR) schedule() *Dest {
	if m.mw == 0 {
		return nil
	}
	dest := m.cl
	last, stop := m.cl, -2
	lastPass, restarted := false, false
	for {
		for dest = dest + 1; dest < len(m.dests); dest++ {
			d := m.dests[dest]
			if !d.Overloaded() && d.Weight() >= m.cw {
				m.cl = dest
				return d
			}
			if dest == stop {
				m.cl = dest
				return nil
			}
		}
		dest = -1
		m.cw -= m.di
		if m.cw <= 0 {
			m.cw = m.mw
			if lastPass || last == -1 {
				m.cl = -1
				return nil
			}
			restarted = true
		}
		lastPass = m.cw <= m.di
		if lastPass && restarted && last != -1 {
			stop = last
		}
	}
}
