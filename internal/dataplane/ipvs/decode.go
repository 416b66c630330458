package ipvs

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"

	"github.com/govs/govs/internal/adm"
	"github.com/govs/govs/internal/table"
)

// The decoders below read the kernel's answers to GET_SERVICE, GET_DEST and
// GET_DAEMON with mdlayher/netlink's attribute decoder. Bad input (a kernel newer
// than us, or a fuzzer) gives an error naming the attribute, never a panic.

// decodeServiceMessage reads one GET_SERVICE answer: IPVS_CMD_ATTR_SERVICE nested.
func decodeServiceMessage(b []byte) (table.Service, table.ServiceStats, error) {
	var s table.Service
	var st table.ServiceStats
	found := false
	err := eachNested(b, cmdAttrService, func(ad *netlink.AttributeDecoder) error {
		found = true
		var err error
		s, st, err = decodeService(ad)
		return err
	})
	if err == nil && !found {
		err = fmt.Errorf("service message without IPVS_CMD_ATTR_SERVICE")
	}
	return s, st, err
}

// decodeDestMessage reads one GET_DEST answer: IPVS_CMD_ATTR_DEST nested. svc6 is the
// service's family, which a destination without IPVS_DEST_ATTR_ADDR_FAMILY has.
func decodeDestMessage(b []byte, svc6 bool) (table.Dest, table.DestStats, error) {
	var d table.Dest
	var st table.DestStats
	found := false
	err := eachNested(b, cmdAttrDest, func(ad *netlink.AttributeDecoder) error {
		found = true
		var err error
		d, st, err = decodeDest(ad, svc6)
		return err
	})
	if err == nil && !found {
		err = fmt.Errorf("destination message without IPVS_CMD_ATTR_DEST")
	}
	return d, st, err
}

// decodeDaemonMessage reads one GET_DAEMON answer: IPVS_CMD_ATTR_DAEMON nested.
func decodeDaemonMessage(b []byte) (adm.Daemon, error) {
	var d adm.Daemon
	found := false
	err := eachNested(b, cmdAttrDaemon, func(ad *netlink.AttributeDecoder) error {
		found = true
		for ad.Next() {
			switch ad.Type() {
			case daemonAttrState:
				d.State = adm.DaemonState(ad.Uint32())
			case daemonAttrMcastIfn:
				d.Interface = ad.String()
			case daemonAttrSyncID:
				d.SyncID = int(ad.Uint32())
			case daemonAttrSyncMaxLen:
				d.MaxLen = int(ad.Uint16())
			case daemonAttrMcastGroup:
				a, err := addrFrom(ad.Bytes(), false)
				if err != nil {
					return fmt.Errorf("IPVS_DAEMON_ATTR_MCAST_GROUP: %w", err)
				}
				if !d.Group.Is6() {
					d.Group = a
				}
			case daemonAttrMcastGrp6:
				a, err := addrFrom(ad.Bytes(), true)
				if err != nil {
					return fmt.Errorf("IPVS_DAEMON_ATTR_MCAST_GROUP6: %w", err)
				}
				if !a.IsUnspecified() {
					d.Group = a
				}
			case daemonAttrMcastPort:
				d.Port = int(ad.Uint16())
			case daemonAttrMcastTTL:
				d.TTL = int(ad.Uint8())
			}
		}
		return ad.Err()
	})
	if err == nil && !found {
		err = fmt.Errorf("daemon message without IPVS_CMD_ATTR_DAEMON")
	}
	return d, err
}

// eachNested calls fn with a decoder over every top-level attribute typ of b.
func eachNested(b []byte, typ uint16, fn func(ad *netlink.AttributeDecoder) error) error {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return err
	}
	for ad.Next() {
		if ad.Type() == typ {
			ad.Nested(fn)
		}
	}
	return ad.Err()
}

// addrFrom reads an address attribute: 4 or 16 bytes (IPv4 may come in the first four
// of sixteen).
func addrFrom(b []byte, is6 bool) (netip.Addr, error) {
	switch {
	case is6 && len(b) == 16:
		return netip.AddrFrom16([16]byte(b)), nil
	case !is6 && len(b) >= 4:
		return netip.AddrFrom4([4]byte(b[:4])), nil
	}
	return netip.Addr{}, fmt.Errorf("%d bytes for an IPv%s address", len(b), map[bool]string{false: "4", true: "6"}[is6])
}

func port(b []byte) (uint16, error) {
	if len(b) != 2 {
		return 0, fmt.Errorf("port of %d bytes, want 2", len(b))
	}
	return binary.BigEndian.Uint16(b), nil
}

func decodeService(ad *netlink.AttributeDecoder) (table.Service, table.ServiceStats, error) {
	var (
		s        table.Service
		st       table.ServiceStats
		af       uint16
		rawAddr  []byte
		flags    uint32
		timeout  uint32
		mask     uint32
		hasMask  bool
		stats32  *table.ServiceStats
		hasStats bool
	)
	for ad.Next() {
		switch ad.Type() {
		case svcAttrAF:
			af = ad.Uint16()
		case svcAttrProtocol:
			s.Protocol = table.Protocol(ad.Uint16())
		case svcAttrAddr:
			rawAddr = ad.Bytes()
		case svcAttrPort:
			p, err := port(ad.Bytes())
			if err != nil {
				return s, st, fmt.Errorf("IPVS_SVC_ATTR_PORT: %w", err)
			}
			s.Addr = netip.AddrPortFrom(s.Addr.Addr(), p)
		case svcAttrFWMark:
			s.FWMark = ad.Uint32()
		case svcAttrSchedName:
			s.Scheduler = ad.String()
		case svcAttrFlags:
			b := ad.Bytes()
			if len(b) != 8 {
				return s, st, fmt.Errorf("IPVS_SVC_ATTR_FLAGS: %d bytes, want 8", len(b))
			}
			flags = binary.NativeEndian.Uint32(b[:4])
		case svcAttrTimeout:
			timeout = ad.Uint32()
		case svcAttrNetmask:
			mask, hasMask = ad.Uint32(), true
		case svcAttrPEName:
			s.Persistence.Engine = ad.String()
		case svcAttrStats64:
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				st.Counters, st.Rates = decodeStats(nad, true)
				return nad.Err()
			})
			hasStats = true
		case svcAttrStats:
			var old table.ServiceStats
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				old.Counters, old.Rates = decodeStats(nad, false)
				return nad.Err()
			})
			stats32 = &old
		}
	}
	if err := ad.Err(); err != nil {
		return s, st, err
	}
	if !hasStats && stats32 != nil {
		st.Counters, st.Rates = stats32.Counters, stats32.Rates
	}
	if af != syscall.AF_INET && af != syscall.AF_INET6 {
		return s, st, fmt.Errorf("IPVS_SVC_ATTR_AF: family %d, want %d or %d", af, syscall.AF_INET, syscall.AF_INET6)
	}
	is6 := af == syscall.AF_INET6
	if s.FWMark != 0 {
		s.Protocol, s.Addr, s.IPv6 = 0, netip.AddrPort{}, is6
	} else {
		a, err := addrFrom(rawAddr, is6)
		if err != nil {
			return s, st, fmt.Errorf("IPVS_SVC_ATTR_ADDR: %w", err)
		}
		s.Addr = netip.AddrPortFrom(a, s.Addr.Port())
	}
	s.OnePacket = flags&svcFlagOnePacket != 0
	if flags&svcFlagSched1 != 0 {
		s.Flags |= table.SchedFlag1
	}
	if flags&svcFlagSched2 != 0 {
		s.Flags |= table.SchedFlag2
	}
	if flags&svcFlagSched3 != 0 {
		s.Flags |= table.SchedFlag3
	}
	if flags&svcFlagPersistent != 0 {
		s.Persistence.Timeout = time.Duration(timeout) * time.Second
		s.Persistence.PrefixLen, s.Persistence.Mask = persistenceMask(mask, hasMask, is6)
	}
	st.Key = s.ServiceKey
	return s, st, nil
}

// persistenceMask turns IPVS_SVC_ATTR_NETMASK back into table.Persistence's form.
func persistenceMask(mask uint32, has, is6 bool) (int, netip.Addr) {
	if is6 {
		if !has || mask == 0 || mask > 128 {
			return 128, netip.Addr{}
		}
		return int(mask), netip.Addr{}
	}
	if !has {
		return 32, netip.Addr{}
	}
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], mask)
	a := netip.AddrFrom4(b)
	if n, ok := maskPrefix(a); ok {
		return n, netip.Addr{}
	}
	return 32, a
}

func decodeStats(ad *netlink.AttributeDecoder, wide bool) (table.Counters, table.Rates) {
	var c table.Counters
	var r table.Rates
	for ad.Next() {
		var v uint64
		switch b := ad.Bytes(); {
		case wide && len(b) == 8:
			v = binary.NativeEndian.Uint64(b)
		case len(b) == 4:
			v = uint64(binary.NativeEndian.Uint32(b))
		default:
			continue // padding (IPVS_STATS_ATTR_PAD) or an unknown width
		}
		switch ad.Type() {
		case statsConns:
			c.Conns = v
		case statsInPkts:
			c.InPkts = v
		case statsOutPkts:
			c.OutPkts = v
		case statsInBytes:
			c.InBytes = v
		case statsOutBytes:
			c.OutBytes = v
		case statsCPS:
			r.CPS = v
		case statsInPPS:
			r.InPPS = v
		case statsOutPPS:
			r.OutPPS = v
		case statsInBPS:
			r.InBPS = v
		case statsOutBPS:
			r.OutBPS = v
		}
	}
	return c, r
}

func decodeDest(ad *netlink.AttributeDecoder, svc6 bool) (table.Dest, table.DestStats, error) {
	var (
		d        table.Dest
		st       table.DestStats
		rawAddr  []byte
		p        uint16
		af       uint16
		tunType  uint8
		tunFlags uint16
		stats32  *table.DestStats
		hasStats bool
	)
	for ad.Next() {
		switch ad.Type() {
		case destAttrAddr:
			rawAddr = ad.Bytes()
		case destAttrPort:
			var err error
			if p, err = port(ad.Bytes()); err != nil {
				return d, st, fmt.Errorf("IPVS_DEST_ATTR_PORT: %w", err)
			}
		case destAttrFwdMethod:
			d.Method = table.Method(ad.Uint32() & fwdMask)
		case destAttrWeight:
			d.Weight = int(int32(ad.Uint32()))
		case destAttrUThresh:
			d.UThreshold = int(ad.Uint32())
		case destAttrLThresh:
			d.LThreshold = int(ad.Uint32())
		case destAttrActiveConns:
			st.ActiveConn = uint64(ad.Uint32())
		case destAttrInactConns:
			st.InActConn = uint64(ad.Uint32())
		case destAttrPersistConn:
			st.PersistConn = uint64(ad.Uint32())
		case destAttrAddrFamily:
			af = ad.Uint16()
		case destAttrTunType:
			tunType = ad.Uint8()
		case destAttrTunPort:
			var err error
			if d.TunnelPort, err = port(ad.Bytes()); err != nil {
				return d, st, fmt.Errorf("IPVS_DEST_ATTR_TUN_PORT: %w", err)
			}
		case destAttrTunFlags:
			tunFlags = ad.Uint16()
		case destAttrStats64:
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				st.Counters, st.Rates = decodeStats(nad, true)
				return nad.Err()
			})
			hasStats = true
		case destAttrStats:
			var old table.DestStats
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				old.Counters, old.Rates = decodeStats(nad, false)
				return nad.Err()
			})
			stats32 = &old
		}
	}
	if err := ad.Err(); err != nil {
		return d, st, err
	}
	if !hasStats && stats32 != nil {
		st.Counters, st.Rates = stats32.Counters, stats32.Rates
	}
	is6 := svc6
	switch af {
	case 0:
	case syscall.AF_INET, syscall.AF_INET6:
		is6 = af == syscall.AF_INET6
	default:
		return d, st, fmt.Errorf("IPVS_DEST_ATTR_ADDR_FAMILY: family %d", af)
	}
	a, err := addrFrom(rawAddr, is6)
	if err != nil {
		return d, st, fmt.Errorf("IPVS_DEST_ATTR_ADDR: %w", err)
	}
	d.Addr = netip.AddrPortFrom(a, p)
	if d.Method == table.Tunnel {
		d.TunnelType = tunnelTypeName(tunType)
		if tunType != tunIPIP {
			d.TunnelFlags = tunnelFlagsName(tunFlags)
		} else {
			d.TunnelPort = 0
		}
	} else {
		d.TunnelPort = 0
	}
	st.Addr = d.Addr
	return d, st, nil
}
