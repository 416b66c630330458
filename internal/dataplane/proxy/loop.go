package proxy

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// handler receives the readiness events of one registered file descriptor. tag tells a
// handler that owns several descriptors (a TCP connection's two sides) which one fired.
type handler interface {
	onEvent(l *loop, events uint32, tag uint8)
}

// slot is one entry of a loop's descriptor table. The generation makes a token of a freed
// and reused slot stale, so an event still queued for a closed descriptor is dropped.
type slot struct {
	h   handler
	gen uint32
	tag uint8
}

// readBufSize is the size of the loop's shared read buffer and of the buffers a
// direction keeps while the other side cannot take more.
const readBufSize = 64 << 10

// loop is one event loop: one goroutine, one epoll instance. Every connection lives on
// exactly one loop and is only ever touched by it, so relaying needs no locks. Other
// goroutines talk to a loop through run, which queues a function and wakes it.
type loop struct {
	id     int
	plane  *Plane
	epfd   int
	wakefd int

	slots []slot
	free  []int32

	// buf is where reads land; a direction that cannot write all it read keeps the
	// buffer and the loop takes a fresh one from spare.
	buf   []byte
	spare [][]byte
	// pipes splice bulk transfers.
	pipes pipePool

	// now is the loop's clock, read once per wake-up, in seconds since the plane started.
	now   int64
	start time.Time

	conns connList // TCP connections, for idle-timeout scans
	// freeConns are closed connections kept for reuse (see allocConn).
	freeConns []*tcpConn
	linger    lingerQueue
	udp       map[*service]*udpListener
	tcp       map[*service]*tcpListener
	// retry holds directions that stopped early (fairness cap) and must run again before
	// the loop sleeps.
	retry []*tcpConn

	mu      sync.Mutex
	cmds    []func()
	stopped bool
	done    chan struct{}
}

func newLoop(p *Plane, id int) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	l := &loop{
		id: id, plane: p, epfd: epfd, wakefd: wakefd,
		buf:   make([]byte, readBufSize),
		start: p.start,
		udp:   map[*service]*udpListener{},
		tcp:   map[*service]*tcpListener{},
		done:  make(chan struct{}),
	}
	if _, err := l.add(wakefd, unix.EPOLLIN, wakeHandler{}, 0); err != nil {
		unix.Close(epfd)
		unix.Close(wakefd)
		return nil, err
	}
	return l, nil
}

// wakeHandler drains the eventfd; the queued commands run right after the events.
type wakeHandler struct{}

func (wakeHandler) onEvent(l *loop, _ uint32, _ uint8) {
	var b [8]byte
	_, _ = sysRead(l.wakefd, b[:])
}

// add registers fd with the given events and returns its slot index.
func (l *loop) add(fd int, events uint32, h handler, tag uint8) (int32, error) {
	var idx int32
	if n := len(l.free); n > 0 {
		idx = l.free[n-1]
		l.free = l.free[:n-1]
	} else {
		l.slots = append(l.slots, slot{})
		idx = int32(len(l.slots) - 1)
	}
	s := &l.slots[idx]
	s.gen++
	s.h, s.tag = h, tag
	ev := unix.EpollEvent{Events: events, Fd: idx, Pad: int32(s.gen)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.release(idx)
		return -1, fmt.Errorf("epoll_ctl add fd %d: %w", fd, err)
	}
	return idx, nil
}

// release frees a slot. Closing the descriptor removes it from epoll; events already
// returned for it carry the old generation and are ignored.
func (l *loop) release(idx int32) {
	if idx < 0 {
		return
	}
	s := &l.slots[idx]
	s.h = nil
	s.gen++
	l.free = append(l.free, idx)
}

// closeFD closes fd and frees its slot. Closing removes the registration (the proxy never
// duplicates a descriptor), which saves an epoll_ctl per socket.
func (l *loop) closeFD(fd int, idx int32) {
	if fd < 0 {
		return
	}
	sysClose(fd)
	l.release(idx)
}

// run queues f to run on the loop's goroutine and wakes the loop. It reports false when
// the loop has stopped.
func (l *loop) run(f func()) bool {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return false
	}
	l.cmds = append(l.cmds, f)
	l.mu.Unlock()
	var one = [8]byte{1}
	_, _ = unix.Write(l.wakefd, one[:])
	return true
}

// runWait runs f on the loop and waits for it to finish.
func (l *loop) runWait(f func()) {
	done := make(chan struct{})
	if !l.run(func() { f(); close(done) }) {
		return
	}
	<-done
}

// stop makes the loop close everything it owns and exit, and waits for that.
func (l *loop) stop() {
	l.mu.Lock()
	already := l.stopped
	l.mu.Unlock()
	if !already {
		l.run(func() {
			l.mu.Lock()
			l.stopped = true
			l.mu.Unlock()
		})
	}
	<-l.done
}

// getBuf returns a read-sized buffer from the loop's spares or a new one.
func (l *loop) getBuf() []byte {
	if n := len(l.spare); n > 0 {
		b := l.spare[n-1]
		l.spare = l.spare[:n-1]
		return b
	}
	return make([]byte, readBufSize)
}

// putBuf keeps a few buffers for reuse; the rest go to the garbage collector so an idle
// proxy does not hold the peak's memory.
func (l *loop) putBuf(b []byte) {
	if len(l.spare) < 16 {
		l.spare = append(l.spare, b[:readBufSize])
	}
}

// maxEvents is how many events one epoll_wait returns at most.
const maxEvents = 256

func (l *loop) serve() {
	defer close(l.done)
	// Where a P can be spared, the loop blocks in epoll_wait without telling the
	// scheduler (sysEpollWait): the P stays with it, so a wake-up costs no P hand-off,
	// no other thread takes over, and sysmon has nothing to retake. On the close workload
	// that took context switches from 0.55 to 0.36 per request (HAProxy: 0.34) and 2-7 %
	// off the CPU per request. sysmon's preemption signal interrupts the wait (EINTR)
	// every 10 ms, so GC and timers wait no longer than that; and at least one P always
	// stays free for the rest of the process. The goroutine is deliberately not locked
	// to its thread: a preempted locked goroutine costs a P hand-off and two thread
	// wake-ups every 10 ms, an unlocked one just goes on (keep-alive p99 1.94 → 1.85 ms,
	// 4 % more requests, in interleaved rounds).
	wait := unix.EpollWait
	if reserveRawWait() {
		defer releaseRawWait()
		wait = sysEpollWait
	}
	events := make([]unix.EpollEvent, maxEvents)
	lastScan := int64(0)
	for {
		timeout := 1000
		if len(l.retry) > 0 {
			timeout = 0
		}
		n, err := wait(l.epfd, events, timeout)
		if err != nil && !errors.Is(err, unix.EINTR) {
			l.plane.log.Error("proxy: epoll_wait failed; loop stops", "loop", l.id, "err", err)
			l.shutdown()
			return
		}
		l.now = int64(time.Since(l.start) / time.Second)
		for i := 0; i < n; i++ {
			ev := &events[i]
			s := &l.slots[ev.Fd]
			if s.h == nil || s.gen != uint32(ev.Pad) {
				continue
			}
			s.h.onEvent(l, ev.Events, s.tag)
		}
		l.runRetries()
		if l.runCommands() {
			l.shutdown()
			return
		}
		if l.now != lastScan {
			lastScan = l.now
			l.tick()
		}
	}
}

// rawWaiters counts the loops, of every plane in the process, that hold a P while
// they wait.
var rawWaiters atomic.Int32

// reserveRawWait reports whether one more loop may hold a P while it waits: only while
// at least one P stays for everything else.
func reserveRawWait() bool {
	for {
		n := rawWaiters.Load()
		if int(n)+1 >= runtime.GOMAXPROCS(0) {
			return false
		}
		if rawWaiters.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func releaseRawWait() { rawWaiters.Add(-1) }

// runCommands runs what other goroutines queued and reports whether the loop must stop.
func (l *loop) runCommands() bool {
	l.mu.Lock()
	cmds := l.cmds
	l.cmds = nil
	stopped := l.stopped
	l.mu.Unlock()
	for _, f := range cmds {
		f()
	}
	if !stopped {
		l.mu.Lock()
		stopped = l.stopped
		l.mu.Unlock()
	}
	return stopped
}

func (l *loop) runRetries() {
	// Bounded: a connection that hits the cap again is queued for the next round.
	retry := l.retry
	l.retry = nil
	for _, c := range retry {
		c.queued = false
		if !c.closed {
			c.pumpBoth(l)
		}
	}
}

// tick runs once a second: idle timeouts, lingering InActConn counts, UDP flow expiry.
func (l *loop) tick() {
	l.expireConns()
	l.linger.expire(l.now)
	for _, u := range l.udp {
		u.expire(l)
	}
}

// shutdown closes everything the loop owns: listeners, connections, flows.
func (l *loop) shutdown() {
	for svc, t := range l.tcp {
		t.close(l)
		delete(l.tcp, svc)
	}
	for svc, u := range l.udp {
		u.close(l)
		delete(l.udp, svc)
	}
	for l.conns.len() > 0 {
		l.conns.items[0].abort(l)
	}
	l.linger.expire(1 << 62)
	l.pipes.closeAll()
	unix.Close(l.wakefd)
	unix.Close(l.epfd)
	l.mu.Lock()
	l.stopped = true
	cmds := l.cmds
	l.cmds = nil
	l.mu.Unlock()
	// Commands queued after the last run (a runWait racing Close) still complete.
	for _, f := range cmds {
		f()
	}
}
