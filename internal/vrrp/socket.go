package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// advertSocket sends and receives adverts of one instance on one interface. Receiving
// and sending use two raw sockets, as keepalived does: the receiving one must not be
// bound to an address (it would then see nothing sent to the multicast group), the
// sending one is bound to the source address so the kernel writes it in the header.
type advertSocket struct {
	v6      bool
	ifindex int
	rx      *os.File // pollable, so Close wakes a blocked read
	rxRaw   syscall.RawConn
	tx      int
	// dsts are the destinations of each advert: the group, or every unicast peer.
	dsts []unix.Sockaddr
}

// rxMeta is what the IP layer tells about a received advert.
type rxMeta struct {
	src, dst netip.Addr
	ttl      uint8
	// header is the IPv4 header as received (inside the read buffer), for the AH ICV.
	header []byte
}

// openAdvertSocket opens the instance's sockets in the calling thread's namespace:
// adverts are received on ifindex and sent on txIndex (they differ only for a VMAC with
// vmac_xmit_base). With ah, both use IP protocol 51 and the sender writes its own IPv4
// header (IP_HDRINCL), which the AH ICV covers. rxBuf, when positive, is the
// receiving socket's SO_RCVBUF.
func openAdvertSocket(ifindex, txIndex int, src netip.Addr, group netip.Addr, peers []netip.Addr, ah bool, unicastTTL, rxBuf int) (_ *advertSocket, err error) {
	proto := IPProtocol
	if ah {
		proto = ipProtoAH
	}
	s := &advertSocket{v6: src.Is6(), ifindex: ifindex, tx: -1}
	family := unix.AF_INET
	if s.v6 {
		family = unix.AF_INET6
	}
	closeOnErr := func(fd int) {
		if err != nil {
			unix.Close(fd)
		}
	}
	rx, err := unix.Socket(family, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, fmt.Errorf("raw socket for IP protocol %d: %w", proto, err)
	}
	defer closeOnErr(rx)
	if err := unix.SetsockoptInt(rx, unix.SOL_SOCKET, unix.SO_BINDTOIFINDEX, ifindex); err != nil {
		return nil, fmt.Errorf("SO_BINDTOIFINDEX %d: %w", ifindex, err)
	}
	if rxBuf > 0 {
		// As keepalived: SO_RCVBUF, so net.core.rmem_max caps it.
		if err := unix.SetsockoptInt(rx, unix.SOL_SOCKET, unix.SO_RCVBUF, rxBuf); err != nil {
			return nil, fmt.Errorf("SO_RCVBUF %d: %w", rxBuf, err)
		}
	}
	if s.v6 {
		if err := unix.SetsockoptInt(rx, unix.IPPROTO_IPV6, unix.IPV6_RECVHOPLIMIT, 1); err != nil {
			return nil, fmt.Errorf("IPV6_RECVHOPLIMIT: %w", err)
		}
		if err := unix.SetsockoptInt(rx, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1); err != nil {
			return nil, fmt.Errorf("IPV6_RECVPKTINFO: %w", err)
		}
	}
	if len(peers) == 0 {
		if s.v6 {
			mreq := &unix.IPv6Mreq{Multiaddr: group.As16(), Interface: uint32(ifindex)}
			err = unix.SetsockoptIPv6Mreq(rx, unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP, mreq)
		} else {
			mreq := &unix.IPMreqn{Multiaddr: group.As4(), Ifindex: int32(ifindex)}
			err = unix.SetsockoptIPMreqn(rx, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreq)
		}
		if err != nil {
			return nil, fmt.Errorf("joining %v on ifindex %d: %w", group, ifindex, err)
		}
	}

	tx, err := unix.Socket(family, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, fmt.Errorf("raw socket for IP protocol %d: %w", proto, err)
	}
	defer closeOnErr(tx)
	if ah {
		if err := unix.SetsockoptInt(tx, unix.IPPROTO_IP, unix.IP_HDRINCL, 1); err != nil {
			return nil, fmt.Errorf("IP_HDRINCL: %w", err)
		}
	}
	if err := setupTx(tx, s.v6, txIndex, src, unicastTTL); err != nil {
		return nil, err
	}
	dsts := peers
	if len(dsts) == 0 {
		dsts = []netip.Addr{group}
	}
	for _, d := range dsts {
		s.dsts = append(s.dsts, sockaddr(d, txIndex))
	}
	s.rx = os.NewFile(uintptr(rx), fmt.Sprintf("vrrp-rx-%d", ifindex))
	if s.rxRaw, err = s.rx.SyscallConn(); err != nil {
		s.rx.Close()
		return nil, err
	}
	s.tx = tx
	return s, nil
}

// setupTx prepares the sending socket; unicastTTL is the TTL / hop limit of unicast
// adverts (multicast ones always carry 255).
func setupTx(fd int, v6 bool, ifindex int, src netip.Addr, unicastTTL int) error {
	// The sending socket never reads: a filter that accepts nothing keeps unicast adverts
	// addressed to us from piling up in its queue.
	drop := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: 1, Filter: &drop[0]}); err != nil {
		return fmt.Errorf("SO_ATTACH_FILTER: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BINDTOIFINDEX, ifindex); err != nil {
		return fmt.Errorf("SO_BINDTOIFINDEX %d: %w", ifindex, err)
	}
	type opt struct {
		level, name, value int
		what               string
	}
	opts := []opt{
		{unix.IPPROTO_IP, unix.IP_TOS, TOS, "IP_TOS"},
		{unix.IPPROTO_IP, unix.IP_TTL, unicastTTL, "IP_TTL"},
		{unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, TTL, "IP_MULTICAST_TTL"},
		{unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP"},
	}
	if v6 {
		opts = []opt{
			{unix.IPPROTO_IPV6, unix.IPV6_TCLASS, TOS, "IPV6_TCLASS"},
			{unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, unicastTTL, "IPV6_UNICAST_HOPS"},
			{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, TTL, "IPV6_MULTICAST_HOPS"},
			{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP"},
			{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, ifindex, "IPV6_MULTICAST_IF"},
		}
	}
	for _, o := range opts {
		if err := unix.SetsockoptInt(fd, o.level, o.name, o.value); err != nil {
			return fmt.Errorf("%s: %w", o.what, err)
		}
	}
	if !v6 {
		if err := unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(ifindex)}); err != nil {
			return fmt.Errorf("IP_MULTICAST_IF: %w", err)
		}
	}
	if err := unix.Bind(fd, sockaddr(src, ifindex)); err != nil {
		return fmt.Errorf("binding the source address %v: %w", src, err)
	}
	return nil
}

func sockaddr(a netip.Addr, ifindex int) unix.Sockaddr {
	if a.Is4() {
		return &unix.SockaddrInet4{Addr: a.As4()}
	}
	sa := &unix.SockaddrInet6{Addr: a.As16()}
	if a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() {
		sa.ZoneId = uint32(ifindex)
	}
	return sa
}

// errClosed is returned by read once the socket was closed.
var errClosed = errors.New("vrrp socket closed")

// read blocks for the next packet and returns its VRRP message (inside buf) and what
// the IP layer says about it. The caller ensures len(buf) ≥ 64 KiB and len(oob) ≥ 128.
func (s *advertSocket) read(buf, oob []byte) ([]byte, rxMeta, error) {
	var n, oobn int
	var from unix.Sockaddr
	var rerr error
	err := s.rxRaw.Read(func(fd uintptr) bool {
		n, oobn, _, from, rerr = unix.Recvmsg(int(fd), buf, oob, 0)
		return rerr != unix.EAGAIN
	})
	if err != nil {
		return nil, rxMeta{}, errClosed
	}
	if rerr != nil {
		return nil, rxMeta{}, rerr
	}
	if !s.v6 {
		return parseIPv4(buf[:n])
	}
	var meta rxMeta
	if sa, ok := from.(*unix.SockaddrInet6); ok {
		meta.src = netip.AddrFrom16(sa.Addr)
	}
	parseIPv6Control(oob[:oobn], &meta)
	return buf[:n], meta, nil
}

// parseIPv4 splits a packet read from a raw IPv4 socket (which includes the header).
func parseIPv4(p []byte) ([]byte, rxMeta, error) {
	if len(p) < 20 || p[0]>>4 != 4 {
		return nil, rxMeta{}, packetErr(ReasonTooShort, "IPv4 header", -1, "%d bytes", len(p))
	}
	ihl := int(p[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(p[2:]))
	// Raw sockets hand over the datagram as received; the header's total length must
	// agree with what arrived (keepalived's "IP total length" check).
	if ihl < 20 || total < ihl || total > len(p) {
		return nil, rxMeta{}, packetErr(ReasonLength, "IPv4 total length", -1, "header %d, total %d, received %d", ihl, total, len(p))
	}
	meta := rxMeta{
		src:    netip.AddrFrom4([4]byte(p[12:16])),
		dst:    netip.AddrFrom4([4]byte(p[16:20])),
		ttl:    p[8],
		header: p[:ihl],
	}
	return p[ihl:total], meta, nil
}

// parseIPv6Control reads the hop limit and destination from recvmsg's control data.
func parseIPv6Control(oob []byte, meta *rxMeta) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return
	}
	for _, m := range msgs {
		if m.Header.Level != unix.IPPROTO_IPV6 {
			continue
		}
		switch {
		case m.Header.Type == unix.IPV6_HOPLIMIT && len(m.Data) >= 4:
			meta.ttl = uint8(binary.NativeEndian.Uint32(m.Data))
		case m.Header.Type == unix.IPV6_PKTINFO && len(m.Data) >= 16:
			meta.dst = netip.AddrFrom16([16]byte(m.Data[:16]))
		}
	}
}

func (s *advertSocket) close() {
	if s.rx != nil {
		s.rx.Close()
	}
	if s.tx >= 0 {
		unix.Close(s.tx)
		s.tx = -1
	}
}
