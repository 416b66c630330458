package xdp

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/govs/govs/internal/table"
)

// nextHop is how the program reaches a real server: out of which interface, to which MAC.
type nextHop struct {
	ifindex int
	mac     net.HardwareAddr // the real server's, or the gateway's when via is set
	srcMAC  net.HardwareAddr // the interface's
	src     netip.Addr       // the director's preferred source toward the server (TUN)
	via     netip.Addr       // the gateway, when the server is not on a connected network
	mtu     int              // the interface's
	err     error            // why the server cannot be reached; the rest is then unset
}

func (h nextHop) equal(o nextHop) bool {
	return h.ifindex == o.ifindex && bytes.Equal(h.mac, o.mac) && bytes.Equal(h.srcMAC, o.srcMAC) &&
		h.mtu == o.mtu && h.src == o.src && h.via == o.via && errString(h.err) == errString(o.err)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// usable says why the program cannot forward to d, or nil. LVS-DR only rewrites the MAC,
// so the server must be on a network the director is connected to; TUN may go through a
// gateway.
func (d *dest) usable() error {
	if d.hop.err != nil {
		return d.hop.err
	}
	if d.method == table.Route && d.hop.via.IsValid() {
		return fmt.Errorf("real server %s is reached through gateway %s: LVS-DR needs real servers on a network the director is connected to (use lb_kind TUN to route to it)", d.key.addr.Addr(), d.hop.via)
	}
	return nil
}

// resolveWait bounds how long a resolution waits for ARP.
const resolveWait = time.Second

// resolveAll resolves the next hops of addrs in parallel.
func resolveAll(ctx context.Context, addrs []netip.Addr) map[netip.Addr]nextHop {
	out := make(map[netip.Addr]nextHop, len(addrs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, a := range addrs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			h := resolve(ctx, a)
			mu.Lock()
			out[a] = h
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// resolve finds the route to a and the MAC of its next hop in the kernel's neighbour
// table. When the entry is missing or stale it makes the kernel ARP or send a neighbour
// solicitation (a datagram to the discard port of a), since the program's traffic bypasses the kernel and never
// refreshes it, and waits up to resolveWait.
func resolve(ctx context.Context, a netip.Addr) nextHop {
	routes, err := netlink.RouteGet(a.AsSlice())
	if err != nil || len(routes) == 0 {
		return nextHop{err: fmt.Errorf("no route to real server %s: %v", a, err)}
	}
	r := routes[0]
	if r.Type == unix.RTN_LOCAL {
		return nextHop{err: fmt.Errorf("real server %s is an address of this host", a)}
	}
	lk, err := netlink.LinkByIndex(r.LinkIndex)
	if err != nil {
		return nextHop{err: fmt.Errorf("real server %s: interface %d: %v", a, r.LinkIndex, err)}
	}
	h := nextHop{ifindex: r.LinkIndex, srcMAC: lk.Attrs().HardwareAddr, mtu: lk.Attrs().MTU}
	if len(h.srcMAC) != 6 {
		return nextHop{err: fmt.Errorf("real server %s is reached through %s, which has no Ethernet address", a, lk.Attrs().Name)}
	}
	if s, ok := netip.AddrFromSlice(r.Src); ok {
		h.src = s.Unmap()
	}
	hop := a
	if g, ok := netip.AddrFromSlice(r.Gw); ok && r.Gw != nil {
		h.via = g.Unmap()
		hop = h.via
	}
	deadline := time.Now().Add(resolveWait)
	poked := false
	for {
		mac, fresh := lookupNeigh(r.LinkIndex, hop)
		if mac != nil && (fresh || poked) {
			h.mac = mac
			if !fresh {
				// Stale: use it, and let the kernel confirm it in the background.
				poke(a)
			}
			return h
		}
		if !poked {
			poke(a)
			poked = true
		}
		if time.Now().After(deadline) {
			if mac != nil {
				h.mac = mac
				return h
			}
			return nextHop{err: fmt.Errorf("real server %s: no ARP or NDP answer from %s on %s within %s", a, hop, lk.Attrs().Name, resolveWait)}
		}
		select {
		case <-ctx.Done():
			return nextHop{err: fmt.Errorf("real server %s: resolving %s: %w", a, hop, ctx.Err())}
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// lookupNeigh returns hop's MAC on ifindex if the kernel has one (ARP, or NDP for IPv6),
// and whether the entry is confirmed (REACHABLE or PERMANENT, or NOARP).
func lookupNeigh(ifindex int, hop netip.Addr) (net.HardwareAddr, bool) {
	family := unix.AF_INET
	if !hop.Is4() {
		family = unix.AF_INET6
	}
	neighs, err := netlink.NeighList(ifindex, family)
	if err != nil {
		return nil, false
	}
	for _, n := range neighs {
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok || ip.Unmap() != hop || len(n.HardwareAddr) != 6 {
			continue
		}
		if n.State&(unix.NUD_INCOMPLETE|unix.NUD_FAILED) != 0 {
			return nil, false
		}
		return n.HardwareAddr, n.State&(unix.NUD_REACHABLE|unix.NUD_PERMANENT|unix.NUD_NOARP) != 0
	}
	return nil, false
}

// poke sends one empty datagram to a's discard port, which makes the kernel resolve (or
// re-confirm) the next hop toward a.
func poke(a netip.Addr) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 9)))
	if err != nil {
		return
	}
	defer c.Close()
	// An ICMP error back from the server is harmless; only the ARP it caused matters.
	_, _ = c.Write(nil)
}
