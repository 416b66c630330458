package sched

import (
	"net/netip"
	"testing"
	"time"
)

// FuzzService decodes bytes into a service configuration and a stream of data-plane and
// control-plane operations (schedule, state changes, done, weight and threshold edits,
// list updates, expiry). Whatever the input: no panic; every pick is a destination of the
// current list; a non-persistent pick is available (weight > 0, not overloaded; lblc and
// lblcr may keep a cached overloaded one, as the kernel does); and the heap-indexed
// schedulers pick what the kernel's list scan picks.
func FuzzService(f *testing.F) {
	f.Add([]byte{0, 3, 1, 2, 3, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{1, 4, 5, 0, 1, 2, 9, 9, 0, 0, 3, 3, 7, 7, 1, 1, 2, 2})
	f.Add([]byte{10, 2, 0, 0, 0, 0, 0})
	f.Add([]byte{11, 8, 1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 6, 8, 10, 12, 200, 201, 202})
	names := Names()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 || len(data) > 512 {
			return
		}
		name := names[int(data[0])%len(names)]
		cfg := ServiceConfig{Scheduler: name, Flags: Flags(data[1] >> 5)}
		if data[1]&0x10 != 0 {
			cfg.Persistence = time.Duration(data[1]&0x0f+1) * time.Second
			cfg.PrefixLen4 = 16 + int(data[1]&0x0f)
		}
		n := int(data[1]&0x0f)%12 + 1
		data = data[2:]
		all := make([]*Dest, n)
		for i := range all {
			w := 0
			if i < len(data) {
				w = int(data[i] % 6)
			}
			all[i] = NewDest(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 80), w)
		}
		list := append([]*Dest(nil), all...)
		s, err := NewService(cfg, list)
		if err != nil {
			t.Fatalf("valid config refused: %v", err)
		}
		ref := refSchedulers[name]
		type openConn struct {
			c      Conn
			active bool
		}
		var open []openConn
		now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		for i, b := range data {
			now = now.Add(time.Duration(b) * 100 * time.Millisecond)
			d := all[int(b>>4)%n]
			switch b % 8 {
			case 0, 1, 2:
				fl := Flow{Proto: protoTCP, Now: now,
					Src: netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, b}), uint16(i)),
					Dst: netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 168, 20, b & 7}), 80)}
				var want *Dest
				if ref != nil && cfg.Persistence == 0 {
					want = ref(list)
				}
				overloaded := map[*Dest]bool{}
				for _, x := range list {
					overloaded[x] = x.Overloaded()
				}
				c, ok := s.Schedule(fl)
				if !ok {
					if want != nil {
						t.Fatalf("%s: no pick, kernel picks %s", name, addrOf(want))
					}
					continue
				}
				if _, in := indexOf(list, c.Dest); !in {
					t.Fatalf("%s picked %v, not in the list", name, c.Dest.Addr)
				}
				if cfg.Persistence == 0 && name != "lblc" && name != "lblcr" && (c.Dest.Weight() <= 0 || overloaded[c.Dest]) {
					t.Fatalf("%s picked unavailable %s", name, addrOf(c.Dest))
				}
				if ref != nil && cfg.Persistence == 0 && c.Dest != want {
					t.Fatalf("%s picked %s, kernel picks %s", name, addrOf(c.Dest), addrOf(want))
				}
				active := b&0x40 != 0 && !cfg.OnePacket
				if active {
					c.Dest.SetActive(true)
				}
				open = append(open, openConn{c, active})
			case 3:
				if len(open) > 0 {
					s.Done(open[0].c, open[0].active, now)
					open = open[1:]
				}
			case 4:
				d.SetWeight(int(b>>5) % 4)
			case 5:
				d.SetThresholds(int32(b>>5), int32(b>>6))
			case 6:
				// Remove or re-add d at the head of the list.
				if j, in := indexOf(list, d); in {
					list = append(list[:j:j], list[j+1:]...)
				} else {
					list = append([]*Dest{d}, list...)
				}
				if err := s.Update(cfg, list); err != nil {
					t.Fatalf("update: %v", err)
				}
			case 7:
				s.Expire(now)
			}
		}
		for _, o := range open {
			s.Done(o.c, o.active, now)
		}
		s.Expire(now.Add(time.Hour))
		if s.Templates() != 0 {
			t.Fatalf("%d templates after every connection ended and an hour passed", s.Templates())
		}
		for _, d := range all {
			if d.Active() != 0 || d.Inactive() != 0 || d.Persistent() != 0 {
				t.Fatalf("counters left over: %s persist %d", addrOf(d), d.Persistent())
			}
		}
	})
}
