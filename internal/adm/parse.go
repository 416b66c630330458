package adm

import (
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"strings"
	"time"

	"github.com/govs/govs/internal/table"
)

// Option bits, numbered as ipvsadm's OPTC_* (their names are optNames).
const (
	optNumeric = iota
	optConnection
	optService
	optScheduler
	optPersistent
	optNetmask
	optServer
	optForward
	optWeight
	optUThreshold
	optLThreshold
	optMcast
	optTimeout
	optDaemon
	optStats
	optRate
	optThresholds
	optPersistentConn
	optNoSort
	optSyncID
	optExact
	optOnePacket
	optPE
	optSchedFlags
	optMcastGroup
	optMcastPort
	optMcastTTL
	optSyncMaxlen
	optTunInfo
	optTunType
	optTunPort
	optTunNoCsum
	optTunCsum
	optTunRemCsum
	numOpts
)

var optNames = [numOpts]string{
	"numeric", "connection", "service-address", "scheduler", "persistent", "netmask",
	"real-server", "forwarding-method", "weight", "u-threshold", "l-threshold",
	"mcast-interface", "timeout", "daemon", "stats", "rate", "thresholds",
	"persistent-conn", "nosort", "syncid", "exact", "ops", "pe", "sched-flags",
	"mcast-group", "mcast-port", "mcast-ttl", "sync-maxlen", "tun-info", "tun-type",
	"tun-port", "tun-nocsum", "tun-csum", "tun-remcsum",
}

// commandOptions is ipvsadm's commands_v_options: per command (OpAddService..OpZero) and
// option, '+' compulsory, 'x' illegal, '1' at most one of the '1's, ' ' optional.
var commandOptions = [OpZero][numOpts]byte{
	/*ADD*/ {'x', 'x', '+', ' ', ' ', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', ' ', ' ', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*EDIT*/ {'x', 'x', '+', ' ', ' ', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', ' ', ' ', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*DEL*/ {'x', 'x', '+', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*FLUSH*/ {'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*LIST*/ {' ', '1', '1', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', '1', '1', ' ', ' ', ' ', ' ', ' ', ' ', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', ' ', 'x', 'x', 'x', 'x', 'x'},
	/*ADDSRV*/ {'x', 'x', '+', 'x', 'x', 'x', '+', ' ', ' ', ' ', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', ' ', ' ', ' ', ' ', ' '},
	/*DELSRV*/ {'x', 'x', '+', 'x', 'x', 'x', '+', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*EDITSRV*/ {'x', 'x', '+', 'x', 'x', 'x', '+', ' ', ' ', ' ', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', ' ', ' ', ' ', ' ', ' '},
	/*TIMEOUT*/ {'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*STARTD*/ {'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', ' ', 'x', 'x', 'x', 'x', ' ', ' ', ' ', ' ', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*STOPD*/ {'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*RESTORE*/ {'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*SAVE*/ {' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
	/*ZERO*/ {'x', 'x', ' ', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'},
}

// Tunnel types and checksum flags, numbered as IP_VS_CONN_F_TUNNEL_TYPE_* and
// IP_VS_TUNNEL_ENCAP_FLAG_*.
var (
	tunTypeNames   = [...]string{"ipip", "gue", "gre"}
	tunFlagNames   = [...]string{"nocsum", "csum", "remcsum"} // table.Dest.TunnelFlags
	tunFlagOptions = [...]string{"--tun-nocsum", "--tun-csum", "--tun-remcsum"}
	tunFlagShort   = [...]string{"-c", "+c", "r+c"}
)

// tunnelOptions is ipvsadm's tunnel_types_v_options over (tun-port, nocsum, csum, remcsum).
var (
	tunnelOpts    = [4]int{optTunPort, optTunNoCsum, optTunCsum, optTunRemCsum}
	tunnelOptions = [3][4]byte{
		/* ipip */ {'x', 'x', 'x', 'x'},
		/* gue */ {'+', '1', '1', '1'},
		/* gre */ {'x', '1', '1', 'x'},
	}
)

// Address families as the kernel numbers them; ipvsadm's sort compares these numbers.
const (
	afUnspec = 0
	afInet   = 2
	afInet6  = 10
)

const (
	maxTimeout          = 86400 * 31 // MAX_TIMEOUT: 31 days
	defaultPersistence  = 360        // IPVS_SVC_PERSISTENT_TIMEOUT
	defaultScheduler    = "wlc"      // DEF_SCHED
	defaultMcastIfn     = "eth0"     // DEF_MCAST_IFN
	schedNameMax        = 15         // IP_VS_SCHEDNAME_MAXLEN - 1
	peNameMax           = 16         // IP_VS_PENAME_MAXLEN
	ifNameMax           = 15         // IP_VS_IFNAME_MAXLEN - 1
	schedFlagsBufferMax = 127        // sched_flags_arg[128]
	connFwdMasq         = 0          // IP_VS_CONN_F_MASQ
	connFwdTunnel       = 2          // IP_VS_CONN_F_TUNNEL
	connFwdRoute        = 3          // IP_VS_CONN_F_DROUTE
	maxInt32            = math.MaxInt32
)

// endpoint is ipvsadm's ipvs_service_t as parse_service fills it.
type endpoint struct {
	af      int
	proto   table.Protocol
	addr    netip.Addr
	port    uint16
	netmask uint32 // IPv4: the mask, host order; IPv6: the prefix length
}

// entry is ipvsadm's ipvs_command_entry plus the option and format bits.
type entry struct {
	cmd     Op
	opts    uint64
	list    ListOptions
	svc     endpoint
	fwmark  uint32
	sched   string
	persist bool
	timeout uint32
	ops     bool
	pe      string
	sflags  table.SchedFlags

	dest     endpoint
	fwd      int
	weight   int64
	uthresh  int64
	lthresh  int64
	tunType  int
	tunPort  uint16
	tunFlags int

	timeouts [3]int64
	daemon   Daemon
}

// parser holds what one Parse call needs.
type parser struct {
	prog string
	r    Resolver
}

// fail is ipvsadm's fail(2, ...): the message, exit status 2.
func fail(format string, a ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, a...), Code: 2}
}

// tryHelp is ipvsadm's tryhelp_exit(-1).
func (p *parser) tryHelp() *Error {
	return &Error{Msg: fmt.Sprintf("Try `%s -h' or '%s --help' for more information.", p.prog, p.prog), Code: 255}
}

// Parse turns an ipvsadm argv (without the program name) into a validated Command, with
// ipvsadm 1.31's errors: every check of parse_options and process_options, in its order.
// prog is the program name the "Try `prog -h'" hint names; r resolves host and service
// names (use &Names{} to allow numbers only). The error is always an *Error.
func Parse(prog string, argv []string, r Resolver) (Command, error) {
	if r == nil {
		r = &Names{}
	}
	p := &parser{prog: prog, r: r}
	e := &entry{
		weight: 1,
		fwd:    connFwdRoute,
		svc:    endpoint{netmask: 0xffffffff},
	}
	if err := p.parseOptions(argv, e); err != nil {
		return Command{}, err
	}
	if e.cmd == OpHelp || e.cmd == OpVersion {
		return Command{Op: e.cmd}, nil
	}
	if err := p.check(e); err != nil {
		return Command{}, err
	}
	return e.command(), nil
}

func (p *parser) parseOptions(argv []string, e *entry) error {
	c := &poptContext{argv: argv}
	first, done, perr := c.next()
	if done || perr != "" {
		return p.tryHelp()
	}
	switch first.id {
	case idAddService:
		e.cmd = OpAddService
	case idEditService:
		e.cmd = OpEditService
	case idDelService:
		e.cmd = OpDelService
	case idAddServer:
		e.cmd = OpAddDest
	case idEditServer:
		e.cmd = OpEditDest
	case idDelServer:
		e.cmd = OpDelDest
	case idClear:
		e.cmd = OpFlush
	case idList:
		e.cmd = OpList
	case idZero:
		e.cmd = OpZero
	case idSet:
		e.cmd = OpSetTimeouts
	case idRestore:
		e.cmd = OpRestore
	case idSave:
		e.cmd = OpSave
	case idStartDaemon, idStopDaemon:
		e.cmd = OpStartDaemon
		if first.id == idStopDaemon {
			e.cmd = OpStopDaemon
		}
		switch first.arg {
		case "master":
			e.daemon.State = DaemonMaster
		case "backup":
			e.daemon.State = DaemonBackup
		default:
			if e.cmd == OpStartDaemon {
				return fail("illegal start-daemon parameter specified")
			}
			return fail("illegal start_daemon specified")
		}
	case idHelp:
		e.cmd = OpHelp
		return nil
	case idVersion:
		e.cmd = OpVersion
		return nil
	default:
		return p.tryHelp()
	}

	schedFlags := ""
	for {
		o, done, perr := c.next()
		if done {
			break
		}
		if perr != "" {
			return &Error{Msg: c.badOption() + ": " + perr, Code: 255, Recoverable: true}
		}
		if err := p.option(c, e, o, &schedFlags); err != nil {
			return err
		}
	}

	if e.cmd == OpSetTimeouts {
		var args [3]string
		for i := range args {
			a, ok := c.arg()
			if !ok {
				return fail("--set option requires 3 timeout values")
			}
			args[i] = a
		}
		for i, a := range args {
			t, err := parseTimeout(a, 0, maxTimeout)
			if err != nil {
				return err
			}
			e.timeouts[i] = t
		}
	}
	if a, ok := c.arg(); ok {
		return fail("unexpected argument %s", a)
	}
	if schedFlags != "" {
		f, err := parseSchedFlags(e.sched, schedFlags)
		if err != nil {
			return err
		}
		e.sflags = f
	}
	return nil
}

// option applies one option after the command, as parse_options' second switch.
func (p *parser) option(c *poptContext, e *entry, o poptResult, schedFlags *string) error {
	set := func(bit int) error {
		if e.opts&(1<<bit) != 0 {
			return fail("multiple '%s' options specified", optNames[bit])
		}
		e.opts |= 1 << bit
		return nil
	}
	flag := func(bit int, b *bool) error {
		*b = true
		return set(bit)
	}
	switch o.id {
	case idTCP, idUDP, idSCTP:
		if err := set(optService); err != nil {
			return err
		}
		e.svc.proto = map[optID]table.Protocol{idTCP: table.TCP, idUDP: table.UDP, idSCTP: table.SCTP}[o.id]
		if parsed := p.parseService(o.arg, &e.svc); parsed&serviceAddr == 0 {
			return fail("illegal virtual server address[:port] specified")
		}
	case idFWMark:
		if err := set(optService); err != nil {
			return err
		}
		// ipvsadm sets a sane family and protocol even though fwmark services use neither.
		e.svc.af, e.svc.proto = afInet, table.TCP
		n, ok, overflow := strtol(o.arg, 10)
		if !ok || overflow || n <= 0 || n > math.MaxUint32 {
			return fail("invalid fwmark value `%s' specified", o.arg)
		}
		e.fwmark = uint32(n)
	case idScheduler:
		if err := set(optScheduler); err != nil {
			return err
		}
		e.sched = truncate(o.arg, schedNameMax)
	case idPersistent:
		if err := set(optPersistent); err != nil {
			return err
		}
		e.persist = true
		e.timeout = defaultPersistence
		if o.hasArg {
			t, err := parseTimeout(o.arg, 1, maxTimeout)
			if err != nil {
				return err
			}
			e.timeout = uint32(t)
		}
	case idNetmask:
		if err := set(optNetmask); err != nil {
			return err
		}
		if e.svc.af != afInet6 {
			a, ok := inetAton(o.arg)
			if !ok {
				a, ok = p.r.LookupHost(o.arg)
			}
			if !ok {
				return fail("illegal virtual server persistent mask specified")
			}
			b := a.As4()
			e.svc.netmask = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		} else {
			n := atoi(o.arg)
			if n < 1 || n > 128 {
				return fail("illegal ipv6 netmask specified")
			}
			e.svc.netmask = uint32(n)
		}
	case idRealServer:
		if err := set(optServer); err != nil {
			return err
		}
		t := e.svc
		parsed := p.parseService(o.arg, &t)
		e.dest.af, e.dest.addr, e.dest.port = t.af, t.addr, t.port
		if parsed&serviceAddr == 0 {
			return fail("illegal real server address[:port] specified")
		}
		if parsed == serviceAddr {
			e.dest.port = e.svc.port
		}
	case idIPIP, idGate, idMasq:
		if err := set(optForward); err != nil {
			return err
		}
		e.fwd = map[optID]int{idIPIP: connFwdTunnel, idGate: connFwdRoute, idMasq: connFwdMasq}[o.id]
	case idWeight:
		if err := set(optWeight); err != nil {
			return err
		}
		// ipvsadm 1.31 as Debian ships it takes any int (the oracle lists 2147483647).
		if e.weight = stringToNumber(o.arg, 0, maxInt32); e.weight == -1 {
			return fail("illegal weight specified")
		}
	case idUThreshold:
		if err := set(optUThreshold); err != nil {
			return err
		}
		if e.uthresh = stringToNumber(o.arg, 0, maxInt32); e.uthresh == -1 {
			return fail("illegal u_threshold specified")
		}
	case idLThreshold:
		if err := set(optLThreshold); err != nil {
			return err
		}
		if e.lthresh = stringToNumber(o.arg, 0, maxInt32); e.lthresh == -1 {
			return fail("illegal l_threshold specified")
		}
	case idConnection:
		return flag(optConnection, &e.list.Conns)
	case idNumeric:
		return flag(optNumeric, &e.list.Numeric)
	case idMcastInterface:
		if err := set(optMcast); err != nil {
			return err
		}
		e.daemon.Interface = truncate(o.arg, ifNameMax)
	case idSyncID:
		if err := set(optSyncID); err != nil {
			return err
		}
		n := stringToNumber(o.arg, 0, 255)
		if n == -1 {
			return fail("illegal syncid specified")
		}
		e.daemon.SyncID = int(n)
	case idTimeout:
		return flag(optTimeout, &e.list.Timeout)
	case idDaemon:
		return flag(optDaemon, &e.list.Daemon)
	case idStats:
		return flag(optStats, &e.list.Stats)
	case idRate:
		return flag(optRate, &e.list.Rate)
	case idThresholds:
		return flag(optThresholds, &e.list.Thresholds)
	case idPersistentConn:
		return flag(optPersistentConn, &e.list.PersistConn)
	case idNoSort:
		return flag(optNoSort, &e.list.NoSort)
	case idSort:
		// The default; accepted for compatibility.
	case idExact:
		return flag(optExact, &e.list.Exact)
	case idIPv6:
		if e.fwmark == 0 {
			return fail("-6 used before -f\n")
		}
		e.svc.af, e.svc.netmask = afInet6, 128
	case idOps:
		if err := set(optOnePacket); err != nil {
			return err
		}
		e.ops = true
	case idPE:
		if err := set(optPE); err != nil {
			return err
		}
		e.pe = truncate(o.arg, peNameMax)
	case idSchedFlags:
		if err := set(optSchedFlags); err != nil {
			return err
		}
		*schedFlags = truncate(o.arg, schedFlagsBufferMax)
	case idMcastGroup:
		if err := set(optMcastGroup); err != nil {
			return err
		}
		if strings.Contains(o.arg, ":") {
			a, ok := inetPton6(o.arg)
			if !ok || !a.IsMulticast() {
				return fail("invalid IPv6 mcast-group `%s'", o.arg)
			}
			e.daemon.Group = a
		} else {
			a, ok := inetPton4(o.arg)
			if !ok || !a.IsMulticast() {
				return fail("invalid IPv4 mcast-group `%s'", o.arg)
			}
			e.daemon.Group = a
		}
	case idMcastPort:
		if err := set(optMcastPort); err != nil {
			return err
		}
		n := stringToNumber(o.arg, 1, 65535)
		if n == -1 {
			return fail("illegal mcast-port specified")
		}
		e.daemon.Port = int(n)
	case idMcastTTL:
		if err := set(optMcastTTL); err != nil {
			return err
		}
		n := stringToNumber(o.arg, 1, 255)
		if n == -1 {
			return fail("illegal mcast-ttl specified")
		}
		e.daemon.TTL = int(n)
	case idSyncMaxlen:
		if err := set(optSyncMaxlen); err != nil {
			return err
		}
		n := stringToNumber(o.arg, 1, 65535-20-8)
		if n == -1 {
			return fail("illegal sync-maxlen specified")
		}
		e.daemon.MaxLen = int(n)
	case idTunInfo:
		return flag(optTunInfo, &e.list.TunInfo)
	case idTunType:
		if err := set(optTunType); err != nil {
			return err
		}
		t := -1
		for i, n := range tunTypeNames {
			if o.arg == n {
				t = i
			}
		}
		if t == -1 {
			return fail("illegal tunnel type specified")
		}
		e.tunType = t
	case idTunPort:
		if err := set(optTunPort); err != nil {
			return err
		}
		n := stringToNumber(o.arg, 1, 65535)
		if n == -1 {
			return fail("illegal tunnel port specified")
		}
		e.tunPort = uint16(n)
	case idTunNoCsum:
		return set(optTunNoCsum)
	case idTunCsum:
		e.tunFlags |= 1
		return set(optTunCsum)
	case idTunRemCsum:
		e.tunFlags |= 2
		return set(optTunRemCsum)
	default:
		// A second command, -h or -v after the command: popt returns it, ipvsadm refuses.
		return fail("invalid option `%s'", c.badOption())
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// parseTimeout is ipvsadm's parse_timeout.
func parseTimeout(s string, min, max int64) (int64, error) {
	n := stringToNumber(s, min, max)
	if n == -1 {
		return 0, fail("invalid timeout value `%s' specified", s)
	}
	return n, nil
}

// parseSchedFlags is ipvsadm's parse_sched_flags: a comma list checked against the
// scheduler (wlc when -s is absent).
func parseSchedFlags(sched, arg string) (table.SchedFlags, error) {
	if sched == "" {
		sched = defaultScheduler
	}
	var f table.SchedFlags
	flags := strings.FieldsFunc(arg, func(r rune) bool { return r == ',' })
	if len(flags) == 0 {
		// strtok finds no token; ipvsadm would dereference NULL here.
		return 0, fail("invalid scheduler flag `%s'", arg)
	}
	for _, flag := range flags {
		need := ""
		switch flag {
		case "flag-1":
			f |= table.SchedFlag1
		case "flag-2":
			f |= table.SchedFlag2
		case "flag-3":
			f |= table.SchedFlag3
		case "sh-fallback", "mh-fallback":
			f |= table.SchedFlag1
			need = flag[:2]
		case "sh-port", "mh-port":
			f |= table.SchedFlag2
			need = flag[:2]
		default:
			return 0, fail("invalid scheduler flag `%s'", flag)
		}
		if need != "" && sched != need {
			return 0, fail("incompatible scheduler flag `%s'", flag)
		}
	}
	return f, nil
}

// What parseService found (SERVICE_ADDR, SERVICE_PORT).
const (
	serviceAddr = 1
	servicePort = 2
)

// parseService is ipvsadm's parse_service: "[v6]:port", a bare IPv6 literal, or
// "host[:port]" with host an inet_aton address or an IPv4 name and port a number or a
// service name of the endpoint's protocol.
func (p *parser) parseService(buf string, ep *endpoint) int {
	if isDigits(buf) {
		return 0
	}
	var portStr string
	hasPort := false
	if strings.HasPrefix(buf, "[") {
		inner, rest, ok := strings.Cut(buf[1:], "]")
		if !ok || !strings.HasPrefix(rest, ":") {
			return 0
		}
		buf, portStr, hasPort = inner, rest[1:], true
	}
	if a, ok := inetPton6(buf); ok {
		ep.addr, ep.af, ep.netmask = a, afInet6, 128
	} else {
		// The bracket form's port is forgotten here, as in ipvsadm: the host is
		// re-split at its last colon.
		hasPort = false
		if i := strings.LastIndexByte(buf, ':'); i >= 0 {
			buf, portStr, hasPort = buf[:i], buf[i+1:], true
		}
		a, ok := inetAton(buf)
		if !ok {
			a, ok = p.r.LookupHost(buf)
		}
		if !ok {
			return 0
		}
		ep.addr, ep.af = a, afInet
	}
	result := serviceAddr
	if hasPort {
		result |= servicePort
		if n := stringToNumber(portStr, 0, 65535); n != -1 {
			ep.port = uint16(n)
		} else if n, ok := p.r.LookupPort(portStr, ep.proto); ok {
			ep.port = n
		} else {
			return 0
		}
	}
	return result
}

// check is the validation process_options does after parsing.
func (p *parser) check(e *entry) error {
	if err := checkCommandOptions(e.cmd, e.opts); err != nil {
		return err
	}
	switch e.cmd {
	case OpAddService, OpEditService:
		if e.fwmark == 0 && e.svc.port == 0 && !e.persist {
			return fail("Zero port specified for non-persistent service")
		}
		if e.ops && e.fwmark == 0 && e.svc.proto != table.UDP {
			return fail("One-Packet Scheduling is only for UDP virtual services")
		}
		if e.sched == "" {
			e.sched = defaultScheduler
		}
	case OpStartDaemon:
		if e.daemon.Interface == "" {
			e.daemon.Interface = defaultMcastIfn
		}
	case OpAddDest, OpEditDest:
		if e.fwmark == 0 && (e.fwd == connFwdTunnel || e.fwd == connFwdRoute) {
			e.dest.port = e.svc.port
		}
		if e.dest.af != e.svc.af && e.fwd != connFwdTunnel {
			return fail("Different address family is allowed only for tunneling servers")
		}
		tunnelBits := uint64(1)<<optTunType | 1<<optTunPort | 1<<optTunNoCsum | 1<<optTunCsum | 1<<optTunRemCsum
		if e.opts&tunnelBits != 0 && e.fwd != connFwdTunnel {
			return fail("Tunnel options conflict with forward method")
		}
		if err := checkTunnelOptions(e.tunType, e.opts); err != nil {
			return err
		}
	case OpList:
		l := e.list
		if ((l.Conns || l.Timeout || l.Daemon) && (l.Stats || l.Rate || l.Thresholds)) ||
			((l.Timeout || l.Daemon) && l.PersistConn) {
			return fail("options conflicts in the list command")
		}
	}
	return nil
}

// checkCommandOptions is ipvsadm's generic_opt_check.
func checkCommandOptions(cmd Op, opts uint64) error {
	row := &commandOptions[cmd-1]
	last, count := 0, 0
	for j := range numOpts {
		if opts&(1<<j) == 0 {
			if row[j] == '+' {
				return fail("You need to supply the '%s' option for the '%s' command", optNames[j], cmd)
			}
			continue
		}
		switch row[j] {
		case 'x':
			return fail("Illegal '%s' option with the '%s' command", optNames[j], cmd)
		case '1':
			count++
			if count > 1 {
				return fail("The option '%s' conflicts with the '%s' option in the '%s' command", optNames[j], optNames[last], cmd)
			}
			last = j
		}
	}
	return nil
}

// checkTunnelOptions is ipvsadm's tunnel_opt_check.
func checkTunnelOptions(tunType int, opts uint64) error {
	last, count := 0, 0
	for j, k := range tunnelOpts {
		rule := tunnelOptions[tunType][j]
		if opts&(1<<k) == 0 {
			if rule == '+' {
				return fail("You need to supply the '%s' option for the '%s' tunnel type", optNames[k], tunTypeNames[tunType])
			}
			continue
		}
		switch rule {
		case 'x':
			return fail("Illegal '%s' option with the '%s' tunnel type", optNames[k], tunTypeNames[tunType])
		case '1':
			count++
			if count > 1 {
				return fail("The option '%s' conflicts with the '%s' option in the '%s' tunnel type", optNames[k], optNames[last], tunTypeNames[tunType])
			}
			last = k
		}
	}
	return nil
}

// command converts the checked entry to the typed Command.
func (e *entry) command() Command {
	c := Command{
		Op:         e.cmd,
		HasService: e.opts&(1<<optService) != 0,
		List:       e.list,
		Daemon:     e.daemon,
		Timeouts: table.Timeouts{
			TCP:    time.Duration(e.timeouts[0]) * time.Second,
			TCPFin: time.Duration(e.timeouts[1]) * time.Second,
			UDP:    time.Duration(e.timeouts[2]) * time.Second,
		},
	}
	s := &c.Service
	if e.fwmark != 0 {
		s.FWMark, s.IPv6 = e.fwmark, e.svc.af == afInet6
	} else if e.svc.addr.IsValid() {
		s.Protocol, s.Addr = e.svc.proto, netip.AddrPortFrom(e.svc.addr, e.svc.port)
	}
	s.Scheduler, s.Flags, s.OnePacket = e.sched, e.sflags, e.ops
	s.Persistence.Engine = e.pe
	if e.persist {
		s.Persistence.Timeout = time.Duration(e.timeout) * time.Second
	}
	if e.svc.af == afInet6 {
		s.Persistence.PrefixLen = int(e.svc.netmask)
	} else {
		m := e.svc.netmask
		if ones := bits.LeadingZeros32(^m); ones > 0 && m<<ones == 0 {
			s.Persistence.PrefixLen = ones
		} else {
			s.Persistence.Mask = netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)})
		}
	}
	if e.cmd == OpAddDest || e.cmd == OpEditDest || e.cmd == OpDelDest {
		d := &c.Dest
		d.Addr = netip.AddrPortFrom(e.dest.addr, e.dest.port)
		d.Weight, d.UThreshold, d.LThreshold = int(e.weight), int(e.uthresh), int(e.lthresh)
		d.Method = map[int]table.Method{connFwdMasq: table.Masquerade, connFwdTunnel: table.Tunnel, connFwdRoute: table.Route}[e.fwd]
		if d.Method == table.Tunnel {
			d.TunnelType = tunTypeNames[e.tunType]
			d.TunnelPort = e.tunPort
			d.TunnelFlags = tunFlagNames[e.tunFlags]
		}
	}
	return c
}
