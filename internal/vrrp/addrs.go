package vrrp

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// scopes maps keepalived's scope words to rtnetlink scopes.
var scopes = map[string]netlink.Scope{
	"":        netlink.SCOPE_UNIVERSE,
	"global":  netlink.SCOPE_UNIVERSE,
	"site":    netlink.SCOPE_SITE,
	"link":    netlink.SCOPE_LINK,
	"host":    netlink.SCOPE_HOST,
	"nowhere": netlink.SCOPE_NOWHERE,
}

var routeTypes = map[string]int{
	"":            unix.RTN_UNICAST,
	"unicast":     unix.RTN_UNICAST,
	"blackhole":   unix.RTN_BLACKHOLE,
	"unreachable": unix.RTN_UNREACHABLE,
	"prohibit":    unix.RTN_PROHIBIT,
	"throw":       unix.RTN_THROW,
	"local":       unix.RTN_LOCAL,
	"broadcast":   unix.RTN_BROADCAST,
	"multicast":   unix.RTN_MULTICAST,
	"anycast":     unix.RTN_ANYCAST,
	"nat":         unix.RTN_NAT,
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// addressPlan is the netlink objects an instance installs as master, resolved once.
type addressPlan struct {
	addrs  []plannedAddr
	routes []plannedRoute
	rules  []plannedRule
}

type plannedRoute struct {
	route   *netlink.Route
	mode    RouteMode
	noTrack bool
}

type plannedRule struct {
	rule    *netlink.Rule
	noTrack bool
}

type plannedAddr struct {
	link    netlink.Link
	addr    *netlink.Addr
	noTrack bool
}

// fresh is a copy of the address to hand to the library, which rewrites what it is
// given (an IPv4 broadcast of 0.0.0.0, meaning none, becomes nil, and nil would next
// time mean "compute one").
func (a plannedAddr) fresh() *netlink.Addr {
	c := *a.addr
	return &c
}

// planAddresses resolves devices and builds the netlink objects of an instance.
// Addresses and routes without a dev go on defaultDev: the instance's interface, or its
// VMAC.
func planAddresses(h *netlink.Handle, in *InstanceConfig, defaultDev string) (*addressPlan, error) {
	p := &addressPlan{}
	links := map[string]netlink.Link{}
	link := func(name string) (netlink.Link, error) {
		if name == "" {
			name = defaultDev
		}
		if l, ok := links[name]; ok {
			return l, nil
		}
		l, err := linkByName(h, name)
		if err != nil {
			return nil, err
		}
		links[name] = l
		return l, nil
	}
	for i, v := range append(append([]VIP(nil), in.VIPs...), in.ExcludedVIPs...) {
		dev := cmp.Or(v.vmac, v.Dev)
		if in.UseVMAC && v.vmac == "" && v.Dev == in.Interface && v.Prefix.Addr().Is6() == in.IPv6() {
			dev = "" // named with the instance's interface, it goes on the VMAC all the same (keepalived)
		}
		l, err := link(dev)
		if err != nil {
			return nil, fmt.Errorf("address %d (%v): %w", i+1, v.Prefix, err)
		}
		scope, ok := scopes[v.Scope]
		if !ok {
			return nil, fmt.Errorf("address %v: unknown scope %q", v.Prefix, v.Scope)
		}
		p.addrs = append(p.addrs, plannedAddr{link: l, addr: netlinkAddr(v, scope), noTrack: v.NoTrack})
	}
	for i, r := range in.Routes {
		rt, err := netlinkRoute(r, link)
		if err != nil {
			return nil, fmt.Errorf("route %d (%v): %w", i+1, r.Dst, err)
		}
		p.routes = append(p.routes, plannedRoute{route: rt, mode: r.Mode, noTrack: r.NoTrack})
	}
	for _, r := range in.Rules {
		p.rules = append(p.rules, plannedRule{rule: netlinkRule(r), noTrack: r.NoTrack})
	}
	return p, nil
}

// garpTargets lists the addresses to announce on becoming master, each with the
// device it is added to (virtual_ipaddress first, then virtual_ipaddress_excluded, in
// configuration order, as keepalived sends them).
func (p *addressPlan) garpTargets() []garpTarget {
	out := make([]garpTarget, 0, len(p.addrs))
	for _, a := range p.addrs {
		ip, ok := netip.AddrFromSlice(a.addr.IP)
		if !ok {
			continue
		}
		attrs := a.link.Attrs()
		t := garpTarget{addr: ip.Unmap(), ifindex: attrs.Index, dev: attrs.Name, mac: attrs.HardwareAddr, base: attrs.Name}
		if typ := a.link.Type(); typ == "macvlan" || typ == "ipvlan" {
			t.parent = attrs.ParentIndex // a VMAC: paced with its base interface
		}
		out = append(out, t)
	}
	return out
}

// add installs everything; objects that already exist are fine (a reload, or an
// address an operator added by hand).
func (p *addressPlan) add(h *netlink.Handle) error {
	var errs []error
	for _, a := range p.addrs {
		if err := h.AddrAdd(a.link, a.fresh()); err != nil && !errors.Is(err, syscall.EEXIST) {
			errs = append(errs, fmt.Errorf("adding %v to %s: %w", a.addr.IPNet, a.link.Attrs().Name, err))
		}
	}
	for _, r := range p.routes {
		if err := addRoute(h, r); err != nil {
			errs = append(errs, fmt.Errorf("adding route %v: %w", r.route.Dst, err))
		}
	}
	for _, r := range p.rules {
		if err := h.RuleAdd(r.rule); err != nil && !errors.Is(err, syscall.EEXIST) {
			errs = append(errs, fmt.Errorf("adding rule %v: %w", r.rule, err))
		}
	}
	return errors.Join(errs...)
}

// remove deletes everything, ignoring what is already gone.
func (p *addressPlan) remove(h *netlink.Handle) error {
	gone := func(err error) bool {
		return err == nil || errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.ESRCH) ||
			errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENODEV)
	}
	var errs []error
	for _, r := range p.rules {
		if err := h.RuleDel(r.rule); !gone(err) {
			errs = append(errs, fmt.Errorf("removing rule %v: %w", r.rule, err))
		}
	}
	for _, r := range p.routes {
		if err := h.RouteDel(r.route); !gone(err) {
			errs = append(errs, fmt.Errorf("removing route %v: %w", r.route.Dst, err))
		}
	}
	for _, a := range p.addrs {
		if err := h.AddrDel(a.link, a.fresh()); !gone(err) {
			errs = append(errs, fmt.Errorf("removing %v from %s: %w", a.addr.IPNet, a.link.Attrs().Name, err))
		}
	}
	return errors.Join(errs...)
}

// without returns the part of p that other does not also install, so a reload removes
// only what is no longer configured.
func (p *addressPlan) without(other *addressPlan) *addressPlan {
	out := &addressPlan{}
	for _, a := range p.addrs {
		keep := true
		for _, b := range other.addrs {
			if a.link.Attrs().Index == b.link.Attrs().Index && a.addr.IPNet.String() == b.addr.IPNet.String() {
				keep = false
			}
		}
		if keep {
			out.addrs = append(out.addrs, a)
		}
	}
	for _, r := range p.routes {
		keep := true
		for _, o := range other.routes {
			if r.route.Dst.String() == o.route.Dst.String() && r.route.Table == o.route.Table {
				keep = false
			}
		}
		if keep {
			out.routes = append(out.routes, r)
		}
	}
	for _, r := range p.rules {
		keep := true
		for _, o := range other.rules {
			if r.rule.String() == o.rule.String() {
				keep = false
			}
		}
		if keep {
			out.rules = append(out.rules, r)
		}
	}
	return out
}

// netlinkAddr builds v as keepalived adds it.
func netlinkAddr(v VIP, scope netlink.Scope) *netlink.Addr {
	a := &netlink.Addr{IPNet: ipNet(v.Prefix), Label: v.Label, Scope: int(scope), Flags: v.Flags}
	if v.Peer.IsValid() {
		a.Peer = &net.IPNet{IP: v.Peer.AsSlice(), Mask: net.CIDRMask(v.Prefix.Bits(), v.Prefix.Addr().BitLen())}
	}
	if !v.Prefix.Addr().Is6() {
		// Only the broadcast address asked for: the library would compute one.
		a.Broadcast = net.IPv4zero
		if v.Broadcast.IsValid() {
			a.Broadcast = v.Broadcast.AsSlice()
		}
		return a
	}
	if !v.DAD {
		// A VIP must answer at once: duplicate address detection would keep it
		// tentative (unusable) for a second or more after a takeover.
		a.Flags |= unix.IFA_F_NODAD
	}
	if lft := preferredLft(v); lft >= 0 {
		a.PreferedLft, a.ValidLft = int(lft), math.MaxUint32
	}
	return a
}

// netlinkRoute builds r; link resolves a device name ("" is the instance's default).
func netlinkRoute(r Route, link func(string) (netlink.Link, error)) (*netlink.Route, error) {
	rt := &netlink.Route{Dst: ipNet(r.Dst), Table: r.Table, Priority: r.Metric, Protocol: netlink.RouteProtocol(cmp.Or(r.Protocol, rtprotKeepalived)),
		Tos: int(r.Tos), Realm: int(r.Realms)}
	if r.Dev != "" || !r.Gateway.IsValid() && r.Type == "" && len(r.Nexthops) == 0 {
		l, err := link(r.Dev)
		if err != nil {
			return nil, err
		}
		rt.LinkIndex = l.Attrs().Index
	}
	if r.Src.IsValid() {
		rt.Src = r.Src.AsSlice()
	}
	if r.Gateway.IsValid() {
		rt.Gw = r.Gateway.AsSlice()
	}
	if r.OnLink {
		rt.Flags |= int(netlink.FLAG_ONLINK)
	}
	for _, nh := range r.Nexthops {
		info := &netlink.NexthopInfo{Hops: max(nh.Weight, 1) - 1}
		if nh.Gateway.IsValid() {
			info.Gw = nh.Gateway.AsSlice()
		}
		if nh.Dev != "" {
			l, err := link(nh.Dev)
			if err != nil {
				return nil, err
			}
			info.LinkIndex = l.Attrs().Index
		}
		if nh.OnLink {
			info.Flags |= int(netlink.FLAG_ONLINK)
		}
		rt.MultiPath = append(rt.MultiPath, info)
	}
	scope, ok := scopes[r.Scope]
	if !ok {
		return nil, fmt.Errorf("unknown scope %q", r.Scope)
	}
	if r.Scope != "" {
		rt.Scope = scope
	}
	typ, ok := routeTypes[r.Type]
	if !ok {
		return nil, fmt.Errorf("unknown type %q", r.Type)
	}
	rt.Type = typ
	if typ != unix.RTN_UNICAST && r.Dev == "" {
		rt.LinkIndex = 0
	}
	m := r.Metrics
	rt.MTU, rt.MTULock, rt.AdvMSS, rt.Reordering, rt.Window = int(m.MTU), m.MTULock, int(m.AdvMSS), int(m.Reordering), int(m.Window)
	rt.Cwnd, rt.Ssthresh, rt.InitCwnd, rt.InitRwnd = int(m.Cwnd), int(m.Ssthresh), int(m.InitCwnd), int(m.InitRwnd)
	rt.Rtt, rt.RttVar, rt.RtoMin, rt.RtoMinLock, rt.Hoplimit = int(m.RTT), int(m.RTTVar), int(m.RtoMin), m.RtoMinLock, int(m.Hoplimit)
	rt.Congctl = m.Congctl
	if m.ECN {
		rt.Features = unix.RTAX_FEATURE_ECN
	}
	if m.QuickACK {
		rt.QuickACK = 1
	}
	if m.FastOpenNoCookie {
		rt.FastOpenNoCookie = 1
	}
	return rt, nil
}

// addRoute adds r as its mode says; one already there is fine (a reload, or one an
// operator added by hand).
func addRoute(h *netlink.Handle, r plannedRoute) error {
	var err error
	switch r.mode {
	case RouteAdd:
		err = h.RouteAdd(r.route)
	case RouteAppend:
		err = h.RouteAppend(r.route)
	default:
		// NLM_F_CREATE alone: the kernel puts it before a route of the same key,
		// as keepalived's default (ip route prepend).
		err = h.RouteAddEcmp(r.route)
	}
	if errors.Is(err, syscall.EEXIST) {
		return nil
	}
	return err
}

// netlinkRule builds r.
func netlinkRule(r Rule) *netlink.Rule {
	rule := netlink.NewRule()
	rule.Table = r.Table
	if r.Priority > 0 {
		rule.Priority = r.Priority
	}
	family := unix.AF_INET
	if r.Family == 6 || r.From.Addr().Is6() || r.To.Addr().Is6() {
		family = unix.AF_INET6
	}
	rule.Family = family
	if r.From.IsValid() {
		rule.Src = ipNet(r.From)
	}
	if r.To.IsValid() {
		rule.Dst = ipNet(r.To)
	}
	rule.IifName, rule.OifName, rule.Invert = r.IIF, r.OIF, r.Not
	if r.FwMark != 0 || r.FwMask != 0 {
		rule.Mark = r.FwMark
		if r.FwMask != 0 {
			m := r.FwMask
			rule.Mask = &m
		}
	}
	rule.Tos, rule.TunID = uint(r.Tos), uint(r.TunnelID)
	if r.Realms != 0 {
		rule.Flow = int(r.Realms)
	}
	rule.SuppressPrefixlen, rule.SuppressIfgroup = r.SuppressPrefixLen, r.SuppressIfGroup
	rule.IPProto, rule.Protocol = r.IPProto, cmp.Or(r.Protocol, rtprotKeepalived)
	if r.UIDRange != nil {
		rule.UIDRange = netlink.NewRuleUIDRange(r.UIDRange[0], r.UIDRange[1])
	}
	if r.SPort != nil {
		rule.Sport = netlink.NewRulePortRange(r.SPort[0], r.SPort[1])
	}
	if r.DPort != nil {
		rule.Dport = netlink.NewRulePortRange(r.DPort[0], r.DPort[1])
	}
	switch r.Action {
	case "goto":
		rule.Goto = r.Goto
	case "nop":
		rule.Type = unix.FR_ACT_NOP
	case "blackhole":
		rule.Type = unix.FR_ACT_BLACKHOLE
	case "prohibit":
		rule.Type = unix.FR_ACT_PROHIBIT
	case "unreachable":
		rule.Type = unix.FR_ACT_UNREACHABLE
	}
	return rule
}

// preferredLft is the preferred lifetime an IPv6 address gets, in seconds (-1:
// forever): its preferred_lft, else 0 for a /128 — keepalived's default, so that it is
// not chosen as a source address — and forever otherwise.
func preferredLft(v VIP) int64 {
	switch {
	case v.PreferredLft != nil:
		return *v.PreferredLft
	case v.Prefix.Bits() == 128:
		return 0
	}
	return -1
}
