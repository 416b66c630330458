package vrrp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govs/govs/internal/nsrun"
	"github.com/govs/govs/internal/threadprio"
	"github.com/govs/govs/internal/vrrp/nftfw"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// StateChange is sent on Node.Events for every transition of an instance.
type StateChange struct {
	Instance string
	From, To State
	// Priority is the effective priority at the time of the change.
	Priority uint8
	Time     time.Time
}

// InstanceStatus is a snapshot of one instance.
type InstanceStatus struct {
	Name      string
	Interface string
	VRID      uint8
	Version   uint8
	State     State
	// Priority is the base priority: the configured one, or what SetBasePriority or
	// meeting another address owner (254) made it. EffectivePriority is the one
	// tracking made of it.
	Priority, EffectivePriority uint8
	// Nopreempt is nopreempt, as configured or as SetPreempt made it.
	Nopreempt bool
	// Master is the current master as far as we know: our source address when we are
	// master, the last advertising master otherwise (invalid when unknown).
	Master         netip.Addr
	MasterPriority uint8
	// Faults say why the instance is in FAULT.
	Faults []string
	// Counters since the instance was first started (they survive reloads).
	AdvertsSent, AdvertsReceived     uint64
	Priority0Sent, Priority0Received uint64
	Transitions, BecameMaster        uint64
	BadPackets                       map[string]uint64 // by Reason.String()
	// HeardMaster is the source of the last advert from another router (zero if none
	// yet), and Started when this instance started or was last reloaded.
	HeardMaster netip.Addr
	Started     time.Time
	// MasterReason is why the instance last became master and ProtoErrReason the last
	// protocol error of a received advert, with RFC 6527's numbers.
	MasterReason, ProtoErrReason        uint8
	LastTransition                      time.Time
	SourceAddr                          netip.Addr
	VIPs                                []netip.Prefix
	AdvertInterval, MasterAdverInterval time.Duration
}

// Option changes how a Node runs.
type Option func(*Node)

// WithNetNS makes the node open its sockets and do its netlink work in the network
// namespace h instead of the caller's. Scripts still run in the process's namespace.
func WithNetNS(h netns.NsHandle) Option {
	return func(n *Node) { n.ns = h }
}

// DontRelease makes the node leave its virtual addresses, routes and rules, its VMACs
// and promote_secondaries in place when it stops, and send no priority-0 advert:
// keepalived's --dont-release-vrrp. A reload still releases what it removes.
func DontRelease() Option {
	return func(n *Node) { n.dontRelease = true }
}

// WithAlerter sends smtp_alert mails through a.
func WithAlerter(a Alerter) Option {
	return func(n *Node) { n.alerter = a }
}

// Node runs every VRRP instance of a configuration.
type Node struct {
	logger      *slog.Logger
	ns          netns.NsHandle
	alerter     Alerter
	dontRelease bool

	// threads are the OS threads of runners given vrrp_priority, vrrp_rt_priority
	// or vrrp_cpu_affinity.
	threads *threadprio.Group

	mu      sync.Mutex
	cfg     Config
	updates chan Config
	events  chan StateChange
	dropped atomic.Uint64
	// counters survive reloads, keyed by instance name.
	counters map[string]*counters
	// live are the instances of the running generation, for Status, and runnerOf their
	// runners by instance name, for SendGARP.
	live     []*instance
	runnerOf map[string]*runner
	// vmacs are the VMAC devices the node created or adopted, by name, and vmacBases
	// the base interfaces' ARP sysctls from before the first VMAC on them (mu).
	vmacs     map[string]vmacState
	vmacBases map[string]baseSaved
	// holdUntil ends vrrp_startup_delay; set before the first runner starts, read-only
	// after.
	holdUntil time.Time
	// garp paces the gratuitous ARPs and NAs of all instances, across reloads.
	garp garpPacer
	// fw is the namespace's nftables tables, kept across reloads; set by Run.
	fw *nftfw.Firewall
	// relink asks Run to rebuild the instances on re-created interfaces.
	relink chan struct{}
	// bfds are the bfd_instance sessions' states (mu), given to every generation's
	// tracker; tr is the running generation's tracker (mu).
	bfds map[string]bool
	tr   *tracker
	// sets are the runtime changes of the instances until the next reload (mu).
	sets runtimeSets
}

// New validates cfg and returns a node ready to Run. logger may be nil.
func New(cfg Config, logger *slog.Logger, opts ...Option) (*Node, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	norm, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	n := &Node{
		logger: logger.With("component", "vrrp"), ns: netns.None(), cfg: norm,
		updates: make(chan Config, 1), events: make(chan StateChange, 256), relink: make(chan struct{}, 1), bfds: map[string]bool{},
		counters: map[string]*counters{}, vmacs: map[string]vmacState{}, vmacBases: map[string]baseSaved{},
	}
	n.threads = threadprio.NewGroup("vrrp", norm.Threads, n.logger)
	for _, o := range opts {
		o(n)
	}
	return n, nil
}

// ClearStats zeroes every instance's statistics, as keepalived's STATS_CLEAR signal
// does once it has written them.
func (n *Node) ClearStats() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.counters {
		c.clear()
	}
}

// SetBFD records whether bfd_instance name's session is Up, for the instances that
// track it (track_bfd). A session not yet reported is down. It does not block.
func (n *Node) SetBFD(name string, up bool) {
	n.mu.Lock()
	n.bfds[name] = up
	tr := n.tr
	n.mu.Unlock()
	if tr != nil {
		tr.setBFD(name, up)
	}
}

// Running is the configuration the node runs, normalized (VMAC names filled in).
func (n *Node) Running() Config {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cfg
}

// SendGARP sends a round of gratuitous ARPs / unsolicited NAs for instance name's
// virtual addresses if it holds them (a master), as keepalived's D-Bus SendGarp: on the
// instance's schedule (vrrp_garp_interval, garp_group), after any round under way. It
// fails only when no running instance has that name.
func (n *Node) SendGARP(name string) error {
	n.mu.Lock()
	r := n.runnerOf[name]
	n.mu.Unlock()
	if r == nil {
		return fmt.Errorf("no VRRP instance %s", name)
	}
	select {
	case r.garp <- name:
	default: // as many asked as the runner holds: one more round adds nothing
	}
	return nil
}

// Events delivers state changes. The channel is buffered; if the reader falls behind,
// changes are dropped (and logged) rather than delaying adverts — Status always has the
// current state. It is closed when Run returns.
func (n *Node) Events() <-chan StateChange { return n.events }

// Update replaces the configuration of a running node (a reload): instances that still
// exist under the same name, interface and VRID keep their state (a master stays master
// and keeps the addresses still configured); removed instances stop as on shutdown.
func (n *Node) Update(cfg Config) error {
	norm, err := cfg.normalize()
	if err != nil {
		return err
	}
	select {
	case <-n.updates: // an update not yet applied is superseded
	default:
	}
	n.updates <- norm
	return nil
}

// Status returns a snapshot of every instance, in configuration order.
func (n *Node) Status() []InstanceStatus {
	n.mu.Lock()
	live := n.live
	n.mu.Unlock()
	out := make([]InstanceStatus, 0, len(live))
	for _, i := range live {
		out = append(out, i.status())
	}
	return out
}

// ScriptResults are the running configuration's vrrp_scripts' results, by name.
func (n *Node) ScriptResults() map[string]ScriptResult {
	if tr := n.tracker(); tr != nil {
		return tr.scriptResults()
	}
	return nil
}

// TrackFileValues are the running configuration's track_files' last values, by name.
func (n *Node) TrackFileValues() map[string]int64 {
	if tr := n.tracker(); tr != nil {
		return tr.fileValues()
	}
	return nil
}

// tracker is the running generation's tracker; nil before Run has prepared one.
func (n *Node) tracker() *tracker {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.tr
}

// Run runs the instances until ctx ends, then stops them as keepalived does on SIGTERM:
// masters send a priority-0 advert and remove their addresses, and STOP notifies run.
func (n *Node) Run(ctx context.Context) error {
	var h *netlink.Handle
	var err error
	if n.ns.IsOpen() {
		h, err = netlink.NewHandleAt(n.ns, unix.NETLINK_ROUTE)
	} else {
		// Only rtnetlink: addresses, routes, rules and links are all VRRP needs, and a
		// kernel that cannot load xfrm or netfilter netlink must not stop it.
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
	}
	if err != nil {
		return fmt.Errorf("vrrp: netlink: %w", err)
	}
	defer h.Close()

	n.mu.Lock()
	cfg := n.cfg
	n.mu.Unlock()
	n.setCmdRcvBuf(h, RcvBuf{}, cfg.NetlinkCmdRcvBuf)
	nctx, stopNotifier := context.WithCancel(context.Background())
	notif := newNotifier(cfg, n.alerter, n.logger)
	notifDone := make(chan struct{})
	go func() { notif.run(nctx); close(notifDone) }()
	defer func() { stopNotifier(); <-notifDone }()

	defer close(n.events) // every runner has ended when Run returns
	if cfg.StartupDelay > 0 {
		n.holdUntil = time.Now().Add(cfg.StartupDelay)
	}

	n.fw = n.newFirewall(cfg.Firewall)
	defer func() {
		if err := n.fw.Close(); err != nil {
			n.logger.Error("deleting the nftables tables", "err", err)
		}
	}()
	n.noteFirewall(cfg)
	if cfg.DisableLocalIGMP {
		defer disableLocalIGMP(n.ns, n.logger)()
	}
	next, err := n.prepare(ctx, h, cfg)
	if err != nil {
		n.removeVMACs(h, nil)
		return err
	}
	prom := newPromoter(n.ns, n.logger)
	prom.apply(cfg)
	static := n.planStatic(h, cfg.Static)
	n.applyStatic(h, nil, static)
	defer func() {
		if err := static.remove(h); err != nil {
			n.logger.Error("removing static entries", "err", err)
		}
	}()
	gen := n.launch(next, h, notif, nil, nil)
	// Deletions of what the node put in are looked for a little after the
	// notifications that may mean one, so that a burst costs one look.
	ownCtx, stopOwn := context.WithCancel(ctx)
	ownChanged := make(chan struct{}, 1)
	ownDone := make(chan struct{})
	go func() {
		defer close(ownDone)
		n.watchOwn(ownCtx, cfg.NetlinkMonitorRcvBuf, func() {
			select {
			case ownChanged <- struct{}{}:
			default:
			}
		})
	}()
	defer func() { stopOwn(); <-ownDone }()
	var ownCheck <-chan time.Time
	restoreFailed := map[string]string{}
	// reload replaces the running generation with one of cfg. Everything that can fail
	// (interfaces, addresses, sockets) is done before the running generation is
	// touched: a reload that cannot run leaves it as it was, as keepalived keeps its old
	// config on a bad reload.
	reload := func(cfg Config, done string) error {
		n.mu.Lock()
		running := n.cfg
		n.mu.Unlock()
		n.reconfigureFirewall(cfg.Firewall)
		n.setCmdRcvBuf(h, running.NetlinkCmdRcvBuf, cfg.NetlinkCmdRcvBuf)
		if cfg.DisableLocalIGMP != running.DisableLocalIGMP {
			n.logger.Warn("Cannot change disable_local_igmp at a reload - please restart govs")
		}
		next, err := n.prepare(ctx, h, cfg)
		if err != nil {
			n.reconfigureFirewall(running.Firewall)
			n.removeVMACs(h, vmacNames(running)) // those the failed one created
			return err
		}
		keep := map[string]bool{}
		for _, in := range cfg.Instances {
			keep[in.Name] = true
		}
		// The old instances keep their promote_secondaries until they have stopped
		// (and removed their addresses); the new ones have theirs from the start.
		prom.apply(Config{Instances: append(slices.Clip(running.Instances), cfg.Instances...)})
		nextStatic := n.planStatic(h, cfg.Static)
		n.applyStatic(h, static, nextStatic)
		static = nextStatic
		carried := gen.stop(keep)
		gen = n.launch(next, h, notif, carried, gen.links)
		prom.apply(cfg)
		n.removeVMACs(h, vmacNames(cfg))
		n.mu.Lock()
		n.cfg = cfg
		n.mu.Unlock()
		// The old generation saw the devices this one made (a VMAC created again) and
		// may have asked for a rebuild; the new one was built on them already.
		select {
		case <-n.relink:
		default:
		}
		n.logger.Info(done, "instances", len(cfg.Instances))
		return nil
	}
	// A rebuild that cannot run yet (the re-created interface has no address yet) is
	// tried again every second; its error is logged when it changes.
	var retry <-chan time.Time
	var rebuildErr string
	rebuild := func() {
		n.mu.Lock()
		cfg := n.cfg
		n.mu.Unlock()
		err := reload(cfg, "instances rebuilt on the interfaces as they are now")
		if err == nil {
			retry, rebuildErr = nil, ""
			return
		}
		if err.Error() != rebuildErr {
			n.logger.Warn("the instances cannot be built on the interfaces as they are yet; trying again every second", "err", err)
			rebuildErr = err.Error()
		}
		retry = time.After(time.Second)
	}
	for {
		select {
		case <-ctx.Done():
			gen.stop(nil)
			if !n.dontRelease {
				prom.apply(Config{})
				n.removeVMACs(h, nil)
			}
			return nil
		case cfg := <-n.updates:
			restoreSets := n.dropSets()
			if err := reload(cfg, "configuration reloaded"); err != nil {
				restoreSets()
				n.logger.Error("reload failed, keeping the previous configuration", "err", err)
				continue
			}
			n.noteFirewall(cfg)
			retry, rebuildErr = nil, "" // built on the devices as they are now
		case <-n.relink:
			// An interface an instance uses was re-created (another index), one of
			// our VMACs deleted, or an instance's source address removed: the
			// instances are built again on what exists now, as keepalived rebinds
			// them, re-creates its VMACs and takes another source address.
			rebuild()
		case <-retry:
			rebuild()
		case <-ownChanged:
			if ownCheck == nil {
				ownCheck = time.After(ownCheckDelay)
			}
		case <-ownCheck:
			ownCheck = nil
			n.restoreStatic(h, static, restoreFailed)
			for _, r := range gen.runners {
				r.ownChanged()
			}
		}
	}
}

// rebuild asks Run to build the instances again on the interfaces as they are now; it
// does not block.
func (n *Node) rebuild() {
	select {
	case n.relink <- struct{}{}:
	default: // one is already asked for
	}
}

// ownCheckDelay is how long after a notification that may mean a deletion the node
// looks for what it put in: a burst of notifications costs one look.
const ownCheckDelay = 20 * time.Millisecond

// generation is one configuration running: its tracker watchers and runners.
type generation struct {
	cancelWatch context.CancelFunc
	watchers    sync.WaitGroup
	runners     []*runner
	// links follows the links for the generation; once stopped, it hands over to
	// the next one.
	links *linkFollower
}

// carry is the state an instance hands to its successor on reload.
type carry struct {
	m    Machine
	plan *addressPlan
	held *heldDrops
}

// prepared is a generation ready to run: its instances have their sockets and
// address plans, its tracker knows the links, nothing runs yet.
type prepared struct {
	cfg         Config
	tr          *tracker
	insts       []*instance
	groupOf     map[string]*SyncGroupConfig
	wctx        context.Context
	cancel      context.CancelFunc
	linkUpdates chan netlink.LinkUpdate
	links       map[string]bool // link states when prepared
	procs       *procWatch
}

// prepare does everything of starting cfg that can fail, without touching a running
// generation.
func (n *Node) prepare(ctx context.Context, h *netlink.Handle, cfg Config) (*prepared, error) {
	p := &prepared{cfg: cfg, tr: newTracker(cfg, n.logger), groupOf: map[string]*SyncGroupConfig{}}
	n.mu.Lock()
	for name, up := range n.bfds {
		p.tr.setBFD(name, up)
	}
	n.mu.Unlock()
	scripts := map[string]ScriptConfig{}
	for _, s := range cfg.Scripts {
		scripts[s.Name] = s
	}
	files := map[string]TrackFileConfig{}
	for _, f := range cfg.TrackFiles {
		files[f.Name] = f
	}
	procs := map[string]TrackProcessConfig{}
	for _, pc := range cfg.TrackProcesses {
		procs[pc.Name] = pc
	}
	// The process counts start from a full scan, so that runners begin with the
	// right priorities; the watcher keeps them current once launched.
	p.procs = newProcWatch(procRoot, cfg.TrackProcesses, n.logger, p.tr.setProcess)
	p.procs.count = p.tr.setProcessCount
	if len(cfg.TrackProcesses) > 0 {
		p.procs.scan(time.Now(), true)
	}
	for gi := range cfg.SyncGroups {
		for _, m := range cfg.SyncGroups[gi].Members {
			p.groupOf[m] = &cfg.SyncGroups[gi]
		}
	}
	// Subscribe before reading the current link states, so no change falls between.
	p.wctx, p.cancel = context.WithCancel(ctx)
	p.linkUpdates = make(chan netlink.LinkUpdate, 64)
	if err := n.subscribeLinks(p.wctx, p.linkUpdates, cfg.NetlinkMonitorRcvBuf); err != nil {
		p.cancel()
		return nil, err
	}
	links, err := n.watchLinks(h, p.tr)
	if err != nil {
		p.cancel()
		return nil, err
	}
	p.links = links
	vmacs := vmacNames(cfg)
	err = nsrun.Do(n.ns, func() error {
		for idx := range cfg.Instances {
			in := cfg.Instances[idx]
			i, err := n.newInstance(h, in, p.groupOf[in.Name], scripts, files, procs, cfg.GARPPacing, vmacs)
			var missing *missingDeviceError
			if err != nil && cfg.DynamicInterfaces && errors.As(err, &missing) {
				n.logger.Warn("vrrp_instance " + in.Name + ": interface " + missing.name + " does not exist; FAULT until it does (dynamic_interfaces)")
				i, err = n.absentInstance(in, p.groupOf[in.Name], scripts, files, procs, missing.name), nil
			}
			if err != nil {
				for _, o := range p.insts {
					o.close()
				}
				return fmt.Errorf("vrrp_instance %s: %w", in.Name, err)
			}
			p.insts = append(p.insts, i)
		}
		if cfg.LogUnknownVRIDs {
			pickUnknownVRIDLoggers(p.insts)
		}
		return nil
	})
	if err != nil {
		p.cancel()
		return nil, err
	}
	for _, in := range cfg.Instances {
		if len(in.addrVMACs) > 0 {
			// The addresses' VMACs exist now: the tracker starts from their states too.
			if p.links, err = n.watchLinks(h, p.tr); err != nil {
				for _, o := range p.insts {
					o.close()
				}
				p.cancel()
				return nil, err
			}
			break
		}
	}
	return p, nil
}

// launch starts a prepared generation's watchers and runners; instances found in
// carried resume their predecessor's state, and the links continue from prevLinks,
// the stopped predecessor's follower (nil at start).
func (n *Node) launch(p *prepared, h *netlink.Handle, notif *notifier, carried map[string]carry, prevLinks *linkFollower) *generation {
	cfg, tr, wctx := p.cfg, p.tr, p.wctx
	gen := &generation{cancelWatch: p.cancel}
	gen.watchers.Add(1)
	links := newLinkFollower(tr, p.links, cfg.LinkDelays, n.logger, prevLinks)
	gen.links = links
	links.watchRebuilds(p.insts, vmacNames(cfg), n.rebuild)
	links.resubscribe = func(ctx context.Context) (chan netlink.LinkUpdate, []netlink.Link, context.CancelFunc, error) {
		sctx, stop := context.WithCancel(ctx)
		updates := make(chan netlink.LinkUpdate, 64)
		if err := n.subscribeLinks(sctx, updates, cfg.NetlinkMonitorRcvBuf); err != nil {
			stop()
			return nil, nil, nil, err
		}
		ls, err := h.LinkList()
		if err != nil {
			stop()
			return nil, nil, nil, fmt.Errorf("vrrp: listing links: %w", err)
		}
		return updates, ls, stop, nil
	}
	go func() { defer gen.watchers.Done(); links.run(wctx, p.linkUpdates) }()
	for _, s := range cfg.Scripts {
		gen.watchers.Add(1)
		go func() { defer gen.watchers.Done(); tr.runScript(wctx, s, cfg.ScriptUser, cfg.ScriptGroup) }()
	}
	for _, f := range cfg.TrackFiles {
		gen.watchers.Add(1)
		go func() { defer gen.watchers.Done(); tr.watchFile(wctx, f) }()
	}
	if len(cfg.TrackProcesses) > 0 {
		gen.watchers.Add(1)
		go func() { defer gen.watchers.Done(); p.procs.run(wctx, n.openProcEvents(p.cfg.ProcessMonitorRcvBuf)) }()
	}

	// One runner per sync group, one per instance outside a group: a group's members
	// share a goroutine so they change state together without locks.
	byName := map[string]*instance{}
	for _, i := range p.insts {
		byName[i.cfg.Name] = i
	}
	seen := map[string]bool{}
	for _, i := range p.insts {
		if seen[i.cfg.Name] {
			continue
		}
		var members []*instance
		if g := p.groupOf[i.cfg.Name]; g != nil {
			for _, m := range g.Members {
				members = append(members, byName[m])
				seen[m] = true
			}
		} else {
			members = []*instance{i}
		}
		gen.runners = append(gen.runners, newRunner(n, p.groupOf[i.cfg.Name], members, tr, notif, h))
	}
	n.threads.Set(cfg.Threads)
	for _, r := range gen.runners {
		r.statesOnReload = cfg.FIFOStatesOnReload
		r.ownThreads = !cfg.Threads.IsZero()
		r.begin(carried)
	}
	runnerOf := map[string]*runner{}
	for _, r := range gen.runners {
		for _, i := range r.members {
			runnerOf[i.cfg.Name] = r
		}
	}
	n.mu.Lock()
	n.live, n.runnerOf = p.insts, runnerOf
	n.tr = tr
	// A change reported while this generation was prepared reached the old tracker.
	for name, up := range n.bfds {
		tr.setBFD(name, up)
	}
	n.mu.Unlock()
	return gen
}

// stop ends the generation. Instances named in keep hand over their state; the others
// shut down (priority 0 if master, addresses removed, STOP notify).
func (g *generation) stop(keep map[string]bool) map[string]carry {
	out := map[string]carry{}
	for _, r := range g.runners {
		for name, c := range r.end(keep) {
			out[name] = c
		}
	}
	g.cancelWatch()
	g.watchers.Wait()
	return out
}

// procRoot is where processes are read from.
const procRoot = "/proc"

// openProcEvents subscribes to the kernel's process events, or returns nil (the
// watcher then polls /proc) where that cannot be done: without CAP_NET_ADMIN or
// CONFIG_PROC_EVENTS.
func (n *Node) openProcEvents(buf RcvBuf) procSource {
	c, err := openProcConn()
	if err != nil {
		n.logger.Info("track_process: no process events, polling /proc", "every", procPollInterval, "err", err)
		return nil
	}
	c.force = buf.Force
	if buf.Bytes > 0 {
		if err := buf.set(c.fd); err != nil {
			n.logger.Warn("setting process_monitor_rcv_bufs", "bytes", buf.Bytes, "err", err)
		}
	}
	return c
}

// setCmdRcvBuf gives the command socket h the size the configuration asks for, when it
// asks for another than before; a size no longer asked for stays until a restart.
func (n *Node) setCmdRcvBuf(h *netlink.Handle, old, buf RcvBuf) {
	if buf == old || buf.Bytes == 0 {
		return
	}
	if err := h.SetSocketReceiveBufferSize(buf.Bytes, buf.Force); err != nil {
		n.logger.Warn("setting vrrp_netlink_cmd_rcv_bufs", "bytes", buf.Bytes, "err", err)
	}
}

// watchLinks seeds the tracker with the current state of every link, and returns it.
func (n *Node) watchLinks(h *netlink.Handle, tr *tracker) (map[string]bool, error) {
	links, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("vrrp: listing links: %w", err)
	}
	states := make(map[string]bool, len(links))
	for _, l := range links {
		states[l.Attrs().Name] = linkUp(l)
		tr.setLink(l.Attrs().Name, linkUp(l))
	}
	return states, nil
}

// linkUp is keepalived's view of an interface: administratively up and with carrier.
func linkUp(l netlink.Link) bool {
	a := l.Attrs()
	if a.Flags&net.FlagUp == 0 {
		return false
	}
	return a.OperState == netlink.OperUp || a.OperState == netlink.OperUnknown
}

// subscribeLinks asks netlink for link changes in the node's namespace until ctx ends.
func (n *Node) subscribeLinks(ctx context.Context, updates chan netlink.LinkUpdate, buf RcvBuf) error {
	done := make(chan struct{})
	opts := netlink.LinkSubscribeOptions{ErrorCallback: func(err error) {
		if ctx.Err() == nil { // closing the subscription reports an error too
			n.logger.Warn("link notifications", "err", err)
		}
	}, ReceiveBufferSize: buf.Bytes, ReceiveBufferForceSize: buf.Force}
	if n.ns.IsOpen() {
		ns := n.ns
		opts.Namespace = &ns
	}
	if err := netlink.LinkSubscribeWithOptions(updates, done, opts); err != nil {
		return fmt.Errorf("vrrp: following link state: %w", err)
	}
	go func() { <-ctx.Done(); close(done) }()
	return nil
}

var errNoSource = errors.New("no usable source address")
