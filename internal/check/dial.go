package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// dialer returns a dialer with the target's socket options: bind_if as
// SO_BINDTODEVICE, fwmark as SO_MARK, bindto/bind_port as the local address (none
// otherwise: DialTCP would bind to the wildcard address, allocating a port twice), no
// TCP keep-alive (a probe lasts a second at most; its options cost a system call
// each), and for TCP SO_LINGER {1, 0} so that closing resets the connection: the
// director keeps no TIME_WAIT socket per check (see probeTCPConnect).
func dialer(t Target, network string) *net.Dialer {
	d := &net.Dialer{Control: socketOptions(t, network == "tcp"), KeepAlive: -1}
	if local := localAddr(t); local.IsValid() {
		if network == "udp" {
			d.LocalAddr = net.UDPAddrFromAddrPort(local)
		} else {
			d.LocalAddr = net.TCPAddrFromAddrPort(local)
		}
	}
	return d
}

// localAddr is bindto:bind_port, or the zero value to let the kernel choose.
func localAddr(t Target) netip.AddrPort {
	if !t.Bind.Addr().IsValid() && t.Bind.Port() == 0 {
		return netip.AddrPort{}
	}
	addr := t.Bind.Addr()
	if !addr.IsValid() {
		addr = netip.IPv6Unspecified()
		if t.Addr.Addr().Unmap().Is4() {
			addr = netip.IPv4Unspecified()
		}
	}
	return netip.AddrPortFrom(addr, t.Bind.Port())
}

// dial connects over TCP or UDP to t.Addr with t's binding options. It takes addresses
// as values, never through the resolver: a thousand checks a second should not pay for
// parsing and looking up literal addresses.
//
// The deadline goes to the dialer rather than the context: with a cancellable context
// every connect would start a goroutine to watch it. Cancellation (shutdown) is still
// honoured before connecting, and a connect in progress ends by its deadline.
func dial(ctx context.Context, t Target, network string) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d := dialer(t, network)
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	// A literal address: the resolver only parses it.
	c, err := d.DialContext(context.Background(), network, t.Addr.String())
	if err != nil {
		return nil, dialError(t, err)
	}
	return c, nil
}

// dialError words a failed connect for operators ("connect 10.0.0.2:80: connection
// refused") instead of net's "dial tcp :0->10.0.0.2:80: connect: …"; the cause stays
// wrapped for errors.Is.
func dialError(t Target, err error) error {
	var op *net.OpError
	if !errors.As(err, &op) {
		return err
	}
	cause := op.Err
	var sys *os.SyscallError
	if errors.As(cause, &sys) {
		cause = sys.Err
	}
	return fmt.Errorf("connect %s: %w", t.Addr, cause)
}

// socketOptions sets SO_BINDTODEVICE, SO_MARK and, with reset, SO_LINGER {1, 0}
// before connect; nil when there is nothing to set.
func socketOptions(t Target, reset bool) func(network, address string, c syscall.RawConn) error {
	if t.BindIf == "" && t.FWMark == 0 && !reset {
		return nil
	}
	return func(_, _ string, c syscall.RawConn) error {
		var opErr error
		err := c.Control(func(fd uintptr) {
			if reset {
				if opErr = unix.SetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); opErr != nil {
					return
				}
			}
			if t.BindIf != "" {
				if opErr = unix.BindToDevice(int(fd), t.BindIf); opErr != nil {
					return
				}
			}
			if t.FWMark != 0 {
				opErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, int(t.FWMark))
			}
		})
		if err != nil {
			return err
		}
		return opErr
	}
}
