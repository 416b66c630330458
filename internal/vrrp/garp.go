package vrrp

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// announcer sends gratuitous ARPs (IPv4) and unsolicited neighbour advertisements
// (IPv6) for an instance's addresses, so switches and neighbours learn the new master.
type announcer struct {
	ifindex int
	mac     net.HardwareAddr
	arpFD   int // AF_PACKET, send only
	naFD    int // ICMPv6 raw, send only
	arp     []byte
	bcast   unix.SockaddrLinklayer
	allNode unix.SockaddrInet6
}

var ethBroadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// openAnnouncer opens the sending sockets in the calling thread's namespace.
func openAnnouncer(ifindex int, mac net.HardwareAddr) (*announcer, error) {
	a := &announcer{ifindex: ifindex, mac: mac, arpFD: -1, naFD: -1}
	if len(mac) != 6 {
		// No Ethernet address (a tunnel, loopback): nothing to announce to.
		return a, nil
	}
	// Protocol 0: the socket never receives, it only sends what we build.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("packet socket for gratuitous ARP: %w", err)
	}
	a.arpFD = fd
	a.bcast = unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifindex, Halen: 6}
	copy(a.bcast.Addr[:], ethBroadcast[:])
	a.arp = make([]byte, 42)

	fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
	if err != nil {
		a.close()
		return nil, fmt.Errorf("ICMPv6 socket for neighbour advertisements: %w", err)
	}
	a.naFD = fd
	for _, o := range [][2]int{{unix.IPV6_MULTICAST_HOPS, 255}, {unix.IPV6_UNICAST_HOPS, 255}, {unix.IPV6_MULTICAST_IF, ifindex}, {unix.IPV6_MULTICAST_LOOP, 0}} {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, o[0], o[1]); err != nil {
			a.close()
			return nil, fmt.Errorf("ICMPv6 socket option %d: %w", o[0], err)
		}
	}
	a.allNode = unix.SockaddrInet6{Addr: [16]byte{0xff, 0x02, 15: 1}, ZoneId: uint32(ifindex)}
	return a, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// arpFrame builds keepalived's gratuitous ARP: a broadcast ARP *request* "who-has VIP
// tell VIP" with the target hardware address all ones (as the reference capture shows).
func arpFrame(b []byte, mac net.HardwareAddr, ip netip.Addr) []byte {
	b = b[:0]
	b = append(b, ethBroadcast[:]...)
	b = append(b, mac...)
	b = binary.BigEndian.AppendUint16(b, unix.ETH_P_ARP)
	b = append(b, 0, 1, 8, 0, 6, 4, 0, 1) // Ethernet, IPv4, lengths, request
	v := ip.As4()
	b = append(b, mac...)
	b = append(b, v[:]...)
	b = append(b, ethBroadcast[:]...)
	b = append(b, v[:]...)
	return b
}

// naMessage builds an unsolicited neighbour advertisement for target (RFC 4861 §7.2.6):
// Override set, Solicited clear, with the target link-layer address option. The kernel
// fills in the ICMPv6 checksum.
func naMessage(b []byte, mac net.HardwareAddr, target netip.Addr) []byte {
	b = b[:0]
	b = append(b, 136, 0, 0, 0, 0x20, 0, 0, 0) // type NA, code, checksum, flags (O)
	t := target.As16()
	b = append(b, t[:]...)
	b = append(b, 2, 1) // target link-layer address, 8 bytes
	return append(b, mac...)
}

// announce sends one GARP or NA per address; it returns the first error.
func (a *announcer) announce(addrs []netip.Addr) error {
	if len(a.mac) != 6 {
		return nil
	}
	var first error
	var na [32]byte
	for _, ip := range addrs {
		var err error
		if ip.Is4() {
			a.arp = arpFrame(a.arp, a.mac, ip)
			err = unix.Sendto(a.arpFD, a.arp, 0, &a.bcast)
		} else {
			msg := naMessage(na[:0], a.mac, ip)
			// The source must be the address itself; PKTINFO sets it per packet.
			pi := unix.Inet6Pktinfo{Addr: ip.As16(), Ifindex: uint32(a.ifindex)}
			oob := unix.PktInfo6(&pi)
			_, err = unix.SendmsgN(a.naFD, msg, oob, &a.allNode, 0)
		}
		if err != nil && first == nil {
			first = fmt.Errorf("announcing %v: %w", ip, err)
		}
	}
	return first
}

func (a *announcer) close() {
	if a.arpFD >= 0 {
		unix.Close(a.arpFD)
		a.arpFD = -1
	}
	if a.naFD >= 0 {
		unix.Close(a.naFD)
		a.naFD = -1
	}
}
