package ipvs

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/adm"
	"github.com/govs/govs/internal/table"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func tcp(addr string) table.ServiceKey {
	return table.ServiceKey{Protocol: table.TCP, Addr: netip.MustParseAddrPort(addr)}
}

func svc(key table.ServiceKey, sched string, dests ...table.Dest) table.Service {
	return table.Service{ServiceKey: key, Scheduler: sched, Dests: dests}
}

func nat(addr string, w int) table.Dest {
	return table.Dest{Addr: netip.MustParseAddrPort(addr), Weight: w, Method: table.Masquerade}
}

var (
	vs1 = tcp("192.168.10.100:80")
	vs2 = tcp("192.168.10.100:443")
	vs3 = tcp("192.168.10.101:80")
)

func base() table.Table {
	return table.Table{Services: []table.Service{
		svc(vs1, "wrr", nat("10.0.0.1:80", 3), nat("10.0.0.2:80", 1)),
		svc(vs2, "rr", nat("10.0.0.1:443", 1)),
	}}
}

func TestApplySequence(t *testing.T) {
	changedWeight := base()
	changedWeight.Services[0].Dests = slices.Clone(changedWeight.Services[0].Dests)
	changedWeight.Services[0].Dests[1].Weight = 5

	changedSched := base()
	changedSched.Services[1].Scheduler = "lc"

	movedDest := base()
	movedDest.Services[0].Dests = []table.Dest{nat("10.0.0.1:80", 3), nat("10.0.0.3:80", 1)}

	removedService := base()
	removedService.Services = removedService.Services[:1]

	withTimeouts := base()
	withTimeouts.Timeouts = table.Timeouts{TCP: 900 * time.Second, UDP: 60 * time.Second}

	foreign := svc(vs3, "rr", nat("10.0.0.9:80", 1))

	tests := []struct {
		name   string
		kernel []table.Service // before the first Apply
		steps  []table.Table
		want   [][]string // requests of each step
	}{
		{
			name:  "start, then a reload that changes nothing",
			steps: []table.Table{base(), base()},
			want: [][]string{{
				"add TCP 192.168.10.100:80", "add TCP 192.168.10.100:80 -> 10.0.0.1:80 w3", "add TCP 192.168.10.100:80 -> 10.0.0.2:80 w1",
				"add TCP 192.168.10.100:443", "add TCP 192.168.10.100:443 -> 10.0.0.1:443 w1",
			}, nil},
		},
		{
			name:  "one changed weight sends one request",
			steps: []table.Table{base(), changedWeight},
		},
		{
			name:  "scheduler edited in place",
			steps: []table.Table{base(), changedSched},
		},
		{
			name:  "a destination replaced: delete first, then add",
			steps: []table.Table{base(), movedDest},
		},
		{
			name:  "a removed service is deleted",
			steps: []table.Table{base(), removedService},
		},
		{
			name:  "timeouts: only the differing non-zero one",
			steps: []table.Table{base(), withTimeouts, withTimeouts},
		},
		{
			name:   "adoption: a matching kernel table costs nothing, a foreign service is left alone",
			kernel: []table.Service{normalize(base().Services[1]), foreign, normalize(base().Services[0])},
			steps:  []table.Table{base(), removedService},
		},
		{
			name:   "adoption fixes what differs",
			kernel: []table.Service{normalize(changedWeight.Services[0])},
			steps:  []table.Table{base()},
		},
	}
	// Expected requests of the steps after the first, by test name (the first step of
	// the fresh-kernel cases is the five adds above).
	later := map[string][][]string{
		"one changed weight sends one request":                                             {{"edit TCP 192.168.10.100:80 -> 10.0.0.2:80 w5"}},
		"scheduler edited in place":                                                        {{"edit TCP 192.168.10.100:443"}},
		"a destination replaced: delete first, then add":                                   {{"delete TCP 192.168.10.100:80 -> 10.0.0.2:80", "add TCP 192.168.10.100:80 -> 10.0.0.3:80 w1"}},
		"a removed service is deleted":                                                     {{"delete TCP 192.168.10.100:443"}},
		"timeouts: only the differing non-zero one":                                        {{"timeouts 0s 0s 1m0s"}, nil},
		"adoption: a matching kernel table costs nothing, a foreign service is left alone": {nil, {"delete TCP 192.168.10.100:443"}},
		"adoption fixes what differs":                                                      {{"edit TCP 192.168.10.100:80 -> 10.0.0.2:80 w1", "add TCP 192.168.10.100:443", "add TCP 192.168.10.100:443 -> 10.0.0.1:443 w1"}},
	}
	fresh := []string{
		"add TCP 192.168.10.100:80", "add TCP 192.168.10.100:80 -> 10.0.0.1:80 w3", "add TCP 192.168.10.100:80 -> 10.0.0.2:80 w1",
		"add TCP 192.168.10.100:443", "add TCP 192.168.10.100:443 -> 10.0.0.1:443 w1",
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == nil {
				want = later[tc.name]
				if tc.kernel == nil {
					want = append([][]string{fresh}, want...)
				}
			}
			k := newFake(tc.kernel...)
			p := newPlane(k, quiet())
			for i, step := range tc.steps {
				k.calls = nil
				if err := p.Apply(context.Background(), step); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if !slices.Equal(k.calls, want[i]) {
					t.Fatalf("step %d requests:\n got %q\nwant %q", i, k.calls, want[i])
				}
				assertKernelHas(t, k, step)
			}
			if tc.kernel != nil && k.find(vs3) < 0 && slices.ContainsFunc(tc.kernel, func(s table.Service) bool { return s.ServiceKey == vs3 }) {
				t.Fatal("a service govs never owned was removed")
			}
		})
	}
}

// assertKernelHas checks that every desired service is in the kernel with the desired
// attributes and destinations.
func assertKernelHas(t interface {
	Helper()
	Fatalf(string, ...any)
}, k *fakeKernel, want table.Table) {
	t.Helper()
	for _, w := range want.Services {
		w = normalize(w)
		i := k.find(w.ServiceKey)
		if i < 0 {
			t.Fatalf("%s missing from the kernel", w.ServiceKey)
		}
		h := k.svcs[i]
		if !sameServiceAttrs(h, w) {
			t.Fatalf("%s: kernel %+v, want %+v", w.ServiceKey, h, w)
		}
		if len(h.Dests) != len(w.Dests) {
			t.Fatalf("%s: kernel dests %v, want %v", w.ServiceKey, h.Dests, w.Dests)
		}
		for _, d := range w.Dests {
			j := slices.IndexFunc(h.Dests, func(x table.Dest) bool { return x.Addr == d.Addr })
			if j < 0 || !sameDestAttrs(h.Dests[j], d) {
				t.Fatalf("%s: dest %v: kernel %v", w.ServiceKey, d, h.Dests)
			}
		}
	}
}

func TestApplyAddsDestinationsInConfigOrder(t *testing.T) {
	// keepalived adds real servers in configuration order, so the kernel lists them
	// newest first; schedulers such as rr and wrr depend on that order.
	k := newFake()
	p := newPlane(k, quiet())
	if err := p.Apply(context.Background(), base()); err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, d := range k.svcs[0].Dests {
		got = append(got, d.Addr.String())
	}
	if want := []string{"10.0.0.2:80", "10.0.0.1:80"}; !slices.Equal(got, want) {
		t.Fatalf("kernel order %v, want %v", got, want)
	}
}

func TestApplyFailureRereadsKernel(t *testing.T) {
	k := newFake()
	p := newPlane(k, quiet())
	k.failOn = "add TCP 192.168.10.100:443 ->"
	err := p.Apply(context.Background(), base())
	if err == nil || !strings.Contains(err.Error(), "add destination TCP 192.168.10.100:443 -> 10.0.0.1:443") {
		t.Fatalf("err = %v, want the failed request named", err)
	}
	k.failOn = ""
	k.calls = nil
	if err := p.Apply(context.Background(), base()); err != nil {
		t.Fatal(err)
	}
	if want := []string{"add TCP 192.168.10.100:443 -> 10.0.0.1:443 w1"}; !slices.Equal(k.calls, want) {
		t.Fatalf("after the failure: %q, want %q", k.calls, want)
	}
	if _, reads := p.Requests(); reads != 4 {
		t.Fatalf("reads = %d, want 4 (services + timeouts, twice)", reads)
	}
}

func TestFlushOptions(t *testing.T) {
	foreign := svc(vs3, "rr", nat("10.0.0.9:80", 1))
	tests := []struct {
		name      string
		opts      Options
		wantStart []string
		wantStop  []string
		left      []table.ServiceKey
	}{
		{name: "default: remove what we own", wantStop: []string{"delete TCP 192.168.10.100:80", "delete TCP 192.168.10.100:443"}, left: []table.ServiceKey{vs3}},
		{name: "lvs_flush at start", opts: Options{FlushOnStart: true}, wantStart: []string{"flush"}, wantStop: []string{"delete TCP 192.168.10.100:80", "delete TCP 192.168.10.100:443"}},
		{name: "lvs_flush_onstop", opts: Options{OnStop: FlushAll}, wantStop: []string{"flush"}},
		{name: "keep for a restart", opts: Options{OnStop: KeepTable}, left: []table.ServiceKey{vs3, vs1, vs2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := newFake(foreign)
			p := newPlane(k, quiet())
			p.Configure(tc.opts)
			if err := p.Apply(context.Background(), base()); err != nil {
				t.Fatal(err)
			}
			if got := k.calls[:len(tc.wantStart)]; !slices.Equal(got, tc.wantStart) {
				t.Fatalf("start: %q, want %q first", k.calls, tc.wantStart)
			}
			k.calls = nil
			if err := p.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(k.calls, tc.wantStop) {
				t.Fatalf("stop: %q, want %q", k.calls, tc.wantStop)
			}
			var left []table.ServiceKey
			for _, s := range k.svcs {
				left = append(left, s.ServiceKey)
			}
			if !slices.Equal(left, tc.left) {
				t.Fatalf("left %v, want %v", left, tc.left)
			}
		})
	}
}

// syncStep is one call on the plane and the kernel requests it must make, in order.
type syncStep struct {
	do   func() error
	want []string
}

func runSyncSteps(t *testing.T, k *fakeKernel, steps []syncStep) {
	t.Helper()
	for i, s := range steps {
		k.calls = nil
		if err := s.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if !slices.Equal(k.calls, s.want) {
			t.Fatalf("step %d: %q, want %q", i, k.calls, s.want)
		}
	}
}

func TestSyncDaemonFollowsVRRP(t *testing.T) {
	k := newFake()
	p := newPlane(k, quiet())
	cfg := adm.Daemon{Interface: "eth1", SyncID: 7}
	steps := []syncStep{
		{func() error { return p.SetSyncRole(true) }, nil}, // no lvs_sync_daemon: nothing
		{func() error { return p.SetSync(&cfg, true) }, []string{"start backup daemon eth1 syncid 7"}},
		{func() error { return p.SetSync(&cfg, true) }, nil},
		{func() error { return p.SetSyncRole(true) }, []string{"stop backup daemon", "start master daemon eth1 syncid 7"}},
		{func() error { return p.SetSyncRole(true) }, nil},
		{func() error { c := cfg; c.SyncID = 8; return p.SetSync(&c, true) }, []string{"stop master daemon", "start master daemon eth1 syncid 8"}},
		{func() error { return p.SetSyncRole(false) }, []string{"stop master daemon", "start backup daemon eth1 syncid 8"}},
		{func() error { return p.Close(context.Background()) }, []string{"stop backup daemon"}},
	}
	runSyncSteps(t, k, steps)
	if err := p.SetSync(&adm.Daemon{Interface: "eth1", SyncID: 300}, true); err == nil || !strings.Contains(err.Error(), "id 300: want 0..255") {
		t.Fatalf("bad syncid: %v", err)
	}
}

// TestSyncDaemonWithoutInstance: lvs_sync_daemon naming no instance runs the master and
// the backup daemon together, whatever VRRP does, as keepalived's checker process.
func TestSyncDaemonWithoutInstance(t *testing.T) {
	k := newFake()
	p := newPlane(k, quiet())
	cfg := adm.Daemon{Interface: "eth1", SyncID: 0}
	both := []string{"start master daemon eth1 syncid 0", "start backup daemon eth1 syncid 0"}
	steps := []syncStep{
		{func() error { return p.SetSync(&cfg, false) }, both},
		{func() error { return p.SetSync(&cfg, false) }, nil},
		{func() error { return p.SetSyncRole(true) }, nil},
		{func() error { return p.SetSyncRole(false) }, nil},
		// An instance named on reload: the backup role until VRRP says otherwise.
		{func() error { return p.SetSync(&cfg, true) }, []string{"stop master daemon", "stop backup daemon", "start backup daemon eth1 syncid 0"}},
		{func() error { return p.SetSyncRole(true) }, []string{"stop backup daemon", "start master daemon eth1 syncid 0"}},
		{func() error { return p.SetSync(&cfg, false) }, append([]string{"stop master daemon"}, both...)},
		{func() error { return p.Close(context.Background()) }, []string{"stop master daemon", "stop backup daemon"}},
	}
	runSyncSteps(t, k, steps)
}

func TestNormalize(t *testing.T) {
	v6 := table.ServiceKey{Protocol: table.UDP, Addr: netip.MustParseAddrPort("[2001:db8::100]:53")}
	fwm6 := table.ServiceKey{FWMark: 3, IPv6: true}
	tests := []struct {
		name string
		in   table.Service
		want table.Service
	}{
		{name: "default scheduler", in: table.Service{ServiceKey: vs1}, want: table.Service{ServiceKey: vs1, Scheduler: "wlc", Dests: []table.Dest{}}},
		{name: "persistence prefix defaults by family",
			in:   table.Service{ServiceKey: v6, Scheduler: "rr", Persistence: table.Persistence{Timeout: 300 * time.Second}},
			want: table.Service{ServiceKey: v6, Scheduler: "rr", Persistence: table.Persistence{Timeout: 300 * time.Second, PrefixLen: 128}, Dests: []table.Dest{}}},
		{name: "contiguous mask becomes a prefix",
			in:   table.Service{ServiceKey: vs1, Scheduler: "rr", Persistence: table.Persistence{Timeout: 60 * time.Second, Mask: netip.MustParseAddr("255.255.255.0")}},
			want: table.Service{ServiceKey: vs1, Scheduler: "rr", Persistence: table.Persistence{Timeout: 60 * time.Second, PrefixLen: 24}, Dests: []table.Dest{}}},
		{name: "no persistence drops the mask but keeps the engine",
			in:   table.Service{ServiceKey: vs1, Scheduler: "rr", Persistence: table.Persistence{PrefixLen: 24, Engine: "sip"}},
			want: table.Service{ServiceKey: vs1, Scheduler: "rr", Persistence: table.Persistence{Engine: "sip"}, Dests: []table.Dest{}}},
		{name: "fwmark keeps only mark and family",
			in:   table.Service{ServiceKey: table.ServiceKey{FWMark: 3, IPv6: true, Protocol: table.TCP}, Scheduler: "sh"},
			want: table.Service{ServiceKey: fwm6, Scheduler: "sh", Dests: []table.Dest{}}},
		{name: "tunnel defaults",
			in: table.Service{ServiceKey: vs1, Scheduler: "rr", Dests: []table.Dest{
				{Addr: netip.MustParseAddrPort("10.0.0.1:80"), Method: table.Tunnel, TunnelPort: 5555},
				{Addr: netip.MustParseAddrPort("10.0.0.2:80"), Method: table.Tunnel, TunnelType: "gue", TunnelPort: 6080},
				{Addr: netip.MustParseAddrPort("10.0.0.3:80"), Method: table.Masquerade, TunnelType: "gre"},
			}},
			want: table.Service{ServiceKey: vs1, Scheduler: "rr", Dests: []table.Dest{
				{Addr: netip.MustParseAddrPort("10.0.0.1:80"), Method: table.Tunnel, TunnelType: "ipip"},
				{Addr: netip.MustParseAddrPort("10.0.0.2:80"), Method: table.Tunnel, TunnelType: "gue", TunnelPort: 6080, TunnelFlags: "nocsum"},
				{Addr: netip.MustParseAddrPort("10.0.0.3:80"), Method: table.Masquerade},
			}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := normalize(tc.in)
			if got.ServiceKey != tc.want.ServiceKey || !sameServiceAttrs(got, tc.want) || !slices.Equal(got.Dests, tc.want.Dests) {
				t.Fatalf("normalize:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
