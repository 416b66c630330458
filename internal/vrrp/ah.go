package vrrp

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"net/netip"
)

// VRRPv2 "auth_type AH" as keepalived 2.2.7 implements it (vrrp.c, vrrp_ipsecah.c): an
// IPsec AH header (RFC 2402) between the IPv4 header and the advert, without any IPsec
// security association. The SPI is the sender's address; the ICV is HMAC-MD5 keyed with
// auth_pass (zero padded to 8 bytes), truncated to 96 bits, over the IPv4 header with
// TOS, fragment offset and checksum zeroed (and the TTL too for unicast adverts), the AH
// header with a zero ICV, and the advert. The sequence number is one counter per
// instance: a sender increments it for each advert, a receiver drops an advert whose
// number is not above it and otherwise takes the advert's number, so that whoever
// becomes master next carries on above everything its peers have seen.
const (
	// ipProtoAH is IP protocol 51, IPsec Authentication Header.
	ipProtoAH = 51
	// ahHeaderLen: next header, payload length, reserved, SPI, sequence number and the
	// 96-bit ICV.
	ahHeaderLen = 24
	// ahPayloadLen is the AH length in 32-bit words minus 2 (keepalived's IPSEC_AH_PLEN).
	ahPayloadLen  = 4
	ahICVLen      = 12
	ipv4HeaderLen = 20
)

// ahKey is an instance's AH key: auth_pass as keepalived stores it, 8 bytes zero padded.
type ahKey [authDataLen]byte

// icv computes the AH integrity check value of header ‖ ah ‖ advert, with the mutable
// fields zeroed as keepalived does. ah's ICV bytes are taken as zero; neither slice is
// modified.
func (k *ahKey) icv(header, ah, advert []byte, unicast bool) [ahICVLen]byte {
	var h [60]byte // the largest IPv4 header
	n := copy(h[:], header)
	h[1] = 0          // TOS
	h[6], h[7] = 0, 0 // flags and fragment offset
	h[10], h[11] = 0, 0
	if unicast {
		h[8] = 0 // TTL: a unicast advert may cross routers
	}
	var a [ahHeaderLen]byte
	copy(a[:12], ah)
	mac := hmac.New(md5.New, k[:])
	mac.Write(h[:n])
	mac.Write(a[:])
	mac.Write(advert)
	var out [ahICVLen]byte
	copy(out[:], mac.Sum(nil))
	return out
}

// appendAHPacket appends a complete IPv4 packet for a raw IP_HDRINCL socket: IPv4
// header (TOS network control, TTL 255 — unicast_ttl for a unicast advert —, protocol
// AH), AH header and advert. The kernel only fills in the header checksum, which the
// ICV does not cover.
func (k *ahKey) appendAHPacket(b []byte, id uint16, seq uint32, src, dst netip.Addr, unicast bool, unicastTTL uint8, advert []byte) []byte {
	start := len(b)
	total := ipv4HeaderLen + ahHeaderLen + len(advert)
	s, d := src.As4(), dst.As4()
	b = append(b, 0x45, TOS)
	b = binary.BigEndian.AppendUint16(b, uint16(total))
	b = binary.BigEndian.AppendUint16(b, id)
	ttl := uint8(TTL)
	if unicast {
		ttl = unicastTTL
	}
	b = append(b, 0, 0, ttl, ipProtoAH, 0, 0)
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	b = append(b, IPProtocol, ahPayloadLen, 0, 0)
	b = append(b, s[:]...) // SPI: the sender's address
	b = binary.BigEndian.AppendUint32(b, seq)
	icvAt := len(b)
	b = append(b, make([]byte, ahICVLen)...)
	b = append(b, advert...)
	icv := k.icv(b[start:start+ipv4HeaderLen], b[start+ipv4HeaderLen:icvAt], b[icvAt+ahICVLen:], unicast)
	copy(b[icvAt:], icv[:])
	return b
}

// openAH checks the AH header at the start of payload, received inside the IPv4 header
// header from src: length, next header VRRP, ICV, and SPI = src, in keepalived's order.
// It returns the advert after the AH header and the sequence number; the caller checks
// the sequence number against its counter. Errors are *PacketError.
func (k *ahKey) openAH(header, payload []byte, src netip.Addr, unicast bool) ([]byte, uint32, error) {
	if len(payload) < ahHeaderLen+headerLen {
		return nil, 0, packetErr(ReasonTooShort, "AH header", 0, "%d bytes after the IPv4 header, AH and a VRRP header need %d", len(payload), ahHeaderLen+headerLen)
	}
	if payload[0] != IPProtocol {
		return nil, 0, packetErr(ReasonAuth, "AH next header", 0, "%d, want %d (VRRP)", payload[0], IPProtocol)
	}
	if len(header) < ipv4HeaderLen || len(header) > 60 {
		return nil, 0, packetErr(ReasonLength, "IPv4 header", -1, "%d bytes", len(header))
	}
	advert := payload[ahHeaderLen:]
	want := k.icv(header, payload[:ahHeaderLen], advert, unicast)
	if subtle.ConstantTimeCompare(want[:], payload[12:ahHeaderLen]) != 1 {
		return nil, 0, packetErr(ReasonAuth, "AH ICV", 12, "HMAC-MD5-96 mismatch (another auth_pass, or the packet changed on the way)")
	}
	if !src.Is4() || [4]byte(payload[4:8]) != src.As4() {
		return nil, 0, packetErr(ReasonAuth, "AH SPI", 4, "%v, want the source address %v", netip.AddrFrom4([4]byte(payload[4:8])), src)
	}
	return advert, binary.BigEndian.Uint32(payload[8:]), nil
}
