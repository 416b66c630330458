package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/govs/govs/internal/api/ctl"
	"github.com/govs/govs/internal/api/web/status"
	"github.com/govs/govs/internal/testutil"
)

// backend is a real HTTP server on loopback that answers every request with a fixed
// body and closes, so a test knows each connection's bytes exactly.
type backend struct {
	addr string
	ln   net.Listener
	srv  *http.Server
	once sync.Once
}

const backendBody = "hello from a real server\n"

func startBackend(t *testing.T) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{addr: ln.Addr().String(), ln: ln}
	b.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, backendBody)
	})}
	go b.srv.Serve(ln)
	t.Cleanup(b.stop)
	return b
}

func (b *backend) stop() { b.once.Do(func() { b.srv.Close() }) }

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// twoServerConfig is a virtual service on loopback over two real servers, rr, with
// TCP checks every second that take a server out at its first failure.
func twoServerConfig(vport int, rs ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "virtual_server 127.0.0.1 %d {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n", vport)
	for _, a := range rs {
		host, port, _ := net.SplitHostPort(a)
		fmt.Fprintf(&b, "  real_server %s %s {\n    weight 2\n    TCP_CHECK {\n      connect_timeout 1\n      retry 0\n    }\n  }\n", host, port)
	}
	b.WriteString("}\n")
	return b.String()
}

type running struct {
	d     *Daemon
	base  string // http://127.0.0.1:PORT
	vip   string
	token string
}

func startDaemon(t *testing.T, token string, backends ...*backend) *running {
	t.Helper()
	var addrs []string
	for _, b := range backends {
		addrs = append(addrs, b.addr)
	}
	return startDaemonAt(t, token, twoServerConfig, addrs...)
}

// startDaemonAt runs the daemon with the configuration conf makes for a free port and
// the real servers' addresses.
func startDaemonAt(t *testing.T, token string, conf func(int, ...string) string, addrs ...string) *running {
	t.Helper()
	vport := freePort(t)
	d, err := Start(context.Background(), Options{
		ConfigPath: "http_test.conf", ConfigText: []byte(conf(vport, addrs...)),
		Socket: filepath.Join(t.TempDir(), "govs.sock"),
		HTTP:   "127.0.0.1:0", HTTPToken: token, Version: "test",
		DataFile: filepath.Join(t.TempDir(), "govs.data"), StatsFile: filepath.Join(t.TempDir(), "govs.stats"),
		StopTimeout: time.Second, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	return &running{d: d, base: "http://" + d.HTTPAddr().String(), vip: fmt.Sprintf("127.0.0.1:%d", vport), token: token}
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func (r *running) request(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, r.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

func (r *running) snapshot(t *testing.T) status.Snapshot {
	t.Helper()
	code, body := r.request(t, "GET", "/api/v1/status", "")
	if code != 200 {
		t.Fatalf("/api/v1/status: %d %s", code, body)
	}
	var s status.Snapshot
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func (r *running) metrics(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := r.request(t, "GET", "/metrics", "")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// sample sums the samples of family name whose labels include every pair given.
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	var sum float64
	found := false
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		found = true
		sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return sum, found
}

// get sends one HTTP/1.0 request through the virtual service and returns the bytes
// written and read.
func get(t *testing.T, vip string) (sent, received int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", vip, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET / HTTP/1.0\r\nHost: test\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(resp), backendBody) {
		t.Fatalf("answer %q does not come from a backend", resp)
	}
	return len(req), len(resp)
}

// waitFor polls cond (bounded by d) and fails the test with what it last saw.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	var last string
	ok := testutil.Eventually(d, func() bool {
		var done bool
		done, last = cond()
		return done
	})
	if !ok {
		t.Fatalf("%s not seen within %v; last: %s", what, d, last)
	}
}

func TestMetricsAfterKnownTraffic(t *testing.T) {
	b1, b2 := startBackend(t), startBackend(t)
	r := startDaemon(t, "", b1, b2)
	const n = 10
	sent, received := 0, 0
	for range n {
		s, rcv := get(t, r.vip)
		sent, received = sent+s, received+rcv
	}
	svc := "TCP " + r.vip
	// The proxy counts a connection's bytes as it relays them; wait for the last ones.
	waitFor(t, 10*time.Second, "the traffic in /metrics", func() (bool, string) {
		fams := r.metrics(t)
		in, _ := sample(fams, "govs_vs_bytes_total", "service", svc, "direction", "in")
		out, _ := sample(fams, "govs_vs_bytes_total", "service", svc, "direction", "out")
		conns, _ := sample(fams, "govs_vs_connections_total", "service", svc)
		probes, _ := sample(fams, "govs_check_probes_total", "server", b1.addr)
		return conns == n && in == float64(sent) && out == float64(received) && probes > 0,
			fmt.Sprintf("conns %g, in %g, out %g, probes %g; want %d, %d, %d, > 0", conns, in, out, probes, n, sent, received)
	})
	fams := r.metrics(t)
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"govs_rs_connections_total", []string{"server", b1.addr}, n / 2}, // rr
		{"govs_rs_connections_total", []string{"server", b2.addr}, n / 2},
		{"govs_rs_bytes_total", []string{"service", svc, "direction", "in"}, float64(sent)},
		{"govs_rs_bytes_total", []string{"service", svc, "direction", "out"}, float64(received)},
		{"govs_rs_up", []string{"server", b1.addr}, 1},
		{"govs_rs_health", []string{"server", b2.addr, "health", "up"}, 1},
		{"govs_rs_weight", []string{"server", b1.addr}, 2},
		{"govs_vs_quorum_up", []string{"service", svc}, 1},
		{"govs_vs_active_connections", []string{"service", svc}, 0},
		{"govs_check_up", []string{"server", b1.addr, "checker", "TCP_CHECK#0"}, 1},
		{"govs_up", nil, 1},
	} {
		got, ok := sample(fams, tt.name, tt.labels...)
		if !ok || got != tt.want {
			t.Errorf("%s%v = %g (found %v), want %g", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	if inPkts, _ := sample(fams, "govs_vs_packets_total", "service", svc, "direction", "in"); inPkts < n {
		t.Errorf("govs_vs_packets_total in = %g, want at least one per connection (%d)", inPkts, n)
	}
	if got, ok := sample(fams, "govs_check_latency_seconds", "server", b1.addr); !ok || got <= 0 || got > 1 {
		t.Errorf("govs_check_latency_seconds = %g (found %v), want a probe's duration", got, ok)
	}
	if _, ok := fams["process_resident_memory_bytes"]; !ok {
		t.Error("no process metrics")
	}
}

// A stopped real server turns down in the API, the metrics and the events within the
// check interval (delay_loop 1, retry 0).
func TestFailureShowsInAPI(t *testing.T) {
	b1, b2 := startBackend(t), startBackend(t)
	r := startDaemon(t, "", b1, b2)
	waitFor(t, 5*time.Second, b2.addr+" checked and up", func() (bool, string) {
		rs := r.snapshot(t).Services[0].RealServers[1]
		return rs.Health == status.HealthUp && len(rs.Checkers) == 1 && rs.Checkers[0].Checks > 0, fmt.Sprintf("%+v", rs)
	})
	stopped := time.Now()
	b2.stop()
	waitFor(t, 5*time.Second, b2.addr+" down", func() (bool, string) {
		s := r.snapshot(t)
		rs := s.Services[0].RealServers[1]
		return rs.Health == status.HealthDown, fmt.Sprintf("%+v", rs)
	})
	t.Logf("down in the API %.2f s after the server stopped", time.Since(stopped).Seconds())
	s := r.snapshot(t)
	var sawDown bool
	for _, e := range s.Events {
		sawDown = sawDown || e.Kind == "rs-down" && e.Server == b2.addr
	}
	if !sawDown {
		t.Errorf("no rs-down event for %s in %+v", b2.addr, s.Events)
	}
	if got, _ := sample(r.metrics(t), "govs_rs_up", "server", b2.addr); got != 0 {
		t.Errorf("govs_rs_up = %g for the stopped server", got)
	}
	for range 4 {
		get(t, r.vip) // every request still answered, by the live server
	}
}

func TestAdminOverHTTP(t *testing.T) {
	b1, b2 := startBackend(t), startBackend(t)
	r := startDaemon(t, "tok3n", b1, b2)
	svc := "TCP " + r.vip
	body := func(extra string) string {
		return fmt.Sprintf(`{"service":%q,"server":%q%s}`, svc, b1.addr, extra)
	}
	// Drain: weight 0 in the table, shown as drained, and new connections avoid it.
	code, resp := r.request(t, "POST", "/api/v1/admin/drain", body(""))
	if code != 200 {
		t.Fatalf("drain: %d %s", code, resp)
	}
	var rs status.RealServer
	if err := json.Unmarshal(resp, &rs); err != nil || rs.Health != status.HealthDrained || rs.TableWeight != 0 {
		t.Fatalf("after drain: %s", resp)
	}
	before, _ := sample(r.metrics(t), "govs_rs_connections_total", "server", b1.addr)
	for range 4 {
		get(t, r.vip)
	}
	if after, _ := sample(r.metrics(t), "govs_rs_connections_total", "server", b1.addr); after != before {
		t.Errorf("the drained server got %g new connections", after-before)
	}
	// Weight, then enable back to the configured weight.
	if code, resp := r.request(t, "POST", "/api/v1/admin/weight", body(`,"weight":5`)); code != 200 || !strings.Contains(string(resp), `"table_weight": 5`) {
		t.Errorf("weight: %d %s", code, resp)
	}
	if code, resp := r.request(t, "POST", "/api/v1/admin/enable", body("")); code != 200 || !strings.Contains(string(resp), `"table_weight": 2`) {
		t.Errorf("enable: %d %s", code, resp)
	}
	if got, _ := sample(r.metrics(t), "govs_rs_weight", "server", b1.addr); got != 2 {
		t.Errorf("govs_rs_weight = %g after enable, want 2", got)
	}
	var kinds []string
	for _, e := range r.snapshot(t).Events {
		kinds = append(kinds, e.Kind+" "+e.Message)
	}
	if !strings.Contains(strings.Join(kinds, "|"), "admin drain: weight 0") {
		t.Errorf("events %q lack the drain", kinds)
	}
	// The refusals, against the real daemon.
	for _, tt := range []struct {
		name, method, path, body string
		token                    string
		want                     int
		wantErr                  string
	}{
		{"no token", "GET", "/api/v1/status", "", "", 401, "needs a token"},
		{"wrong token", "POST", "/api/v1/admin/drain", body(""), "nope", 401, "wrong token"},
		{"GET on admin", "GET", "/api/v1/admin/drain", "", "tok3n", 405, "POST"},
		{"malformed JSON", "POST", "/api/v1/admin/drain", `{"service":`, "tok3n", 400, "malformed JSON"},
		{"unknown server", "POST", "/api/v1/admin/drain", fmt.Sprintf(`{"service":%q,"server":"127.0.0.1:1"}`, svc), "tok3n", 404, "not in the table"},
		{"unknown service", "POST", "/api/v1/admin/enable", fmt.Sprintf(`{"service":"UDP 127.0.0.1:1","server":%q}`, b1.addr), "tok3n", 404, "no configured real server"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rr := *r
			rr.token = tt.token
			code, resp := rr.request(t, tt.method, tt.path, tt.body)
			if code != tt.want || !strings.Contains(string(resp), tt.wantErr) {
				t.Errorf("%d %s, want %d with %q", code, resp, tt.want, tt.wantErr)
			}
		})
	}
}

func TestStatusOverControlSocket(t *testing.T) {
	b1 := startBackend(t)
	r := startDaemon(t, "", b1)
	raw, err := ctl.CallStatus(context.Background(), r.d.opts.Socket)
	if err != nil {
		t.Fatal(err)
	}
	var s status.Snapshot
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Services) != 1 || s.Services[0].Key != "TCP "+r.vip || s.Version != "test" || s.Services[0].RealServers[0].Address != b1.addr {
		t.Errorf("status over the socket: %s", raw)
	}
}

func TestDumps(t *testing.T) {
	b1, b2 := startBackend(t), startBackend(t)
	r := startDaemon(t, "", b1, b2)
	get(t, r.vip)
	// Something planted at the dump's path is replaced, never written through.
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, r.d.opts.DataFile); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		dump func(context.Context) (string, error)
		want []string
	}{
		{"data", r.d.DumpData, []string{"------< LVS Topology >------", "Virtual Service = TCP " + r.vip, "Real Server = " + b1.addr, "Checker = TCP_CHECK#0"}},
		{"stats", r.d.DumpStats, []string{"Virtual Service: TCP " + r.vip, "Real Server: " + b2.addr, "Connections: "}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path, err := tt.dump(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(data), w) {
					t.Errorf("%s lacks %q:\n%s", path, w, data)
				}
			}
			if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("%s is not a plain file: %v %v", path, fi.Mode(), err)
			}
		})
	}
	if data, _ := os.ReadFile(victim); string(data) != "keep me" {
		t.Errorf("the dump wrote through a symlink: %q", data)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(r.d.opts.DataFile), ".govs.data-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestHTTPListenerOptions(t *testing.T) {
	b1 := startBackend(t)
	conf := []byte(twoServerConfig(freePort(t), b1.addr))
	opts := Options{ConfigPath: "x.conf", ConfigText: conf, Logger: slog.New(slog.DiscardHandler), StopTimeout: time.Second}
	d, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if d.HTTPAddr() != nil {
		t.Errorf("an HTTP listener at %v without --http", d.HTTPAddr())
	}
	d.Stop()
	opts.HTTP = ":0"
	if _, err := Start(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "no address") {
		t.Errorf("--http :0 started, or with %v; want a refusal to listen everywhere unasked", err)
	}
	// A busy port fails the start and leaves the service's port free for the next try.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	opts.HTTP = busy.Addr().String()
	if _, err := Start(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "http listener") {
		t.Fatalf("start on a busy port: %v", err)
	}
	opts.HTTP = "127.0.0.1:0"
	d, err = Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("restart after the failed start: %v", err)
	}
	d.Stop()
}

// global_defs' http_listen and http_token start the listener when no flag does; the
// flags win over them.
func TestHTTPFromConfig(t *testing.T) {
	b1 := startBackend(t)
	port := freePort(t)
	conf := fmt.Sprintf("global_defs {\n  http_listen 127.0.0.1:%d\n  http_token from-the-config-file\n}\n", port) + twoServerConfig(freePort(t), b1.addr)
	opts := Options{ConfigPath: "x.conf", ConfigText: []byte(conf), Logger: slog.New(slog.DiscardHandler), StopTimeout: time.Second}
	d, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	r := &running{d: d, base: fmt.Sprintf("http://127.0.0.1:%d", port), token: "from-the-config-file"}
	if code, body := r.request(t, "GET", "/api/v1/vrrp", ""); code != 200 {
		t.Errorf("with the configured token: %d %s", code, body)
	}
	r.token = ""
	if code, _ := r.request(t, "GET", "/metrics", ""); code != 401 {
		t.Errorf("without a token: %d, want 401", code)
	}
	d.Stop()

	opts.HTTP, opts.HTTPToken = "127.0.0.1:0", "from-the-flag"
	d, err = Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	r = &running{d: d, base: "http://" + d.HTTPAddr().String(), token: "from-the-flag"}
	if d.HTTPAddr().String() == fmt.Sprintf("127.0.0.1:%d", port) {
		t.Error("the flag's address did not win over http_listen")
	}
	if code, body := r.request(t, "GET", "/api/v1/vrrp", ""); code != 200 {
		t.Errorf("with the flag's token: %d %s", code, body)
	}
}
