package sched

import (
	"net/netip"
	"sync"
	"time"
)

func init() {
	Register("lblc", func(Flags) Scheduler { return newLocality(false) })
	Register("lblcr", func(Flags) Scheduler { return newLocality(true) })
}

// Timing of the kernel's lblc/lblcr garbage collection (ip_vs_lblc.c, ip_vs_lblcr.c).
const (
	localityCheckInterval = 60 * time.Second // the periodic timer
	localityEntryTimeout  = 6 * time.Minute  // idle time before eviction when over the size limit
	localityExpiration    = 24 * time.Hour   // sysctl lblc_expiration / lblcr_expiration default
	localityFullCheck     = 30               // every 30th tick expires everything idle > expiration
	localityMaxEntries    = 1024 * 16        // IP_VS_LBLC_TAB_SIZE * 16
)

// locality is ip_vs_lblc (one destination per destination address) and ip_vs_lblcr (a set
// of destinations per address, grown on overload and shrunk after expiration). The table's
// garbage collection runs lazily: each pick first replays the 60-second timer ticks that
// have passed.
type locality struct {
	replicated bool
	least      *leastIndex // wlc over the whole list, the fallback of both

	mu       sync.Mutex // guards everything below
	entries  map[netip.Addr]*localityEntry
	nextTick time.Time
	counter  int
}

// localityEntry maps one destination address to its destination (lblc) or set (lblcr,
// newest first).
type localityEntry struct {
	dests   []*Dest
	lastUse time.Time
	lastMod time.Time // lblcr: when the set last changed
}

func newLocality(replicated bool) *locality {
	return &locality{replicated: replicated, least: newLeastIndex(wlcCost), entries: map[netip.Addr]*localityEntry{}}
}

func (s *locality) Update(dests []*Dest) { s.least.Update(dests) }

func (s *locality) release() { s.least.release() }

// usable is the cache test of both: still in the service, weight > 0, and not "overloaded"
// in lblc's sense (more active connections than its weight while some destination is less
// than half loaded). The OVERLOAD flag itself is not consulted, as in the kernel.
func (s *locality) usable(d *Dest) bool {
	return d.ownedBy(s.least) && d.weight.Load() > 0 && !s.overloaded(d)
}

func (s *locality) overloaded(d *Dest) bool {
	return d.active.Load() > int64(d.weight.Load()) && s.least.hasHalfIdle()
}

func (s *locality) Pick(f Flow) *Dest {
	now := f.now()
	key := f.Dst.Addr().Unmap()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.collect(now)
	en := s.entries[key]
	if en != nil {
		en.lastUse = now
		if !s.replicated {
			if d := en.dests[0]; s.usable(d) {
				return d
			}
		} else if d := s.pickFromSet(en, now); d != nil {
			return d
		}
	}
	d := s.least.Pick(f)
	if d == nil {
		return nil
	}
	switch {
	case en != nil && s.replicated:
		en.insert(d, now)
	case en != nil:
		en.dests[0] = d
	case len(s.entries) <= localityMaxEntries:
		s.entries[key] = &localityEntry{dests: []*Dest{d}, lastUse: now, lastMod: now}
	}
	return d
}

// pickFromSet is lblcr's cache step: the weighted-least-connection member of the set; a set
// of more than one that has not changed for the expiration time loses its most loaded member.
func (s *locality) pickFromSet(en *localityEntry, now time.Time) *Dest {
	d := s.setMin(en.dests)
	if len(en.dests) > 1 && now.After(en.lastMod.Add(localityExpiration)) {
		if m := setMax(en.dests); m != nil {
			en.erase(m, now)
		}
	}
	if d != nil && !s.overloaded(d) {
		return d
	}
	return nil
}

// setMin is ip_vs_dest_set_min: wlc over the set's members that are still in the service.
func (s *locality) setMin(set []*Dest) *Dest {
	var least *Dest
	for _, d := range set {
		if d.overloaded.Load() || !d.ownedBy(s.least) {
			continue
		}
		if least == nil {
			if d.weight.Load() > 0 {
				least = d
			}
			continue
		}
		if ratioGreater(least.Overhead(), d.weight.Load(), d.Overhead(), least.weight.Load()) {
			least = d
		}
	}
	return least
}

// setMax is ip_vs_dest_set_max: the weighted most loaded member with weight > 0.
func setMax(set []*Dest) *Dest {
	var most *Dest
	for _, d := range set {
		w := d.weight.Load()
		if most == nil {
			if w > 0 {
				most = d
			}
			continue
		}
		if w > 0 && ratioGreater(d.Overhead(), most.weight.Load(), most.Overhead(), w) {
			most = d
		}
	}
	return most
}

// ratioGreater reports a*wa > b*wb for overheads a, b and weights wa, wb, exactly.
func ratioGreater(a int64, wa int32, b int64, wb int32) bool {
	return a*int64(wa) > b*int64(wb)
}

func (en *localityEntry) insert(d *Dest, now time.Time) {
	if _, ok := indexOf(en.dests, d); ok {
		return
	}
	en.dests = append([]*Dest{d}, en.dests...)
	en.lastMod = now
}

func (en *localityEntry) erase(d *Dest, now time.Time) {
	if i, ok := indexOf(en.dests, d); ok {
		en.dests = append(en.dests[:i], en.dests[i+1:]...)
		en.lastMod = now
	}
}

// collect runs the garbage-collection timer ticks due by now (ip_vs_lblc_check_expire):
// every 30th tick drops entries idle longer than the expiration; other ticks only act when
// the table is over its size limit, dropping entries idle for 6 minutes. Nothing touches
// the entries between picks, so a later check removes everything an earlier one would
// have: after a long quiet period only the last two rounds of 30 ticks are replayed.
func (s *locality) collect(now time.Time) {
	if s.nextTick.IsZero() {
		s.nextTick = now.Add(localityCheckInterval)
		s.counter = 1
		return
	}
	if now.Before(s.nextTick) {
		return
	}
	due := int64(now.Sub(s.nextTick)/localityCheckInterval) + 1
	if skip := (due - 2*localityFullCheck) / localityFullCheck * localityFullCheck; skip > 0 {
		s.nextTick = s.nextTick.Add(time.Duration(skip) * localityCheckInterval)
	}
	for !now.Before(s.nextTick) {
		tick := s.nextTick
		s.nextTick = tick.Add(localityCheckInterval)
		switch {
		case s.counter%localityFullCheck == 0:
			s.expire(tick, localityExpiration, len(s.entries))
			s.counter = 1
		case len(s.entries) <= localityMaxEntries:
			s.counter++
		default:
			goal := min((len(s.entries)-localityMaxEntries)*4/3, localityMaxEntries/2)
			s.expire(tick, localityEntryTimeout, goal)
		}
	}
}

// expire drops up to goal entries idle for at least idle at time now.
func (s *locality) expire(now time.Time, idle time.Duration, goal int) {
	for k, en := range s.entries {
		if goal <= 0 {
			return
		}
		if !now.Before(en.lastUse.Add(idle)) {
			delete(s.entries, k)
			goal--
		}
	}
}

var (
	_ Scheduler = (*locality)(nil)
	_ releaser  = (*locality)(nil)
)
