package proxy

import (
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// sockaddr converts an address to the form the socket calls take.
func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	a := ap.Addr()
	if a.Is4() || a.Is4In6() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.Unmap().As4()}
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	if z := a.Zone(); z != "" {
		if ifi, err := net.InterfaceByName(z); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		}
	}
	return sa
}

// addrPort converts a socket address back; unknown kinds give the zero value.
func addrPort(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port))
	}
	return netip.AddrPort{}
}

func family(a netip.Addr) int {
	if a.Is4() || a.Is4In6() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// sockopt is one boolean socket option to switch on.
type sockopt struct {
	level, opt int
	name       string
}

// listenSocket opens a non-blocking socket bound to addr for one loop. SO_REUSEPORT lets
// every loop have its own socket on the same address, so the kernel spreads new
// connections and flows over the loops; IP_FREEBIND lets it bind a VIP that VRRP has not
// added yet (the backup director listens ahead of a failover).
func listenSocket(addr netip.AddrPort, sotype int) (int, error) {
	fam := family(addr.Addr())
	fd, err := unix.Socket(fam, sotype|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	opts := []sockopt{
		{unix.SOL_SOCKET, unix.SO_REUSEADDR, "SO_REUSEADDR"},
		{unix.SOL_SOCKET, unix.SO_REUSEPORT, "SO_REUSEPORT"},
	}
	if sotype == unix.SOCK_STREAM {
		// Accepted sockets inherit it, which saves a setsockopt per connection: small
		// writes (request/response protocols) go out at once, as the client sent them.
		opts = append(opts, sockopt{unix.IPPROTO_TCP, unix.TCP_NODELAY, "TCP_NODELAY"})
	}
	if fam == unix.AF_INET {
		opts = append(opts, sockopt{unix.SOL_IP, unix.IP_FREEBIND, "IP_FREEBIND"})
	} else {
		opts = append(opts,
			sockopt{unix.SOL_IPV6, unix.IPV6_FREEBIND, "IPV6_FREEBIND"},
			// A v6 VIP of [::] must not also take the v4 address space.
			sockopt{unix.SOL_IPV6, unix.IPV6_V6ONLY, "IPV6_V6ONLY"})
	}
	for _, o := range opts {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, 1); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("setsockopt %s: %w", o.name, err)
		}
	}
	if err := unix.Bind(fd, sockaddr(addr)); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind %s: %w", addr, err)
	}
	if sotype == unix.SOCK_STREAM {
		if err := unix.Listen(fd, listenBacklog); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("listen %s: %w", addr, err)
		}
	}
	return fd, nil
}

// listenBacklog is the accept queue length asked for; the kernel caps it at somaxconn.
const listenBacklog = 4096

// connectTCP starts a non-blocking connection to addr. done reports that it completed
// at once; otherwise completion shows as writability.
func connectTCP(addr *rawAddr, fam int) (fd int, done bool, err error) {
	fd, err = sysSocket(fam, unix.SOCK_STREAM)
	if err != nil {
		return -1, false, fmt.Errorf("socket: %w", err)
	}
	// As on the client side (inherited from the listener there): relay small writes at once.
	_ = sysSetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	err = sysConnect(fd, addr)
	switch err {
	case nil:
		return fd, true, nil
	case unix.EINPROGRESS:
		return fd, false, nil
	}
	sysClose(fd)
	return -1, false, err
}

// connectUDP opens a non-blocking UDP socket connected to addr, so replies from that
// real server (and only from it) arrive on it.
func connectUDP(addr *rawAddr, fam int) (int, error) {
	fd, err := sysSocket(fam, unix.SOCK_DGRAM)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	if err := sysConnect(fd, addr); err != nil {
		sysClose(fd)
		return -1, err
	}
	return fd, nil
}

// resetClose closes fd with an RST instead of a FIN (SO_LINGER 0), to pass an abort on.
func resetClose(fd int) {
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
}
