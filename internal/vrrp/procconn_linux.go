package vrrp

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// procConn is a NETLINK_CONNECTOR socket subscribed to the kernel's process events.
// Opening it needs CAP_NET_ADMIN and a kernel with CONFIG_PROC_EVENTS.
type procConn struct {
	fd        int
	port      uint32
	listening bool // the subscription was sent: close must end it
	buf       []byte
	// timeout is the SO_RCVTIMEO in force, so that a busy host's stream of events
	// costs one system call per datagram, not two.
	timeout time.Duration
	// force grows the receive buffer with SO_RCVBUFFORCE (process_monitor_rcv_bufs_force).
	force bool
}

var _ procSource = (*procConn)(nil)

// openProcConn subscribes to process events.
func openProcConn() (*procConn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("proc connector socket: %w", err)
	}
	c := &procConn{fd: fd, buf: make([]byte, 1<<16)}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		c.close()
		return nil, fmt.Errorf("proc connector bind: %w", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		c.close()
		return nil, fmt.Errorf("proc connector getsockname: %w", err)
	}
	if nl, ok := sa.(*unix.SockaddrNetlink); ok {
		c.port = nl.Pid
	}
	if err := unix.Sendto(fd, encodeProcListen(c.port, procCNMcastListen), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		c.close()
		return nil, fmt.Errorf("proc connector listen: %w", err)
	}
	c.listening = true
	return c, nil
}

// read waits up to timeout for one datagram and decodes it. Only the kernel (port 0)
// is believed.
func (c *procConn) read(timeout time.Duration) ([]procEvent, error) {
	timeout = max(timeout, time.Millisecond)
	if timeout != c.timeout {
		tv := unix.NsecToTimeval(timeout.Nanoseconds())
		if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return nil, err
		}
		c.timeout = timeout
	}
	n, from, err := unix.Recvfrom(c.fd, c.buf, 0)
	switch {
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		return nil, nil
	case errors.Is(err, unix.ENOBUFS):
		return nil, c.grow()
	case err != nil:
		return nil, err
	}
	if nl, ok := from.(*unix.SockaddrNetlink); !ok || nl.Pid != 0 {
		return nil, nil
	}
	evs, err := decodeProcEvents(c.buf[:n])
	if err != nil {
		// What was decoded stands; a rescan makes up for the rest.
		return evs, fmt.Errorf("%w: %v", errMissedEvents, err)
	}
	return evs, nil
}

// grow doubles the receive buffer after it overflowed, as keepalived does, and says so
// in the error it returns.
func (c *procConn) grow() error {
	size, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err == nil {
		err = RcvBuf{Bytes: size * 2, Force: c.force}.set(c.fd)
	}
	if err != nil {
		return fmt.Errorf("%w; doubling process_monitor_rcv_bufs: %v", errMissedEvents, err)
	}
	return fmt.Errorf("%w; process_monitor_rcv_bufs set to %d, recommend updating the configuration", errMissedEvents, size*2)
}

// close ends the subscription (older kernels count listeners by these messages and
// keep sending events while any is left) and the socket.
func (c *procConn) close() {
	if c.listening {
		_ = unix.Sendto(c.fd, encodeProcListen(c.port, procCNMcastIgnore), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	}
	unix.Close(c.fd)
}
