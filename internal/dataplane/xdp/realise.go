package xdp

import (
	"fmt"
	"math"
	"net/netip"
	"strings"

	"github.com/govs/govs/internal/table"
)

// Service flags, as bpf/govs_xdp.c defines them.
const (
	svcHashPort  = 1 << 0
	svcHashDaddr = 1 << 1
	svcIPv6      = 1 << 2
)

// Dest flags, as bpf/govs_xdp.c defines them.
const (
	destAvailable = 1 << 0
	destTunnel    = 1 << 1
	destIPv6      = 1 << 2
	destReachable = 1 << 3
)

// realisation is how the XDP program serves one virtual service's lb_algo: every
// algorithm becomes a Maglev table over some weights, looked up by a hash of the client
// (or of the destination for dh), with or without the client port.
type realisation struct {
	flags      uint32
	clientMask netip.Addr // applied to the client address before hashing
	// weights says where the table's weights come from: "static" (the configured ones),
	// "equal" (rr, lc), "dynamic" (refreshed from active-flow counts), "highest" (fo).
	weights string
	// balance, for dynamic weights, is the cost the refresh equalises: lc, wlc, sed, nq, ovf.
	balance string
	// keepQuiesced: a quiesced server keeps its slots and its new clients are dropped, as
	// ip_vs_mh does without mh-fallback; otherwise a quiesced server has no slots.
	keepQuiesced bool
	what         string // for the log, once per virtual service
}

// realise maps a service's scheduler, flags and persistence onto the XDP program, or says
// why the xdp plane cannot serve it.
func realise(s table.Service) (realisation, error) {
	if s.FWMark != 0 {
		return realisation{}, fmt.Errorf("xdp: service %s: fwmark services are not supported by the xdp data plane; use --dataplane proxy or ipvs", s.ServiceKey)
	}
	if s.Protocol != table.TCP && s.Protocol != table.UDP {
		return realisation{}, fmt.Errorf("xdp: service %s: protocol %s is not supported by the xdp data plane (TCP and UDP are); use --dataplane ipvs", s.ServiceKey, s.Protocol)
	}
	v4 := s.Addr.Addr().Unmap().Is4()
	for _, d := range s.Dests {
		if d.Method != table.Route && d.Method != table.Tunnel {
			return realisation{}, fmt.Errorf("xdp: service %s: real server %s uses lb_kind %s; the xdp data plane does DR and TUN only: use --dataplane auto (NAT services go to the proxy) or proxy", s.ServiceKey, d.Addr, lbKind(d.Method))
		}
		if d.Method == table.Tunnel && d.TunnelType != "" && d.TunnelType != "ipip" {
			return realisation{}, fmt.Errorf("xdp: service %s: real server %s: tunnel type %s is not supported by the xdp data plane (ipip is); use --dataplane ipvs", s.ServiceKey, d.Addr, d.TunnelType)
		}
		// DR only rewrites the MAC: the real server takes the packet as it is, in the
		// family of the VIP. A tunnel may carry either family in either.
		if d.Method == table.Route && d.Addr.Addr().Unmap().Is4() != v4 {
			return realisation{}, fmt.Errorf("xdp: service %s: real server %s: lb_kind DR needs a real server of the virtual address's family (lb_kind TUN can cross families)", s.ServiceKey, d.Addr)
		}
	}
	r := realisation{clientMask: netip.AddrFrom4([4]byte{255, 255, 255, 255})}
	if !v4 {
		r.flags = svcIPv6
		r.clientMask = netip.AddrFrom16([16]byte{0: 0xff, 1: 0xff, 2: 0xff, 3: 0xff, 4: 0xff, 5: 0xff, 6: 0xff, 7: 0xff, 8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff})
	}
	port := s.Flags&table.SchedFlag2 != 0
	var what string
	switch s.Scheduler {
	case "rr":
		r.weights, port = "equal", true
		what = "a Maglev table with equal weights, hashed per flow (client address and port)"
	case "wrr", "twos":
		r.weights, port = "static", true
		what = "a weighted Maglev table, hashed per flow (client address and port)"
	case "lc", "wlc", "sed", "nq", "ovf":
		r.weights, r.balance, port = "dynamic", s.Scheduler, true
		what = "a Maglev table hashed per flow whose weights are refreshed every 100ms from the active-flow counts the program keeps (SYN/FIN/RST), to equalise " + costName(s.Scheduler)
	case "fo":
		r.weights, port = "highest", true
		what = "a Maglev table holding only the available server with the highest weight"
	case "sh":
		r.weights = "static"
		what = "a weighted Maglev table hashed on the client address" + portNote(port) + " (the same affinity as sh, not the same server as an IPVS sh director)"
	case "dh", "lblc", "lblcr":
		r.weights = "static"
		r.flags |= svcHashDaddr
		port = false
		what = "a weighted Maglev table hashed on the destination address (locality by destination, as " + s.Scheduler + ")"
	case "mh":
		r.weights = "static"
		r.keepQuiesced = s.Flags&table.SchedFlag1 == 0
		what = "the IPVS mh table itself (same hash keys and table size: the same server as an IPVS director), hashed on the client address" + portNote(port)
		if !r.keepQuiesced {
			what += "; mh-fallback: a quiesced server's slots are refilled over the available ones"
		}
	default:
		return realisation{}, fmt.Errorf("xdp: service %s: scheduler %q cannot be realised by the xdp data plane (rr, wrr, lc, wlc, sed, nq, ovf, fo, sh, dh, lblc, lblcr, mh, twos can); use --dataplane proxy or ipvs", s.ServiceKey, s.Scheduler)
	}
	if s.Persistence.Timeout > 0 {
		port = false
		mask, err := persistenceMask(s.Persistence, v4)
		if err != nil {
			return realisation{}, fmt.Errorf("xdp: service %s: %w", s.ServiceKey, err)
		}
		r.clientMask = mask
		what += fmt.Sprintf("; persistence_timeout %s realised as affinity of client network %s to a server while the server set is unchanged (no timeout)", s.Persistence.Timeout, mask)
	}
	if port {
		r.flags |= svcHashPort
	}
	if s.OnePacket {
		what += "; ops: datagrams of one client port stay on one server"
	}
	r.what = fmt.Sprintf("lb_algo %s realised as %s", s.Scheduler, what)
	return r, nil
}

func portNote(port bool) string {
	if port {
		return " and port"
	}
	return ""
}

func costName(algo string) string {
	switch algo {
	case "lc":
		return "active flows"
	case "wlc":
		return "active flows per weight"
	case "sed":
		return "(active flows + 1) per weight"
	case "nq":
		return "idle servers first, then (active flows + 1) per weight"
	}
	return "flows below each server's weight, highest weight first"
}

func lbKind(m table.Method) string {
	switch m {
	case table.Masquerade:
		return "NAT"
	case table.Tunnel:
		return "TUN"
	case table.Route:
		return "DR"
	}
	return strings.ToUpper(m.String())
}

// persistenceMask is the client mask of a persistent service: IPv4 for an IPv4 service,
// IPv6 (from the prefix length, default 128) for an IPv6 one.
func persistenceMask(p table.Persistence, v4 bool) (netip.Addr, error) {
	if p.Mask.IsValid() {
		if !p.Mask.Is4() || !v4 {
			return netip.Addr{}, fmt.Errorf("persistence netmask %s is not an IPv4 mask for an IPv4 service", p.Mask)
		}
		return p.Mask, nil
	}
	size := 32
	if !v4 {
		size = 128
	}
	bits := p.PrefixLen
	if bits == 0 {
		bits = size
	}
	if bits < 0 || bits > size {
		return netip.Addr{}, fmt.Errorf("persistence netmask /%d is out of range 0..%d", p.PrefixLen, size)
	}
	var m [16]byte
	for i := range bits {
		m[i/8] |= 0x80 >> (i % 8)
	}
	if v4 {
		return netip.AddrFrom4([4]byte(m[:4])), nil
	}
	return netip.AddrFrom16(m), nil
}

// maxTurns is the largest weight handed to the Maglev table: IPVS's mh scales weights
// down to 6 bits anyway.
const maxTurns = 64

// destLoad is what the weight computation knows about one server.
type destLoad struct {
	weight int   // configured weight; 0: quiesced
	ready  bool  // MAC known: can be forwarded to
	active int64 // active flows (TCP flows opened and not yet closed by the client)
}

// tableWeights returns each server's Maglev weight. For dynamic realisations it spreads
// the next expected new flows (arrivals) the way the scheduler's argmin would over that
// many picks: water-filling, so every server ends at the same cost level.
func tableWeights(r realisation, loads []destLoad, arrivals int64) []int {
	w := make([]int, len(loads))
	avail := func(l destLoad) bool { return l.weight > 0 && l.ready }
	switch r.weights {
	case "equal":
		for i, l := range loads {
			if avail(l) {
				w[i] = 1
			}
		}
	case "static":
		for i, l := range loads {
			if avail(l) {
				w[i] = l.weight
			}
		}
	case "highest":
		best := -1
		for i, l := range loads {
			// fo: the first of the highest weights, in list order.
			if avail(l) && (best < 0 || l.weight > loads[best].weight) {
				best = i
			}
		}
		if best >= 0 {
			w[best] = 1
		}
	case "dynamic":
		return dynamicWeights(r.balance, loads, arrivals)
	}
	return w
}

// dynamicWeights realises lc, wlc, sed, nq and ovf. For lc/wlc/sed it finds the level L
// at which giving server i max(0, L·w_i − a_i) new flows (sed: − a_i − 1) adds up to the
// expected arrivals, and scales those shares to Maglev weights; nq gives idle servers the
// first flows; ovf gives everything to the first highest-weight server below its weight.
func dynamicWeights(balance string, loads []destLoad, arrivals int64) []int {
	w := make([]int, len(loads))
	arrivals = max(arrivals, 1)
	var idx []int
	for i, l := range loads {
		if l.weight > 0 && l.ready {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return w
	}
	if balance == "ovf" {
		best := -1
		for _, i := range idx {
			if loads[i].active < int64(loads[i].weight) && (best < 0 || loads[i].weight > loads[best].weight) {
				best = i
			}
		}
		if best >= 0 {
			w[best] = 1
		}
		return w
	}
	weight := func(i int) float64 {
		if balance == "lc" {
			return 1
		}
		return float64(loads[i].weight)
	}
	base := func(i int) float64 {
		a := float64(max(loads[i].active, 0))
		if balance == "sed" || balance == "nq" {
			a++
		}
		return a
	}
	if balance == "nq" {
		var idle []int
		for _, i := range idx {
			if loads[i].active <= 0 {
				idle = append(idle, i)
			}
		}
		if int64(len(idle)) >= arrivals || len(idle) == len(idx) {
			// Enough idle servers for the expected flows: only they get new ones.
			for _, i := range idle {
				w[i] = 1
			}
			return w
		}
	}
	// Water-filling: find L with sum(max(0, L*w_i - b_i)) = arrivals by bisection.
	share := func(L float64, i int) float64 { return max(0, L*weight(i)-base(i)) }
	total := func(L float64) float64 {
		s := 0.0
		for _, i := range idx {
			s += share(L, i)
		}
		return s
	}
	lo, hi := 0.0, 1.0
	for total(hi) < float64(arrivals) && hi < 1e18 {
		hi *= 2
	}
	for range 64 {
		mid := (lo + hi) / 2
		if total(mid) < float64(arrivals) {
			lo = mid
		} else {
			hi = mid
		}
	}
	biggest := 0.0
	for _, i := range idx {
		biggest = max(biggest, share(hi, i))
	}
	for _, i := range idx {
		if s := share(hi, i); s > 0 {
			w[i] = max(1, int(math.Round(s/biggest*maxTurns)))
		}
	}
	return w
}
