package nftipvs

import (
	"fmt"
	"math/bits"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/govs/govs/internal/testutil"
	"golang.org/x/sys/unix"
)

func entry(first, last string, port uint16, proto uint8, mark uint32) Entry {
	return Entry{First: netip.MustParseAddr(first), Last: netip.MustParseAddr(last), Port: port, Protocol: proto, Mark: mark}
}

// TestKeepalivedTables: the tables read as keepalived 2.2.7's for the same groups
// (testdata/keepalived.nft is what `nft list ruleset` showed under keepalived in the
// IPVS oracle, internal/daemon/testdata/oracle/nftipvs.*), a second Set changes only
// the elements, new options rebuild the tables, and Close deletes them.
func TestKeepalivedTables(t *testing.T) {
	testutil.Integration(t)
	testutil.NeedCommand(t, "nft")
	lan := testutil.NewLAN(t)
	h := lan.AddHost("a", "10.77.0.1/24")
	m := New(func() (*nftables.Conn, error) { return nftables.New(nftables.WithNetNSFd(int(h.NS))) })
	opts := Options{Priority: -1}
	entries := []Entry{
		entry("192.168.10.100", "192.168.10.100", 80, unix.IPPROTO_TCP, 1000),
		entry("192.168.10.101", "192.168.10.101", 80, unix.IPPROTO_TCP, 1000),
		entry("192.168.10.110", "192.168.10.112", 8080, unix.IPPROTO_TCP, 1000),
		entry("192.168.10.120", "192.168.10.120", 53, unix.IPPROTO_UDP, 1001),
	}
	if err := m.Set(opts, entries); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "keepalived.nft"))
	if err != nil {
		t.Fatal(err)
	}
	if got := marksAsKeepalivedShowsThem(h.Ruleset(t)); got != testutil.NormalizeRuleset(string(want)) {
		t.Fatalf("ruleset:\n%s\nwant (keepalived's):\n%s", got, want)
	}

	// The kernel marks a packet to a group's address with the group's mark: a rule of
	// our own after the map's chain counts packets with mark 1000.
	for _, args := range [][]string{
		{"ip", "addr", "add", "192.168.10.101/32", "dev", "lo"},
		{"nft", "add table ip check"},
		{"nft", "add chain ip check in { type filter hook input priority 0 ; }"},
		{"nft", "add rule ip check in meta mark 1000 counter"},
	} {
		if out, err := h.Exec(args[0], args[1:]...); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	h.Exec("bash", "-c", "exec 3<>/dev/tcp/192.168.10.101/80") // refused: the SYN is enough
	if out, _ := h.Exec("nft", "list", "table", "ip", "check"); !regexp.MustCompile(`counter packets [1-9]`).MatchString(out) {
		t.Fatalf("no packet to 192.168.10.101:80 carried mark 1000:\n%s", out)
	}
	if out, err := h.Exec("nft", "delete", "table", "ip", "check"); err != nil {
		t.Fatalf("%v %s", err, out)
	}

	// A reload: one address fewer, an IPv6 group more.
	entries = append(entries[1:], entry("2001:db8::1", "2001:db8::1", 443, unix.IPPROTO_TCP, 1002))
	if err := m.Set(opts, entries); err != nil {
		t.Fatal(err)
	}
	got := marksAsKeepalivedShowsThem(h.Ruleset(t))
	for _, want := range []string{
		"table ip6 keepalived_ipvs", "type ipv6_addr . inet_service : mark", "2001:db8::1 . 443 : 0x000003ea",
		"meta mark set ip6 daddr . tcp dport map @tcp_map return",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("after the reload, no %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "192.168.10.100 ") {
		t.Errorf("the removed address is still marked:\n%s", got)
	}

	// Other options: the tables are made again under the new name, over a leftover
	// table of that name (an earlier run's).
	if out, err := h.Exec("nft", "add table ip other; add chain ip other leftover"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	opts = Options{Table: "other", Priority: 5, Counters: true}
	if err := m.Set(opts, entries); err != nil {
		t.Fatal(err)
	}
	got = h.Ruleset(t)
	if strings.Contains(got, "keepalived_ipvs") || strings.Contains(got, "leftover") || !strings.Contains(got, "table ip other") || !strings.Contains(got, "priority filter + 5") ||
		!strings.Contains(got, "counter packets 0 bytes 0 return") {
		t.Errorf("after new options:\n%s", got)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if got := h.Ruleset(t); strings.TrimSpace(got) != "" {
		t.Errorf("after Close:\n%s", got)
	}
}

var shownMark = regexp.MustCompile(`: 0x([0-9a-f]{8})`)

// marksAsKeepalivedShowsThem rewrites the one thing nft shows differently: keepalived
// tells nft that a map's marks are host endian (set userdata google/nftables cannot
// write), so nft shows 1000 as 0x000003e8 for keepalived's map and as 0xe8030000 for
// ours. The bytes, and the mark the kernel sets from them, are the same.
func marksAsKeepalivedShowsThem(ruleset string) string {
	return shownMark.ReplaceAllStringFunc(ruleset, func(m string) string {
		v, _ := strconv.ParseUint(shownMark.FindStringSubmatch(m)[1], 16, 32)
		return fmt.Sprintf(": 0x%08x", bits.ReverseBytes32(uint32(v)))
	})
}
