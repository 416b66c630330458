package proxy

import (
	"encoding/binary"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The relay's socket calls never block (every socket is non-blocking), so they go through
// RawSyscall: no scheduler hand-off per call, which on a busy loop otherwise costs more
// than the call itself (sysmon retakes the P of a "long" syscall, then futex wake-ups).
// Only epoll_wait, which does block, uses the ordinary path. These wrappers also skip
// x/sys's per-accept SO_PROTOCOL probe and the allocation of a Sockaddr per call.

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func sysRead(fd int, p []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return int(n), errnoErr(e)
}

func sysWrite(fd int, p []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return int(n), errnoErr(e)
}

// sysSend writes p with flags; MSG_NOSIGNAL makes a closed peer an EPIPE, not a signal.
func sysSend(fd int, p []byte, flags int) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)),
		uintptr(flags|unix.MSG_NOSIGNAL), 0, 0)
	return int(n), errnoErr(e)
}

// sysEpollWait is epoll_wait through RawSyscall, which blocks: only for a loop, which
// holds its thread and P on purpose (see serve).
func sysEpollWait(epfd int, events []unix.EpollEvent, msec int) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(unsafe.SliceData(events))),
		uintptr(len(events)), uintptr(msec), 0, 0)
	return int(n), errnoErr(e)
}

func sysClose(fd int) {
	_, _, _ = unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

func sysShutdownWrite(fd int) {
	_, _, _ = unix.RawSyscall(unix.SYS_SHUTDOWN, uintptr(fd), unix.SHUT_WR, 0)
}

func sysSetsockoptInt(fd, level, opt, value int) error {
	v := int32(value)
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&v)), 4, 0)
	return errnoErr(e)
}

// rawAddr is a socket address in the kernel's form, filled from or for a syscall.
type rawAddr struct {
	any unix.RawSockaddrAny
	len uint32
}

// set stores ap; IPv4 (and v4-mapped) addresses as AF_INET.
func (r *rawAddr) set(ap netip.AddrPort) {
	a := ap.Addr()
	if a.Is4() || a.Is4In6() {
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&r.any))
		*sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.Unmap().As4()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], ap.Port())
		r.len = unix.SizeofSockaddrInet4
		return
	}
	sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&r.any))
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.As16()}
	if z := a.Zone(); z != "" {
		if s, ok := sockaddr(ap).(*unix.SockaddrInet6); ok {
			sa.Scope_id = s.ZoneId
		}
	}
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], ap.Port())
	r.len = unix.SizeofSockaddrInet6
}

// addrPort decodes the address; anything but IPv4/IPv6 gives the zero value.
func (r *rawAddr) addrPort() netip.AddrPort {
	switch r.any.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&r.any))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port)
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&r.any))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}

func sysAccept(fd int, from *rawAddr) (int, error) {
	from.len = unix.SizeofSockaddrAny
	nfd, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(&from.any)),
		uintptr(unsafe.Pointer(&from.len)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	return int(nfd), errnoErr(e)
}

func sysSocket(family, sotype int) (int, error) {
	fd, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(family), uintptr(sotype|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC), 0)
	return int(fd), errnoErr(e)
}

func sysConnect(fd int, to *rawAddr) error {
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&to.any)), uintptr(to.len))
	return errnoErr(e)
}

func sysRecvfrom(fd int, p []byte, from *rawAddr) (int, error) {
	from.len = unix.SizeofSockaddrAny
	n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)),
		unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&from.any)), uintptr(unsafe.Pointer(&from.len)))
	return int(n), errnoErr(e)
}

func sysSendto(fd int, p []byte, to *rawAddr) error {
	_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)),
		unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&to.any)), uintptr(to.len))
	return errnoErr(e)
}

// tcpSegsIn reads tcpi_segs_in from TCP_INFO: the segments this socket received. Only
// the struct's prefix up to that field is copied (the kernel copies what is asked for).
func tcpSegsIn(fd int) (uint32, bool) {
	var info unix.TCPInfo
	size := uint32(unsafe.Offsetof(info.Segs_in) + unsafe.Sizeof(info.Segs_in))
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.IPPROTO_TCP, unix.TCP_INFO,
		uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0)
	return info.Segs_in, e == 0
}
