package ipvs

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"

	"github.com/govs/govs/internal/table"
)

// libraryRequest encodes a request with netlink.AttributeEncoder, attribute by
// attribute, as the IPVS uapi lays it out: what message must send, byte for byte.
func libraryRequest(t *testing.T, o op) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	key := o.svc.ServiceKey
	ae.Nested(cmdAttrService, func(n *netlink.AttributeEncoder) error {
		n.Uint16(svcAttrAF, family(serviceIs6(key)))
		if key.FWMark != 0 {
			n.Uint32(svcAttrFWMark, key.FWMark)
		} else {
			n.Uint16(svcAttrProtocol, uint16(key.Protocol))
			n.Bytes(svcAttrAddr, key.Addr.Addr().AsSlice())
			n.Bytes(svcAttrPort, binary.BigEndian.AppendUint16(nil, key.Addr.Port()))
		}
		if o.kind == opNewService || o.kind == opSetService {
			s := *o.svc
			n.String(svcAttrSchedName, s.Scheduler)
			if s.Persistence.Engine != "" {
				n.String(svcAttrPEName, s.Persistence.Engine)
			}
			flags := binary.NativeEndian.AppendUint32(nil, serviceFlags(s))
			n.Bytes(svcAttrFlags, binary.NativeEndian.AppendUint32(flags, ^uint32(0)))
			n.Uint32(svcAttrTimeout, uint32(s.Persistence.Timeout/time.Second))
			n.Uint32(svcAttrNetmask, netmask(s.Persistence, serviceIs6(key)))
		}
		return nil
	})
	if o.kind == opNewDest || o.kind == opSetDest || o.kind == opDelDest {
		d := o.dest
		ae.Nested(cmdAttrDest, func(n *netlink.AttributeEncoder) error {
			a := addr16(d.Addr.Addr())
			n.Bytes(destAttrAddr, a[:])
			n.Bytes(destAttrPort, binary.BigEndian.AppendUint16(nil, d.Addr.Port()))
			n.Uint16(destAttrAddrFamily, family(d.Addr.Addr().Is6()))
			n.Uint32(destAttrFwdMethod, uint32(d.Method))
			n.Uint32(destAttrWeight, uint32(d.Weight))
			n.Uint32(destAttrUThresh, uint32(d.UThreshold))
			n.Uint32(destAttrLThresh, uint32(d.LThreshold))
			if d.Method == table.Tunnel {
				n.Uint8(destAttrTunType, tunnelType(d.TunnelType))
				n.Bytes(destAttrTunPort, binary.BigEndian.AppendUint16(nil, d.TunnelPort))
				n.Uint16(destAttrTunFlags, tunnelFlags(d.TunnelFlags))
			}
			return nil
		})
	}
	data, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestMessageMatchesAttributeEncoder(t *testing.T) {
	web := svc(vs1, "wlc", nat("10.0.0.1:80", 3))
	web.Persistence = table.Persistence{Timeout: 300 * time.Second, Mask: netip.MustParseAddr("255.255.255.0"), Engine: "sip"}
	web.Flags = table.SchedFlag1 | table.SchedFlag3
	mark6 := table.Service{ServiceKey: table.ServiceKey{FWMark: 8, IPv6: true}, Scheduler: "mh", Persistence: table.Persistence{Timeout: time.Minute, PrefixLen: 64}}
	gue := table.Dest{Addr: netip.MustParseAddrPort("10.0.0.3:80"), Weight: 70000, Method: table.Tunnel, UThreshold: 5, LThreshold: 2, TunnelType: "gue", TunnelPort: 6080, TunnelFlags: "csum"}
	six := table.Dest{Addr: netip.MustParseAddrPort("[2001:db8::2]:0"), Weight: 1, Method: table.Route}
	k := &netlinkKernel{family: 42}
	for _, o := range []op{
		{kind: opNewService, svc: &web},
		{kind: opSetService, svc: &web},
		{kind: opDelService, svc: &web},
		{kind: opNewDest, svc: &web, dest: web.Dests[0]},
		{kind: opSetDest, svc: &web, dest: gue},
		{kind: opDelDest, svc: &web, dest: gue},
		{kind: opNewService, svc: &mark6},
		{kind: opNewDest, svc: &mark6, dest: six},
	} {
		t.Run(o.String(), func(t *testing.T) {
			var last keyAttr
			m, err := k.message(o, &last)
			if err != nil {
				t.Fatal(err)
			}
			if m.Header.Type != 42 || m.Header.Flags != netlink.Request {
				t.Errorf("header %+v, want family 42, a request without acknowledgement", m.Header)
			}
			var g genetlink.Message
			if err := g.UnmarshalBinary(m.Data); err != nil {
				t.Fatal(err)
			}
			if want := libraryRequest(t, o); !bytes.Equal(g.Data, want) {
				t.Errorf("attributes\n got %x\nwant %x", g.Data, want)
			}
			// The next request of the same service reuses the key attribute.
			if again, err := k.message(o, &last); err != nil || !bytes.Equal(again.Data, m.Data) {
				t.Errorf("second encoding differs: %v\n got %x\nwant %x", err, again.Data, m.Data)
			}
		})
	}
}

// BenchmarkEncodeStart encodes the 11,000 requests of a 1,000 x 10 start.
func BenchmarkEncodeStart(b *testing.B) {
	t := bigTable(1000, 10, 1)
	ops := plan(nil, t.Timeouts, t, map[table.ServiceKey]bool{})
	k := &netlinkKernel{family: 42}
	b.ReportAllocs()
	for b.Loop() {
		var last keyAttr
		for _, o := range ops {
			if _, err := k.message(o, &last); err != nil {
				b.Fatal(err)
			}
		}
	}
}
