package proxy

import "github.com/govs/govs/internal/sched"

// lingerQueue holds closed connections still counted in InActConn, in expiry order.
// Connections closing in the same second to the same real server share one entry,
// whatever order they close in (rr interleaves the servers), so a burst of short
// connections costs one entry per second per server for the tcpfin timeout, not one
// each.
type lingerQueue struct {
	entries []lingerEntry
	head    int
	// tail finds the entry of each real server among those of the newest expiry
	// second, tailExpire; indexes are into entries.
	tail       map[*sched.Dest]int
	tailExpire int64
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
	if q.tail == nil {
		q.tail = map[*sched.Dest]int{}
	}
	if expire == q.tailExpire {
		if i, ok := q.tail[dest]; ok {
			q.entries[i].n++
			return
		}
	} else {
		clear(q.tail)
		q.tailExpire = expire
	}
	q.entries = append(q.entries, lingerEntry{expire: expire, dest: dest, n: 1})
	q.tail[dest] = len(q.entries) - 1
}

// expire releases every entry due at or before now.
func (q *lingerQueue) expire(now int64) {
	for q.head < len(q.entries) && q.entries[q.head].expire <= now {
		e := &q.entries[q.head]
		for i := 0; i < e.n; i++ {
			e.dest.Unbind(false)
		}
		if i, ok := q.tail[e.dest]; ok && i == q.head {
			delete(q.tail, e.dest)
		}
		*e = lingerEntry{}
		q.head++
	}
	// Reclaim the consumed prefix once it is at least half of the slice.
	if q.head > 0 && q.head*2 >= len(q.entries) {
		q.entries = append(q.entries[:0], q.entries[q.head:]...)
		for d, i := range q.tail {
			q.tail[d] = i - q.head
		}
		q.head = 0
	}
}
