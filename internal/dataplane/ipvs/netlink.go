package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	mobyipvs "github.com/moby/ipvs"
	"golang.org/x/sys/unix"

	"github.com/govs/govs/internal/adm"
	"github.com/govs/govs/internal/table"
)

// netlinkKernel programs IPVS in the caller's network namespace. Timeouts and flushing
// go through moby/ipvs (Docker's and kube-proxy's client). Everything else goes through
// mdlayher/netlink and mdlayher/genetlink with IPVS's attribute numbering, because
// moby/ipvs makes one round trip per request with a fresh 64 KiB receive buffer each
// (2.4 ms a request in the TCG guest: 1,000 services x 10 real servers took 28 s,
// keepalived 11 s), reads 32-bit counters, and knows neither the persistent-connection
// count, nor tunnel options (GUE/GRE type, port, checksum), nor the sync daemon. Change
// requests go out in batches, many in one sendmsg, with one acknowledgement per batch.
type netlinkKernel struct {
	moby   *mobyipvs.Handle
	nl     *netlink.Conn
	genl   *genetlink.Conn
	family uint16
	// mu serialises exchanges on the socket: a batch's answers must not be
	// read by a concurrent request (Stats runs beside Apply).
	mu  sync.Mutex
	buf []byte // receives a batch's answers; under mu
}

var _ kernel = (*netlinkKernel)(nil)

// batchSize bounds the requests of one sendmsg: 256 of them are about 35 KB, well
// within the socket's send buffer, and should every one be refused, their answers
// (short, NETLINK_CAP_ACK) still fit the receive buffer.
const batchSize = 256

// openKernel connects to IPVS in the network namespace at nsPath ("": the process's).
// It fails with ErrNoIPVS (wrapped) when the kernel has no IPVS generic-netlink family.
func openKernel(nsPath string) (*netlinkKernel, error) {
	var cfg *netlink.Config
	if nsPath != "" {
		ns, err := os.Open(nsPath)
		if err != nil {
			return nil, fmt.Errorf("ipvs: network namespace: %w", err)
		}
		defer ns.Close() // the sockets keep the namespace
		cfg = &netlink.Config{NetNS: int(ns.Fd())}
	}
	nc, err := netlink.Dial(syscall.NETLINK_GENERIC, cfg)
	if err != nil {
		return nil, fmt.Errorf("ipvs: opening generic netlink: %w", err)
	}
	c := genetlink.NewConn(nc)
	fam, err := c.GetFamily(familyName)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("ipvs: %w: generic netlink family %q: %v", ErrNoIPVS, familyName, err)
	}
	// Room for a batch's answers; the kernel caps it, which batchSize allows for. A
	// refusal need not quote the request back (NETLINK_CAP_ACK, since Linux 4.3).
	_ = nc.SetReadBuffer(1 << 22)
	_ = nc.SetOption(netlink.CapAcknowledge, true)
	h, err := mobyipvs.New(nsPath)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("ipvs: opening the IPVS netlink socket: %w", err)
	}
	return &netlinkKernel{moby: h, nl: nc, genl: c, family: fam.ID}, nil
}

// ErrNoIPVS says the kernel has no IPVS (no ip_vs module, or not in this namespace).
var ErrNoIPVS = errors.New("the kernel has no IPVS")

// exchangeTimeout bounds one generic-netlink request and its answer.
const exchangeTimeout = 10 * time.Second

func (k *netlinkKernel) Close() error {
	k.moby.Close()
	return k.genl.Close() // closes k.nl too
}

func (k *netlinkKernel) execute(cmd uint8, flags netlink.HeaderFlags, attrs func(ae *netlink.AttributeEncoder)) ([]genetlink.Message, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
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
		key, err := nested(cmdAttrService, func(l *attrList) { encodeServiceKey(l, s.ServiceKey) })
		if err != nil {
			return nil, nil, err
		}
		dmsgs, err := k.execute(cmdGetDest, netlink.Dump, func(ae *netlink.AttributeEncoder) {
			ae.Bytes(key.Type, key.Data)
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

// Change sends the requests in order: service and destination changes in batches,
// timeouts through moby/ipvs between them.
func (k *netlinkKernel) Change(ops []op) []error {
	errs := make([]error, len(ops))
	for i := 0; i < len(ops); {
		if ops[i].kind == opSetTimeouts {
			t := ops[i].timeouts
			errs[i] = k.moby.SetConfig(&mobyipvs.Config{TimeoutTCP: t.TCP, TimeoutTCPFin: t.TCPFin, TimeoutUDP: t.UDP})
			i++
			continue
		}
		j := i
		for j < len(ops) && j-i < batchSize && ops[j].kind != opSetTimeouts {
			j++
		}
		k.batch(ops[i:j], errs[i:j])
		i = j
	}
	return errs
}

// batch sends ops in one sendmsg. Only the last request asks for an acknowledgement:
// the kernel answers the others only when it refuses one, and it handles the requests
// of one sendmsg in order, so when the last one's answer is in, every refusal before it
// is too. (An acknowledgement per request cost two receive calls each; 11,000 of them
// were most of govs's start time in the guest.)
func (k *netlinkKernel) batch(ops []op, errs []error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	msgs := make([]netlink.Message, 0, len(ops))
	var last keyAttr
	for _, o := range ops {
		m, err := k.message(o, &last)
		if err != nil {
			for i := range errs {
				errs[i] = err
			}
			return
		}
		msgs = append(msgs, m)
	}
	msgs[len(msgs)-1].Header.Flags |= netlink.Acknowledge
	fail := func(err error) {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	if err := k.nl.SetDeadline(time.Now().Add(exchangeTimeout)); err != nil {
		fail(err)
		return
	}
	sent, err := k.nl.SendMessages(msgs)
	if err != nil {
		fail(err)
		return
	}
	rc, err := k.nl.SyscallConn()
	if err != nil {
		fail(err)
		return
	}
	if k.buf == nil {
		k.buf = make([]byte, 1<<16)
	}
	first := sent[0].Header.Sequence
	for done := false; !done; {
		var n int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			n, _, rerr = unix.Recvfrom(int(fd), k.buf, unix.MSG_DONTWAIT)
			return rerr != unix.EAGAIN
		})
		if err == nil {
			err = rerr
		}
		if err == nil {
			done, err = readAnswers(k.buf[:n], first, errs)
		}
		if err != nil {
			fail(fmt.Errorf("no acknowledgement: %w", err))
			k.drain(rc)
			return
		}
	}
}

// drain discards what is left to read after a failed batch, so that the next
// exchange does not take an old answer for its own.
func (k *netlinkKernel) drain(rc syscall.RawConn) {
	for range batchSize {
		var rerr error
		if err := rc.Control(func(fd uintptr) {
			_, _, rerr = unix.Recvfrom(int(fd), k.buf, unix.MSG_DONTWAIT)
		}); err != nil || rerr != nil {
			return
		}
	}
}

// readAnswers reads the kernel's answers to a batch whose first request had sequence
// number first: a refusal sets that request's error, and the answer to the last request
// (len(errs)-1) ends the batch. Answers to other sequence numbers (a batch that timed
// out earlier) are skipped.
func readAnswers(b []byte, first uint32, errs []error) (last bool, err error) {
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil {
		return false, fmt.Errorf("malformed netlink answer: %w", err)
	}
	for _, m := range msgs {
		i := m.Header.Seq - first // wraps like the sequence numbers
		if m.Header.Type != syscall.NLMSG_ERROR || uint64(i) >= uint64(len(errs)) {
			continue
		}
		if len(m.Data) < 4 {
			return false, fmt.Errorf("netlink answer to request %d: %d bytes, want at least 4", i, len(m.Data))
		}
		if code := int32(binary.NativeEndian.Uint32(m.Data)); code < 0 {
			errs[i] = syscall.Errno(-code)
		}
		if int(i) == len(errs)-1 {
			last = true
		}
	}
	return last, nil
}

// message encodes one change request. The destination requests of one service follow
// each other: last holds the service key attribute of the previous request, to reuse.
func (k *netlinkKernel) message(o op, last *keyAttr) (netlink.Message, error) {
	var cmd uint8
	switch o.kind {
	case opNewService:
		cmd = cmdNewService
	case opSetService:
		cmd = cmdSetService
	case opDelService:
		cmd = cmdDelService
	case opNewDest:
		cmd = cmdNewDest
	case opSetDest:
		cmd = cmdSetDest
	case opDelDest:
		cmd = cmdDelDest
	default:
		return netlink.Message{}, fmt.Errorf("not a service or destination change: %s", o.kind)
	}
	var attrs [2]netlink.Attribute
	n := 1
	switch o.kind {
	case opNewService, opSetService:
		a, err := nested(cmdAttrService, func(l *attrList) {
			encodeServiceKey(l, o.svc.ServiceKey)
			encodeServiceAttrs(l, *o.svc)
		})
		if err != nil {
			return netlink.Message{}, err
		}
		attrs[0] = a
	default:
		if last.svc != o.svc {
			a, err := nested(cmdAttrService, func(l *attrList) { encodeServiceKey(l, o.svc.ServiceKey) })
			if err != nil {
				return netlink.Message{}, err
			}
			*last = keyAttr{svc: o.svc, attr: a}
		}
		attrs[0] = last.attr
	}
	if o.kind == opNewDest || o.kind == opSetDest || o.kind == opDelDest {
		a, err := nested(cmdAttrDest, func(l *attrList) { encodeDest(l, o.dest) })
		if err != nil {
			return netlink.Message{}, err
		}
		attrs[1] = a
		n = 2
	}
	data, err := netlink.MarshalAttributes(attrs[:n])
	if err != nil {
		return netlink.Message{}, err
	}
	body, err := (genetlink.Message{Header: genetlink.Header{Command: cmd, Version: 1}, Data: data}).MarshalBinary()
	if err != nil {
		return netlink.Message{}, err
	}
	return netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(k.family), Flags: netlink.Request},
		Data:   body,
	}, nil
}

// keyAttr is the service key attribute last encoded, for the service svc.
type keyAttr struct {
	svc  *table.Service
	attr netlink.Attribute
}

func (k *netlinkKernel) Timeouts() (table.Timeouts, error) {
	c, err := k.moby.GetConfig()
	if err != nil {
		return table.Timeouts{}, fmt.Errorf("ipvs: reading timeouts: %w", err)
	}
	return table.Timeouts{TCP: c.TimeoutTCP, TCPFin: c.TimeoutTCPFin, UDP: c.TimeoutUDP}, nil
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

// netmask is IPVS_SVC_ATTR_NETMASK as a host-order u32: for IPv4 it holds the mask's
// four bytes in network order (as ipvsadm sends it), for IPv6 the prefix length.
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
