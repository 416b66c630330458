package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// probeTCPConnect is TCP_CHECK's whole probe: open a TCP connection to t.Addr and
// reset it at once. It is written against the socket API rather than net.Dialer
// because it runs a thousand times a second on a large director, and the dialer pays
// for what a probe does not use: a bind to the wildcard address (port allocation
// twice), keep-alive and no-delay options, the local and peer addresses, a deadline
// timer and a cancellation watcher per dial, and a poller registration even when the
// connection is already up when connect returns (as on loopback and fast LANs).
//
// The socket has SO_LINGER {on, 0} from the start, so closing it sends one RST
// instead of the FIN exchange: the server sees no half-closed connection, and the
// director keeps no TIME_WAIT socket per check (60,000 of them at 1,000 checks/s).
func probeTCPConnect(ctx context.Context, t Target) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// An IPv4-mapped address is dialled over IPv4, as net.Dial does.
	t.Addr = netip.AddrPortFrom(t.Addr.Addr().Unmap(), t.Addr.Port())
	fd, err := tcpSocket(t)
	if err != nil {
		return fmt.Errorf("connect %s: %w", t.Addr, err)
	}
	sa, err := sockaddr(t.Addr)
	if err != nil {
		unix.Close(fd)
		return fmt.Errorf("connect %s: %w", t.Addr, err)
	}
	err = unix.Connect(fd, sa)
	switch {
	case err == nil:
		unix.Close(fd)
		return nil
	case !errors.Is(err, unix.EINPROGRESS) && !errors.Is(err, unix.EINTR):
		unix.Close(fd)
		return fmt.Errorf("connect %s: %w", t.Addr, err)
	}
	if writable(fd) {
		err = soError(fd)
		unix.Close(fd)
		return connectResult(t, err)
	}
	return waitConnected(ctx, t, fd)
}

// tcpSocket is a non-blocking TCP socket with t's options (SO_LINGER {1, 0},
// bind_if, fwmark, bindto/bind_port) applied, ready to connect.
func tcpSocket(t Target) (int, error) {
	family := unix.AF_INET6
	if t.Addr.Addr().Is4() {
		family = unix.AF_INET
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := tcpSocketOptions(fd, t); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func tcpSocketOptions(fd int, t Target) error {
	if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
		return os.NewSyscallError("setsockopt SO_LINGER", err)
	}
	if t.BindIf != "" {
		if err := unix.BindToDevice(fd, t.BindIf); err != nil {
			return fmt.Errorf("bind_if %s: %w", t.BindIf, err)
		}
	}
	if t.FWMark != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(t.FWMark)); err != nil {
			return fmt.Errorf("fwmark %d: %w", t.FWMark, err)
		}
	}
	if local := localAddr(t); local.IsValid() {
		local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
		if t.Addr.Addr().Is4() != local.Addr().Is4() {
			return fmt.Errorf("bindto %s: not of the address family of %s", local.Addr(), t.Addr.Addr())
		}
		sa, err := sockaddr(local)
		if err != nil {
			return fmt.Errorf("bindto %s: %w", local, err)
		}
		if err := unix.Bind(fd, sa); err != nil {
			return fmt.Errorf("bindto %s: %w", local, err)
		}
	}
	return nil
}

// sockaddr converts an address; an IPv6 zone (link-local) becomes its interface index.
func sockaddr(ap netip.AddrPort) (unix.Sockaddr, error) {
	a := ap.Addr()
	if a.Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}, nil
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	if zone := a.Zone(); zone != "" {
		if n, err := strconv.Atoi(zone); err == nil {
			sa.ZoneId = uint32(n)
		} else {
			ifi, err := net.InterfaceByName(zone)
			if err != nil {
				return nil, fmt.Errorf("zone %q: %w", zone, err)
			}
			sa.ZoneId = uint32(ifi.Index)
		}
	}
	return sa, nil
}

// writable polls fd once without waiting.
func writable(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n == 1 && fds[0].Revents&(unix.POLLOUT|unix.POLLERR|unix.POLLHUP) != 0
}

// soError is the outcome of a finished non-blocking connect.
func soError(fd int) error {
	n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return os.NewSyscallError("getsockopt SO_ERROR", err)
	}
	if n != 0 {
		return unix.Errno(n)
	}
	return nil
}

func connectResult(t Target, err error) error {
	if err != nil {
		return fmt.Errorf("connect %s: %w", t.Addr, err)
	}
	return nil
}

// waitConnected waits, in the runtime's poller, for a connect in progress to finish,
// until ctx's deadline or its cancellation; it closes fd.
func waitConnected(ctx context.Context, t Target, fd int) error {
	f := os.NewFile(uintptr(fd), "tcp-check")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("connect %s: %w", t.Addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = f.SetWriteDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	var result error
	werr := rc.Write(func(fd uintptr) bool {
		if !writable(int(fd)) {
			return false // still in progress: wait for the poller
		}
		result = soError(int(fd))
		return true
	})
	switch {
	case werr == nil:
		return connectResult(t, result)
	case errors.Is(werr, os.ErrDeadlineExceeded):
		if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err // cancelled: shutting down
		}
		return fmt.Errorf("connect %s: no answer within %v", t.Addr, t.Timeout)
	default:
		return fmt.Errorf("connect %s: %w", t.Addr, werr)
	}
}
