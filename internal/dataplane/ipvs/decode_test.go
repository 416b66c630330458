package ipvs

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/netlink"

	"github.com/govs/govs/internal/adm"
	"github.com/govs/govs/internal/table"
)

// putAttrs adds what fill writes to an AttributeEncoder, for the kernel's answers
// below, which carry more than a request.
func putAttrs(ae *netlink.AttributeEncoder, fill func(l *attrList)) {
	l := newAttrList()
	fill(l)
	for _, a := range l.attrs {
		ae.Bytes(a.Type, a.Data)
	}
}

// kernelService encodes a GET_SERVICE answer as the kernel's ip_vs_genl_fill_service
// writes it.
func kernelService(t testing.TB, s table.Service, flags uint32, mask uint32, st table.Counters) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrService, func(n *netlink.AttributeEncoder) error {
		putAttrs(n, func(l *attrList) { encodeServiceKey(l, s.ServiceKey) })
		if s.FWMark == 0 {
			// the kernel sends the address as 16 bytes
			a := addr16(s.Addr.Addr())
			n.Bytes(svcAttrAddr, a[:])
		}
		n.String(svcAttrSchedName, s.Scheduler)
		if s.Persistence.Engine != "" {
			n.String(svcAttrPEName, s.Persistence.Engine)
		}
		fl := make([]byte, 8)
		binary.NativeEndian.PutUint32(fl, flags)
		binary.NativeEndian.PutUint32(fl[4:], ^uint32(0))
		n.Bytes(svcAttrFlags, fl)
		n.Uint32(svcAttrTimeout, uint32(s.Persistence.Timeout/time.Second))
		n.Uint32(svcAttrNetmask, mask)
		n.Nested(svcAttrStats, func(m *netlink.AttributeEncoder) error {
			m.Uint32(statsConns, 1) // the 32-bit block is overridden by STATS64
			return nil
		})
		n.Nested(svcAttrStats64, func(m *netlink.AttributeEncoder) error {
			m.Uint64(statsConns, st.Conns)
			m.Uint64(statsInPkts, st.InPkts)
			m.Uint64(statsOutBytes, st.OutBytes)
			m.Uint64(statsCPS, 7)
			return nil
		})
		return nil
	})
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeService(t *testing.T) {
	mask24 := binary.NativeEndian.Uint32([]byte{255, 255, 255, 0})
	maskOdd := binary.NativeEndian.Uint32([]byte{255, 0, 255, 0})
	v6 := table.ServiceKey{Protocol: table.UDP, Addr: netip.MustParseAddrPort("[2001:db8::100]:53")}
	tests := []struct {
		name  string
		in    table.Service
		flags uint32
		mask  uint32
		want  table.Service
	}{
		{name: "plain", in: table.Service{ServiceKey: vs1, Scheduler: "wlc"}, flags: svcFlagHashed, mask: ^uint32(0),
			want: table.Service{ServiceKey: vs1, Scheduler: "wlc"}},
		{name: "persistent /24 with sh flags and ops", in: table.Service{ServiceKey: vs1, Scheduler: "sh", Persistence: table.Persistence{Timeout: 300 * time.Second}},
			flags: svcFlagHashed | svcFlagPersistent | svcFlagSched1 | svcFlagSched2 | svcFlagOnePacket, mask: mask24,
			want: table.Service{ServiceKey: vs1, Scheduler: "sh", Flags: table.SchedFlag1 | table.SchedFlag2, OnePacket: true, Persistence: table.Persistence{Timeout: 300 * time.Second, PrefixLen: 24}}},
		{name: "non-contiguous mask", in: table.Service{ServiceKey: vs1, Scheduler: "rr", Persistence: table.Persistence{Timeout: 60 * time.Second}},
			flags: svcFlagPersistent, mask: maskOdd,
			want: table.Service{ServiceKey: vs1, Scheduler: "rr", Persistence: table.Persistence{Timeout: 60 * time.Second, PrefixLen: 32, Mask: netip.MustParseAddr("255.0.255.0")}}},
		{name: "IPv6 /64 with pe", in: table.Service{ServiceKey: v6, Scheduler: "rr", Persistence: table.Persistence{Timeout: 30 * time.Second, Engine: "sip"}},
			flags: svcFlagPersistent, mask: 64,
			want: table.Service{ServiceKey: v6, Scheduler: "rr", Persistence: table.Persistence{Timeout: 30 * time.Second, PrefixLen: 64, Engine: "sip"}}},
		{name: "fwmark IPv6", in: table.Service{ServiceKey: table.ServiceKey{FWMark: 9, IPv6: true}, Scheduler: "mh"}, flags: svcFlagSched3, mask: 128,
			want: table.Service{ServiceKey: table.ServiceKey{FWMark: 9, IPv6: true}, Scheduler: "mh", Flags: table.SchedFlag3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := kernelService(t, tc.in, tc.flags, tc.mask, table.Counters{Conns: 1 << 40, InPkts: 5, OutBytes: 9})
			got, st, err := decodeServiceMessage(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.ServiceKey != tc.want.ServiceKey || !sameServiceAttrs(got, tc.want) {
				t.Fatalf("decoded\n %+v\nwant\n %+v", got, tc.want)
			}
			if st.Key != tc.want.ServiceKey || st.Conns != 1<<40 || st.InPkts != 5 || st.OutBytes != 9 || st.CPS != 7 {
				t.Fatalf("stats %+v", st)
			}
			// What the plane would send for the wanted service reads back the same.
			if tc.want.FWMark == 0 && !serviceIs6(tc.want.ServiceKey) && tc.want.Persistence.Timeout > 0 {
				if m := netmask(normalize(tc.want).Persistence, false); m != tc.mask {
					t.Fatalf("netmask sent %#x, kernel holds %#x", m, tc.mask)
				}
			}
		})
	}
}

func TestDecodeDest(t *testing.T) {
	enc := func(f func(n *netlink.AttributeEncoder)) []byte {
		ae := netlink.NewAttributeEncoder()
		ae.Nested(cmdAttrDest, func(n *netlink.AttributeEncoder) error { f(n); return nil })
		b, err := ae.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	gue := table.Dest{Addr: netip.MustParseAddrPort("10.0.0.3:80"), Weight: 70000, Method: table.Tunnel, UThreshold: 5, LThreshold: 2, TunnelType: "gue", TunnelPort: 6080, TunnelFlags: "remcsum"}
	b := enc(func(n *netlink.AttributeEncoder) {
		putAttrs(n, func(l *attrList) { encodeDest(l, gue) })
		n.Uint32(destAttrActiveConns, 3)
		n.Uint32(destAttrInactConns, 4)
		n.Uint32(destAttrPersistConn, 5)
		n.Nested(destAttrStats64, func(m *netlink.AttributeEncoder) error {
			m.Uint64(statsInBytes, 1<<33)
			m.Uint64(statsOutBPS, 12)
			return nil
		})
	})
	d, st, err := decodeDestMessage(b, false)
	if err != nil {
		t.Fatal(err)
	}
	if d != gue {
		t.Fatalf("decoded %+v, want %+v", d, gue)
	}
	if st.ActiveConn != 3 || st.InActConn != 4 || st.PersistConn != 5 || st.InBytes != 1<<33 || st.OutBPS != 12 || st.Addr != gue.Addr {
		t.Fatalf("stats %+v", st)
	}
	// No address family attribute (kernels before 3.18): the service's family holds.
	v6 := netip.MustParseAddrPort("[2001:db8:10::2]:80")
	b = enc(func(n *netlink.AttributeEncoder) {
		n.Bytes(destAttrAddr, v6.Addr().AsSlice())
		n.Bytes(destAttrPort, []byte{0, 80})
		n.Uint32(destAttrFwdMethod, uint32(table.Route))
		n.Uint32(destAttrWeight, 1)
	})
	d, _, err = decodeDestMessage(b, true)
	if err != nil || d.Addr != v6 || d.Method != table.Route || d.Weight != 1 {
		t.Fatalf("decoded %+v, %v", d, err)
	}
	for name, bad := range map[string]func(n *netlink.AttributeEncoder){
		"port":   func(n *netlink.AttributeEncoder) { n.Bytes(destAttrPort, []byte{1}) },
		"family": func(n *netlink.AttributeEncoder) { n.Uint16(destAttrAddrFamily, 99) },
		"addr":   func(n *netlink.AttributeEncoder) { n.Bytes(destAttrAddr, []byte{1, 2}) },
	} {
		if _, _, err := decodeDestMessage(enc(bad), false); err == nil {
			t.Errorf("bad %s: decoded without an error", name)
		}
	}
}

func TestDecodeDaemon(t *testing.T) {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrDaemon, func(n *netlink.AttributeEncoder) error {
		n.Uint32(daemonAttrState, uint32(adm.DaemonMaster))
		n.String(daemonAttrMcastIfn, "eth1")
		n.Uint32(daemonAttrSyncID, 7)
		n.Uint16(daemonAttrSyncMaxLen, 1472)
		n.Bytes(daemonAttrMcastGroup, []byte{224, 0, 0, 81})
		n.Uint16(daemonAttrMcastPort, 8848)
		n.Uint8(daemonAttrMcastTTL, 1)
		return nil
	})
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	d, err := decodeDaemonMessage(b)
	want := adm.Daemon{State: adm.DaemonMaster, Interface: "eth1", SyncID: 7, MaxLen: 1472, Group: netip.MustParseAddr("224.0.0.81"), Port: 8848, TTL: 1}
	if err != nil || d != want {
		t.Fatalf("decoded %+v, %v; want %+v", d, err, want)
	}
}

func TestDecodeServiceErrors(t *testing.T) {
	if _, _, err := decodeServiceMessage(nil); err == nil {
		t.Fatal("empty message decoded")
	}
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrService, func(n *netlink.AttributeEncoder) error {
		n.Uint16(svcAttrAF, 99)
		return nil
	})
	b, _ := ae.Encode()
	if _, _, err := decodeServiceMessage(b); err == nil {
		t.Fatal("family 99 decoded")
	}
	_ = syscall.AF_INET
}

func FuzzDecodeMessages(f *testing.F) {
	f.Add(kernelService(f, table.Service{ServiceKey: vs1, Scheduler: "rr"}, svcFlagHashed, ^uint32(0), table.Counters{}))
	f.Add([]byte{8, 0, 2, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Any input gives a value or an error, never a panic or a hang.
		_, _, _ = decodeServiceMessage(b)
		_, _, _ = decodeDestMessage(b, false)
		_, _, _ = decodeDestMessage(b, true)
		_, _ = decodeDaemonMessage(b)
	})
}
