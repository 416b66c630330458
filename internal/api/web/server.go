// Package web is govs's HTTP listener: Prometheus metrics at /metrics, the JSON
// status and admin API under /api/v1/, and a live dashboard at / whose assets are
// embedded in the binary. Every view reads one status.Snapshot taken when asked, so
// the metrics, the API and the dashboard always agree.
//
// The listener is off unless configured. With a bearer token every request must
// carry it (an Authorization header, or the cookie a browser gets by opening
// /?token=...); without one the admin endpoints are refused, since anyone who can
// reach the port could otherwise drain the site.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/govs/govs/internal/api/web/status"
	"github.com/govs/govs/internal/api/web/ui"
	"github.com/govs/govs/internal/table"
)

// Backend is the running daemon as the HTTP server sees it.
type Backend interface {
	// Snapshot returns the state of every component now.
	Snapshot(ctx context.Context) (status.Snapshot, error)
	// Admin changes a real server's weight at run time, as govs adm -e does; the change
	// lasts until the next reload. It wraps ErrNotFound for an unknown service or server.
	Admin(ctx context.Context, op AdminOp) error
}

// Action is an admin operation on one real server.
type Action string

// The admin operations.
const (
	// ActionDrain sets the weight to 0: no new connections, established ones go on.
	ActionDrain Action = "drain"
	// ActionWeight sets the weight to AdminOp.Weight.
	ActionWeight Action = "weight"
	// ActionEnable gives the server its configured weight back.
	ActionEnable Action = "enable"
)

// AdminOp is one admin operation.
type AdminOp struct {
	Action  Action
	Service table.ServiceKey
	Server  netip.AddrPort
	Weight  int // for ActionWeight
}

// ErrNotFound is wrapped by Backend.Admin for a service or real server that does not exist.
var ErrNotFound = errors.New("not found")

// Options configure a Server.
type Options struct {
	Backend Backend
	// Token is the bearer token every request must carry; empty: none, and the admin
	// endpoints are refused.
	Token   string
	Version string       // shown by govs_build_info
	Logger  *slog.Logger // nil: slog.Default()
}

// Server serves the metrics, the API and the dashboard. Create it with New.
type Server struct {
	opts    Options
	log     *slog.Logger
	handler http.Handler
}

var _ http.Handler = (*Server)(nil)

// New builds a server with its own metrics registry (never the global one, so tests
// and several daemons in one process do not collide).
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{opts: opts, log: opts.Logger.With("component", "http")}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&collector{snapshot: opts.Backend.Snapshot, version: opts.Version},
	)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("GET /api/v1/status", s.getStatus)
	mux.HandleFunc("GET /api/v1/vrrp", s.getVRRP)
	mux.HandleFunc("GET /api/v1/services", s.getServices)
	mux.HandleFunc("GET /api/v1/events", s.getEvents)
	mux.HandleFunc("POST /api/v1/admin/{action}", s.postAdmin)
	// Without this, GET would fall through to the catch-all below with a 404; the
	// admin endpoints refuse GET so no link or prefetch can change anything.
	mux.HandleFunc("GET /api/v1/admin/{action}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "admin operations take POST with a JSON body")
	})
	mux.HandleFunc("GET /api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint: "+r.URL.Path)
	})
	mux.Handle("GET /", ui.Handler())
	s.handler = s.authenticate(securityHeaders(mux))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Timeouts of the listener: a client that stalls is dropped.
const (
	readHeaderTimeout = 5 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
	shutdownTimeout   = 5 * time.Second
)

// Serve answers on ln until ctx is done, then shuts down, giving requests in flight
// a few seconds to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// securityHeaders keeps the dashboard to its own assets and out of other sites' frames.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}
