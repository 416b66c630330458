package proxy

import (
	"errors"
	"net/netip"

	"golang.org/x/sys/unix"
)

// udpListener is one loop's socket of a UDP service and the flows it started. The
// kernel hashes a client's datagrams to the same SO_REUSEPORT socket every time, so a
// client's flow lives on one loop.
type udpListener struct {
	svc   *service
	fd    int
	idx   int32
	flows map[udpKey]*udpFlow
}

// udpKey identifies a flow: the client, and for one-packet scheduling also the real
// server, since each datagram may go elsewhere and replies must find their way back.
type udpKey struct {
	client netip.AddrPort
	dest   *destState
}

// udpFlow is one client's flow to one real server: a connected socket towards it whose
// replies are sent back to the client from the service's address.
type udpFlow struct {
	ln       *udpListener
	key      udpKey
	clientSA rawAddr
	bind     binding
	bound    bool // still counted in InActConn (false after one-packet forwarding)
	fd       int
	idx      int32
	last     int64
}

func (l *loop) addUDPListener(svc *service, fd int) error {
	u := &udpListener{svc: svc, fd: fd, flows: map[udpKey]*udpFlow{}}
	idx, err := l.add(fd, unix.EPOLLIN, u, 0)
	if err != nil {
		unix.Close(fd)
		return err
	}
	u.idx = idx
	l.udp[svc] = u
	return nil
}

func (l *loop) flowCount() int {
	n := 0
	for _, u := range l.udp {
		n += len(u.flows)
	}
	return n
}

// udpBatch bounds the datagrams read per wake-up (level-triggered: the rest come next).
const udpBatch = 64

func (u *udpListener) onEvent(l *loop, _ uint32, _ uint8) {
	var from rawAddr
	for i := 0; i < udpBatch; i++ {
		n, err := sysRecvfrom(u.fd, l.buf, &from)
		if err != nil {
			if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
				l.plane.logAcceptError(u.svc, err)
			}
			return
		}
		u.forward(l, &from, l.buf[:n])
	}
}

// forward sends one datagram from the client at sa to its flow's real server, starting
// a flow if there is none. A real server known to refuse (ICMP port unreachable seen on
// its socket) is replaced by the next one for this datagram.
func (u *udpListener) forward(l *loop, sa *rawAddr, payload []byte) {
	client := sa.addrPort()
	cfg := u.svc.cfg.Load()
	var f *udpFlow
	if !cfg.onePacket {
		f = u.flows[udpKey{client: client}]
	}
	var tried []*destState
	for attempt := 0; attempt <= len(cfg.list); attempt++ {
		if f == nil {
			f = u.newFlow(l, client, sa, tried, cfg.onePacket)
			if f == nil {
				return // no real server available: dropped, as IPVS drops it
			}
		}
		f.last = l.now
		_, err := sysWrite(f.fd, payload)
		if err == nil {
			u.svc.countIn(f.bind.dest, 1, uint64(len(payload)))
			if cfg.onePacket && f.bound {
				// One-packet scheduling: the entry is gone right after forwarding; the
				// socket stays only to carry replies back.
				f.bound = false
				u.svc.release(f.bind, false)
			}
			return
		}
		if !errors.Is(err, unix.ECONNREFUSED) {
			return // a full socket buffer or the like: dropped, as on a congested link
		}
		tried = append(tried, f.bind.dest)
		f.close(l)
		f = nil
	}
}

func (u *udpListener) newFlow(l *loop, client netip.AddrPort, sa *rawAddr, tried []*destState, onePacket bool) *udpFlow {
	for {
		b, ok := u.svc.pick(client, tried)
		if !ok {
			return nil
		}
		fd, err := connectUDP(&b.dest.addr, b.dest.family)
		if err != nil {
			u.svc.release(b, false)
			tried = append(tried, b.dest)
			continue
		}
		key := udpKey{client: client}
		if onePacket {
			key.dest = b.dest
			if old := u.flows[key]; old != nil {
				// Reuse the socket already carrying this client's replies from there.
				sysClose(fd)
				old.bind, old.bound = b, true
				u.svc.countConn(b.dest)
				return old
			}
		}
		f := &udpFlow{ln: u, key: key, clientSA: *sa, bind: b, bound: true, fd: fd, idx: -1, last: l.now}
		idx, err := l.add(fd, unix.EPOLLIN, f, 0)
		if err != nil {
			sysClose(fd)
			u.svc.release(b, false)
			return nil
		}
		f.idx = idx
		u.flows[key] = f
		u.svc.countConn(b.dest)
		return f
	}
}

// onEvent relays replies from the real server back to the client.
func (f *udpFlow) onEvent(l *loop, _ uint32, _ uint8) {
	for i := 0; i < udpBatch; i++ {
		n, err := sysRead(f.fd, l.buf)
		if err != nil {
			if errors.Is(err, unix.ECONNREFUSED) {
				// The real server's port is closed: end the flow so the client's next
				// datagram is scheduled afresh.
				f.close(l)
			}
			return
		}
		f.last = l.now
		u := f.ln
		// Counted before sending, so a client that got the reply also sees it counted.
		u.svc.countOut(f.bind.dest, 1, uint64(n))
		_ = sysSendto(u.fd, l.buf[:n], &f.clientSA)
	}
}

func (f *udpFlow) close(l *loop) {
	if f.fd < 0 {
		return
	}
	l.closeFD(f.fd, f.idx)
	f.fd = -1
	if f.bound {
		f.bound = false
		f.ln.svc.release(f.bind, false)
	}
	if f.ln.flows[f.key] == f {
		delete(f.ln.flows, f.key)
	}
}

// expire ends flows idle for the UDP timeout (ipvsadm --set's third value).
func (u *udpListener) expire(l *loop) {
	limit := l.plane.timeouts.Load().udp
	for _, f := range u.flows {
		if l.now-f.last >= limit {
			f.close(l)
		}
	}
}

// close stops the service on this loop: the socket and every flow.
func (u *udpListener) close(l *loop) {
	for _, f := range u.flows {
		f.close(l)
	}
	l.closeFD(u.fd, u.idx)
}
