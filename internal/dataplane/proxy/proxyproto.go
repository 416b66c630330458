package proxy

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// proxyV2Signature starts every PROXY protocol v2 header.
var proxyV2Signature = []byte("\r\n\r\n\x00\r\nQUIT\n")

// appendProxyHeader appends a PROXY protocol header of version 1 or 2 for a TCP
// connection from src to dst (the address the client connected to), as HAProxy's
// specification (proxy-protocol.txt) defines it, so the real server can log the client.
// Mismatched families (which a proxy listening on one family cannot produce) and
// non-IP addresses get the "UNKNOWN" / LOCAL form, which carries no addresses.
func appendProxyHeader(b []byte, version int, src, dst netip.AddrPort) []byte {
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	known := s.IsValid() && d.IsValid() && s.Is4() == d.Is4()
	if version == 1 {
		if !known {
			return append(b, "PROXY UNKNOWN\r\n"...)
		}
		fam := "TCP6 "
		if s.Is4() {
			fam = "TCP4 "
		}
		b = append(b, "PROXY "...)
		b = append(b, fam...)
		b = s.WithZone("").AppendTo(b)
		b = append(b, ' ')
		b = d.WithZone("").AppendTo(b)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(src.Port()), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(dst.Port()), 10)
		return append(b, "\r\n"...)
	}
	b = append(b, proxyV2Signature...)
	if !known {
		// Version 2, command LOCAL, family UNSPEC, no address block.
		return append(b, 0x20, 0x00, 0, 0)
	}
	if s.Is4() {
		b = append(b, 0x21, 0x11) // version 2 + PROXY; AF_INET + STREAM
		b = binary.BigEndian.AppendUint16(b, 12)
		a4, d4 := s.As4(), d.As4()
		b = append(b, a4[:]...)
		b = append(b, d4[:]...)
	} else {
		b = append(b, 0x21, 0x21) // version 2 + PROXY; AF_INET6 + STREAM
		b = binary.BigEndian.AppendUint16(b, 36)
		a16, d16 := s.As16(), d.As16()
		b = append(b, a16[:]...)
		b = append(b, d16[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}
