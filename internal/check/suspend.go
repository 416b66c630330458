package check

import (
	"context"
	"net/netip"

	"github.com/govs/govs/internal/table"
)

// HASuspend is keepalived's ha_suspend for the manager: each virtual service listed
// has its checkers suspended while none of its addresses (the virtual server's, or
// every address of its virtual_server_group) is configured on this host — on a VRRP
// backup, which does not hold the VIPs. As in keepalived (check_api.c,
// update_checker_activity), a suspended checker does not probe and changes nothing:
// its real servers keep the state and weight they had (initially up, unless alpha),
// and its retry count is kept. When an address appears the checkers resume at their
// next tick, at most delay_loop later.
type HASuspend map[table.ServiceKey][]netip.Addr

// AddrChange is an address added to or removed from one of the host's interfaces.
type AddrChange struct {
	Addr  netip.Addr
	Link  int // interface index: an address on two interfaces counts twice
	Added bool
}

// AddrWatcher follows the host's addresses.
type AddrWatcher interface {
	// Watch sends every address present when it is called as added, then each change,
	// until ctx ends or it fails.
	Watch(ctx context.Context, changes chan<- AddrChange) error
}

type addrOnLink struct {
	addr netip.Addr
	link int
}

// SetHASuspend replaces the virtual services that have ha_suspend (on start and on
// every reload); the suspension of each follows at once from the addresses known.
func (m *Manager) SetHASuspend(h HASuspend) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.haSuspend = make(HASuspend, len(h))
	for vs, addrs := range h {
		norm := make([]netip.Addr, len(addrs))
		for i, a := range addrs {
			norm[i] = hostAddr(a)
		}
		m.haSuspend[vs] = norm
	}
	m.updateSuspendedLocked()
}

// FollowAddresses feeds the host's address changes from w into ha_suspend until ctx
// ends. Until w has reported them, the host is taken to have no address: virtual
// services with ha_suspend start suspended, as keepalived's do until its netlink
// dump.
func (m *Manager) FollowAddresses(ctx context.Context, w AddrWatcher) error {
	changes := make(chan AddrChange, 64)
	errc := make(chan error, 1)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { errc <- w.Watch(wctx, changes) }()
	for {
		select {
		case ch := <-changes:
			m.applyAddrChange(ch)
		case err := <-errc:
			return err
		}
	}
}

func (m *Manager) applyAddrChange(ch AddrChange) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := addrOnLink{hostAddr(ch.Addr), ch.Link}
	_, had := m.hostAddrs[key]
	if had == ch.Added {
		return // a repeat (the dump and a notification of the same address)
	}
	if ch.Added {
		m.hostAddrs[key] = struct{}{}
		m.addrCount[key.addr]++
	} else {
		delete(m.hostAddrs, key)
		if m.addrCount[key.addr]--; m.addrCount[key.addr] <= 0 {
			delete(m.addrCount, key.addr)
		}
	}
	m.updateSuspendedLocked()
}

// hostAddr is the form addresses are compared in: no IPv4-in-IPv6 mapping, no zone.
func hostAddr(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// updateSuspendedLocked derives which virtual services are suspended and logs each
// real server whose checkers stop or start, as keepalived does.
func (m *Manager) updateSuspendedLocked() {
	next := map[table.ServiceKey]bool{}
	for vs, addrs := range m.haSuspend {
		present := false
		for _, a := range addrs {
			present = present || m.addrCount[a] > 0
		}
		if !present {
			next[vs] = true
		}
	}
	for _, srv := range m.servers {
		vs := srv.rs.VS
		if next[vs] == m.suspended[vs] {
			continue
		}
		verb := "activating"
		if next[vs] {
			verb = "suspending"
		}
		m.logger.Info(verb+" health checkers (ha_suspend)", "rs", srv.rsName, "vs", srv.routerVSName)
	}
	m.suspended = next
}
