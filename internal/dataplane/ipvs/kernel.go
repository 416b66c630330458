package ipvs

import (
	"github.com/govs/govs/internal/adm"
	"github.com/govs/govs/internal/table"
)

// kernel is the part of IPVS the plane talks to; every change is one generic-netlink
// request. The real one is netlinkKernel; tests use a fake that records the requests.
type kernel interface {
	// Services reads every service with its destinations (in the kernel's order) and
	// their counters.
	Services() ([]table.Service, []table.ServiceStats, error)
	// Change sends the requests in order and returns each one's error (nil: done).
	// A refused request does not stop the ones after it.
	Change(ops []op) []error
	Timeouts() (table.Timeouts, error)
	// Flush removes every service of the namespace (ipvsadm -C).
	Flush() error
	Daemons() ([]adm.Daemon, error)
	NewDaemon(d adm.Daemon) error
	DelDaemon(state adm.DaemonState) error
	Close() error
}

// Generic-netlink numbering of IPVS (include/uapi/linux/ip_vs.h).
const (
	familyName = "IPVS"

	cmdNewService = 1
	cmdSetService = 2
	cmdDelService = 3
	cmdGetService = 4
	cmdNewDest    = 5
	cmdSetDest    = 6
	cmdDelDest    = 7
	cmdGetDest    = 8
	cmdNewDaemon  = 9
	cmdDelDaemon  = 10
	cmdGetDaemon  = 11

	cmdAttrService = 1
	cmdAttrDest    = 2
	cmdAttrDaemon  = 3

	svcAttrAF        = 1
	svcAttrProtocol  = 2
	svcAttrAddr      = 3
	svcAttrPort      = 4
	svcAttrFWMark    = 5
	svcAttrSchedName = 6
	svcAttrFlags     = 7
	svcAttrTimeout   = 8
	svcAttrNetmask   = 9
	svcAttrStats     = 10
	svcAttrPEName    = 11
	svcAttrStats64   = 12

	destAttrAddr        = 1
	destAttrPort        = 2
	destAttrFwdMethod   = 3
	destAttrWeight      = 4
	destAttrUThresh     = 5
	destAttrLThresh     = 6
	destAttrActiveConns = 7
	destAttrInactConns  = 8
	destAttrPersistConn = 9
	destAttrStats       = 10
	destAttrAddrFamily  = 11
	destAttrStats64     = 12
	destAttrTunType     = 13
	destAttrTunPort     = 14
	destAttrTunFlags    = 15

	statsConns    = 1
	statsInPkts   = 2
	statsOutPkts  = 3
	statsInBytes  = 4
	statsOutBytes = 5
	statsCPS      = 6
	statsInPPS    = 7
	statsOutPPS   = 8
	statsInBPS    = 9
	statsOutBPS   = 10

	daemonAttrState      = 1
	daemonAttrMcastIfn   = 2
	daemonAttrSyncID     = 3
	daemonAttrSyncMaxLen = 4
	daemonAttrMcastGroup = 5
	daemonAttrMcastGrp6  = 6
	daemonAttrMcastPort  = 7
	daemonAttrMcastTTL   = 8

	// Service flags (IP_VS_SVC_F_*).
	svcFlagPersistent = 0x0001
	svcFlagHashed     = 0x0002
	svcFlagOnePacket  = 0x0004
	svcFlagSched1     = 0x0008
	svcFlagSched2     = 0x0010
	svcFlagSched3     = 0x0020

	// Destination forwarding mask (IP_VS_CONN_F_FWD_MASK).
	fwdMask = 0x0007

	// Tunnel types (IP_VS_CONN_F_TUNNEL_TYPE_*) and encapsulation flags.
	tunIPIP = 0
	tunGUE  = 1
	tunGRE  = 2

	tunFlagCsum    = 1 << 0
	tunFlagRemCsum = 1 << 1
)

func tunnelType(name string) uint8 {
	switch name {
	case "gue":
		return tunGUE
	case "gre":
		return tunGRE
	}
	return tunIPIP
}

func tunnelTypeName(t uint8) string {
	switch t {
	case tunGUE:
		return "gue"
	case tunGRE:
		return "gre"
	}
	return "ipip"
}

func tunnelFlags(name string) uint16 {
	switch name {
	case "csum":
		return tunFlagCsum
	case "remcsum":
		return tunFlagRemCsum
	}
	return 0
}

func tunnelFlagsName(f uint16) string {
	switch {
	case f&tunFlagRemCsum != 0:
		return "remcsum"
	case f&tunFlagCsum != 0:
		return "csum"
	}
	return "nocsum"
}

// serviceFlags are the kernel flags a service is created or edited with.
func serviceFlags(s table.Service) uint32 {
	var f uint32
	if s.Persistence.Timeout > 0 {
		f |= svcFlagPersistent
	}
	if s.OnePacket {
		f |= svcFlagOnePacket
	}
	if s.Flags&table.SchedFlag1 != 0 {
		f |= svcFlagSched1
	}
	if s.Flags&table.SchedFlag2 != 0 {
		f |= svcFlagSched2
	}
	if s.Flags&table.SchedFlag3 != 0 {
		f |= svcFlagSched3
	}
	return f
}
