package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"slices"
	"time"

	"github.com/govs/govs/internal/api/web"
	"github.com/govs/govs/internal/api/web/status"
	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/engine"
	"github.com/govs/govs/internal/table"
)

// Snapshot returns the state of every running component, as the status API, the
// dashboard, the metrics, `govs status` and the dumps show it.
func (d *Daemon) Snapshot(ctx context.Context) (status.Snapshot, error) {
	host, _ := os.Hostname()
	return status.Gather(ctx, status.Sources{
		Node: host, Version: d.opts.Version, Started: d.started,
		DataplaneChoice: d.planeChoice,
		Engine:          d.eng, Dataplane: d.dp, Checks: d.check, VRRP: d.node, Journal: d.journal,
	})
}

// statusJSON answers the control socket's status request (govs status).
func (d *Daemon) statusJSON(ctx context.Context) ([]byte, error) {
	snap, err := d.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return json.Marshal(snap)
}

// HTTPAddr is the address the HTTP listener took (useful with port 0); nil when the
// listener is off.
func (d *Daemon) HTTPAddr() net.Addr { return d.httpAddr }

// startHTTP opens the HTTP listener (--http) and serves the metrics, API and dashboard.
func (d *Daemon) startHTTP(ctx context.Context) error {
	addr, err := web.ParseListenAddr(d.http.addr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("http listener: %w", err)
	}
	d.httpAddr = ln.Addr()
	srv := web.New(web.Options{Backend: webBackend{d}, Token: d.http.token, Version: d.opts.Version, Logger: d.log})
	d.log.Info("http listener", "addr", ln.Addr().String(), "token", d.http.token != "")
	d.goRun("http listener", func() error { return srv.Serve(ctx, ln) })
	return nil
}

// webBackend gives the HTTP server the daemon's snapshot and admin operations.
type webBackend struct{ d *Daemon }

var _ web.Backend = webBackend{}

func (b webBackend) Snapshot(ctx context.Context) (status.Snapshot, error) { return b.d.Snapshot(ctx) }

// Admin changes a real server's weight the way `govs adm -e ... -w N` does: an engine
// admin op that lasts until the next reload and is replayed over health changes, so a
// drained server stays drained when it fails and comes back.
func (b webBackend) Admin(ctx context.Context, op web.AdminOp) error {
	eng := b.d.eng
	if eng == nil {
		return fmt.Errorf("no virtual services run in this process (-P)")
	}
	weight := op.Weight
	switch op.Action {
	case web.ActionDrain:
		weight = 0
	case web.ActionEnable:
		st, err := eng.Status(ctx)
		if err != nil {
			return err
		}
		w, ok := configuredWeight(st.Services, op)
		if !ok {
			return fmt.Errorf("%w: %s has no configured real server %s", web.ErrNotFound, op.Service, op.Server)
		}
		weight = w
	}
	err := eng.Admin(ctx, func(t table.Table) (table.Table, error) { return setWeight(t, op.Service, op.Server, weight) })
	if err != nil {
		return err
	}
	b.d.journal.Record(status.Event{At: time.Now(), Kind: "admin", Service: op.Service.String(), Server: op.Server.String(),
		Message: fmt.Sprintf("%s: weight %d", op.Action, weight)})
	return nil
}

func configuredWeight(services []engine.ServiceStatus, op web.AdminOp) (int, bool) {
	for _, s := range services {
		if s.Key != op.Service {
			continue
		}
		for _, rs := range s.RealServers {
			if rs.Addr == op.Server {
				return rs.Weight, true
			}
		}
	}
	return 0, false
}

// setWeight returns t with one destination's weight changed; t itself is not modified,
// since the engine keeps it as the applied table.
func setWeight(t table.Table, key table.ServiceKey, rs table.DestKey, weight int) (table.Table, error) {
	si := slices.IndexFunc(t.Services, func(s table.Service) bool { return s.ServiceKey == key })
	if si < 0 {
		return t, fmt.Errorf("%w: no virtual service %s", web.ErrNotFound, key)
	}
	di := slices.IndexFunc(t.Services[si].Dests, func(d table.Dest) bool { return d.Addr == rs })
	if di < 0 {
		return t, fmt.Errorf("%w: real server %s is not in the table of %s (down, or removed)", web.ErrNotFound, rs, key)
	}
	out := t
	out.Services = slices.Clone(t.Services)
	out.Services[si].Dests = slices.Clone(t.Services[si].Dests)
	out.Services[si].Dests[di].Weight = weight
	return out, nil
}

// httpSettings are the HTTP listener's address (empty: off) and bearer token.
type httpSettings struct{ addr, token string }

// httpOptions chooses the HTTP listener: the --http and --http-token flags when given,
// else global_defs' http_listen and http_token (govs extensions).
func httpOptions(opts Options, cfg *config.Config) httpSettings {
	h := httpSettings{addr: opts.HTTP, token: opts.HTTPToken}
	if h.addr == "" && cfg.Global.HTTPListen.IsValid() {
		h.addr = cfg.Global.HTTPListen.String()
	}
	if h.token == "" {
		h.token = string(cfg.Global.HTTPToken)
	}
	return h
}

// warnHTTPChange says when a reloaded configuration asks for another HTTP listener:
// the listener is opened once, so the change waits for a restart.
func (d *Daemon) warnHTTPChange(cfg *config.Config) {
	if h := httpOptions(d.opts, cfg); h != d.http {
		d.log.Warn("http_listen or http_token changed; the HTTP listener keeps its settings until govs restarts",
			"running", d.http.addr, "configured", h.addr)
	}
}
