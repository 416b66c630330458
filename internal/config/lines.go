package config

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Parsers for the one-line entries of value blocks: addresses, routes, rules and
// virtual_server_group members. Each gets every token of the line.

var addressScopes = []string{"site", "link", "host", "nowhere", "global"}

func parseScope(t []Token, i int) (string, error) {
	if i >= len(t) {
		return "", argErrorf(i-1, "scope needs a value")
	}
	s := t[i].Text
	for _, v := range addressScopes {
		if s == v {
			return s, nil
		}
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 255 {
		return s, nil
	}
	return "", argErrorf(i, "%q is not a scope; expected %s or 0..255", s, strings.Join(addressScopes, ", "))
}

// needValue returns the token after option i, or an error naming the option.
func needValue(t []Token, i int) (string, error) {
	if i+1 >= len(t) {
		return "", argErrorf(i, "%s needs a value", t[i].Text)
	}
	return t[i+1].Text, nil
}

// parseIPAddress reads IP[/LEN] [brd IP|+|-] [dev IF] [scope S] [label L] [peer IP[/LEN]]
// [home] [-nodad] [mngtmpaddr] [noprefixroute] [autojoin] [no_track]
// [preferred_lft N|forever] [use_vmac] [track_group G].
func parseIPAddress(t []Token) (any, error) {
	p, err := parsePrefix(t[0].Text, 0)
	if err != nil {
		return nil, err
	}
	a := IPAddress{Prefix: p}
	for i := 1; i < len(t); i++ {
		opt := t[i].Text
		switch opt {
		case "home", "-nodad", "nodad", "mngtmpaddr", "noprefixroute", "autojoin":
			a.Flags = append(a.Flags, opt)
			continue
		case "no_track":
			a.NoTrack = true
			continue
		case "use_vmac":
			a.UseVMAC = true
			continue
		case "scope":
			if a.Scope, err = parseScope(t, i+1); err != nil {
				return nil, err
			}
			i++
			continue
		}
		v, err := needValue(t, i)
		if err != nil {
			return nil, err
		}
		switch opt {
		case "brd", "broadcast":
			if v != "+" && v != "-" {
				if _, err := parseAddr(v, i+1); err != nil {
					return nil, err
				}
			}
			a.Broadcast = v
		case "dev":
			a.Dev = v
		case "label":
			a.Label = v
		case "peer":
			if a.Peer, err = parseAddr(v, i+1); err != nil {
				return nil, err
			}
		case "preferred_lft":
			if v != "forever" {
				if _, err := parseUint32(v, i+1); err != nil {
					return nil, argErrorf(i+1, "preferred_lft %q is not a number of seconds or forever", v)
				}
			}
			a.PreferredLft = v
		case "track_group":
			a.TrackGroup = v
		default:
			return nil, argErrorf(i, "unknown address option %q; expected dev, scope, label, brd, peer, preferred_lft, …%s", opt,
				suggestion(opt, []string{"dev", "scope", "label", "brd", "broadcast", "peer", "home", "-nodad", "mngtmpaddr", "noprefixroute", "autojoin", "no_track", "preferred_lft", "use_vmac", "track_group"}))
		}
		i++
	}
	return a, nil
}

func parseRulePrefix(s string, arg int) (netip.Prefix, error) {
	if s == "all" {
		return netip.Prefix{}, nil
	}
	p, err := parsePrefix(s, arg)
	return p.Masked(), err
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "inet"
	}
	return "inet6"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// maxGroupRange caps how many addresses one virtual_server_group line may expand to.
const maxGroupRange = 65536

// parseVSGroupEntry reads a virtual_server_group line: "fwmark N [inet|inet6]", or an
// address, range (A.B.C.D-E, ae00::2-9, A-B) or prefix (IP/LEN) with an optional port.
func parseVSGroupEntry(t []Token) (any, error) {
	e := VSGroupEntry{}
	if t[0].Text == "fwmark" {
		if len(t) < 2 {
			return nil, argErrorf(0, "fwmark needs a number")
		}
		m, err := parseUint32(t[1].Text, 1)
		if err != nil || m == 0 {
			return nil, argErrorf(1, "%q is not a firewall mark 1..4294967295", t[1].Text)
		}
		e.FwMark = m
		if len(t) > 2 {
			if t[2].Text != "inet" && t[2].Text != "inet6" {
				return nil, argErrorf(2, "expected inet or inet6, not %q", t[2].Text)
			}
			e.Family = t[2].Text
		}
		if len(t) > 3 {
			return nil, argErrorf(3, "unexpected %q", t[3].Text)
		}
		return e, nil
	}
	first, last, err := parseAddrRange(t[0].Text)
	if err != nil {
		return nil, err
	}
	e.First, e.Last, e.Family = first, last, family(first)
	if len(t) > 1 {
		if e.Port, err = parsePort(t[1].Text, 1); err != nil {
			return nil, err
		}
	}
	if len(t) > 2 {
		return nil, argErrorf(2, "unexpected %q after the port", t[2].Text)
	}
	return e, nil
}

// parseLinkDelay reads an interface_up_down_delays line: IF DOWN_DELAY [UP_DELAY], in
// seconds up to 255 with microseconds.
func parseLinkDelay(t []Token) (any, error) {
	if len(t) < 2 || len(t) > 3 {
		return nil, argErrorf(0, "expected INTERFACE DOWN_DELAY [UP_DELAY], got %d words", len(t))
	}
	d := LinkDelay{Interface: t[0].Text}
	var err error
	if d.Down, err = parseTimer(t[1].Text, 1, 0, 255*time.Second); err != nil {
		return nil, err
	}
	if len(t) == 3 {
		if d.Up, err = parseTimer(t[2].Text, 2, 0, 255*time.Second); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// parseAddrRange reads IP, IP-LASTPART (the last octet, or last group for IPv6),
// IP-IP or IP/LEN.
func parseAddrRange(s string) (netip.Addr, netip.Addr, error) {
	bad := func(why string) (netip.Addr, netip.Addr, error) {
		return netip.Addr{}, netip.Addr{}, argErrorf(0, "%q is not an address or range: %s", s, why)
	}
	if strings.Contains(s, "/") {
		p, err := parsePrefix(s, 0)
		if err != nil {
			return netip.Addr{}, netip.Addr{}, err
		}
		p = p.Masked()
		if p.Addr().BitLen()-p.Bits() > 16 {
			return bad("ranges are limited to 65536 addresses")
		}
		last := p.Addr()
		for n := 1; n < 1<<(p.Addr().BitLen()-p.Bits()); n++ {
			last = last.Next()
		}
		return p.Addr(), last, nil
	}
	lo, hi, isRange := strings.Cut(s, "-")
	first, err := netip.ParseAddr(lo)
	if err != nil {
		return bad("invalid address " + strconv.Quote(lo))
	}
	if !isRange {
		return first, first, nil
	}
	if last, err := netip.ParseAddr(hi); err == nil {
		if last.Is4() != first.Is4() || last.Less(first) {
			return bad("the end is below the start or of another family")
		}
		if rangeSize(first, last) > maxGroupRange {
			return bad("ranges are limited to 65536 addresses")
		}
		return first, last, nil
	}
	b := first.AsSlice()
	if first.Is4() {
		n, err := strconv.ParseUint(hi, 10, 8)
		if err != nil || byte(n) < b[3] {
			return bad("the end " + strconv.Quote(hi) + " must be a last octet >= the start's")
		}
		b[3] = byte(n)
	} else {
		n, err := strconv.ParseUint(hi, 16, 16)
		cur := uint64(b[14])<<8 | uint64(b[15])
		if err != nil || n < cur {
			return bad("the end " + strconv.Quote(hi) + " must be a last group >= the start's")
		}
		b[14], b[15] = byte(n>>8), byte(n)
	}
	last, _ := netip.AddrFromSlice(b)
	return first, last, nil
}

// rangeSize counts addresses from first to last, saturating above maxGroupRange.
func rangeSize(first, last netip.Addr) int {
	n := 1
	for a := first; a != last && n <= maxGroupRange; a = a.Next() {
		n++
	}
	return n
}
