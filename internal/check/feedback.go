package check

import (
	"bufio"
	"context"
	"fmt"
	"math"

	"strconv"
	"strings"
	"time"
)

// Feedback is govs' dynamic feedback balancing, an optional per-virtual-server block
// that keepalived does not have (the "dynamic feedback" scheduler of the LVS literature,
// and HAProxy's agent-check). It scales each real server's weight from measured load:
//
//	virtual_server 10.0.0.10 80 {
//	    dynamic_feedback {          # govs extension
//	        agent_port 8089         # TCP port on each real server; see ParseAgentReply
//	        agent_interval 2s       # [delay_loop]
//	        agent_timeout 1s        # [connect_timeout]
//	        latency_target 50ms     # scale down when check latency exceeds it [0: off]
//	        smoothing 0.3           # EWMA factor, 0 < s ≤ 1 [0.3]
//	        min_weight 10%          # bounds, as % of the configured weight [10%]
//	        max_weight 100%         # [100%]
//	    }
//	}
//
// Each sample is agent% × latency% / 100, where agent% is what the agent answered
// (100 without an agent) and latency% is 100 × latency_target / latency (at most 100,
// from the real server's health checks, smoothed). The samples are smoothed with an
// exponentially weighted moving average and bounded to [min_weight, max_weight]; the
// effective weight is that percentage of the weight the checkers give. A real server's
// agent failing to answer keeps the last value: the checkers, not the agent, decide
// whether a server is up.
type Feedback struct {
	AgentPort     uint16        // 0: no agent
	AgentInterval time.Duration // 0: the real server's delay_loop
	AgentTimeout  time.Duration // 0: the real server's connect_timeout
	LatencyTarget time.Duration // 0: latency does not count
	Smoothing     float64       // 0: 0.3
	MinPercent    int           // 0: 10
	MaxPercent    int           // 0: 100
}

// Defaults of Feedback.
const (
	DefaultSmoothing  = 0.3
	DefaultMinPercent = 10
	DefaultMaxPercent = 100
	maxPercent        = 1000
)

// withDefaults fills zero fields and validates.
func (f Feedback) withDefaults(t Timers) (Feedback, error) {
	if f.AgentInterval == 0 {
		f.AgentInterval = t.DelayLoop
	}
	if f.AgentTimeout == 0 {
		f.AgentTimeout = t.ConnectTimeout
	}
	if f.Smoothing == 0 {
		f.Smoothing = DefaultSmoothing
	}
	if f.MinPercent == 0 {
		f.MinPercent = DefaultMinPercent
	}
	if f.MaxPercent == 0 {
		f.MaxPercent = DefaultMaxPercent
	}
	switch {
	case f.AgentInterval < 0 || f.AgentTimeout < 0 || f.LatencyTarget < 0:
		return f, fmt.Errorf("dynamic_feedback: agent_interval, agent_timeout and latency_target must not be negative")
	case math.IsNaN(f.Smoothing) || f.Smoothing <= 0 || f.Smoothing > 1:
		return f, fmt.Errorf("dynamic_feedback: smoothing %v: want 0 < s ≤ 1", f.Smoothing)
	case f.MinPercent < 0 || f.MaxPercent < f.MinPercent || f.MaxPercent > maxPercent:
		return f, fmt.Errorf("dynamic_feedback: min_weight %d%% / max_weight %d%%: want 0 ≤ min ≤ max ≤ %d", f.MinPercent, f.MaxPercent, maxPercent)
	}
	return f, nil
}

// feedbackState is one real server's smoothed load, a plain value.
type feedbackState struct {
	cfg     Feedback
	agent   float64 // last agent percentage
	latency float64 // smoothed check latency, ns; 0 before the first sample
	percent float64 // smoothed result, bounded
}

func newFeedbackState(cfg Feedback) feedbackState {
	return feedbackState{cfg: cfg, agent: 100, percent: 100}
}

// observeLatency feeds one successful health check's latency.
func (s *feedbackState) observeLatency(d time.Duration) {
	if s.latency == 0 {
		s.latency = float64(d)
	} else {
		s.latency += s.cfg.Smoothing * (float64(d) - s.latency)
	}
	s.update()
}

// observeAgent feeds one agent answer (a percentage).
func (s *feedbackState) observeAgent(percent float64) {
	s.agent = percent
	s.update()
}

func (s *feedbackState) update() {
	sample := s.agent
	if s.cfg.LatencyTarget > 0 && s.latency > 0 {
		sample *= min(1, float64(s.cfg.LatencyTarget)/s.latency)
	}
	s.percent += s.cfg.Smoothing * (sample - s.percent)
	s.percent = max(float64(s.cfg.MinPercent), min(float64(s.cfg.MaxPercent), s.percent))
}

// scale applies the percentage to a weight, rounding, within 0..MaxWeight.
func (s *feedbackState) scale(weight int) int {
	return max(0, min(MaxWeight, int(math.Round(float64(weight)*s.percent/100))))
}

// ParseAgentReply reads an agent's one-line answer, in HAProxy agent-check style: words
// separated by blanks or commas, of which these count (case-insensitive):
//
//	75%          the weight, as a percentage of the configured weight
//	load=60%     the server's load; the weight becomes 100 − load percent
//	drain        weight 0% (no new connections)
//	down, maint, stopped, fail   also weight 0%: the agent cannot take a server out of
//	             rotation (the health checks do), only quiesce it
//	up, ready    no change of weight
//
// ok is false when the reply says nothing about the weight. Unknown words, numbers out
// of 0..1000 % and malformed percentages are errors naming the word.
func ParseAgentReply(line string) (percent float64, ok bool, err error) {
	fields := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == '\r' || r == '\n' })
	for i, f := range fields {
		word := strings.ToLower(f)
		switch {
		case word == "drain" || word == "down" || word == "maint" || word == "stopped" || word == "fail":
			percent, ok = 0, true
		case word == "up" || word == "ready":
		case strings.HasPrefix(word, "load=") || strings.HasPrefix(word, "load:"):
			p, perr := parsePercent(word[5:])
			if perr != nil {
				return 0, false, fmt.Errorf("agent reply word %d %q: %w", i+1, f, perr)
			}
			percent, ok = max(0, 100-p), true
		case strings.HasSuffix(word, "%"):
			p, perr := parsePercent(word)
			if perr != nil {
				return 0, false, fmt.Errorf("agent reply word %d %q: %w", i+1, f, perr)
			}
			percent, ok = p, true
		default:
			return 0, false, fmt.Errorf("agent reply word %d %q: not a percentage or a known state", i+1, f)
		}
	}
	return percent, ok, nil
}

func parsePercent(s string) (float64, error) {
	num, found := strings.CutSuffix(s, "%")
	if !found {
		return 0, fmt.Errorf("%q lacks %%", s)
	}
	p, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(p) || p < 0 || p > maxPercent {
		return 0, fmt.Errorf("%q is not a percentage 0..%d", s, maxPercent)
	}
	return p, nil
}

// queryAgent asks the agent once: connect, read one line (at most 256 bytes).
func queryAgent(ctx context.Context, t Target) (float64, bool, error) {
	conn, err := dial(ctx, t, "tcp")
	if err != nil {
		return 0, false, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	r := bufio.NewReaderSize(conn, 256)
	line, err := r.ReadSlice('\n')
	if err != nil && len(line) == 0 {
		return 0, false, fmt.Errorf("agent %s: %w", t.Addr, err)
	}
	return ParseAgentReply(string(line))
}
