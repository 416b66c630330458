package proxy

import (
	"errors"
	"net/netip"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// tcpListener is one loop's watch on a TCP service's listening socket. The socket is
// the service's (Plane.listen): the loop neither opens nor closes it.
type tcpListener struct {
	svc   *service
	fd    int
	idx   int32
	batch int // accepts per wake-up
}

// Accepts per wake-up. Alone, a loop takes up to acceptBatch, bounded so that one busy
// service cannot starve the rest. Where loops share the socket, each takes a few at a
// time, as HAProxy's threads do (its tune.maxaccept, 4): a burst of new connections
// then spreads over the loops that are awake instead of landing on the first one.
const (
	acceptBatch       = 64
	acceptBatchShared = 4
)

func (l *loop) addTCPListener(svc *service, fd int, shared bool) error {
	t := &tcpListener{svc: svc, fd: fd, batch: acceptBatch}
	// Level-triggered: connections left over after a batch are found on the next wait.
	events := uint32(unix.EPOLLIN)
	if shared {
		// A new connection wakes one waiting loop, not all of them; a loop that is
		// busy meanwhile still finds the socket ready when it next waits.
		events |= unix.EPOLLEXCLUSIVE
		t.batch = acceptBatchShared
	}
	idx, err := l.add(fd, events, t, 0)
	if err != nil {
		return err
	}
	t.idx = idx
	l.tcp[svc] = t
	return nil
}

func (l *loop) removeListeners(svc *service) {
	if t := l.tcp[svc]; t != nil {
		t.close(l)
		delete(l.tcp, svc)
	}
	if u := l.udp[svc]; u != nil {
		u.close(l)
		delete(l.udp, svc)
	}
}

// close stops watching the socket; the plane closes it once no loop watches it.
func (t *tcpListener) close(l *loop) {
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, t.fd, nil)
	l.release(t.idx)
}

func (t *tcpListener) onEvent(l *loop, _ uint32, _ uint8) {
	var from rawAddr
	for i := 0; i < t.batch; i++ {
		fd, err := sysAccept(t.fd, &from)
		switch {
		case err == nil:
			if to := l.plane.loopFor(l); to != l {
				handOff(to, t.svc, fd, from.addrPort())
				continue
			}
			newTCPConn(l, t.svc, fd, from.addrPort())
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.ECONNABORTED):
			continue
		case errors.Is(err, unix.EAGAIN):
			return
		default:
			// EMFILE and friends: leave the connection queued; it is retried on the
			// next wake-up, when some descriptor may have been freed.
			l.plane.logAcceptError(t.svc, err)
			return
		}
	}
}

// handOffSlack is how many more connections than the least loaded loop a loop may hold
// before it passes newly accepted ones on; an eighth of the least loaded loop's count
// is added to it, so that large counts do not hand off on small differences.
const handOffSlack = 16

// loopFor returns the loop a connection that l accepted should live on: l, unless l holds
// clearly more connections than another loop; then the one with the fewest. A shared
// accept queue balances new work, not connections: a loop that is waiting is woken
// first, so connections opened one at a time on a quiet service would all stay on it
// and be served by one CPU once they get busy. (HAProxy passes each accepted connection
// to its least loaded thread.)
func (p *Plane) loopFor(l *loop) *loop {
	mine := l.conns.open.Load()
	if mine <= handOffSlack || len(p.loops) == 1 {
		return l
	}
	to, fewest := l, mine
	for _, o := range p.loops {
		if n := o.conns.open.Load(); n < fewest {
			to, fewest = o, n
		}
	}
	if mine-fewest <= handOffSlack+fewest/8 {
		return l
	}
	return to
}

// handOff makes the accepted connection fd to's. If to has stopped, the connection is
// reset.
func handOff(to *loop, svc *service, fd int, client netip.AddrPort) {
	if !to.run(func() { newTCPConn(to, svc, fd, client) }) {
		resetClose(fd)
		sysClose(fd)
	}
}

// Connection states.
const (
	connecting uint8 = iota
	established
	closed
)

// Sides and directions: side 0 is the client, side 1 the real server; direction i
// reads side i and writes side 1-i (0 = "in" in IPVS terms, 1 = "out").
const (
	clientSide = 0
	serverSide = 1
)

// pumpCap bounds the reads per direction per wake-up; a direction that still has data
// is queued to run again after the other ready connections.
const pumpCap = 16

// direction is one half of a relayed connection.
type direction struct {
	pend     []byte // data read but not yet written (owned buffer), nil if none
	off      int    // how much of pend is written
	readable bool   // an edge said the source may have data
	hup      bool   // the source half-closed: read until EOF even after a short read
	// fin: the source's FIN arrived without an error (RDHUP or HUP, no ERR), so once a
	// read comes back short the data is all read and the FIN can go on with the last
	// of it, without the read that would return 0. (Like the short-read rule below,
	// this takes a short read for a drained socket; only urgent data, which a relay
	// does not carry, stops a TCP read early.)
	fin bool
	eof bool // the source is at EOF and the destination was shut down for writing

	// pipe carries a bulk transfer by splice (see splice.go); piped is how much of it
	// is in the pipe, not yet written.
	pipe  *pipe
	piped int
}

// tcpConn is one relayed TCP connection: client socket, real-server socket, and the
// two directions between them.
type tcpConn struct {
	svc    *service
	bind   binding
	client netip.AddrPort
	fd     [2]int
	idx    [2]int32
	dir    [2]direction
	tried  []*destState // real servers that refused this connection

	state  uint8
	active bool // counted in ActiveConn (established, no FIN yet)
	queued bool // on the loop's retry list
	closed bool

	connectAt int64 // loop seconds when the current connect started
	// connectStart times the handshake with the real server for the srt scheduler.
	connectStart time.Time
	last         int64 // loop seconds of the last event
	sampled      int64 // loop seconds of the last packet-counter sample
	segs         [2]uint32
	pos          int // index in the loop's connection list
}

func newTCPConn(l *loop, svc *service, fd int, client netip.AddrPort) {
	c := l.allocConn()
	c.svc, c.client, c.fd, c.idx, c.last = svc, client, [2]int{fd, -1}, [2]int32{-1, -1}, l.now
	// Edge-triggered for both sides, registered once: the relay never changes interest.
	idx, err := l.add(fd, unix.EPOLLIN|unix.EPOLLOUT|unix.EPOLLRDHUP|unix.EPOLLET, c, clientSide)
	if err != nil {
		resetClose(fd)
		sysClose(fd)
		l.freeConn(c)
		return
	}
	c.idx[clientSide] = idx
	l.conns.add(c)
	if !c.connectNext(l) {
		c.abort(l)
	}
}

// connectNext picks a real server (avoiding those that failed) and starts connecting.
// It reports false when no real server is left to try.
func (c *tcpConn) connectNext(l *loop) bool {
	for {
		b, ok := c.svc.pick(c.client, c.tried)
		if !ok {
			return false
		}
		fd, done, err := connectTCP(&b.dest.addr, b.dest.family)
		if err != nil {
			c.svc.release(b, false)
			c.tried = append(c.tried, b.dest)
			continue
		}
		idx, err := l.add(fd, unix.EPOLLIN|unix.EPOLLOUT|unix.EPOLLRDHUP|unix.EPOLLET, c, serverSide)
		if err != nil {
			sysClose(fd)
			c.svc.release(b, false)
			return false
		}
		c.bind = b
		c.fd[serverSide], c.idx[serverSide] = fd, idx
		c.state = connecting
		c.connectAt = l.now
		c.connectStart = time.Now()
		c.svc.countConn(b.dest)
		if done {
			c.established(l)
		}
		return true
	}
}

func (c *tcpConn) onEvent(l *loop, events uint32, side uint8) {
	if c.closed {
		return
	}
	c.last = l.now
	if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		// ERR and HUP also make the source "readable": the read reports the error or EOF.
		d := &c.dir[side]
		d.readable = true
		if events&(unix.EPOLLRDHUP|unix.EPOLLHUP) != 0 {
			d.hup = true
			d.fin = true
		}
		if events&unix.EPOLLERR != 0 {
			// A reset is passed on as a reset: the read must report it.
			d.fin = false
		}
	}
	if c.state == connecting {
		switch {
		case side == serverSide && events&(unix.EPOLLERR|unix.EPOLLHUP) != 0:
			c.connectFailed(l)
		case side == serverSide && events&unix.EPOLLOUT != 0:
			// Writable without an error: the handshake completed (no SO_ERROR needed).
			c.established(l)
		case side == clientSide && events&unix.EPOLLERR != 0:
			c.abort(l) // the client gave up (RST) before the real server answered
		}
		return
	}
	c.pumpBoth(l)
}

// connectFailed forgets the real server that refused (or timed out) and tries the next.
func (c *tcpConn) connectFailed(l *loop) {
	l.closeFD(c.fd[serverSide], c.idx[serverSide])
	c.fd[serverSide], c.idx[serverSide] = -1, -1
	c.svc.release(c.bind, false)
	c.tried = append(c.tried, c.bind.dest)
	c.bind = binding{}
	c.dir[serverSide] = direction{}
	if !c.connectNext(l) {
		c.abort(l)
	}
}

func (c *tcpConn) established(l *loop) {
	c.state = established
	c.active = true
	c.bind.dest.sd.SetActive(true)
	c.bind.dest.sd.ObserveLatency(time.Since(c.connectStart))
	if v := c.svc.cfg.Load().proxyProto; v != 0 {
		buf := l.getBuf()
		n := appendProxyHeader(buf[:0], v, c.client, c.localAddr())
		c.dir[clientSide].pend = buf[:len(n)]
	}
	c.pumpBoth(l)
}

// localAddr is the address the client connected to: the VIP, or for a wildcard VIP the
// socket's own address.
func (c *tcpConn) localAddr() netip.AddrPort {
	if c.svc.key.Addr.Addr().IsUnspecified() {
		if sa, err := unix.Getsockname(c.fd[clientSide]); err == nil {
			return addrPort(sa)
		}
	}
	return c.svc.key.Addr
}

func (c *tcpConn) pumpBoth(l *loop) {
	if c.pump(l, 0) {
		c.pump(l, 1)
	}
}

// pump moves data in direction i until the source is drained or the destination is
// full. It reports false when the connection was closed.
func (c *tcpConn) pump(l *loop, i int) bool {
	d := &c.dir[i]
	src, dst := c.fd[i], c.fd[1-i]
	for n := 0; n < pumpCap; n++ {
		if d.pend != nil {
			w, err := sysWrite(dst, d.pend[d.off:])
			if err != nil {
				if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
					return true
				}
				c.abort(l)
				return false
			}
			d.off += w
			if d.off < len(d.pend) {
				return true
			}
			l.putBuf(d.pend)
			d.pend, d.off = nil, 0
		}
		if d.pipe != nil {
			switch c.spliceStep(l, i) {
			case stepMore:
				continue
			case stepWait:
				return true
			case stepClosed:
				return false
			}
		}
		if !d.readable || d.eof {
			return true
		}
		r, err := sysRead(src, l.buf)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) {
				d.readable = false
				return true
			}
			if errors.Is(err, unix.EINTR) {
				continue
			}
			c.abort(l)
			return false
		}
		if r == 0 {
			return c.sourceEOF(l, i)
		}
		if i == clientSide {
			c.svc.countIn(c.bind.dest, 0, uint64(r))
		} else {
			c.svc.countOut(c.bind.dest, 0, uint64(r))
		}
		// A short read after the FIN took the last data: the FIN follows it.
		last := d.fin && r < len(l.buf)
		var w int
		if last && !c.dir[1-i].eof {
			// MSG_MORE holds the data back until the shutdown below, so data and FIN
			// leave in one segment (one packet less for both ends to process).
			w, err = sysSend(dst, l.buf[:r], unix.MSG_MORE)
		} else {
			w, err = sysWrite(dst, l.buf[:r])
		}
		if err != nil {
			if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
				c.abort(l)
				return false
			}
			w = 0
		}
		if w < r {
			// Keep the unsent rest by taking the loop's buffer; the loop gets another.
			// The EOF, if it is one, is read once the rest is written.
			d.pend, d.off = l.buf[:r], w
			l.buf = l.getBuf()
			return true
		}
		if last {
			return c.sourceEOF(l, i)
		}
		if r == len(l.buf) {
			// A full buffer: a transfer rather than a request. Splice the rest, if
			// the loop has a pipe to spare.
			d.pipe = l.pipes.get()
			continue
		}
		if !d.hup {
			// A short read emptied the socket; the next arrival raises a new edge.
			d.readable = false
			return true
		}
	}
	if !c.queued {
		c.queued = true
		l.retry = append(l.retry, c)
	}
	return true
}

// stepResult says how a splice step left a direction.
type stepResult uint8

const (
	stepMore   stepResult = iota // moved data; go on
	stepWait                     // wait for the next edge (source drained or destination full)
	stepClosed                   // the connection was closed
)

// spliceStep empties direction i's pipe into the destination, then splices the next
// chunk from the source into it. The pipe goes back to the loop once it is empty and
// the source drained or at EOF. A splice from a socket may stop short of what the
// socket holds (the pipe has a fixed number of page slots), so only EAGAIN or EOF
// tell that the source is drained.
func (c *tcpConn) spliceStep(l *loop, i int) stepResult {
	d := &c.dir[i]
	if d.piped > 0 {
		w, err := sysSplice(d.pipe.r, c.fd[1-i], d.piped)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				return stepWait
			}
			c.abort(l)
			return stepClosed
		}
		d.piped -= w
		if d.piped > 0 {
			// Unlike write, a splice to a socket returns short with room left (seen:
			// 255139 of 262144 bytes, nothing queued): only EAGAIN means full and
			// arms the writable edge. Waiting after a short splice stalled transfers.
			return stepMore
		}
	}
	if !d.readable || d.eof {
		l.pipes.put(d.pipe)
		d.pipe = nil
		return stepWait
	}
	r, err := sysSplice(c.fd[i], d.pipe.w, pipeSize)
	if err != nil {
		switch {
		case errors.Is(err, unix.EINTR):
			return stepMore
		case errors.Is(err, unix.EAGAIN):
			// The pipe is empty, so it is the source that has nothing more.
			d.readable = false
			l.pipes.put(d.pipe)
			d.pipe = nil
			return stepWait
		}
		c.abort(l)
		return stepClosed
	}
	if r == 0 {
		l.pipes.put(d.pipe)
		d.pipe = nil
		if c.sourceEOF(l, i) {
			return stepWait
		}
		return stepClosed
	}
	if i == clientSide {
		c.svc.countIn(c.bind.dest, 0, uint64(r))
	} else {
		c.svc.countOut(c.bind.dest, 0, uint64(r))
	}
	d.piped = r
	return stepMore
}

// sourceEOF passes on the EOF of direction i's source, all its data written.
func (c *tcpConn) sourceEOF(l *loop, i int) bool {
	d := &c.dir[i]
	d.eof, d.readable = true, false
	if !c.dir[1-i].eof {
		// Pass the half-close on. After the second FIN, close sends it.
		sysShutdownWrite(c.fd[1-i])
	}
	return c.halfClosed(l)
}

// halfClosed runs when direction i reached EOF: the first FIN moves the connection from
// ActiveConn to InActConn (IPVS's FIN_WAIT), the second closes it.
func (c *tcpConn) halfClosed(l *loop) bool {
	if c.active {
		c.active = false
		c.bind.dest.sd.SetActive(false)
	}
	if c.dir[0].eof && c.dir[1].eof {
		c.finish(l, false)
		return false
	}
	return true
}

// abort closes both sides with an RST, passing a reset or a failure on.
func (c *tcpConn) abort(l *loop) { c.finish(l, true) }

func (c *tcpConn) finish(l *loop, reset bool) {
	if c.closed {
		return
	}
	c.closed = true
	if c.state == established {
		c.samplePackets()
	}
	for side := range c.fd {
		if c.fd[side] >= 0 {
			if reset {
				resetClose(c.fd[side])
			}
			l.closeFD(c.fd[side], c.idx[side])
			c.fd[side] = -1
		}
		d := &c.dir[side]
		if d.pend != nil {
			l.putBuf(d.pend)
			d.pend = nil
		}
		if d.pipe != nil {
			if d.piped > 0 {
				l.pipes.discard(d.pipe)
			} else {
				l.pipes.put(d.pipe)
			}
			d.pipe, d.piped = nil, 0
		}
	}
	l.conns.remove(c)
	if c.bind.dest == nil {
		return
	}
	c.svc.release(c.bind, c.active)
	if c.state == established && !reset {
		// A closed connection stays in InActConn for the tcpfin timeout, as IPVS keeps
		// its entry in FIN_WAIT/TIME_WAIT: `ipvsadm -L` and the lc/wlc overhead see it.
		c.bind.dest.sd.Bind()
		l.linger.add(l.now+l.plane.timeouts.Load().tcpFin, c.bind.dest.sd)
	}
	c.state = closed
	l.freeConn(c)
}

// maxFreeConns bounds the closed connections a loop keeps for reuse.
const maxFreeConns = 256

// allocConn returns a zeroed connection, reusing a closed one: a new connection then
// costs no allocation, so a connection-per-request load gives the collector nothing.
func (l *loop) allocConn() *tcpConn {
	if n := len(l.freeConns); n > 0 {
		c := l.freeConns[n-1]
		l.freeConns = l.freeConns[:n-1]
		return c
	}
	return &tcpConn{}
}

// freeConn keeps a closed connection for reuse. One still on the retry list is left to
// the collector: the list would otherwise pump whatever connection reused it. Events
// still queued for its descriptors are dropped by the slot generation, not by c.
func (l *loop) freeConn(c *tcpConn) {
	if c.queued || len(l.freeConns) >= maxFreeConns {
		return
	}
	tried := c.tried
	clear(tried)
	*c = tcpConn{tried: tried[:0]}
	l.freeConns = append(l.freeConns, c)
}

// samplePackets adds the segments received on each socket since the last sample to the
// packet counters: segments from the client are IPVS's InPkts, from the real server its
// OutPkts. The kernel counts them (TCP_INFO), so pure ACKs, SYN and FIN count as in IPVS.
func (c *tcpConn) samplePackets() {
	for side := range c.fd {
		if c.fd[side] < 0 {
			continue
		}
		segs, ok := tcpSegsIn(c.fd[side])
		if !ok {
			continue
		}
		delta := uint64(segs - c.segs[side])
		c.segs[side] = segs
		if side == clientSide {
			c.svc.countIn(c.bind.dest, delta, 0)
		} else {
			c.svc.countOut(c.bind.dest, delta, 0)
		}
	}
}

// expireConns closes connections idle past their timeout, retries connects that took too
// long, and samples packet counters of busy connections every estimator interval.
func (l *loop) expireConns() {
	to := l.plane.timeouts.Load()
	connectLimit := int64(connectTimeout.Seconds())
	for i := 0; i < len(l.conns.items); {
		c := l.conns.items[i]
		switch {
		case c.state == connecting && l.now-c.connectAt >= connectLimit:
			c.connectFailed(l)
		case c.state == established && (c.dir[0].eof || c.dir[1].eof) && l.now-c.last >= to.tcpFin:
			c.abort(l)
		case c.state == established && l.now-c.last >= to.tcp:
			c.abort(l)
		case c.state == established && c.last > c.sampled && l.now-c.sampled >= 2:
			c.sampled = l.now
			c.samplePackets()
		}
		// A closed connection was swapped out of slot i; look at the slot again.
		if i < len(l.conns.items) && l.conns.items[i] == c {
			i++
		}
	}
}

// connList is a loop's set of open connections with O(1) removal.
type connList struct {
	items []*tcpConn
	// open is len(items), for other loops to read (loopFor).
	open atomic.Int32
}

func (s *connList) len() int { return len(s.items) }

func (s *connList) add(c *tcpConn) {
	c.pos = len(s.items)
	s.items = append(s.items, c)
	s.open.Store(int32(len(s.items)))
}

func (s *connList) remove(c *tcpConn) {
	last := len(s.items) - 1
	if c.pos > last || s.items[c.pos] != c {
		return
	}
	s.items[c.pos] = s.items[last]
	s.items[c.pos].pos = c.pos
	s.items[last] = nil
	s.items = s.items[:last]
	s.open.Store(int32(last))
}
