package check

import (
	"context"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// dialer returns a dialer bound as the target asks: bindto/bind_port as the local
// address, bind_if as SO_BINDTODEVICE, fwmark as SO_MARK.
func dialer(t Target, network string) *net.Dialer {
	d := &net.Dialer{Control: socketOptions(t)}
	if t.Bind.Addr().IsValid() || t.Bind.Port() != 0 {
		addr := t.Bind.Addr()
		if !addr.IsValid() {
			addr = netip.IPv6Unspecified()
			if t.Addr.Addr().Unmap().Is4() {
				addr = netip.IPv4Unspecified()
			}
		}
		ap := netip.AddrPortFrom(addr, t.Bind.Port())
		switch network {
		case "udp":
			d.LocalAddr = net.UDPAddrFromAddrPort(ap)
		default:
			d.LocalAddr = net.TCPAddrFromAddrPort(ap)
		}
	}
	return d
}

// dial connects over TCP or UDP to t.Addr with t's binding options.
func dial(ctx context.Context, t Target, network string) (net.Conn, error) {
	return dialer(t, network).DialContext(ctx, network, t.Addr.String())
}

// socketOptions sets SO_BINDTODEVICE and SO_MARK before connect; nil when neither is asked.
func socketOptions(t Target) func(network, address string, c syscall.RawConn) error {
	if t.BindIf == "" && t.FWMark == 0 {
		return nil
	}
	return func(_, _ string, c syscall.RawConn) error {
		var opErr error
		err := c.Control(func(fd uintptr) {
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
