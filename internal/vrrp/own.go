package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// What the node put in and something else took out is handled as keepalived does: a
// master whose virtual address, route or rule is deleted resigns and comes back after
// Skew_Time (putting it back), a deleted static address, route or rule is put back,
// and so are the static ones of an interface that comes up. Entries marked no_track
// are left alone.

// watchOwn calls changed after every notification that may mean one of the node's
// addresses, routes or rules is gone, an interface came up, or an instance's source
// address came (back): address changes, rule deletions, deletions of routes marked as
// ours, link changes. After an overflow of
// its socket it calls changed too (what was lost is found by looking). It returns when
// ctx ends.
func (n *Node) watchOwn(ctx context.Context, buf RcvBuf, changed func()) {
	groups := []uint{unix.RTNLGRP_LINK, unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR, unix.RTNLGRP_IPV4_ROUTE,
		unix.RTNLGRP_IPV6_ROUTE, unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE}
	var failed string
	for ctx.Err() == nil {
		var s *nl.NetlinkSocket
		var err error
		if n.ns.IsOpen() {
			s, err = nl.SubscribeAt(n.ns, netns.None(), unix.NETLINK_ROUTE, groups...)
		} else {
			s, err = nl.Subscribe(unix.NETLINK_ROUTE, groups...)
		}
		if err == nil && buf.Bytes > 0 {
			err = s.SetReceiveBufferSize(buf.Bytes, buf.Force)
		}
		if err == nil {
			changed() // whatever happened while there was no subscription
			err = n.readOwn(ctx, s, changed)
		}
		if s != nil {
			s.Close()
		}
		if ctx.Err() != nil {
			return
		}
		if err.Error() != failed {
			n.logger.Warn("following address, route and rule changes; trying again every second", "err", err)
			failed = err.Error()
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// readOwn reads s until ctx ends or it fails.
func (n *Node) readOwn(ctx context.Context, s *nl.NetlinkSocket, changed func()) error {
	stop := context.AfterFunc(ctx, s.Close)
	defer stop()
	for {
		msgs, _, err := s.Receive()
		if errors.Is(err, unix.ENOBUFS) {
			changed()
			continue
		}
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if mayConcernOwn(m.Header.Type, m.Data) {
				changed()
				break
			}
		}
	}
}

// mayConcernOwn says whether a notification can mean that something of ours is gone
// or that an interface came up.
func mayConcernOwn(typ uint16, data []byte) bool {
	switch typ {
	case unix.RTM_DELADDR, unix.RTM_NEWADDR, unix.RTM_DELRULE, unix.RTM_NEWLINK:
		return true
	case unix.RTM_DELROUTE:
		// rtmsg: family, dst_len, src_len, tos, table, protocol, …
		return len(data) > 5 && data[5] == rtprotKeepalived
	}
	return false
}

// rtprotKeepalived is the protocol of the routes the node puts in, unless no_track
// ones name another.
const rtprotKeepalived = 18

// kernelState is what the kernel has of the objects a plan can hold.
type kernelState struct {
	addrs  map[string]bool      // addrKey
	ips    map[int][]netip.Addr // the addresses on each interface, by index
	routes map[string]bool      // routeKey
	rules  []netlink.Rule
}

// readKernelState lists the addresses, and the routes and rules when asked (a full
// routing table can be large).
func readKernelState(h *netlink.Handle, routes, rules bool) (*kernelState, error) {
	ks := &kernelState{addrs: map[string]bool{}, ips: map[int][]netip.Addr{}, routes: map[string]bool{}}
	addrs, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("listing addresses: %w", err)
	}
	for _, a := range addrs {
		ks.addrs[addrKey(a.LinkIndex, a.IPNet)] = true
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			ks.ips[a.LinkIndex] = append(ks.ips[a.LinkIndex], ip.Unmap())
		}
	}
	if routes {
		if err := ks.readRoutes(h, rtprotKeepalived); err != nil {
			return nil, err
		}
	}
	if rules {
		if err := ks.readRules(h); err != nil {
			return nil, err
		}
	}
	return ks, nil
}

// readRules lists every rule.
func (ks *kernelState) readRules(h *netlink.Handle) (err error) {
	if ks.rules, err = h.RuleList(netlink.FAMILY_ALL); err != nil {
		return fmt.Errorf("listing rules: %w", err)
	}
	return nil
}

// readRoutes adds the routes of every table marked with protocol proto.
func (ks *kernelState) readRoutes(h *netlink.Handle, proto uint8) error {
	list, err := h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC, Protocol: netlink.RouteProtocol(proto)},
		netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return fmt.Errorf("listing routes: %w", err)
	}
	for i := range list {
		ks.routes[routeKey(&list[i])] = true
	}
	return nil
}

// hasIP says whether interface index has address a.
func (ks *kernelState) hasIP(index int, a netip.Addr) bool {
	return slices.Contains(ks.ips[index], a)
}

func addrKey(index int, ipn *net.IPNet) string {
	ones, _ := ipn.Mask.Size()
	return fmt.Sprintf("%d %s/%d", index, ipn.IP, ones)
}

// routeKey is what tells routes apart in a table: destination, metric and tos.
func routeKey(r *netlink.Route) string {
	dst, family := r.Dst, r.Family
	if dst != nil {
		family = netlink.FAMILY_V4
		if dst.IP.To4() == nil {
			family = netlink.FAMILY_V6
		}
	} else if family == netlink.FAMILY_V6 {
		dst = &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
	} else {
		dst = &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
	}
	table, metric := r.Table, r.Priority
	if table == unix.RT_TABLE_UNSPEC {
		table = unix.RT_TABLE_MAIN
	}
	if family == netlink.FAMILY_V6 && metric == 0 {
		metric = 1024 // the kernel's default for IPv6
	}
	ones, _ := dst.Mask.Size()
	return fmt.Sprintf("%d %s/%d %d %d", table, dst.IP, ones, metric, r.Tos)
}

// ruleMatches says whether the kernel's rule k is the planned rule w.
func ruleMatches(k netlink.Rule, w *netlink.Rule) bool {
	ipnEqual := func(a, b *net.IPNet) bool {
		return a == nil && b == nil || a != nil && b != nil && a.String() == b.String()
	}
	table := w.Table
	if table == 0 && w.Goto < 0 && w.Type == 0 {
		table = unix.RT_TABLE_MAIN
	}
	return (w.Priority < 0 || k.Priority == w.Priority) && k.Family == w.Family && k.Table == table &&
		ipnEqual(k.Src, w.Src) && ipnEqual(k.Dst, w.Dst) && k.Mark == w.Mark && k.IifName == w.IifName &&
		k.OifName == w.OifName && k.Invert == w.Invert
}

// planObject is one address, route or rule of a plan: in words, whether it is
// no_track, and as a plan of that object alone.
type planObject struct {
	what    string
	noTrack bool
	plan    *addressPlan
}

// objects lists every object of p, each as a plan of its own.
func (p *addressPlan) objects() []planObject {
	var out []planObject
	for _, a := range p.addrs {
		out = append(out, planObject{fmt.Sprintf("address %v dev %s", a.addr.IPNet, a.link.Attrs().Name), a.noTrack, &addressPlan{addrs: []plannedAddr{a}}})
	}
	for _, r := range p.routes {
		out = append(out, planObject{fmt.Sprintf("route %v", r.route.Dst), r.noTrack, &addressPlan{routes: []plannedRoute{r}}})
	}
	for _, r := range p.rules {
		out = append(out, planObject{"rule " + r.rule.String(), r.noTrack, &addressPlan{rules: []plannedRule{r}}})
	}
	return out
}

// missing returns the tracked objects of p (those not no_track) the kernel lacks.
func (p *addressPlan) missing(ks *kernelState) []planObject {
	var out []planObject
	for _, o := range p.objects() {
		if !o.noTrack && !ks.has(o.plan) {
			out = append(out, o)
		}
	}
	return out
}

// has says whether the kernel has the objects of p.
func (ks *kernelState) has(p *addressPlan) bool {
	for _, a := range p.addrs {
		if !ks.addrs[addrKey(a.link.Attrs().Index, a.addr.IPNet)] {
			return false
		}
	}
	for _, r := range p.routes {
		if !ks.routes[routeKey(r.route)] {
			return false
		}
	}
	for _, r := range p.rules {
		if !slices.ContainsFunc(ks.rules, func(k netlink.Rule) bool { return ruleMatches(k, r.rule) }) {
			return false
		}
	}
	return true
}

// addEach adds p's objects one by one and returns those that could not be added
// (by description), with the errors: an object that never went in was not deleted.
func (p *addressPlan) addEach(h *netlink.Handle) (failed map[string]bool, err error) {
	var errs []error
	for _, o := range p.objects() {
		if err := o.plan.add(h); err != nil {
			if failed == nil {
				failed = map[string]bool{}
			}
			failed[o.what] = true
			errs = append(errs, err)
		}
	}
	return failed, errors.Join(errs...)
}

// restoreStatic puts back what of the static entries is missing (keepalived's
// "Restoring deleted static address/route/rule"). A failure is logged once until it
// changes: an entry on an interface that is down cannot go back before it comes up.
func (n *Node) restoreStatic(h *netlink.Handle, static *addressPlan, failed map[string]string) {
	if len(static.addrs)+len(static.routes)+len(static.rules) == 0 {
		return
	}
	ks, err := readKernelState(h, len(static.routes) > 0, len(static.rules) > 0)
	if err != nil {
		n.logger.Warn("checking the static entries", "err", err)
		return
	}
	for _, o := range static.missing(ks) {
		err := o.plan.add(h)
		if err == nil {
			delete(failed, o.what)
			n.logger.Info("Restoring deleted static " + o.what)
			continue
		}
		if failed[o.what] != err.Error() {
			failed[o.what] = err.Error()
			n.logger.Warn("cannot restore deleted static "+o.what, "err", err)
		}
	}
}
