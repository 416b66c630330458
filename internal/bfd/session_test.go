package bfd

import (
	"net/netip"
	"testing"
	"time"
)

func testSession(passive bool) *session {
	cfg := Config{Name: "s", Neighbor: netip.MustParseAddr("192.0.2.2"), MinRx: 10 * time.Millisecond,
		MinTx: 20 * time.Millisecond, IdleTx: time.Second, Multiplier: 3, Passive: passive, TTL: 255}
	return newSession(cfg, 100, time.Unix(0, 0))
}

// TestThreeWayHandshake: Down → Init → Up on the neighbour's Down then Init/Up, the
// change announced at once with a Poll, and the Final ending the poll (RFC 5880 §6.2).
func TestThreeWayHandshake(t *testing.T) {
	now := time.Unix(0, 0)
	for _, tc := range []struct {
		name   string
		remote []State
		want   []State
	}{
		{"down then init", []State{Down, Init}, []State{Init, Up}},
		{"neighbour already init", []State{Init}, []State{Up}},
		{"up ignored while down", []State{Up}, []State{Down}},
		{"down then up", []State{Down, Up}, []State{Init, Up}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSession(false)
			for k, rs := range tc.remote {
				p := Packet{State: rs, DetectMult: 3, MyDisc: 7, DesiredMinTx: 1e6, RequiredMinRx: 1e6}
				if rs != Down {
					p.YourDisc = 100
				}
				changed, sendNow := s.receive(p, now)
				if s.state != tc.want[k] {
					t.Fatalf("after %v: %v, want %v", rs, s.state, tc.want[k])
				}
				if changed && (!sendNow || !s.packet(false).Poll) {
					t.Errorf("a change must go out at once, with Poll")
				}
			}
		})
	}
}

// TestIntervals: idle_tx until Up, min_tx after, never faster than the neighbour
// wants; the detection time from the neighbour's multiplier and interval.
func TestIntervals(t *testing.T) {
	now := time.Unix(0, 0)
	s := testSession(false)
	if got := s.txInterval(); got != time.Second {
		t.Errorf("Down: tx interval %v, want idle_tx 1s", got)
	}
	s.receive(Packet{State: Init, DetectMult: 4, MyDisc: 7, YourDisc: 100, DesiredMinTx: 30000, RequiredMinRx: 5000}, now)
	if s.state != Up {
		t.Fatalf("state %v", s.state)
	}
	if got := s.txInterval(); got != 20*time.Millisecond {
		t.Errorf("Up: tx interval %v, want min_tx 20ms", got)
	}
	s.receive(Packet{State: Up, DetectMult: 4, MyDisc: 7, YourDisc: 100, DesiredMinTx: 30000, RequiredMinRx: 50000}, now)
	if got := s.txInterval(); got != 50*time.Millisecond {
		t.Errorf("tx interval %v, want the neighbour's 50ms", got)
	}
	if got := s.detectTime(); got != 120*time.Millisecond {
		t.Errorf("detection time %v, want 4 × max(10ms, 30ms)", got)
	}
	for range 1000 {
		if j := s.jitter(100 * time.Millisecond); j < 75*time.Millisecond || j > 100*time.Millisecond {
			t.Fatalf("jitter %v outside 75–100 ms", j)
		}
	}
}

// TestDetection: silence past the detection time takes an Up session Down with
// diagnostic 1 and forgets the neighbour; a neighbour's Down or AdminDown does at
// once with diagnostic 3.
func TestDetection(t *testing.T) {
	now := time.Unix(0, 0)
	up := func() *session {
		s := testSession(false)
		s.receive(Packet{State: Init, DetectMult: 3, MyDisc: 7, YourDisc: 100, DesiredMinTx: 10000, RequiredMinRx: 10000}, now)
		return s
	}
	s := up()
	if changed, _ := s.tick(now.Add(29 * time.Millisecond)); changed || s.state != Up {
		t.Fatalf("down before the detection time: %v", s.state)
	}
	if changed, _ := s.tick(now.Add(30 * time.Millisecond)); !changed || s.state != Down || s.diag != diagTimeExpired || s.remoteDisc != 0 {
		t.Fatalf("after the detection time: %v diag %d remote %d", s.state, s.diag, s.remoteDisc)
	}
	for _, rs := range []State{Down, AdminDown} {
		s := up()
		if changed, _ := s.receive(Packet{State: rs, DetectMult: 3, MyDisc: 7}, now); !changed || s.state != Down || s.diag != diagNeighbourDown {
			t.Errorf("neighbour %v: %v diag %d", rs, s.state, s.diag)
		}
	}
}

// TestPassive: a passive session sends nothing until spoken to, and answers a Poll
// with a Final.
func TestPassive(t *testing.T) {
	now := time.Unix(0, 0)
	s := testSession(true)
	if _, send := s.tick(now.Add(time.Hour)); send || !s.next().IsZero() {
		t.Fatal("a passive session sent before hearing anything")
	}
	_, sendNow := s.receive(Packet{State: Down, Poll: true, DetectMult: 3, MyDisc: 7, DesiredMinTx: 1e6, RequiredMinRx: 1e6}, now)
	if !sendNow {
		t.Fatal("a Poll must be answered at once")
	}
	if p := s.packet(true); !p.Final || p.Poll || p.YourDisc != 7 || p.State != Init {
		t.Errorf("answer %+v, want Final, Init, your discriminator 7", p)
	}
	if _, send := s.tick(now); !send {
		t.Error("a passive session that was spoken to does not send")
	}
}

// TestRetime: a reload's new intervals keep the session Up and are announced at once
// with Poll until the neighbour's Final; a change of nothing but the name's other
// settings sends no Poll.
func TestRetime(t *testing.T) {
	now := time.Unix(0, 0)
	s := testSession(false)
	s.state, s.remoteDisc = Up, 7
	cfg := s.cfg
	cfg.MaxHops = -1
	s.retime(cfg, now)
	if s.polling {
		t.Fatal("a change of max_hops alone started a Poll Sequence")
	}
	cfg.MinTx, cfg.Multiplier = 50*time.Millisecond, 5
	s.retime(cfg, now)
	p := s.packet(false)
	if s.state != Up || !p.Poll || p.DesiredMinTx != 50000 || p.DetectMult != 5 || !s.nextTx.Equal(now) {
		t.Fatalf("after new intervals: %v, packet %+v, next %v", s.state, p, s.nextTx)
	}
	s.receive(Packet{State: Up, Final: true, DetectMult: 3, MyDisc: 7, YourDisc: 100, DesiredMinTx: 1e4, RequiredMinRx: 1e4}, now)
	if s.polling || s.packet(false).Poll || s.state != Up {
		t.Fatalf("after the Final: polling %v, state %v", s.polling, s.state)
	}
	if sameSocket(cfg, Config{Name: "s", Neighbor: cfg.Neighbor, Source: cfg.Source, TTL: 64}) {
		t.Error("another TTL kept the socket")
	}
}
