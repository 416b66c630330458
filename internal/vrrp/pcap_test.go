package vrrp

import (
	"encoding/binary"
	"net/netip"
	"os"
	"testing"
	"time"
)

// capturedPacket is one IP packet of a classic pcap file with Ethernet link type.
type capturedPacket struct {
	index    int
	src, dst netip.Addr
	ttl      uint8
	proto    uint8
	payload  []byte
}

// readPcapIPv4 returns the IPv4 packets of a classic (microsecond, little-endian) pcap
// file captured on Ethernet. It understands only what tcpdump writes here; anything
// else is a test failure, not a skip.
func readPcapIPv4(t *testing.T, path string) []capturedPacket {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatalf("%s: not a little-endian classic pcap", path)
	}
	if lt := binary.LittleEndian.Uint32(b[20:]); lt != 1 {
		t.Fatalf("%s: link type %d, want 1 (Ethernet)", path, lt)
	}
	var out []capturedPacket
	for off, i := 24, 0; off < len(b); i++ {
		if off+16 > len(b) {
			t.Fatalf("%s: truncated record header at %d", path, off)
		}
		incl := int(binary.LittleEndian.Uint32(b[off+8:]))
		off += 16
		if off+incl > len(b) {
			t.Fatalf("%s: truncated record at %d", path, off)
		}
		frame := b[off : off+incl]
		off += incl
		if len(frame) < 14+20 || binary.BigEndian.Uint16(frame[12:]) != 0x0800 {
			continue // ARP and others
		}
		ip := frame[14:]
		ihl := int(ip[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if total > len(ip) || ihl > total {
			t.Fatalf("%s: packet %d: bad IPv4 lengths", path, i)
		}
		out = append(out, capturedPacket{
			index: i, ttl: ip[8], proto: ip[9],
			src:     netip.AddrFrom4([4]byte(ip[12:16])),
			dst:     netip.AddrFrom4([4]byte(ip[16:20])),
			payload: ip[ihl:total],
		})
	}
	return out
}

const pcapDir = "../../../shared/conformance/keepalived-pcaps/"

// TestKeepalivedCaptures decodes every VRRP packet keepalived 2.2.7 sent in the reference
// captures, and re-encodes each one to the same bytes (so the same checksum).
func TestKeepalivedCaptures(t *testing.T) {
	for _, tc := range []struct {
		file    string
		version uint8
	}{
		{"v2.pcap", 2},
		{"v3.pcap", 3},
	} {
		t.Run(tc.file, func(t *testing.T) {
			pkts := readPcapIPv4(t, pcapDir+tc.file)
			n, prio0 := 0, 0
			for _, p := range pkts {
				if p.proto != IPProtocol {
					continue
				}
				n++
				var a Advert
				if err := a.Unmarshal(p.payload, p.src, p.dst); err != nil {
					t.Fatalf("packet %d: %v", p.index, err)
				}
				if a.Version != tc.version || a.VRID != 42 || len(a.Addrs) != 1 || a.Addrs[0] != netip.MustParseAddr("10.0.0.254") {
					t.Errorf("packet %d: decoded %+v", p.index, a)
				}
				if p.ttl != TTL || p.dst != MulticastGroup4 {
					t.Errorf("packet %d: ttl %d dst %v", p.index, p.ttl, p.dst)
				}
				if a.Priority == 0 {
					prio0++
				}
				want := a.Checksum
				enc, err := a.Append(nil, p.src, p.dst)
				if err != nil {
					t.Fatalf("packet %d: re-encode: %v", p.index, err)
				}
				if string(enc) != string(p.payload) || a.Checksum != want {
					t.Errorf("packet %d: re-encoded %x, captured %x", p.index, enc, p.payload)
				}
			}
			if n == 0 || prio0 == 0 {
				t.Fatalf("%d VRRP packets, %d with priority 0: the capture should have both", n, prio0)
			}
			t.Logf("%d VRRP packets decoded, %d priority-0", n, prio0)
		})
	}
}

// pcapRecord is one captured frame and when it was captured.
type pcapRecord struct {
	at    time.Time
	frame []byte
}

// readPcapRecords returns the Ethernet frames of a classic (microsecond,
// little-endian) pcap file, as tcpdump writes it here, with their capture times.
func readPcapRecords(t *testing.T, path string) []pcapRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatalf("%s: not a little-endian classic pcap", path)
	}
	if lt := binary.LittleEndian.Uint32(b[20:]); lt != 1 {
		t.Fatalf("%s: link type %d, want 1 (Ethernet)", path, lt)
	}
	var out []pcapRecord
	for off := 24; off < len(b); {
		if off+16 > len(b) {
			t.Fatalf("%s: truncated record header at %d", path, off)
		}
		sec, usec := binary.LittleEndian.Uint32(b[off:]), binary.LittleEndian.Uint32(b[off+4:])
		incl := int(binary.LittleEndian.Uint32(b[off+8:]))
		off += 16
		if off+incl > len(b) {
			t.Fatalf("%s: truncated record at %d", path, off)
		}
		out = append(out, pcapRecord{at: time.Unix(int64(sec), int64(usec)*1000), frame: b[off : off+incl]})
		off += incl
	}
	return out
}
