package adm

import (
	"math"
	"net/netip"
	"strings"
)

// The C library's number and address parsers, with the leniencies ipvsadm inherits from
// them: strtol skips leading white space and takes a sign, inet_aton takes one to four
// parts in decimal, octal or hex.

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// strtol parses s as C's strtol(s, &end, base) with a 64-bit long, and reports whether the
// whole string was used and held at least one digit. Out-of-range values clamp and set
// overflow, like ERANGE.
func strtol(s string, base int) (n int64, ok, overflow bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v uint64
	for ; i < len(s); i++ {
		d := digitVal(s[i])
		if d >= base {
			break
		}
		if v > (math.MaxUint64-uint64(d))/uint64(base) {
			overflow = true
			v = math.MaxUint64
			continue
		}
		v = v*uint64(base) + uint64(d)
	}
	if i == start {
		return 0, false, false
	}
	switch {
	case !neg && (overflow || v > math.MaxInt64):
		n, overflow = math.MaxInt64, true
	case neg && (overflow || v > 1<<63):
		n, overflow = math.MinInt64, true
	case neg:
		n = -int64(v)
	default:
		n = int64(v)
	}
	return n, i == len(s), overflow
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// stringToNumber is ipvsadm's string_to_number: the whole string a base-10 number within
// [min, max], else -1.
func stringToNumber(s string, min, max int64) int64 {
	n, ok, overflow := strtol(s, 10)
	if !ok || overflow || n < min || n > max {
		return -1
	}
	return n
}

// atoi is C's atoi: the numeric prefix after white space, 0 when there is none.
func atoi(s string) int64 {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	j := i
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		j++
	}
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, _, _ := strtol(s[i:j], 10)
	return int64(int32(n))
}

// inetAton is glibc's inet_aton: "a", "a.b", "a.b.c" or "a.b.c.d", each part decimal,
// octal (leading 0) or hex (0x); the last part fills the remaining bytes. Anything after
// the address must start with white space.
func inetAton(s string) (netip.Addr, bool) {
	var parts []uint64
	i := 0
	var val uint64
	for {
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return netip.Addr{}, false
		}
		// strtoul(cp, &end, 0): 0x hex, 0 octal, else decimal; stops at the first
		// byte that is not a digit of the base.
		base := 10
		if s[i] == '0' {
			base = 8
			if i+2 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X') && digitVal(s[i+2]) < 16 {
				base = 16
				i += 2
			}
		}
		val = 0
		for i < len(s) && digitVal(s[i]) < base {
			val = val*uint64(base) + uint64(digitVal(s[i]))
			if val > math.MaxUint32 {
				return netip.Addr{}, false
			}
			i++
		}
		if i < len(s) && s[i] == '.' {
			if len(parts) > 2 || val > 0xff {
				return netip.Addr{}, false
			}
			parts = append(parts, val)
			i++
			continue
		}
		break
	}
	if i < len(s) && !isCSpace(s[i]) {
		return netip.Addr{}, false
	}
	max := [...]uint64{0xffffffff, 0xffffff, 0xffff, 0xff}[len(parts)]
	if val > max {
		return netip.Addr{}, false
	}
	v := val
	for k, p := range parts {
		v |= p << (24 - 8*k)
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// inetPton6 is inet_pton(AF_INET6): a plain IPv6 literal, no zone, no brackets.
func inetPton6(s string) (netip.Addr, bool) {
	if !strings.Contains(s, ":") || strings.ContainsAny(s, "%[] \t") {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return netip.Addr{}, false
	}
	return a, true
}

// inetPton4 is inet_pton(AF_INET): a strict dotted quad.
func inetPton4(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}

// isDigits is ipvsadm's str_is_digit: every byte a digit (true for "").
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
