package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/govs/govs/internal/api/ctl"
	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/daemon"
	"github.com/govs/govs/internal/nsrun"
)

func init() {
	commands["run"] = command{
		summary: "run the director: VRRP, health checks, data plane, control socket",
		run:     runRun,
	}
}

// runFlags are keepalived's flags where govs has the same meaning, plus govs's own.
type runFlags struct {
	interfaces                                  stringList
	file, configID, dataplane, socket, logLevel string
	vrrpOnly, checksOnly, logJSON, keepIPVS     bool
	stopTimeout                                 time.Duration
	http, httpToken, httpTokenFile              string
	dataFile, statsFile, jsonFile               string
	dumpConf                                    bool
	umask                                       string
	namespace                                   string
	pidFiles                                    map[string]*string
	dontReleaseVRRP, noBFD, allIncludes         bool
	snmp                                        bool
	core                                        coreDumps
	snmpSocket                                  string
	configTest, logFile                         optionalPath
	signum                                      string
	showVersion                                 bool
}

func (f *runFlags) register(fs *flag.FlagSet) {
	for _, n := range []string{"f", "use-file"} {
		fs.StringVar(&f.file, n, "/etc/keepalived/keepalived.conf", "configuration file")
	}
	for _, n := range []string{"i", "config-id"} {
		fs.StringVar(&f.configID, n, "", "config id for @id lines [short host name]")
	}
	for _, n := range []string{"P", "vrrp"} {
		fs.BoolVar(&f.vrrpOnly, n, false, "VRRP only (no checkers, no data plane)")
	}
	for _, n := range []string{"C", "check"} {
		fs.BoolVar(&f.checksOnly, n, false, "checkers and data plane only (no VRRP)")
	}
	fs.StringVar(&f.dataplane, "dataplane", "auto", "data plane: auto (IPVS where the kernel has it; else xdp for DR/TUN and the proxy for NAT), ipvs, proxy or xdp")
	fs.Var(&f.interfaces, "interface", "for xdp: an interface where clients arrive (repeatable) [found from the real servers' routes]")
	for _, n := range []string{"I", "dont-release-ipvs"} {
		fs.BoolVar(&f.keepIPVS, n, false, "leave the kernel's IPVS table in place on stop, for the next start to adopt")
	}
	for _, n := range []string{"u", "umask"} {
		fs.StringVar(&f.umask, n, "", "`MASK` for the files govs and its scripts create, in numeric form (overrides global_defs umask) [0177]")
	}
	// keepalived's pid files: govs is one process, so each gets its pid.
	f.pidFiles = map[string]*string{}
	for _, p := range [][3]string{{"p", "pid", "main"}, {"r", "vrrp_pid", "VRRP"}, {"c", "checkers_pid", "checkers'"}, {"b", "bfd_pid", "BFD"}} {
		v := new(string)
		f.pidFiles[p[0]] = v
		for _, n := range p[:2] {
			fs.StringVar(v, n, "", "write govs's pid to `FILE`, keepalived's "+p[2]+" pid file (govs is one process; none by default)")
		}
	}
	for _, n := range []string{"d", "dump-conf"} {
		fs.BoolVar(&f.dumpConf, n, false, "log the state dump (what SIGUSR1 writes, configuration included) once started and after each reload, as keepalived -d logs its configuration")
	}
	for _, n := range []string{"V", "dont-release-vrrp"} {
		fs.BoolVar(&f.dontReleaseVRRP, n, false, "on stop, leave the VRRP virtual addresses, routes, rules and VMACs in place and send no priority-0 advert")
	}
	for _, n := range []string{"x", "snmp"} {
		fs.BoolVar(&f.snmp, n, false, "serve every MIB govs serves (KEEPALIVED-MIB, VRRP-MIB, VRRPv3-MIB) through AgentX, whatever the file's enable_snmp_* say")
	}
	for _, n := range []string{"A", "snmp-agent-socket"} {
		fs.Func(n, "the SNMP master agent's AgentX socket `ADDR` (unix:PATH, PATH, tcp:HOST:PORT or udp:HOST:PORT); the file's snmp_socket is then ignored", func(v string) error {
			if err := config.CheckSNMPSocket(v); err != nil {
				return err
			}
			f.snmpSocket = v
			return nil
		})
	}
	for _, n := range []string{"B", "no_bfd"} {
		fs.BoolVar(&f.noBFD, n, false, "run no bfd_instance session: instances tracking one stay in FAULT, BFD_CHECK servers down")
	}
	for _, n := range []string{"e", "all-config"} {
		fs.BoolVar(&f.allIncludes, n, false, "every include must find its files, as includea (include_check with no type from the start)")
	}
	f.configTest.dflt = "-"
	for _, n := range []string{"t", "config-test"} {
		fs.Var(&f.configTest, n, "check the configuration and exit (-t or --config-test=`LOG_FILE`, which is appended to): 0 when nothing is reported, 6 when it or an include it needs cannot be read, 5 for anything else, warnings included, except those keepalived -t passes (keywords govs does not act on, includes that find nothing)")
	}
	f.logFile.dflt = defaultLogFile
	for _, n := range []string{"g", "log-file"} {
		fs.Var(&f.logFile, n, "also log to a file (-g or --log-file=`FILE`, appended to; a relative name is under $TMPDIR, else /tmp; with a net_namespace or instance, their names go before its extension) ["+daemon.TmpFile(defaultLogFile)+"]")
	}
	fs.StringVar(&f.signum, "signum", "", "print the number of the signal for `SIGFUNC` (STOP, RELOAD, DATA, STATS) and exit")
	for _, n := range []string{"v", "version"} {
		fs.BoolVar(&f.showVersion, n, false, "print the version and exit")
	}
	for _, n := range []string{"s", "namespace"} {
		fs.StringVar(&f.namespace, n, "", "run in the network namespace `NAME` (ip netns add NAME), whatever the configuration's net_namespace says")
	}
	fs.StringVar(&f.socket, "socket", "", "control socket for govs adm [$GOVS_SOCKET, else "+ctl.DefaultSocket+"]")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&f.logJSON, "log-json", false, "log in JSON")
	fs.DurationVar(&f.stopTimeout, "stop-timeout", 10*time.Second, "how long established connections get on SIGTERM")
	fs.StringVar(&f.http, "http", "", "serve /metrics, the JSON API and the dashboard on `ADDR` (PORT or IP:PORT; PORT alone is on 127.0.0.1); off by default")
	fs.StringVar(&f.httpToken, "http-token", "", "bearer `TOKEN` the HTTP listener requires; it also enables the admin API [$GOVS_HTTP_TOKEN]")
	fs.StringVar(&f.httpTokenFile, "http-token-file", "", "read the HTTP token from `FILE` (keeps it out of ps)")
	fs.StringVar(&f.dataFile, "data-file", daemon.TmpFile(daemon.DataFileName), "where SIGUSR1 writes the state dump")
	fs.StringVar(&f.statsFile, "stats-file", daemon.TmpFile(daemon.StatsFileName), "where SIGUSR2 writes the statistics dump")
	fs.StringVar(&f.jsonFile, "json-file", daemon.TmpFile(daemon.JSONFileName), "where the JSON signal (keepalived's, 36) writes keepalived's JSON dump of the VRRP instances")
	// Accepted for keepalived compatibility: govs always runs in the foreground and
	// logs to stderr (the console; journald when run by systemd), so -l asks for what
	// govs does anyway.
	for _, n := range []string{"l", "log-console"} {
		fs.Bool(n, false, "log to the console (stderr): what govs always does; accepted for keepalived compatibility")
	}
	for _, n := range []string{"m", "core-dump"} {
		fs.BoolVar(&f.core.enabled, n, false, "dump core on a crash: no core size limit, and a fatal error aborts after printing every goroutine (GOTRACEBACK=crash)")
	}
	f.core.pattern.dflt = "core"
	for _, n := range []string{"M", "core-dump-pattern"} {
		fs.Var(&f.core.pattern, n, "as -m, and set /proc/sys/kernel/core_pattern to `PATTERN` (-M alone: core) until govs stops")
	}
	for _, n := range []string{"n", "dont-fork", "D", "log-detail", "G", "no-syslog", "R", "dont-respawn", "a", "address-monitoring"} {
		fs.Bool(n, false, "accepted for keepalived compatibility (no effect: govs runs in the foreground as one process and logs to stderr)")
	}
	for _, n := range []string{"X", "release-vips"} {
		fs.Bool(n, false, "accepted for keepalived compatibility: govs always removes the virtual addresses when an instance leaves MASTER, a reload's included")
	}
	fs.Bool("flush-log-file", false, "accepted for keepalived compatibility: govs writes each log line to the file at once")
	for _, n := range []string{"S", "log-facility"} {
		fs.Var(logFacility{}, n, "keepalived's syslog `FACILITY` (0-7, local0-7, user, daemon): checked, no effect, as govs logs to stderr (the journal)")
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func newLogger(w io.Writer, level string, json bool) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if json {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// token chooses the HTTP token: --http-token, else the first line of
// --http-token-file, else $GOVS_HTTP_TOKEN.
func (f *runFlags) token() (string, error) {
	if f.httpToken != "" && f.httpTokenFile != "" {
		return "", errors.New("--http-token and --http-token-file exclude each other")
	}
	if f.httpTokenFile != "" {
		data, err := os.ReadFile(f.httpTokenFile)
		if err != nil {
			return "", fmt.Errorf("--http-token-file: %w", err)
		}
		tok, _, _ := strings.Cut(string(data), "\n")
		if tok = strings.TrimSpace(tok); tok == "" {
			return "", fmt.Errorf("--http-token-file %s: the first line is empty", f.httpTokenFile)
		}
		return tok, nil
	}
	if f.httpToken != "" {
		return f.httpToken, nil
	}
	return os.Getenv("GOVS_HTTP_TOKEN"), nil
}

func runRun(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "-T" || args[0] == "--genhash") {
		return runGenhash(args[1:], stdout, stderr) // keepalived -T: genhash
	}
	fs := flag.NewFlagSet("govs run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f runFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: govs run [-f FILE] [-P|-C] [--dataplane proxy] [--socket PATH] [--http ADDR]

Runs the director from a keepalived.conf: VRRP instances, real-server health
checks and the data plane. SIGHUP reloads the configuration (one with errors is
refused and the running one kept); SIGTERM or SIGINT stops: VRRP masters hand
over at once (priority 0), then established connections get --stop-timeout.
SIGUSR1 writes the state to --data-file, SIGUSR2 the counters to --stats-file,
signal 36 (keepalived's JSON) the VRRP instances as keepalived's JSON to --json-file,
signal 63 (keepalived's STATS_CLEAR) the counters, then zeroes the VRRP ones.`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "govs run: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	switch {
	case f.showVersion:
		fmt.Fprintf(stdout, "govs %s\n", version)
		return 0
	case f.signum != "":
		return printSignum(f.signum, stdout, stderr)
	case f.configTest.set:
		return configTest(&f, stderr)
	}
	log, err := newLogger(stderr, f.logLevel, f.logJSON)
	if err != nil {
		fmt.Fprintln(stderr, "govs run:", err)
		return 2
	}
	if f.vrrpOnly && f.checksOnly {
		fmt.Fprintln(stderr, "govs run: -P and -C exclude each other")
		return 2
	}
	token, err := f.token()
	if err != nil {
		fmt.Fprintln(stderr, "govs run:", err)
		return 2
	}
	mask := config.DefaultFileMask
	if f.umask != "" {
		if mask, err = config.ParseFileMask(f.umask); err != nil {
			fmt.Fprintln(stderr, "govs run: -u:", err)
			return 2
		}
	}
	netns, instance := configNames(f.file, f.configID, f.allIncludes)
	if f.namespace != "" {
		netns = f.namespace
	}
	if netns != "" && nsrun.Current() != netns {
		if os.Getenv(netnsEnv) == netns {
			// Entered already, yet not found in /run/netns: never loop on exec.
			fmt.Fprintf(stderr, "govs run: entered network namespace %s but cannot find it under %s\n", netns, nsrun.Dir)
			return 1
		}
		// Everything, from the first socket on, must be made in the namespace: the
		// process starts again there.
		exe, err := os.Executable()
		if err == nil {
			err = nsrun.ExecIn(netns, exe, os.Args, append(os.Environ(), netnsEnv+"="+netns))
		}
		fmt.Fprintln(stderr, "govs run:", err)
		return 1
	}
	// keepalived sets its umask before it creates anything; restoring it on return
	// matters only to tests that call runRun in-process.
	defer syscall.Umask(syscall.Umask(int(mask)))
	logOut := stderr
	if f.logFile.set {
		lf, err := os.OpenFile(logFileName(f.logFile.path, netns, instance), os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
		if err != nil {
			fmt.Fprintln(stderr, "govs run: --log-file:", err)
			return 1
		}
		defer lf.Close()
		logOut = io.MultiWriter(stderr, lf)
		log, _ = newLogger(logOut, f.logLevel, f.logJSON) // the level was checked above
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	dumps := make(chan os.Signal, 2)
	signal.Notify(dumps, syscall.SIGUSR1, syscall.SIGUSR2, sigJSON, sigStatsClear)
	defer signal.Stop(dumps)

	defer f.core.enable(log.Warn)()

	var pids pidFiles
	for _, p := range []string{"p", "r", "c", "b"} {
		if path := *f.pidFiles[p]; path != "" && !slices.Contains(pids, path) {
			pids = append(pids, path)
		}
	}
	if err := pids.claim(); err != nil {
		fmt.Fprintln(stderr, "govs run:", err)
		return 1
	}
	defer pids.release()

	socket := ""
	if !f.vrrpOnly {
		socket = ctl.SocketPath(f.socket, netns)
	}
	d, err := daemon.Start(ctx, daemon.Options{
		ConfigPath:           f.file,
		ConfigID:             f.configID,
		Dataplane:            f.dataplane,
		Interfaces:           f.interfaces,
		Socket:               socket,
		VRRPOnly:             f.vrrpOnly,
		ChecksOnly:           f.checksOnly,
		KeepIPVS:             f.keepIPVS,
		DontReleaseVRRP:      f.dontReleaseVRRP,
		NoBFD:                f.noBFD,
		AllIncludes:          f.allIncludes,
		StopTimeout:          f.stopTimeout,
		Logger:               log,
		ConfigErrors:         logOut,
		HTTP:                 f.http,
		HTTPToken:            token,
		Version:              version,
		DataFile:             f.dataFile,
		StatsFile:            f.statsFile,
		JSONFile:             f.jsonFile,
		UmaskFromCommandLine: f.umask != "",
		SNMP:                 f.snmp,
		SNMPSocket:           f.snmpSocket,
		NetNamespace:         netns,
		NetNamespaceFromFlag: f.namespace != "",
	})
	if err != nil {
		fmt.Fprintln(stderr, "govs run:", err)
		return 1
	}
	log.Info("govs started", "config", f.file, "dataplane", f.dataplane, "socket", socket, "vrrp_only", f.vrrpOnly, "checks_only", f.checksOnly)
	if f.dumpConf {
		logDataDump(ctx, d, log)
	}
	reload := func() {
		// Reload logs a refused configuration itself.
		err := d.Reload(context.Background())
		if err != nil && !errors.Is(err, daemon.ErrConfig) {
			log.Error("reload failed", "err", err)
		}
		if f.dumpConf && !errors.Is(err, daemon.ErrConfig) {
			logDataDump(ctx, d, log)
		}
	}
	code := 0
	for running := true; running; {
		select {
		case <-hup:
			reload()
		case <-d.ReloadRequested(): // D-Bus's ReloadConfig, which keepalived turns into a SIGHUP
			reload()
		case sig := <-dumps:
			dump, what := d.DumpData, "state"
			switch sig {
			case syscall.SIGUSR2:
				dump, what = d.DumpStats, "statistics"
			case sigStatsClear:
				dump, what = d.DumpStatsAndClear, "statistics (then cleared)"
			case sigJSON:
				dump, what = func(context.Context) (string, error) { return d.DumpJSON() }, "JSON"
			}
			d.LogDump(ctx, what, dump)
		case err := <-d.Failed():
			log.Error("stopping after a failure", "err", err)
			code = 1
			running = false
		case <-ctx.Done():
			running = false
		}
	}
	log.Info("govs stopping")
	if err := d.Stop(); err != nil {
		log.Warn("connections cut at the stop timeout", "err", err)
	}
	return code
}

// logDataDump logs the state dump, one record per line, as keepalived -d logs its
// configuration dump line by line at start and after each reload.
func logDataDump(ctx context.Context, d *daemon.Daemon, log *slog.Logger) {
	var b strings.Builder
	if err := d.WriteData(ctx, &b); err != nil {
		log.Error("dump-conf: the state dump", "err", err)
		return
	}
	for line := range strings.Lines(b.String()) {
		log.Info(strings.TrimRight(line, "\n"))
	}
}

// netnsEnv marks a govs run that re-executed itself in its network namespace.
const netnsEnv = "GOVS_NETNS_ENTERED"

// configNames are the configuration's net_namespace and instance, read before anything
// starts; a file that does not parse has neither here, and the daemon then reports its
// errors.
func configNames(file, configID string, allIncludes bool) (netns, instance string) {
	cfg, diags := config.Load(file, config.Options{ConfigID: configID, AllIncludes: allIncludes})
	if diags.HasErrors() {
		return "", ""
	}
	return cfg.NetNamespace, cfg.Instance
}

// logFacility is keepalived's -S value: checked so that a typo is caught, otherwise
// unused.
type logFacility struct{}

func (logFacility) String() string { return "" }
func (logFacility) Set(v string) error {
	switch v {
	case "0", "1", "2", "3", "4", "5", "6", "7", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7", "user", "daemon":
		return nil
	}
	return fmt.Errorf("%q: want 0-7, local0-local7, user or daemon", v)
}

// defaultLogFile is where -g logs without a file name, beside keepalived's
// keepalived.log.
const defaultLogFile = "govs.log"

// logFileName is where -g's name logs, as keepalived names its log file: a relative name
// is under daemon.TmpDir, and the network namespace and the instance name, each after an
// underscore, go before the extension, so that govs processes of several namespaces or
// instances on a host do not log into one file.
func logFileName(name, netns, instance string) string {
	name = daemon.TmpFile(name)
	dir, base := filepath.Split(name)
	ext := ""
	if dot := strings.LastIndexByte(base, '.'); dot >= 0 {
		base, ext = base[:dot], base[dot:]
	}
	for _, s := range []string{netns, instance} {
		if s != "" {
			base += "_" + s
		}
	}
	return dir + base + ext
}

// optionalPath is a flag given alone (-t) or with a value (-t=FILE, --config-test=FILE),
// as keepalived's options with an optional argument.
type optionalPath struct {
	set        bool
	path, dflt string
}

func (o *optionalPath) String() string   { return o.path }
func (o *optionalPath) IsBoolFlag() bool { return true }
func (o *optionalPath) Set(v string) error {
	switch v {
	case "true":
		o.set, o.path = true, o.dflt
	case "false":
		o.set, o.path = false, ""
	case "":
		return errors.New("empty file name")
	default:
		o.set, o.path = true, v
	}
	return nil
}

// Exit statuses of keepalived -t: the configuration, or a file it includes, could not
// be read (keepalived's KEEPALIVED_EXIT_NO_CONFIG), and anything else reported.
const (
	configTestUnreadable = 6
	configTestReported   = 5
)

// configTest is keepalived's -t: check the configuration, report to stderr or to the
// log file given, and exit with keepalived's statuses. As keepalived's, it fails on
// any problem reported, warnings included (an unknown keyword, a missing interface),
// except those keepalived passes: keywords govs reads but does not act on, includes
// that find nothing where nothing is required.
func configTest(f *runFlags, stderr io.Writer) int {
	out := stderr
	if f.configTest.path != f.configTest.dflt {
		lf, err := os.OpenFile(f.configTest.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "govs run: cannot open the config-test log file: %v\n", err)
			return 1
		}
		defer lf.Close()
		out = lf
	}
	fd, err := os.Open(f.file)
	if err != nil {
		fmt.Fprintf(out, "%v\n", err)
		return configTestUnreadable
	}
	fd.Close()
	_, diags, err := checkConfig(config.Options{ConfigID: f.configID, AllIncludes: f.allIncludes}, f.file)
	fmt.Fprint(out, diags.String())
	failed := err != nil
	if err != nil {
		fmt.Fprintln(out, err)
	}
	for _, d := range diags {
		if d.Include && d.Severity == config.Error {
			return configTestUnreadable
		}
		failed = failed || !d.KeepalivedPasses
	}
	if failed {
		return configTestReported
	}
	return 0
}

// sigJSON and sigStatsClear are keepalived's SIGJSON (SIGRTMIN+2 with glibc: write
// the JSON dump) and SIGSTATS_CLEAR (SIGRTMAX-1: write the statistics, then zero the
// VRRP ones).
const (
	sigJSON       = syscall.Signal(36)
	sigStatsClear = syscall.Signal(63)
)

// printSignum is keepalived's --signum: the signal govs handles for SIGFUNC.
func printSignum(fn string, stdout, stderr io.Writer) int {
	sig, ok := map[string]syscall.Signal{"STOP": syscall.SIGTERM, "RELOAD": syscall.SIGHUP, "DATA": syscall.SIGUSR1, "STATS": syscall.SIGUSR2, "JSON": sigJSON, "STATS_CLEAR": sigStatsClear}[fn]
	switch {
	case ok:
		fmt.Fprintln(stdout, int(sig))
		return 0
	default:
		fmt.Fprintf(stderr, "Unknown sigfunc %s\n", fn)
	}
	return 1
}
