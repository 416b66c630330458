package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/govs/govs/internal/api/web/status"
	"github.com/govs/govs/internal/engine"
	"github.com/govs/govs/internal/table"
	"github.com/govs/govs/internal/vrrp"
)

var (
	svcKey = table.ServiceKey{Protocol: table.TCP, Addr: netip.MustParseAddrPort("127.0.0.1:8080")}
	rs1    = netip.MustParseAddrPort("127.0.0.1:9001")
	rs2    = netip.MustParseAddrPort("127.0.0.1:9002")
)

// fakeDaemon answers with a fixed snapshot and records admin operations.
type fakeDaemon struct {
	mu       sync.Mutex
	snap     status.Snapshot
	snapErr  error
	ops      []AdminOp
	adminErr error
}

func (f *fakeDaemon) Snapshot(context.Context) (status.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap, f.snapErr
}

func (f *fakeDaemon) Admin(_ context.Context, op AdminOp) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.adminErr != nil {
		return f.adminErr
	}
	f.ops = append(f.ops, op)
	return nil
}

func newFake() *fakeDaemon {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return &fakeDaemon{snap: status.Build(status.Input{
		Node: "lb1", Version: "9.9", Time: now, Started: now.Add(-time.Hour),
		Engine: engine.Status{Services: []engine.ServiceStatus{{Key: svcKey, Quorum: true, RealServers: []engine.RealServerStatus{
			{Addr: rs1, CheckedVS: svcKey, CheckedAddr: rs1, Up: true, Weight: 2}, {Addr: rs2, CheckedVS: svcKey, CheckedAddr: rs2, Up: false, Weight: 1},
		}}}},
		Table: table.Table{Services: []table.Service{{ServiceKey: svcKey, Scheduler: "wlc", Dests: []table.Dest{{Addr: rs1, Weight: 2}}}}},
		Stats: table.Stats{Services: []table.ServiceStats{{Key: svcKey,
			Counters: table.Counters{Conns: 10, InPkts: 100, OutPkts: 90, InBytes: 1000, OutBytes: 50000},
			Dests:    []table.DestStats{{Addr: rs1, ActiveConn: 3, InActConn: 1, Counters: table.Counters{Conns: 10, InPkts: 100, OutPkts: 90, InBytes: 1000, OutBytes: 50000}}}}}},
		VRRP: []vrrp.InstanceStatus{{Name: "VI_1", State: vrrp.StateMaster, Priority: 150, EffectivePriority: 140,
			AdvertsSent: 77, Transitions: 2, BecameMaster: 1, BadPackets: map[string]uint64{"ttl": 4}}},
	})}
}

func do(t *testing.T, h http.Handler, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func errorOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", w.Body.String(), err)
	}
	return e.Error
}

func TestAuth(t *testing.T) {
	srv := newServer(Options{Backend: newFake(), Token: "s3cret"})
	for _, tt := range []struct {
		name   string
		method string
		target string
		hdr    []string
		want   int
	}{
		{"status without a token", "GET", "/api/v1/status", nil, 401},
		{"metrics without a token", "GET", "/metrics", nil, 401},
		{"dashboard without a token", "GET", "/", nil, 401},
		{"admin without a token", "POST", "/api/v1/admin/drain", []string{"Content-Type", "application/json"}, 401},
		{"wrong token", "GET", "/api/v1/status", []string{"Authorization", "Bearer nope"}, 401},
		{"basic auth", "GET", "/api/v1/status", []string{"Authorization", "Basic czNjcmV0"}, 401},
		{"token as a prefix", "GET", "/api/v1/status", []string{"Authorization", "Bearer s3cret2"}, 401},
		{"bearer", "GET", "/api/v1/status", []string{"Authorization", "Bearer s3cret"}, 200},
		{"bearer, lower case", "GET", "/metrics", []string{"Authorization", "bearer s3cret"}, 200},
		{"cookie", "GET", "/api/v1/vrrp", []string{"Cookie", tokenCookie + "=s3cret"}, 200},
		{"wrong cookie", "GET", "/api/v1/vrrp", []string{"Cookie", tokenCookie + "=x"}, 401},
		{"wrong query token", "GET", "/?token=x", nil, 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, srv, tt.method, tt.target, "", tt.hdr...)
			if w.Code != tt.want {
				t.Fatalf("%s %s = %d, want %d: %s", tt.method, tt.target, w.Code, tt.want, w.Body)
			}
			if tt.want == 401 {
				if w.Header().Get("WWW-Authenticate") == "" {
					t.Error("a 401 without WWW-Authenticate")
				}
				if errorOf(t, w) == "" {
					t.Error("a 401 without a message")
				}
			}
		})
	}
}

// A browser opens /?token=...: it gets the cookie and is sent to the same page
// without the token in the URL.
func TestTokenQuerySetsCookie(t *testing.T) {
	srv := newServer(Options{Backend: newFake(), Token: "s3cret"})
	w := do(t, srv, "GET", "/?refresh=500&token=s3cret", "")
	if w.Code != http.StatusSeeOther {
		t.Fatalf("status %d, want 303", w.Code)
	}
	if loc := w.Header().Get("Location"); loc != "/?refresh=500" {
		t.Errorf("Location %q, want /?refresh=500", loc)
	}
	resp := w.Result()
	cookies := resp.Cookies()
	if len(cookies) != 1 || cookies[0].Name != tokenCookie || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookies %+v, want one HttpOnly SameSite=Strict %s", cookies, tokenCookie)
	}
	w = do(t, srv, "GET", "/", "", "Cookie", cookies[0].String())
	if w.Code != 200 || !strings.Contains(w.Body.String(), "app.js") {
		t.Errorf("dashboard with the cookie: %d %q", w.Code, w.Body)
	}
}

func TestAdmin(t *testing.T) {
	hj := []string{"Content-Type", "application/json", "Authorization", "Bearer t"}
	for _, tt := range []struct {
		name    string
		method  string
		path    string
		body    string
		hdr     []string
		noToken bool
		backend error
		want    int
		wantErr string
		wantOp  *AdminOp
	}{
		{name: "drain", method: "POST", path: "/api/v1/admin/drain", body: `{"service":"TCP 127.0.0.1:8080","server":"127.0.0.1:9001"}`, hdr: hj,
			want: 200, wantOp: &AdminOp{Action: ActionDrain, Service: svcKey, Server: rs1}},
		{name: "weight", method: "POST", path: "/api/v1/admin/weight", body: `{"service":"tcp 127.0.0.1:8080","server":"127.0.0.1:9001","weight":7}`, hdr: hj,
			want: 200, wantOp: &AdminOp{Action: ActionWeight, Service: svcKey, Server: rs1, Weight: 7}},
		{name: "enable", method: "POST", path: "/api/v1/admin/enable", body: `{"service":"TCP 127.0.0.1:8080","server":"127.0.0.1:9001"}`,
			hdr: []string{"Content-Type", "application/json; charset=utf-8", "Authorization", "Bearer t"}, want: 200, wantOp: &AdminOp{Action: ActionEnable, Service: svcKey, Server: rs1}},
		{name: "GET refused", method: "GET", path: "/api/v1/admin/drain", hdr: hj, want: 405},
		{name: "PUT refused", method: "PUT", path: "/api/v1/admin/drain", body: `{}`, hdr: hj, want: 405},
		{name: "no token configured", method: "POST", path: "/api/v1/admin/drain", body: `{}`, hdr: []string{"Content-Type", "application/json"}, noToken: true,
			want: 403, wantErr: "--http-token"},
		{name: "unknown action", method: "POST", path: "/api/v1/admin/delete", body: `{}`, hdr: hj, want: 404, wantErr: `no admin operation "delete"`},
		{name: "form post", method: "POST", path: "/api/v1/admin/drain", body: `service=x`, hdr: []string{"Content-Type", "application/x-www-form-urlencoded", "Authorization", "Bearer t"},
			want: 415, wantErr: "application/json"},
		{name: "malformed JSON", method: "POST", path: "/api/v1/admin/drain", body: `{"service": "TCP 127.0.0.1:8080",,}`, hdr: hj, want: 400, wantErr: "malformed JSON at byte 34"},
		{name: "truncated JSON", method: "POST", path: "/api/v1/admin/drain", body: `{"service": "TCP`, hdr: hj, want: 400, wantErr: "malformed JSON"},
		{name: "empty body", method: "POST", path: "/api/v1/admin/drain", body: ``, hdr: hj, want: 400, wantErr: "empty body"},
		{name: "two objects", method: "POST", path: "/api/v1/admin/drain", body: `{"service":"TCP 127.0.0.1:8080","server":"127.0.0.1:9001"} {}`, hdr: hj, want: 400, wantErr: "more data after the object"},
		{name: "array", method: "POST", path: "/api/v1/admin/drain", body: `[]`, hdr: hj, want: 400, wantErr: "want a web.AdminRequest"},
		{name: "unknown field", method: "POST", path: "/api/v1/admin/drain", body: `{"service":"TCP 127.0.0.1:8080","rs":"x"}`, hdr: hj, want: 400, wantErr: `unknown field "rs"`},
		{name: "weight as a string", method: "POST", path: "/api/v1/admin/weight", body: `{"service":"TCP 127.0.0.1:8080","server":"127.0.0.1:9001","weight":"3"}`, hdr: hj,
			want: 400, wantErr: `field "weight": want a int, not a JSON string`},
		{name: "missing service", method: "POST", path: "/api/v1/admin/drain", body: `{"server":"127.0.0.1:9001"}`, hdr: hj, want: 400, wantErr: `field "service": missing`},
		{name: "bad service", method: "POST", path: "/api/v1/admin/drain", body: `{"service":"HTTP 1.2.3.4:80","server":"127.0.0.1:9001"}`, hdr: hj, want: 400, wantErr: `field "service": service "HTTP 1.2.3.4:80": protocol`},
		{name: "missing server", method: "POST", path: "/api/v1/admin/drain", body: `{"service":"FWM 3"}`, hdr: hj, want: 400, wantErr: `field "server": missing`},
		{name: "bad server", method: "POST", path: "/api/v1/admin/drain", body: `{"service":"FWM 3","server":"localhost:80"}`, hdr: hj, want: 400, wantErr: `field "server": "localhost:80" is not IP:PORT`},
		{name: "weight missing", method: "POST", path: "/api/v1/admin/weight", body: `{"service":"FWM 3","server":"127.0.0.1:9001"}`, hdr: hj, want: 400, wantErr: `field "weight": missing`},
		{name: "weight negative", method: "POST", path: "/api/v1/admin/weight", body: `{"service":"FWM 3","server":"127.0.0.1:9001","weight":-1}`, hdr: hj, want: 400, wantErr: "out of range"},
		{name: "weight on drain", method: "POST", path: "/api/v1/admin/drain", body: `{"service":"FWM 3","server":"127.0.0.1:9001","weight":1}`, hdr: hj, want: 400, wantErr: "only /api/v1/admin/weight takes a weight"},
		{name: "not found", method: "POST", path: "/api/v1/admin/drain", body: `{"service":"FWM 3","server":"127.0.0.1:9001"}`, hdr: hj,
			backend: fmt.Errorf("%w: no virtual service FWM 3", ErrNotFound), want: 404, wantErr: "no virtual service FWM 3"},
		{name: "refused", method: "POST", path: "/api/v1/admin/drain", body: `{"service":"FWM 3","server":"127.0.0.1:9001"}`, hdr: hj,
			backend: errors.New("data plane refused"), want: 409, wantErr: "data plane refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake()
			fake.adminErr = tt.backend
			token := "t"
			if tt.noToken {
				token = ""
			}
			w := do(t, newServer(Options{Backend: fake, Token: token}), tt.method, tt.path, tt.body, tt.hdr...)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if tt.wantErr != "" {
				if msg := errorOf(t, w); !strings.Contains(msg, tt.wantErr) {
					t.Errorf("error %q, want one containing %q", msg, tt.wantErr)
				}
			}
			switch {
			case tt.wantOp != nil && (len(fake.ops) != 1 || fake.ops[0] != *tt.wantOp):
				t.Errorf("ops %+v, want %+v", fake.ops, *tt.wantOp)
			case tt.wantOp == nil && len(fake.ops) != 0:
				t.Errorf("ops %+v applied for a refused request", fake.ops)
			}
			if tt.want == 200 {
				var rs status.RealServer
				if err := json.Unmarshal(w.Body.Bytes(), &rs); err != nil || rs.Address != rs1.String() {
					t.Errorf("answer %s: want the real server's status", w.Body)
				}
			}
		})
	}
}

func TestStatusEndpoints(t *testing.T) {
	fake := newFake()
	srv := newServer(Options{Backend: fake})
	for path, want := range map[string]string{
		"/api/v1/status":   `"node": "lb1"`,
		"/api/v1/vrrp":     `"name": "VI_1"`,
		"/api/v1/services": `"key": "TCP 127.0.0.1:8080"`,
		"/api/v1/events":   `[]`,
	} {
		w := do(t, srv, "GET", path, "")
		if w.Code != 200 || !strings.Contains(w.Body.String(), want) || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("GET %s = %d %s %q, want 200 JSON with %s", path, w.Code, w.Header().Get("Content-Type"), w.Body, want)
		}
	}
	if w := do(t, srv, "GET", "/api/v2/status", ""); w.Code != 404 || !strings.Contains(errorOf(t, w), "no such API endpoint") {
		t.Errorf("unknown endpoint: %d %s", w.Code, w.Body)
	}
	fake.snapErr = context.DeadlineExceeded
	if w := do(t, srv, "GET", "/api/v1/status", ""); w.Code != 503 || !strings.Contains(errorOf(t, w), "deadline") {
		t.Errorf("daemon not answering: %d %s", w.Code, w.Body)
	}
}

func TestDashboardAssets(t *testing.T) {
	srv := newServer(Options{Backend: newFake()})
	for path, want := range map[string]string{
		"/":           "text/html",
		"/app.js":     "text/javascript",
		"/style.css":  "text/css",
		"/index.html": "", // FileServer redirects it to /
	} {
		w := do(t, srv, "GET", path, "")
		if want == "" {
			if w.Code != http.StatusMovedPermanently {
				t.Errorf("GET %s = %d, want a redirect", path, w.Code)
			}
			continue
		}
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), want) {
			t.Errorf("GET %s = %d %q, want 200 %s", path, w.Code, w.Header().Get("Content-Type"), want)
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
	}
	// The page loads nothing from elsewhere: no CDN, no inline script.
	page := do(t, srv, "GET", "/", "").Body.String()
	for _, bad := range []string{"http://", "https://", "<script>"} {
		if strings.Contains(page, bad) {
			t.Errorf("index.html contains %q", bad)
		}
	}
}

func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	w := do(t, h, "GET", "/metrics", "")
	if w.Code != 200 {
		t.Fatalf("/metrics: %d %s", w.Code, w.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(w.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// value finds the sample of family name whose labels include every pair given.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
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
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("no sample of %s with %v", name, labels)
	return 0
}

func TestMetrics(t *testing.T) {
	fams := scrape(t, newServer(Options{Backend: newFake(), Version: "9.9"}))
	svc, a1, a2 := "TCP 127.0.0.1:8080", rs1.String(), rs2.String()
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"govs_up", nil, 1},
		{"govs_build_info", []string{"version", "9.9"}, 1},
		{"govs_vs_connections_total", []string{"service", svc}, 10},
		{"govs_vs_bytes_total", []string{"service", svc, "direction", "out"}, 50000},
		{"govs_vs_packets_total", []string{"service", svc, "direction", "in"}, 100},
		{"govs_vs_active_connections", []string{"service", svc}, 3},
		{"govs_vs_inactive_connections", []string{"service", svc}, 1},
		{"govs_vs_quorum_up", []string{"service", svc}, 1},
		{"govs_vs_real_servers", []string{"service", svc, "health", "down"}, 1},
		{"govs_vs_real_servers", []string{"service", svc, "health", "up"}, 1},
		{"govs_rs_connections_total", []string{"server", a1}, 10},
		{"govs_rs_bytes_total", []string{"server", a1, "direction", "in"}, 1000},
		{"govs_rs_up", []string{"server", a1}, 1},
		{"govs_rs_up", []string{"server", a2}, 0},
		{"govs_rs_health", []string{"server", a2, "health", "down"}, 1},
		{"govs_rs_health", []string{"server", a2, "health", "up"}, 0},
		{"govs_rs_weight", []string{"server", a1}, 2},
		{"govs_rs_weight", []string{"server", a2}, 0},
		{"govs_rs_configured_weight", []string{"server", a2}, 1},
		{"govs_vrrp_state", []string{"vrrp_instance", "VI_1", "state", "MASTER"}, 1},
		{"govs_vrrp_state", []string{"vrrp_instance", "VI_1", "state", "BACKUP"}, 0},
		{"govs_vrrp_priority", []string{"vrrp_instance", "VI_1"}, 150},
		{"govs_vrrp_effective_priority", []string{"vrrp_instance", "VI_1"}, 140},
		{"govs_vrrp_adverts_sent_total", []string{"vrrp_instance", "VI_1"}, 77},
		{"govs_vrrp_transitions_total", []string{"vrrp_instance", "VI_1"}, 2},
		{"govs_vrrp_bad_packets_total", []string{"vrrp_instance", "VI_1", "reason", "ttl"}, 4},
		{"govs_vrrp_bad_packets_total", []string{"vrrp_instance", "VI_1", "reason", "auth"}, 0},
	} {
		if got := value(t, fams, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %g, want %g", tt.name, tt.labels, got, tt.want)
		}
	}
	for _, name := range []string{"process_cpu_seconds_total", "process_resident_memory_bytes", "go_goroutines"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("no process metric %s", name)
		}
	}
}

func TestMetricsWhenTheDaemonDoesNotAnswer(t *testing.T) {
	fake := newFake()
	fake.snapErr = errors.New("engine stopped")
	fams := scrape(t, newServer(Options{Backend: fake}))
	if got := value(t, fams, "govs_up"); got != 0 {
		t.Errorf("govs_up = %g, want 0", got)
	}
	if _, ok := fams["govs_vs_connections_total"]; ok {
		t.Error("service metrics without a snapshot")
	}
}

// The metric names and help texts follow Prometheus's conventions.
func TestMetricsLint(t *testing.T) {
	c := &collector{snapshot: newFake().Snapshot, version: "1"}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

func TestServeStopsWithItsContext(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- newServer(Options{Backend: newFake()}).Serve(ctx, ln) }()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + ln.Addr().String() + "/api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	client.CloseIdleConnections()
}

// newServer builds a server that logs nowhere.
func newServer(opts Options) *Server {
	opts.Logger = slog.New(slog.DiscardHandler)
	return New(opts)
}
