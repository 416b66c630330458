package config

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Value kinds of the govs extensions (keywords keepalived does not have).
var (
	kListen        = kind{doc: "IP:PORT", minArgs: 1, maxArgs: 1, parse: parseListen}
	kToken         = kind{doc: "TOKEN", minArgs: 1, maxArgs: 1, parse: parseToken}
	kProxyProtocol = kind{doc: "1|2", minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		switch a[0].Text {
		case "1":
			return 1, nil
		case "2":
			return 2, nil
		}
		return nil, argErrorf(0, "%q is not a PROXY protocol version; expected 1 (text) or 2 (binary)", a[0].Text)
	}}
	kFraction = kind{doc: "NUMBER 0<F≤1", minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		f, err := strconv.ParseFloat(a[0].Text, 64)
		if err != nil || math.IsNaN(f) || f <= 0 || f > 1 {
			return nil, argErrorf(0, "%q is not a number above 0 and at most 1", a[0].Text)
		}
		return f, nil
	}}
	kPercent  = percentKind(0, 1000)
	kPercent1 = percentKind(1, 1000)
	// kInterval is a keepalived timer in seconds, or a duration with a unit (50ms, 2s)
	// as the dynamic_feedback examples write it.
	kInterval  = intervalKind(time.Microsecond, maxTimer)
	kInterval0 = intervalKind(0, maxTimer)
)

// parseListen reads http_listen IP:PORT, IPv6 in brackets. Host names are refused: what
// the listener binds must not depend on a resolver.
func parseListen(a []Token, _ string) (any, error) {
	ap, err := netip.ParseAddrPort(a[0].Text)
	if err != nil {
		return nil, argErrorf(0, "%q is not IP:PORT (e.g. 127.0.0.1:9100 or [::1]:9100)", a[0].Text)
	}
	return ap, nil
}

// parseToken reads a bearer token: RFC 6750's b64token, letters, digits and -._~+/
// followed by any number of '='.
func parseToken(a []Token, _ string) (any, error) {
	s := a[0].Text
	body := strings.TrimRight(s, "=")
	ok := body != ""
	for i := 0; i < len(body) && ok; i++ {
		ok = isAlnum(body[i]) || strings.IndexByte("-._~+/", body[i]) >= 0
	}
	if !ok {
		return nil, argErrorf(0, "the token is not a bearer token: use letters, digits and -._~+/ (then optional '=' padding)")
	}
	return Secret(s), nil
}

// percentKind is an integer percentage lo..hi, with or without a '%' sign.
func percentKind(lo, hi int) kind {
	return kind{doc: "PERCENT " + strconv.Itoa(lo) + ".." + strconv.Itoa(hi), minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		return parseIntRange(strings.TrimSuffix(a[0].Text, "%"), 0, lo, hi)
	}}
}

func intervalKind(lo, hi time.Duration) kind {
	return kind{doc: "SECONDS|DURATION " + fmtSeconds(lo) + ".." + fmtSeconds(hi), minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		s := a[0].Text
		if s == "" || s[len(s)-1] < 'a' || s[len(s)-1] > 'z' {
			return parseTimer(s, 0, lo, hi)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, argErrorf(0, "%q is not a time: seconds (0.05) or a number with a unit (50ms, 2s)", s)
		}
		if d < lo || d > hi {
			return nil, argErrorf(0, "%s is out of range %ss..%ss", s, fmtSeconds(lo), fmtSeconds(hi))
		}
		return d, nil
	}}
}
