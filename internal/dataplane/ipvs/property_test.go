package ipvs

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/govs/govs/internal/table"
)

// genTable draws a table over small pools of keys and destinations, so tables drawn
// one after another share services and destinations and differ in attributes.
func genTable(t *rapid.T, label string) table.Table {
	keys := []table.ServiceKey{vs1, vs2, vs3, {FWMark: 1}, {FWMark: 1, IPv6: true}, {Protocol: table.UDP, Addr: netip.MustParseAddrPort("[2001:db8::100]:53")}}
	chosen := rapid.SliceOfNDistinct(rapid.SampledFrom(keys), 0, len(keys), func(k table.ServiceKey) table.ServiceKey { return k }).Draw(t, label+" keys")
	var tb table.Table
	for i, k := range chosen {
		s := table.Service{
			ServiceKey: k,
			Scheduler:  rapid.SampledFrom([]string{"", "rr", "wrr", "wlc", "sh", "mh"}).Draw(t, fmt.Sprintf("%s sched %d", label, i)),
			Flags:      table.SchedFlags(rapid.IntRange(0, 7).Draw(t, fmt.Sprintf("%s flags %d", label, i))),
		}
		if rapid.Bool().Draw(t, fmt.Sprintf("%s persistent %d", label, i)) {
			s.Persistence.Timeout = time.Duration(rapid.IntRange(1, 3600).Draw(t, fmt.Sprintf("%s timeout %d", label, i))) * time.Second
		}
		six := serviceIs6(k)
		n := rapid.IntRange(0, 4).Draw(t, fmt.Sprintf("%s ndests %d", label, i))
		for j := range n {
			a := netip.AddrFrom4([4]byte{10, 0, 0, byte(1 + rapid.IntRange(0, 5).Draw(t, fmt.Sprintf("%s dest %d.%d", label, i, j)))})
			if six {
				a = netip.MustParseAddr(fmt.Sprintf("2001:db8:10::%d", 1+rapid.IntRange(0, 5).Draw(t, fmt.Sprintf("%s dest6 %d.%d", label, i, j))))
			}
			s.Dests = append(s.Dests, table.Dest{
				Addr:       netip.AddrPortFrom(a, 80),
				Weight:     rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("%s weight %d.%d", label, i, j)),
				Method:     rapid.SampledFrom([]table.Method{table.Masquerade, table.Route, table.Tunnel}).Draw(t, fmt.Sprintf("%s method %d.%d", label, i, j)),
				UThreshold: rapid.IntRange(0, 2).Draw(t, fmt.Sprintf("%s x %d.%d", label, i, j)),
			})
		}
		tb.Services = append(tb.Services, s)
	}
	return tb
}

func keysOf(svcs []table.Service) []table.ServiceKey {
	var out []table.ServiceKey
	for _, s := range svcs {
		out = append(out, s.ServiceKey)
	}
	return out
}

// TestApplyConverges: from any kernel table, Apply leaves every desired service as
// desired, touches no service it does not own, and an unchanged second Apply sends
// nothing; a later table removes what it dropped and only that.
func TestApplyConverges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		before := genTable(t, "kernel")
		var kernelSvcs []table.Service
		for _, s := range before.Services {
			kernelSvcs = append(kernelSvcs, normalize(s))
		}
		k := newFake(kernelSvcs...)
		p := newPlane(k, quiet())
		want1, want2 := genTable(t, "first"), genTable(t, "second")
		ctx := context.Background()
		if err := p.Apply(ctx, want1); err != nil {
			t.Fatal(err)
		}
		assertKernelHas(t, k, want1)
		for _, s := range before.Services {
			if !slices.Contains(keysOf(want1.Services), s.ServiceKey) && k.find(s.ServiceKey) < 0 {
				t.Fatalf("%s was not ours but was removed", s.ServiceKey)
			}
		}
		k.calls = nil
		if err := p.Apply(ctx, want1); err != nil {
			t.Fatal(err)
		}
		if len(k.calls) != 0 {
			t.Fatalf("unchanged table sent %q", k.calls)
		}
		if err := p.Apply(ctx, want2); err != nil {
			t.Fatal(err)
		}
		assertKernelHas(t, k, want2)
		for _, key := range keysOf(want1.Services) {
			if !slices.Contains(keysOf(want2.Services), key) && k.find(key) >= 0 {
				t.Fatalf("%s was dropped from the table but is still in the kernel", key)
			}
		}
		for _, s := range before.Services {
			if !slices.Contains(keysOf(want1.Services), s.ServiceKey) && !slices.Contains(keysOf(want2.Services), s.ServiceKey) && k.find(s.ServiceKey) < 0 {
				t.Fatalf("foreign %s was removed", s.ServiceKey)
			}
		}
		// The plane's idea of the kernel matches the kernel: a fresh plane adopting it
		// has nothing to send.
		k.calls = nil
		q := newPlane(k, quiet())
		if err := q.Apply(ctx, want2); err != nil {
			t.Fatal(err)
		}
		if len(k.calls) != 0 {
			t.Fatalf("adopting an up-to-date kernel sent %q", k.calls)
		}
	})
}
