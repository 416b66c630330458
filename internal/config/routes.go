package config

import (
	"net/netip"
	"strconv"
	"strings"
)

// Routes and rules are read with the words keepalived 2.2.7 takes for them
// (vrrp_iproute.c alloc_route, vrrp_iprule.c alloc_rule), not iproute2's whole
// grammar: a word keepalived rejects is an error here too.

// routeTypes are the route types keepalived takes before the destination.
var routeTypes = []string{"unicast", "blackhole", "unreachable", "prohibit", "throw", "local", "broadcast", "multicast", "anycast", "nat"}

// routeMetricWords are the RTAX attributes that take a number (and may be locked).
var routeMetricWords = []string{"mtu", "advmss", "rtt", "rttvar", "reordering", "window", "cwnd", "ssthresh",
	"initcwnd", "initrwnd", "rto_min", "hoplimit", "quickack", "fastopen_no_cookie", "congctl", "features"}

var routeWords = append([]string{"src", "via", "gw", "or", "from", "dev", "oif", "table", "metric", "priority",
	"preference", "protocol", "scope", "tos", "dsfield", "realms", "onlink", "nexthop", "encap", "expires",
	"pref", "ttl-propagate", "as", "vrf", "add", "prepend", "append", "inet", "inet6", "no_track", "track_group"},
	routeMetricWords...)

// parseRoute reads a route line: [src IP] [to] [TYPE] DEST/LEN [via IP] [dev IF] [scope S]
// [table T] [metric N] [protocol P] [tos T] [onlink] [mtu [lock] N] … [nexthop …]
// [add|prepend|append] [no_track] [track_group G].
func parseRoute(t []Token) (any, error) {
	r := Route{Type: "unicast"}
	haveDest := false
	family := ""
	setFamily := func(f string, i int) error {
		if family != "" && family != f {
			return argErrorf(i, "cannot mix IPv4 and IPv6 addresses in a route")
		}
		family = f
		return nil
	}
	for i := 0; i < len(t); i++ {
		opt := t[i].Text
		if opt == "nexthop" {
			if len(r.Nexthops) > 0 {
				return nil, argErrorf(i, "nexthop cannot follow \"or\"")
			}
			if err := parseNexthops(t, i, &r, setFamily); err != nil {
				return nil, err
			}
			return r, nil
		}
		switch opt {
		case "inet", "inet6":
			if err := setFamily(opt, i); err != nil {
				return nil, err
			}
			continue
		case "onlink":
			r.OnLink = true
			continue
		case "no_track":
			r.NoTrack = true
			continue
		case "add", "append":
			r.Mode = opt
			continue
		case "prepend":
			r.Mode = ""
			continue
		case "to":
			if i+1 >= len(t) {
				return nil, argErrorf(i, "to needs a destination")
			}
			continue
		}
		if !contains(routeWords, opt) {
			if haveDest {
				return nil, argErrorf(i, "unknown route option %q%s", opt, suggestion(opt, routeWords))
			}
			if contains(routeTypes, opt) {
				r.Type = opt
				if i+1 >= len(t) {
					return nil, argErrorf(i, "route type %s needs a destination", opt)
				}
				i++
			}
			d := t[i].Text
			if d == "default" {
				d = "0.0.0.0/0"
				if family == "inet6" {
					d = "::/0"
				}
			}
			p, err := parsePrefix(d, i)
			if err != nil {
				return nil, err
			}
			if err := setFamily(familyOf(p.Addr()), i); err != nil {
				return nil, err
			}
			r.Dest, haveDest = p.Masked(), true
			continue
		}
		v, err := needValue(t, i)
		if err != nil {
			return nil, err
		}
		i++
		switch opt {
		case "src":
			if r.Src, err = parseAddr(v, i); err == nil {
				err = setFamily(familyOf(r.Src), i)
			}
		case "via", "gw":
			if v == "inet" || v == "inet6" {
				if err = setFamily(v, i); err != nil {
					return nil, err
				}
				if v, err = needValue(t, i); err != nil {
					return nil, err
				}
				i++
			}
			if r.Via, err = parseAddr(v, i); err == nil {
				err = setFamily(familyOf(r.Via), i)
			}
		case "or":
			// keepalived's deprecated form: via and or are the two paths.
			var a netip.Addr
			if a, err = parseAddr(v, i); err == nil && len(r.Nexthops) == 0 {
				r.Nexthops = []Nexthop{{Via: r.Via}, {Via: a}}
				r.Via = netip.Addr{}
			}
		case "from":
			r.Ignored = append(r.Ignored, "from (a source prefix) is not supported")
		case "dev", "oif":
			r.Dev = v
		case "table":
			r.Table = v
		case "metric", "priority", "preference":
			r.Metric, err = parseIntRange(v, i, 0, 1<<32-1)
		case "protocol":
			r.Protocol = v
		case "scope":
			r.Scope, err = parseScope(t, i)
		case "tos", "dsfield":
			r.Tos = v
		case "realms":
			r.Realms, err = v, setFamily("inet", i)
		case "encap":
			return nil, argErrorf(i-1, "encap is not supported")
		case "expires", "pref":
			if err = setFamily("inet6", i); err == nil {
				r.Ignored = append(r.Ignored, opt+" is not supported")
			}
		case "ttl-propagate":
			r.Ignored = append(r.Ignored, opt+" (MPLS) is not supported")
		case "as":
			if v == "to" {
				i++
			}
			r.Ignored = append(r.Ignored, "\"as to\" is for MPLS only")
		case "vrf":
			return nil, argErrorf(i-1, "vrf is not supported; give the VRF's table")
		case "track_group":
			r.TrackGroup = v
		default:
			i, err = parseRouteMetric(t, i-1, &r.Metrics)
		}
		if err != nil {
			return nil, err
		}
	}
	if !haveDest {
		return nil, argErrorf(-1, "route has no destination")
	}
	return r, nil
}

func familyOf(a netip.Addr) string {
	if a.Is4() {
		return "inet"
	}
	return "inet6"
}

// parseRouteMetric reads the metric word at t[i] and its value, returns the index of
// the value's last token.
func parseRouteMetric(t []Token, i int, m *RouteMetrics) (int, error) {
	opt := t[i].Text
	i++
	if t[i].Text == "lock" && opt != "window" && opt != "initcwnd" && opt != "initrwnd" && opt != "hoplimit" &&
		opt != "quickack" && opt != "fastopen_no_cookie" && opt != "features" {
		m.Locked = append(m.Locked, opt)
		if i+1 >= len(t) {
			return i, argErrorf(i, "%s lock needs a value", opt)
		}
		i++
	}
	v := t[i].Text
	var err error
	u32 := func(dst *uint32) {
		var n uint32
		if n, err = parseUint32(v, i); err == nil {
			*dst = n
		}
	}
	flag := func(dst *bool) {
		var n int
		if n, err = parseIntRange(v, i, 0, 1); err == nil {
			*dst = n == 1
		}
	}
	switch opt {
	case "mtu":
		u32(&m.MTU)
	case "advmss":
		u32(&m.AdvMSS)
	case "reordering":
		u32(&m.Reordering)
	case "window":
		u32(&m.Window)
	case "cwnd":
		u32(&m.Cwnd)
	case "ssthresh":
		u32(&m.Ssthresh)
	case "initcwnd":
		u32(&m.InitCwnd)
	case "initrwnd":
		u32(&m.InitRwnd)
	case "rtt":
		m.RTT, err = parseRTT(v, i, 8)
	case "rttvar":
		m.RTTVar, err = parseRTT(v, i, 4)
	case "rto_min":
		m.RtoMin, err = parseRTT(v, i, 1)
	case "hoplimit":
		var n int
		if n, err = parseIntRange(v, i, 0, 255); err == nil {
			m.Hoplimit = uint8(n)
		}
	case "quickack":
		flag(&m.QuickACK)
	case "fastopen_no_cookie":
		flag(&m.FastOpenNoCookie)
	case "congctl":
		m.Congctl = v
	case "features":
		if v != "ecn" {
			return i, argErrorf(i, "feature %q is not supported (ecn is)", v)
		}
		m.ECN = true
	}
	return i, err
}

// parseRTT reads a time as keepalived's get_time_rtt: with a unit (s, ms) in
// milliseconds times unitMult (the kernel's units), without one as the kernel's units
// themselves, clamped to 200 ms .. 120 s.
func parseRTT(s string, arg int, unitMult uint64) (uint32, error) {
	const minMS, maxMS = 200, 120000
	num, mult := s, uint64(0)
	switch lower := strings.ToLower(s); {
	case strings.HasSuffix(lower, "ms"):
		num, mult = s[:len(s)-2], 1
	case strings.HasSuffix(lower, "secs"), strings.HasSuffix(lower, "sec"), strings.HasSuffix(lower, "s"):
		num, mult = strings.TrimRight(strings.TrimRight(s, "sS"), "ecEC"), 1000
	}
	var v uint64
	if mult == 1000 {
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f < 0 || strings.ContainsAny(num, "eE") {
			return 0, argErrorf(arg, "%q is not a time (N, Nms or Ns)", s)
		}
		v = uint64(f*1000+0.5) * unitMult
	} else {
		n, err := strconv.ParseUint(num, 10, 32)
		if err != nil {
			return 0, argErrorf(arg, "%q is not a time (N, Nms or Ns)", s)
		}
		v = n
		if mult == 1 {
			v *= unitMult
		}
	}
	return uint32(min(max(v, minMS*unitMult), maxMS*unitMult)), nil
}

// parseNexthops reads "nexthop [via IP] [dev IF] [weight N] [onlink] [realms R]", once
// or more, from t[i] to the end of the line.
func parseNexthops(t []Token, i int, r *Route, setFamily func(string, int) error) error {
	for i < len(t) {
		if t[i].Text != "nexthop" {
			return argErrorf(i, "unexpected %q after the nexthops", t[i].Text)
		}
		var nh Nexthop
		for i++; i < len(t) && t[i].Text != "nexthop"; i++ {
			opt := t[i].Text
			if opt == "onlink" {
				nh.OnLink = true
				continue
			}
			v, err := needValue(t, i)
			if err != nil {
				return err
			}
			i++
			switch opt {
			case "via":
				if v == "inet" || v == "inet6" {
					if err = setFamily(v, i); err != nil {
						return err
					}
					if v, err = needValue(t, i); err != nil {
						return err
					}
					i++
				}
				if nh.Via, err = parseAddr(v, i); err == nil {
					err = setFamily(familyOf(nh.Via), i)
				}
			case "dev":
				nh.Dev = v
			case "weight":
				nh.Weight, err = parseIntRange(v, i, 1, 256)
			case "realms":
				nh.Realms, err = v, setFamily("inet", i)
			default:
				return argErrorf(i-1, "unknown nexthop option %q; expected via, dev, weight, onlink or realms", opt)
			}
			if err != nil {
				return err
			}
		}
		r.Nexthops = append(r.Nexthops, nh)
	}
	if r.Dest == (netip.Prefix{}) {
		return argErrorf(-1, "route has no destination")
	}
	return nil
}

var ruleWords = []string{"inet", "inet6", "from", "to", "table", "lookup", "not", "preference", "order", "priority",
	"tos", "dsfield", "fwmark", "realms", "suppress_prefixlength", "sup_pl", "suppress_ifgroup", "sup_group",
	"dev", "iif", "oif", "tunnel-id", "uidrange", "l3mdev", "protocol", "ipproto", "sport", "dport", "no_track",
	"track_group", "type", "goto", "nop", "blackhole", "unreachable", "prohibit"}

// parseRule reads a rule line: [not] [from P] [to P] [table|lookup T | goto N | nop |
// blackhole | unreachable | prohibit] [preference N] [tos T] [fwmark N[/M]] [iif IF]
// [oif IF] … [no_track] [inet6] [track_group G].
func parseRule(t []Token) (any, error) {
	r := Rule{}
	tableOption := false
	setAction := func(a string, i int) error {
		if r.Action != "" {
			return argErrorf(i, "a rule takes one of table, goto, nop, blackhole, prohibit, unreachable and l3mdev")
		}
		r.Action = a
		return nil
	}
	setFamily := func(f string, i int) error {
		if r.Family != "" && r.Family != f {
			return argErrorf(i, "a rule cannot mix IPv4 and IPv6")
		}
		r.Family = f
		return nil
	}
	for i := 0; i < len(t); i++ {
		opt := t[i].Text
		if opt == "type" {
			if i+1 >= len(t) {
				return nil, argErrorf(i, "type needs an action")
			}
			i++
			opt = t[i].Text
		}
		var err error
		switch opt {
		case "inet", "inet6":
			err = setFamily(opt, i)
		case "not":
			r.Not = true
		case "no_track":
			r.NoTrack = true
		case "nop", "blackhole", "unreachable", "prohibit":
			err = setAction(opt, i)
		case "l3mdev":
			return nil, argErrorf(i, "l3mdev is not supported")
		default:
			if !contains(ruleWords, opt) {
				return nil, argErrorf(i, "unknown rule option %q%s", opt, suggestion(opt, ruleWords))
			}
			v, verr := needValue(t, i)
			if verr != nil {
				return nil, verr
			}
			i++
			err = parseRuleValue(&r, opt, v, i, setAction, setFamily, &tableOption)
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case r.Action == "":
		return nil, argErrorf(-1, "rule has no action (table, goto, nop, blackhole, prohibit or unreachable)")
	case r.Action == "goto" && r.Preference == 0:
		return nil, argErrorf(-1, "a goto rule needs a preference")
	case r.Action == "goto" && r.Preference >= r.Goto:
		return nil, argErrorf(-1, "rule preference %d is not below its goto target %d", r.Preference, r.Goto)
	case r.Action != "table" && tableOption:
		return nil, argErrorf(-1, "suppress_prefixlength, suppress_ifgroup and realms need a table action")
	}
	if r.Family == "" {
		r.Family = "inet"
	}
	return r, nil
}

// parseRuleValue reads the value v (token arg) of the rule word opt.
func parseRuleValue(r *Rule, opt, v string, arg int, setAction func(string, int) error, setFamily func(string, int) error, tableOption *bool) error {
	var err error
	switch opt {
	case "from", "to":
		var p netip.Prefix
		if p, err = parseRulePrefix(v, arg); err != nil {
			return err
		}
		if p.IsValid() {
			err = setFamily(familyOf(p.Addr()), arg)
		}
		if opt == "from" {
			r.From = p
		} else {
			r.To = p
		}
	case "table", "lookup":
		if v == "0" {
			return argErrorf(arg, "table 0 is not valid")
		}
		r.Table = v
		err = setAction("table", arg)
	case "goto":
		if r.Goto, err = parseIntRange(v, arg, 0, 1<<32-1); err == nil {
			err = setAction("goto", arg)
		}
	case "preference", "order", "priority":
		r.Preference, err = parseIntRange(v, arg, 0, 1<<32-1)
	case "tos", "dsfield":
		r.Tos = v
	case "fwmark":
		mark, mask, hasMask := strings.Cut(v, "/")
		if r.FwMark, err = parseUint32(mark, arg); err == nil && hasMask {
			r.FwMask, err = parseUint32(mask, arg)
		}
	case "realms":
		r.Realms, *tableOption = v, true
		err = setFamily("inet", arg)
	case "suppress_prefixlength", "sup_pl":
		var n int
		if n, err = parseIntRange(v, arg, 0, 1<<31-1); err == nil {
			r.SuppressLen, *tableOption = &n, true
		}
	case "suppress_ifgroup", "sup_group":
		r.SuppressGrp, *tableOption = v, true
	case "dev", "iif":
		r.IIF = v
	case "oif":
		r.OIF = v
	case "tunnel-id":
		r.TunnelID, err = strconv.ParseUint(v, 0, 64)
		if err != nil {
			err = argErrorf(arg, "%q is not a tunnel id", v)
		}
	case "uidrange":
		lo, hi, ok := strings.Cut(v, "-")
		a, errA := strconv.ParseUint(lo, 10, 32)
		b, errB := strconv.ParseUint(hi, 10, 32)
		if !ok || errA != nil || errB != nil {
			return argErrorf(arg, "%q is not a uid range (FIRST-LAST)", v)
		}
		r.UIDRange = &[2]uint32{uint32(a), uint32(b)}
	case "protocol":
		var n int
		if n, err = parseIntRange(v, arg, 0, 255); err == nil {
			p := uint8(n)
			r.Protocol = &p
		}
	case "ipproto":
		r.IPProto = v
	case "sport", "dport":
		if !strings.Contains(v, "-") {
			// keepalived 2.2.7 reads only N-M, and drops a lone port with an error.
			r.Ignored = append(r.Ignored, "invalid "+opt+" range "+v+" (keepalived takes N-M)")
			return nil
		}
		var pr *[2]uint16
		if pr, err = parsePortRange(v, arg); err == nil {
			if opt == "sport" {
				r.SPort = pr
			} else {
				r.DPort = pr
			}
		}
	case "track_group":
		r.TrackGroup = v
	}
	return err
}

// parsePortRange reads N or N-M.
func parsePortRange(s string, arg int) (*[2]uint16, error) {
	lo, hi, ranged := strings.Cut(s, "-")
	a, err := strconv.ParseUint(lo, 10, 16)
	b := a
	if err == nil && ranged {
		b, err = strconv.ParseUint(hi, 10, 16)
	}
	if err != nil || b < a {
		return nil, argErrorf(arg, "%q is not a port or port range (N or N-M)", s)
	}
	return &[2]uint16{uint16(a), uint16(b)}, nil
}
