package proxy

import (
	"net/netip"
	"testing"

	"github.com/govs/govs/internal/sched"
	"pgregory.net/rapid"
)

func lingerDest(port uint16) *sched.Dest {
	return sched.NewDest(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port), 1)
}

// TestLingerQueueSharesEntries: connections closing in the same second to the same real
// server share one entry whatever order they close in — rr over several servers closes
// them interleaved — so a director closing thousands of connections a second keeps one
// entry per second per server for the tcpfin timeout, not one per connection.
func TestLingerQueueSharesEntries(t *testing.T) {
	dests := []*sched.Dest{lingerDest(1), lingerDest(2), lingerDest(3)}
	var q lingerQueue
	for sec := int64(0); sec < 3; sec++ {
		for i := 0; i < 1000; i++ {
			d := dests[i%len(dests)]
			d.Bind()
			q.add(sec+120, d)
		}
	}
	if got, want := len(q.entries)-q.head, 3*len(dests); got != want {
		t.Fatalf("%d entries for 3 s of closes to %d servers, want %d", got, len(dests), want)
	}
	q.expire(121) // the first two seconds
	for _, d := range dests {
		if got, want := d.Inactive(), int64(1000/len(dests)+1); got > want || got < want-1 {
			t.Fatalf("%s: InActConn %d after two of three seconds expired, want about %d", d.Addr, got, want)
		}
	}
	q.add(122, dests[0]) // same second as the tail after the queue was compacted
	dests[0].Bind()
	if got, want := len(q.entries)-q.head, len(dests); got != want {
		t.Fatalf("%d entries after adding to the newest second, want %d", got, want)
	}
	q.expire(122)
	for _, d := range dests {
		if n := d.Inactive(); n != 0 {
			t.Fatalf("%s: InActConn %d after every second expired", d.Addr, n)
		}
	}
}

// TestLingerQueueReleasesEach: whatever the order of adds (expiries non-decreasing, as
// with a fixed tcpfin timeout) and expiry calls, every connection is released exactly
// once, never before its expiry second.
func TestLingerQueueReleasesEach(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		dests := []*sched.Dest{lingerDest(1), lingerDest(2), lingerDest(3), lingerDest(4)}
		var q lingerQueue
		now := int64(0)
		pending := map[*sched.Dest][]int64{} // expiry seconds not released yet
		steps := rapid.IntRange(1, 200).Draw(t, "steps")
		for i := 0; i < steps; i++ {
			if rapid.Bool().Draw(t, "tick") {
				now += rapid.Int64Range(0, 3).Draw(t, "advance")
				q.expire(now)
				for _, d := range dests {
					left := pending[d][:0]
					for _, e := range pending[d] {
						if e > now {
							left = append(left, e)
						}
					}
					pending[d] = left
				}
			} else {
				d := dests[rapid.IntRange(0, len(dests)-1).Draw(t, "dest")]
				d.Bind()
				q.add(now+2, d)
				pending[d] = append(pending[d], now+2)
			}
			for _, d := range dests {
				if got, want := d.Inactive(), int64(len(pending[d])); got != want {
					t.Fatalf("at %d: %s InActConn %d, want %d", now, d.Addr, got, want)
				}
			}
		}
	})
}
