package adm

import (
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/govs/govs/internal/table"
)

// Backend is what Run executes commands against: the daemon's engine in production
// (which owns the table and applies the change to its data plane), a Model in tests.
// Implementations must be safe for concurrent use.
type Backend interface {
	// Table is the table as it runs now. Services and destinations come in the order
	// the data plane keeps them (what -L --nosort prints); listings sort a copy.
	Table() table.Table
	// Stats are the counters, rates and connection counts of every service and dest.
	Stats() table.Stats
	// Conns are the connection entries and persistence templates (-L -c).
	Conns() []table.Conn
	// Daemons are the running connection sync daemons (-L --daemon).
	Daemons() []Daemon
	// Apply makes one change (cmd.Op.Changes() is true). A refusal IPVS would make
	// should be a *KernelError, so ipvsadm's words are printed; any other error is
	// printed as it is. Either way the command exits 255.
	Apply(cmd Command) error
}

// Default kernel values the model starts with and the listings fall back to.
const (
	DefaultTCPTimeout    = 900 * time.Second
	DefaultTCPFinTimeout = 120 * time.Second
	DefaultUDPTimeout    = 300 * time.Second
)

// kernelSchedulers are the ip_vs_* scheduler modules of Debian 12's 6.1 kernel (no twos).
var kernelSchedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"}

// ModelOptions tune a Model.
type ModelOptions struct {
	// Salt stands for the bits of the kernel's per-namespace pointer that IPVS mixes into
	// its service hash; with the table size it decides the order services come out in
	// (-L --nosort, and -L's order where ipvsadm's comparison is not a total order).
	Salt uint32
	// Schedulers and Engines are the names the "kernel" knows; nil means Debian 12's
	// modules (rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh; sip).
	Schedulers []string
	Engines    []string
	// SyncInterface reports whether a sync daemon may use the interface; nil means a
	// multicast-capable, non-loopback interface of this host.
	SyncInterface func(name string) bool
}

// Model is an in-memory IPVS: the kernel's service hash order, newest-first
// destination lists, the trash that revives a re-added destination with its connection
// counters, timeouts and sync daemons, and the kernel's errors for every change. It
// implements Backend; counters and connections that traffic would produce are fed with
// SetStats and SetConns.
type Model struct {
	mu       sync.Mutex
	opts     ModelOptions
	addrTab  [256][]*modelService // newest first within a bucket
	fwmTab   [256][]*modelService
	timeouts table.Timeouts
	daemons  [2]*Daemon // master, backup
	trash    map[trashKey]table.DestStats
	conns    []table.Conn
}

type modelService struct {
	svc   table.Service // Dests newest first
	stats table.ServiceStats
	dests map[table.DestKey]*table.DestStats
}

type trashKey struct {
	svc  table.ServiceKey
	dest table.DestKey
}

// maxTrash bounds the remembered deleted destinations; the kernel expires its trash too.
const maxTrash = 4096

var _ Backend = (*Model)(nil)

// NewModel returns an empty model with the kernel's default timeouts.
func NewModel(opts ModelOptions) *Model {
	if opts.Schedulers == nil {
		opts.Schedulers = kernelSchedulers
	}
	if opts.Engines == nil {
		opts.Engines = []string{"sip"}
	}
	if opts.SyncInterface == nil {
		opts.SyncInterface = hostMulticastInterface
	}
	return &Model{
		opts:     opts,
		timeouts: table.Timeouts{TCP: DefaultTCPTimeout, TCPFin: DefaultTCPFinTimeout, UDP: DefaultUDPTimeout},
		trash:    map[trashKey]table.DestStats{},
	}
}

func hostMulticastInterface(name string) bool {
	ifi, err := net.InterfaceByName(name)
	return err == nil && ifi.Flags&net.FlagMulticast != 0 && ifi.Flags&net.FlagLoopback == 0
}

// Load replaces the services with t's (destinations keep t's order) and takes t's
// non-zero timeouts, as a reload would.
func (m *Model) Load(t table.Table) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addrTab, m.fwmTab = [256][]*modelService{}, [256][]*modelService{}
	for _, s := range t.Services {
		ms := &modelService{svc: s, dests: map[table.DestKey]*table.DestStats{}}
		ms.svc.Dests = slices.Clone(s.Dests)
		ms.stats.Key = s.ServiceKey
		for _, d := range s.Dests {
			ms.dests[d.Addr] = &table.DestStats{Addr: d.Addr}
		}
		m.insert(ms)
	}
	m.setTimeouts(t.Timeouts)
}

// bucket returns the hash chain of a service key, as ip_vs_svc_hashkey and
// ip_vs_svc_fwm_hashkey place it.
func (m *Model) bucket(k table.ServiceKey) *[]*modelService {
	if k.FWMark != 0 {
		return &m.fwmTab[(m.opts.Salt^k.FWMark)&255]
	}
	a := k.Addr.Addr()
	var fold uint32
	if a.Is4() {
		b := a.As4()
		fold = be32(b[:])
	} else {
		b := a.As16()
		fold = be32(b[0:]) ^ be32(b[4:]) ^ be32(b[8:]) ^ be32(b[12:])
	}
	port := uint32(k.Addr.Port())
	return &m.addrTab[(uint32(k.Protocol)^fold^m.opts.Salt^(port>>8)^port)&255]
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func (m *Model) insert(ms *modelService) {
	b := m.bucket(ms.svc.ServiceKey)
	*b = append([]*modelService{ms}, *b...)
}

func (m *Model) find(k table.ServiceKey) (*modelService, int) {
	for i, ms := range *m.bucket(k) {
		if ms.svc.ServiceKey == k {
			return ms, i
		}
	}
	return nil, -1
}

// each visits the services in the kernel's dump order.
func (m *Model) each(f func(*modelService)) {
	for _, tab := range []*[256][]*modelService{&m.addrTab, &m.fwmTab} {
		for _, chain := range tab {
			for _, ms := range chain {
				f(ms)
			}
		}
	}
}

// Table implements Backend.
func (m *Model) Table() table.Table {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := table.Table{Timeouts: m.timeouts}
	m.each(func(ms *modelService) {
		s := ms.svc
		s.Dests = slices.Clone(ms.svc.Dests)
		t.Services = append(t.Services, s)
	})
	return t
}

// Stats implements Backend.
func (m *Model) Stats() table.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	var st table.Stats
	m.each(func(ms *modelService) {
		ss := ms.stats
		ss.Dests = nil
		for _, d := range ms.svc.Dests {
			ss.Dests = append(ss.Dests, *ms.dests[d.Addr])
		}
		st.Services = append(st.Services, ss)
	})
	return st
}

// Conns implements Backend.
func (m *Model) Conns() []table.Conn {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.conns)
}

// Daemons implements Backend.
func (m *Model) Daemons() []Daemon {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ds []Daemon
	for _, d := range m.daemons {
		if d != nil {
			ds = append(ds, *d)
		}
	}
	return ds
}

// SetStats feeds the counters traffic would have produced; entries for services or
// destinations the model does not hold are ignored.
func (m *Model) SetStats(st table.Stats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ss := range st.Services {
		ms, _ := m.find(ss.Key)
		if ms == nil {
			continue
		}
		ms.stats.Counters, ms.stats.Rates = ss.Counters, ss.Rates
		for _, ds := range ss.Dests {
			if d := ms.dests[ds.Addr]; d != nil {
				*d = ds
			}
		}
	}
}

// SetConns feeds the connection entries.
func (m *Model) SetConns(c []table.Conn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.conns = slices.Clone(c)
}

// Apply implements Backend with the checks, in the order, and with the errnos of the
// kernel's IPVS netlink handlers.
func (m *Model) Apply(cmd Command) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := cmd.Service.ServiceKey
	switch cmd.Op {
	case OpAddService:
		if ms, _ := m.find(k); ms != nil {
			return kernelErr(cmd.Op, syscall.EEXIST)
		}
		if err := m.checkModules(cmd); err != nil {
			return err
		}
		s := cmd.Service
		s.Dests = nil
		m.insert(&modelService{svc: s, stats: table.ServiceStats{Key: k}, dests: map[table.DestKey]*table.DestStats{}})
	case OpEditService:
		ms, _ := m.find(k)
		if ms == nil {
			return kernelErr(cmd.Op, syscall.ESRCH)
		}
		if err := m.checkModules(cmd); err != nil {
			return err
		}
		dests := ms.svc.Dests
		ms.svc = cmd.Service
		ms.svc.Dests = dests
	case OpDelService:
		ms, i := m.find(k)
		if ms == nil {
			return kernelErr(cmd.Op, syscall.ESRCH)
		}
		m.trashService(ms)
		b := m.bucket(k)
		*b = slices.Delete(*b, i, i+1)
	case OpFlush:
		m.each(m.trashService)
		m.addrTab, m.fwmTab = [256][]*modelService{}, [256][]*modelService{}
	case OpZero:
		if cmd.HasService {
			ms, _ := m.find(k)
			if ms == nil {
				return kernelErr(cmd.Op, syscall.ESRCH)
			}
			zero(ms)
		} else {
			m.each(zero)
		}
	case OpAddDest, OpEditDest, OpDelDest:
		return m.applyDest(cmd)
	case OpSetTimeouts:
		m.setTimeouts(cmd.Timeouts)
	case OpStartDaemon, OpStopDaemon:
		return m.applyDaemon(cmd)
	default:
		return kernelErr(cmd.Op, syscall.EINVAL)
	}
	return nil
}

func (m *Model) applyDaemon(cmd Command) error {
	if cmd.Daemon.State != DaemonMaster && cmd.Daemon.State != DaemonBackup {
		return kernelErr(cmd.Op, syscall.EINVAL)
	}
	slot := &m.daemons[cmd.Daemon.State-1]
	if cmd.Op == OpStopDaemon {
		if *slot == nil {
			return kernelErr(cmd.Op, syscall.ESRCH)
		}
		*slot = nil
		return nil
	}
	if *slot != nil {
		return kernelErr(cmd.Op, syscall.EEXIST)
	}
	if !m.opts.SyncInterface(cmd.Daemon.Interface) {
		return kernelErr(cmd.Op, syscall.EINVAL)
	}
	d := cmd.Daemon
	if d.MaxLen == 0 {
		d.MaxLen = 1472 // an Ethernet MTU less the IPv4 and UDP headers
	}
	if !d.Group.IsValid() {
		d.Group = netip.AddrFrom4([4]byte{224, 0, 0, 81})
	}
	if d.Port == 0 {
		d.Port = 8848
	}
	if d.TTL == 0 {
		d.TTL = 1
	}
	*slot = &d
	return nil
}

func (m *Model) checkModules(cmd Command) error {
	s := cmd.Service
	if !slices.Contains(m.opts.Schedulers, s.Scheduler) {
		return kernelErr(cmd.Op, syscall.ENOENT)
	}
	if e := s.Persistence.Engine; e != "" && !slices.Contains(m.opts.Engines, e) {
		return kernelErr(cmd.Op, syscall.ENOENT)
	}
	return nil
}

func (m *Model) setTimeouts(t table.Timeouts) {
	if t.TCP > 0 {
		m.timeouts.TCP = t.TCP
	}
	if t.TCPFin > 0 {
		m.timeouts.TCPFin = t.TCPFin
	}
	if t.UDP > 0 {
		m.timeouts.UDP = t.UDP
	}
}

func zero(ms *modelService) {
	ms.stats.Counters, ms.stats.Rates = table.Counters{}, table.Rates{}
	for _, d := range ms.dests {
		d.Counters, d.Rates = table.Counters{}, table.Rates{}
	}
}

// trashService moves every destination with connections to the trash, as deleting a
// service does in the kernel.
func (m *Model) trashService(ms *modelService) {
	for _, d := range ms.svc.Dests {
		m.trashDest(ms, d.Addr)
	}
}

func (m *Model) trashDest(ms *modelService, addr table.DestKey) {
	ds := ms.dests[addr]
	delete(ms.dests, addr)
	if ds == nil || ds.ActiveConn+ds.InActConn+ds.PersistConn == 0 {
		return // the kernel frees a destination nothing refers to
	}
	if len(m.trash) >= maxTrash {
		for k := range m.trash {
			delete(m.trash, k)
			break
		}
	}
	m.trash[trashKey{ms.svc.ServiceKey, addr}] = *ds
}

func (m *Model) applyDest(cmd Command) error {
	ms, _ := m.find(cmd.Service.ServiceKey)
	if ms == nil {
		return kernelErr(cmd.Op, syscall.ESRCH)
	}
	d := cmd.Dest
	d.Addr = netip.AddrPortFrom(d.Addr.Addr().Unmap(), d.Addr.Port())
	i := slices.IndexFunc(ms.svc.Dests, func(x table.Dest) bool { return x.Addr == d.Addr })
	if cmd.Op != OpDelDest && (d.Weight < 0 || d.LThreshold > d.UThreshold) {
		return kernelErr(cmd.Op, syscall.ERANGE)
	}
	switch cmd.Op {
	case OpAddDest:
		if i >= 0 {
			return kernelErr(cmd.Op, syscall.EEXIST)
		}
		tk := trashKey{ms.svc.ServiceKey, d.Addr}
		ds, revived := m.trash[tk]
		if revived {
			delete(m.trash, tk)
		} else {
			if !unicast(d.Addr.Addr()) {
				return kernelErr(cmd.Op, syscall.EINVAL)
			}
			ds = table.DestStats{Addr: d.Addr}
		}
		ms.svc.Dests = append([]table.Dest{d}, ms.svc.Dests...)
		ms.dests[d.Addr] = &ds
	case OpEditDest:
		if i < 0 {
			return kernelErr(cmd.Op, syscall.ENOENT)
		}
		ms.svc.Dests[i] = d
	case OpDelDest:
		if i < 0 {
			return kernelErr(cmd.Op, syscall.ENOENT)
		}
		m.trashDest(ms, d.Addr)
		ms.svc.Dests = slices.Delete(ms.svc.Dests, i, i+1)
	}
	return nil
}

// unicast is the kernel's test of a new destination's address (inet_addr_type is
// RTN_UNICAST or RTN_LOCAL; for IPv6 a unicast, non-link-local address).
func unicast(a netip.Addr) bool {
	if a.Is4() {
		return !a.IsUnspecified() && !a.IsMulticast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
	}
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() && !a.IsLinkLocalUnicast()
}
