package vrrp

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// garpTarget is one address to announce and the device it lives on: keepalived sends
// an address's gratuitous ARP / NA on that address's own device (`dev OTHER`, the
// VMAC), with that device's hardware address, not on the instance's interface.
type garpTarget struct {
	addr    netip.Addr
	ifindex int
	dev     string // the device the address is on
	mac     net.HardwareAddr
	// base is the interface whose schedule paces the target: its device, or a VMAC's
	// base interface.
	base   string
	parent int // a VMAC's base interface index, to resolve base
	pace   garpPace
}

// paceKey names one pacing schedule: an interface's or a garp_group's, for GARPs or
// for NAs (each has its own).
type paceKey struct {
	sched string
	na    bool
}

// garpPace is a packet's schedule and the rest it owes it after being sent.
type garpPace struct {
	key   paceKey
	pause time.Duration
}

// garpPacer is a node's pacing schedules, shared by all its instances and kept across
// reloads: when each schedule may send next.
type garpPacer struct {
	mu   sync.Mutex
	next map[paceKey]time.Time
}

// take reports whether a packet with pace p may go at now, and books the pause after
// it if so; otherwise it says when the schedule is free.
func (g *garpPacer) take(p garpPace, now time.Time) (time.Time, bool) {
	if p.pause <= 0 {
		return now, true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if at := g.next[p.key]; now.Before(at) {
		return at, false
	}
	if g.next == nil {
		g.next = map[paceKey]time.Time{}
	}
	g.next[p.key] = now.Add(p.pause)
	return now, true
}

// announcer sends gratuitous ARPs (IPv4) and unsolicited neighbour advertisements
// (IPv6) for an instance's addresses, so switches and neighbours learn the new master.
type announcer struct {
	targets []garpTarget
	arpFD   int // AF_PACKET, send only; -1 when no IPv4 target has an Ethernet address
	naFD    int // ICMPv6 raw, send only; -1 when no IPv6 target has one
	arp     []byte
}

var ethBroadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// openAnnouncer opens the sending sockets in the calling thread's namespace. Targets
// on a device without an Ethernet address (a tunnel, loopback) are skipped: there is
// nobody to tell.
func openAnnouncer(targets []garpTarget) (*announcer, error) {
	a := &announcer{arpFD: -1, naFD: -1}
	var v4, v6 bool
	for _, t := range targets {
		if len(t.mac) != 6 {
			continue
		}
		a.targets = append(a.targets, t)
		v4 = v4 || t.addr.Is4()
		v6 = v6 || t.addr.Is6()
	}
	if v4 {
		// Protocol 0: the socket never receives, it only sends what we build.
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("packet socket for gratuitous ARP: %w", err)
		}
		a.arpFD = fd
		a.arp = make([]byte, 0, 42)
	}
	if v6 {
		fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
		if err != nil {
			a.close()
			return nil, fmt.Errorf("ICMPv6 socket for neighbour advertisements: %w", err)
		}
		a.naFD = fd
		// The outgoing device is chosen per packet (IPV6_PKTINFO), so one socket serves
		// every device.
		for _, o := range [][2]int{{unix.IPV6_MULTICAST_HOPS, 255}, {unix.IPV6_UNICAST_HOPS, 255}, {unix.IPV6_MULTICAST_LOOP, 0}} {
			if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, o[0], o[1]); err != nil {
				a.close()
				return nil, fmt.Errorf("ICMPv6 socket option %d: %w", o[0], err)
			}
		}
	}
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

// garpSender sends an instance's gratuitous ARPs and NAs one target at a time, so
// that the pacing schedules can space them.
type garpSender interface {
	targetCount() int
	pacing(k int) garpPace
	// announceTarget sends target k's GARP (IPv4) or NA (IPv6).
	announceTarget(k int) error
	close()
}

func (a *announcer) targetCount() int      { return len(a.targets) }
func (a *announcer) pacing(k int) garpPace { return a.targets[k].pace }

func (a *announcer) announceTarget(k int) error {
	t := a.targets[k]
	var err error
	if t.addr.Is4() {
		a.arp = arpFrame(a.arp, t.mac, t.addr)
		to := unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: t.ifindex, Halen: 6}
		copy(to.Addr[:], ethBroadcast[:])
		err = unix.Sendto(a.arpFD, a.arp, 0, &to)
	} else {
		var na [32]byte
		msg := naMessage(na[:0], t.mac, t.addr)
		// The source must be the address itself and the device the target's;
		// PKTINFO sets both per packet.
		pi := unix.Inet6Pktinfo{Addr: t.addr.As16(), Ifindex: uint32(t.ifindex)}
		allNodes := unix.SockaddrInet6{Addr: [16]byte{0xff, 0x02, 15: 1}, ZoneId: uint32(t.ifindex)}
		_, err = unix.SendmsgN(a.naFD, msg, unix.PktInfo6(&pi), &allNodes, 0)
	}
	if err != nil {
		err = fmt.Errorf("announcing %v on ifindex %d: %w", t.addr, t.ifindex, err)
	}
	return err
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
