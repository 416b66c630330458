package config

import (
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// secondsKind is a whole number of seconds, as a duration.
func secondsKind(lo, hi int) kind {
	return kind{doc: "SECONDS " + strconv.Itoa(lo) + ".." + strconv.Itoa(hi), minArgs: 1, maxArgs: 1, parse: func(a []Token, _ string) (any, error) {
		n, err := parseIntRange(a[0].Text, 0, lo, hi)
		return time.Duration(n) * time.Second, err
	}}
}

func parseDigest(a []Token, _ string) (any, error) {
	s := strings.ToLower(a[0].Text)
	if len(s) != 32 || strings.Trim(s, "0123456789abcdef") != "" {
		return nil, argErrorf(0, "digest %q is not an MD5 sum (32 hexadecimal digits)", a[0].Text)
	}
	return s, nil
}

// parseGranularity reads a persistence netmask: a dotted IPv4 mask or an IPv6 prefix length.
func parseGranularity(a []Token, _ string) (any, error) {
	s := a[0].Text
	if addr, err := netip.ParseAddr(s); err == nil && addr.Is4() {
		b := addr.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if v != 0 && (^v)&((^v)+1) != 0 {
			return nil, argErrorf(0, "%q is not a contiguous netmask", s)
		}
		return s, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= 128 {
		return s, nil
	}
	return nil, argErrorf(0, "%q is not a netmask (A.B.C.D or an IPv6 prefix length 1..128)", s)
}

// Block headers: the arguments on a block's opening line.

func hNone(any, string, []Token) error { return nil }

// hName reads the NAME of vrrp_instance NAME, vrrp_script NAME, … into the Name field.
func hName(dst any, keyword string, args []Token) error {
	if len(args) == 0 {
		return argErrorf(-1, "%s needs a name", keyword)
	}
	if dst != nil {
		v := reflect.ValueOf(dst).Elem()
		v.Field(indexFields(v.Type()).name).SetString(args[0].Text)
	}
	return nil
}

func hChecker(dst any, keyword string, _ []Token) error {
	dst.(*Checker).Type = CheckerType(keyword)
	return nil
}

// hVirtualServer reads "IP [PORT]", "fwmark N" or "group NAME".
func hVirtualServer(dst any, keyword string, args []Token) error {
	vs := dst.(*VirtualServer)
	if len(args) == 0 {
		return argErrorf(-1, "virtual_server needs IP [PORT], fwmark N or group NAME")
	}
	switch args[0].Text {
	case "fwmark":
		if len(args) < 2 {
			return argErrorf(0, "fwmark needs a number")
		}
		m, err := parseUint32(args[1].Text, 1)
		if err != nil || m == 0 {
			return argErrorf(1, "%q is not a firewall mark 1..4294967295", args[1].Text)
		}
		vs.FwMark = m
		return nil
	case "group":
		if len(args) < 2 {
			return argErrorf(0, "group needs a virtual_server_group name")
		}
		vs.GroupName = args[1].Text
		return nil
	}
	a, err := parseAddr(args[0].Text, 0)
	if err != nil {
		return err
	}
	vs.Addr = a
	if len(args) > 1 {
		if vs.Port, err = parsePort(args[1].Text, 1); err != nil {
			return err
		}
	}
	return nil
}

// hRealServer reads "IP [PORT]".
func hRealServer(dst any, keyword string, args []Token) error {
	rs := dst.(*RealServer)
	if len(args) == 0 {
		return argErrorf(-1, "real_server needs IP [PORT]")
	}
	a, err := parseAddr(args[0].Text, 0)
	if err != nil {
		return err
	}
	rs.Addr = a
	if len(args) > 1 {
		if rs.Port, err = parsePort(args[1].Text, 1); err != nil {
			return err
		}
	}
	return nil
}
