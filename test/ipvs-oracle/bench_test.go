package ipvsoracle

import (
	"regexp"
	"strconv"
	"testing"
	"time"
)

var benchLine = regexp.MustCompile(`(?m)^BENCH (\S+) seconds=([0-9.]+)(?: round=([0-9]+))?(?: changes=([0-9]+))?`)

// BenchmarkKernelProgramming runs scenarios/bench.sh once (1,000 virtual services x 10
// real servers in the guest) and reports each timing as a metric: ipvsadm -R (the floor),
// keepalived's and govs's start to a complete table in each round (interleaved) with
// their ratio (goal: at most 1), and each daemon's no-change and one-weight reloads in
// turn (-r1 is the first after start), with govs's netlink change requests (goal: 0 for
// a no-change reload, 1 for one changed weight).
func BenchmarkKernelProgramming(b *testing.B) {
	h := setup(b)
	out := h.runFor(b, "bench", benchTimeout)
	start := map[string]map[string]float64{} // round -> daemon -> seconds
	for _, m := range benchLine.FindAllStringSubmatch(out, -1) {
		name, round := m[1], m[3]
		secs, _ := strconv.ParseFloat(m[2], 64)
		if round != "" {
			if start[round] == nil {
				start[round] = map[string]float64{}
			}
			start[round][name] = secs
			name += "-r" + round
		}
		b.ReportMetric(secs, name+"-s")
		if m[4] != "" {
			n, _ := strconv.Atoi(m[4])
			b.ReportMetric(float64(n), name+"-changes")
		}
	}
	for round, s := range start {
		if k, g := s["keepalived-start"], s["govs-start"]; k > 0 && g > 0 {
			b.ReportMetric(g/k, "govs/keepalived-start-r"+round)
		}
	}
}

// benchTimeout bounds the benchmark's guest: four rounds of two 10,000-destination
// starts and stops, then six reloads of each daemon, under emulation.
const benchTimeout = 600 * time.Second
