package status

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/govs/govs/internal/vrrp"
)

// Data writes the full state dump SIGUSR1 asks for, in the spirit of keepalived's
// /tmp/keepalived.data: one "Name = value" line per attribute, in sections.
func Data(w io.Writer, s Snapshot) error {
	d := &dumper{w: w}
	d.section("govs data dump")
	d.kv(1, "Node", s.Node)
	d.kv(1, "Version", s.Version)
	d.kv(1, "Time", stamp(s.Time))
	d.kv(1, "Started", stamp(s.Started))
	d.section("VRRP Topology")
	for _, in := range s.VRRP {
		d.kv(1, "VRRP Instance", in.Name)
		d.kv(2, "State", in.State)
		d.kv(2, "Interface", in.Interface)
		d.kv(2, "Virtual Router ID", in.VRID)
		d.kv(2, "Version", in.Version)
		d.kv(2, "Priority", in.Priority)
		d.kv(2, "Effective priority", in.EffectivePriority)
		master := "unknown"
		if in.Master != "" {
			master = fmt.Sprintf("%s (priority %d)", in.Master, in.MasterPriority)
		}
		d.kv(2, "Master", master)
		d.kv(2, "Source address", orNone(in.SourceAddr))
		d.kv(2, "Advert interval", fmt.Sprintf("%g sec", in.AdvertInterval))
		d.kv(2, "Last transition", stamp(in.LastTransition))
		d.kv(2, "Faults", orNone(strings.Join(in.Faults, ", ")))
		d.kv(2, "Virtual IP", len(in.VIPs))
		for _, v := range in.VIPs {
			d.line(3, v)
		}
	}
	d.section("LVS Topology")
	for _, svc := range s.Services {
		d.kv(1, "Virtual Service", svc.Key)
		d.kv(2, "Scheduler", svc.Scheduler)
		d.kv(2, "Persistence timeout", fmt.Sprintf("%g sec", svc.Persistence))
		d.kv(2, "Quorum", upDown(svc.Quorum))
		d.kv(2, "Configured", yesNo(svc.Configured))
		d.kv(2, "In table", yesNo(svc.InTable))
		for _, rs := range svc.RealServers {
			d.kv(2, "Real Server", rs.Address)
			d.kv(3, "Health", fmt.Sprintf("%s since %s (%s)", rs.Health, stamp(rs.Since), orNone(rs.Reason)))
			d.kv(3, "Weight", rs.Weight)
			d.kv(3, "Weight in table", weightInTable(rs.TableWeight))
			d.kv(3, "Forwarding method", orNone(rs.Method))
			for _, c := range rs.Checkers {
				d.kv(3, "Checker", c.Name)
				d.kv(4, "Up", yesNo(c.Up))
				d.kv(4, "Checks", c.Checks)
				d.kv(4, "Consecutive failures", c.Failures)
				result := "none yet"
				switch {
				case c.LastAt.IsZero():
				case c.LastOK:
					result = fmt.Sprintf("ok at %s in %s", stamp(c.LastAt), latency(c.LastLatency))
				default:
					result = fmt.Sprintf("failed at %s in %s: %s", stamp(c.LastAt), latency(c.LastLatency), oneLine(c.LastError))
				}
				d.kv(4, "Last result", result)
			}
		}
	}
	d.section("Events")
	for _, e := range s.Events {
		d.line(1, strings.Join(nonEmpty(stamp(e.At), e.Kind, eventSubject(e), oneLine(e.Message)), " "))
	}
	return d.err
}

// Stats writes the counters SIGUSR2 asks for, in the layout of keepalived's
// /tmp/keepalived.stats, with every VRRP drop reason and every service's and real
// server's traffic.
func Stats(w io.Writer, s Snapshot) error {
	d := &dumper{w: w}
	d.section("govs statistics")
	d.kv(1, "Time", stamp(s.Time))
	for _, in := range s.VRRP {
		d.line(0, "VRRP Instance: "+in.Name)
		d.line(1, "Advertisements:")
		d.colon(2, "Received", in.AdvertsReceived)
		d.colon(2, "Sent", in.AdvertsSent)
		d.colon(1, "Became master", in.BecameMaster)
		d.colon(1, "Transitions", in.Transitions)
		d.line(1, "Packet Errors:")
		for _, r := range vrrp.Reasons() {
			d.colon(2, r.String(), in.BadPackets[r.String()])
		}
		d.line(1, "Priority Zero:")
		d.colon(2, "Received", in.Priority0Received)
		d.colon(2, "Sent", in.Priority0Sent)
	}
	for _, svc := range s.Services {
		d.line(0, "Virtual Service: "+svc.Key)
		traffic(d, 1, svc.Counters, svc.Rates, svc.ActiveConns, svc.InactConns)
		for _, rs := range svc.RealServers {
			d.line(1, "Real Server: "+rs.Address)
			traffic(d, 2, rs.Counters, rs.Rates, rs.ActiveConns, rs.InactConns)
			for _, c := range rs.Checkers {
				d.line(2, "Checker: "+c.Name)
				d.colon(3, "Checks", c.Checks)
				d.colon(3, "Consecutive failures", c.Failures)
				d.colon(3, "Last latency", latency(c.LastLatency))
			}
		}
	}
	return d.err
}

func traffic(d *dumper, depth int, c Counters, r Rates, active, inact uint64) {
	d.colon(depth, "Active connections", active)
	d.colon(depth, "Inactive connections", inact)
	d.colon(depth, "Connections", c.Conns)
	d.colon(depth, "Packets in", c.InPkts)
	d.colon(depth, "Packets out", c.OutPkts)
	d.colon(depth, "Bytes in", c.InBytes)
	d.colon(depth, "Bytes out", c.OutBytes)
	d.colon(depth, "Rate", fmt.Sprintf("%d conn/s, %d/%d pkt/s, %d/%d B/s in/out", r.CPS, r.InPPS, r.OutPPS, r.InBPS, r.OutBPS))
}

// dumper writes indented lines, remembering the first write error.
type dumper struct {
	w   io.Writer
	err error
}

func (d *dumper) line(depth int, s string) {
	if d.err == nil {
		_, d.err = fmt.Fprintf(d.w, "%s%s\n", strings.Repeat("  ", depth), s)
	}
}

func (d *dumper) section(name string) { d.line(0, "------< "+name+" >------") }

func (d *dumper) kv(depth int, k string, v any) { d.line(depth, fmt.Sprintf("%s = %v", k, v)) }

func (d *dumper) colon(depth int, k string, v any) { d.line(depth, fmt.Sprintf("%s: %v", k, v)) }

func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format("2006-01-02 15:04:05.000 MST")
}

func weightInTable(w int) string {
	if w < 0 {
		return "absent"
	}
	return fmt.Sprint(w)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func upDown(b bool) string {
	if b {
		return "up"
	}
	return "down"
}

func nonEmpty(ss ...string) []string {
	out := ss[:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
