package adm

import (
	"fmt"
	"io"
	"net/netip"
	"testing"

	"github.com/govs/govs/internal/table"
)

// BenchmarkListNumeric lists 1000 services of 10 destinations each (-L -n), the size of
// a large director; the goal is to stay well under a second so govs adm feels instant.
func BenchmarkListNumeric(b *testing.B) {
	var t table.Table
	for i := range 1000 {
		s := table.Service{ServiceKey: table.ServiceKey{Protocol: table.TCP,
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}), 80)}, Scheduler: "wlc"}
		for j := range 10 {
			s.Dests = append(s.Dests, table.Dest{Addr: netip.MustParseAddrPort(fmt.Sprintf("10.200.%d.%d:80", i%250, j+1)), Weight: 1})
		}
		t.Services = append(t.Services, s)
	}
	m := NewModel(ModelOptions{})
	m.Load(t)
	env := Env{Prog: "ipvsadm", Backend: m, Stdout: io.Discard, Stderr: io.Discard}
	b.ResetTimer()
	for b.Loop() {
		Run(env, []string{"-L", "-n"})
	}
}
