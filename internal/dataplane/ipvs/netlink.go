package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	mobyipvs "github.com/moby/ipvs"

	"github.com/govs/govs/internal/adm"
	"github.com/govs/govs/internal/table"
)

// netlinkKernel programs IPVS in the caller's network namespace. Services,
// destinations, timeouts and flushing go through moby/ipvs (Docker's and kube-proxy's
// client). What moby/ipvs lacks goes through mdlayher/genetlink with the same netlink
// attribute numbering: reading the table back (moby/ipvs reads 32-bit counters and
// neither the persistent-connection count nor tunnel attributes), destinations with
// tunnel options (GUE/GRE type, port, checksum), and the connection sync daemon.
type netlinkKernel struct {
	moby   *mobyipvs.Handle
	genl   *genetlink.Conn
	family uint16
}

var _ kernel = (*netlinkKernel)(nil)

// openKernel connects to IPVS. It fails with ErrNoIPVS (wrapped) when the kernel has no
// IPVS generic-netlink family.
func openKernel() (*netlinkKernel, error) {
	c, err := genetlink.Dial(nil)
	if err != nil {
		return nil, fmt.Errorf("ipvs: opening generic netlink: %w", err)
	}
	fam, err := c.GetFamily(familyName)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("ipvs: %w: generic netlink family %q: %v", ErrNoIPVS, familyName, err)
	}
	// Bound every exchange: a kernel that never answers must not hang the engine.
	h, err := mobyipvs.New("")
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("ipvs: opening the IPVS netlink socket: %w", err)
	}
	return &netlinkKernel{moby: h, genl: c, family: fam.ID}, nil
}

// ErrNoIPVS says the kernel has no IPVS (no ip_vs module, or not in this namespace).
var ErrNoIPVS = errors.New("the kernel has no IPVS")

// exchangeTimeout bounds one generic-netlink request and its answer.
const exchangeTimeout = 10 * time.Second

func (k *netlinkKernel) Close() error {
	k.moby.Close()
	return k.genl.Close()
}

func (k *netlinkKernel) execute(cmd uint8, flags netlink.HeaderFlags, attrs func(ae *netlink.AttributeEncoder)) ([]genetlink.Message, error) {
	ae := netlink.NewAttributeEncoder()
	if attrs != nil {
		attrs(ae)
	}
	data, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	if err := k.genl.SetDeadline(time.Now().Add(exchangeTimeout)); err != nil {
		return nil, err
	}
	msg := genetlink.Message{Header: genetlink.Header{Command: cmd, Version: 1}, Data: data}
	return k.genl.Execute(msg, k.family, netlink.Request|flags)
}

// Services dumps the services, then each one's destinations.
func (k *netlinkKernel) Services() ([]table.Service, []table.ServiceStats, error) {
	msgs, err := k.execute(cmdGetService, netlink.Dump, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("ipvs: listing services: %w", err)
	}
	svcs := make([]table.Service, 0, len(msgs))
	stats := make([]table.ServiceStats, 0, len(msgs))
	for _, m := range msgs {
		s, st, err := decodeServiceMessage(m.Data)
		if err != nil {
			return nil, nil, fmt.Errorf("ipvs: listing services: %w", err)
		}
		dmsgs, err := k.execute(cmdGetDest, netlink.Dump, func(ae *netlink.AttributeEncoder) {
			ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error {
				encodeServiceKey(nae, s.ServiceKey)
				return nil
			})
		})
		if err != nil {
			if errors.Is(err, syscall.ESRCH) || errors.Is(err, syscall.ENOENT) {
				continue // removed while we listed
			}
			return nil, nil, fmt.Errorf("ipvs: listing destinations of %s: %w", s.ServiceKey, err)
		}
		for _, dm := range dmsgs {
			d, ds, err := decodeDestMessage(dm.Data, serviceIs6(s.ServiceKey))
			if err != nil {
				return nil, nil, fmt.Errorf("ipvs: destinations of %s: %w", s.ServiceKey, err)
			}
			s.Dests = append(s.Dests, d)
			st.Dests = append(st.Dests, ds)
		}
		svcs = append(svcs, s)
		stats = append(stats, st)
	}
	return svcs, stats, nil
}

func family(is6 bool) uint16 {
	if is6 {
		return syscall.AF_INET6
	}
	return syscall.AF_INET
}

func encodeServiceKey(ae *netlink.AttributeEncoder, key table.ServiceKey) {
	ae.Uint16(svcAttrAF, family(serviceIs6(key)))
	if key.FWMark != 0 {
		ae.Uint32(svcAttrFWMark, key.FWMark)
		return
	}
	ae.Uint16(svcAttrProtocol, uint16(key.Protocol))
	ae.Bytes(svcAttrAddr, key.Addr.Addr().AsSlice())
	ae.Bytes(svcAttrPort, binary.BigEndian.AppendUint16(nil, key.Addr.Port()))
}

func (k *netlinkKernel) NewService(s table.Service) error {
	return k.moby.NewService(mobyService(s))
}

func (k *netlinkKernel) SetService(s table.Service) error {
	return k.moby.UpdateService(mobyService(s))
}

func (k *netlinkKernel) DelService(key table.ServiceKey) error {
	return k.moby.DelService(mobyService(table.Service{ServiceKey: key, Scheduler: defaultScheduler}))
}

func (k *netlinkKernel) NewDest(s table.Service, d table.Dest) error {
	if d.Method == table.Tunnel {
		return k.tunnelDest(cmdNewDest, s, d)
	}
	return k.moby.NewDestination(mobyService(s), mobyDest(d))
}

func (k *netlinkKernel) SetDest(s table.Service, d table.Dest) error {
	if d.Method == table.Tunnel {
		return k.tunnelDest(cmdSetDest, s, d)
	}
	return k.moby.UpdateDestination(mobyService(s), mobyDest(d))
}

func (k *netlinkKernel) DelDest(s table.Service, d table.Dest) error {
	return k.moby.DelDestination(mobyService(s), mobyDest(d))
}

// tunnelDest adds or edits a tunnelling destination with its tunnel type, port and
// checksum flags, which moby/ipvs does not send.
func (k *netlinkKernel) tunnelDest(cmd uint8, s table.Service, d table.Dest) error {
	_, err := k.execute(cmd, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error {
			encodeServiceKey(nae, s.ServiceKey)
			return nil
		})
		ae.Nested(cmdAttrDest, func(nae *netlink.AttributeEncoder) error {
			encodeDest(nae, d)
			return nil
		})
	})
	return err
}

func encodeDest(ae *netlink.AttributeEncoder, d table.Dest) {
	ae.Bytes(destAttrAddr, addr16(d.Addr.Addr()))
	ae.Bytes(destAttrPort, binary.BigEndian.AppendUint16(nil, d.Addr.Port()))
	ae.Uint16(destAttrAddrFamily, family(d.Addr.Addr().Is6()))
	ae.Uint32(destAttrFwdMethod, uint32(d.Method))
	ae.Uint32(destAttrWeight, uint32(d.Weight))
	ae.Uint32(destAttrUThresh, uint32(d.UThreshold))
	ae.Uint32(destAttrLThresh, uint32(d.LThreshold))
	if d.Method == table.Tunnel {
		ae.Uint8(destAttrTunType, tunnelType(d.TunnelType))
		ae.Bytes(destAttrTunPort, binary.BigEndian.AppendUint16(nil, d.TunnelPort))
		ae.Uint16(destAttrTunFlags, tunnelFlags(d.TunnelFlags))
	}
}

// addr16 is an address as IPVS carries it: 16 bytes, IPv4 in the first four.
func addr16(a netip.Addr) []byte {
	b := make([]byte, 16)
	copy(b, a.Unmap().AsSlice())
	return b
}

func (k *netlinkKernel) Timeouts() (table.Timeouts, error) {
	c, err := k.moby.GetConfig()
	if err != nil {
		return table.Timeouts{}, fmt.Errorf("ipvs: reading timeouts: %w", err)
	}
	return table.Timeouts{TCP: c.TimeoutTCP, TCPFin: c.TimeoutTCPFin, UDP: c.TimeoutUDP}, nil
}

func (k *netlinkKernel) SetTimeouts(t table.Timeouts) error {
	return k.moby.SetConfig(&mobyipvs.Config{TimeoutTCP: t.TCP, TimeoutTCPFin: t.TCPFin, TimeoutUDP: t.UDP})
}

func (k *netlinkKernel) Flush() error { return k.moby.Flush() }

func (k *netlinkKernel) Daemons() ([]adm.Daemon, error) {
	msgs, err := k.execute(cmdGetDaemon, netlink.Dump, nil)
	if err != nil {
		return nil, fmt.Errorf("ipvs: listing sync daemons: %w", err)
	}
	var out []adm.Daemon
	for _, m := range msgs {
		d, err := decodeDaemonMessage(m.Data)
		if err != nil {
			return nil, fmt.Errorf("ipvs: listing sync daemons: %w", err)
		}
		out = append(out, d)
	}
	return out, nil
}

func (k *netlinkKernel) NewDaemon(d adm.Daemon) error {
	_, err := k.execute(cmdNewDaemon, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		ae.Nested(cmdAttrDaemon, func(nae *netlink.AttributeEncoder) error {
			nae.Uint32(daemonAttrState, uint32(d.State))
			nae.String(daemonAttrMcastIfn, d.Interface)
			nae.Uint32(daemonAttrSyncID, uint32(d.SyncID))
			if d.MaxLen > 0 {
				nae.Uint16(daemonAttrSyncMaxLen, uint16(d.MaxLen))
			}
			if d.Group.Is4() {
				nae.Bytes(daemonAttrMcastGroup, d.Group.AsSlice())
			} else if d.Group.Is6() {
				nae.Bytes(daemonAttrMcastGrp6, d.Group.AsSlice())
			}
			if d.Port > 0 {
				nae.Uint16(daemonAttrMcastPort, uint16(d.Port))
			}
			if d.TTL > 0 {
				nae.Uint8(daemonAttrMcastTTL, uint8(d.TTL))
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("ipvs: starting the %s sync daemon on %s: %w", d.State, d.Interface, err)
	}
	return nil
}

func (k *netlinkKernel) DelDaemon(state adm.DaemonState) error {
	_, err := k.execute(cmdDelDaemon, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		ae.Nested(cmdAttrDaemon, func(nae *netlink.AttributeEncoder) error {
			nae.Uint32(daemonAttrState, uint32(state))
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("ipvs: stopping the %s sync daemon: %w", state, err)
	}
	return nil
}

// mobyService converts a service for moby/ipvs.
func mobyService(s table.Service) *mobyipvs.Service {
	is6 := serviceIs6(s.ServiceKey)
	ms := &mobyipvs.Service{
		FWMark:        s.FWMark,
		SchedName:     s.Scheduler,
		Flags:         serviceFlags(s),
		Timeout:       uint32(s.Persistence.Timeout / time.Second),
		Netmask:       netmask(s.Persistence, is6),
		AddressFamily: family(is6),
		PEName:        s.Persistence.Engine,
	}
	if s.FWMark == 0 {
		ms.Address = net.IP(s.Addr.Addr().AsSlice())
		ms.Protocol = uint16(s.Protocol)
		ms.Port = s.Addr.Port()
	}
	return ms
}

// netmask is IPVS_SVC_ATTR_NETMASK: for IPv4 the mask's four bytes as they stand in
// memory (moby/ipvs writes the value in host order, so the bytes are read that way), for
// IPv6 the prefix length.
func netmask(p table.Persistence, is6 bool) uint32 {
	if is6 {
		if p.PrefixLen <= 0 || p.PrefixLen > 128 {
			return 128
		}
		return uint32(p.PrefixLen)
	}
	var m [4]byte
	switch {
	case p.Mask.Is4():
		m = p.Mask.As4()
	case p.PrefixLen > 0 && p.PrefixLen < 32:
		binary.BigEndian.PutUint32(m[:], ^uint32(0)<<(32-p.PrefixLen))
	default:
		m = [4]byte{255, 255, 255, 255}
	}
	return binary.NativeEndian.Uint32(m[:])
}

func mobyDest(d table.Dest) *mobyipvs.Destination {
	return &mobyipvs.Destination{
		Address:         net.IP(d.Addr.Addr().AsSlice()),
		Port:            d.Addr.Port(),
		Weight:          d.Weight,
		ConnectionFlags: uint32(d.Method),
		AddressFamily:   family(d.Addr.Addr().Is6()),
		UpperThreshold:  uint32(d.UThreshold),
		LowerThreshold:  uint32(d.LThreshold),
	}
}
