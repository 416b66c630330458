package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/govs/govs/internal/api/ctl"
	"github.com/govs/govs/internal/daemon"
	"github.com/govs/govs/internal/engine"
)

func init() {
	commands["demo"] = command{
		summary: "a loopback demonstration: three backends, health checks, a failure and a recovery (no root)",
		run:     runDemo,
	}
}

// demoConfig is the embedded default: an ordinary keepalived.conf, filled with the
// ports the demo picked, read by the same code as `govs run -f`.
const demoConfig = `! govs demo: the embedded default configuration
global_defs {
    router_id govs-demo
}

virtual_server 127.0.0.1 %[1]d {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP

    real_server 127.0.0.1 %[2]d {
        weight 3
        HTTP_GET {
            url {
                path /health
                status_code 200
            }
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 127.0.0.1 %[3]d {
        weight 2
        HTTP_GET {
            url {
                path /health
                status_code 200
            }
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 127.0.0.1 %[4]d {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
`

// backend is one in-process HTTP real server that can be stopped and started again
// on the same port.
type backend struct {
	name string
	addr string
	mu   sync.Mutex
	srv  *http.Server
}

func (b *backend) start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		return err
	}
	b.addr = ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, "hello from %s (%s)\n", b.name, b.addr) })
	b.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go b.srv.Serve(ln)
	return nil
}

func (b *backend) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		b.srv.Close()
		b.srv = nil
	}
}

func (b *backend) port() int {
	_, p, _ := net.SplitHostPort(b.addr)
	var n int
	fmt.Sscan(p, &n)
	return n
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("govs demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 8080, "port of the virtual service on 127.0.0.1 (0: any free port)")
	step := fs.Duration("step", 10*time.Second, "time between the demo's acts (failure, recovery)")
	duration := fs.Duration("duration", 0, "stop after this long (0: run until Ctrl-C)")
	socket := fs.String("socket", filepath.Join(os.TempDir(), fmt.Sprintf("govs-demo-%d.sock", os.Getuid())), "control socket for govs adm")
	logLevel := fs.String("log-level", "warn", "daemon log level shown (debug, info, warn, error)")
	httpAddr := fs.String("http", "127.0.0.1:0", "address of the dashboard, metrics and JSON API (port 0: any free port)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: govs demo [--port N] [--step D] [--duration D]

Starts three HTTP backends on 127.0.0.1, and govs with a virtual service over
them (wrr, weights 3/2/1, HTTP and TCP health checks), from an embedded
keepalived.conf. Then it stops one backend, shows the health check taking it
out of rotation, starts it again and shows it coming back. No root needed.`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	log, err := newLogger(stderr, *logLevel, false)
	if err != nil {
		fmt.Fprintln(stderr, "govs demo:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}

	backends := []*backend{{name: "backend-1"}, {name: "backend-2"}, {name: "backend-3"}}
	for _, b := range backends {
		b.addr = "127.0.0.1:0"
		if err := b.start(); err != nil {
			fmt.Fprintln(stderr, "govs demo: starting a backend:", err)
			return 1
		}
		defer b.stop()
	}
	vport := *port
	if vport == 0 {
		if vport, err = freePort(); err != nil {
			fmt.Fprintln(stderr, "govs demo:", err)
			return 1
		}
	}
	conf := fmt.Sprintf(demoConfig, vport, backends[0].port(), backends[1].port(), backends[2].port())
	d, err := daemon.Start(ctx, daemon.Options{
		ConfigPath:   "govs-demo.conf",
		ConfigText:   []byte(conf),
		Dataplane:    "proxy", // loopback without root, whatever the kernel has
		Socket:       *socket,
		Logger:       log,
		ConfigErrors: stderr,
		StopTimeout:  2 * time.Second,
		HTTP:         *httpAddr,
		Version:      version,
	})
	if err != nil {
		fmt.Fprintf(stderr, "govs demo: %v\n(is port %d taken? try --port 0)\n", err, vport)
		return 1
	}
	defer d.Stop()

	vip := fmt.Sprintf("127.0.0.1:%d", vport)
	fmt.Fprintf(stdout, `govs demo is running.

  virtual service  http://%[1]s  (wrr over three backends, weights 3/2/1)
  backends         %[2]s, %[3]s, %[4]s
  dashboard        http://%[6]s/  (live; metrics at /metrics, JSON at /api/v1/status)

Try, in another terminal:
  curl -s http://%[1]s/                 # answered by one backend after another
  go run ./cmd/govs status --socket %[5]s
  go run ./cmd/govs adm --socket %[5]s -L -n
  go run ./cmd/govs adm --socket %[5]s -L -n --stats

`, vip, backends[0].addr, backends[1].addr, backends[2].addr, *socket, d.HTTPAddr())
	showTable(ctx, stdout, *socket)
	fmt.Fprintln(stdout, "six requests through the virtual service:")
	sample(ctx, stdout, vip, 6)

	acts := []struct {
		say string
		do  func()
		up  bool
	}{
		{"stopping backend-2: its HTTP check fails and govs takes it out of rotation", backends[1].stop, false},
		{"starting backend-2 again: the check passes and govs puts it back", func() {
			if err := backends[1].start(); err != nil {
				fmt.Fprintln(stderr, "govs demo: restarting backend-2:", err)
			}
		}, true},
	}
	for _, act := range acts {
		if !sleepCtx(ctx, *step) {
			return 0
		}
		fmt.Fprintf(stdout, "\n== %s\n", act.say)
		act.do()
		began := time.Now()
		if !waitHealth(ctx, d.Engine(), backends[1].addr, act.up) {
			return 0
		}
		state := "DOWN: out of rotation"
		if act.up {
			state = "UP: back in rotation"
		}
		fmt.Fprintf(stdout, "backend-2 is %s after %.1f s\n", state, time.Since(began).Seconds())
		showTable(ctx, stdout, *socket)
		sample(ctx, stdout, vip, 6)
	}
	fmt.Fprintln(stdout, "\nThe demo is done; govs keeps running until Ctrl-C.")
	<-ctx.Done()
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// waitHealth waits until the engine reports the real server at addr up or down.
func waitHealth(ctx context.Context, eng *engine.Engine, addr string, up bool) bool {
	for {
		st, err := eng.Status(ctx)
		if err != nil {
			return false
		}
		for _, s := range st.Services {
			for _, rs := range s.RealServers {
				if rs.Addr.String() == addr && rs.Up == up {
					return true
				}
			}
		}
		if !sleepCtx(ctx, 100*time.Millisecond) {
			return false
		}
	}
}

func showTable(ctx context.Context, w io.Writer, socket string) {
	resp, err := ctl.Call(ctx, socket, ctl.Request{Argv: []string{"-L", "-n"}})
	if err != nil {
		fmt.Fprintln(w, "govs adm:", err)
		return
	}
	fmt.Fprintf(w, "$ govs adm -L -n\n%s", resp.Stdout)
}

func sample(ctx context.Context, w io.Writer, vip string, n int) {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for range n {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+vip+"/", nil)
		resp, err := client.Do(req)
		if err != nil {
			fmt.Fprintf(w, "  request failed: %v\n", err)
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		fmt.Fprintf(w, "  %s", strings.TrimRight(string(body), "\n")+"\n")
	}
}
