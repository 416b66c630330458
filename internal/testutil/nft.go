package testutil

import (
	"math/bits"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

var (
	nftCounterRE  = regexp.MustCompile(`counter packets \d+ bytes \d+`)
	nftElementsRE = regexp.MustCompile(`(?s)elements = \{ (.*?) \}`)
)

// NormalizeRuleset makes `nft list ruleset` output comparable: counters zeroed, and
// set elements sorted, since the kernel's hash sets list them in no fixed order.
func NormalizeRuleset(s string) string {
	s = nftCounterRE.ReplaceAllString(s, "counter packets 0 bytes 0")
	return nftElementsRE.ReplaceAllStringFunc(s, func(m string) string {
		var els []string
		for _, e := range strings.Split(nftElementsRE.FindStringSubmatch(m)[1], ",") {
			els = append(els, strings.TrimSpace(e))
		}
		slices.Sort(els)
		return "elements = { " + strings.Join(els, ", ") + " }"
	})
}

// Ruleset is the host's nftables ruleset, normalized.
func (h *Host) Ruleset(t testing.TB) string {
	t.Helper()
	NeedCommand(t, "nft")
	out, err := h.Exec("nft", "list", "ruleset")
	if err != nil {
		t.Fatalf("nft list ruleset in %s: %v\n%s", h.Name, err, out)
	}
	return NormalizeRuleset(out)
}

// AsKeepalivedShowsIt rewrites the one place where nft shows govs's tables differently
// from keepalived's: google/nftables cannot mark a map's data host endian, so nft
// shows the base interface in vmac_map as the index of dev read big endian instead of
// as its name. The kernel reads it in host order: the rule itself is the same.
func (h *Host) AsKeepalivedShowsIt(t testing.TB, ruleset, dev string) string {
	t.Helper()
	nh, err := netlink.NewHandleAt(h.NS)
	if err != nil {
		t.Fatal(err)
	}
	defer nh.Close()
	l, err := nh.LinkByName(dev)
	if err != nil {
		t.Fatal(err)
	}
	shown := strconv.FormatUint(uint64(bits.ReverseBytes32(uint32(l.Attrs().Index))), 10)
	return strings.ReplaceAll(ruleset, " : "+shown, ` : "`+dev+`"`)
}
