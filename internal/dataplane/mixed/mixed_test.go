package mixed

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/govs/govs/internal/table"
)

type recorder struct {
	got  table.Table
	err  error
	stat table.Stats
}

func (r *recorder) Apply(_ context.Context, t table.Table) error { r.got = t; return r.err }
func (r *recorder) Stats() table.Stats                           { return r.stat }
func (r *recorder) Close(context.Context) error                  { return r.err }

func svc(port uint16, m table.Method, dests ...table.Method) table.Service {
	s := table.Service{ServiceKey: table.ServiceKey{Protocol: table.TCP, Addr: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), port)}, Method: m}
	for i, dm := range dests {
		s.Dests = append(s.Dests, table.Dest{Addr: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(i+1)), Method: dm})
	}
	return s
}

func TestSplitByServiceMethod(t *testing.T) {
	tab := table.Table{
		Timeouts: table.Timeouts{TCP: 5},
		Services: []table.Service{
			svc(80, table.Route, table.Route),
			svc(81, table.Masquerade, table.Masquerade),
			svc(82, table.Tunnel),                  // no destinations: still forwarded
			svc(83, table.Masquerade, table.Route), // a DR override in a NAT service stays relayed
			svc(84, table.Route, table.Masquerade),
		},
	}
	fwd, rel := Split(tab)
	ports := func(t table.Table) (out []uint16) {
		for _, s := range t.Services {
			out = append(out, s.Addr.Port())
		}
		return out
	}
	if got := ports(fwd); len(got) != 3 || got[0] != 80 || got[1] != 82 || got[2] != 84 {
		t.Errorf("forwarded = %v, want [80 82 84]", got)
	}
	if got := ports(rel); len(got) != 2 || got[0] != 81 || got[1] != 83 {
		t.Errorf("relayed = %v, want [81 83]", got)
	}
	if fwd.Timeouts != tab.Timeouts || rel.Timeouts != tab.Timeouts {
		t.Error("timeouts not given to both planes")
	}
}

func TestPlaneAppliesBothAndJoinsErrors(t *testing.T) {
	f, r := &recorder{err: errors.New("xdp failed")}, &recorder{}
	f.stat.Services = []table.ServiceStats{{Key: svc(80, table.Route).ServiceKey}}
	r.stat.Services = []table.ServiceStats{{Key: svc(81, table.Masquerade).ServiceKey}}
	p := New(f, r)
	err := p.Apply(context.Background(), table.Table{Services: []table.Service{svc(80, table.Route), svc(81, table.Masquerade)}})
	if err == nil || len(r.got.Services) != 1 || len(f.got.Services) != 1 {
		t.Fatalf("err %v, relayed %v, forwarded %v", err, r.got, f.got)
	}
	if st := p.Stats(); len(st.Services) != 2 {
		t.Errorf("stats = %+v", st)
	}
	if err := p.Close(context.Background()); err == nil {
		t.Error("Close hid the forwarding plane's error")
	}
}
