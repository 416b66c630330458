package config

import "fmt"

// httpListener checks the HTTP listener extension of global_defs: an all-interfaces
// address must be asked for explicitly, and a listener others can reach should have a
// token.
func (f *finisher) httpListener() {
	g := &f.cfg.Global
	if !g.IsSet("http_listen") {
		for _, k := range []string{"http_listen_any", "http_token"} {
			if g.IsSet(k) {
				f.d.warnf(g.Line(k), "%s has no effect without http_listen", k)
			}
		}
		return
	}
	at, addr := g.Line("http_listen"), g.HTTPListen.Addr()
	if !addr.IsValid() {
		return // a bad value, reported
	}
	switch {
	case addr.IsUnspecified() && !g.HTTPListenAny:
		f.d.errorf(at, "http_listen %s listens on every interface; add http_listen_any to mean it, or give one address such as 127.0.0.1:%d", g.HTTPListen, g.HTTPListen.Port())
	case !addr.IsLoopback() && g.HTTPToken == "":
		f.d.warnf(at, "http_listen %s can be reached from other hosts and http_token is not set; anyone who connects can use the HTTP API", g.HTTPListen)
	}
	if g.HTTPListenAny && !addr.IsUnspecified() {
		f.d.warnf(g.Line("http_listen_any"), "http_listen_any has no effect: http_listen %s is not an all-interfaces address", g.HTTPListen)
	}
	if n := len(g.HTTPToken); n > 0 && n < 16 {
		f.d.warnf(g.Line("http_token"), "http_token has only %d characters; use at least 16 random ones", n)
	}
}

// proxyProtocol checks that a virtual server with proxy_protocol can carry the header:
// the proxy data plane adds it to TCP connections it terminates, which means an address
// service forwarded by NAT.
func (f *finisher) proxyProtocol(vs *VirtualServer, who string, byAddress bool) {
	if vs.ProxyProtocol == 0 {
		return
	}
	at := vs.Line("proxy_protocol")
	switch {
	case !byAddress:
		f.d.errorf(at, "%s: proxy_protocol needs an address service (IP PORT); the proxy data plane does not serve firewall marks", who)
	case vs.Protocol != "TCP":
		f.d.errorf(at, "%s: proxy_protocol needs protocol TCP, not %s: the header starts a TCP connection", who, vs.Protocol)
	case vs.Forwarding.Method != "NAT":
		f.d.errorf(at, "%s: proxy_protocol needs lb_kind NAT, not %s: %s forwards packets unchanged, so no header can be added", who, vs.Forwarding.Method, vs.Forwarding.Method)
	}
}

// feedback checks a dynamic_feedback block as a whole.
func (f *finisher) feedback(vs *VirtualServer, who string) {
	fb := vs.DynamicFeedback
	if fb == nil {
		return
	}
	who = fmt.Sprintf("%s: dynamic_feedback", who)
	if fb.MinPercent > fb.MaxPercent {
		at := fb.Line("min_percent")
		if !fb.IsSet("min_percent") {
			at = fb.Line("max_percent")
		}
		f.d.errorf(at, "%s: min_percent %d is above max_percent %d", who, fb.MinPercent, fb.MaxPercent)
	}
	if fb.AgentPort == 0 {
		for _, k := range []string{"agent_interval", "agent_timeout"} {
			if fb.IsSet(k) {
				f.d.warnf(fb.Line(k), "%s: %s has no effect without agent_port", who, k)
			}
		}
		if fb.LatencyTarget == 0 {
			f.d.warnf(fb.Pos, "%s has neither agent_port nor latency_target; the weights are never changed", who)
		}
	} else if fb.IsSet("agent_interval") && fb.IsSet("agent_timeout") && fb.AgentTimeout > fb.AgentInterval {
		f.d.warnf(fb.Line("agent_timeout"), "%s: agent_timeout %ss is longer than agent_interval %ss", who, fmtSeconds(fb.AgentTimeout), fmtSeconds(fb.AgentInterval))
	}
}
