package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/govs/govs/internal/notify"
	"github.com/govs/govs/internal/script"
	"github.com/govs/govs/internal/table"
	"github.com/govs/govs/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a data plane that keeps every table it is given.
type recorder struct {
	mu     sync.Mutex
	tables []table.Table
	fail   error
}

func (r *recorder) Apply(_ context.Context, t table.Table) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tables = append(r.tables, t)
	return r.fail
}
func (r *recorder) Stats() table.Stats          { return table.Stats{} }
func (r *recorder) Close(context.Context) error { return nil }
func (r *recorder) last() table.Table {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tables[len(r.tables)-1]
}
func (r *recorder) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.tables) }

var (
	vip  = table.ServiceKey{Protocol: table.TCP, Addr: netip.MustParseAddrPort("192.0.2.1:80")}
	rs1  = netip.MustParseAddrPort("10.0.0.1:80")
	rs2  = netip.MustParseAddrPort("10.0.0.2:80")
	rs3  = netip.MustParseAddrPort("10.0.0.3:80")
	sorr = netip.MustParseAddrPort("10.0.0.9:80")
)

func start(t *testing.T, opts Options) (*Engine, *recorder) {
	t.Helper()
	rec := &recorder{}
	e := New(rec, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e, rec
}

// weights renders a service's destinations as addr→weight for comparisons.
func weights(t table.Table) map[netip.AddrPort]int {
	m := map[netip.AddrPort]int{}
	for _, s := range t.Services {
		for _, d := range s.Dests {
			m[d.Addr] = d.Weight
		}
	}
	return m
}

func equalWeights(a, b map[netip.AddrPort]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func spec(rss ...RealServer) Spec {
	return Spec{Services: []VirtualService{{Service: table.Service{ServiceKey: vip, Scheduler: "wlc"}, RealServers: rss}}}
}

func TestHealthDrivesTable(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		spec   Spec
		events []HealthEvent
		want   map[netip.AddrPort]int
	}{
		{
			name: "all alive at start without alpha",
			spec: spec(RealServer{Addr: rs1, Weight: 3, Checked: true}, RealServer{Addr: rs2, Weight: 1, Checked: true}),
			want: map[netip.AddrPort]int{rs1: 3, rs2: 1},
		},
		{
			name:   "alpha starts down until checked",
			spec:   spec(RealServer{Addr: rs1, Weight: 3, Checked: true, Alpha: true}, RealServer{Addr: rs2, Weight: 1, Checked: true, Alpha: true}),
			events: []HealthEvent{{Service: vip, RS: rs2, Up: true, Weight: -1}},
			want:   map[netip.AddrPort]int{rs2: 1},
		},
		{
			name:   "failed server leaves",
			spec:   spec(RealServer{Addr: rs1, Weight: 3, Checked: true}, RealServer{Addr: rs2, Weight: 1, Checked: true}),
			events: []HealthEvent{{Service: vip, RS: rs1, Up: false, Weight: -1}},
			want:   map[netip.AddrPort]int{rs2: 1},
		},
		{
			name:   "inhibit_on_failure keeps it at weight 0",
			spec:   spec(RealServer{Addr: rs1, Weight: 3, Checked: true, InhibitOnFailure: true}, RealServer{Addr: rs2, Weight: 1, Checked: true}),
			events: []HealthEvent{{Service: vip, RS: rs1, Up: false, Weight: -1}},
			want:   map[netip.AddrPort]int{rs1: 0, rs2: 1},
		},
		{
			name: "recovered server returns",
			spec: spec(RealServer{Addr: rs1, Weight: 3, Checked: true}),
			events: []HealthEvent{
				{Service: vip, RS: rs1, Up: false, Weight: -1},
				{Service: vip, RS: rs1, Up: true, Weight: -1},
			},
			want: map[netip.AddrPort]int{rs1: 3},
		},
		{
			name:   "dynamic weight replaces the configured one",
			spec:   spec(RealServer{Addr: rs1, Weight: 3, Checked: true}),
			events: []HealthEvent{{Service: vip, RS: rs1, Up: true, Weight: 7}},
			want:   map[netip.AddrPort]int{rs1: 7},
		},
		{
			name: "unchecked server is alive even with alpha",
			spec: spec(RealServer{Addr: rs1, Weight: 2, Alpha: true}),
			want: map[netip.AddrPort]int{rs1: 2},
		},
		{
			name:   "event for an unknown server is ignored",
			spec:   spec(RealServer{Addr: rs1, Weight: 2, Checked: true}),
			events: []HealthEvent{{Service: vip, RS: rs3, Up: false, Weight: -1}},
			want:   map[netip.AddrPort]int{rs1: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, rec := start(t, Options{})
			if err := e.Load(ctx, tt.spec); err != nil {
				t.Fatal(err)
			}
			for _, ev := range tt.events {
				if err := e.Health(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			if got := weights(rec.last()); !equalWeights(got, tt.want) {
				t.Errorf("table weights = %v, want %v", got, tt.want)
			}
			// Whatever their health, the table names every configured server with
			// its configured weight (the XDP plane's mid-flow table needs them).
			configured, want := map[netip.AddrPort]int{}, map[netip.AddrPort]int{}
			for _, d := range rec.last().Services[0].Configured {
				configured[d.Addr] = d.Weight
			}
			for _, rs := range tt.spec.Services[0].RealServers {
				want[rs.Addr] = rs.Weight
			}
			if !equalWeights(configured, want) {
				t.Errorf("configured servers in the table = %v, want %v", configured, want)
			}
		})
	}
}

func TestQuorumAndSorryServer(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var ran []string
	e, rec := start(t, Options{Scripts: func(_ context.Context, s script.Spec) {
		mu.Lock()
		ran = append(ran, s.Argv[0])
		mu.Unlock()
	}})
	sorry := RealServer{Addr: sorr, Weight: 1}
	sp := spec(RealServer{Addr: rs1, Weight: 2, Checked: true}, RealServer{Addr: rs2, Weight: 2, Checked: true}, RealServer{Addr: rs3, Weight: 2, Checked: true})
	sp.Services[0].Quorum = 4
	sp.Services[0].Hysteresis = 1
	sp.Services[0].Sorry = &sorry
	sp.Services[0].QuorumUp = &script.Spec{Argv: []string{"up"}}
	sp.Services[0].QuorumDown = &script.Spec{Argv: []string{"down"}}
	fifo := filepath.Join(t.TempDir(), "notify.fifo") // a regular file: WriteFIFO appends
	if err := os.WriteFile(fifo, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sp.FIFOs = []string{fifo}
	if err := e.Load(ctx, sp); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		rs   netip.AddrPort
		up   bool
		want map[netip.AddrPort]int
	}{
		// live 6 ≥ 4+1: quorum up from the start.
		{rs1, false, map[netip.AddrPort]int{rs2: 2, rs3: 2}},        // live 4: not < 4-1, still up
		{rs2, false, map[netip.AddrPort]int{sorr: 1}},               // live 2 < 3: lost, sorry server only
		{rs2, true, map[netip.AddrPort]int{sorr: 1}},                // live 4 < 4+1: still lost
		{rs1, true, map[netip.AddrPort]int{rs1: 2, rs2: 2, rs3: 2}}, // live 6: regained
	}
	for i, st := range steps {
		if err := e.Health(ctx, HealthEvent{Service: vip, RS: st.rs, Up: st.up, Weight: -1}); err != nil {
			t.Fatal(err)
		}
		if got := weights(rec.last()); !equalWeights(got, st.want) {
			t.Fatalf("step %d: weights %v, want %v", i, got, st.want)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		n := len(ran)
		mu.Unlock()
		if n == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	// keepalived notifies a quorum that is up at start too.
	if len(ran) != 3 || ran[0] != "up" || ran[1] != "down" || ran[2] != "up" {
		t.Errorf("quorum scripts ran %v, want [up down up]", ran)
	}
	want := "VS " + notify.Endpoint(vip.Addr.Addr().String(), vip.Protocol.String(), vip.Addr.Port())
	if b, _ := os.ReadFile(fifo); string(b) != want+" UP\n"+want+" DOWN\n"+want+" UP\n" {
		t.Errorf("notify FIFO got %q, want the UP, DOWN and UP lines of %s", b, want)
	}
}

func TestAdminOverlayUntilReload(t *testing.T) {
	ctx := context.Background()
	e, rec := start(t, Options{})
	sp := spec(RealServer{Addr: rs1, Weight: 3, Checked: true}, RealServer{Addr: rs2, Weight: 1, Checked: true})
	if err := e.Load(ctx, sp); err != nil {
		t.Fatal(err)
	}
	setWeight := func(addr netip.AddrPort, w int) AdminOp {
		return func(t table.Table) (table.Table, error) {
			for si := range t.Services {
				for di := range t.Services[si].Dests {
					if t.Services[si].Dests[di].Addr == addr {
						t.Services[si].Dests = append([]table.Dest(nil), t.Services[si].Dests...)
						t.Services[si].Dests[di].Weight = w
						return t, nil
					}
				}
			}
			return t, errors.New("No such destination")
		}
	}
	if err := e.Admin(ctx, setWeight(rs1, 0)); err != nil {
		t.Fatal(err)
	}
	if err := e.Admin(ctx, setWeight(rs3, 5)); err == nil {
		t.Fatal("admin op on a missing destination succeeded")
	}
	// A health change recomputes the table; the admin change stays.
	if err := e.Health(ctx, HealthEvent{Service: vip, RS: rs2, Up: false, Weight: -1}); err != nil {
		t.Fatal(err)
	}
	if got, want := weights(rec.last()), map[netip.AddrPort]int{rs1: 0}; !equalWeights(got, want) {
		t.Fatalf("after health change: %v, want %v", got, want)
	}
	// A reload drops it; rs2's health survives the reload.
	if err := e.Load(ctx, sp); err != nil {
		t.Fatal(err)
	}
	if got, want := weights(rec.last()), map[netip.AddrPort]int{rs1: 3}; !equalWeights(got, want) {
		t.Fatalf("after reload: %v, want %v", got, want)
	}
	st, err := e.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Services) != 1 || st.Services[0].RealServers[1].Up || st.Services[0].RealServers[1].TableWeight != -1 {
		t.Errorf("status = %+v", st)
	}
	if n := rec.count(); n != 4 {
		t.Errorf("data plane got %d tables, want 4 (load, admin, health, reload)", n)
	}
}

func TestStoppedEngine(t *testing.T) {
	rec := &recorder{}
	e := New(rec, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	cancel()
	<-done
	if err := e.Load(context.Background(), Spec{}); !errors.Is(err, ErrStopped) {
		t.Errorf("Load after stop = %v, want ErrStopped", err)
	}
}

// TestReloadKeepsHealthByIdentity: a reload keeps the health of real servers that stay
// (under any position), forgets those that go (one that comes back starts afresh), and a
// server named twice in one service shares one health entry.
func TestReloadKeepsHealthByIdentity(t *testing.T) {
	ctx := context.Background()
	a := RealServer{Addr: rs1, Weight: 1, Checked: true}
	b := RealServer{Addr: rs2, Weight: 2, Checked: true}
	c := RealServer{Addr: rs3, Weight: 3, Checked: true}
	tests := []struct {
		name   string
		reload Spec
		want   map[netip.AddrPort]int
	}{
		{"unchanged", spec(a, b, c), map[netip.AddrPort]int{rs1: 1, rs3: 3}},
		{"reordered", spec(c, b, a), map[netip.AddrPort]int{rs1: 1, rs3: 3}},
		{"weight changed", spec(a, RealServer{Addr: rs2, Weight: 5, Checked: true}, c), map[netip.AddrPort]int{rs1: 1, rs3: 3}},
		{"named twice", spec(b, b, a), map[netip.AddrPort]int{rs1: 1}},
		{"gone", spec(a, c), map[netip.AddrPort]int{rs1: 1, rs3: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, rec := start(t, Options{Scripts: func(context.Context, script.Spec) {}})
			if err := e.Load(ctx, spec(a, b, c)); err != nil {
				t.Fatal(err)
			}
			if err := e.Health(ctx, HealthEvent{Service: vip, RS: rs2, Up: false, Weight: -1, Reason: "test"}); err != nil {
				t.Fatal(err)
			}
			if err := e.Load(ctx, tt.reload); err != nil {
				t.Fatal(err)
			}
			if got := weights(rec.last()); !equalWeights(got, tt.want) {
				t.Fatalf("after reload: %v, want %v", got, tt.want)
			}
			// rs2 comes back in a later reload: health it had before a reload that
			// dropped it is gone, so it starts alive again.
			if err := e.Load(ctx, spec(a, b, c)); err != nil {
				t.Fatal(err)
			}
			wantBack := map[netip.AddrPort]int{rs1: 1, rs3: 3}
			if tt.name == "gone" {
				wantBack[rs2] = 2
			}
			if got := weights(rec.last()); !equalWeights(got, wantBack) {
				t.Fatalf("after rs2 came back: %v, want %v", got, wantBack)
			}
			st, err := e.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range st.Services[0].RealServers {
				if r.Addr == rs2 && r.Up != (tt.name == "gone") {
					t.Errorf("status of rs2: up %v", r.Up)
				}
			}
		})
	}
}

// TestReloadForgetsWhenOthersAreNamedTwice: a reload whose servers are as many as the
// entries kept, one of them named twice, still forgets the server that went.
func TestReloadForgetsWhenOthersAreNamedTwice(t *testing.T) {
	ctx := context.Background()
	a := RealServer{Addr: rs1, Weight: 1, Checked: true}
	b := RealServer{Addr: rs2, Weight: 2, Checked: true}
	e, rec := start(t, Options{Scripts: func(context.Context, script.Spec) {}})
	for _, step := range []func() error{
		func() error { return e.Load(ctx, spec(b)) },
		func() error { return e.Health(ctx, HealthEvent{Service: vip, RS: rs2, Up: false, Weight: -1}) },
		func() error { return e.Load(ctx, spec(a, a)) },
		func() error { return e.Load(ctx, spec(b)) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := weights(rec.last()), map[netip.AddrPort]int{rs2: 2}; !equalWeights(got, want) {
		t.Fatalf("rs2 after it went and came back: %v, want %v (alive again)", got, want)
	}
}

// TestGroupNotifiesOnce: the members of a virtual_server_group share their first
// member's health (one set of checkers, one port for a server without its own), and
// the group's quorum is notified once, under its name, with keepalived's mail bodies;
// with omega a quorum still up is notified lost at shutdown.
func TestGroupNotifiesOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rec := &recorder{}
	var mu sync.Mutex
	var ran, mails []string
	e := New(rec, Options{
		Scripts: func(_ context.Context, s script.Spec) { mu.Lock(); ran = append(ran, s.Argv[0]); mu.Unlock() },
		Alert:   func(vs, what, body string) { mu.Lock(); mails = append(mails, vs+" "+what+" "+body); mu.Unlock() },
	})
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	second := table.ServiceKey{Protocol: table.TCP, Addr: netip.MustParseAddrPort("192.0.2.2:8080")}
	member := func(key table.ServiceKey, leader table.ServiceKey) VirtualService {
		rs := []RealServer{{Addr: netip.AddrPortFrom(rs1.Addr(), key.Addr.Port()), Weight: 1, Checked: true},
			{Addr: rs2, Weight: 1, Checked: true}}
		if leader != (table.ServiceKey{}) {
			rs[0].CheckedAs = netip.AddrPortFrom(rs1.Addr(), leader.Addr.Port())
		}
		return VirtualService{Service: table.Service{ServiceKey: key, Scheduler: "rr"}, RealServers: rs, Quorum: 2,
			Name: "[G1]:0", HealthFrom: leader, SMTPAlert: true, Omega: true,
			QuorumUp: &script.Spec{Argv: []string{"up"}}, QuorumDown: &script.Spec{Argv: []string{"down"}}}
	}
	fifo := filepath.Join(t.TempDir(), "notify.fifo")
	if err := os.WriteFile(fifo, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sp := Spec{Services: []VirtualService{member(vip, table.ServiceKey{}), member(second, vip)}, FIFOs: []string{fifo}}
	if err := e.Load(ctx, sp); err != nil {
		t.Fatal(err)
	}
	// The status names where each server's checks report: the first member, and its
	// port for rs1 checked as CheckedAs.
	st, err := e.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Services[1].RealServers[0]; got.CheckedVS != vip || got.CheckedAddr != netip.AddrPortFrom(rs1.Addr(), vip.Addr.Port()) {
		t.Errorf("second member's rs1 reports under %s %s, want %s %s", got.CheckedVS, got.CheckedAddr, vip, netip.AddrPortFrom(rs1.Addr(), vip.Addr.Port()))
	}
	if got := st.Services[1].RealServers[1]; got.CheckedVS != vip || got.CheckedAddr != rs2 {
		t.Errorf("second member's rs2 reports under %s %s, want %s %s", got.CheckedVS, got.CheckedAddr, vip, rs2)
	}
	// rs1 fails as the first member checks it: both members lose it, and the quorum.
	if err := e.Health(ctx, HealthEvent{Service: vip, RS: rs1, Up: false, Weight: -1}); err != nil {
		t.Fatal(err)
	}
	if got := rec.last(); len(got.Services) != 2 || len(got.Services[0].Dests) != 1 || len(got.Services[1].Dests) != 1 {
		t.Fatalf("after rs1 failed: %+v", got.Services)
	}
	if err := e.Health(ctx, HealthEvent{Service: vip, RS: rs1, Up: true, Weight: -1}); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	// Scripts run beside the engine: they may finish in any order.
	testutil.Eventually(2*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(ran) == 4 })
	mu.Lock()
	defer mu.Unlock()
	sorted := slices.Sorted(slices.Values(ran))
	if want := []string{"down", "down", "up", "up"}; !slices.Equal(sorted, want) {
		t.Errorf("scripts %v, want two of quorum_up and two of quorum_down", ran)
	}
	if b, _ := os.ReadFile(fifo); string(b) != "VS [G1]:0 UP\nVS [G1]:0 DOWN\nVS [G1]:0 UP\nVS [G1]:0 DOWN\n" {
		t.Errorf("FIFO %q", b)
	}
	want := []string{
		"[G1]:0 UP => Starting with quorum up 2+0=2 <= 2 <=",
		"[G1]:0 DOWN => Lost quorum 2+0=2 <= 1 <=",
		"[G1]:0 UP => Gained quorum 2+0=2 <= 2 <=",
		"[G1]:0 DOWN => Shutting down <=",
	}
	if !slices.Equal(mails, want) {
		t.Errorf("mails\n%q\nwant\n%q", mails, want)
	}
}

// TestQuorumAtStart: as keepalived 2.2.7 did in the IPVS oracle, a quorum down at start
// is notified only where a sorry server then stands in; its gain later is notified
// either way.
func TestQuorumAtStart(t *testing.T) {
	for _, withSorry := range []bool{true, false} {
		t.Run(fmt.Sprintf("sorry server %v", withSorry), func(t *testing.T) {
			ctx := context.Background()
			var mu sync.Mutex
			var mails []string
			e, _ := start(t, Options{Scripts: func(context.Context, script.Spec) {},
				Alert: func(vs, what, body string) { mu.Lock(); mails = append(mails, what+" "+body); mu.Unlock() }})
			sp := spec(RealServer{Addr: rs1, Weight: 1, Checked: true, Alpha: true})
			sp.Services[0].SMTPAlert = true
			if withSorry {
				sp.Services[0].Sorry = &RealServer{Addr: sorr, Weight: 1}
			}
			if err := e.Load(ctx, sp); err != nil {
				t.Fatal(err)
			}
			if err := e.Health(ctx, HealthEvent{Service: vip, RS: rs1, Up: true, Weight: -1}); err != nil {
				t.Fatal(err)
			}
			want := []string{"UP => Gained quorum 1+0=1 <= 1 <="}
			if withSorry {
				want = append([]string{"DOWN => Starting with quorum down 1+0=1 <= 0 <="}, want...)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(mails, want) {
				t.Errorf("mails %q, want %q", mails, want)
			}
		})
	}
}

// TestStoppingGetsTheLastStatus: as Run stops, Options.Stopping gets the health the
// engine last had (the daemon announces it over SNMP as keepalived does at shutdown).
func TestStoppingGetsTheLastStatus(t *testing.T) {
	got := make(chan Status, 1)
	e := New(&recorder{}, Options{Stopping: func(st Status) { got <- st }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	if err := e.Load(ctx, spec(RealServer{Addr: rs1, Weight: 1}, RealServer{Addr: rs2, Weight: 1})); err != nil {
		t.Fatal(err)
	}
	if err := e.Health(ctx, HealthEvent{Service: vip, RS: rs2, Up: false}); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	st := <-got
	if len(st.Services) != 1 || len(st.Services[0].RealServers) != 2 {
		t.Fatalf("last status %+v", st)
	}
	if rss := st.Services[0].RealServers; !rss[0].Up || rss[1].Up {
		t.Errorf("last health: %v up, %v up; want true, false", rss[0].Up, rss[1].Up)
	}
}

// TestSetWeight: a weight set as keepalived's SNMP set of realServerWeight sets it: in
// the table at once when up, when it comes back when down (an inhibited server stays at
// 0 meanwhile), counted in the quorum, moved on by dynamic weights, forgotten on
// reload.
func TestSetWeight(t *testing.T) {
	ctx := context.Background()
	sorry := RealServer{Addr: sorr, Weight: 1}
	base := spec(RealServer{Addr: rs1, Weight: 3, Checked: true}, RealServer{Addr: rs2, Weight: 1, Checked: true})
	inhibit := spec(RealServer{Addr: rs1, Weight: 3, Checked: true, InhibitOnFailure: true}, RealServer{Addr: rs2, Weight: 1, Checked: true})
	quorum := spec(RealServer{Addr: rs1, Weight: 3, Checked: true}, RealServer{Addr: rs2, Weight: 1, Checked: true})
	quorum.Services[0].Quorum, quorum.Services[0].Sorry = 4, &sorry
	set := func(w int) func(*Engine) error {
		return func(e *Engine) error { return e.SetWeight(ctx, vip, rs1, w) }
	}
	health := func(up bool, w int) func(*Engine) error {
		return func(e *Engine) error { return e.Health(ctx, HealthEvent{Service: vip, RS: rs1, Up: up, Weight: w}) }
	}
	for _, tc := range []struct {
		name      string
		spec      Spec
		steps     []func(*Engine) error
		want      map[netip.AddrPort]int
		effective int // rs1's
	}{
		{"up: the table follows", base, []func(*Engine) error{set(7)}, map[netip.AddrPort]int{rs1: 7, rs2: 1}, 7},
		{"0 drains it", base, []func(*Engine) error{set(0)}, map[netip.AddrPort]int{rs1: 0, rs2: 1}, 0},
		{"down: kept for its return", base, []func(*Engine) error{health(false, -1), set(7)}, map[netip.AddrPort]int{rs2: 1}, 7},
		{"back up with it", base, []func(*Engine) error{health(false, -1), set(7), health(true, -1)}, map[netip.AddrPort]int{rs1: 7, rs2: 1}, 7},
		{"inhibited and down: 0 until it is back", inhibit, []func(*Engine) error{health(false, -1), set(7)}, map[netip.AddrPort]int{rs1: 0, rs2: 1}, 7},
		{"a dynamic weight moves it on", base, []func(*Engine) error{health(true, 5), set(7), health(true, 8)}, map[netip.AddrPort]int{rs1: 10, rs2: 1}, 10},
		{"not below 0", base, []func(*Engine) error{health(true, 5), set(1), health(true, 2)}, map[netip.AddrPort]int{rs1: 0, rs2: 1}, 0},
		{"forgotten on reload", base, []func(*Engine) error{set(7), func(e *Engine) error { return e.Load(ctx, base) }}, map[netip.AddrPort]int{rs1: 3, rs2: 1}, 3},
		{"counted in the quorum", quorum, []func(*Engine) error{set(1)}, map[netip.AddrPort]int{sorr: 1}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, rec := start(t, Options{})
			if err := e.Load(ctx, tc.spec); err != nil {
				t.Fatal(err)
			}
			for _, step := range tc.steps {
				if err := step(e); err != nil {
					t.Fatal(err)
				}
			}
			if got := weights(rec.last()); !equalWeights(got, tc.want) {
				t.Errorf("table weights %v, want %v", got, tc.want)
			}
			st, err := e.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Services[0].RealServers[0].EffectiveWeight; got != tc.effective {
				t.Errorf("effective weight %d, want %d", got, tc.effective)
			}
		})
	}
	e, _ := start(t, Options{})
	if err := e.Load(ctx, base); err != nil {
		t.Fatal(err)
	}
	other := table.ServiceKey{Protocol: table.UDP, Addr: vip.Addr}
	if e.SetWeight(ctx, other, rs1, 2) == nil || e.SetWeight(ctx, vip, rs3, 2) == nil {
		t.Error("a weight set on a service or a real server that does not exist")
	}
}
