package proxy

import "github.com/govs/govs/internal/sched"

// lingerQueue holds closed connections still counted in InActConn, in expiry order.
// Connections closing in the same second to the same real server share one entry, so a
// burst of short connections costs one entry per second per server, not one each.
type lingerQueue struct {
	entries []lingerEntry
	head    int
}

type lingerEntry struct {
	expire int64 // loop seconds
	dest   *sched.Dest
	n      int
}

// add counts one more connection of dest until expire. Expiries arrive in order as
// long as the tcpfin timeout does not shrink; a shorter new timeout only delays the
// release of entries queued before it until the older ones expire.
func (q *lingerQueue) add(expire int64, dest *sched.Dest) {
	if n := len(q.entries); n > q.head {
		if last := &q.entries[n-1]; last.expire == expire && last.dest == dest {
			last.n++
			return
		}
	}
	q.entries = append(q.entries, lingerEntry{expire: expire, dest: dest, n: 1})
}

// expire releases every entry due at or before now.
func (q *lingerQueue) expire(now int64) {
	for q.head < len(q.entries) && q.entries[q.head].expire <= now {
		e := &q.entries[q.head]
		for i := 0; i < e.n; i++ {
			e.dest.Unbind(false)
		}
		*e = lingerEntry{}
		q.head++
	}
	// Reclaim the consumed prefix once it is at least half of the slice.
	if q.head > 0 && q.head*2 >= len(q.entries) {
		q.entries = append(q.entries[:0], q.entries[q.head:]...)
		q.head = 0
	}
}
