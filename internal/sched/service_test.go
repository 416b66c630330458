package sched

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func newTestService(t *testing.T, cfg ServiceConfig, dests []*Dest) *Service {
	t.Helper()
	s, err := NewService(cfg, dests)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func at(src string, d time.Duration) Flow {
	f := flowFrom(src)
	f.Now = t0.Add(d)
	return f
}

func schedule(t *testing.T, s *Service, f Flow) Conn {
	t.Helper()
	c, ok := s.Schedule(f)
	if !ok {
		t.Fatalf("no destination for %v", f.Src)
	}
	return c
}

// TestPersistence walks a template's life: sticky while it lives, held by open
// connections, expiring Persistence after the last one ended, and per netmask.
func TestPersistence(t *testing.T) {
	dests := testDests(1, 1, 1)
	s := newTestService(t, ServiceConfig{Scheduler: "rr", Persistence: time.Minute}, dests)

	c1 := schedule(t, s, at("192.0.2.1:1000", 0))
	c2 := schedule(t, s, at("192.0.2.1:1001", time.Second))
	if c1.Dest != c2.Dest {
		t.Fatalf("same client went to %v then %v", c1.Dest.Addr, c2.Dest.Addr)
	}
	other := schedule(t, s, at("192.0.2.2:1000", time.Second))
	if other.Dest == c1.Dest {
		t.Fatal("another client shared the template (rr should move on)")
	}
	if got := c1.Dest.Persistent(); got != 1 {
		t.Fatalf("PersistConn %d, want 1", got)
	}
	if got := c1.Dest.Inactive(); got != 2 {
		t.Fatalf("InActConn %d, want 2", got)
	}

	// An open connection keeps the template however long it lasts.
	s.Done(c1, false, t0.Add(2*time.Second))
	s.Done(other, true, t0.Add(2*time.Second))
	s.Expire(t0.Add(time.Hour))
	if s.Templates() != 1 {
		t.Fatalf("%d templates, want 1 (the other client's expired, this one has a connection)", s.Templates())
	}
	// The countdown starts when the last connection ends.
	s.Done(c2, false, t0.Add(time.Hour))
	s.Expire(t0.Add(time.Hour + 59*time.Second))
	if s.Templates() != 1 {
		t.Fatalf("%d templates, want 1 before the timeout", s.Templates())
	}
	if c := schedule(t, s, at("192.0.2.1:1002", time.Hour+59*time.Second)); c.Dest != c2.Dest {
		t.Fatal("template not used before its expiry")
	} else {
		s.Done(c, true, t0.Add(time.Hour+59*time.Second))
	}
	s.Expire(t0.Add(time.Hour + 59*time.Second + time.Minute))
	if s.Templates() != 0 || c2.Dest.Persistent() != 0 {
		t.Fatalf("templates %d, PersistConn %d after expiry, want 0", s.Templates(), c2.Dest.Persistent())
	}
}

// TestPersistenceQuiesced: a template follows its destination to weight 0 while it lives,
// not with ExpireQuiescent, and never to a removed destination.
func TestPersistenceQuiesced(t *testing.T) {
	for _, tc := range []struct {
		name       string
		expireQuie bool
		remove     bool
		wantSame   bool
	}{
		{"quiesced", false, false, true},
		{"expire_quiescent_template", true, false, false},
		{"removed", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dests := testDests(1, 1)
			cfg := ServiceConfig{Scheduler: "wlc", Persistence: time.Minute, ExpireQuiescent: tc.expireQuie}
			s := newTestService(t, cfg, dests)
			c := schedule(t, s, at("192.0.2.1:1000", 0))
			d := c.Dest
			if tc.remove {
				var rest []*Dest
				for _, x := range dests {
					if x != d {
						rest = append(rest, x)
					}
				}
				if err := s.Update(cfg, rest); err != nil {
					t.Fatal(err)
				}
			} else {
				d.SetWeight(0)
			}
			c2, ok := s.Schedule(at("192.0.2.1:1001", time.Second))
			if !ok {
				t.Fatal("no destination")
			}
			if (c2.Dest == d) != tc.wantSame {
				t.Fatalf("second connection went to %v (template dest %v), want same=%v", c2.Dest.Addr, d.Addr, tc.wantSame)
			}
			// The old template's count ends with its last connection.
			s.Done(c, false, t0.Add(2*time.Second))
			if !tc.wantSame && d.Persistent() != 0 {
				t.Fatalf("dropped template still counted: PersistConn %d", d.Persistent())
			}
		})
	}
}

// TestPersistenceNetmask: the granularity groups clients by prefix, IPv4 and IPv6.
func TestPersistenceNetmask(t *testing.T) {
	dests := testDests(1, 1, 1, 1)
	s := newTestService(t, ServiceConfig{Scheduler: "rr", Persistence: time.Minute, PrefixLen4: 24, PrefixLen6: 64}, dests)
	for _, group := range [][]string{
		{"192.0.2.1:1", "192.0.2.200:2", "[::ffff:192.0.2.9]:3"},
		{"198.51.100.1:1", "198.51.100.2:1"},
		{"[2001:db8:1:2::1]:1", "[2001:db8:1:2:ffff::9]:2"},
	} {
		first := schedule(t, s, flowFrom(group[0])).Dest
		for _, src := range group[1:] {
			if d := schedule(t, s, flowFrom(src)).Dest; d != first {
				t.Fatalf("%s went to %v, its group to %v", src, d.Addr, first.Addr)
			}
		}
	}
	if s.Templates() != 3 {
		t.Fatalf("%d templates, want 3", s.Templates())
	}
}

// TestOnePacket: every datagram is scheduled on its own and holds no counters; with
// persistence the template pins the client and each datagram re-arms it.
func TestOnePacket(t *testing.T) {
	dests := testDests(1, 1)
	s := newTestService(t, ServiceConfig{Scheduler: "rr", OnePacket: true}, dests)
	a := schedule(t, s, flowFrom("192.0.2.1:53"))
	b := schedule(t, s, flowFrom("192.0.2.1:53"))
	if a.Dest == b.Dest {
		t.Fatal("one-packet scheduling did not move on for the same flow")
	}
	s.Done(a, false, t0)
	if a.Dest.Inactive() != 0 || b.Dest.Inactive() != 0 {
		t.Fatal("one-packet datagrams were counted as connections")
	}

	p := newTestService(t, ServiceConfig{Scheduler: "rr", OnePacket: true, Persistence: 30 * time.Second}, testDests(1, 1))
	first := schedule(t, p, at("192.0.2.1:53", 0)).Dest
	for i := 1; i <= 5; i++ {
		// Each datagram within 30 s of the previous keeps the template alive.
		if d := schedule(t, p, at("192.0.2.1:53", time.Duration(i)*20*time.Second)).Dest; d != first {
			t.Fatalf("datagram %d left the template's destination", i)
		}
	}
	p.Expire(t0.Add(100*time.Second + 30*time.Second))
	if p.Templates() != 0 {
		t.Fatal("template outlived its timeout after the last datagram")
	}
}

// TestUpdateKeepsTemplates: templates survive an Update while their destination (by
// address) stays, even as a new Dest object, and go when the granularity changes.
func TestUpdateKeepsTemplates(t *testing.T) {
	dests := testDests(1, 1)
	cfg := ServiceConfig{Scheduler: "rr", Persistence: time.Minute}
	s := newTestService(t, cfg, dests)
	c := schedule(t, s, flowFrom("192.0.2.1:1"))
	fresh := []*Dest{NewDest(dests[0].Addr, 1), NewDest(dests[1].Addr, 1)}
	if err := s.Update(cfg, fresh); err != nil {
		t.Fatal(err)
	}
	d := schedule(t, s, flowFrom("192.0.2.1:2")).Dest
	if d.Addr != c.Dest.Addr || d == c.Dest {
		t.Fatalf("template went to %v (%p), want the new Dest for %v", d.Addr, d, c.Dest.Addr)
	}
	if d.Persistent() != 1 || c.Dest.Persistent() != 0 {
		t.Fatalf("PersistConn new %d old %d, want 1 and 0", d.Persistent(), c.Dest.Persistent())
	}
	cfg.PrefixLen4 = 24
	if err := s.Update(cfg, fresh); err != nil {
		t.Fatal(err)
	}
	if s.Templates() != 0 {
		t.Fatalf("%d templates kept across a granularity change", s.Templates())
	}
}

// TestServiceConfigErrors: bad configuration is an error naming the field.
func TestServiceConfigErrors(t *testing.T) {
	d := testDests(1, 1)
	for _, tc := range []struct {
		cfg   ServiceConfig
		dests []*Dest
		want  string
	}{
		{ServiceConfig{Scheduler: "wrrr"}, d, `"wrrr"`},
		{ServiceConfig{Flags: 0x40}, d, "Flags"},
		{ServiceConfig{Persistence: -time.Second}, d, "Persistence"},
		{ServiceConfig{PrefixLen4: 33}, d, "PrefixLen4"},
		{ServiceConfig{PrefixLen6: -1}, d, "PrefixLen6"},
		{ServiceConfig{Scheduler: "rr", MaglevTableSize: 65537}, d, "MaglevTableSize"},
		{ServiceConfig{Scheduler: "mh", MaglevTableSize: 1000}, d, "mh table size 1000"},
		{ServiceConfig{Scheduler: "mh", MaglevTableSize: 2}, testDests(1, 1, 1), "do not fit"},
		{ServiceConfig{}, []*Dest{d[0], nil}, "dests[1]: nil"},
		{ServiceConfig{}, []*Dest{d[0], NewDest(d[0].Addr, 3)}, "dests[1]: duplicate destination 10.0.0.0:80 (also dests[0])"},
		{ServiceConfig{}, []*Dest{{}}, "dests[0]: invalid address"},
	} {
		_, err := NewService(tc.cfg, tc.dests)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want it to mention %q", tc.cfg, err, tc.want)
		}
	}
	s := newTestService(t, ServiceConfig{}, d)
	if err := s.Update(ServiceConfig{Scheduler: "nope"}, d); err == nil {
		t.Error("Update accepted an unknown scheduler")
	}
	if c, ok := s.Schedule(flowFrom("192.0.2.1:1")); !ok || c.Dest == nil {
		t.Error("a failed Update broke the service")
	}
}

// TestServiceMaglevTableSize: mh with a larger prime table is available through the
// service configuration.
func TestServiceMaglevTableSize(t *testing.T) {
	s := newTestService(t, ServiceConfig{Scheduler: "mh", MaglevTableSize: 65537}, testDests(1, 1, 1))
	m := s.state.Load().sched.(*maglev)
	if len(m.table.Load().slots) != 65537 {
		t.Fatalf("table of %d slots", len(m.table.Load().slots))
	}
	if _, ok := s.Schedule(flowFrom("192.0.2.1:1")); !ok {
		t.Fatal("no pick")
	}
	// A source address that is not set (a data plane bug) still gets a decision, no panic.
	if _, ok := s.Schedule(Flow{Src: netip.AddrPort{}}); !ok {
		t.Fatal("no pick for an empty flow")
	}
}
