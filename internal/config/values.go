package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// argError is a bad value; arg indexes the argument at fault (-1: the keyword itself).
type argError struct {
	arg int
	msg string
}

func (e *argError) Error() string { return e.msg }

func argErrorf(arg int, format string, args ...any) error {
	return &argError{arg: arg, msg: fmt.Sprintf(format, args...)}
}

// kind is the type of a keyword's value: how its arguments are parsed and how the
// reference documents it. A kind with entry set takes a { } block whose every line is
// one entry, parsed by entry from all of the line's tokens.
type kind struct {
	doc     string
	minArgs int
	maxArgs int // -1: any number
	parse   func(args []Token, raw string) (any, error)
	entry   func(toks []Token) (any, error)
}

func texts(args []Token) []string {
	s := make([]string, len(args))
	for i, a := range args {
		s[i] = a.Text
	}
	return s
}

var (
	kString = kind{doc: "STRING", minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) { return a[0].Text, nil }}
	kWords  = kind{doc: "WORD…", maxArgs: -1, parse: func(a []Token, _ string) (any, error) { return texts(a), nil }}
	kOptStr = kind{doc: "[STRING]", maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		if len(a) == 0 {
			return "", nil
		}
		return a[0].Text, nil
	}}
	// kOptNetns is an optional network namespace name: a file of /run/netns.
	kOptNetns = kind{doc: "[NAME]", maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		if len(a) == 0 {
			return "", nil
		}
		if n := a[0].Text; strings.Contains(n, "/") || n == "." || n == ".." {
			return nil, fmt.Errorf("%q is not a network namespace name (as ip netns add NAME takes: no '/', not \".\" or \"..\")", n)
		}
		return a[0].Text, nil
	}}
	kVMAC = kind{doc: "[NAME] [MAC]", maxArgs: 2, parse: parseVMAC}
	// kSNMPSocket is an AgentX master's address as net-snmp writes it.
	kSNMPSocket = kind{doc: "unix:PATH|PATH|tcp:HOST:PORT|udp:HOST:PORT", minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		if err := CheckSNMPSocket(a[0].Text); err != nil {
			return nil, err
		}
		return a[0].Text, nil
	}}
	// kBusName is a well-known D-Bus name: the bus refuses any other.
	kBusName = kind{doc: "NAME", minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		if err := checkBusName(a[0].Text); err != nil {
			return nil, fmt.Errorf("%q: %w", a[0].Text, err)
		}
		return a[0].Text, nil
	}}
	// kOldChecksum is old_unicast_checksum [never]: "on" bare, "never" with its word.
	kOldChecksum = kind{doc: "[never]", maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		if len(a) == 0 {
			return "on", nil
		}
		if a[0].Text != "never" {
			return nil, argErrorf(0, "%q is not valid; expected never or nothing", a[0].Text)
		}
		return "never", nil
	}}
	// kRxBufsPolicy is vrrp_rx_bufs_policy MTU|ADVERT|SIZE: one of them, as keepalived
	// reports a mix as an error.
	kRxBufsPolicy = kind{doc: "MTU|ADVERT|BYTES", minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		if per := strings.ToUpper(a[0].Text); per == "MTU" || per == "ADVERT" {
			return RxBufsPolicy{Per: per}, nil
		}
		n, err := strconv.ParseUint(a[0].Text, 10, 31)
		if err != nil {
			return nil, argErrorf(0, "%q is not MTU, ADVERT or a size in bytes", a[0].Text)
		}
		return RxBufsPolicy{Size: int(n)}, nil
	}}
	// kCPUs is a *_cpu_affinity list of CPU numbers.
	kCPUs = kind{doc: "CPU…", minArgs: 1, maxArgs: -1, parse: func(a []Token, _ string) (any, error) {
		cpus := make([]int, 0, len(a))
		for i, t := range a {
			n, err := parseIntRange(t.Text, i, 0, 1023)
			if err != nil {
				return nil, err
			}
			cpus = append(cpus, n)
		}
		return cpus, nil
	}}
	// kFlag is a keyword with no value that turns something on.
	kAbsPath = kind{doc: "/PATH", minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		if !strings.HasPrefix(a[0].Text, "/") {
			return nil, fmt.Errorf("%q: want an absolute path", a[0].Text)
		}
		return a[0].Text, nil
	}}
	kFlag = kind{doc: "(flag)", maxArgs: 0, parse: func([]Token, string) (any, error) { return true, nil }}
	// kFlagOff is a keyword with no value that turns something off (no_accept, preempt).
	kFlagOff = kind{doc: "(flag, turns off)", maxArgs: 0, parse: func([]Token, string) (any, error) { return false, nil }}
	// kBool is an optional on|off|true|false|yes|no; bare means true.
	kBool = kind{doc: "[BOOL]", maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		if len(a) == 0 {
			return true, nil
		}
		return parseBool(a[0].Text, 0)
	}}
	kAddr   = kind{doc: "IP", minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) { return parseAddr(a[0].Text, 0) }}
	kPort   = kind{doc: "PORT", minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) { return parsePort(a[0].Text, 0) }}
	kScript = kind{doc: "CMD [USER [GROUP]]", minArgs: 1, maxArgs: -1, parse: parseScript}
	kCmd    = kind{doc: "CMD", minArgs: 1, maxArgs: -1, parse: parseCommand}
	// kOptScript is notify_deleted's: alone the keyword is a setting (an empty Argv);
	// a command given with it also runs.
	kOptScript = kind{doc: "[CMD [USER [GROUP]]]", maxArgs: -1, parse: func(a []Token, raw string) (any, error) {
		if len(a) == 0 {
			return Script{}, nil
		}
		return parseScript(a, raw)
	}}
	kUser = kind{doc: "USER [GROUP]", minArgs: 1, maxArgs: 2, parse: func(a []Token, _ string) (any, error) {
		ug := UserGroup{User: a[0].Text}
		if len(a) > 1 {
			ug.Group = a[1].Text
		}
		return ug, nil
	}}
	kHex = kind{doc: "HEX", minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		b, err := hex.DecodeString(a[0].Text)
		if err != nil || len(a[0].Text) == 0 {
			return nil, argErrorf(0, "%q is not an even number of hexadecimal digits", a[0].Text)
		}
		return b, nil
	}}
	kHexPattern = kind{doc: "HEX (X = any nibble)", minArgs: 1, maxArgs: 1, parse: parseHexPattern}
	kStatus     = kind{doc: "CODE|LO-HI …", minArgs: 1, maxArgs: -1, parse: parseStatusCodes}
	kPersist    = kind{doc: "[SECONDS]", maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		if len(a) == 0 {
			return 360 * time.Second, nil
		}
		n, err := parseIntRange(a[0].Text, 0, 1, 2678400)
		return time.Duration(n) * time.Second, err
	}}
	kForwarding = kind{doc: "NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]", minArgs: 1, maxArgs: 6, parse: parseForwarding}
	kSorry      = kind{doc: "IP [PORT]", minArgs: 1, maxArgs: 2, parse: parseSorry}
	kSyncDaemon = kind{doc: "IF [VI] [id N] [maxlen N] [port N] [ttl N] [group IP]", minArgs: 1, maxArgs: -1, parse: parseSyncDaemon}
	kTimeouts   = kind{doc: "[tcp S] [tcpfin S] [udp S]", minArgs: 2, maxArgs: 6, parse: parseLVSTimeouts}
	kWeight     = weightKind(-253, 253)
	kParamMatch = kind{doc: "[initial|partial]", maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		if len(a) == 0 {
			return "exact", nil
		}
		if a[0].Text != "initial" && a[0].Text != "partial" {
			return nil, argErrorf(0, "%q is not valid; expected initial, partial or nothing (exact)", a[0].Text)
		}
		return a[0].Text, nil
	}}
	kInitFile = kind{doc: "[VALUE] [overwrite]", maxArgs: 2, parse: parseInitFile}
	kIntList  = kind{doc: "INT…", minArgs: 1, maxArgs: -1, parse: func(a []Token, _ string) (any, error) {
		out := make([]int, len(a))
		for i, t := range a {
			n, err := parseIntRange(t.Text, i, 0, 1<<31-1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	}}

	eName        = kind{doc: "{ NAME … }", entry: func(t []Token) (any, error) { return texts(t), nil }} // every word is a name
	eIPAddress   = kind{doc: "{ IP[/LEN] [dev IF] [scope S] [label L] [brd IP] … }", entry: parseIPAddress}
	eRoute       = kind{doc: "{ [src IP] DEST/LEN [via IP] [dev IF] … }", entry: parseRoute}
	eRule        = kind{doc: "{ [from P] [to P] [table N] … }", entry: parseRule}
	eUnicastPeer = kind{doc: "{ IP [min_ttl N] [max_ttl N] … }", entry: parseUnicastPeer}
	eTrackIf     = trackedKind(-253, 253)
	eTrackFile   = trackedKind(-254, 254)
	eWords       = kind{doc: "{ LINE … }", entry: func(t []Token) (any, error) { return texts(t), nil }}
	eLinkDelay   = kind{doc: "{ IF DOWN_DELAY [UP_DELAY] … }", entry: parseLinkDelay}
	eVSGroup     = kind{doc: "{ IP[-LAST] [PORT] | fwmark N … }", entry: parseVSGroupEntry}
)

// msKind reads milliseconds with up to three decimals, lo..hi ms.
func msKind(lo, hi int) kind {
	return kind{doc: fmt.Sprintf("MS %d..%d", lo, hi), minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		bad := argErrorf(0, "%q is not a time in milliseconds (%d..%d, to the microsecond)", a[0].Text, lo, hi)
		whole, frac, _ := strings.Cut(a[0].Text, ".")
		if whole == "" || len(frac) > 3 || len(whole) > 10 {
			return nil, bad
		}
		us := 0
		for _, c := range whole + (frac + "000")[:3] {
			if c < '0' || c > '9' {
				return nil, bad
			}
			us = us*10 + int(c-'0')
		}
		if us < lo*1000 || us > hi*1000 {
			return nil, bad
		}
		return time.Duration(us) * time.Microsecond, nil
	}}
}

// garpExtraIfKind reads `[all] SECS`, whole seconds from lo to a day.
func garpExtraIfKind(lo int) kind {
	return kind{doc: fmt.Sprintf("[all] %d..86400", lo), minArgs: 1, maxArgs: 2, parse: func(a []Token, _ string) (any, error) {
		g := &GarpExtraIf{}
		secs := -1
		for i, t := range a {
			if t.Text == "all" {
				g.All = true
				continue
			}
			v, err := parseIntRange(t.Text, i, lo, 86400)
			if err != nil {
				return nil, err
			}
			secs = v
		}
		if secs < 0 {
			return nil, argErrorf(0, "specified without time")
		}
		g.Interval = time.Duration(secs) * time.Second
		return g, nil
	}}
}

func intKind(lo, hi int) kind {
	return kind{doc: fmt.Sprintf("INT %d..%d", lo, hi), minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		return parseIntRange(a[0].Text, 0, lo, hi)
	}}
}

func enumKind(values ...string) kind {
	return kind{doc: strings.Join(values, "|"), minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		for _, v := range values {
			if a[0].Text == v {
				return v, nil
			}
		}
		return nil, argErrorf(0, "%q is not valid; expected one of %s%s", a[0].Text, strings.Join(values, ", "), suggestion(a[0].Text, values))
	}}
}

// timerKind is keepalived's <TIMER>: decimal seconds with microsecond resolution.
func timerKind(lo, hi time.Duration) kind {
	return kind{doc: fmt.Sprintf("SECONDS %s..%s", fmtSeconds(lo), fmtSeconds(hi)), minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		return parseTimer(a[0].Text, 0, lo, hi)
	}}
}

func weightKind(lo, hi int) kind {
	return kind{doc: fmt.Sprintf("INT %d..%d [reverse]", lo, hi), minArgs: 1, maxArgs: 2, parse: func(a []Token, _ string) (any, error) {
		n, err := parseIntRange(a[0].Text, 0, lo, hi)
		if err != nil {
			return nil, err
		}
		w := Weight{Value: n}
		if len(a) > 1 {
			if a[1].Text != "reverse" {
				return nil, argErrorf(1, "expected \"reverse\" after the weight, not %q", a[1].Text)
			}
			w.Reverse = true
		}
		return w, nil
	}}
}

// trackedKind is a track_* block entry: NAME [weight N [reverse|noreverse]]. The order
// is keepalived's (alloc_track_*): it reads reverse only after a weight and drops an
// entry that starts with anything but weight, so "NAME reverse" is refused here rather
// than tracked the other way round.
func trackedKind(lo, hi int) kind {
	return kind{doc: fmt.Sprintf("{ NAME [weight %d..%d [reverse|noreverse]] … }", lo, hi), entry: func(t []Token) (any, error) {
		o := TrackedObject{Name: t[0].Text}
		if len(t) == 1 {
			return o, nil
		}
		if t[1].Text != "weight" {
			return nil, argErrorf(1, "unexpected %q; expected weight N [reverse|noreverse] after the name", t[1].Text)
		}
		if len(t) == 2 {
			return nil, argErrorf(1, "weight needs a value")
		}
		n, err := parseIntRange(t[2].Text, 2, lo, hi)
		if err != nil {
			return nil, err
		}
		o.Weight, o.WeightSet = n, true
		if len(t) == 3 {
			return o, nil
		}
		switch t[3].Text {
		case "reverse":
			o.Reverse, o.ReverseSet = true, true
		case "noreverse":
			o.Reverse, o.ReverseSet = false, true
		default:
			return nil, argErrorf(3, "unexpected %q; expected reverse or noreverse after the weight", t[3].Text)
		}
		if len(t) > 4 {
			return nil, argErrorf(4, "unexpected %q after %s", t[4].Text, t[3].Text)
		}
		return o, nil
	}}
}

// fmtSeconds writes a duration as decimal seconds, exactly (no float rounding: 1.312712
// must not become 1.3127119999999999), with no trailing zeros.
func fmtSeconds(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	s := sign + strconv.FormatInt(int64(d/time.Second), 10)
	if frac := int64(d % time.Second); frac != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%09d", frac), "0")
	}
	return s
}

func parseBool(s string, arg int) (bool, error) {
	switch s {
	case "on", "true", "yes":
		return true, nil
	case "off", "false", "no":
		return false, nil
	}
	return false, argErrorf(arg, "%q is not a boolean; expected on, off, true, false, yes or no", s)
}

func parseIntRange(s string, arg, lo, hi int) (int, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, argErrorf(arg, "%q is not an integer (expected %d..%d)", s, lo, hi)
	}
	if n < int64(lo) || n > int64(hi) {
		return 0, argErrorf(arg, "%s is out of range %d..%d", s, lo, hi)
	}
	return int(n), nil
}

func parseUint32(s string, arg int) (uint32, error) {
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, argErrorf(arg, "%q is not a number 0..4294967295", s)
	}
	return uint32(n), nil
}

// parseTimer reads decimal seconds ("2", "2.5", "0.000001") exactly, without floats.
func parseTimer(s string, arg int, lo, hi time.Duration) (time.Duration, error) {
	bad := func() error {
		return argErrorf(arg, "%q is not a time in seconds (expected %s..%s)", s, fmtSeconds(lo), fmtSeconds(hi))
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || len(whole) > 10 || len(frac) > 6 {
		return 0, bad()
	}
	var us int64
	for _, c := range whole {
		if c < '0' || c > '9' {
			return 0, bad()
		}
		us = us*10 + int64(c-'0')
	}
	us *= 1e6
	scale := int64(1e5)
	for _, c := range frac {
		if c < '0' || c > '9' {
			return 0, bad()
		}
		us += int64(c-'0') * scale
		scale /= 10
	}
	d := time.Duration(us) * time.Microsecond
	if d < lo || d > hi {
		return 0, argErrorf(arg, "%s seconds is out of range %s..%s", s, fmtSeconds(lo), fmtSeconds(hi))
	}
	return d, nil
}

func parseAddr(s string, arg int) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" && !a.Is6() {
		return netip.Addr{}, argErrorf(arg, "%q is not an IPv4 or IPv6 address", s)
	}
	return a, nil
}

func parsePort(s string, arg int) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, argErrorf(arg, "%q is not a port (0..65535)", s)
	}
	return uint16(n), nil
}

// parsePrefix reads ADDR or ADDR/LEN; a bare address gets the host length.
func parsePrefix(s string, arg int) (netip.Prefix, error) {
	addr, bits, hasLen := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}, argErrorf(arg, "%q is not an address: %q is not an IPv4 or IPv6 address", s, addr)
	}
	n := a.BitLen()
	if hasLen {
		v, err := strconv.Atoi(bits)
		if err != nil || v < 0 || v > a.BitLen() {
			return netip.Prefix{}, argErrorf(arg, "%q: prefix length %q is not 0..%d", s, bits, a.BitLen())
		}
		n = v
	}
	return netip.PrefixFrom(a, n), nil
}

// parseScript re-tokenises a script line shell-like, as keepalived does: the first word
// (quoted if it has arguments) is split into argv; the next two are user and group.
func parseScript(_ []Token, raw string) (any, error) {
	words, err := shellWords(raw)
	if err != nil {
		return nil, argErrorf(0, "%v", err)
	}
	if len(words) == 0 {
		return nil, argErrorf(-1, "missing command")
	}
	argv, err := shellWords(words[0])
	if err != nil || len(argv) == 0 {
		return nil, argErrorf(0, "cannot split command %q into words", words[0])
	}
	s := Script{Argv: argv}
	if len(words) > 1 {
		s.User = words[1]
	}
	if len(words) > 2 {
		s.Group = words[2]
	}
	if len(words) > 3 {
		return nil, argErrorf(3, "unexpected %q after CMD USER GROUP; quote the command if it has arguments", words[3])
	}
	return s, nil
}

// parseCommand is parseScript for keywords that run as the global script_user
// (vrrp_script's script, MISC_CHECK's misc_path): words after the command are not a
// user and group; keepalived ignores them, govs refuses them as likely quoting mistakes.
func parseCommand(args []Token, raw string) (any, error) {
	v, err := parseScript(args, raw)
	if err != nil {
		return nil, err
	}
	if s := v.(Script); s.User != "" {
		return nil, argErrorf(1, "unexpected %q after the command; quote the command if it has arguments", s.User)
	}
	return v, nil
}

// shellWords splits like keepalived's alloc_strvec_quoted_escaped: blanks separate
// words, '…' and "…" quote, and backslash escapes \a \b \E \f \n \r \t \v \nnn \xHH \cC.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			i++
			if i >= len(s) {
				return nil, fmt.Errorf("%q ends with an escape character", s)
			}
			n, ch := unescape(s[i:])
			cur.WriteByte(ch)
			i += n - 1
			inWord = true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote = c
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("%q is missing a closing %c", s, quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// unescape decodes the escape starting at s (after the backslash); n is how many bytes
// it used.
func unescape(s string) (n int, c byte) {
	isHex := func(b byte) bool {
		return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
	}
	switch {
	case s[0] == 'x' && len(s) > 1 && isHex(s[1]):
		v := 0
		n = 1
		for n < len(s) && isHex(s[n]) && n < 3 {
			d, _ := strconv.ParseUint(s[n:n+1], 16, 8)
			v = v<<4 | int(d)
			n++
		}
		return n, byte(v)
	case s[0] == 'c' && len(s) > 1:
		return 2, s[1] & 0x1f
	case s[0] >= '0' && s[0] <= '7':
		v := 0
		for n < len(s) && n < 3 && s[n] >= '0' && s[n] <= '7' {
			v = v<<3 | int(s[n]-'0')
			n++
		}
		return n, byte(v)
	}
	m := map[byte]byte{'a': '\a', 'b': '\b', 'E': 0x1b, 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}
	if r, ok := m[s[0]]; ok {
		return 1, r
	}
	return 1, s[0]
}

func parseHexPattern(a []Token, _ string) (any, error) {
	s := a[0].Text
	if len(s) == 0 || len(s)%2 != 0 {
		return nil, argErrorf(0, "%q is not an even number of hexadecimal digits", s)
	}
	p := &HexPattern{Data: make([]byte, len(s)/2), Mask: make([]byte, len(s)/2)}
	for i := 0; i < len(s); i++ {
		var v, m byte
		switch c := s[i]; {
		case c == 'x' || c == 'X':
		case c >= '0' && c <= '9':
			v, m = c-'0', 0xf
		case c >= 'a' && c <= 'f':
			v, m = c-'a'+10, 0xf
		case c >= 'A' && c <= 'F':
			v, m = c-'A'+10, 0xf
		default:
			return nil, argErrorf(0, "%q: %q is not a hexadecimal digit or X", s, string(c))
		}
		shift := uint(4 * (1 - i%2))
		p.Data[i/2] |= v << shift
		p.Mask[i/2] |= m << shift
	}
	return p, nil
}

func parseStatusCodes(a []Token, _ string) (any, error) {
	var out []StatusRange
	for i, t := range a {
		lo, hi, isRange := strings.Cut(t.Text, "-")
		l, err := parseIntRange(lo, i, 100, 999)
		if err != nil {
			return nil, argErrorf(i, "status code %q is not 100..999 or a range LO-HI", t.Text)
		}
		h := l
		if isRange {
			if h, err = parseIntRange(hi, i, 100, 999); err != nil || h < l {
				return nil, argErrorf(i, "status code range %q is not LO-HI with 100 <= LO <= HI <= 999", t.Text)
			}
		}
		out = append(out, StatusRange{Lo: l, Hi: h})
	}
	return out, nil
}

func parseForwarding(a []Token, _ string) (any, error) {
	f := Forwarding{}
	switch a[0].Text {
	case "NAT", "DR", "TUN":
		f.Method = a[0].Text
	default:
		return nil, argErrorf(0, "%q is not a forwarding method; expected NAT, DR or TUN%s", a[0].Text, suggestion(a[0].Text, []string{"NAT", "DR", "TUN"}))
	}
	for i := 1; i < len(a); i++ {
		if f.Method != "TUN" {
			return nil, argErrorf(i, "unexpected %q: only TUN takes options", a[i].Text)
		}
		switch a[i].Text {
		case "type":
			if i+1 >= len(a) {
				return nil, argErrorf(i, "type needs ipip, gue or gre")
			}
			switch t := a[i+1].Text; t {
			case "ipip", "gre":
				f.TunnelType = t
			case "gue":
				f.TunnelType = t
				if i+3 >= len(a) || a[i+2].Text != "port" {
					return nil, argErrorf(i+1, "type gue needs \"port N\"")
				}
				p, err := parsePort(a[i+3].Text, i+3)
				if err != nil || p == 0 {
					return nil, argErrorf(i+3, "%q is not a port (1..65535)", a[i+3].Text)
				}
				f.TunnelPort = p
				i += 2
			default:
				return nil, argErrorf(i+1, "%q is not a tunnel type; expected ipip, gue or gre", t)
			}
			i++
		case "nocsum", "csum", "remcsum":
			f.Checksum = a[i].Text
		default:
			return nil, argErrorf(i, "unexpected %q; expected type or nocsum/csum/remcsum", a[i].Text)
		}
	}
	return f, nil
}

func parseSorry(a []Token, _ string) (any, error) {
	addr, err := parseAddr(a[0].Text, 0)
	if err != nil {
		return nil, err
	}
	var port uint16
	if len(a) > 1 {
		if port, err = parsePort(a[1].Text, 1); err != nil {
			return nil, err
		}
	}
	return netip.AddrPortFrom(addr, port), nil
}

// parseVMAC reads use_vmac's optional name and MAC address, in either order, as
// keepalived 2.2.7 does: an argument with a ':' is the MAC.
// CheckSNMPSocket refuses an AgentX master address (snmp_socket, govs run -A) that
// net-snmp would not read as one.
func CheckSNMPSocket(v string) error {
	switch {
	case strings.HasPrefix(v, "unix:/"), strings.HasPrefix(v, "/"):
	case strings.HasPrefix(v, "tcp:"), strings.HasPrefix(v, "udp:"):
		if _, _, err := net.SplitHostPort(v[4:]); err != nil {
			return fmt.Errorf("%q: %w", v, err)
		}
	default:
		return fmt.Errorf("%q: want unix:PATH, an absolute PATH, tcp:HOST:PORT or udp:HOST:PORT", v)
	}
	return nil
}

func parseVMAC(a []Token, _ string) (any, error) {
	var v VMAC
	for i, t := range a {
		if !strings.Contains(t.Text, ":") {
			if v.Name != "" {
				return nil, argErrorf(i, "VMAC interface name already specified")
			}
			if !validDevName(t.Text) {
				return nil, argErrorf(i, "%q is not an interface name (1-15 characters, no '/', ':' or white space)", t.Text)
			}
			v.Name = t.Text
			continue
		}
		if v.MAC != "" {
			return nil, argErrorf(i, "VMAC interface address already specified")
		}
		mac, usesVRID, err := parseVMACAddr(t.Text)
		if err != nil {
			return nil, argErrorf(i, "VMAC MAC address %s: %v", t.Text, err)
		}
		v.MAC, v.MACUsesVRID = mac, usesVRID
	}
	return v, nil
}

// parseVMACAddr reads a MAC address of six octets of one or two hexadecimal digits, or
// of five (with or without a trailing ':'), whose sixth is then the VRID; it refuses
// what keepalived ignores: a multicast address and RFC 5798's own.
func parseVMACAddr(s string) (mac string, usesVRID bool, err error) {
	octets := strings.Split(s, ":")
	if len(octets) == 6 && octets[5] == "" {
		octets = octets[:5]
	}
	if len(octets) == 5 {
		usesVRID = true
	} else if len(octets) != 6 {
		return "", false, errors.New("want six octets (xx:xx:xx:xx:xx:xx), or five, the sixth being the virtual_router_id")
	}
	var b [6]byte
	for i, o := range octets {
		n, perr := strconv.ParseUint(o, 16, 8)
		if perr != nil || len(o) > 2 {
			return "", false, fmt.Errorf("octet %q is not one or two hexadecimal digits", o)
		}
		b[i] = byte(n)
	}
	switch {
	case b[0]&1 != 0:
		return "", false, errors.New("a multicast address cannot be an interface's")
	case b[0] == 0 && b[1] == 0 && b[2] == 0x5e && b[3] == 0 && (b[4] == 1 || b[4] == 2):
		return "", false, errors.New("RFC 5798's own addresses are what use_vmac takes without one")
	}
	return net.HardwareAddr(b[:]).String(), usesVRID, nil
}

func parseSyncDaemon(a []Token, _ string) (any, error) {
	s := &SyncDaemon{Interface: a[0].Text, Port: 8848, TTL: 1, Group: netip.MustParseAddr("224.0.0.81")}
	for i := 1; i < len(a); i++ {
		key := a[i].Text
		if key == "inst" {
			i++
			if i >= len(a) {
				return nil, argErrorf(i-1, "inst needs an instance name")
			}
			s.Instance = a[i].Text
			continue
		}
		var err error
		switch key {
		case "id", "maxlen", "port", "ttl", "group":
			if i+1 >= len(a) {
				return nil, argErrorf(i, "%s needs a value", key)
			}
			v := a[i+1].Text
			switch key {
			case "id":
				s.SyncID, err = parseIntRange(v, i+1, 0, 255)
				s.SyncIDSet = true
			case "maxlen":
				s.MaxLen, err = parseIntRange(v, i+1, 1, 65507)
			case "port":
				s.Port, err = parsePort(v, i+1)
			case "ttl":
				s.TTL, err = parseIntRange(v, i+1, 1, 255)
			case "group":
				s.Group, err = parseAddr(v, i+1)
			}
			i++
		default:
			if i == 1 && s.Instance == "" {
				s.Instance = key
				continue
			}
			return nil, argErrorf(i, "unexpected %q; expected id, maxlen, port, ttl or group", key)
		}
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

func parseLVSTimeouts(a []Token, _ string) (any, error) {
	var t LVSTimeouts
	for i := 0; i < len(a); i += 2 {
		if i+1 >= len(a) {
			return nil, argErrorf(i, "%s needs a value in seconds", a[i].Text)
		}
		n, err := parseIntRange(a[i+1].Text, i+1, 1, 86400*31)
		if err != nil {
			return nil, err
		}
		d := time.Duration(n) * time.Second
		switch a[i].Text {
		case "tcp":
			t.TCP = d
		case "tcpfin":
			t.TCPFin = d
		case "udp":
			t.UDP = d
		default:
			return nil, argErrorf(i, "unexpected %q; expected tcp, tcpfin or udp", a[i].Text)
		}
	}
	return t, nil
}

func parseInitFile(a []Token, _ string) (any, error) {
	f := &InitFile{}
	for i, t := range a {
		if t.Text == "overwrite" {
			f.Overwrite = true
			continue
		}
		n, err := parseIntRange(t.Text, i, -2147483647, 2147483647)
		if err != nil {
			return nil, err
		}
		f.Value = n
	}
	return f, nil
}

func parseUnicastPeer(t []Token) (any, error) {
	a, err := parseAddr(t[0].Text, 0)
	if err != nil {
		return nil, err
	}
	p := UnicastPeer{Addr: a}
	for i := 1; i < len(t); i += 2 {
		if i+1 >= len(t) {
			return nil, argErrorf(i, "%s needs a value", t[i].Text)
		}
		n, err := parseIntRange(t[i+1].Text, i+1, 0, 255)
		if err != nil {
			return nil, err
		}
		switch t[i].Text {
		case "min_ttl":
			p.MinTTL = n
		case "max_ttl":
			p.MaxTTL = n
		default:
			return nil, argErrorf(i, "unexpected %q; expected min_ttl or max_ttl", t[i].Text)
		}
	}
	return p, nil
}

// validDevName is the kernel's rule for a new interface's name (dev_valid_name).
func validDevName(name string) bool {
	if name == "" || len(name) > 15 || name == "." || name == ".." {
		return false
	}
	return !strings.ContainsAny(name, "/: \t\n\v\f\r")
}

// checkBusName applies the D-Bus specification's rules for a well-known bus name.
func checkBusName(name string) error {
	if len(name) > 255 {
		return errors.New("a D-Bus name has at most 255 characters")
	}
	elems := strings.Split(name, ".")
	if len(elems) < 2 {
		return errors.New("a D-Bus name has two elements or more, separated by dots (org.keepalived.Vrrp1)")
	}
	for _, e := range elems {
		if e == "" || e[0] >= '0' && e[0] <= '9' {
			return errors.New("each element of a D-Bus name is non-empty and does not start with a digit")
		}
		for _, c := range e {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return fmt.Errorf("%q is not allowed in a D-Bus name (letters, digits, _ and -)", c)
			}
		}
	}
	return nil
}
