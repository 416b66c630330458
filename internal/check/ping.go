package check

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// pingChecker is PING_CHECK: one ICMP (or ICMPv6) echo request; the server is up when
// the matching echo reply arrives within connect_timeout. It uses an unprivileged ICMP
// datagram socket when net.ipv4.ping_group_range allows one, a raw socket otherwise.
type pingChecker struct{}

func init() { Register("PING_CHECK", Kind{New: newPing, Portless: true}) }

func newPing(Spec, Env) (Checker, error) { return pingChecker{}, nil }

func (pingChecker) Check(ctx context.Context, t Target) Result {
	dst := t.Addr.Addr()
	v6 := dst.Is6() && !dst.Is4In6()
	dst = dst.Unmap()
	if v6 {
		dst = t.Addr.Addr()
	}
	conn, dgram, err := listenICMP(ctx, t, v6)
	if err != nil {
		return Result{Err: err}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}

	var token [10]byte // id, seq and 6 bytes of payload to recognise our reply
	if _, err := rand.Read(token[:]); err != nil {
		return Result{Err: err}
	}
	id, seq := int(binary.BigEndian.Uint16(token[0:])), int(binary.BigEndian.Uint16(token[2:]))
	payload := append([]byte("govs"), token[4:]...)
	var reqType, replyType icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	proto := 1
	if v6 {
		reqType, replyType, proto = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58
	}
	msg := icmp.Message{Type: reqType, Body: &icmp.Echo{ID: id, Seq: seq, Data: payload}}
	// The kernel fills in the ICMPv6 checksum; Marshal computes the ICMPv4 one.
	wire, err := msg.Marshal(nil)
	if err != nil {
		return Result{Err: err}
	}
	var to net.Addr = &net.IPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	if dgram {
		to = &net.UDPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	}
	if _, err := conn.WriteTo(wire, to); err != nil {
		return Down("sending echo request: %w", err)
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return Down("no echo reply from %s: %w", dst, err)
		}
		if !sameAddr(from, dst) {
			continue
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != replyType {
			continue
		}
		echo, ok := m.Body.(*icmp.Echo)
		// A datagram socket's kernel rewrites the id to its own and filters replies by it.
		if !ok || echo.Seq != seq || (!dgram && echo.ID != id) || !bytes.Equal(echo.Data, payload) {
			continue
		}
		return Up()
	}
}

func sameAddr(a net.Addr, want netip.Addr) bool {
	var ip net.IP
	switch a := a.(type) {
	case *net.IPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	default:
		return false
	}
	got, ok := netip.AddrFromSlice(ip)
	return ok && got.Unmap() == want.WithZone("").Unmap()
}

// listenICMP opens an ICMP socket: a datagram ("ping") socket when the kernel lets this
// user have one, else a raw socket (needs CAP_NET_RAW). dgram reports which.
func listenICMP(ctx context.Context, t Target, v6 bool) (net.PacketConn, bool, error) {
	c, err := listenICMPDgram(t, v6)
	if err == nil {
		return c, true, nil
	}
	if !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EPROTONOSUPPORT) {
		return nil, false, err
	}
	network, bind := "ip4:icmp", "0.0.0.0"
	if v6 {
		network, bind = "ip6:ipv6-icmp", "::"
	}
	if t.Bind.Addr().IsValid() {
		bind = t.Bind.Addr().String()
	}
	lc := net.ListenConfig{Control: socketOptions(t, false)}
	rc, rerr := lc.ListenPacket(ctx, network, bind)
	if rerr != nil {
		return nil, false, fmt.Errorf("no ICMP socket: datagram: %v; raw: %w", err, rerr)
	}
	return rc, false, nil
}

func listenICMPDgram(t Target, v6 bool) (net.PacketConn, error) {
	family, proto := unix.AF_INET, unix.IPPROTO_ICMP
	if v6 {
		family, proto = unix.AF_INET6, unix.IPPROTO_ICMPV6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, proto)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "icmp")
	defer f.Close() // FilePacketConn holds its own duplicate
	if t.BindIf != "" {
		if err := unix.BindToDevice(fd, t.BindIf); err != nil {
			return nil, fmt.Errorf("bind_if %s: %w", t.BindIf, err)
		}
	}
	if t.FWMark != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(t.FWMark)); err != nil {
			return nil, fmt.Errorf("fwmark %d: %w", t.FWMark, err)
		}
	}
	if a := t.Bind.Addr(); a.IsValid() {
		var sa unix.Sockaddr
		if v6 {
			sa = &unix.SockaddrInet6{Addr: a.As16()}
		} else {
			sa = &unix.SockaddrInet4{Addr: a.Unmap().As4()}
		}
		if err := unix.Bind(fd, sa); err != nil {
			return nil, fmt.Errorf("bindto %s: %w", a, err)
		}
	}
	return net.FilePacketConn(f)
}

var _ Checker = pingChecker{}
