package ipvs

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/govs/govs/internal/table"
)

// opKind is one netlink request that changes the kernel's table.
type opKind uint8

const (
	opNewService opKind = iota + 1
	opSetService
	opDelService
	opNewDest
	opSetDest
	opDelDest
	opSetTimeouts
)

func (k opKind) String() string {
	switch k {
	case opNewService:
		return "add service"
	case opSetService:
		return "edit service"
	case opDelService:
		return "delete service"
	case opNewDest:
		return "add destination"
	case opSetDest:
		return "edit destination"
	case opDelDest:
		return "delete destination"
	case opSetTimeouts:
		return "set timeouts"
	}
	return fmt.Sprintf("op%d", uint8(k))
}

// op is one change: the service it concerns (whole, for new/set), and for destination
// changes the destination; for opSetTimeouts the timeouts to send (zero keeps a value).
// The service is shared by the ops that concern it and must not change after planning.
type op struct {
	kind     opKind
	svc      *table.Service
	dest     table.Dest
	timeouts table.Timeouts
}

func (o op) String() string {
	switch o.kind {
	case opNewDest, opSetDest, opDelDest:
		return fmt.Sprintf("%s %s -> %s", o.kind, o.svc.ServiceKey, o.dest.Addr)
	case opSetTimeouts:
		return fmt.Sprintf("%s tcp %v tcpfin %v udp %v", o.kind, o.timeouts.TCP, o.timeouts.TCPFin, o.timeouts.UDP)
	}
	return fmt.Sprintf("%s %s", o.kind, o.svc.ServiceKey)
}

// plan lists the requests that turn the kernel's table (have, as read back) into the
// desired one. It touches only services that are desired or owned (created or adopted by
// an earlier plan): the kernel's other services belong to someone else. Identity is the
// service key and the destination address; everything else is an attribute that an edit
// changes in place, so established connections stay. Unchanged entries cost nothing: a
// reload that changes nothing plans no request.
func plan(have []table.Service, haveTimeouts table.Timeouts, want table.Table, owned map[table.ServiceKey]bool) []op {
	// Room for a start from nothing, the common large case: one request per service and
	// per destination, in one allocation.
	n := 1
	for _, w := range want.Services {
		n += 1 + len(w.Dests)
	}
	ops := make([]op, 0, n)
	if t, ok := timeoutChange(haveTimeouts, want.Timeouts); ok {
		ops = append(ops, op{kind: opSetTimeouts, timeouts: t})
	}
	current := make(map[table.ServiceKey]*table.Service, len(have))
	for i := range have {
		current[have[i].ServiceKey] = &have[i]
	}
	wanted := make(map[table.ServiceKey]bool, len(want.Services))
	for _, w := range want.Services {
		w = normalize(w)
		if wanted[w.ServiceKey] {
			continue // a duplicate key: the first one wins, as the kernel would refuse the second
		}
		wanted[w.ServiceKey] = true
		h, ok := current[w.ServiceKey]
		if !ok {
			ops = append(ops, op{kind: opNewService, svc: &w})
			for _, d := range w.Dests {
				ops = append(ops, op{kind: opNewDest, svc: &w, dest: d})
			}
			continue
		}
		ops = planService(ops, h, &w)
	}
	// Services removed from the configuration, in the kernel's order.
	for i := range have {
		if h := &have[i]; owned[h.ServiceKey] && !wanted[h.ServiceKey] {
			ops = append(ops, op{kind: opDelService, svc: h})
		}
	}
	return ops
}

// planService changes an existing service into w: destinations that went first (so a
// threshold or a scheduler never sees them again), then the service's attributes, then
// edited and new destinations in w's order (the kernel keeps the newest first, as it
// does for keepalived, which adds them in configuration order). It appends to ops.
func planService(ops []op, h, w *table.Service) []op {
	wantDest := make(map[table.DestKey]bool, len(w.Dests))
	for _, d := range w.Dests {
		wantDest[d.Addr] = true
	}
	for _, d := range h.Dests {
		if !wantDest[d.Addr] {
			ops = append(ops, op{kind: opDelDest, svc: w, dest: d})
		}
	}
	if !sameServiceAttrs(*h, *w) {
		ops = append(ops, op{kind: opSetService, svc: w})
	}
	haveDest := make(map[table.DestKey]table.Dest, len(h.Dests))
	for _, d := range h.Dests {
		haveDest[d.Addr] = d
	}
	for _, d := range w.Dests {
		hd, ok := haveDest[d.Addr]
		switch {
		case !ok:
			ops = append(ops, op{kind: opNewDest, svc: w, dest: d})
		case !sameDestAttrs(hd, d):
			ops = append(ops, op{kind: opSetDest, svc: w, dest: d})
		}
	}
	return ops
}

// timeoutChange returns the SET_CONFIG request that brings the kernel's timeouts to the
// desired non-zero ones; a zero field is sent as zero, which the kernel reads as "keep".
func timeoutChange(have, want table.Timeouts) (table.Timeouts, bool) {
	var t table.Timeouts
	changed := false
	pick := func(h, w time.Duration) time.Duration {
		if w == 0 || w/time.Second == h/time.Second {
			return 0
		}
		changed = true
		return w
	}
	t.TCP = pick(have.TCP, want.TCP)
	t.TCPFin = pick(have.TCPFin, want.TCPFin)
	t.UDP = pick(have.UDP, want.UDP)
	return t, changed
}

// defaultScheduler is the kernel's and keepalived's scheduler when none is named.
const defaultScheduler = "wlc"

// normalize puts a desired service in the form the kernel reports back, so comparing
// the two finds only real differences.
func normalize(s table.Service) table.Service {
	if s.Scheduler == "" {
		s.Scheduler = defaultScheduler
	}
	s.ServiceKey = normalizeKey(s.ServiceKey)
	if s.Persistence.Timeout == 0 {
		s.Persistence = table.Persistence{Engine: s.Persistence.Engine}
	} else {
		s.Persistence.Timeout = s.Persistence.Timeout.Truncate(time.Second)
		if s.Persistence.Mask.IsValid() {
			if n, ok := maskPrefix(s.Persistence.Mask); ok {
				s.Persistence.PrefixLen, s.Persistence.Mask = n, netip.Addr{}
			}
		}
		if s.Persistence.PrefixLen == 0 && !s.Persistence.Mask.IsValid() {
			s.Persistence.PrefixLen = 32
			if serviceIs6(s.ServiceKey) {
				s.Persistence.PrefixLen = 128
			}
		}
	}
	// A destination named twice: the first wins, as the kernel refuses the second.
	dests := make([]table.Dest, 0, len(s.Dests))
	for _, d := range s.Dests {
		if !slices.ContainsFunc(dests, func(x table.Dest) bool { return x.Addr == d.Addr }) {
			dests = append(dests, d)
		}
	}
	s.Dests = dests
	for i := range s.Dests {
		d := &s.Dests[i]
		if d.Method != table.Tunnel {
			d.TunnelType, d.TunnelPort, d.TunnelFlags = "", 0, ""
		} else {
			if d.TunnelType == "" {
				d.TunnelType = "ipip"
			}
			if d.TunnelType == "ipip" {
				d.TunnelPort, d.TunnelFlags = 0, ""
			} else if d.TunnelFlags == "" {
				d.TunnelFlags = "nocsum"
			}
		}
	}
	return s
}

// normalizeKey is a service key as the kernel reports it back: a mark without protocol
// and address, an address without the IPv6 flag (the address says it).
func normalizeKey(k table.ServiceKey) table.ServiceKey {
	if k.FWMark != 0 {
		k.Protocol, k.Addr = 0, netip.AddrPort{}
	} else {
		k.IPv6 = false
	}
	return k
}

func serviceIs6(k table.ServiceKey) bool {
	if k.FWMark != 0 {
		return k.IPv6
	}
	return k.Addr.Addr().Is6()
}

// maskPrefix returns the prefix length of a contiguous IPv4 mask.
func maskPrefix(mask netip.Addr) (int, bool) {
	if !mask.Is4() {
		return 0, false
	}
	b := mask.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&0x80000000 != 0 {
		n++
		v <<= 1
	}
	return n, v == 0
}

// sameServiceAttrs compares what SET_SERVICE can change.
func sameServiceAttrs(h, w table.Service) bool {
	return h.Scheduler == w.Scheduler &&
		h.Flags == w.Flags &&
		h.OnePacket == w.OnePacket &&
		h.Persistence == w.Persistence
}

// sameDestAttrs compares what SET_DEST can change.
func sameDestAttrs(h, w table.Dest) bool {
	return h.Weight == w.Weight &&
		h.Method == w.Method &&
		h.UThreshold == w.UThreshold &&
		h.LThreshold == w.LThreshold &&
		h.TunnelType == w.TunnelType &&
		h.TunnelPort == w.TunnelPort &&
		h.TunnelFlags == w.TunnelFlags
}
