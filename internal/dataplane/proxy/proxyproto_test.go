package proxy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// proxyHeader is what a real server learns from a PROXY header.
type proxyHeader struct {
	local    bool // v2 LOCAL / v1 UNKNOWN: no addresses
	src, dst netip.AddrPort
}

func (h proxyHeader) String() string {
	if h.local {
		return "LOCAL"
	}
	return fmt.Sprintf("TCP %s -> %s", h.src, h.dst)
}

// readProxyHeader decodes a v1 or v2 header the way a receiving server would (an
// independent reading of HAProxy's proxy-protocol.txt, to check the encoder against).
func readProxyHeader(r *bufio.Reader) (proxyHeader, error) {
	sig, err := r.Peek(len(proxyV2Signature))
	if err == nil && bytes.Equal(sig, proxyV2Signature) {
		var fixed [16]byte
		if _, err := io.ReadFull(r, fixed[:]); err != nil {
			return proxyHeader{}, err
		}
		n := int(binary.BigEndian.Uint16(fixed[14:]))
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return proxyHeader{}, err
		}
		if fixed[12]>>4 != 2 {
			return proxyHeader{}, fmt.Errorf("version %d", fixed[12]>>4)
		}
		if fixed[12]&0xf == 0 {
			return proxyHeader{local: true}, nil
		}
		switch fixed[13] {
		case 0x11:
			if n < 12 {
				return proxyHeader{}, errors.New("short IPv4 block")
			}
			src := netip.AddrFrom4([4]byte(body[0:4]))
			dst := netip.AddrFrom4([4]byte(body[4:8]))
			return proxyHeader{
				src: netip.AddrPortFrom(src, binary.BigEndian.Uint16(body[8:])),
				dst: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(body[10:])),
			}, nil
		case 0x21:
			if n < 36 {
				return proxyHeader{}, errors.New("short IPv6 block")
			}
			src := netip.AddrFrom16([16]byte(body[0:16]))
			dst := netip.AddrFrom16([16]byte(body[16:32]))
			return proxyHeader{
				src: netip.AddrPortFrom(src, binary.BigEndian.Uint16(body[32:])),
				dst: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(body[34:])),
			}, nil
		}
		return proxyHeader{}, fmt.Errorf("family/transport 0x%02x", fixed[13])
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return proxyHeader{}, err
	}
	if len(line) > 107 || !strings.HasSuffix(line, "\r\n") {
		return proxyHeader{}, fmt.Errorf("bad v1 line %q", line)
	}
	f := strings.Fields(strings.TrimSuffix(line, "\r\n"))
	if len(f) == 2 && f[0] == "PROXY" && f[1] == "UNKNOWN" {
		return proxyHeader{local: true}, nil
	}
	if len(f) != 6 || f[0] != "PROXY" || (f[1] != "TCP4" && f[1] != "TCP6") {
		return proxyHeader{}, fmt.Errorf("bad v1 line %q", line)
	}
	src, err1 := netip.ParseAddr(f[2])
	dst, err2 := netip.ParseAddr(f[3])
	sp, err3 := strconv.ParseUint(f[4], 10, 16)
	dp, err4 := strconv.ParseUint(f[5], 10, 16)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return proxyHeader{}, err
	}
	if src.Is4() != (f[1] == "TCP4") || dst.Is4() != (f[1] == "TCP4") {
		return proxyHeader{}, fmt.Errorf("family %s with %s", f[1], line)
	}
	return proxyHeader{src: netip.AddrPortFrom(src, uint16(sp)), dst: netip.AddrPortFrom(dst, uint16(dp))}, nil
}

func TestAppendProxyHeader(t *testing.T) {
	v4s, v4d := netip.MustParseAddrPort("192.0.2.1:40000"), netip.MustParseAddrPort("198.51.100.7:80")
	v6s, v6d := netip.MustParseAddrPort("[2001:db8::1]:40000"), netip.MustParseAddrPort("[2001:db8::80]:443")
	sig := "\r\n\r\n\x00\r\nQUIT\n"
	tests := []struct {
		name     string
		version  int
		src, dst netip.AddrPort
		want     string
	}{
		{"v1 IPv4", 1, v4s, v4d, "PROXY TCP4 192.0.2.1 198.51.100.7 40000 80\r\n"},
		{"v1 IPv6", 1, v6s, v6d, "PROXY TCP6 2001:db8::1 2001:db8::80 40000 443\r\n"},
		{"v1 mixed families", 1, v4s, v6d, "PROXY UNKNOWN\r\n"},
		{"v1 v4-mapped is IPv4", 1, netip.MustParseAddrPort("[::ffff:192.0.2.1]:1"), v4d, "PROXY TCP4 192.0.2.1 198.51.100.7 1 80\r\n"},
		{"v2 IPv4", 2, v4s, v4d, sig + "\x21\x11\x00\x0c" + "\xc0\x00\x02\x01" + "\xc6\x33\x64\x07" + "\x9c\x40" + "\x00\x50"},
		{"v2 IPv6", 2, v6s, v6d, sig + "\x21\x21\x00\x24" +
			"\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01" +
			"\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80" + "\x9c\x40" + "\x01\xbb"},
		{"v2 mixed families", 2, v6s, v4d, sig + "\x20\x00\x00\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendProxyHeader(nil, tt.version, tt.src, tt.dst))
			if got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// FuzzProxyHeader: whatever the addresses, the header decodes back to them (or to the
// address-less form for mixed families), and a v1 header stays within the 107 bytes the
// specification allows.
func FuzzProxyHeader(f *testing.F) {
	f.Add(uint8(1), []byte{192, 0, 2, 1}, uint16(40000), []byte{198, 51, 100, 7}, uint16(80))
	f.Add(uint8(2), bytes.Repeat([]byte{0xff}, 16), uint16(65535), bytes.Repeat([]byte{0xfe}, 16), uint16(0))
	f.Add(uint8(2), []byte{10, 0, 0, 1}, uint16(1), bytes.Repeat([]byte{1}, 16), uint16(2))
	f.Fuzz(func(t *testing.T, version uint8, src []byte, sport uint16, dst []byte, dport uint16) {
		v := int(version%2) + 1
		s, ok1 := netip.AddrFromSlice(src)
		d, ok2 := netip.AddrFromSlice(dst)
		if !ok1 || !ok2 {
			return
		}
		sa, da := netip.AddrPortFrom(s, sport), netip.AddrPortFrom(d, dport)
		b := appendProxyHeader(nil, v, sa, da)
		if v == 1 && len(b) > 107 {
			t.Fatalf("v1 header of %d bytes: %q", len(b), b)
		}
		h, err := readProxyHeader(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			t.Fatalf("decoding %q: %v", b, err)
		}
		if s.Unmap().Is4() != d.Unmap().Is4() {
			if !h.local {
				t.Fatalf("mixed families encoded with addresses: %q", b)
			}
			return
		}
		want := proxyHeader{src: netip.AddrPortFrom(s.Unmap(), sport), dst: netip.AddrPortFrom(d.Unmap(), dport)}
		if h != want {
			t.Fatalf("round trip: got %v, want %v (header %q)", h, want, b)
		}
	})
}
