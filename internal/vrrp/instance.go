package vrrp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govs/govs/internal/vrrp/nftfw"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// counters are an instance's statistics; they outlive reloads.
type counters struct {
	advertsSent, advertsReceived     atomic.Uint64
	priority0Sent, priority0Received atomic.Uint64
	transitions, becameMaster        atomic.Uint64
	releasedMaster                   atomic.Uint64
	bad                              [numReasons]atomic.Uint64
	// masterReason is why the instance last became master, nextMasterReason why it
	// would now, protoErrReason the last protocol error: RFC 6527's numbers, kept as
	// keepalived keeps them (MasterReason, ProtoErrReason).
	masterReason, nextMasterReason, protoErrReason atomic.Uint32
}

// RFC 6527's vrrpv3StatisticsNewMasterReason.
const (
	MasterReasonNotMaster        = 0
	MasterReasonPriority         = 1 // the master sent priority 0
	MasterReasonPreempted        = 2 // a lower priority master, or the address owner starting
	MasterReasonMasterNoResponse = 3
)

// protoErrReasons are RFC 6527's vrrpv3StatisticsProtoErrReason for the drops that have
// one.
var protoErrReasons = map[Reason]uint32{ReasonTTL: 1, ReasonVersion: 2, ReasonChecksum: 3, ReasonVRID: 4}

// countBadReason counts a dropped advert and keeps its protocol error reason.
func (c *counters) countBadReason(r Reason) {
	c.bad[r].Add(1)
	if code, ok := protoErrReasons[r]; ok {
		c.protoErrReason.Store(code)
	}
}

// instance is one running vrrp_instance: configuration, sockets and state machine. Its
// runner goroutine owns every field below stats except mu-guarded snap.
type instance struct {
	cfg    InstanceConfig
	logger *slog.Logger
	items  []trackItem
	params Params
	m      Machine
	policy rxPolicy
	stats  *counters

	ifindex int
	src     netip.Addr
	// heardMaster is the source of the last advert from another router.
	heardMaster netip.Addr
	dsts        []netip.Addr // checksum destination of each socket destination
	// oldChecksumGroup, valid on an IPv4 VRRPv3 unicast instance that may use the
	// pre-1.3.7 checksum, is the group that checksum's pseudo-header holds;
	// oldChecksum says it is in use (set by the reader, read by the runner).
	oldChecksumGroup netip.Addr
	oldChecksum      atomic.Bool
	sock             *advertSocket
	announce         garpSender
	plan             *addressPlan
	// srcIndex is the interface the source address was taken from (0: configured);
	// srcGone says why the instance is in FAULT when it is no longer there.
	srcIndex int
	srcGone  string
	// unplaced are the objects of plan that could not be added on becoming master
	// (by description): missing, but not deleted.
	unplaced map[string]bool

	// fw is the node's nftables tables; drops the addresses the instance's drop rules
	// cover (none with accept mode), held what it holds there while master; vmacs what
	// the tables do for its VMACs (its own, its addresses').
	fw    *nftfw.Firewall
	drops []nftfw.Addr
	held  *heldDrops
	vmacs []nftfw.VMAC

	// devices are the interfaces the instance was built on (its interface, its VMAC,
	// its addresses' devices), by name, with the index each had then.
	devices map[string]int
	// extra are the GARP targets garp_extra_if refreshes, one per interface; extraAt
	// is the next refresh while master; extraQueue are those of a refresh that wait
	// for their interface's schedule, the first until extraNext.
	extra      []int
	extraAt    time.Time
	extraQueue []int
	extraNext  time.Time

	// knownVRIDs, on one instance per receiving interface, family and protocol
	// (log_unknown_vrids), are the VRIDs the node's instances there run; an advert for
	// any other is logged, as keepalived logs what no instance on its socket takes.
	knownVRIDs *[256]bool

	// absent is why an instance stands in for one whose device does not exist
	// (dynamic_interfaces): a fault that lasts until the node builds the real one.
	absent string

	// adv and txBuf are reused for every advert: sending does not allocate.
	adv   Advert
	txBuf []byte

	// ah is the AH key of an auth_type AH instance, nil otherwise. ahSeq is its
	// sequence counter (runner-owned), ipID the IPv4 id of its last advert (the ICV
	// covers it, so it is ours to choose), pktBuf the packet being sent.
	ah     *ahKey
	ahSeq  uint32
	ipID   uint16
	pktBuf []byte

	// base is the configured priority, or 254 once this owner met another owner.
	base       uint8
	deleted    bool // a reload removed the instance: its last notify is DELETED
	retained   bool // stopped under DontRelease: no priority 0, its addresses stay
	faulted    bool
	faults     []string
	timerAt    time.Time // the state machine's single timer; zero when disarmed
	garpLeft   int       // rounds of GARPs (one per target) left in the current burst
	garpTarget int       // the next target of the round
	garpNext   time.Time // next GARP of the burst
	garpFailed bool      // a GARP of the current burst failed (and was logged)
	burstAt    time.Time // second burst (garp_master_delay)
	lowerAt    time.Time // second burst after a lower priority advert (garp_lower_prio_delay)
	refresh    time.Time // next refresh burst (garp_master_refresh)

	mu   sync.Mutex
	snap InstanceStatus
}

// missingDeviceError is an instance's interface, or its addresses' device, that does
// not exist.
type missingDeviceError struct {
	name string
	err  error
}

func (e *missingDeviceError) Error() string { return fmt.Sprintf("interface %q: %v", e.name, e.err) }
func (e *missingDeviceError) Unwrap() error { return e.err }

// linkByName is h.LinkByName with a missing device reported as such.
func linkByName(h *netlink.Handle, name string) (netlink.Link, error) {
	l, err := h.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return nil, &missingDeviceError{name: name, err: err}
	}
	return l, err
}

// baseInstance is what every instance has, whether or not its devices exist.
func (n *Node) baseInstance(in InstanceConfig, g *SyncGroupConfig, scripts map[string]ScriptConfig, files map[string]TrackFileConfig, procs map[string]TrackProcessConfig) *instance {
	i := &instance{
		cfg:    in,
		logger: n.logger.With("instance", in.Name),
		items:  trackItems(&in, g, scripts, files, procs),
		policy: newRxPolicy(&in),
		base:   in.Priority,
		fw:     n.fw,
		params: Params{
			Version: in.Version, Priority: in.Priority, AdvertInterval: in.AdvertInterval,
			Nopreempt: in.Nopreempt, PreemptDelay: in.PreemptDelay, DownTimerAdverts: in.DownTimerAdverts,
			LowerPrioNoAdvert: in.LowerPrioNoAdvert, HigherPrioSendAdvert: in.HigherPrioSendAdvert,
			Synced: g != nil && len(g.Members) > 1,
		},
	}
	n.mu.Lock()
	if c, ok := n.counters[in.Name]; ok {
		i.stats = c
	} else {
		i.stats = &counters{}
		n.counters[in.Name] = i.stats
	}
	n.applySets(i)
	n.mu.Unlock()
	return i
}

// absentInstance stands for an instance whose device dev does not exist yet
// (dynamic_interfaces): it stays in FAULT, sends and receives nothing, and the node
// builds the real one when dev appears.
func (n *Node) absentInstance(in InstanceConfig, g *SyncGroupConfig, scripts map[string]ScriptConfig, files map[string]TrackFileConfig, procs map[string]TrackProcessConfig, dev string) *instance {
	i := n.baseInstance(in, g, scripts, files, procs)
	i.absent = "interface " + dev + " does not exist"
	i.plan = &addressPlan{}
	i.devices = map[string]int{dev: 0}
	return i
}

func (n *Node) newInstance(h *netlink.Handle, in InstanceConfig, g *SyncGroupConfig, scripts map[string]ScriptConfig, files map[string]TrackFileConfig, procs map[string]TrackProcessConfig, pacing GARPPacing, vmacs map[string]bool) (_ *instance, err error) {
	link, err := linkByName(h, in.Interface)
	if err != nil {
		return nil, err
	}
	i := n.baseInstance(in, g, scripts, files, procs)
	i.ifindex = link.Attrs().Index
	if i.src, err = sourceAddr(h, link, &in); err != nil {
		return nil, err
	}
	if !in.SourceAddr.IsValid() {
		i.srcIndex = link.Attrs().Index
	}
	// dev is where the instance lives: its VIPs, adverts received and (unless
	// vmac_xmit_base) sent. With use_vmac it is the VMAC, whose virtual MAC then moves
	// with the master instead of every neighbour relearning the VIP's MAC.
	dev, txIndex := link, link.Attrs().Index
	defer func() {
		if err != nil {
			i.releaseVMAC()
		}
	}()
	if in.UseVMAC {
		configure := func(vmac netlink.Link) error { return n.configureVMAC(h, vmac, link, &in, i.src) }
		if dev, err = n.setupVMAC(h, link, in.VMACName, in.vmacMAC(in.IPv6()), i.holdVMACRules(vmacRules(&in), link), configure); err != nil {
			return nil, err
		}
		// Adverts are received on the VMAC even with vmac_xmit_base: a macvlan hands a
		// multicast frame whose source MAC is one of its own (another node's VMAC) to
		// that VMAC only, never to the base. Joining the group there makes IGMP/MLD
		// reports, which the firewall's VMAC rules send out of the base with its MAC,
		// so a backup never shows switches the virtual MAC (keepalived does the same).
		i.ifindex = dev.Attrs().Index
		if !in.VMACXmitBase {
			txIndex = i.ifindex
		}
	}
	for _, a := range in.addrVMACs {
		base, err := linkByName(h, a.base)
		if err != nil {
			return nil, err
		}
		configure := func(vmac netlink.Link) error { return n.configureAddrVMAC(h, vmac, base, a.v6) }
		families := vmacFamilies{IPv4: !a.v6, IPv6: a.v6}
		if _, err := n.setupVMAC(h, base, a.name, in.vmacMAC(a.v6), i.holdVMACRules(families, base), configure); err != nil {
			return nil, err
		}
	}
	group := in.MulticastGroup
	if len(in.UnicastPeers) > 0 {
		i.dsts = in.UnicastPeers
		if in.Version == 3 && !in.IPv6() && in.UnicastChecksum != UnicastChecksumNever {
			i.oldChecksumGroup = in.oldChecksumGroup
			i.oldChecksum.Store(in.UnicastChecksum == UnicastChecksumOld)
		}
	} else {
		i.dsts = []netip.Addr{group}
	}
	if i.plan, err = planAddresses(h, &in, dev.Attrs().Name); err != nil {
		return nil, err
	}
	i.drops = dropAddrs(&in, i.plan, dev)
	i.devices = map[string]int{link.Attrs().Name: link.Attrs().Index, dev.Attrs().Name: dev.Attrs().Index}
	for _, a := range i.plan.addrs {
		i.devices[a.link.Attrs().Name] = a.link.Attrs().Index
	}
	for _, v := range in.VIPs {
		i.adv.Addrs = append(i.adv.Addrs, v.Prefix.Addr())
	}
	i.adv.Version, i.adv.VRID, i.adv.Interval = in.Version, in.VRID, in.AdvertInterval
	if in.Version == 2 {
		i.adv.AuthType = in.AuthType
		if in.AuthType == AuthPass {
			copy(i.adv.AuthData[:], in.AuthPass)
		}
		if in.AuthType == AuthAH {
			i.ah = &ahKey{}
			copy(i.ah[:], in.AuthPass)
			i.pktBuf = make([]byte, 0, ipv4HeaderLen+ahHeaderLen+i.adv.Len())
		}
	}
	i.txBuf = make([]byte, 0, i.adv.Len())
	i.params.Address = i.src
	rxBuf := in.RxBufSize
	if in.rxBufMTUs > 0 {
		rxBuf = in.rxBufMTUs * dev.Attrs().MTU
	}
	if i.sock, err = openAdvertSocket(i.ifindex, txIndex, i.src, group, in.UnicastPeers, i.ah != nil, int(in.unicastTTL()), rxBuf); err != nil {
		return nil, fmt.Errorf("interface %s: %w", dev.Attrs().Name, err)
	}
	targets := i.plan.garpTargets()
	for k := range targets {
		t := &targets[k]
		if t.parent > 0 {
			if base, err := h.LinkByIndex(t.parent); err == nil {
				t.base = base.Attrs().Name
			}
		}
		t.pace = pacing.pace(t.base, t.addr.Is6())
	}
	i.extra = extraTargets(&in, targets, i.ifindex, vmacs)
	if i.announce, err = openAnnouncer(targets); err != nil {
		i.sock.close()
		return nil, err
	}
	return i, nil
}

// extraTargets picks what garp_extra_if refreshes, as keepalived's
// vrrp_send_vmac_update: the first address on each interface other than the
// instance's own (own is included with vmac_xmit_base), only on the node's VMACs
// unless ExtraIfAll.
func extraTargets(in *InstanceConfig, targets []garpTarget, own int, vmacs map[string]bool) []int {
	if in.GARP.ExtraIfInterval <= 0 {
		return nil
	}
	var out []int
	seen := map[int]bool{}
	for k, t := range targets {
		if !vmacs[t.dev] && !in.GARP.ExtraIfAll || t.ifindex == own && !in.VMACXmitBase || seen[t.ifindex] {
			continue
		}
		seen[t.ifindex] = true
		out = append(out, k)
	}
	return out
}

// sourceAddr is the configured source, or the interface's first address of the
// instance's family (for IPv6 its link-local one, as RFC 5798 §5.1.2.1 requires).
func sourceAddr(h *netlink.Handle, link netlink.Link, in *InstanceConfig) (netip.Addr, error) {
	if in.SourceAddr.IsValid() {
		return in.SourceAddr, nil
	}
	family := netlink.FAMILY_V4
	if in.IPv6() {
		family = netlink.FAMILY_V6
	}
	addrs, err := h.AddrList(link, family)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("addresses of %s: %w", in.Interface, err)
	}
	vip := map[netip.Addr]bool{}
	for _, v := range in.VIPs {
		vip[v.Prefix.Addr()] = true
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if vip[ip] || (family == netlink.FAMILY_V6) != ip.IsLinkLocalUnicast() {
			continue
		}
		return ip, nil
	}
	kind := "IPv4"
	if family == netlink.FAMILY_V6 {
		kind = "IPv6 link-local"
	}
	return netip.Addr{}, fmt.Errorf("interface %s has no %s address: %w", in.Interface, kind, errNoSource)
}

func (i *instance) close() {
	if i.absent != "" {
		return // nothing was opened
	}
	i.sock.close()
	i.announce.close()
	i.releaseVMAC()
}

// releaseVMAC gives back the instance's hold on its VMAC's firewall rules.
func (i *instance) releaseVMAC() {
	for _, v := range i.vmacs {
		if err := i.fw.RemoveVMAC(v); err != nil {
			i.logger.Error("removing the VMAC's firewall rules", "err", err)
		}
	}
	i.vmacs = nil
}

// holdVMACRules returns what puts the firewall's rules of a VMAC on base in place, for
// setupVMAC to call once the VMAC exists: they go in before it is up and has
// addresses, so even its first IGMP/MLD reports leave by the base (keepalived's order
// too).
func (i *instance) holdVMACRules(f vmacFamilies, base netlink.Link) func(netlink.Link) {
	return func(vmac netlink.Link) {
		v := nftfw.VMAC{Index: uint32(vmac.Attrs().Index), BaseIndex: uint32(base.Attrs().Index), IPv4: f.IPv4, IPv6: f.IPv6}
		if err := i.fw.AddVMAC(v); err != nil {
			// keepalived runs on without them too: only switches' learning suffers.
			i.logger.Error("moving the VMAC's IGMP/MLD reports to "+base.Attrs().Name, "err", err)
		}
		i.vmacs = append(i.vmacs, v)
	}
}

// sendAdvert encodes and sends one advert per destination, without allocating.
func (i *instance) sendAdvert(priority uint8) {
	i.adv.Priority = priority
	if i.ah != nil {
		// One sequence number and IPv4 id per advert, whatever the number of peers,
		// as keepalived; the id is never 0, which would let the kernel pick one.
		i.ahSeq++
		if i.ipID++; i.ipID == 0 {
			i.ipID = 1
		}
	}
	unicast := len(i.cfg.UnicastPeers) > 0
	oldChecksum := i.oldChecksum.Load()
	for k, dst := range i.dsts {
		sumDst := dst
		if oldChecksum {
			sumDst = i.oldChecksumGroup
		}
		msg, err := i.adv.Append(i.txBuf[:0], i.src, sumDst)
		if err == nil && i.ah != nil {
			i.pktBuf = i.ah.appendAHPacket(i.pktBuf[:0], i.ipID, i.ahSeq, i.src, dst, unicast, i.cfg.unicastTTL(), msg)
			msg = i.pktBuf
		}
		if err == nil {
			err = unix.Sendto(i.sock.tx, msg, 0, i.sock.dsts[k])
		}
		if err != nil {
			i.logger.Warn("sending advert", "to", dst, "err", err)
			continue
		}
		i.stats.advertsSent.Add(1)
		if priority == 0 {
			i.stats.priority0Sent.Add(1)
		}
	}
}

func (i *instance) status() InstanceStatus {
	i.mu.Lock()
	s := i.snap
	i.mu.Unlock()
	s.Faults = append([]string(nil), s.Faults...)
	s.AdvertsSent = i.stats.advertsSent.Load()
	s.AdvertsReceived = i.stats.advertsReceived.Load()
	s.Priority0Sent = i.stats.priority0Sent.Load()
	s.Priority0Received = i.stats.priority0Received.Load()
	s.Transitions = i.stats.transitions.Load()
	s.BecameMaster = i.stats.becameMaster.Load()
	s.MasterReason, s.ProtoErrReason = uint8(i.stats.masterReason.Load()), uint8(i.stats.protoErrReason.Load())
	s.BadPackets = map[string]uint64{}
	for _, r := range Reasons() {
		if v := i.stats.bad[r].Load(); v > 0 {
			s.BadPackets[r.String()] = v
		}
	}
	return s
}

// publish refreshes the status snapshot after a step.
func (i *instance) publish(changed time.Time) {
	i.mu.Lock()
	defer i.mu.Unlock()
	s := &i.snap
	s.Name, s.Interface, s.VRID, s.Version = i.cfg.Name, i.cfg.Interface, i.cfg.VRID, i.cfg.Version
	s.State, s.Priority, s.EffectivePriority, s.Nopreempt = i.m.State, i.base, i.params.Priority, i.params.Nopreempt
	s.Master, s.MasterPriority = i.m.Master, i.m.MasterPriority
	if i.m.State == StateMaster {
		s.Master, s.MasterPriority = i.src, i.params.Priority
	}
	s.Faults = i.faults
	s.SourceAddr, s.HeardMaster = i.src, i.heardMaster
	if s.Started.IsZero() {
		s.Started = time.Now()
	}
	s.AdvertInterval, s.MasterAdverInterval = i.params.AdvertInterval, i.m.MasterAdverInterval
	if s.VIPs == nil {
		for _, v := range i.cfg.VIPs {
			s.VIPs = append(s.VIPs, v.Prefix)
		}
	}
	if !changed.IsZero() {
		s.LastTransition = changed
	}
}

// rxAdvert is a validated advert handed from an instance's reader to its runner.
type rxAdvert struct {
	inst *instance
	info AdvertInfo
	// ahSeq is the AH sequence number of an AH instance's advert, which the runner
	// checks against the instance's counter.
	ahSeq uint32
}

// readLoop receives adverts until the socket closes, validating and counting them.
func (i *instance) readLoop(ctx context.Context, out chan<- rxAdvert) {
	buf := make([]byte, 65536)
	oob := make([]byte, 256)
	var a Advert
	for {
		payload, meta, err := i.sock.read(buf, oob)
		if errors.Is(err, errClosed) {
			return
		}
		if err != nil {
			var pe *PacketError
			if errors.As(err, &pe) {
				i.stats.countBadReason(pe.Reason)
				continue
			}
			i.logger.Warn("receiving adverts", "err", err)
			select { // a persistent error must not spin
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		var seq uint32
		if i.ah != nil {
			if len(payload) >= ahHeaderLen+2 && payload[ahHeaderLen+1] != i.cfg.VRID {
				i.otherVRID(payload[ahHeaderLen+1])
				continue // another virtual router on the same link
			}
			if payload, seq, err = i.ah.openAH(meta.header, payload, meta.src, len(i.cfg.UnicastPeers) > 0); err != nil {
				i.countBad(err, meta.src)
				continue
			}
		}
		if len(payload) >= 2 && payload[1] != i.cfg.VRID {
			i.otherVRID(payload[1])
			continue // another virtual router on the same link
		}
		if err := i.unmarshal(&a, payload, meta); err != nil {
			i.countBad(err, meta.src)
			continue
		}
		if a.VRID == 0 {
			i.countBad(packetErr(ReasonVRID, "VRID", 1, "0 is not a valid virtual router id"), meta.src)
			continue
		}
		if pe := i.policy.check(meta, &a); pe != nil {
			i.countBad(pe, meta.src)
			continue
		}
		select {
		case out <- rxAdvert{inst: i, info: AdvertInfo{Source: meta.src, Priority: a.Priority, Interval: a.Interval}, ahSeq: seq}:
		case <-ctx.Done():
			return
		}
	}
}

// otherVRID logs an advert for a VRID no instance of the node receives on this
// instance's interface, if this instance is the one that logs them there.
func (i *instance) otherVRID(vrid uint8) {
	if i.knownVRIDs != nil && !i.knownVRIDs[vrid] {
		i.logger.Info(fmt.Sprintf("unknown VRID %d received on interface %s; ignoring", vrid, i.cfg.Interface))
	}
}

// pickUnknownVRIDLoggers gives the first instance on each receiving interface, family
// and protocol the VRIDs all of them run there, so that exactly one logs the others.
func pickUnknownVRIDLoggers(insts []*instance) {
	type key struct {
		ifindex int
		v6, ah  bool
	}
	loggers := map[key]*instance{}
	for _, i := range insts {
		if i.absent != "" {
			continue
		}
		k := key{i.ifindex, i.src.Is6(), i.ah != nil}
		first, ok := loggers[k]
		if !ok {
			first = i
			first.knownVRIDs = new([256]bool)
			loggers[k] = first
		}
		first.knownVRIDs[i.cfg.VRID] = true
	}
}

// unmarshal decodes an advert for this instance, with the checksum it uses. An
// instance that may detect the old unicast checksum switches to it for good when an
// advert verifies only that way, as keepalived does for peers of 1.3.6 and earlier.
func (i *instance) unmarshal(a *Advert, payload []byte, meta rxMeta) error {
	if i.oldChecksum.Load() {
		return a.Unmarshal(payload, meta.src, i.oldChecksumGroup)
	}
	err := a.Unmarshal(payload, meta.src, meta.dst)
	var pe *PacketError
	if err == nil || i.cfg.UnicastChecksum != UnicastChecksumDetect || !i.oldChecksumGroup.IsValid() ||
		meta.dst == i.oldChecksumGroup || !errors.As(err, &pe) || pe.Reason != ReasonChecksum {
		return err
	}
	if a.Unmarshal(payload, meta.src, i.oldChecksumGroup) != nil {
		return err
	}
	i.oldChecksum.Store(true)
	i.logger.Info("setting the unicast VRRPv3 checksum to the old version (keepalived 1.3.6 and earlier)", "peer", meta.src)
	return nil
}

func (i *instance) countBad(err error, src netip.Addr) {
	var pe *PacketError
	if errors.As(err, &pe) {
		i.stats.countBadReason(pe.Reason)
	}
	i.logger.Debug("dropped advert", "from", src, "err", err)
}

// install adds the instance's addresses, routes and rules on becoming master.
func (i *instance) install(h *netlink.Handle) {
	var err error
	if i.unplaced, err = i.plan.addEach(h); err != nil {
		i.logger.Error("adding virtual addresses", "err", err)
	}
}

// clear zeroes every counter.
func (c *counters) clear() {
	for _, a := range []*atomic.Uint64{&c.advertsSent, &c.advertsReceived, &c.priority0Sent, &c.priority0Received,
		&c.transitions, &c.becameMaster, &c.releasedMaster} {
		a.Store(0)
	}
	for r := range c.bad {
		c.bad[r].Store(0)
	}
	for _, a := range []*atomic.Uint32{&c.masterReason, &c.nextMasterReason, &c.protoErrReason} {
		a.Store(0)
	}
}

// couldSendFrom says whether a, an address of the instance's interface, would do as its
// source address (as sourceAddr chooses one): of its family, link-local for IPv6, not
// one of its virtual addresses.
func (i *instance) couldSendFrom(a netip.Addr) bool {
	if a.Is4() == i.cfg.IPv6() || a.Is6() && !a.IsLinkLocalUnicast() {
		return false
	}
	return !slices.ContainsFunc(i.cfg.VIPs, func(v VIP) bool { return v.Prefix.Addr() == a })
}
