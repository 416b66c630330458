package config

import (
	"cmp"
	"slices"
)

// rtprotKeepalived is the route and rule protocol keepalived marks its own with.
const rtprotKeepalived = 18

// routesAndRules checks the static and virtual routes and rules as keepalived does
// after reading each: what it cannot track, track groups, and the preferences it
// gives rules that have none.
func (f *finisher) routesAndRules() {
	groups := map[string]*TrackGroup{}
	instances := map[string]bool{}
	for _, vi := range f.cfg.Instances {
		instances[vi.Name] = true
	}
	for _, g := range f.cfg.TrackGroups {
		if _, dup := groups[g.Name]; dup {
			f.d.errorf(g.Pos, "track_group %s is already defined", g.Name)
		}
		groups[g.Name] = g
		if len(g.Members) == 0 {
			f.d.warnf(g.Pos, "track_group %s has no vrrp_instance; it tracks nothing", g.Name)
		}
		for _, m := range g.Members {
			if !instances[m] {
				f.d.warnf(g.Pos, "vrrp instance %s specified in track group %s doesn't exist - ignoring", m, g.Name)
			}
		}
	}
	// group resolves a static entry's track_group: keepalived reads the file once, so
	// a group defined below its first use is not found there.
	group := func(name string, at Pos, noTrack bool, what string) string {
		g := groups[name]
		switch {
		case name == "":
		case g == nil || g.Pos.File == at.File && g.Pos.Line > at.Line:
			f.d.warnf(at, "track_group %s not found", name)
		case noTrack:
			f.d.warnf(at, "%s has both track_group and no_track set - not tracking", what)
		default:
			return name
		}
		return ""
	}
	var rules []*Rule
	// entryGroup resolves an entry's track_group: static entries only, and only those
	// with a device to track (noDev says why not, keepalived's words).
	entryGroup := func(name string, at Pos, static, noTrack bool, dev, what, noDev string) string {
		switch {
		case name == "":
		case !static:
			f.d.errorf(at, "track_group is for static_ipaddress, static_routes and static_rules only")
		case dev == "":
			f.d.warnf(at, "%s", noDev)
		default:
			return group(name, at, noTrack, what)
		}
		return ""
	}
	routes := func(list []Route, static bool) {
		for i := range list {
			r := &list[i]
			f.iface(r.Dev, r.Pos)
			for _, nh := range r.Nexthops {
				f.iface(nh.Dev, r.Pos)
			}
			f.route(r)
			r.TrackGroup = entryGroup(r.TrackGroup, r.Pos, static, r.NoTrack, r.Dev, "Static route",
				"Static route cannot have track group if no oif specified")
		}
	}
	ruleList := func(list []Rule, static bool) {
		for i := range list {
			r := &list[i]
			f.iface(r.IIF, r.Pos)
			f.iface(r.OIF, r.Pos)
			for _, why := range r.Ignored {
				f.d.warnf(r.Pos, "rule: %s; ignored", why)
			}
			if !r.NoTrack && r.Protocol != nil && *r.Protocol != rtprotKeepalived {
				f.d.warnf(r.Pos, "Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol")
				r.Protocol = nil
			}
			r.TrackGroup = entryGroup(r.TrackGroup, r.Pos, static, r.NoTrack, r.IIF, "Static rule",
				"Static rule cannot have track_group if dev/iif not specified")
			rules = append(rules, r)
		}
	}
	addresses := func(list []IPAddress, static bool) {
		for i := range list {
			a := &list[i]
			f.address(a)
			a.TrackGroup = entryGroup(a.TrackGroup, a.Pos, static, a.NoTrack, a.Dev, "Static address", "")
		}
	}
	addresses(f.cfg.StaticAddresses, true)
	routes(f.cfg.StaticRoutes, true)
	ruleList(f.cfg.StaticRules, true)
	for _, vi := range f.cfg.Instances {
		addresses(vi.VirtualIPs, false)
		addresses(vi.ExcludedIPs, false)
		routes(vi.VirtualRoutes, false)
		ruleList(vi.VirtualRules, false)
	}
	f.rulePreferences(rules)
}

// address applies keepalived's checks to one address.
func (f *finisher) address(a *IPAddress) {
	switch {
	case a.Prefix.Addr().Is6() && a.Broadcast != "":
		f.d.errorf(a.Pos, "address %s: an IPv6 address has no broadcast address", a.Prefix)
	case a.Broadcast != "" && a.Peer.IsValid():
		f.d.warnf(a.Pos, "Cannot specify broadcast and peer addresses - ignoring broadcast address")
		a.Broadcast = ""
	case (a.Broadcast == "+" || a.Broadcast == "-") && a.Prefix.Bits() > 30:
		f.d.warnf(a.Pos, "Address prefix length %d too long for broadcast", a.Prefix.Bits())
		a.Broadcast = ""
	}
	if a.Prefix.Addr().Is6() {
		if a.Scope != "" {
			f.d.warnf(a.Pos, "Cannot specify scope for IPv6 addresses (%s) - ignoring scope", a.Prefix)
			a.Scope = ""
		}
		if a.Label != "" {
			f.d.warnf(a.Pos, "Cannot specify label for IPv6 addresses (%s) - ignoring label", a.Prefix)
			a.Label = ""
		}
	} else if a.PreferredLft != "" {
		f.d.warnf(a.Pos, "address %s: preferred_lft is for IPv6 addresses; ignored", a.Prefix)
		a.PreferredLft = ""
	}
	if a.Peer.IsValid() && a.Peer.Is4() != a.Prefix.Addr().Is4() {
		f.d.errorf(a.Pos, "address %s: peer %s is of the other family", a.Prefix, a.Peer)
	}
}

// route applies keepalived's checks to one route.
func (f *finisher) route(r *Route) {
	for _, why := range r.Ignored {
		f.d.warnf(r.Pos, "route %s: %s; ignored", r.Dest, why)
	}
	for _, m := range r.Metrics.Locked {
		if m != "mtu" && m != "rto_min" {
			f.d.warnf(r.Pos, "route %s: lock is supported on mtu and rto_min only; %s is set unlocked", r.Dest, m)
		}
	}
	for _, nh := range r.Nexthops {
		if nh.Realms != "" {
			f.d.warnf(r.Pos, "route %s: realms on a nexthop is not supported; ignored", r.Dest)
		}
	}
	if r.NoTrack {
		return
	}
	if r.Protocol != "" && r.Protocol != "keepalived" && r.Protocol != "18" {
		f.d.warnf(r.Pos, "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol")
		r.Protocol = ""
	}
	if r.Dev == "" {
		f.d.warnf(r.Pos, "Warning - cannot track route %s with no interface specified, not tracking", r.Dest)
		// Marked as one that could be tracked all the same, as keepalived does.
		r.NoTrack, r.Protocol = true, "keepalived"
	}
}

// rulePreferences gives each rule without a preference keepalived's: 16384 for the
// first of its family, one less for each next, in the order of the file.
func (f *finisher) rulePreferences(rules []*Rule) {
	fileOrder := map[string]int{}
	for _, r := range rules {
		if _, ok := fileOrder[r.Pos.File]; !ok {
			fileOrder[r.Pos.File] = len(fileOrder)
		}
	}
	slices.SortStableFunc(rules, func(a, b *Rule) int {
		return cmp.Or(cmp.Compare(fileOrder[a.Pos.File], fileOrder[b.Pos.File]), cmp.Compare(a.Pos.Line, b.Pos.Line))
	})
	next := map[string]int{"inet": 16384, "inet6": 16384}
	for _, r := range rules {
		if r.Preference != 0 {
			continue
		}
		r.Preference = next[r.Family]
		next[r.Family]--
		f.d.warnf(r.Pos, "Rule has no preference specified - setting to %d. This is probably not what you want.", r.Preference)
	}
}
