package vrrpmodule

import (
	"cmp"
	"net/netip"

	"github.com/govs/govs/internal/rtnames"
	"github.com/govs/govs/internal/snmp/agentx"
	"github.com/govs/govs/internal/vrrp"
)

// Routes and rules are numbered as addresses are: the static ones are instance 0, then
// each instance's virtual ones under its position. keepalived's columns for what govs
// does not keep (a route's from, expires, pref and encap, a next hop's realms and
// encap, a rule's l3mdev) are never there: govs refuses or ignores those words.

// listed is one instance's routes or rules (instance 0: the static ones), whether they
// are meant to be in (static ones for the node's whole life, virtual ones while the
// instance is master) and the device of a route that names none. An entry shows as set
// when it is meant to be in and the kernel has it, as keepalived's flag, which says
// that adding it succeeded.
type listed[T any] struct {
	instance uint32
	entries  []T
	wanted   bool
	dev      string
}

// lists are the static entries, then each instance's (of).
func lists[T any](v view, static []T, of func(vrrp.InstanceConfig) []T) []listed[T] {
	out := []listed[T]{{0, static, true, ""}}
	for i, in := range v.run.Instances {
		out = append(out, listed[T]{uint32(i + 1), of(in), v.isMaster(in.Name), in.Interface})
	}
	return out
}

func routeLists(v view) []listed[vrrp.Route] {
	return lists(v, v.run.Static.Routes, func(in vrrp.InstanceConfig) []vrrp.Route { return in.Routes })
}

// isMaster says whether instance name is master now.
func (v view) isMaster(name string) bool {
	return v.status[name].State == vrrp.StateMaster
}

// routeTypes are vrrpRouteType's values of the route types; any other (unicast,
// local) is unicast(1), and a multipath route is multipath(2) whatever its type.
var routeTypes = map[string]int{"blackhole": 3, "anycast": 4, "multicast": 5, "broadcast": 6,
	"unreachable": 7, "prohibit": 8, "throw": 9, "nat": 10}

// routes is vrrpRouteTable.
func routes(v view) []agentx.Variable {
	var vars []agentx.Variable
	for _, l := range routeLists(v) {
		for j, r := range l.entries {
			vars = append(vars, routeVars(v, []uint32{l.instance, uint32(j + 1)}, r, l.wanted && v.hasRoute(r, l.dev))...)
		}
	}
	return vars
}

func routeVars(v view, idx []uint32, r vrrp.Route, set bool) []agentx.Variable {
	col := func(c uint32) agentx.OID { return routeEntry.Append(c).Append(idx...) }
	typ := cmp.Or(routeTypes[r.Type], 1)
	if len(r.Nexthops) > 0 {
		typ = 2
	}
	m := r.Metrics
	vars := []agentx.Variable{
		agentx.Int(col(2), addrType(r.Dst.Addr())),
		agentx.Octets(col(3), addrBytes(r.Dst.Addr())),
		agentx.Unsigned(col(4), uint64(r.Dst.Bits())),
		agentx.Unsigned(col(8), uint64(r.Metric)),
		agentx.Int(col(9), inetScope(r.Scope)),
		agentx.Int(col(10), typ),
		agentx.Unsigned(col(13), uint64(r.Table)),
		agentx.Int(col(14), agentx.Truth(set)),
		agentx.Int(col(19), agentx.Truth(m.ECN)),
		agentx.Int(col(20), agentx.Truth(m.QuickACK)),
	}
	if r.Gateway.IsValid() {
		vars = append(vars, agentx.Octets(col(5), addrBytes(r.Gateway)))
	}
	// A lone next hop is the secondary gateway too (keepalived's "or" route of old).
	if len(r.Nexthops) == 1 && r.Nexthops[0].Gateway.IsValid() {
		vars = append(vars, agentx.Octets(col(6), addrBytes(r.Nexthops[0].Gateway)))
	}
	if r.Src.IsValid() {
		vars = append(vars, agentx.Octets(col(7), addrBytes(r.Src)))
	}
	vars = append(vars, devVars(v, col(11), col(12), r.Dev)...)
	if r.Tos != 0 {
		vars = append(vars, agentx.Unsigned(col(17), uint64(r.Tos)))
	}
	// A tracked route is marked as keepalived's (18) whatever the configuration says;
	// the column is protocol + 1, as its SNMP agent writes it.
	if !r.NoTrack || r.Protocol != 0 {
		vars = append(vars, agentx.Int(col(18), int(cmp.Or(r.Protocol, 18))+1))
	}
	// Each metric given, in keepalived's units (ms for rtt and rttvar), and its lock:
	// govs locks mtu and rto_min only.
	for _, c := range []struct {
		col, lockCol uint32
		v            uint32
		locked       bool
	}{
		{22, 23, m.MTU, m.MTULock},
		{24, 0, uint32(m.Hoplimit), false},
		{27, 28, m.RTT / 8, false},
		{29, 30, m.RTTVar / 4, false},
		{31, 32, m.Reordering, false},
		{33, 0, m.Window, false},
		{34, 35, m.Cwnd, false},
		{36, 37, m.Ssthresh, false},
		{38, 39, m.RtoMin, m.RtoMinLock},
		{40, 0, m.InitCwnd, false},
		{41, 0, m.InitRwnd, false},
	} {
		if c.v == 0 {
			continue
		}
		vars = append(vars, agentx.Unsigned(col(c.col), uint64(c.v)))
		if c.lockCol != 0 {
			vars = append(vars, agentx.Int(col(c.lockCol), agentx.Truth(c.locked)))
		}
	}
	// keepalived's quirk: advmss shows when hoplimit is given, its lock when advmss is.
	if m.Hoplimit != 0 {
		vars = append(vars, agentx.Unsigned(col(25), uint64(m.AdvMSS)))
	}
	if m.AdvMSS != 0 {
		vars = append(vars, agentx.Int(col(26), agentx.Truth(false)))
	}
	if m.Congctl != "" {
		vars = append(vars, agentx.String(col(42), m.Congctl))
	}
	vars = append(vars, realmVars(col(44), col(45), r.Realms)...)
	if m.FastOpenNoCookie {
		vars = append(vars, agentx.Int(col(55), agentx.Truth(true)))
	}
	return vars
}

// devVars are the columns index and name of device dev, when one is named: its
// ifindex only while it exists.
func devVars(v view, index, name agentx.OID, dev string) []agentx.Variable {
	if dev == "" {
		return nil
	}
	var vars []agentx.Variable
	if l, ok := v.link(dev); ok {
		vars = append(vars, agentx.Int(index, l.Index))
	}
	return append(vars, agentx.String(name, dev))
}

// realmVars are the realm columns dst and src of realms FROM<<16 | TO, each there
// when set (the destination when either is).
func realmVars(dst, src agentx.OID, realms uint32) []agentx.Variable {
	var vars []agentx.Variable
	if realms != 0 {
		vars = append(vars, agentx.Unsigned(dst, uint64(realms&0xffff)))
	}
	if realms>>16 != 0 {
		vars = append(vars, agentx.Unsigned(src, uint64(realms>>16)))
	}
	return vars
}

// nextHops is vrrpRouteNextHopTable: the next hops of each multipath route, indexed
// by the route's row and the hop's position.
func nextHops(v view) []agentx.Variable {
	var vars []agentx.Variable
	for _, l := range routeLists(v) {
		for j, r := range l.entries {
			for k, nh := range r.Nexthops {
				col := func(c uint32) agentx.OID { return nextHopEntry.Append(c, l.instance, uint32(j+1), uint32(k+1)) }
				vars = append(vars, agentx.Int(col(7), agentx.Truth(nh.OnLink)))
				if nh.Gateway.IsValid() {
					vars = append(vars, agentx.Int(col(2), addrType(nh.Gateway)), agentx.Octets(col(3), addrBytes(nh.Gateway)))
				}
				vars = append(vars, devVars(v, col(4), col(5), nh.Dev)...)
				if nh.Weight != 0 {
					vars = append(vars, agentx.Unsigned(col(6), uint64(nh.Weight)))
				}
			}
		}
	}
	return vars
}

// ruleActions are vrrpRuleAction's values: the kernel's FR_ACT_*.
var ruleActions = map[string]int{"": 1, "goto": 2, "nop": 3, "blackhole": 6, "unreachable": 7, "prohibit": 8}

// rules is vrrpRuleTable.
func rules(v view) []agentx.Variable {
	var vars []agentx.Variable
	for _, l := range lists(v, v.run.Static.Rules, func(in vrrp.InstanceConfig) []vrrp.Rule { return in.Rules }) {
		for j, r := range l.entries {
			vars = append(vars, ruleVars([]uint32{l.instance, uint32(j + 1)}, r, l.wanted && v.hasRule(r))...)
		}
	}
	return vars
}

func ruleVars(idx []uint32, r vrrp.Rule, set bool) []agentx.Variable {
	col := func(c uint32) agentx.OID { return ruleEntry.Append(c).Append(idx...) }
	var dir string
	switch to, from := r.To.IsValid(), r.From.IsValid(); {
	case to && from:
		dir = "both"
	case to:
		dir = "to"
	case from:
		dir = "from"
	}
	vars := []agentx.Variable{
		agentx.String(col(2), dir),
		agentx.Int(col(7), agentx.Truth(set)),
		agentx.Int(col(8), agentx.Truth(r.Not)),
		agentx.Unsigned(col(15), uint64(r.Tos)),
		agentx.Int(col(23), ruleActions[r.Action]),
	}
	prefix := func(typ, addr, mask uint32, p netip.Prefix) {
		if p.IsValid() {
			vars = append(vars, agentx.Int(col(typ), addrType(p.Addr())), agentx.Octets(col(addr), addrBytes(p.Addr())),
				agentx.Unsigned(col(mask), uint64(p.Bits())))
		}
	}
	prefix(3, 4, 5, cmp.Or(r.To, r.From)) // the obsolete columns: to, else from
	prefix(9, 10, 11, r.To)
	prefix(12, 13, 14, r.From)
	if r.Action == "" {
		vars = append(vars, agentx.Unsigned(col(6), uint64(r.Table)), agentx.Unsigned(col(24), uint64(r.Table)))
	}
	if r.FwMark != 0 || r.FwMask != 0 {
		vars = append(vars, agentx.Unsigned(col(16), uint64(r.FwMark)))
	}
	if r.FwMask != 0 {
		vars = append(vars, agentx.Unsigned(col(17), uint64(r.FwMask)))
	}
	vars = append(vars, realmVars(col(18), col(19), r.Realms)...)
	if r.IIF != "" {
		vars = append(vars, agentx.String(col(20), r.IIF))
	}
	if r.OIF != "" {
		vars = append(vars, agentx.String(col(21), r.OIF))
	}
	if r.Action == "goto" {
		vars = append(vars, agentx.Unsigned(col(22), uint64(r.Goto)))
	}
	if r.Priority != 0 {
		vars = append(vars, agentx.Unsigned(col(25), uint64(r.Priority)))
	}
	if r.SuppressPrefixLen >= 0 {
		vars = append(vars, agentx.Unsigned(col(26), uint64(r.SuppressPrefixLen)))
	}
	if r.SuppressIfGroup >= 0 {
		vars = append(vars, agentx.String(col(27), rtnames.Name(rtnames.Dir, rtnames.Group, uint32(r.SuppressIfGroup))))
	}
	if r.TunnelID != 0 {
		vars = append(vars, agentx.Unsigned(col(28), r.TunnelID>>32), agentx.Unsigned(col(29), r.TunnelID&0xffffffff))
	}
	if r.UIDRange != nil {
		vars = append(vars, agentx.Unsigned(col(30), uint64(r.UIDRange[0])), agentx.Unsigned(col(31), uint64(r.UIDRange[1])))
	}
	return vars
}
