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
	dataFile, statsFile                         string
	umask                                       string
	namespace                                   string
	pidFiles                                    map[string]*string
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
	fs.StringVar(&f.dataFile, "data-file", daemon.DefaultDataFile, "where SIGUSR1 writes the state dump")
	fs.StringVar(&f.statsFile, "stats-file", daemon.DefaultStatsFile, "where SIGUSR2 writes the statistics dump")
	// Accepted for keepalived compatibility: govs always runs in the foreground and
	// logs to stderr (the console; journald when run by systemd), so -l asks for what
	// govs does anyway.
	for _, n := range []string{"l", "log-console"} {
		fs.Bool(n, false, "log to the console (stderr): what govs always does; accepted for keepalived compatibility")
	}
	for _, n := range []string{"n", "dont-fork", "D", "log-detail", "G", "no-syslog", "R", "dont-respawn", "a", "address-monitoring", "m", "core-dump"} {
		fs.Bool(n, false, "accepted for keepalived compatibility (no effect: govs runs in the foreground as one process and logs to stderr)")
	}
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
SIGUSR1 writes the state to --data-file, SIGUSR2 the counters to --stats-file.`)
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
	netns := f.namespace
	if netns == "" {
		netns = configNamespace(f.file, f.configID)
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
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	dumps := make(chan os.Signal, 2)
	signal.Notify(dumps, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(dumps)

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
		StopTimeout:          f.stopTimeout,
		Logger:               log,
		ConfigErrors:         stderr,
		HTTP:                 f.http,
		HTTPToken:            token,
		Version:              version,
		DataFile:             f.dataFile,
		StatsFile:            f.statsFile,
		UmaskFromCommandLine: f.umask != "",
		NetNamespace:         netns,
		NetNamespaceFromFlag: f.namespace != "",
	})
	if err != nil {
		fmt.Fprintln(stderr, "govs run:", err)
		return 1
	}
	log.Info("govs started", "config", f.file, "dataplane", f.dataplane, "socket", socket, "vrrp_only", f.vrrpOnly, "checks_only", f.checksOnly)
	code := 0
	for running := true; running; {
		select {
		case <-hup:
			// Reload logs a refused configuration itself.
			if err := d.Reload(context.Background()); err != nil && !errors.Is(err, daemon.ErrConfig) {
				log.Error("reload failed", "err", err)
			}
		case sig := <-dumps:
			dump, what := d.DumpData, "state"
			if sig == syscall.SIGUSR2 {
				dump, what = d.DumpStats, "statistics"
			}
			if path, err := dump(ctx); err != nil {
				log.Error("writing the "+what+" dump", "err", err)
			} else {
				log.Info("wrote the "+what+" dump", "file", path)
			}
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

// netnsEnv marks a govs run that re-executed itself in its network namespace.
const netnsEnv = "GOVS_NETNS_ENTERED"

// configNamespace is the configuration's net_namespace, read before anything starts;
// a file that does not parse has none here, and the daemon then reports its errors.
func configNamespace(file, configID string) string {
	cfg, diags := config.Load(file, config.Options{ConfigID: configID})
	if diags.HasErrors() {
		return ""
	}
	return cfg.NetNamespace
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
