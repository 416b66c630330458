package daemon

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govs/govs/internal/api/ctl"
	"github.com/govs/govs/internal/api/dbusapi"
	"github.com/govs/govs/internal/api/web/status"
	"github.com/govs/govs/internal/bfd"
	"github.com/govs/govs/internal/check"
	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/dataplane"
	"github.com/govs/govs/internal/engine"
	"github.com/govs/govs/internal/nftipvs"
	"github.com/govs/govs/internal/notify"
	"github.com/govs/govs/internal/threadprio"
	"github.com/govs/govs/internal/vrrp"

	"github.com/govs/govs/internal/dataplane/ipvs"
	"github.com/govs/govs/internal/dataplane/mixed"

	// The data planes register themselves.
	_ "github.com/govs/govs/internal/dataplane/proxy"
	_ "github.com/govs/govs/internal/dataplane/xdp"
)

// Options say what to run.
type Options struct {
	// ConfigPath is the keepalived.conf to read (and re-read on Reload).
	ConfigPath string
	// ConfigText, when set, is parsed instead of reading ConfigPath (govs demo).
	ConfigText []byte
	ConfigID   string
	// Dataplane is --dataplane: auto (the default), ipvs, proxy or xdp.
	Dataplane string
	// Interfaces are where clients arrive, for the xdp plane; empty: found from routes.
	Interfaces []string
	// NetNamespace is the named network namespace govs runs in; the configuration's
	// net_namespace must name it unless NetNamespaceFromFlag (govs run -s), since a
	// process cannot move its sockets: a change needs a restart.
	NetNamespace         string
	NetNamespaceFromFlag bool
	// Socket is the control socket's path; empty: no control socket.
	Socket string
	// VRRPOnly and ChecksOnly are keepalived's -P and -C.
	VRRPOnly, ChecksOnly bool
	// KeepIPVS leaves the kernel's IPVS table in place on stop (keepalived -I), so the
	// next start adopts it with its connections.
	KeepIPVS bool
	// DontReleaseVRRP leaves the VRRP instances' addresses, routes, rules and VMACs in
	// place on stop and sends no priority-0 advert (keepalived -V).
	DontReleaseVRRP bool
	// NoBFD runs no bfd_instance session (keepalived -B): instances tracking one stay
	// in FAULT and BFD_CHECK servers down, as under keepalived.
	NoBFD bool
	// AllIncludes makes every include line of the configuration as strict as
	// includea (keepalived -e).
	AllIncludes bool
	// StopTimeout is how long established connections get to finish on Stop [10 s].
	StopTimeout time.Duration
	Logger      *slog.Logger
	// ConfigErrors receives the diagnostics of every load; nil discards them.
	ConfigErrors io.Writer
	// HTTP is the HTTP listener's address (web.ParseListenAddr); empty: no listener.
	HTTP string
	// HTTPToken is the bearer token the HTTP listener requires; empty: none, and its
	// admin endpoints are off.
	HTTPToken string
	// Version is reported by the status API and govs_build_info.
	Version string
	// DataFile and StatsFile are where DumpData (SIGUSR1) and DumpStats (SIGUSR2)
	// write, JSONFile where DumpJSON writes [DataFileName, StatsFileName and
	// JSONFileName under TmpDir].
	DataFile, StatsFile, JSONFile string
	// UmaskFromCommandLine says the process umask was given on the command line
	// (keepalived's -u), so global_defs umask is ignored, as keepalived ignores it.
	UmaskFromCommandLine bool
	// SNMP (keepalived -x) serves every MIB govs serves, and SNMPSocket (-A) is the
	// AgentX master's address, whatever the file says: keepalived sets both before
	// it reads the file, so the file can add MIBs but not take one back, and its
	// snmp_socket is ignored.
	SNMP       bool
	SNMPSocket string
}

// Daemon is a running govs.
type Daemon struct {
	opts   Options
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   chan error

	dp    dataplane.Dataplane
	eng   *engine.Engine
	check *check.Manager
	node  *vrrp.Node
	bfd   *bfd.Runner
	// stopReloadTime ends the follower of reload_time_file (d.mu); nil: none.
	stopReloadTime context.CancelFunc
	// marks are nftables_ipvs's tables (ipvs data plane only); nil until needed.
	marks *nftipvs.Marks
	// marksNS holds net_namespace_ipvs's namespace open for marks' connections.
	marksNS *os.File
	mail    *notify.Mailer

	// runCtx is the daemon's life, for what a reload starts.
	runCtx context.Context
	// fifos runs the notify FIFO reader scripts.
	fifos fifoScripts
	// bfdStates are the bfd_instance sessions' states (bfdMu): Up or not.
	bfdMu     sync.Mutex
	bfdStates map[string]bool
	// bfdNext are closed at their session's next change (bfdNextChange).
	bfdNext map[string]chan struct{}

	mu sync.Mutex // serialises reloads
	// process is what applyProcess last applied; rtLimit remembers the
	// RLIMIT_RTTIME govs started with; bfdThreads are the BFD threads' group.
	process    processSettings
	rtLimit    threadprio.RTTimeLimit
	bfdThreads *threadprio.Group

	plan Plan
	// stopping is set by Stop (mu): a reload asked for after it (reload_time_file's
	// runs apart from the signals) does nothing.
	stopping bool
	// shutdownOnce runs shutdown_script on the first Stop only.
	shutdownOnce sync.Once

	// planeChoice says which data plane runs and why, for the log and status.
	planeChoice string
	// syncCfg is the lvs_sync_daemon this process runs and syncPlane the plane it runs
	// on, read by the VRRP events goroutine without d.mu, which a reload holds while
	// the VRRP node may be delivering events.
	syncCfg   atomic.Pointer[config.SyncDaemon]
	syncPlane atomic.Pointer[ipvs.Plane]
	// dbus is enable_dbus's service, read by the VRRP events' goroutine, which starts
	// it and snmp; vrrpAPIsBegun (mu) says it has, so that a reload then follows the
	// configuration.
	dbus          atomic.Pointer[dbusapi.Service]
	vrrpAPIsBegun bool
	// snmp is the AgentX subagent, started with VRRP's APIs where VRRP runs, else
	// with the checkers, and replaced as dbus.
	snmp atomic.Pointer[snmpAgent]
	// running is the configuration in force, for the SNMP subagent's requests, which
	// must not wait for d.mu: a reload holds it while it stops the agent.
	running atomic.Pointer[config.Config]
	// reloadReq carries reloads asked for over D-Bus.
	reloadReq chan struct{}
	// syncOnly is the IPVS plane opened under -P for the sync daemon alone.
	syncOnly *ipvs.Plane

	started  time.Time
	journal  *status.Journal // events no component keeps: VRRP transitions, admin changes
	http     httpSettings    // the HTTP listener's, from the flags or global_defs
	httpAddr net.Addr
}

// ErrConfig is wrapped by Start and Reload when the configuration has errors.
var ErrConfig = errors.New("configuration has errors")

// ErrStopping is Reload's answer once Stop has begun.
var ErrStopping = errors.New("govs is stopping")

// Start loads the configuration and starts every component it needs.
func Start(ctx context.Context, opts Options) (*Daemon, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Dataplane == "" {
		opts.Dataplane = "auto"
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 10 * time.Second
	}
	if opts.DataFile == "" {
		opts.DataFile = TmpFile(DataFileName)
	}
	if opts.JSONFile == "" {
		opts.JSONFile = TmpFile(JSONFileName)
	}
	if opts.StatsFile == "" {
		opts.StatsFile = TmpFile(StatsFileName)
	}
	restoreGC := relaxGC()
	defer restoreGC()
	plan, cfg, err := loadConfigPlan(opts)
	if err != nil {
		return nil, err
	}
	applyUmask(plan.Umask, opts.UmaskFromCommandLine, opts.Logger)
	initTrackFiles(plan.TrackFileInits, false, opts.Logger)
	// keepalived runs startup_script before it starts its children, and starts them
	// however the script ended.
	runStartStopScript(ctx, "startup_script", plan.StartupScript, plan.Security, opts.Logger)
	ctx, cancel := context.WithCancel(ctx)
	d := &Daemon{opts: opts, log: opts.Logger, cancel: cancel, plan: plan, errs: make(chan error, 4), reloadReq: make(chan struct{}, 1),
		started: time.Now(), journal: &status.Journal{}, http: httpOptions(opts, cfg)}
	d.running.Store(cfg)
	if err := d.start(ctx); err != nil {
		cancel()
		d.wg.Wait()
		d.stopDBus()
		d.stopSNMP()
		d.fifos.stop()
		if d.dp != nil {
			// A later component failed (a busy HTTP port): free the service ports.
			cctx, ccancel := context.WithTimeout(context.Background(), opts.StopTimeout)
			d.dp.Close(cctx)
			ccancel()
		}
		if d.syncOnly != nil {
			d.syncOnly.Close(context.Background())
		}
		return nil, err
	}
	return d, nil
}

func (d *Daemon) start(ctx context.Context) error {
	d.runCtx = ctx
	d.applyProcess(d.plan.Process)
	d.watchRTTime()
	d.bfdThreads = threadprio.NewGroup("bfd", d.plan.BFDThreads, d.log)
	// The FIFOs and their readers first: keepalived opens them before anything writes.
	d.fifos.log = d.log
	d.fifos.apply(d.plan.FIFOReaders, d.plan.Security)
	if d.plan.Mail.Server != "" {
		d.mail = notify.New(d.plan.Mail, d.log)
		d.goRun("mailer", func() error { d.mail.Run(ctx); return nil })
	}
	if !d.opts.VRRPOnly {
		dp, err := d.newDataplane()
		if err != nil {
			return err
		}
		d.dp = dp
		engOpts := engine.Options{Logger: d.log}
		release := func() {}
		if d.mail != nil {
			mail, routerID := d.mail, d.mail.RouterID()
			engOpts.Alert = func(vs, what, body string) { mail.Send(notify.VirtualServer(routerID, vs, what, body)) }
			// With omega the quorum's "=> Shutting down <=" mails go as the engine stops.
			release = d.mail.Hold()
		}
		engOpts.Stopping = d.snmpCheckerStopping
		d.eng = engine.New(dp, engOpts)
		d.goRun("engine", func() error {
			defer release()
			return d.eng.Run(ctx)
		})
		if err := d.configureIPVS(true); err != nil {
			return err
		}
		if err := d.eng.Load(ctx, d.plan.Spec); err != nil {
			return fmt.Errorf("data plane: %w", err)
		}
		if err := d.applyMarks(); err != nil {
			return fmt.Errorf("nftables_ipvs: %w", err)
		}
		d.check = check.NewManager(check.Options{Logger: d.log, Security: d.plan.Security, Mailer: d.mail, BFDUp: d.bfdUp, BFDChanged: d.bfdNextChange})
		d.check.SetFIFOs(d.plan.Spec.FIFOs)
		if err := d.check.Update(d.plan.Checks); err != nil {
			return fmt.Errorf("checkers: %w", err)
		}
		d.check.SetHASuspend(d.plan.HASuspend)
		d.goRun("checkers", func() error { return d.check.Run(ctx) })
		d.goRun("ha_suspend addresses", func() error { return d.followAddresses(ctx) })
		d.goRun("health events", func() error {
			for ev := range d.check.Events() {
				err := d.snmpHealth(ctx, engine.HealthEvent{Service: ev.VS, RS: ev.RS, Up: ev.Up, Weight: ev.Weight, Reason: ev.Reason})
				if err != nil && !errors.Is(err, engine.ErrStopped) && ctx.Err() == nil {
					d.log.Error("applying a health event", "err", err)
				}
			}
			return nil
		})
		if d.opts.Socket != "" {
			ln, err := ctl.Listen(d.opts.Socket)
			if err != nil {
				return fmt.Errorf("control socket: %w", err)
			}
			srv := &ctl.Server{Handler: &admBackend{eng: d.eng, dp: d.dp}, Logger: d.log, Status: d.statusJSON}
			d.goRun("control socket", func() error { return srv.Serve(ctx, ln) })
		}
	}
	if d.opts.VRRPOnly {
		// Before the VRRP node, whose first transitions move the daemon.
		if err := d.configureVRRPSync(true); err != nil {
			d.log.Error("lvs_sync_daemon: no sync daemon", "err", err)
		}
	}
	if !d.opts.ChecksOnly && d.plan.VRRP.Runs() {
		if d.plan.VRRPErr != nil {
			return fmt.Errorf("vrrp: %w (govs run -C runs without VRRP)", d.plan.VRRPErr)
		}
		var opts []vrrp.Option
		if d.opts.DontReleaseVRRP {
			opts = append(opts, vrrp.DontRelease())
		}
		release := func() {}
		if d.mail != nil {
			opts = append(opts, vrrp.WithAlerter(newMailAlerter(d.mail, d.plan.NoEmailFaults)))
			// The instances' "Stopping" mails are sent as VRRP stops, after ctx ends.
			release = d.mail.Hold()
		}
		node, err := vrrp.New(d.plan.VRRP, d.log, opts...)
		if err != nil {
			return fmt.Errorf("vrrp: %w", err)
		}
		d.node = node
		d.goRun("vrrp", func() error {
			defer release()
			return node.Run(ctx)
		})
		d.goRun("vrrp events", func() error {
			// Here, so that D-Bus's state signals follow the events in order.
			d.mu.Lock()
			d.vrrpAPIsBegun = true
			d.startDBus(d.plan.DBus, d.plan.VRRP)
			d.startSNMP(d.plan.SNMP, d.started)
			d.mu.Unlock()
			if d.eng != nil {
				d.snmpCheckerEvents(ctx) // the quorums found at start
			}
			for ch := range node.Events() {
				d.log.Info("vrrp state", "instance", ch.Instance, "from", ch.From.String(), "to", ch.To.String(), "priority", ch.Priority)
				d.journal.RecordVRRP(ch)
				d.followSyncRole(ch)
				if svc := d.dbus.Load(); svc != nil {
					svc.StateChanged(ch)
				}
				d.snmpStateChanged(ch)
			}
			return nil
		})
	}
	if d.node == nil {
		d.startSNMP(d.plan.SNMP, d.started)
		if d.eng != nil {
			d.snmpCheckerEvents(ctx) // the quorums found at start
		}
	}
	// After the VRRP node: the sessions' states go to it from their first change.
	if err := d.startBFD(ctx); err != nil {
		return fmt.Errorf("bfd: %w", err)
	}
	d.restartReloadTime()
	if d.http.addr != "" {
		return d.startHTTP(ctx)
	}
	return nil
}

// newDataplane builds the plane --dataplane asks for. auto without IPVS runs DR and
// TUN services on xdp and the rest on the proxy; where xdp cannot run (no root, no BPF)
// the proxy relays them all, and the log says why.
func (d *Daemon) newDataplane() (dataplane.Dataplane, error) {
	chosen, reason, err := dataplane.Choose(d.opts.Dataplane)
	if err != nil {
		return nil, err
	}
	opts := dataplane.Options{Logger: d.log, Interfaces: d.opts.Interfaces, IPVSNamespace: d.plan.IPVS.Namespace}
	d.planeChoice = chosen + " (" + reason + ")"
	if d.plan.IPVS.Namespace != "" && chosen != "ipvs" {
		d.log.Warn("net_namespace_ipvs is for the ipvs data plane; the "+chosen+" plane serves in govs's network namespace", "namespace", d.plan.IPVS.Namespace)
	}
	defer func() { d.log.Info("data plane", "plane", d.planeChoice) }()
	if chosen != "proxy" || d.opts.Dataplane != "auto" || !hasForwarded(d.plan.Spec) {
		return dataplane.New(chosen, opts)
	}
	relay, err := dataplane.New("proxy", opts)
	if err != nil {
		return nil, err
	}
	fwd, err := dataplane.New("xdp", opts)
	if err != nil {
		d.planeChoice += "; DR/TUN services relayed by the proxy too: " + err.Error()
		return relay, nil
	}
	d.planeChoice = "xdp for DR/TUN services, proxy for the rest (" + reason + ")"
	return mixed.New(fwd, relay), nil
}

func hasForwarded(sp engine.Spec) bool {
	for _, vs := range sp.Services {
		if mixed.Forwarded(vs.Service) {
			return true
		}
	}
	return false
}

// DataplaneChoice says which data plane runs and why.
func (d *Daemon) DataplaneChoice() string { return d.planeChoice }

// goRun runs a component; its failure stops the daemon.
func (d *Daemon) goRun(name string, f func() error) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := f(); err != nil && !errors.Is(err, context.Canceled) {
			d.log.Error(name+" stopped", "err", err)
			select {
			case d.errs <- fmt.Errorf("%s: %w", name, err):
			default:
			}
			d.cancel()
		}
	}()
}

// Failed delivers the first component failure.
func (d *Daemon) Failed() <-chan error { return d.errs }

// Reload re-reads the configuration. A configuration with errors is refused and the
// running one stays, as the issue and keepalived's operators expect.
func (d *Daemon) Reload(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopping {
		return ErrStopping
	}
	restoreGC := relaxGC()
	defer restoreGC()
	opts := d.opts
	checkLog := d.plan.ReloadCheckLog // the running configuration's, as keepalived
	var diags bytes.Buffer
	if checkLog != "" {
		opts.ConfigErrors = &diags
		if d.opts.ConfigErrors != nil {
			opts.ConfigErrors = io.MultiWriter(d.opts.ConfigErrors, &diags)
		}
	}
	reading := d.markReload() // the running configuration's file, as keepalived's
	plan, cfg, err := loadConfigPlan(opts)
	reading()
	if err == nil && plan.VRRPErr != nil && d.node != nil {
		err = plan.VRRPErr
	}
	if err == nil && plan.IPVS.Namespace != d.plan.IPVS.Namespace {
		// As keepalived, which keeps running the old configuration.
		where := cmp.Or(cfg.Line("net_namespace_ipvs").String(), opts.ConfigPath)
		err = fmt.Errorf("%s: net_namespace_ipvs changed: IPVS's network namespace cannot change at a reload, restart govs: %w", where, ErrConfig)
		if opts.ConfigErrors != nil {
			fmt.Fprintln(opts.ConfigErrors, err)
		}
	}
	if checkLog != "" {
		d.writeReloadCheck(checkLog, diags.Bytes(), err)
	}
	if err != nil {
		d.log.Error("reload refused, keeping the running configuration", "err", err)
		return err
	}
	d.warnHTTPChange(cfg)
	d.applyProcess(plan.Process)
	d.bfdThreads.Set(plan.BFDThreads)
	applyUmask(plan.Umask, d.opts.UmaskFromCommandLine, d.log)
	initTrackFiles(plan.TrackFileInits, true, d.log)
	d.fifos.apply(plan.FIFOReaders, plan.Security)
	var errs []error
	if d.eng != nil {
		d.check.SetFIFOs(plan.Spec.FIFOs)
		errs = append(errs, d.eng.Load(ctx, plan.Spec), d.check.Update(plan.Checks))
		d.check.SetHASuspend(plan.HASuspend)
	}
	if d.node != nil {
		errs = append(errs, d.reloadBFD(plan.BFD), d.node.Update(plan.VRRP))
		if d.vrrpAPIsBegun {
			d.reloadDBus(d.plan.DBus, plan.DBus, plan.VRRP)
		}
	}
	d.running.Store(cfg)
	if d.node == nil || d.vrrpAPIsBegun {
		d.reloadSNMP(d.plan.SNMP, plan.SNMP)
	}
	if d.eng != nil {
		d.snmpCheckerEvents(ctx) // the quorums the new configuration found
	}
	d.plan = plan
	d.restartReloadTime()
	if d.dp != nil {
		errs = append(errs, d.configureIPVS(false), d.applyMarks())
	}
	if d.opts.VRRPOnly {
		errs = append(errs, d.configureVRRPSync(false))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	d.log.Info("configuration reloaded", "virtual_services", len(plan.Spec.Services), "vrrp_instances", len(plan.VRRP.Instances))
	return nil
}

// writeReloadCheck writes a reload's diagnostics to reload_check_config's file,
// emptied first, and says there when the new configuration was refused.
func (d *Daemon) writeReloadCheck(path string, diags []byte, refused error) {
	if refused != nil {
		diags = fmt.Appendf(diags, "%v\n", refused)
	}
	if err := os.WriteFile(path, diags, 0o640); err != nil {
		d.log.Error("reload_check_config: writing the check's log", "file", path, "err", err)
	}
	if refused != nil {
		d.log.Error("new configuration failed validation, see " + path + " for details")
	}
}

// Stop stops VRRP first (masters hand over with a priority-0 advert), then stops
// accepting and lets established connections finish up to StopTimeout.
//
// The shutdown_script of the configuration last loaded runs once all of that has
// stopped, as keepalived's parent runs it after its children have exited.
func (d *Daemon) Stop() error {
	// Taken after a reload in progress ends: what it started is then waited for below.
	d.mu.Lock()
	d.stopping = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
	d.stopDBus() // after the instances' STOP states; no reload starts it again (stopping)
	d.stopSNMP()
	d.fifos.stop() // after the last lines (STOP states) are written
	var err error
	if d.dp != nil {
		ctx, cancel := context.WithTimeout(context.Background(), d.opts.StopTimeout)
		err = d.dp.Close(ctx)
		cancel()
		d.closeMarks()
	}
	if d.syncOnly != nil {
		err = errors.Join(err, d.syncOnly.Close(context.Background()))
	}
	d.shutdownOnce.Do(func() {
		d.mu.Lock()
		plan := d.plan
		d.applyProcess(processSettings{}) // for a process that goes on (tests)
		d.mu.Unlock()
		runStartStopScript(context.Background(), "shutdown_script", plan.ShutdownScript, plan.Security, d.log)
	})
	return err
}

// Engine, Dataplane, Checks and VRRP give the status API and tests their view.
func (d *Daemon) Engine() *engine.Engine         { return d.eng }
func (d *Daemon) Dataplane() dataplane.Dataplane { return d.dp }
func (d *Daemon) Checks() *check.Manager         { return d.check }
func (d *Daemon) VRRP() *vrrp.Node               { return d.node }

// mailAlerter sends VRRP's smtp_alert mail through the daemon's mailer, which never
// blocks the instance, with keepalived's subjects and bodies: once per state entered
// (keepalived's last_email_state), none for FAULT with no_email_faults.
type mailAlerter struct {
	send          func(notify.Message) bool
	routerID      string
	noEmailFaults bool

	mu   sync.Mutex
	last map[alertKey]vrrp.State
}

type alertKey struct {
	group bool
	name  string
}

func newMailAlerter(m *notify.Mailer, noEmailFaults bool) *mailAlerter {
	return &mailAlerter{send: m.Send, routerID: m.RouterID(), noEmailFaults: noEmailFaults, last: map[alertKey]vrrp.State{}}
}

func (a *mailAlerter) Alert(group bool, name string, state vrrp.State, _ int) {
	if a.noEmailFaults && state == vrrp.StateFault {
		return
	}
	msg, ok := vrrpMessage(a.routerID, group, name, state)
	if !ok {
		return
	}
	a.mu.Lock()
	key := alertKey{group, name}
	last, mailed := a.last[key]
	a.last[key] = state
	a.mu.Unlock()
	if !mailed || last != state {
		a.send(msg)
	}
}

// vrrpMessage is keepalived 2.2's mail for a VRRP instance or sync group entering state;
// ok is false for the states keepalived sends none for.
func vrrpMessage(routerID string, group bool, name string, state vrrp.State) (msg notify.Message, ok bool) {
	what := "Entering " + state.String() + " state"
	var body string
	switch state {
	case vrrp.StateMaster:
		body = "=> VRRP Instance is now owning VRRP VIPs <="
	case vrrp.StateBackup, vrrp.StateFault:
		body = "=> VRRP Instance is no longer owning VRRP VIPs <="
	case vrrp.StateStop:
		what, body = "Stopping", "=> VRRP Instance stopping <="
	default:
		return notify.Message{}, false
	}
	if group {
		body = "=> All VRRP group instances are now in " + state.String() + " state <="
		if state == vrrp.StateStop {
			body = "=> All VRRP group instances are now stopping <="
		}
		return notify.VRRPGroup(routerID, name, what, body), true
	}
	return notify.VRRPInstance(routerID, name, what, body), true
}

func loadPlan(opts Options) (Plan, error) {
	plan, _, err := loadConfigPlan(opts)
	return plan, err
}

// loadConfigPlan reads the configuration and maps it, and returns the configuration
// too, for what is read from it directly (the HTTP listener's global_defs).
func loadConfigPlan(opts Options) (Plan, *config.Config, error) {
	// A new ${_RANDOM} seed at each load, as keepalived (unless random_seed is set).
	copts := config.Options{ConfigID: opts.ConfigID, InterfaceExists: interfaceExists, RandomSeed: time.Now().UnixNano(), AllIncludes: opts.AllIncludes}
	var cfg *config.Config
	var diags config.Diagnostics
	if opts.ConfigText != nil {
		cfg, diags = config.Parse(opts.ConfigPath, opts.ConfigText, copts)
	} else {
		cfg, diags = config.Load(opts.ConfigPath, copts)
	}
	if opts.ConfigErrors != nil {
		for _, dg := range diags {
			fmt.Fprintln(opts.ConfigErrors, dg.String())
		}
	}
	if diags.HasErrors() {
		return Plan{}, nil, fmt.Errorf("%s: %w (%d errors)", opts.ConfigPath, ErrConfig, len(diags.Errors()))
	}
	if ns := cfg.NetNamespace; ns != opts.NetNamespace && !opts.NetNamespaceFromFlag {
		where := cmp.Or(cfg.Line("net_namespace").String(), opts.ConfigPath)
		err := fmt.Errorf("%s: net_namespace %q, but govs runs in %q; a restart is needed to change it: %w", where, ns, opts.NetNamespace, ErrConfig)
		if opts.ConfigErrors != nil {
			fmt.Fprintln(opts.ConfigErrors, err)
		}
		return Plan{}, nil, err
	}
	if opts.SNMP {
		g := &cfg.Global
		g.EnableSNMPVRRP, g.EnableSNMPRFCv2, g.EnableSNMPRFCv3, g.EnableSNMPChecker = true, true, true, true
	}
	if opts.SNMPSocket != "" {
		cfg.Global.SNMPSocket = opts.SNMPSocket
	}
	plan, err := newPlan(cfg, ipvsMarks(cfg, opts))
	return plan, cfg, err
}

func interfaceExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}
