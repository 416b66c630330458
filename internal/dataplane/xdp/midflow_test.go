package xdp

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/govs/govs/internal/table"
)

// TestMidFlowAfterFailover: a real server fails its health check on both directors, then
// the master fails. The new master has no flow entries, but the established flows of
// every server, the failed one included, keep their server: a TCP packet other than a
// SYN without a flow entry is scheduled by the table over every real server the director
// was given, in their places, which is the table the old master chose from when the
// flows began. New flows still avoid the failed server. Once the failed server has been
// out of the table for the TCP timeout, it is forgotten.
func TestMidFlowAfterFailover(t *testing.T) {
	for _, tc := range []struct {
		name string
		down table.Dest // rs2 while its check fails
	}{
		{"removed from the table", table.Dest{}},
		{"inhibit_on_failure: weight 0", dr(rs2, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			healthy := drService("wrr", dr(rs1, 2), dr(rs2, 1), dr(rs4, 1))
			failing := drService("wrr", dr(rs1, 2), dr(rs4, 1))
			if tc.down.Addr.IsValid() {
				failing = drService("wrr", dr(rs1, 2), tc.down, dr(rs4, 1))
			}
			old, next := testPlane(t), testPlane(t)
			for _, p := range []*Plane{old, next} {
				apply(t, p, healthy)
			}
			chosen := openFlows(t, old)
			for _, p := range []*Plane{old, next} {
				apply(t, p, failing)
			}
			// The old master dies; the new one carries every flow on.
			checkMidFlow(t, next, chosen, "after the failover")
			for i := 1000; i < 1200; i++ {
				in := tcpFrame(client(i), vip, syn, 0)
				if _, out := run(t, next, in); sentTo(t, in, out) == rs2 {
					t.Fatalf("new flow of %s went to rs2, whose check fails", client(i))
				}
			}
			// The failed server is remembered for the TCP timeout only.
			next.mu.Lock()
			next.expire(time.Now().Add(defaultTCPTimeout + time.Second))
			next.mu.Unlock()
			if tc.down.Addr.IsValid() {
				return // still in the table with weight 0: a member for good
			}
			for i := 2000; i < 2300; i++ {
				in := tcpFrame(client(i), vip, ack, 20)
				if _, out := run(t, next, in); sentTo(t, in, out) == rs2 {
					t.Fatalf("mid-flow packet of %s went to rs2, out of the table for longer than the TCP timeout", client(i))
				}
			}
		})
	}
}

// TestMidFlowDirectorStartedWhileFailing: the backup director starts while rs2 fails its
// check, so no table it is given schedules rs2; the table names rs2 among the configured
// servers, and that is enough for the new master to carry on the flows the old one put
// on rs2 before it failed. rs2 gets no new flow, no statistics line of its own, and is
// not forgotten after the TCP timeout while the configuration names it.
func TestMidFlowDirectorStartedWhileFailing(t *testing.T) {
	configured := []table.Dest{dr(rs1, 2), dr(rs2, 1), dr(rs4, 1)}
	healthy := drService("wrr", configured...)
	healthy.Configured = configured
	failing := drService("wrr", dr(rs1, 2), dr(rs4, 1))
	failing.Configured = configured

	old, next := testPlane(t), testPlane(t)
	apply(t, old, healthy)
	chosen := openFlows(t, old)
	apply(t, old, failing)
	apply(t, next, failing) // started now: it never saw rs2 scheduled

	checkMidFlow(t, next, chosen, "after the failover")
	for i := 1000; i < 1200; i++ {
		in := tcpFrame(client(i), vip, syn, 0)
		if _, out := run(t, next, in); sentTo(t, in, out) == rs2 {
			t.Fatalf("new flow of %s went to rs2, whose check fails", client(i))
		}
	}
	for _, d := range next.Stats().Services[0].Dests {
		if d.Addr == rs2 {
			t.Fatalf("rs2 has a statistics line while out of the table: %+v", next.Stats().Services[0].Dests)
		}
	}
	next.mu.Lock()
	next.expire(time.Now().Add(defaultTCPTimeout + time.Second))
	next.mu.Unlock()
	checkMidFlow(t, next, chosen, "past the TCP timeout")

	// It recovers: back in the table, where the healthy table puts it.
	apply(t, next, healthy)
	fresh := testPlane(t)
	apply(t, fresh, healthy)
	for i := 5000; i < 5300; i++ {
		in := tcpFrame(client(i), vip, syn, 0)
		_, a := run(t, next, in)
		_, b := run(t, fresh, in)
		if sentTo(t, in, a) != sentTo(t, in, b) {
			t.Fatalf("new flow of %s after rs2 recovered: %s, a director that never saw it fail says %s", client(i), sentTo(t, in, a), sentTo(t, in, b))
		}
	}
}

// openFlows sends the SYNs of 300 clients to the VIP through p and returns the real
// server each flow went to. Some must go to rs2, the server the tests fail.
func openFlows(t *testing.T, p *Plane) map[netip.AddrPort]netip.AddrPort {
	t.Helper()
	chosen := map[netip.AddrPort]netip.AddrPort{}
	onRS2 := 0
	for i := range 300 {
		in := tcpFrame(client(i), vip, syn, 0)
		_, out := run(t, p, in)
		chosen[client(i)] = sentTo(t, in, out)
		if chosen[client(i)] == rs2 {
			onRS2++
		}
	}
	if onRS2 == 0 {
		t.Fatal("no flow on rs2: the test proves nothing")
	}
	return chosen
}

// checkMidFlow sends a mid-flow packet of every flow in chosen through p: each must go
// out (XDP_TX) to the real server its flow is on.
func checkMidFlow(t *testing.T, p *Plane, chosen map[netip.AddrPort]netip.AddrPort, when string) {
	t.Helper()
	for c, rs := range chosen {
		in := tcpFrame(c, vip, ack, 20)
		ret, out := run(t, p, in)
		if ret != xdpTX {
			t.Fatalf("%s: mid-flow packet of %s: action %d, want XDP_TX", when, c, ret)
		}
		if got := sentTo(t, in, out); got != rs {
			t.Fatalf("%s: mid-flow packet of %s went to %s, its flow is on %s", when, c, got, rs)
		}
	}
}

// TestMidFlowUDPUsesHealthyTable: a UDP datagram without a flow entry is a new flow: it
// never goes to a server that left the table.
func TestMidFlowUDPUsesHealthyTable(t *testing.T) {
	p := testPlane(t)
	key := table.ServiceKey{Protocol: table.UDP, Addr: netip.MustParseAddrPort("10.0.0.100:53")}
	a, b := netip.AddrPortFrom(rs1.Addr(), 53), netip.AddrPortFrom(rs2.Addr(), 53)
	apply(t, p, table.Service{ServiceKey: key, Scheduler: "wrr", Dests: []table.Dest{dr(a, 1), dr(b, 1)}})
	apply(t, p, table.Service{ServiceKey: key, Scheduler: "wrr", Dests: []table.Dest{dr(a, 1)}})
	for i := range 200 {
		in := ipFrame(17, client(i), key.Addr, 0, 10)
		ret, out := run(t, p, in)
		if ret != xdpTX || string(out[0:6]) != string(macOf(a.Addr())) {
			t.Fatalf("datagram from %s: action %d to %x, want XDP_TX to %s", client(i), ret, out[0:6], macOf(a.Addr()))
		}
	}
}

// TestMergeMembers: the members are the current servers in table order, with the
// remembered ones back in their former places.
func TestMergeMembers(t *testing.T) {
	d := make([]*dest, 6)
	for i := range d {
		d[i] = &dest{id: uint32(i)}
	}
	keepAll := func(*dest) bool { return true }
	for _, tc := range []struct {
		name          string
		old, cur, out []int
		keep          func(*dest) bool
	}{
		{"first table", nil, []int{0, 1, 2}, []int{0, 1, 2}, keepAll},
		{"middle one left", []int{0, 1, 2}, []int{0, 2}, []int{0, 1, 2}, keepAll},
		{"first left", []int{0, 1, 2}, []int{1, 2}, []int{0, 1, 2}, keepAll},
		{"last two left", []int{0, 1, 2}, []int{0}, []int{0, 1, 2}, keepAll},
		{"forgotten", []int{0, 1, 2}, []int{0, 2}, []int{0, 2}, func(x *dest) bool { return x != d[1] }},
		{"left and one added", []int{0, 1, 2}, []int{0, 2, 3}, []int{0, 1, 2, 3}, keepAll},
		{"came back", []int{0, 1, 2}, []int{0, 1, 2}, []int{0, 1, 2}, keepAll},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pick := func(ix []int) []*dest {
				var out []*dest
				for _, i := range ix {
					out = append(out, d[i])
				}
				return out
			}
			got := mergeMembers(pick(tc.old), pick(tc.cur), tc.keep)
			if !slices.Equal(got, pick(tc.out)) {
				var ids []uint32
				for _, x := range got {
					ids = append(ids, x.id)
				}
				t.Errorf("merge(%v, %v) = %v, want %v", tc.old, tc.cur, ids, tc.out)
			}
		})
	}
}

// TestMergeMembersProperties: the current servers appear in their order, each member
// once; a kept member that left stays; and when servers only leave, the members keep
// the order of the table that had them all (so the mid-flow table is that table).
func TestMergeMembersProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 12).Draw(t, "n")
		all := make([]*dest, n)
		for i := range all {
			all[i] = &dest{id: uint32(i)}
		}
		old := rapid.Permutation(all).Draw(t, "old")
		stay := rapid.SliceOfN(rapid.Bool(), n, n).Draw(t, "stay")
		kept := rapid.SliceOfN(rapid.Bool(), n, n).Draw(t, "kept")
		var cur []*dest
		for i, x := range old {
			if stay[i] {
				cur = append(cur, x)
			}
		}
		keep := func(x *dest) bool { return kept[x.id] }
		got := mergeMembers(old, cur, keep)
		var want []*dest
		for i, x := range old {
			if stay[i] || keep(x) {
				want = append(want, x)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("merge of a table whose servers only left: got %v, want %v", ids(got), ids(want))
		}
		// A new order and new servers: cur's order wins, each member once.
		cur = rapid.Permutation(cur).Draw(t, "reordered")
		extra := &dest{id: uint32(n)}
		cur = append(cur, extra)
		got = mergeMembers(old, cur, keep)
		var onlyCur []*dest
		seen := map[*dest]bool{}
		for _, x := range got {
			if seen[x] {
				t.Fatalf("member %d twice in %v", x.id, ids(got))
			}
			seen[x] = true
			if slices.Contains(cur, x) {
				onlyCur = append(onlyCur, x)
			}
		}
		if !slices.Equal(onlyCur, cur) {
			t.Fatalf("current servers %v out of their order in %v", ids(cur), ids(got))
		}
		for _, x := range old {
			if !slices.Contains(cur, x) && keep(x) != seen[x] {
				t.Fatalf("member %d that left: kept %v, in the result %v", x.id, keep(x), seen[x])
			}
		}
	})
}

func ids(ds []*dest) []uint32 {
	out := make([]uint32, len(ds))
	for i, d := range ds {
		out[i] = d.id
	}
	return out
}
