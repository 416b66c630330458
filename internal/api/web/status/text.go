package status

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// TextOptions say how Text writes.
type TextOptions struct {
	// Color marks health and VRRP states with ANSI colours (for a terminal).
	Color bool
	// Events is how many recent events to show [10]; negative shows none.
	Events int
}

// ANSI colours, used only when TextOptions.Color is set.
const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[1;31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiGrey   = "\x1b[90m"
	ansiBold   = "\x1b[1m"
)

// Text writes the snapshot for a terminal, as `govs status` shows it: which VIPs this
// node is master for, every service with its real servers' health, weights,
// connections and rates, and the last events.
func Text(w io.Writer, s Snapshot, opts TextOptions) error {
	if opts.Events == 0 {
		opts.Events = 10
	}
	p := &printer{w: w, color: opts.Color}
	p.linef("govs %s on %s, up %s, at %s", s.Version, s.Node, roundDuration(s.Time.Sub(s.Started)), s.Time.Format("2006-01-02 15:04:05 MST"))
	if s.Dataplane != "" {
		p.linef("data plane: %s", s.Dataplane)
	}
	if len(s.VRRP) > 0 {
		p.linef("")
		p.linef("%s", p.paint(ansiBold, "VRRP"))
		rows := [][]cell{{{text: "INSTANCE"}, {text: "STATE"}, {text: "PRIORITY"}, {text: "MASTER"}, {text: "VIPS"}, {text: "INTERFACE"}}}
		for _, in := range s.VRRP {
			prio := fmt.Sprint(in.Priority)
			if in.EffectivePriority != in.Priority {
				prio = fmt.Sprintf("%d (eff %d)", in.Priority, in.EffectivePriority)
			}
			master := "unknown"
			if in.Master != "" {
				master = fmt.Sprintf("%s (%d)", in.Master, in.MasterPriority)
			}
			state := in.State
			if len(in.Faults) > 0 {
				state += ": " + strings.Join(in.Faults, ", ")
			}
			rows = append(rows, []cell{{text: in.Name}, {text: state, color: stateColor(in.State)}, {text: prio},
				{text: master}, {text: strings.Join(in.VIPs, " ")}, {text: fmt.Sprintf("%s vrid %d v%d", in.Interface, in.VRID, in.Version)}})
		}
		p.table(rows, "  ")
	}
	if len(s.Services) > 0 {
		p.linef("")
		p.linef("%s", p.paint(ansiBold, "VIRTUAL SERVICES"))
	}
	for _, svc := range s.Services {
		up := 0
		for _, rs := range svc.RealServers {
			if rs.Health == HealthUp {
				up++
			}
		}
		quorum := p.paint(ansiGreen, "quorum up")
		if !svc.Quorum {
			quorum = p.paint(ansiRed, "QUORUM LOST")
		}
		extra := ""
		if svc.Persistence > 0 {
			extra += fmt.Sprintf("  persistent %gs", svc.Persistence)
		}
		if !svc.Configured {
			extra += "  (added with govs adm)"
		}
		p.linef("%s  %s  %s  %d/%d servers up  %d active %d inactive  %s  in %s  out %s%s",
			p.paint(ansiBold, svc.Key), svc.Scheduler, quorum, up, len(svc.RealServers), svc.ActiveConns, svc.InactConns,
			perSecond(svc.Rates.CPS, "conn"), bytesPerSecond(svc.Rates.InBPS), bytesPerSecond(svc.Rates.OutBPS), extra)
		rows := [][]cell{{{text: "SERVER"}, {text: "HEALTH"}, {text: "WEIGHT"}, {text: "ACTIVE"}, {text: "INACT"}, {text: "CONNS"}, {text: "CONN/S"}, {text: "CHECKS"}}}
		for _, rs := range svc.RealServers {
			rows = append(rows, []cell{
				{text: rs.Address}, {text: healthWord(rs.Health), color: healthColor(rs.Health)}, {text: weight(rs)},
				{text: fmt.Sprint(rs.ActiveConns)}, {text: fmt.Sprint(rs.InactConns)}, {text: fmt.Sprint(rs.Counters.Conns)},
				{text: fmt.Sprint(rs.Rates.CPS)}, {text: checks(rs)},
			})
		}
		p.table(rows, "  ")
	}
	if opts.Events > 0 && len(s.Events) > 0 {
		p.linef("")
		p.linef("%s", p.paint(ansiBold, "RECENT EVENTS"))
		evs := s.Events[max(0, len(s.Events)-opts.Events):]
		rows := make([][]cell, 0, len(evs))
		for _, e := range evs {
			rows = append(rows, []cell{{text: e.At.Format("15:04:05")}, {text: e.Kind, color: eventColor(e.Kind)}, {text: eventSubject(e)}, {text: oneLine(e.Message)}})
		}
		p.table(rows, "  ")
	}
	return p.err
}

// weight shows the weight in the table, and the configured one when they differ.
func weight(rs RealServer) string {
	switch {
	case rs.TableWeight < 0:
		return fmt.Sprintf("-/%d", rs.Weight)
	case rs.TableWeight != rs.Weight:
		return fmt.Sprintf("%d/%d", rs.TableWeight, rs.Weight)
	}
	return fmt.Sprint(rs.Weight)
}

// checks summarises each checker's last result.
func checks(rs RealServer) string {
	if len(rs.Checkers) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(rs.Checkers))
	for _, c := range rs.Checkers {
		switch {
		case c.LastAt.IsZero():
			parts = append(parts, c.Name+" pending")
		case c.LastOK:
			parts = append(parts, fmt.Sprintf("%s ok %s", c.Name, latency(c.LastLatency)))
		case c.Failures > 1:
			parts = append(parts, fmt.Sprintf("%s failed x%d: %s", c.Name, c.Failures, oneLine(c.LastError)))
		default:
			parts = append(parts, fmt.Sprintf("%s failed: %s", c.Name, oneLine(c.LastError)))
		}
	}
	return strings.Join(parts, "; ")
}

func eventSubject(e Event) string {
	var parts []string
	for _, s := range []string{e.Instance, e.Service, e.Server} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

func healthWord(h Health) string {
	if h == HealthDown {
		return "DOWN"
	}
	return string(h)
}

func healthColor(h Health) string {
	switch h {
	case HealthUp:
		return ansiGreen
	case HealthDown:
		return ansiRed
	case HealthDrained:
		return ansiYellow
	}
	return ansiGrey
}

func stateColor(state string) string {
	switch state {
	case "MASTER":
		return ansiGreen
	case "FAULT":
		return ansiRed
	case "BACKUP":
		return ""
	}
	return ansiYellow
}

func eventColor(kind string) string {
	switch kind {
	case "rs-down", "quorum-down", "check-failed":
		return ansiRed
	case "rs-up", "quorum-up":
		return ansiGreen
	}
	return ""
}

// cell is one table cell; color is an ANSI colour, empty for none.
type cell struct{ text, color string }

// printer writes lines and aligned tables, remembering the first write error. Columns
// are padded from the text's width before colouring, so escape codes never skew them.
type printer struct {
	w     io.Writer
	color bool
	err   error
}

func (p *printer) linef(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
	}
}

func (p *printer) paint(color, s string) string {
	if !p.color || color == "" {
		return s
	}
	return color + s + ansiReset
}

func (p *printer) table(rows [][]cell, indent string) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c.text))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		b.WriteString(indent)
		for i, c := range r {
			b.WriteString(p.paint(c.color, c.text))
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c.text)+2))
			}
		}
		p.linef("%s", strings.TrimRight(b.String(), " "))
	}
}

// oneLine keeps a message on one line of a table.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func latency(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second))
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

func roundDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return d.Round(time.Second).String()
}

func perSecond(n uint64, unit string) string { return fmt.Sprintf("%d %s/s", n, unit) }

// bytesPerSecond writes a rate in bytes with a decimal unit, as dashboards do.
func bytesPerSecond(n uint64) string {
	const units = "kMGTPE"
	if n < 1000 {
		return fmt.Sprintf("%d B/s", n)
	}
	v := float64(n)
	i := -1
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %cB/s", v, units[i])
}
