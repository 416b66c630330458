package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// Wire constants shared by both protocol versions.
const (
	// IPProtocol is the IP protocol number of VRRP (RFC 5798 §5.1.1.4).
	IPProtocol = 112
	// TTL is the only IPv4 TTL / IPv6 hop limit a multicast advert may carry (RFC 5798
	// §5.1.1.3); anything else may have crossed a router and is dropped.
	TTL = 255
	// IPv4 TOS byte keepalived sends (DSCP CS6, network control).
	TOS = 0xc0

	headerLen   = 8 // version/type, VRID, priority, count, auth/rsvd+interval, checksum
	authDataLen = 8 // VRRPv2 trailing authentication data
	typeAdvert  = 1
	// maxAddrs bounds the address count byte; it is also what keepalived allows.
	maxAddrs = 255
	// maxV3Interval is the largest interval VRRPv3's 12-bit field can carry (40.95 s).
	maxV3Interval = 4095 * 10 * time.Millisecond
)

// Multicast groups adverts are sent to when no unicast peers are configured.
var (
	MulticastGroup4 = netip.MustParseAddr("224.0.0.18")
	MulticastGroup6 = netip.MustParseAddr("ff02::12")
)

// AuthType is VRRPv2's authentication type byte (RFC 2338 §5.3.6).
type AuthType uint8

// Authentication types. VRRPv3 has none.
const (
	AuthNone AuthType = 0
	AuthPass AuthType = 1
	// AuthAH is IPsec AH (HMAC-MD5-96) as keepalived does it: the advert travels as IP
	// protocol 51 behind an AH header (ah.go) and carries auth type 2.
	AuthAH AuthType = 2
)

func (a AuthType) String() string {
	switch a {
	case AuthNone:
		return "none"
	case AuthPass:
		return "PASS"
	case AuthAH:
		return "AH"
	}
	return fmt.Sprintf("auth(%d)", uint8(a))
}

// Advert is one VRRP advertisement, version 2 or 3, IPv4 or IPv6.
type Advert struct {
	// Version is 2 (RFC 3768, IPv4 only) or 3 (RFC 5798).
	Version uint8
	// VRID is the virtual router id, 1..255.
	VRID uint8
	// Priority is the sender's priority; 0 means the master is giving up, 255 the owner.
	Priority uint8
	// AuthType and AuthData are VRRPv2's authentication; for PASS AuthData is the
	// password, zero padded to 8 bytes. Ignored for version 3.
	AuthType AuthType
	AuthData [authDataLen]byte
	// Interval is the advertisement interval: whole seconds on the v2 wire, centiseconds
	// on the v3 wire (encoding truncates to that resolution).
	Interval time.Duration
	// Checksum is the checksum as read by Unmarshal or written by Append.
	Checksum uint16
	// Addrs are the virtual addresses, all of the packet's address family.
	Addrs []netip.Addr
}

// Reason classifies why a received packet was dropped; the node counts drops per reason.
type Reason uint8

// Drop reasons, in the order keepalived checks a received advert.
const (
	ReasonNone        Reason = iota
	ReasonTooShort           // shorter than the header, or than its address count needs
	ReasonVersion            // version nibble not 2/3, or not the instance's version
	ReasonType               // type nibble is not ADVERTISEMENT
	ReasonLength             // bytes left over after the addresses and auth data
	ReasonChecksum           // checksum mismatch
	ReasonFamily             // v2 over IPv6, or source/destination families differ
	ReasonTTL                // multicast advert whose TTL / hop limit is not 255
	ReasonAuth               // v2 auth type or password differ from ours
	ReasonInterval           // v2 advert interval differs from ours
	ReasonAddrCount          // address count differs from our VIP count
	ReasonAddrs              // the advertised addresses are not our VIPs
	ReasonDestination        // multicast advert to a unicast instance or the reverse
	ReasonPeer               // unicast source that is not a configured peer
	ReasonVRID               // VRID 0; adverts for other VRIDs are not counted as bad
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:        "none",
	ReasonTooShort:    "too_short",
	ReasonVersion:     "version",
	ReasonType:        "type",
	ReasonLength:      "length",
	ReasonChecksum:    "checksum",
	ReasonFamily:      "family",
	ReasonTTL:         "ttl",
	ReasonAuth:        "auth",
	ReasonInterval:    "interval",
	ReasonAddrCount:   "address_count",
	ReasonAddrs:       "addresses",
	ReasonDestination: "destination",
	ReasonPeer:        "peer",
	ReasonVRID:        "vrid",
}

// String is the reason's metric label.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Reasons lists every drop reason, for metrics and status output.
func Reasons() []Reason {
	rs := make([]Reason, 0, numReasons-1)
	for r := ReasonNone + 1; r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// PacketError is a malformed or unacceptable advert: why it was dropped and the field
// (with its byte offset in the VRRP message, -1 when it is about the IP header) at fault.
type PacketError struct {
	Reason Reason
	Field  string
	Offset int
	Detail string
}

func (e *PacketError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("vrrp: bad %s at byte %d: %s", e.Field, e.Offset, e.Detail)
	}
	return fmt.Sprintf("vrrp: bad %s: %s", e.Field, e.Detail)
}

func packetErr(r Reason, field string, off int, format string, args ...any) *PacketError {
	return &PacketError{Reason: r, Field: field, Offset: off, Detail: fmt.Sprintf(format, args...)}
}

// Unmarshal decodes b, the VRRP message without its IP header, received from src for
// dst (needed for the VRRPv3 pseudo-header checksum). It checks the version, type,
// length against the address count, and the checksum, and reuses a.Addrs' storage.
// Errors are *PacketError.
func (a *Advert) Unmarshal(b []byte, src, dst netip.Addr) error {
	if len(b) < headerLen {
		return packetErr(ReasonTooShort, "length", 0, "%d bytes, a VRRP header needs %d", len(b), headerLen)
	}
	if src.Is4() != dst.Is4() || !src.IsValid() || !dst.IsValid() {
		return packetErr(ReasonFamily, "address family", -1, "source %v and destination %v", src, dst)
	}
	ver, typ := b[0]>>4, b[0]&0x0f
	if ver != 2 && ver != 3 {
		return packetErr(ReasonVersion, "version", 0, "%d, want 2 or 3", ver)
	}
	if typ != typeAdvert {
		return packetErr(ReasonType, "type", 0, "%d, want 1 (ADVERTISEMENT)", typ)
	}
	if ver == 2 && !src.Is4() {
		return packetErr(ReasonFamily, "version", 0, "VRRPv2 over IPv6")
	}
	count := int(b[3])
	alen := 4
	if !src.Is4() {
		alen = 16
	}
	want := headerLen + count*alen
	if ver == 2 {
		want += authDataLen
	}
	if len(b) < want {
		return packetErr(ReasonTooShort, "length", len(b), "%d bytes, %d addresses need %d", len(b), count, want)
	}
	if len(b) > want {
		return packetErr(ReasonLength, "length", want, "%d bytes, %d addresses need exactly %d", len(b), count, want)
	}
	a.Version, a.VRID, a.Priority = ver, b[1], b[2]
	a.Checksum = binary.BigEndian.Uint16(b[6:])
	if ver == 2 {
		a.AuthType = AuthType(b[4])
		a.Interval = time.Duration(b[5]) * time.Second
		copy(a.AuthData[:], b[want-authDataLen:])
		if sum := checksum(0, b); sum != 0 {
			return packetErr(ReasonChecksum, "checksum", 6, "0x%04x does not verify", a.Checksum)
		}
	} else {
		a.AuthType, a.AuthData = AuthNone, [authDataLen]byte{}
		a.Interval = time.Duration(binary.BigEndian.Uint16(b[4:])&0x0fff) * 10 * time.Millisecond
		if sum := checksum(pseudoHeaderSum(src, dst, len(b)), b); sum != 0 {
			return packetErr(ReasonChecksum, "checksum", 6, "0x%04x does not verify with the %v→%v pseudo-header", a.Checksum, src, dst)
		}
	}
	a.Addrs = a.Addrs[:0]
	for i := range count {
		off := headerLen + i*alen
		if alen == 4 {
			a.Addrs = append(a.Addrs, netip.AddrFrom4([4]byte(b[off:off+4])))
		} else {
			a.Addrs = append(a.Addrs, netip.AddrFrom16([16]byte(b[off:off+16])))
		}
	}
	return nil
}

// Len is the encoded length of a.
func (a *Advert) Len() int {
	alen := 4
	if len(a.Addrs) > 0 && !a.Addrs[0].Is4() {
		alen = 16
	}
	n := headerLen + len(a.Addrs)*alen
	if a.Version == 2 {
		n += authDataLen
	}
	return n
}

// Append encodes a for src → dst (the addresses of the IP header that will carry it),
// computes its checksum, stores it in a.Checksum and appends the message to b. It does
// not allocate when b has room.
func (a *Advert) Append(b []byte, src, dst netip.Addr) ([]byte, error) {
	if a.Version != 2 && a.Version != 3 {
		return b, fmt.Errorf("vrrp: version %d, want 2 or 3", a.Version)
	}
	if len(a.Addrs) > maxAddrs {
		return b, fmt.Errorf("vrrp: %d addresses, at most %d fit an advert", len(a.Addrs), maxAddrs)
	}
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return b, fmt.Errorf("vrrp: source %v and destination %v must be of one family", src, dst)
	}
	if a.Version == 2 && !src.Is4() {
		return b, fmt.Errorf("vrrp: VRRPv2 is IPv4 only")
	}
	for i, ip := range a.Addrs {
		if ip.Is4() != src.Is4() {
			return b, fmt.Errorf("vrrp: address %d (%v) is not of the advert's family", i, ip)
		}
	}
	start := len(b)
	var word uint16
	if a.Version == 2 {
		secs := a.Interval / time.Second
		if secs < 1 || secs > 255 {
			return b, fmt.Errorf("vrrp: v2 advert interval %v outside 1..255 s", a.Interval)
		}
		word = uint16(a.AuthType)<<8 | uint16(secs)
	} else {
		cs := a.Interval / (10 * time.Millisecond)
		if cs < 1 || a.Interval > maxV3Interval {
			return b, fmt.Errorf("vrrp: v3 advert interval %v outside 0.01..40.95 s", a.Interval)
		}
		word = uint16(cs)
	}
	b = append(b, a.Version<<4|typeAdvert, a.VRID, a.Priority, uint8(len(a.Addrs)), byte(word>>8), byte(word), 0, 0)
	for _, ip := range a.Addrs {
		if ip.Is4() {
			v := ip.As4()
			b = append(b, v[:]...)
		} else {
			v := ip.As16()
			b = append(b, v[:]...)
		}
	}
	var sum uint32
	if a.Version == 2 {
		b = append(b, a.AuthData[:]...)
	} else {
		sum = pseudoHeaderSum(src, dst, len(b)-start)
	}
	a.Checksum = checksum(sum, b[start:])
	binary.BigEndian.PutUint16(b[start+6:], a.Checksum)
	return b, nil
}

// pseudoHeaderSum is the unfolded one's-complement sum of the IPv4 (RFC 768 style) or
// IPv6 (RFC 8200 §8.1) pseudo-header VRRPv3 checksums cover. keepalived applies it to
// IPv4 as well, and so does govs, so both interoperate.
func pseudoHeaderSum(src, dst netip.Addr, length int) uint32 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
	}
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		add(s[:])
		add(d[:])
	} else {
		s, d := src.As16(), dst.As16()
		add(s[:])
		add(d[:])
		sum += uint32(length) >> 16
	}
	return sum + IPProtocol + uint32(length)&0xffff
}

// checksum folds the Internet checksum (RFC 1071) of b onto the partial sum and returns
// its complement: 0 when b already carries a correct checksum.
func checksum(sum uint32, b []byte) uint16 {
	n := len(b)
	for i := 0; i+1 < n; i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if n%2 == 1 {
		sum += uint32(b[n-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
