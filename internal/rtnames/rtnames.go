// Package rtnames resolves the names iproute2 gives routing tables, route protocols,
// DS fields, realms and interface groups (the files of /etc/iproute2), as keepalived
// resolves them in its routes and rules.
package rtnames

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Dir is where iproute2 keeps its name files.
const Dir = "/etc/iproute2"

// Kind is one name space: its file under Dir, the names known without it (as
// keepalived builds them in), and the largest value.
type Kind struct {
	what    string
	file    string // under Dir, or absolute
	builtin map[string]uint32
	max     uint64
	// nameFirst: the file's lines are NAME VALUE [ALIAS…] (/etc/protocols).
	nameFirst bool
}

var (
	Table = Kind{what: "routing table", file: "rt_tables", max: 1<<32 - 1,
		builtin: map[string]uint32{"unspec": 0, "default": 253, "main": 254, "local": 255}}
	Protocol = Kind{what: "route protocol", file: "rt_protos", max: 255,
		builtin: map[string]uint32{"unspec": 0, "redirect": 1, "kernel": 2, "boot": 3, "static": 4,
			"gated": 8, "ra": 9, "mrt": 10, "zebra": 11, "bird": 12, "dnrouted": 13, "xorp": 14,
			"ntk": 15, "dhcp": 16, "keepalived": 18, "babel": 42, "openr": 99, "bgp": 186,
			"isis": 187, "ospf": 188, "rip": 189, "eigrp": 192}}
	DSField = Kind{what: "DS field", file: "rt_dsfield", max: 255}
	Realm   = Kind{what: "realm", file: "rt_realms", max: 65535, builtin: map[string]uint32{"cosmos": 0}}
	Group   = Kind{what: "interface group", file: "group", max: 1<<31 - 1, builtin: map[string]uint32{"default": 0}}
	IPProto = Kind{what: "IP protocol", file: "/etc/protocols", max: 255, nameFirst: true,
		builtin: map[string]uint32{"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51,
			"ipv6-icmp": 58, "sctp": 132}}
)

// Lookup returns the value of name: a number (decimal, or 0x… hexadecimal), or a name
// from dir's file of the kind (and its .d directory's *.conf files), or a built-in one.
func Lookup(dir string, k Kind, name string) (uint32, error) {
	if n, err := strconv.ParseUint(name, 0, 64); err == nil {
		if n > k.max {
			return 0, fmt.Errorf("%s %s is above %d", k.what, name, k.max)
		}
		return uint32(n), nil
	}
	var v uint32
	for _, f := range k.files(dir) {
		if k.scan(f, func(n uint32, names []string) bool { v = n; return slices.Contains(names, name) }) {
			return v, nil
		}
	}
	if v, ok := k.builtin[name]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("%s %q is neither a number nor a name in %s", k.what, name, k.files(dir)[0])
}

// Name is the first name the files Lookup reads give value v, else a built-in one,
// else v in decimal: keepalived's get_rttables_* (as its SNMP agent names a rule's
// suppress_ifgroup).
func Name(dir string, k Kind, v uint32) string {
	var name string
	for _, f := range k.files(dir) {
		if k.scan(f, func(n uint32, names []string) bool { name = names[0]; return n == v }) {
			return name
		}
	}
	for name, n := range k.builtin {
		if n == v {
			return name
		}
	}
	return strconv.FormatUint(uint64(v), 10)
}

// files are the kind's file under dir (unless absolute) and its .d directory's
// *.conf files.
func (k Kind) files(dir string) []string {
	path := k.file
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, k.file)
	}
	more, _ := filepath.Glob(path + ".d/*.conf")
	return append([]string{path}, more...)
}

// scan reads lines of "VALUE NAME" (# starts a comment), or NAME VALUE ALIAS…, and
// calls f with each line's value and names until f says it has found its line.
func (k Kind) scan(path string, f func(v uint32, names []string) bool) bool {
	file, err := os.Open(path)
	if err != nil {
		return false
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		value, names := fields[0], fields[1:2]
		if k.nameFirst {
			value, names = fields[1], append(fields[:1:1], fields[2:]...)
		}
		if n, err := strconv.ParseUint(value, 0, 64); err == nil && n <= k.max && f(uint32(n), names) {
			return true
		}
	}
	return false
}
